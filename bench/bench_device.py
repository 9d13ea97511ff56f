"""Throughput of the published models on the first accelerator (not a timed test).

For deepsea, basset and danq at their published sizes (1000 bp, 919 tasks), prints the bare
compiled train step's samples/s for float32 and mixed precision (float16 and bfloat16 compute,
float32 variables), each with XLA off and on, then the HDF5 loader alone (deepcis.batches
streaming block-shuffled, reverse-complement augmented batches from a file on disk) against
the float32 train step: the loader must outrun the step (target: loader / step >= 1, and real
loop / bare step >= 0.9 on a GPU). `bench/gpu_check.sh` runs it; on a machine without a GPU
it stops at once (exit 0) unless `--allow-cpu` says to measure the CPU (for testing).

    .venv/bin/python bench/bench_device.py --models deepsea basset danq --batches 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


PRECISIONS = {"float32": "float32", "mixed float16": "mixed_float16", "mixed bfloat16": "mixed_bfloat16"}


def train_step_rates(architecture, batches, precisions, xla_modes, rounds=2):
    """{(precision, xla): best samples/s} of `train_on_batch` on in-memory batches."""
    import keras

    from deepcis import parity

    length, n_tasks = batches[0][0].shape[1], batches[0][1].shape[1]
    rates = {}
    for precision in precisions:
        for xla in xla_modes:
            keras.mixed_precision.set_global_policy(PRECISIONS[precision])
            keras.utils.set_random_seed(0)
            model = parity.compile_model(parity.build(architecture, length, n_tasks), "adam", jit_compile=xla)
            # traced (and XLA-compiled) once before the timed rounds
            rates[precision, xla] = parity.time_steps({"model": model}, batches, rounds=rounds)["model"]
            del model
            keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("float32")
    return rates


def loader_rate(path, batch_size, epochs=2):
    """samples/s of deepcis.batches streaming the file (as training reads it), best of `epochs`."""
    from deepcis.batches import BatchConfig, HDF5Batches

    batches = HDF5Batches(path, BatchConfig(batch_size=batch_size, in_memory_bytes=0, reverse_complement=True, seed=1))
    best = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        n = sum(len(x) for x, _ in batches.iterate(epoch))
        best = max(best, n / (time.perf_counter() - start))
    batches.close()
    return best


def real_loop_rate(architecture, path, batch_size):
    """samples/s of `model.fit` over the streamed file (deepcis' real loop), float32, after a warm-up epoch."""
    import keras

    from deepcis import parity
    from deepcis.batches import BatchConfig, HDF5Batches
    from deepcis.training import tf_dataset

    streamed = HDF5Batches(path, BatchConfig(batch_size=batch_size, in_memory_bytes=0, reverse_complement=True, seed=1))
    model = parity.compile_model(parity.build(architecture, streamed.window_length, len(streamed.tasks)), "adam")
    model.fit(tf_dataset(streamed, lambda: 0), epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(tf_dataset(streamed, lambda: 1), epochs=1, verbose=0, shuffle=False)
    rate = streamed.n / (time.perf_counter() - start)
    streamed.close()
    keras.backend.clear_session()
    return rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["deepsea", "basset", "danq"])
    parser.add_argument("--batches", type=int, default=30, help="batches per measurement")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    parser.add_argument("--xla", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--allow-cpu", action="store_true", help="measure on the CPU when no GPU is visible")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.allow_cpu:
        print("no GPU found (TensorFlow sees none): skipping the device benchmark; GPU rows stay 'not yet measured'")
        return 0
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "CPU"
    from deepcis import parity

    print(f"device: {device}; TensorFlow {tf.__version__}; batch {args.batch_size} x {args.length} bp, {args.tasks} tasks, "
          f"{args.batches} batches per measurement (best of 2)")  # fmt: skip
    batches = parity.random_batches(args.batches, args.batch_size, args.length, args.tasks)
    results = {"device": device, "tensorflow": tf.__version__, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loader.h5"
        parity.write_random_dataset(path, args.batches * args.batch_size, args.length, args.tasks)
        loader = loader_rate(path, args.batch_size)
        print(f"\nHDF5 loader alone (streamed, block-shuffled, RC-augmented): {loader:9.1f} samples/s")
        results["loader"] = loader
        for architecture in args.models:
            rates = train_step_rates(architecture, batches, args.precisions, [x == "on" for x in args.xla])
            real = real_loop_rate(architecture, path, args.batch_size)
            bare = rates.get(("float32", False)) or next(iter(rates.values()))
            print(f"\n{architecture}: train step samples/s")
            for (precision, xla), rate in rates.items():
                print(f"  {precision:15s} XLA {'on ' if xla else 'off'}  {rate:9.1f}  ({rate / bare:.2f}x float32, XLA off)")
            print(f"  real loop (fit, streamed from HDF5, float32): {real:9.1f}  real / bare step {real / bare:.2f} "
                  f"(target >= 0.9); loader / step {loader / bare:.1f}")  # fmt: skip
            results["models"][architecture] = {"train_step": {f"{p}|xla={'on' if x else 'off'}": r for (p, x), r in rates.items()},
                                               "real_loop": real}  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

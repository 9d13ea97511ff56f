"""Benchmark of the training loop against a plain Keras model (not a timed test).

For each architecture (published default sizes), prints from one run, with the models timed in
turn within each round (so drift on a shared machine hits all alike):
- the real training loop (`model.fit` fed by deepcis.batches streaming block-shuffled,
  reverse-complement augmented batches from an HDF5 file, as `train_model` does);
- deepcis' bare compiled train step (`train_on_batch`) on the same batches held in memory;
- a plain reference: the same layers in plain Keras (no regularisers or constraints, Keras'
  own binary cross-entropy, no metadata layer; deepcis.parity), the same optimizer and batches;
and the ratios real / bare (target >= 0.9: the loader keeps up) and bare / plain (target
>= 0.95: deepcis' step costs no more than the published recipe must). `--ablate` adds deepcis'
model with one extra switched off at a time (regularisers, max-norm, masked loss, metadata
layer), to show where the time goes.

    .venv/bin/python bench/bench_train.py --models deepsea basset danq --batches 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(architecture, args, tmp):
    """{name: samples/s}: "real loop", "deepcis" (bare step), "plain" and the ablations."""
    from deepcis import parity
    from deepcis.batches import BatchConfig, HDF5Batches
    from deepcis.training import tf_dataset

    path = Path(tmp) / f"{architecture}.h5"
    n = args.batches * args.batch_size
    parity.write_random_dataset(path, n, args.length, args.tasks)
    models = parity.variants(architecture, args.length, args.tasks, args.optimizer, ablate=args.ablate)
    # The bare steps read the same rows as the loop, held in memory (float32, as the loop feeds them).
    in_memory = [(x.astype("float32"), y) for x, y in HDF5Batches(path, BatchConfig(batch_size=args.batch_size, shuffle=False)).iterate(0)]
    streamed = HDF5Batches(path, BatchConfig(batch_size=args.batch_size, in_memory_bytes=0, reverse_complement=True, seed=1))
    real_model = models["deepcis"]
    real_model.fit(tf_dataset(streamed, lambda: 0), epochs=1, verbose=0, shuffle=False)  # warm-up epoch
    best = {"real loop": 0.0}
    for round_ in range(args.rounds):
        start = time.perf_counter()
        real_model.fit(tf_dataset(streamed, lambda r=round_: 1 + r), epochs=1, verbose=0, shuffle=False)
        best["real loop"] = max(best["real loop"], n / (time.perf_counter() - start))
        for name, rate in parity.time_steps(models, in_memory, rounds=1).items():
            best[name] = max(best.get(name, 0.0), rate)
    streamed.close()
    return best, real_model.count_params(), models["plain"].count_params()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["deepsea", "basset", "danq"])
    parser.add_argument("--batches", type=int, default=10, help="batches per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--optimizer", default="adam", help="deepcis' default; the plain model uses the same")
    parser.add_argument("--ablate", action="store_true", help="also time deepcis with one extra off at a time")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    from deepcis.training import configure_runtime

    configure_runtime(args.threads, seed=0, deterministic=False)
    print(f"cpus: {len(os.sched_getaffinity(0))}; batch {args.batch_size} x {args.length} bp, {args.tasks} tasks, "
          f"{args.optimizer}, {args.batches} batches per measurement (best of {args.rounds} alternating rounds)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for architecture in args.models:
            rates, params, plain_params = measure(architecture, args, tmp)
            bare, plain = rates["deepcis"], rates["plain"]
            print(f"\n{architecture} ({params / 1e6:.1f} M parameters; plain reference {plain_params / 1e6:.1f} M)")
            print(f"  real loop, streamed from HDF5:               {rates['real loop']:8.1f} samples/s")
            print(f"  deepcis bare train step, batches in memory:  {bare:8.1f} samples/s")
            print(f"  plain Keras reference, same batches:         {plain:8.1f} samples/s")
            for name, rate in rates.items():
                if name.startswith("no "):
                    print(f"  deepcis, {name + ':':34s} {rate:8.1f} samples/s ({rate / bare:.2f}x deepcis)")
            print(f"  real / bare {rates['real loop'] / bare:.2f} (target >= 0.9); bare / plain {bare / plain:.2f} "
                  f"(target >= 0.95); real / plain {rates['real loop'] / plain:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

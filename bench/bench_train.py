"""Benchmark of the training loop (not a timed test).

For each architecture (published default sizes), prints samples/s of the real training loop
(`model.fit` fed by deepcis.batches streaming block-shuffled batches from an HDF5 file, as
`train_model` does) and of the bare compiled train step (`train_on_batch`) on the same
batches held in memory, measured in the same run, and their ratio (target >= 0.9).

    .venv/bin/python bench/bench_train.py --models deepsea basset --batches 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def make_file(path, n, length, n_tasks, seed=0):
    from deepcis import dataset

    rng = np.random.default_rng(seed)
    attrs = {"genome": "bench", "genome_sha256": "-", "label_mode": "deepsea", "split": "train", "config_sha256": "-"}
    with dataset.create_dataset(path, n, length, [f"t{i}" for i in range(n_tasks)], attrs) as f:
        for lo in range(0, n, 1024):
            m = min(1024, n - lo)
            x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (m, length))]
            y = (rng.random((m, n_tasks)) < 0.05).astype(np.uint8)
            dataset.write_rows(f, lo, x, y, ["chr1"] * m, np.arange(lo, lo + m), np.arange(lo, lo + m) + length)


def measure(architecture, n_batches, batch_size, length, n_tasks, threads, tmp):
    import keras

    from deepcis import keras_objects, models
    from deepcis.batches import BatchConfig, HDF5Batches
    from deepcis.training import tf_dataset

    path = Path(tmp) / f"{architecture}.h5"
    n = n_batches * batch_size
    make_file(path, n, length, n_tasks)
    model = keras_objects.with_metadata(models.build_model(architecture, length, n_tasks), [f"t{i}" for i in range(n_tasks)], length)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras_objects.loss_for_head("sigmoid"))
    # Streamed (never held in RAM), block-shuffled, reverse-complement augmented: the real loop.
    streamed = HDF5Batches(path, BatchConfig(batch_size=batch_size, in_memory_bytes=0, reverse_complement=True, seed=1))
    in_memory = [(x, y) for x, y in HDF5Batches(path, BatchConfig(batch_size=batch_size, shuffle=False)).iterate(0)]
    model.train_on_batch(*in_memory[0])  # build and trace the step once
    model.fit(tf_dataset(streamed, lambda: 0), epochs=1, verbose=0, shuffle=False)  # warm-up epoch
    results = {}
    for round_ in range(2):  # alternate, so drift on a shared machine hits both alike
        t = time.perf_counter()
        for x, y in in_memory:
            model.train_on_batch(x, y)
        bare = n / (time.perf_counter() - t)
        t = time.perf_counter()
        model.fit(tf_dataset(streamed, lambda r=round_: 1 + r), epochs=1, verbose=0, shuffle=False)
        real = n / (time.perf_counter() - t)
        results.setdefault("bare", []).append(bare)
        results.setdefault("real", []).append(real)
    streamed.close()
    bare, real = max(results["bare"]), max(results["real"])
    return bare, real, model.count_params()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["deepsea", "basset"])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    from deepcis.training import configure_runtime

    configure_runtime(args.threads, seed=0, deterministic=False)
    print(f"cpus: {len(os.sched_getaffinity(0))}; batch {args.batch_size} x {args.length} bp, {args.tasks} tasks, "
          f"{args.batches} batches per measurement (best of 2 alternating rounds)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for architecture in args.models:
            bare, real, params = measure(architecture, args.batches, args.batch_size, args.length, args.tasks, args.threads, tmp)
            print(f"\n{architecture} ({params / 1e6:.1f} M parameters)")
            print(f"  bare compiled train step, batches in memory: {bare:8.1f} samples/s")
            print(f"  real loop, streamed from HDF5:               {real:8.1f} samples/s")
            print(f"  ratio {real / bare:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()

"""Benchmark of inference against a plain Keras model (not a timed test).

For each architecture (published default sizes, random weights), times on the same random
one-hot windows, in turn within each round (so drift on a shared machine hits all alike):
- plain: the same layers in plain Keras (deepcis.parity), `predict_on_batch` per batch;
- deepcis `predict_windows` (predict_split's blocks, tracks, design; the deepcis model with its
  metadata layer);
- deepcis variant scoring's predictor (one compiled function per batch, uint8 input);
- naive ISM (all 3 L single-base mutants of each window through the model) and fast ISM,
  as model evaluations (windows) per second;
forward strand only, so every path does the same work per window. Prints windows/s and the
ratio to plain (target >= 0.95; fast ISM exceeds it by recomputing less).

    .venv/bin/python bench/bench_predict.py --models deepsea basset danq --windows 512
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def paths(architecture, args):
    """{name: (callable(x_uint8) -> predictions, windows evaluated per input window)}."""
    from deepcis import parity
    from deepcis.ism import FastISM, naive_ism
    from deepcis.predict import predict_windows
    from deepcis.variants import _Predictor

    model = parity.build(architecture, args.length, args.tasks)
    plain = parity.build(architecture, args.length, args.tasks, parity.plain_hyperparameters(architecture), metadata=False)
    plain.set_weights(model.get_weights())
    bs = args.batch_size

    def plain_predict(x):
        x = x.astype(np.float32)
        return np.concatenate([np.asarray(plain.predict_on_batch(x[lo:lo + bs])) for lo in range(0, len(x), bs)])

    predictor = _Predictor(model, bs, reverse_complement=False)
    out = {
        "plain predict_on_batch": (plain_predict, 1),
        "predict_windows": (lambda x: predict_windows(model, x, bs, reverse_complement_average=False), 1),
        "variant scoring": (predictor, 1),
    }
    if args.ism:
        fast = FastISM(model)
        n_ism = 3 * args.length
        out["naive ISM"] = (lambda x: [naive_ism(model, w, bs) for w in x[:args.ism]], n_ism)
        out["fast ISM"] = (lambda x: [fast(w, bs) for w in x[:args.ism]], n_ism)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["deepsea", "basset", "danq"])
    parser.add_argument("--windows", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--ism", type=int, default=1, help="windows per ISM measurement (0 = no ISM)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    from deepcis.training import configure_runtime

    configure_runtime(args.threads, seed=0, deterministic=False)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (args.windows, args.length))]
    print(f"cpus: {len(os.sched_getaffinity(0))}; {args.windows} windows of {args.length} bp, {args.tasks} tasks, "
          f"batch {args.batch_size}, forward strand; best of {args.rounds} alternating rounds")  # fmt: skip
    for architecture in args.models:
        runs = paths(architecture, args)
        for fn, _ in runs.values():  # trace once, not timed
            fn(x[: args.batch_size])
        best = dict.fromkeys(runs, 0.0)
        for _ in range(args.rounds):
            for name, (fn, per_window) in runs.items():
                n = (min(args.ism, args.windows) if "ISM" in name else args.windows) * per_window
                start = time.perf_counter()
                fn(x)
                best[name] = max(best[name], n / (time.perf_counter() - start))
        plain = best["plain predict_on_batch"]
        print(f"\n{architecture}: model evaluations (windows) per second")
        for name, rate in best.items():
            print(f"  {name:24s} {rate:9.1f}  {rate / plain:5.2f}x plain")


if __name__ == "__main__":
    main()

"""Benchmark of in-silico mutagenesis (not a timed test): fast ISM vs naive ISM, same run.

For each architecture (published full-size defaults, random weights, 1000 bp windows
unless --length says otherwise), both implementations of `deepcis.ism` run on the same
random windows: naive ISM predicts all 3 L mutant windows with the whole model; fast ISM
recomputes only the positions each change reaches through the convolutional stack (see
docs/interpretation.md). Prints seconds per window, the speed-up (target >= 5x on deepsea
and basset) and the largest absolute difference between the two maps.

    .venv/bin/python bench/bench_ism.py --models deepsea,basset --windows 2
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="deepsea,basset")
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--windows", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from deepcis.ism import FastISM, naive_ism
    from deepcis.models import build_model

    rng = np.random.default_rng(0)
    for name in args.models.split(","):
        keras.utils.set_random_seed(0)
        model = build_model(name, args.length, args.tasks)
        engine = FastISM(model)
        xs = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.windows, args.length))]
        naive_ism(model, xs[0][:], args.batch_size)  # warm-up (graph tracing), not timed
        engine(xs[0], args.batch_size)
        t_naive = t_fast = 0.0
        diff = scale = 0.0
        for x in xs:  # alternate the two so drifting machine speed hits both
            t = time.perf_counter()
            a = naive_ism(model, x, args.batch_size)
            t_naive += time.perf_counter() - t
            t = time.perf_counter()
            b = engine(x, args.batch_size)
            t_fast += time.perf_counter() - t
            diff = max(diff, float(np.abs(a - b).max()))
            scale = max(scale, float(np.abs(a).max()))
        print(json.dumps({"model": name, "length": args.length, "tasks": args.tasks,
                          "parameters": int(model.count_params()),
                          "naive_s_per_window": round(t_naive / len(xs), 2),
                          "fast_s_per_window": round(t_fast / len(xs), 2),
                          "speedup": round(t_naive / t_fast, 2), "max_abs_diff": diff,
                          "max_abs_effect": scale}), flush=True)


if __name__ == "__main__":
    main()

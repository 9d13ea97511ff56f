"""Benchmark of the k-mer baseline fit (not a timed test): the C path with warm starts and
early stopping vs the whole grid with cold starts, same run, same features.

Features of the training and validation splits are built once (timed: the feature step).
Then, on a seeded sample of `--tasks` tasks, the reference (every C of the grid, each fit
from zero: the fit before the C path) and `deepcis.baseline._fit_one` (C up the grid, warm
starts, stop after `c_patience` C values without a better validation AUROC) fit the same
tasks, alternating task by task. Prints wall and CPU seconds of each (CPU time is the
steadier one on a loaded machine), the speed-up, the chosen C's and the
median validation AUROC/AUPRC of both (the speed-up must not cost accuracy). `--all` then
times the whole new fit (`fit_kmer_baseline`, every task, `--threads` tasks in parallel).

    .venv/bin/python bench/bench_baseline.py --train results/encode/train.h5 --valid results/encode/valid.h5 --all
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def reference_fit(x_train, y, x_valid, y_valid, Cs, max_iter=1000):
    """The fit before the C path: a cold lbfgs fit at every C, best validation AUROC kept."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    best = None
    for C in sorted(Cs):
        clf = LogisticRegression(C=C, l1_ratio=0.0, max_iter=max_iter, random_state=0).fit(x_train, y)
        auc = float(roc_auc_score(y_valid, clf.decision_function(x_valid)))
        if best is None or auc > best[3]:
            best = (clf.coef_[0].copy(), float(clf.intercept_[0]), float(C), auc)
    return best


def valid_scores(coef, intercept, x_valid, y_valid):
    from sklearn.metrics import average_precision_score, roc_auc_score

    z = x_valid @ coef.astype(np.float32) + np.float32(intercept)
    return roc_auc_score(y_valid, z), average_precision_score(y_valid, z)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--tasks", type=int, default=8, help="tasks sampled for the same-run comparison")
    parser.add_argument("--Cs", default="0.001,0.01,0.1,1")
    parser.add_argument("--c-patience", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="then time the whole new fit (every task)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from deepcis import baseline

    Cs = tuple(float(c) for c in args.Cs.split(","))
    t = time.perf_counter()
    x_train, y_train, tasks, _, _ = baseline._features_of(args.train, baseline.DEFAULT_KS, "frequency", 4096)
    x_valid, y_valid, _, _, _ = baseline._features_of(args.valid, baseline.DEFAULT_KS, "frequency", 4096)
    t_features = time.perf_counter() - t
    mean = x_train.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = x_train.std(axis=0, dtype=np.float64).astype(np.float32)
    scale[~(scale > 1e-12)] = 1.0
    x_train, x_valid = (x_train - mean) / scale, (x_valid - mean) / scale
    print(f"features: {len(x_train)} training + {len(x_valid)} validation windows x {x_train.shape[1]}, "
          f"{t_features:.1f} s ({len(x_train) / t_features:,.0f} windows/s)", flush=True)  # fmt: skip

    picked = np.sort(np.random.default_rng(0).choice(len(tasks), size=min(args.tasks, len(tasks)), replace=False))
    rows = []
    with threadpool_limits(args.threads):
        for i in picked:
            seen, v_seen = ~np.isnan(y_train[:, i]), ~np.isnan(y_valid[:, i])
            fit_args = (x_train[seen], y_train[seen, i].astype(int), x_valid[v_seen], y_valid[v_seen, i].astype(int))
            t, c = time.perf_counter(), time.process_time()
            ref = reference_fit(*fit_args, Cs)
            t_ref, c_ref = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            new = baseline._fit_one(*fit_args, Cs, 0, "lbfgs", None, 1000, args.c_patience)
            t_new, c_new = time.perf_counter() - t, time.process_time() - c
            a_ref, p_ref = valid_scores(ref[0], ref[1], *fit_args[2:])
            a_new, p_new = valid_scores(new[0], new[1], *fit_args[2:])
            rows.append((tasks[i], t_ref, t_new, ref[2], new[2], a_ref, a_new, p_ref, p_new, c_ref, c_new))
            print(f"{tasks[i]:<22} reference {t_ref:6.1f} s, CPU {c_ref:6.1f} s (C {ref[2]:g})  "
                  f"C path {t_new:6.1f} s, CPU {c_new:6.1f} s (C {new[2]:g})  "
                  f"AUROC {a_ref:.4f} / {a_new:.4f}  AUPRC {p_ref:.4f} / {p_new:.4f}", flush=True)  # fmt: skip
    r = np.array([row[1:] for row in rows], dtype=float)
    summary = {
        "tasks": len(rows), "reference_s": round(r[:, 0].sum(), 1), "c_path_s": round(r[:, 1].sum(), 1),
        "speedup": round(r[:, 0].sum() / r[:, 1].sum(), 2), "reference_cpu_s": round(r[:, 8].sum(), 1),
        "c_path_cpu_s": round(r[:, 9].sum(), 1), "cpu_speedup": round(r[:, 8].sum() / r[:, 9].sum(), 2), "same_C": int((r[:, 2] == r[:, 3]).sum()),
        "median_valid_auroc": [round(float(np.median(r[:, 4])), 4), round(float(np.median(r[:, 5])), 4)],
        "median_valid_auprc": [round(float(np.median(r[:, 6])), 4), round(float(np.median(r[:, 7])), 4)],
    }  # fmt: skip
    print("same run, reference vs C path:", json.dumps(summary), flush=True)
    if args.all:
        t, c = time.perf_counter(), time.process_time()
        model = baseline.fit_kmer_baseline(args.train, args.valid, Cs=Cs, n_jobs=args.threads, c_patience=args.c_patience)
        t_all, c_all = time.perf_counter() - t, time.process_time() - c
        aucs, aps = [], []
        for i in range(len(tasks)):
            v_seen = ~np.isnan(y_valid[:, i])
            a, p = valid_scores(model.coef[i], model.intercept[i], x_valid[v_seen], y_valid[v_seen, i].astype(int))
            aucs.append(a)
            aps.append(p)
        chosen = {f"{c:g}": int((model.C == c).sum()) for c in Cs}
        print("whole fit (features included):", json.dumps({
            "tasks": len(tasks), "seconds": round(t_all, 1), "cpu_seconds": round(c_all, 1), "median_valid_auroc": round(float(np.median(aucs)), 4),
            "median_valid_auprc": round(float(np.median(aps)), 4), "chosen_C": chosen}))  # fmt: skip


if __name__ == "__main__":
    main()

"""Near-duplicate census of the shared sequence-table benchmarks (deepcis.near_duplicates):
how many pairs and sequences reach each k-mer Jaccard threshold, and what a random split at
that threshold would have leaked. Compares LSH candidates against all pairs (exact Jaccard,
the reference computed in the same run) for recall and speed.

    .venv/bin/python bench/near_duplicates_census.py [--k 8] [--thresholds 0.3 0.5 0.7]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deepcis.near_duplicates import jaccard, kmer_set, near_duplicate_pairs
from deepcis.seqtable import read_sources

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def tables() -> dict:
    ien = DATA / "ienhancer_layer1_train"
    oct4 = DATA / "janggu_oct4_vs_mafk"
    return {
        "iEnhancer layer 1 (train)": [{"path": str(ien / "enhancer.train.fa"), "labels": {"enhancer": 1}},
                                      {"path": str(ien / "non_enhancer.train.fa"), "labels": {"enhancer": 0}}],
        "Oct4 vs Mafk (train + test)": [{"path": str(oct4 / f), "labels": {"oct4": v}}
                                        for f, v in (("sample.fa", 1), ("sample2.fa", 0), ("sample_test.fa", 1), ("sample2_test.fa", 0))],
    }  # fmt: skip


def all_pair_jaccard(sets):
    """Reference: exact Jaccard of every pair sharing a k-mer, as one sparse product (upper triangle)."""
    from scipy import sparse

    codes = np.unique(np.concatenate(sets))
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    cols = np.searchsorted(codes, np.concatenate(sets))
    a = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(sets), len(codes)))
    inter = sparse.triu(a @ a.T, k=1).tocoo()
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    inter.data = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    return inter


def synthetic(n: int, k: int):
    """Scale: random sequences with planted copies; the quadratic reference is not run."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (n, 200))
    n_copies = n // 20
    copies = codes[:n_copies].copy()
    hit = rng.random(copies.shape) < 0.02
    copies[hit] = (copies[hit] + rng.integers(1, 4, hit.sum())) % 4
    seqs = ["".join("ACGT"[c] for c in row) for row in np.concatenate([codes[: n - n_copies], copies])]
    t0 = time.perf_counter()
    found = near_duplicate_pairs(seqs, k=k, threshold=0.5, seed=0)
    seconds = time.perf_counter() - t0
    planted = sum(1 for i, j, _ in found if j == i + n - n_copies)
    offset = n - n_copies
    reachable = sum(jaccard(kmer_set(seqs[i], k), kmer_set(seqs[i + offset], k)) >= 0.5 for i in range(n_copies))
    print(f"{n} sequences of 200 bp: {len(found)} pairs >= 0.5 in {seconds:.1f} s; planted copies found "
          f"{planted} of the {reachable} whose exact Jaccard is >= 0.5 ({n_copies} planted)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also time the LSH alone on this many random 200 bp sequences (5%% of them 2%%-mutated copies)")
    args = parser.parse_args()
    if args.synthetic:
        synthetic(args.synthetic, args.k)
        return
    print("| table | sequences | threshold | pairs (LSH) | pairs (all-pairs reference) | sequences in a pair | LSH s | reference s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, sources in tables().items():
        seqs = list(dict.fromkeys(read_sources(sources)["sequence"].str.upper()))  # distinct sequences
        t0 = time.perf_counter()
        sets = [kmer_set(s, args.k) for s in seqs]
        jac = all_pair_jaccard(sets)
        t_ref = time.perf_counter() - t0
        for threshold in args.thresholds:
            t0 = time.perf_counter()
            found = near_duplicate_pairs(seqs, k=args.k, threshold=threshold, seed=0)
            t_lsh = time.perf_counter() - t0
            members = {i for i, j, _ in found} | {j for i, j, _ in found}
            keep = jac.data >= threshold
            truth = set(zip(jac.row[keep].tolist(), jac.col[keep].tolist()))
            recall = len({(i, j) for i, j, _ in found} & truth) / len(truth) if truth else 1.0
            print(f"| {name} | {len(seqs)} | {threshold} | {len(found)} | {len(truth)} (recall {recall:.3f}) "
                  f"| {len(members)} | {t_lsh:.1f} | {t_ref:.1f} |")


if __name__ == "__main__":
    main()

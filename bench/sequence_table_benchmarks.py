"""Measurement (not a timed test): sequence-table inputs on two published benchmarks.

- iEnhancer layer 1 (../shared/data/ienhancer_layer1_train; 1,484 enhancers + 1,484
  non-enhancers, 200 bp): 5-fold cross-validation (stratified, reverse-complement-duplicate
  groups kept in one fold, seeded), a small CNN (deepcis' `deepsea` architecture) and the k-mer
  baseline on the same folds; accuracy (threshold 0.5), MCC and AUROC per fold and their mean.
  Within each training part, 10% (stratified) is the validation split for early stopping and
  for the baseline's C.
- Oct4 vs Mafk (../shared/data/janggu_oct4_vs_mafk): the given train FASTAs (10% valid) and
  the given 200-sequence test table; test accuracy, MCC and AUROC, CNN and baseline.

Everything goes through deepcis.seqtable (sources -> splits -> HDF5 contract), then
deepcis.training / deepcis.predict / deepcis.baseline as the workflow's rules call them.

    nice -n 5 .venv/bin/python bench/sequence_table_benchmarks.py [--folds 5] [--epochs 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from deepcis.baseline import fit_kmer_baseline, predict_baseline
from deepcis.predict import predict_dataset, read_predictions
from deepcis.seqtable import assign_table_splits, canonical, read_sources, write_table_split
from deepcis.training import train_model

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HP = {"conv_filters": [64, 64], "kernel_size": [11, 7], "pool_size": 4, "dropout": [0.2, 0.5], "dense_units": 64}
ATTRS = {"genome": "none (sequence table)", "genome_sha256": "", "label_mode": "sequence_table", "config_sha256": ""}


def scores(path):
    p = read_predictions(path)
    y, s = p.y_true[:, 0], p.y_pred[:, 0]
    return {"accuracy": float(((s >= 0.5) == (y == 1)).mean()), "mcc": float(matthews_corrcoef(y, s >= 0.5)),
            "auroc": float(roc_auc_score(y, s))}  # fmt: skip


def run_split(train, valid, test, tasks, work: Path, epochs: int, seed: int) -> dict:
    paths = {}
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        paths[name] = work / f"{name}.h5"
        write_table_split(part, paths[name], 200, tasks, {**ATTRS, "split": name}, np.uint8)
    t = time.perf_counter()
    train_model(paths["train"], paths["valid"], work / "cnn", "cnn", "deepsea", HP,
                {"epochs": epochs, "batch_size": 64, "learning_rate": 1e-3, "early_stopping_patience": 6}, seed=seed,
                threads=2)  # fmt: skip
    cnn_seconds = time.perf_counter() - t
    predict_dataset(work / "cnn", paths["test"], work / "cnn_test.h5")
    baseline = fit_kmer_baseline(paths["train"], paths["valid"], seed=seed)
    predict_baseline(baseline, paths["test"], work / "kmer_test.h5")
    return {"cnn": scores(work / "cnn_test.h5"), "kmer": scores(work / "kmer_test.h5"), "cnn_seconds": cnn_seconds}


def ienhancer(work: Path, folds: int, epochs: int, seed: int):
    d = DATA / "ienhancer_layer1_train"
    table = read_sources([{"path": str(d / "enhancer.train.fa"), "labels": {"enhancer": 1}},
                          {"path": str(d / "non_enhancer.train.fa"), "labels": {"enhancer": 0}}])  # fmt: skip
    groups = pd.factorize(table["sequence"].map(canonical))[0]
    print(f"iEnhancer: {len(table)} sequences, {len(table) - groups.max() - 1} reverse-complement or exact duplicates")
    rows = []
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(table, table["enhancer"], groups)):
        part = table.iloc[train_idx].reset_index(drop=True)
        split, _ = assign_table_splits(part, None, 0.1, 0.0, "stratified", seed + fold, "enhancer")
        result = run_split(part[split == "train"], part[split == "valid"], table.iloc[test_idx], ["enhancer"],
                           work / f"fold{fold}", epochs, seed + fold)  # fmt: skip
        for model in ("cnn", "kmer"):
            rows.append({"fold": fold, "model": model, **result[model]})
        print(
            f"fold {fold}: cnn {result['cnn']}, kmer {result['kmer']} (cnn trained in {result['cnn_seconds']:.0f} s)", flush=True
        )
    frame = pd.DataFrame(rows)
    print(frame.groupby("model")[["accuracy", "mcc", "auroc"]].agg(["mean", "std"]).round(3).to_string())


def oct4_mafk(work: Path, epochs: int, seed: int):
    d = DATA / "janggu_oct4_vs_mafk"
    train = read_sources(
        [{"path": str(d / "sample.fa"), "labels": {"oct4": 1}}, {"path": str(d / "sample2.fa"), "labels": {"oct4": 0}}]
    )
    test = read_sources(
        [{"path": str(d / "sample_test.fa"), "labels": {"oct4": 1}}, {"path": str(d / "sample2_test.fa"), "labels": {"oct4": 0}}]
    )
    split, counts = assign_table_splits(train, test, 0.1, 0.0, "stratified", seed, "oct4")
    print(f"Oct4 vs Mafk: {counts}")
    result = run_split(train[split == "train"], train[split == "valid"], test, ["oct4"], work / "oct4", epochs, seed)
    print(f"test: cnn {result['cnn']}, kmer {result['kmer']} (cnn trained in {result['cnn_seconds']:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", choices=("ienhancer", "oct4"), default=None)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = Path(tempfile.mkdtemp(prefix="seqtable_bench_"))
    if args.only in (None, "oct4"):
        oct4_mafk(work, args.epochs, args.seed)
    if args.only in (None, "ienhancer"):
        ienhancer(work, args.folds, args.epochs, args.seed)

"""Rows of docs/tuning-chrX.md from a run of config/encode_dream_chrX/tune_training.yaml.

`--targets` prints the files the run makes (one per tuning model: the validation windows' and the
validation scan's metrics); without it, one row per model: epochs run / best, training seconds,
median AUROC and AUPRC over the tasks of the validation windows and of the validation scan, and
the lowest CTCF scan AUROC. Run from the workflow folder after the run.
"""

import argparse
import json
from pathlib import Path

import pandas as pd
import yaml

OVERLAY = Path("config/encode_dream_chrX/tune_training.yaml")
SPLITS = ("valid", "valid_scan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", action="store_true", help="print the run's target files")
    args = parser.parse_args()
    models = list(yaml.safe_load(OVERLAY.read_text())["models"])
    if args.targets:
        print(" ".join(f"results/evaluate/{m}/{s}.metrics.tsv" for m in models for s in SPLITS))
        return
    print("| model | epochs run / best | train s | windows AUROC | windows AUPRC | scan AUROC | scan AUPRC | CTCF min scan AUROC |")
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        meta = json.loads(Path(f"results/models/{model}/model.json").read_text())
        row = [model, f"{meta['epochs_run']} / {meta['best_epoch']}", f"{meta['train_seconds']:.0f}"]
        for split in SPLITS:
            metrics = pd.read_csv(f"results/evaluate/{model}/{split}.metrics.tsv", sep="\t")
            row += [f"{metrics.auroc.median():.3f}", f"{metrics.auprc.median():.3f}"]
        ctcf = metrics[metrics.task.str.endswith(".CTCF")]
        row.append(f"{ctcf.auroc.min():.3f}")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

"""Measurement (not a timed test): validation AUROC with and without random shift augmentation.

Trains the same model (architecture, hyperparameters, seed, epochs) on a train.h5 twice, with
`shift` 0 and with `--shift` k, and prints each task's validation AUROC (predictions averaged
over both strands, as the workflow evaluates). The bundled example's HDF5 files come from
`snakemake --cores 2 results/encode/train.h5 results/encode/valid.h5`.

    nice -n 5 .venv/bin/python bench/shift_augmentation.py results/encode --shift 20 --epochs 12
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import roc_auc_score

from deepcis.predict import predict_dataset, read_predictions
from deepcis.training import train_model

parser = argparse.ArgumentParser()
parser.add_argument("encode_dir")
parser.add_argument("--shift", type=int, default=20)
parser.add_argument("--epochs", type=int, default=12)
parser.add_argument("--model", default="danq_small", help="a model of config/config.yaml")
parser.add_argument("--seed", type=int, default=42)
args = parser.parse_args()
config = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
spec = config["models"][args.model]
training = {**config["train"], "epochs": args.epochs}
work = Path(tempfile.mkdtemp(prefix="shift_"))
encode = Path(args.encode_dir)
results = {}
for shift in (0, args.shift):
    out = work / f"shift{shift}"
    info = train_model(encode / "train.h5", encode / "valid.h5", out, args.model, spec["architecture"], spec.get("hyperparameters"),
                       {**training, "shift": shift}, seed=args.seed, threads=2, tasks=spec.get("tasks"))  # fmt: skip
    predict_dataset(out, encode / "valid.h5", out / "valid.predictions.h5")
    p = read_predictions(out / "valid.predictions.h5")
    results[shift] = {t: roc_auc_score(p.y_true[:, i], p.y_pred[:, i]) for i, t in enumerate(p.tasks)}
    print(f"shift {shift}: best epoch {info.get('best_epoch')}, valid AUROC "
          + ", ".join(f"{t} {v:.3f}" for t, v in results[shift].items())
          + f"; mean {np.mean(list(results[shift].values())):.3f}", flush=True)  # fmt: skip

"""Benchmark of transformer variants on the bundled example (not a test): what each one learns.

Trains one transformer setting with the workflow's own calls (deepcis.training.train_model,
deepcis.predict.predict_dataset with both strands, deepcis.metrics.metrics_from_predictions) on
an example run's encoded splits, then prints its train CPU seconds, kept epoch, the validation
and test AUROC per task, and the mean GATA1 probability of validation windows by what is planted
in them (--sites: the example's motif_sites.bed): GATA1 positives with a lone GATA1 site
(MA0035.4), with a GATA1 + TAL1 pair (MA0091.1), and negatives without a GATA1 site.

    .venv/bin/python bench/transformer_variants.py --encoded <run>/results/encode \
        --sites <run>/resources/example/motif_sites.bed --out /tmp/tf-res \
        --hp '{"stem_filters": [128, 64], "stem_kernel_size": [11, 5], "ff_units": 128, "key_dim": 16, "stem_residual": true}' \
        --train '{"epochs": 14, "batch_size": 64}'

--counts prints, without training, how many windows of each split hold a lone GATA1 site, a
GATA1 + TAL1 pair or a GATA1 site in a negative, and where the training split's GATA1 sites sit
in the stem's 128-bp attention positions (docs/models.md, fifth round).

Settings not given in --train are config/example_zoo.yaml's (learning rate 0.002, patience 6,
plateau 3). Choose among variants on the validation split; the test split is printed for the
chosen one's record (docs/models.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

TASKS = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]
EXAMPLE_TRAIN = {"epochs": 12, "batch_size": 32, "learning_rate": 0.002, "early_stopping_patience": 6,
                 "lr_plateau_patience": 3}  # fmt: skip


def planted(coordinates: pd.DataFrame, sites: pd.DataFrame, motif: str) -> np.ndarray:
    """Whether each window holds a whole planted site of `motif`."""
    flags = np.zeros(len(coordinates), bool)
    motif_sites = sites[sites.motif == motif]
    for chrom, windows in coordinates.groupby("chrom"):
        on = motif_sites[motif_sites.chrom == chrom]
        for i, start, end in zip(windows.index, windows.start, windows.end):
            flags[i] = ((on.start >= start) & (on.end <= end)).any()
    return flags


def gata1_by_site(predictions_path, sites_path) -> str:
    from deepcis.predict import read_predictions

    p = read_predictions(predictions_path)
    sites = pd.read_csv(sites_path, sep="\t", header=None, usecols=[0, 1, 2, 3], names=["chrom", "start", "end", "motif"])
    gata, tal = planted(p.coordinates, sites, "MA0035.4"), planted(p.coordinates, sites, "MA0091.1")
    column = p.tasks.index("GATA1")
    y, prob = p.y_true[:, column], p.y_pred[:, column]
    groups = {"lone": (y == 1) & gata & ~tal, "pair": (y == 1) & gata & tal, "none": (y == 0) & ~gata}
    return ", ".join(f"{name} {prob[m].mean():.3f} (n={m.sum()})" for name, m in groups.items())


def site_counts(encoded: Path, sites_path: Path, position_bp: int = 128) -> str:
    """Per split: GATA1 positives with a lone bound GATA1 site, with a GATA1 + TAL1 pair, without
    a whole bound site, and negatives with a bound or an unbound/broken GATA1 site; then, on the
    training split, where the GATA1 sites sit in the stem's attention positions of `position_bp`."""
    from deepcis.dataset import dataset_tasks, decode_strings, open_dataset

    names = ["chrom", "start", "end", "motif", "score", "strand", "state", "tasks", "id"]
    sites = pd.read_csv(sites_path, sep="\t", header=None, names=names)
    bound, other = sites[sites.state == "bound"], sites[sites.state != "bound"]
    lines = []
    for split in ("train", "valid", "test"):
        with open_dataset(encoded / f"{split}.h5") as f:
            coords = pd.DataFrame({"chrom": decode_strings(f["chrom"][:]), "start": f["start"][:], "end": f["end"][:]})
            y = f["y"][:, dataset_tasks(f).index("GATA1")] == 1
        gata, tal = planted(coords, bound, "MA0035.4"), planted(coords, bound, "MA0091.1")
        lines.append(f"{split}: {len(y)} windows, {y.sum()} GATA1 positives: lone {(y & gata & ~tal).sum()}, pair "
                     f"{(y & gata & tal).sum()}, no whole bound site {(y & ~gata).sum()}; negatives with a bound GATA1 "
                     f"site {(~y & gata).sum()}, with an unbound or broken one "
                     f"{(~y & planted(coords, other, 'MA0035.4')).sum()}")  # fmt: skip
        if split == "train":
            rows = []
            gata_sites = sites[(sites.motif == "MA0035.4") & sites.chrom.isin(coords.chrom.unique())]
            for chrom, start, end, label in zip(coords.chrom, coords.start, coords.end, y):
                on = gata_sites[(gata_sites.chrom == chrom) & (gata_sites.start >= start) & (gata_sites.end <= end)]
                for site in on.itertuples():
                    kind = "pair" if "GATA1_TAL1" in str(site.tasks) else "lone"
                    rows.append((int(label), site.state, kind, (site.start - start) // position_bp))
            table = pd.DataFrame(rows, columns=["label", "state", "kind", f"position ({position_bp} bp)"])
            lines.append(pd.crosstab([table.label, table.state, table.kind], table.iloc[:, 3]).to_string())
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoded", type=Path, required=True, help="results/encode of an example run")
    parser.add_argument("--sites", type=Path, required=True, help="resources/example/motif_sites.bed of that run")
    parser.add_argument("--out", type=Path, required=True, help="folder for the model and predictions")
    parser.add_argument("--hp", default="{}", help="transformer hyperparameters (JSON)")
    parser.add_argument("--train", default="{}", help="training settings over the example's (JSON)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--counts", action="store_true", help="print the GATA1 site counts per split, no training")
    args = parser.parse_args(argv)
    if args.counts:
        print(site_counts(args.encoded, args.sites))
        return

    from deepcis.metrics import metrics_from_predictions
    from deepcis.predict import predict_dataset
    from deepcis.training import train_model

    out = args.out.resolve()
    start = time.process_time()
    info = train_model(args.encoded / "train.h5", args.encoded / "valid.h5", out, out.name, "transformer",
                       json.loads(args.hp), EXAMPLE_TRAIN | json.loads(args.train), args.seed, threads=1,
                       tasks=TASKS)  # fmt: skip
    print(f"train CPU {time.process_time() - start:.0f} s, {info.get('epochs_run')} epochs, kept {info.get('best_epoch')}")
    for split in ("valid", "test"):
        predict_dataset(out / "model.keras", args.encoded / f"{split}.h5", out / f"{split}.predictions.h5", threads=1)
        auroc = metrics_from_predictions(out / f"{split}.predictions.h5").set_index("task")["auroc"]
        print(f"{split} AUROC", auroc.round(3).to_dict(), f"mean {auroc.mean():.3f}")
    print("valid mean GATA1 probability:", gata1_by_site(out / "valid.predictions.h5", args.sites))


if __name__ == "__main__":
    main()

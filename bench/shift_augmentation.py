"""Measurement (not a timed test): validation AUROC with and without random shift augmentation,
N fill against the window read wider and cropped; and the loader's speed with flanks.

Trains the same model (architecture, hyperparameters, seed, epochs) three times and prints each
task's validation AUROC (predictions averaged over both strands, as the workflow evaluates):
`shift` 0; `--shift` k with N fill (the windows without flanks); `--shift` k read wide (the
windows encoded with `encode.flank` >= k, cropped at their shifted place). The encode folder
must hold files with flanks; the flank-0 files are cut from them (their centre windows, which
is what encoding without flanks writes: tests/test_shift.py). The bundled example's files:

    # flank.yaml: encode: {chunks: 2, flank: 20}
    snakemake --cores 2 results/encode/train.h5 results/encode/valid.h5 --configfile config/config.yaml flank.yaml
    nice -n 5 .venv/bin/python bench/shift_augmentation.py results/encode --shift 20 --epochs 12

`--loader` instead times the training loader alone (deepcis.batches, base codes, in memory, as
the trainer reads) on generated windows: shift 0 and shift k without flanks, and shift k with
flanks k, as samples/s and as ratios against shift 0 measured in the same run (best of
`--repeats`, the arms alternating).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from deepcis.batches import BatchConfig, HDF5Batches
from deepcis.dataset import XReader, create_dataset, dataset_tasks, flank_of, open_dataset, write_rows

ATTRS = {"genome": "generated", "genome_sha256": "0" * 64, "label_mode": "basset", "split": "train", "config_sha256": "0" * 64}


def without_flanks(source, target):
    """A copy of a split file whose windows are the centre L bases (flank 0)."""
    with open_dataset(source) as f:
        attrs = {k: f.attrs[k] for k in f.attrs if k not in ("n_windows", "flank")}
        x = XReader(f)
        n, length = x.shape[:2]
        with create_dataset(target, n, length, dataset_tasks(f), attrs, label_dtype=f["y"].dtype) as out:
            write_rows(out, 0, x.codes(), f["y"][:], f["chrom"][:], f["start"][:], f["end"][:])


def auroc_arms(args):
    from sklearn.metrics import roc_auc_score

    from deepcis.predict import predict_dataset, read_predictions
    from deepcis.training import train_model

    config = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    spec = config["models"][args.model]
    training = {**config["train"], "epochs": args.epochs}
    work = Path(tempfile.mkdtemp(prefix="shift_"))
    wide = Path(args.encode_dir)
    with open_dataset(wide / "train.h5") as f:
        flank = flank_of(f)
    if flank < args.shift:
        raise SystemExit(f"{wide}/train.h5 has flank {flank} < --shift {args.shift}: encode it with encode.flank: {args.shift}")
    plain = work / "plain"
    plain.mkdir()
    for split in ("train", "valid"):
        without_flanks(wide / f"{split}.h5", plain / f"{split}.h5")
    arms = {"0": (plain, 0), f"{args.shift} N fill": (plain, args.shift), f"{args.shift} read wide (flank {flank})": (wide, args.shift)}
    for name, (folder, shift) in arms.items():
        out = work / name.replace(" ", "_").replace("(", "").replace(")", "")
        began = time.perf_counter()
        info = train_model(folder / "train.h5", folder / "valid.h5", out, args.model, spec["architecture"], spec.get("hyperparameters"),
                           {**training, "shift": shift}, seed=args.seed, threads=2, tasks=spec.get("tasks"))  # fmt: skip
        predict_dataset(out, folder / "valid.h5", out / "valid.predictions.h5")
        p = read_predictions(out / "valid.predictions.h5")
        auc = {t: roc_auc_score(p.y_true[:, i], p.y_pred[:, i]) for i, t in enumerate(p.tasks)}
        print(f"shift {name}: best epoch {info.get('best_epoch')}, valid AUROC "
              + ", ".join(f"{t} {v:.3f}" for t, v in auc.items())
              + f"; mean {np.mean(list(auc.values())):.3f} ({time.perf_counter() - began:.0f} s)", flush=True)  # fmt: skip


def loader_speed(args):
    work = Path(tempfile.mkdtemp(prefix="shift_loader_"))
    rng = np.random.default_rng(0)
    n, length, k = args.rows, args.length, args.shift
    paths = {}
    for flank in (0, k):
        paths[flank] = work / f"flank{flank}.h5"
        codes = rng.integers(0, 4, (n, length + 2 * flank), dtype=np.uint8)
        with create_dataset(paths[flank], n, length, ["t"], ATTRS, flank=flank) as f:
            f["x"][:] = codes
            f["y"][:] = rng.integers(0, 2, (n, 1))
            f["chrom"][:] = np.full(n, "chr1", dtype=object)
            f["start"][:] = np.arange(n) * length
            f["end"][:] = np.arange(n) * length + length
    arms = {"shift 0": (0, 0), f"shift {k}, N fill": (0, k), f"shift {k}, flank {k}": (k, k)}
    best = dict.fromkeys(arms, 0.0)
    for _ in range(args.repeats):
        for name, (flank, shift) in arms.items():
            batches = HDF5Batches(paths[flank], BatchConfig(batch_size=64, shift=shift, reverse_complement=True, seed=1))
            began = time.perf_counter()
            rows = sum(len(x) for x, _ in batches.iterate_codes(0))
            best[name] = max(best[name], rows / (time.perf_counter() - began))
            batches.close()
    for name, rate in best.items():
        print(f"{name:>20}: {rate:12,.0f} windows/s  ratio to shift 0: {rate / best['shift 0']:.2f}")


parser = argparse.ArgumentParser()
parser.add_argument("encode_dir", nargs="?", help="folder of train.h5 and valid.h5 encoded with encode.flank >= --shift")
parser.add_argument("--shift", type=int, default=20)
parser.add_argument("--epochs", type=int, default=12)
parser.add_argument("--model", default="danq_small", help="a model of config/config.yaml")
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--loader", action="store_true", help="time the loader on generated windows instead")
parser.add_argument("--rows", type=int, default=50_000)
parser.add_argument("--length", type=int, default=1000)
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()
if args.loader:
    loader_speed(args)
elif args.encode_dir:
    auroc_arms(args)
else:
    parser.error("give an encode folder, or --loader")

"""Training protocols end to end (issue 20): 3 cross-validation folds x 2 models with fold
ensembles, and a 4-point hyperparameter sweep (2 of whose points diverge), in ONE tiny run (2
epochs) killed with SIGKILL while a training job is between its epochs, then rerun. The unit tests of each part are in
tests/test_cv.py and tests/test_sweep.py."""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import yaml
from _utils import SNAKEMAKE, TINY_MODEL, copy_workflow, run_snakemake, snakemake_env, tiny_config, write_tiny_inputs

TRAINING_RULES = ("cv_train", "sweep_train")
# what the test asks for: the folds' tables and report page, the paired comparison of the two
# models, one model's fold ensemble (outer test set and VCF), the sweep's table, plot and page
TARGETS = ["results/cv/summary.tsv", "results/cv/paired.tsv", "results/report/cv.html",
           "results/cv/tiny/ensemble/comparison.tsv", "results/cv/tiny/ensemble/effects.tsv.gz",
           "results/sweep/sw/sweep.tsv", "results/sweep/sw/sweep.png", "results/report/sweep/sw.html"]  # fmt: skip
# the tables that must come out the same however the run got there (sweep.tsv: timing aside)
TABLES = ["results/cv/folds.tsv", "results/cv/per_fold.tsv", "results/cv/summary.tsv", "results/cv/paired.tsv",
          "results/cv/tiny/ensemble/comparison.tsv", "results/sweep/sw/selection.json"]  # fmt: skip


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _finished(workdir) -> list[str]:
    """Training jobs Snakemake has recorded as finished (its run logs)."""
    logs = (workdir / ".snakemake" / "log").glob("*.log")
    text = "".join(f.read_text() for f in logs)
    return [rule for rule in TRAINING_RULES for _ in range(text.count(f"(Rule: {rule})"))]


def _between_epochs(workdir) -> list:
    """Training folders whose job has saved its resume state (an epoch done, not the last)."""
    return sorted(p.parent for p in (workdir / "results").glob("*/*/*.resume/state.json"))


def _models(workdir) -> dict:
    """{model folder: (mtime, digest)} of every trained fold and sweep-point model."""
    found = [*(workdir / "results/cv").glob("*/fold*/model.keras"), *(workdir / "results/sweep").glob("*/*/model.keras")]
    return {p.parent.relative_to(workdir): (p.stat().st_mtime_ns, _digest(p)) for p in found}


def test_folds_models_and_sweep_killed_mid_training_and_resumed(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    inputs = write_tiny_inputs(workdir / "inputs")
    path = tiny_config(workdir, inputs)
    cfg = yaml.safe_load(path.read_text())
    cfg["train"] |= {"epochs": 2, "batch_size": 16}
    cfg["variants"]["background"] = 0
    cfg["encode"] = {"chunks": 1, "block_rows": 4096, "threads": 1}
    cfg["cv"] = {"folds": 3, "by": "region", "holdout": True, "ensemble": True}
    wider = TINY_MODEL | {"hyperparameters": TINY_MODEL["hyperparameters"] | {"dense_units": 16}}
    cfg["models"] |= {"tiny2": wider,
                      "sw": TINY_MODEL | {"sweep": {"parameters": {"learning_rate": [0.01, 1e38], "dense_units": [4, 8]}}}}  # fmt: skip
    path.write_text(yaml.safe_dump(cfg))
    args = [*TARGETS, "--configfile", str(path)]  # (--configfile takes every path after it)

    # the plan: 3 folds x 2 models (the swept model has no folds), 4 sweep points, and the
    # sweep's choice reads no test file
    planned = run_snakemake(workdir, "-n", *args).stdout
    assert planned.count("rule cv_train:") == 6 and planned.count("rule sweep_train:") == 4
    assert "rule train_model:" not in planned and "model=sw, fold=" not in planned
    select = planned[planned.index("rule sweep_select:") :].split("\n\n")[0]
    assert "valid.metrics.tsv" in select and "test." not in select

    # kill -9 (the whole process group) once a training job has finished and another is between
    # its two epochs (its resume state saved)
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=snakemake_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 900
    while proc.poll() is None and time.monotonic() < deadline and not (_finished(workdir) and _between_epochs(workdir)):
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = _between_epochs(workdir)
    assert interrupted
    assert not any((workdir / t).exists() for t in TARGETS)
    run_snakemake(workdir, "--unlock", *args)
    # the rerun plans the unfinished training jobs only: those recorded as finished are kept
    pending = run_snakemake(workdir, "-n", *args).stdout
    pending_models = set(re.findall(r"output: (results/(?:cv|sweep)/[^/]+/[^/]+)/model\.keras", pending))
    kept = {d: v for d, v in _models(workdir).items() if str(d) not in pending_models}
    assert kept and len(kept) + len(pending_models) == 10
    assert {str((d.parent / d.name.removesuffix(".resume")).relative_to(workdir)) for d in interrupted} <= pending_models
    run_snakemake(workdir, *args)
    assert {d: v for d, v in _models(workdir).items() if d in kept} == kept  # not retrained
    assert not _between_epochs(workdir)  # the resumed jobs finished and dropped their state

    # cross-validation: the assignment (chr3 held out as the outer test set), the tables
    folds = pd.read_csv(workdir / "results/cv/folds.tsv", sep="\t")
    assert set(folds["source"]) == {"train", "valid"} and "chr3" not in set(folds["chrom"])
    assert folds["fold"].value_counts().min() > len(folds) / 3 * 0.7
    summary = json.loads((workdir / "results/cv/folds.json").read_text())
    assert [f["parts"]["test"] for f in summary["folds"]] == folds["fold"].value_counts().sort_index().tolist()
    per_fold = pd.read_csv(workdir / "results/cv/per_fold.tsv", sep="\t")
    assert sorted(per_fold["fold"].unique()) == ["fold0", "fold1", "fold2"]
    assert set(per_fold["model"]) == {"tiny", "tiny2"} and set(per_fold["task"]) == {"T1", "T2", "overall"}
    spread = pd.read_csv(workdir / "results/cv/summary.tsv", sep="\t")
    overall = spread[spread["task"] == "overall"].set_index("model")
    assert (overall["folds"] == 3).all() and np.isfinite(overall["auroc_sd"]).all()
    paired = pd.read_csv(workdir / "results/cv/paired.tsv", sep="\t")
    assert len(paired) > 0 and set(paired["best"]) <= {"tiny", "tiny2"}
    # provenance: each fold model names its fold and the assignment it was trained under
    info = json.loads((workdir / "results/cv/tiny2/fold1/model.json").read_text())
    assert info["data"]["train"]["cv_fold"] == "fold1"
    assert info["data"]["valid"]["cv_assignment_sha256"] == summary["assignment_sha256"]
    html = (workdir / "results/report/cv.html").read_text()
    assert "fold2" in html and "tiny2" in html and summary["assignment_sha256"][:16] in html
    # the fold ensemble on the outer test split (chr3), against each fold and their mean, and on the VCF
    comparison = pd.read_csv(workdir / "results/cv/tiny/ensemble/comparison.tsv", sep="\t")
    assert set(comparison["member"]) == {"fold0", "fold1", "fold2", "mean_single", "ensemble", "gain"}
    with h5py.File(workdir / "results/cv/tiny/ensemble/outer_test.predictions.h5") as f:
        assert set(f["chrom"].asstr()[()]) == {"chr3"} and f["y_pred_sd"].shape == f["y_pred"].shape
    effects = pd.read_csv(workdir / "results/cv/tiny/ensemble/effects.tsv.gz", sep="\t")
    assert len(effects) > 0 and (effects["diff_sd"] >= 0).all() and (effects["diff_min"] <= effects["diff_max"]).all()

    # the sweep: every point in the table, the two at learning rate 1e38 recorded as diverged
    # (NaN loss after a step) and skipped, the winner chosen on validation and installed
    sweep = workdir / "results/sweep/sw"
    table = pd.read_csv(sweep / "sweep.tsv", sep="\t")
    assert len(table) == 4 and table["selected"].sum() == 1
    failed = table["learning_rate"] == 1e38
    assert (table.loc[failed, "status"] == "diverged").all() and table.loc[failed, "score"].isna().all()
    record = json.loads((sweep / table.loc[failed, "point"].iloc[0] / "model.json").read_text())
    assert record["status"] == "diverged" and "training loss became nan" in record["error"]
    table_trained = table[~failed]
    assert (table_trained["status"] == "trained").all() and table_trained["score"].notna().all()
    winner = table.loc[table["selected"], "point"].item()
    assert table.loc[table["selected"], "score"].item() == table["score"].max()
    assert table["test_auroc"].notna().sum() == 1 and np.isfinite(table.loc[table["selected"], "test_auroc"].item())
    assert (table_trained["parameters"] > 0).all() and (table_trained["train_seconds"] > 0).all()
    selection = json.loads((sweep / "selection.json").read_text())
    info = json.loads((workdir / "results/models/sw/model.json").read_text())
    assert selection["winner"] == winner == info["sweep"]["winner"]
    assert info["training"]["learning_rate"] == selection["values"]["learning_rate"]
    assert _digest(workdir / "results/models/sw/model.keras") == _digest(sweep / winner / "model.keras")

    # a job resumed from its resume state equals the same job run uninterrupted: retrain one
    # from scratch; the model and every table downstream of it come out identical
    again = interrupted[0].parent / interrupted[0].name.removesuffix(".resume")
    resumed = _digest(again / "model.keras")
    tables = {t: _digest(workdir / t) for t in TABLES}
    timing = ["train_seconds"]
    run_snakemake(workdir, *args, "--forcerun", str((again / "model.keras").relative_to(workdir)))
    assert _digest(again / "model.keras") == resumed
    assert {t: _digest(workdir / t) for t in TABLES} == tables
    assert pd.read_csv(sweep / "sweep.tsv", sep="\t").drop(columns=timing).equals(table.drop(columns=timing))

    # a config change reruns only what it touches: a third model's folds and a third learning
    # rate's two points train; the folds, the other models and the encoded data stay
    cfg["models"]["tiny3"] = TINY_MODEL
    cfg["models"]["sw"]["sweep"]["parameters"]["learning_rate"].append(0.003)
    path.write_text(yaml.safe_dump(cfg))
    planned = run_snakemake(workdir, "-n", *args).stdout
    assert planned.count("rule cv_train:") == 3 and "model=tiny3" in planned and "model=tiny," not in planned
    assert planned.count("rule sweep_train:") == 2 and "learning_rate~0.003" in planned
    assert not re.search(r"rule (cv_folds|cv_fold_data|encode_chunk):", planned)
    # three chromosome folds with chr3 held out leave two chromosomes: refused before any job
    cfg["cv"]["by"] = "chromosome"
    path.write_text(yaml.safe_dump(cfg))
    bad = run_snakemake(workdir, "-n", *args, check=False)
    assert bad.returncode != 0
    assert "cv.folds: 3 folds by chromosome, but only 2 chromosome(s) outside the held-out test split" in bad.stdout + bad.stderr

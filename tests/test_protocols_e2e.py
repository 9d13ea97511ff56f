"""Training protocols end to end (issue 20): 3 cross-validation folds x 2 models with fold
ensembles (outer test set, VCF, genome tracks), and a 4-point hyperparameter sweep (2 of whose
points diverge), in ONE tiny run (2 epochs) killed with SIGKILL while a training job is between
its epochs and another has finished, then rerun. The unit tests of each part are in
tests/test_cv.py and tests/test_sweep.py (ensemble tracks and ISM: tests/test_tracks.py,
tests/test_interpret.py)."""

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
import pytest
import yaml
from _utils import (
    SNAKEMAKE,
    SNAKEMAKE_TIMEOUT_S,
    TINY_MODEL,
    copy_workflow,
    run_snakemake,
    snakemake_env,
    tiny_config,
    write_tiny_inputs,
)

# what the test asks for: the folds' tables and report page, the paired comparison of the two
# models, one model's fold ensemble (outer test set, VCF, tracks), the sweep's table, plot and page
TARGETS = ["results/cv/summary.tsv", "results/cv/paired.tsv", "results/report/cv.html",
           "results/cv/tiny/ensemble/comparison.tsv", "results/cv/tiny/ensemble/effects.tsv.gz",
           "results/cv/tiny/ensemble/tracks/tracks.tsv",
           "results/sweep/sw/sweep.tsv", "results/sweep/sw/sweep.png", "results/report/sweep/sw.html"]  # fmt: skip
TRAINED = 10  # 3 folds x 2 models + 4 sweep points


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _logged_finished(workdir) -> set[str]:
    """Model folders (results/cv/<m>/<fold>, results/sweep/<m>/<point>) of the training jobs
    Snakemake's run logs record as finished (it logs that after writing the job's metadata)."""
    text = "".join(f.read_text() for f in (workdir / ".snakemake" / "log").glob("*.log"))
    started = dict(re.findall(r"rule (?:cv|sweep)_train:\n(?:    .*\n)*?    output: (\S+)/model\.keras,(?:.*\n)*?    jobid: (\d+)", text))
    started = {jobid: folder for folder, jobid in started.items()}
    return {started[j] for j in re.findall(r"Finished jobid: (\d+) \(Rule: (?:cv|sweep)_train\)", text) if j in started}


def _finished_outputs(workdir, rules: str) -> set[str]:
    """First outputs of the jobs of `rules` (a regex of rule names) that the run logs record as
    finished, log by log (job ids are per run)."""
    done = set()
    for log in (workdir / ".snakemake" / "log").glob("*.log"):
        text = log.read_text()
        outputs = {}
        for block in re.findall(rf"rule (?:{rules}):\n((?:    .*\n)+)", text):
            output, jobid = re.search(r"    output: ([^,\n]+)", block), re.search(r"    jobid: (\d+)", block)
            if output and jobid:
                outputs[jobid.group(1)] = output.group(1)
        done |= {outputs[j] for j in re.findall(rf"Finished jobid: (\d+) \(Rule: (?:{rules})\)", text) if j in outputs}
    return done


def _between_epochs(workdir) -> list:
    """Training folders whose job has saved its resume state (an epoch done, not the last)."""
    return sorted(p.parent for p in (workdir / "results").glob("*/*/*.resume/state.json"))


def _models(workdir) -> dict:
    """{model folder: (mtime, digest)} of every trained fold and sweep-point model."""
    found = [*(workdir / "results/cv").glob("*/fold*/model.keras"), *(workdir / "results/sweep").glob("*/*/model.keras")]
    return {str(p.parent.relative_to(workdir)): (p.stat().st_mtime_ns, _digest(p)) for p in found}


@pytest.mark.slow
def test_folds_models_and_sweep_killed_mid_training_and_resumed(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    inputs = write_tiny_inputs(workdir / "inputs")
    path = tiny_config(workdir, inputs)
    cfg = yaml.safe_load(path.read_text())
    cfg["train"] |= {"epochs": 2, "batch_size": 16}
    cfg["variants"]["background"] = 0
    cfg["encode"] = {"chunks": 1, "block_rows": 4096, "threads": 1}
    cfg["cv"] = {"folds": 3, "by": "region", "holdout": True, "ensemble": True}
    cfg["tracks"] = {"enabled": True, "models": ["tiny"], "chromosomes": ["chr3"], "stride": 200}
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

    # kill -9 (the whole process group) as soon as a training job has finished and another is
    # between its two epochs (its resume state saved): events of the run, not a clock (the time
    # limit only stops a hung run)
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=snakemake_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + SNAKEMAKE_TIMEOUT_S
    while proc.poll() is None and not (_between_epochs(workdir) and _logged_finished(workdir)):
        assert time.monotonic() < deadline, "the run hung"
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = [str(d.relative_to(workdir)).removesuffix(".resume") for d in _between_epochs(workdir)]
    finished = _logged_finished(workdir)
    assert interrupted and finished
    assert not any((workdir / t).exists() for t in TARGETS)
    run_snakemake(workdir, "--unlock", *args)
    # the rerun plans the unfinished training jobs only: every job logged as finished is kept
    pending = run_snakemake(workdir, "-n", *args).stdout
    pending_models = set(re.findall(r"output: (results/(?:cv|sweep)/[^/]+/[^/]+)/model\.keras", pending))
    assert not finished & pending_models, pending
    assert set(interrupted) <= pending_models
    kept = {d: v for d, v in _models(workdir).items() if d not in pending_models}
    assert finished <= set(kept) and len(kept) + len(pending_models) == TRAINED
    # no finished data stage or one-batch check is planned again (one still running at the kill may be)
    data_done = _finished_outputs(workdir, "cv_folds|cv_fold_data|encode_chunk|gather_split|overfit_one_batch")
    assert data_done and not [o for o in data_done if re.search(rf"output: {re.escape(o)}[,\n]", pending)], pending
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
    # the fold ensemble on the outer test split (chr3), against each fold and their mean, on the
    # VCF, and its tracks (mean and spread of the three fold models)
    comparison = pd.read_csv(workdir / "results/cv/tiny/ensemble/comparison.tsv", sep="\t")
    assert set(comparison["member"]) == {"fold0", "fold1", "fold2", "mean_single", "ensemble", "gain"}
    with h5py.File(workdir / "results/cv/tiny/ensemble/outer_test.predictions.h5") as f:
        assert set(f["chrom"].asstr()[()]) == {"chr3"} and f["y_pred_sd"].shape == f["y_pred"].shape
    effects = pd.read_csv(workdir / "results/cv/tiny/ensemble/effects.tsv.gz", sep="\t")
    assert len(effects) > 0 and (effects["diff_sd"] >= 0).all() and (effects["diff_min"] <= effects["diff_max"]).all()
    tracks = pd.read_csv(workdir / "results/cv/tiny/ensemble/tracks/tracks.tsv", sep="\t")
    assert list(tracks["file"]) == ["T1.bw", "T2.bw"] and (tracks["covered_bp"] > 0).all() and (tracks["mean_sd"] > 0).all()
    assert sorted(p.name for p in (workdir / "results/cv/tiny/ensemble/tracks/bigwig").glob("*.bw")) == [
        "T1.bw", "T1.sd.bw", "T2.bw", "T2.sd.bw"]  # fmt: skip

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

    # a config change reruns only what it touches: a third model's folds and a third learning
    # rate's two points train; the folds, the other models and the encoded data stay. With
    # interpretation on, the ensemble's ISM reads the windows the model's own ISM explains.
    changed = yaml.safe_load(yaml.safe_dump(cfg))
    changed["models"]["tiny3"] = TINY_MODEL
    changed["models"]["sw"]["sweep"]["parameters"]["learning_rate"].append(0.003)
    changed["interpret"] = {"enabled": True, "models": ["tiny"]}
    (workdir / "changed.yaml").write_text(yaml.safe_dump(changed))
    ism = "results/cv/tiny/ensemble/ism.h5"
    planned = run_snakemake(workdir, "-n", *TARGETS, ism, "--configfile", "changed.yaml").stdout
    assert planned.count("rule cv_train:") == 3 and "model=tiny3" in planned and "model=tiny, fold=" not in planned
    assert planned.count("rule sweep_train:") == 2 and "learning_rate~0.003" in planned
    assert not re.search(r"rule (cv_folds|cv_fold_data|encode_chunk|cv_ensemble_scores|cv_ensemble_tracks):", planned)
    ism_job = planned[planned.index("rule cv_ensemble_ism:") :].split("\n\n")[0]
    assert "results/interpret/tiny/windows.tsv" in ism_job and "results/cv/tiny/fold2/model.keras" in ism_job
    # three chromosome folds with chr3 held out leave two chromosomes: refused before any job
    changed["cv"]["by"] = "chromosome"
    (workdir / "changed.yaml").write_text(yaml.safe_dump(changed))
    bad = run_snakemake(workdir, "-n", *TARGETS, "--configfile", "changed.yaml", check=False)
    assert bad.returncode != 0
    assert "cv.folds: 3 folds by chromosome, but only 2 chromosome(s) outside the held-out test split" in bad.stdout + bad.stderr

    # the tables came out as an uninterrupted run makes them: a job resumed from its resume
    # state equals the same job trained from scratch (retrain one; every other job ran once)
    again = workdir / interrupted[0] / "model.keras"
    resumed = _digest(again)
    target = str(again.relative_to(workdir))
    run_snakemake(workdir, target, "--forcerun", target, "--configfile", str(path))
    assert _digest(again) == resumed

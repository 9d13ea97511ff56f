"""The bundled example on a real SLURM cluster (localhost: munge, MariaDB, slurmdbd, slurmctld,
slurmd from Debian's packages, started by scripts/slurm/start.sh) through profiles/slurm, against
a local run of the same config."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import REPO, copy_workflow

BIN = Path(sys.executable).parent
START = REPO / "scripts" / "slurm" / "start.sh"
STOP = REPO / "scripts" / "slurm" / "stop.sh"
MODEL = "deepsea_small"
TARGETS = [
    "results/prepare/stats.tsv",
    "results/encode/train.h5",
    "results/encode/valid.h5",
    "results/encode/test.h5",
    f"results/evaluate/{MODEL}/test.metrics.tsv",
    f"results/score/{MODEL}/effects.tsv.gz",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("apt-get"),
        reason="a localhost SLURM cluster needs root on Debian (packages, munge user, /etc/slurm)",
    ),
]


def _env(extra=None):
    env = os.environ.copy()
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "1"
    env.pop("SLURM_CONF", None)  # jobs and clients use /etc/slurm/slurm.conf, as on a real cluster
    env |= extra or {}
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(START), str(state)], capture_output=True, text=True, timeout=600)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield state
    finally:
        pids = [int(line.split()[1]) for line in (state / "pids").read_text().splitlines()] if (state / "pids").exists() else []
        stopped = subprocess.run(["bash", str(STOP), str(state)], capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        assert not alive, f"daemons still running after stop.sh: {alive}"
        etc = Path("/etc/slurm/slurm.conf")
        assert not (etc.exists() and str(state) in etc.read_text().splitlines()[0]), "stop.sh left /etc/slurm/slurm.conf"


def _copy_workflow(dst: Path) -> Path:
    copy_workflow(dst)
    # a small version of the bundled example: one small model, one epoch, few background variants
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["models"] = {MODEL: cfg["models"][MODEL]}
    cfg["train"] |= {"epochs": 1, "batch_size": 64}
    cfg["threads"] = {"train": 1, "predict": 1, "score": 1, "interpret": 1}
    cfg["baseline"] = {"enabled": False}
    cfg["evaluate"] = {"splits": ["test"]}
    cfg["encode"] |= {"chunks": 2}
    cfg["variants"] |= {"chunks": 2, "background": 100}
    for section in cfg.values():  # variants, interpret, ...: only the one model
        if isinstance(section, dict) and isinstance(section.get("models"), list):
            section["models"] = [MODEL]
    model_tasks = cfg["models"][MODEL]["tasks"]
    cfg["interpret"]["deeplift"]["tasks"] = [t for t in cfg["interpret"]["deeplift"]["tasks"] if t in model_tasks]
    cfg["design"] = {"enabled": False}  # designs with danq_small, which this config drops
    (dst / "small.yaml").write_text(yaml.safe_dump(cfg))
    return dst


def _snakemake(workdir, *args, timeout=900):
    result = subprocess.run(
        [str(BIN / "snakemake"), *args, "--configfile", "small.yaml"],
        cwd=workdir, env=_env(), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result


def _test_profile(workdir) -> Path:
    """profiles/slurm as shipped, plus what a 2-CPU test node and a fast test need."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"] |= {"slurm_account": "root"}  # the account slurmdbd knows
    for resources in profile["set-resources"].values():  # the genome-wide sizes exceed the test node
        resources["mem_mb"] = min(resources.get("mem_mb", 0), 4000)
    profile |= {
        "slurm-init-seconds-before-status-checks": 2,
        "latency-wait": 5,
        "max-status-checks-per-second": 4,
        "retries": 0,
        "set-threads": {"encode_chunk": 1},
    }
    folder = workdir / "profiles" / "slurm_test"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def _sacct(since: str) -> pd.DataFrame:
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", since, "-o", "JobID,JobName,Comment%200,State,AllocTRES%100"],
        env=_env(), capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    frame = pd.DataFrame(rows, columns=["id", "name", "comment", "state", "tres"])
    frame["rule"] = frame["comment"].str.extract(r"^rule_(.+?)(?:_wildcards_.*)?$")[0]
    return frame


def test_bundled_example_on_slurm_matches_local_run(cluster, tmp_path):
    local = _copy_workflow(tmp_path / "local")
    remote = _copy_workflow(tmp_path / "slurm")
    # the example's data are made once (deterministic, seeded) and shared by both runs
    _snakemake(local, "resources/example/summary.json", "--cores", "2")
    shutil.copytree(local / "resources" / "example", remote / "resources" / "example")
    profile = _test_profile(remote)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))
    t0 = time.time()
    # the SLURM run waits on sacct most of the time: the local run goes alongside
    on_slurm = subprocess.Popen(
        [str(BIN / "snakemake"), *TARGETS, "--profile", str(profile), "--configfile", "small.yaml"],
        cwd=remote, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _snakemake(local, *TARGETS[:-1], "--cores", "1")  # all but scoring, which is compared below
        local_s = time.time() - t0
        output, _ = on_slurm.communicate(timeout=900)
    finally:
        if on_slurm.poll() is None:
            on_slurm.kill()
    assert on_slurm.returncode == 0, f"snakemake --profile slurm failed:\n{output[-8000:]}"
    print(f"slurm run {time.time() - t0:.0f} s, local run alongside {local_s:.0f} s")

    jobs = _sacct(since)
    assert (jobs["state"] == "COMPLETED").all(), jobs[jobs["state"] != "COMPLETED"].to_string()
    per_rule = jobs["rule"].value_counts()
    # every stage ran as SLURM jobs; each scatter chunk as a job of its own
    for rule in ("prepare_chunk", "prepare_windows", "gather_split", "overfit_one_batch", "train_model",
                 "predict_split", "split_metrics", "gather_scores"):  # fmt: skip
        assert per_rule.get(rule, 0) >= 1, f"{rule} did not run on SLURM:\n{jobs.to_string()}"
    assert per_rule.get("encode_chunk", 0) == 6  # 3 splits x 2 chunks
    assert per_rule.get("score_chunk", 0) == 2
    chunk_jobs = jobs[jobs["rule"].isin(["encode_chunk", "score_chunk"])]
    assert chunk_jobs["id"].is_unique and chunk_jobs["comment"].is_unique
    # the profile's GPU request for training reached SLURM (placeholder GRES on the test node)
    train = jobs[jobs["rule"] == "train_model"]
    assert train["tres"].str.contains("gres/gpu=1").all(), train.to_string()
    assert not jobs[jobs["rule"] == "encode_chunk"]["tres"].str.contains("gres/gpu").any()

    # deterministic outputs equal the local run's
    for split in ("train", "valid", "test"):
        bed = f"results/prepare/windows/{split}.bed"
        assert (remote / bed).read_bytes() == (local / bed).read_bytes(), bed
        labels = f"results/prepare/windows/{split}.labels.h5"
        assert (remote / labels).read_bytes() == (local / labels).read_bytes(), labels
        with h5py.File(remote / f"results/encode/{split}.h5", "r") as a, h5py.File(local / f"results/encode/{split}.h5", "r") as b:
            assert a["x"].shape[0] > 0
            for name in ("x", "y", "start", "end"):
                np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=f"{split}.h5/{name}")
    history = [pd.read_csv(w / f"results/models/{MODEL}/history.tsv", sep="\t") for w in (remote, local)]
    np.testing.assert_allclose(history[0]["loss"], history[1]["loss"], rtol=1e-5)
    metrics = [pd.read_csv(w / f"results/evaluate/{MODEL}/test.metrics.tsv", sep="\t") for w in (remote, local)]
    pd.testing.assert_frame_equal(metrics[0], metrics[1], rtol=1e-4)
    # scoring ran on SLURM only (its chunks are checked above); its output is complete
    effects = pd.read_csv(remote / f"results/score/{MODEL}/effects.tsv.gz", sep="\t")
    assert len(effects) > 0 and effects["alt_prob"].between(0, 1).all()
    info = json.loads((remote / f"results/models/{MODEL}/model.json").read_text())
    assert info["epochs_run"] == 1

"""The bundled example on a real SLURM cluster (localhost: munge, MariaDB, slurmdbd, slurmctld,
slurmd from Debian's packages, started by scripts/slurm/start.sh) through profiles/slurm, against
the local run of the same config (the session's example run, tests/conftest.py)."""

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
from _utils import QUICK_EXAMPLE, REPO, copy_workflow

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


def _copy_workflow(dst: Path, example: Path, config: Path) -> Path:
    """A fresh copy of the workflow with the example run's data and config (small.yaml): the
    SLURM run makes a subset of its outputs (TARGETS: every stage of one small model), which
    must equal the local run's."""
    copy_workflow(dst)
    shutil.copytree(example / "resources" / "example", dst / "resources" / "example")  # made once, seeded
    shutil.copy(config, dst / "small.yaml")
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


def test_bundled_example_on_slurm_matches_local_run(cluster, tmp_path, example_run):
    local, quick = example_run
    remote = _copy_workflow(tmp_path / "slurm", local, quick)
    profile = _test_profile(remote)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))
    t0 = time.time()
    result = _snakemake(remote, *TARGETS, "--profile", str(profile))
    print(f"slurm run {time.time() - t0:.0f} s")
    assert "simulate_example" not in result.stdout + result.stderr  # the example's data came with the copy

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
    effects = [pd.read_csv(w / f"results/score/{MODEL}/effects.tsv.gz", sep="\t") for w in (remote, local)]
    assert len(effects[0]) > 0 and effects[0]["alt_prob"].between(0, 1).all()
    pd.testing.assert_frame_equal(effects[0], effects[1], rtol=1e-4)
    info = json.loads((remote / f"results/models/{MODEL}/model.json").read_text())
    assert info["epochs_run"] == QUICK_EXAMPLE["train"]["epochs"]

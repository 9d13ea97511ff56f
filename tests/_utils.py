"""Helpers shared by the tests: small inputs (FASTA, BED, HDF5 splits), and running the
workflow (a copy as a fresh clone has it, snakemake with the venv on PATH, the bundled example)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def write_fasta(path, records: dict[str, str], width: int = 60):
    with open(path, "w") as handle:
        for name, seq in records.items():
            handle.write(f">{name}\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")
    return path


def random_sequence(n: int, seed: int, alphabet="ACGT") -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(alphabet), size=n))


# motifs planted by make_split, by task name (any other task name is never planted)
SPLIT_MOTIFS = {"ap1": "TGACTCAGCA", "gata": "CAGATAAGGC", "ctcf": "CCGCGAGGGGGCGC"}


def make_split(path, n, length=100, seed=0, tasks=("ap1", "gata"), split="train"):
    """An HDF5 split of random DNA; a task is positive where its motif (SPLIT_MOTIFS) was planted."""
    from deepcis import dataset

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    y = (rng.random((n, len(tasks))) < 0.3).astype(np.uint8)
    for i, task in enumerate(tasks):
        if task not in SPLIT_MOTIFS:
            continue
        m = np.array(["ACGT".index(c) for c in SPLIT_MOTIFS[task]])
        for row in np.flatnonzero(y[:, i]):
            at = rng.integers(0, length - len(m))
            codes[row, at : at + len(m)] = m
    x = np.eye(4, dtype=np.uint8)[codes]
    attrs = {"genome": "synthetic", "genome_sha256": "0", "label_mode": "deepsea", "split": split, "config_sha256": "0"}
    with dataset.create_dataset(path, n, length, list(tasks), attrs) as f:
        dataset.write_rows(f, 0, x, y, ["chr1"] * n, np.arange(n) * length, np.arange(n) * length + length)
    return path


def randomise_batch_norm(model, seed=0, affine=False):
    """Random moving statistics (and with `affine`, scale and offset) for every batch norm layer,
    so inference-mode batch norm is not the identity in tests of random-weight models."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(size=c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=c).astype("float32"))
            if affine:
                layer.gamma.assign(rng.uniform(0.5, 2.0, size=c).astype("float32"))
                layer.beta.assign(rng.normal(size=c).astype("float32"))


def write_bed(path, rows):
    with open(path, "w") as handle:
        for row in rows:
            handle.write("\t".join(str(v) for v in row) + "\n")
    return path


def toy_inputs(tmp_path, n_chrom=3, size=60_000):
    """Genome with peaks on every chromosome, a blacklisted region and an N block."""
    records = {f"chr{i + 1}": random_sequence(size, 10 + i) for i in range(n_chrom)}
    records["chr1"] = records["chr1"][:30_000] + "N" * 3000 + records["chr1"][33_000:]
    genome = write_fasta(tmp_path / "toy.fa", records)
    rng = np.random.default_rng(5)
    tasks = {}
    for t in ("T1", "T2"):
        rows = []
        for chrom in records:
            for s in rng.choice(np.arange(1000, size - 2000, 700), 20, replace=False):
                rows.append((chrom, int(s), int(s) + int(rng.integers(150, 400))))
        tasks[t] = str(write_bed(tmp_path / f"{t}.bed", rows))
    blacklist = write_bed(tmp_path / "bl.bed", [("chr2", 10_000, 20_000)])
    return genome, tasks, blacklist


BIN = Path(sys.executable).parent
SNAKEMAKE = [str(BIN / "snakemake")]
COPIED = ["Snakefile", "rules", "config", "workflow_scripts", "resources/motifs", "report", "profiles", "envs"]


def snakemake_env():
    env = os.environ.copy()
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "1"
    return env


# A snakemake call's time limit, sized from CI's (the whole suite runs in one job of at most 90
# minutes on 2 cores, .ci/run; the example run takes ~9 min idle and several times that on a
# loaded machine): it stops a hung run before CI kills the job, never a slow but healthy one.
# DEEPCIS_TEST_TIMEOUT (seconds) overrides it.
CI_JOB_LIMIT_S = 90 * 60
SNAKEMAKE_TIMEOUT_S = int(os.environ.get("DEEPCIS_TEST_TIMEOUT", CI_JOB_LIMIT_S - 10 * 60))


def run_snakemake(workdir, *args, check=True, timeout=SNAKEMAKE_TIMEOUT_S):
    result = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=snakemake_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow in `dest`, as a fresh clone would have it."""
    for item in COPIED:
        src = REPO / item
        dst = dest / item
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    return dest


# two epochs: this checks the plumbing; the README's command runs the full example. The test split
# only: predicting and scoring the valid split is the same rules on another file (split wildcard,
# dry-run checked in tests/test_workflow.py), and saves a TensorFlow start per model and split.
QUICK_EXAMPLE = {"train": {"epochs": 2, "batch_size": 64}, "threads": {"train": 1, "predict": 1, "score": 1, "interpret": 1},
                 "evaluate": {"splits": ["test"]}}  # fmt: skip
# trained at the example's own settings: tests/test_ground_truth.py checks what it learned
FULLY_TRAINED = "danq_small"
# A GAN at a tiny size beside the example's models (not in config/config.yaml: the example's time
# budget): rules train_gan, sample_generative and evaluate_generative end to end on the example's
# encoded splits in a few seconds of CPU (tests/test_workflow.py checks their outputs).
# conditional, activity-guided by danq_small, its critic reading danq_small's first filters: the
# workflow path of every GAN option that needs more than the GAN's own files (training labels
# for sampling, the scorer for training)
TINY_GAN = {"architecture": "gan", "hyperparameters": {"length": 64, "latent_dim": 8, "filters": 8, "n_blocks": 2,
                                                       "critic_steps": 2, "condition": "labels", "guidance": 1.0,
                                                       "critic_max": True, "scorer_filters": True},
            "train": {"epochs": 1, "batch_size": 32, "fraction": 0.05},
            "generative": {"samples": 50, "motifs": "resources/motifs/planted_motifs.jaspar", "scorer": "danq_small"}}  # fmt: skip


class BundledExampleRun:
    """The bundled example in a fresh copy in `dest`, every model at QUICK_EXAMPLE settings (2
    epochs: plumbing) except FULLY_TRAINED, which keeps the example's own training settings, plus
    TINY_GAN as `gan_tiny`, run in the background (its own process group; output in
    `dest`/example_run.log, its exit status in `dest`/example_run.rc when it ends). One run per
    test session, shared by the session's processes (pytest-xdist workers): the first to claim
    `dest` starts it, every `result()` waits for the status file. `stop()` kills it if it is
    still going."""

    def __init__(self, dest: Path):
        self.workdir = dest
        self.config = dest / "bad.yaml"  # write_config's name
        self.log = dest / "example_run.log"
        self.status = dest / "example_run.rc"
        self.group = dest.parent / f"{dest.name}.pgid"

    def claim_and_start(self) -> bool:
        """Start the run unless another process of the session has: whether this one did."""
        try:
            os.close(os.open(self.workdir.parent / f"{self.workdir.name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        copy_workflow(self.workdir)
        example_train = yaml.safe_load((self.workdir / "config" / "config.yaml").read_text())["train"]
        write_config(self.workdir, QUICK_EXAMPLE)
        cfg = yaml.safe_load(self.config.read_text())
        cfg["models"][FULLY_TRAINED]["train"] = example_train
        cfg["models"]["gan_tiny"] = TINY_GAN
        self.config.write_text(yaml.safe_dump(cfg))
        # the shell writes the status when snakemake ends; a killed run leaves none
        script = f'rc=0; "$@" || rc=$?; echo $rc > {self.status.name}.tmp && mv {self.status.name}.tmp {self.status.name}'
        with open(self.log, "w") as log:
            proc = subprocess.Popen(
                ["sh", "-c", script, "sh", *SNAKEMAKE, "--cores", "2", "--configfile", str(self.config)], cwd=self.workdir,
                env=snakemake_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.group.write_text(str(proc.pid))
        return True

    def result(self, timeout=SNAKEMAKE_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not self.status.exists():
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the example run took over {timeout} s:\n{self._log_tail(4000)}")
            time.sleep(1)
        returncode = int(self.status.read_text())
        if returncode != 0:
            raise AssertionError(f"the example run failed ({returncode}):\n{self._log_tail(8000)}")
        return self.workdir, self.config

    def stop(self):
        """Kill the run (and its jobs) if it is still going: a session that ends early."""
        if self.group.exists() and not self.status.exists():
            try:
                os.killpg(int(self.group.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _log_tail(self, chars: int) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else "(no log: the run did not start)"


def write_config(workdir, patch: dict) -> Path:
    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    for key, value in patch.items():
        cfg[key] = value
    path = workdir / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


# A tiny but complete workflow: check, prepare, encode, train (with dropout: its random state
# must survive a resume), score and report tables in about a minute. The fault and bad-input
# tests (tests/test_reliability.py) start from it.
TINY_MODEL = {"architecture": "deepsea", "hyperparameters": {"conv_filters": [8, 8, 8], "kernel_size": 5, "pool_size": 2,
                                                             "dense_units": 8, "dropout": [0.2, 0.2, 0.5]}}  # fmt: skip


def write_tiny_inputs(folder: Path, size: int = 40_000) -> dict:
    """Genome (3 chromosomes), two peak files, a blacklist and a sorted VCF of SNVs whose REF
    matches the genome, in `folder`; returns their paths by role."""
    folder.mkdir(parents=True, exist_ok=True)
    records = {f"chr{i + 1}": random_sequence(size, 20 + i) for i in range(3)}
    genome = write_fasta(folder / "genome.fa", records)
    rng = np.random.default_rng(8)
    peaks = {}
    for task in ("T1", "T2"):
        rows = []
        for chrom in records:
            for start in sorted(rng.choice(np.arange(500, size - 1500, 400), 30, replace=False)):
                rows.append((chrom, int(start), int(start) + 300, f"{task}_{chrom}_{start}", 0, ".", 5.0, 3.0, 2.0, 150))
        peaks[task] = write_bed(folder / f"{task}.narrowPeak", rows)
    blacklist = write_bed(folder / "blacklist.bed", [("chr1", 20_000, 21_000)])
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={size}>" for c in records]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for chrom, seq in records.items():
        for pos in sorted(rng.choice(np.arange(1000, size - 1000), 12, replace=False)):
            ref = seq[pos - 1]
            lines.append(f"{chrom}\t{pos}\tv{chrom}_{pos}\t{ref}\t{'ACGT'[('ACGT'.index(ref) + 1) % 4]}\t.\t.\t.")
    vcf = folder / "variants.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return {"genome": genome, "peaks": peaks, "blacklist": blacklist, "vcf": vcf}


def tiny_config(workdir: Path, inputs: dict, **overrides) -> Path:
    """A config (and tasks sheet) for `write_tiny_inputs` files: tiny.yaml in `workdir`. Paths
    are relative to `workdir` when the inputs lie inside it, so two working directories with
    the same inputs make byte-identical outputs."""

    def rel(path):
        path = Path(path)
        return str(path.relative_to(workdir)) if path.is_relative_to(workdir) else str(path)

    sheet = workdir / "tiny_tasks.tsv"
    sheet.write_text("name\tpeaks\n" + "".join(f"{t}\t{rel(p)}\n" for t, p in inputs["peaks"].items()))
    cfg = {
        "genome": rel(inputs["genome"]), "tasks": rel(sheet), "blacklist": rel(inputs["blacklist"]), "seed": 5,
        "prepare": {"window_length": 200, "deepsea": {"bin_size": 100},
                    "negatives": {"strategy": "random", "ratio": 1.0}},
        "split": {"mode": "chromosomes", "valid": ["chr2"], "test": ["chr3"]},
        "encode": {"chunks": 2, "block_rows": 1, "threads": 1},  # block_rows 1: encode jobs last long enough to kill
        "threads": {"train": 1, "predict": 1, "score": 1, "interpret": 1},
        "train": {"epochs": 4, "batch_size": 2, "early_stopping_patience": 10, "reverse_complement": True},
        "models": {"tiny": TINY_MODEL},
        "evaluate": {"splits": []}, "baseline": {"enabled": False}, "interpret": {"enabled": False},
        "variants": {"vcf": rel(inputs["vcf"]), "chunks": 1, "background": 0, "batch_size": 16},
    }  # fmt: skip
    for key, value in overrides.items():
        cfg[key] = value
    path = workdir / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path

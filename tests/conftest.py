import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
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


def write_bed(path, rows):
    with open(path, "w") as handle:
        for row in rows:
            handle.write("\t".join(str(v) for v in row) + "\n")
    return path


@pytest.fixture
def small_genome(tmp_path):
    """chrA 10 kb, chrB 6 kb, chrC 8 kb: random ACGT with a soft-masked run and an N block."""
    a = random_sequence(10_000, 1)
    a = a[:4000] + a[4000:4300].lower() + a[4300:]
    b = random_sequence(6_000, 2)
    c = random_sequence(8_000, 3)
    c = c[:7000] + "N" * 500 + c[7500:]
    records = {"chrA": a, "chrB": b, "chrC": c}
    return write_fasta(tmp_path / "genome.fa", records), records


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """The bundled example run once per session in a fresh copy of the workflow (quick settings;
    (workdir, config path). Shared by the end-to-end checks and the report tests."""
    from test_workflow import run_bundled_example

    return run_bundled_example(tmp_path_factory.mktemp("example_run"))

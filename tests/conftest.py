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
    """The bundled example run once per session (2 epochs) in a fresh copy of the workflow:
    (workdir, config path). Shared by the end-to-end checks and the report tests."""
    from test_workflow import run_bundled_example

    return run_bundled_example(tmp_path_factory.mktemp("example_run"))

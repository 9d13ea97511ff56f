"""Fixtures shared by the tests; plain helpers live in tests/_utils.py."""

import os

import pytest
from _utils import random_sequence, write_fasta

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


@pytest.fixture
def small_genome(tmp_path):
    """ChrA 10 kb, chrB 6 kb, chrC 8 kb: random ACGT with a soft-masked run and an N block."""
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
    from _utils import run_bundled_example

    return run_bundled_example(tmp_path_factory.mktemp("example_run"))

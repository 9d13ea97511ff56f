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


def _uses_example_run(item) -> bool:
    return "example_run" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items):
    """Modules with a test on the session's example run go last (in their order): the run starts
    in the background when the session does, and the other tests use the second core meanwhile."""
    late = {getattr(item, "module", None) for item in items if _uses_example_run(item)}
    early = [item for item in items if getattr(item, "module", None) not in late]
    items[:] = early + [item for item in items if getattr(item, "module", None) in late]


@pytest.fixture(scope="session", autouse=True)
def _example_run_started(request, tmp_path_factory):
    """Starts the bundled example run at the session's start when a collected test needs it."""
    if not any(_uses_example_run(item) for item in request.session.items):
        yield None
        return
    from _utils import BundledExampleRun

    run = BundledExampleRun(tmp_path_factory.mktemp("example_run"))
    yield run
    run.stop()


@pytest.fixture(scope="session")
def example_run(_example_run_started):
    """The bundled example run once per session in a fresh copy of the workflow (quick settings;
    tests/_utils.py BundledExampleRun): (workdir, config path). Shared by the end-to-end checks
    and the report tests; it waits for the run started in the background."""
    return _example_run_started.result()

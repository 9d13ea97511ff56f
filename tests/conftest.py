"""Fixtures shared by the tests; plain helpers live in tests/_utils.py."""

import os
from pathlib import Path

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
    """Modules in the order that keeps both cores busy (with pytest-xdist, `-n 2 --dist loadfile`
    hands out whole modules in this order, pyproject.toml): first those with an end-to-end run
    (marked slow: minutes, much of it waiting on subprocesses, SLURM or the network), then the
    rest, and last those with a test on the session's example run, which starts in the
    background when the session does. Otherwise in their collected order."""
    modules = {}
    for item in items:
        modules.setdefault(getattr(item, "module", None), []).append(item)

    def rank(module_items):
        late = any(_uses_example_run(item) for item in module_items)
        slow = any(item.get_closest_marker("slow") for item in module_items)
        return (late, not slow)

    items[:] = [item for group in sorted(modules.values(), key=rank) for item in group]


def _example_run_folder(tmp_path_factory) -> Path:
    """One folder per session, the same in every pytest-xdist worker (their base temps are
    folders of the session's) and in the single process of a run without workers."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "example_run"


@pytest.fixture(scope="session", autouse=True)
def _example_run_started(request, tmp_path_factory):
    """Starts the bundled example run at the session's start when a collected test needs it (in
    the first worker to get there, with pytest-xdist)."""
    if not any(_uses_example_run(item) for item in request.session.items):
        yield None
        return
    from _utils import BundledExampleRun

    run = BundledExampleRun(_example_run_folder(tmp_path_factory))
    run.claim_and_start()
    yield run
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # with workers, the controller stops it (below)
        run.stop()


def pytest_sessionfinish(session, exitstatus):
    """With pytest-xdist, the controller outlives every worker: it kills a run left over when the
    session ends early (-x, Ctrl-C). A worker that finished its own tests must not: another one
    may still be waiting for the run."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    from _utils import BundledExampleRun

    BundledExampleRun(_example_run_folder(config._tmp_path_factory)).stop()


@pytest.fixture(scope="session")
def example_run(_example_run_started):
    """The bundled example run once per session in a fresh copy of the workflow (quick settings;
    tests/_utils.py BundledExampleRun): (workdir, config path). Shared by the end-to-end checks
    and the report tests; it waits for the run started in the background."""
    return _example_run_started.result()

"""Atomic outputs and provenance helpers shared by every stage."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp path beside `path`; rename it into place only if the block succeeds.

    A failure or a kill leaves no file at `path` (at worst a hidden `.tmp` beside it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def fsync_file(path):
    """Flush a closed file's data to disk (before the atomic rename makes it visible)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def canonical_json(obj) -> str:
    """JSON with sorted keys and no spaces: the same object always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_sha256(config: dict) -> str:
    """Hex SHA-256 of a config's canonical JSON (recorded next to results)."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def sha256_file(path, block_size: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, read `block_size` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block_size):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(obj, path):
    """Write `obj` as indented JSON to `path`, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def package_versions(names=("numpy", "pandas", "h5py", "pyfaidx", "pybedtools", "snakemake")) -> dict:
    """Installed versions of the named packages (None for a missing one)."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def log_to_file(path, level=logging.INFO):
    """Send this process's log records (and warnings) to `path`, for a rule's `log:` file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(path), level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.captureWarnings(True)
    return logging.getLogger("deepcis")

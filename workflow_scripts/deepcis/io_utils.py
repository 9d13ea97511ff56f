"""Atomic outputs and provenance helpers shared by every stage."""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import socket
from pathlib import Path

from .errors import DeepcisError, DiskFullError, OutputError

log = logging.getLogger("deepcis.io")

# Temp files of outputs: hidden, beside the target, named by the writing process and host so a
# later run can tell a killed job's leftover (dead pid on this host) from a live writer's file.
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)@(?P<host>[^@/]+)\.tmp(?P<suffix>\.[A-Za-z0-9]+)?$")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _host() -> str:
    return socket.gethostname().split(".")[0].replace("@", "_") or "localhost"


def temp_path(path, suffix: str = "") -> Path:
    """The hidden temp file of this process for `path`: `.<name>.<pid>@<host>.tmp<suffix>` (a
    writer that insists on a file extension, like Keras' `.keras`, gets it as `suffix`)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}@{_host()}.tmp{suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def stale_temp_files(folder, target: str | None = None, any_pid: bool = False) -> list[Path]:
    """Temp files in `folder` left by writers that are gone: their pid is dead on this host.
    With `target` only those of that output name; `any_pid` also takes live or other hosts'
    pids (for the job that owns `target`: Snakemake runs one job per output)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        match = _TEMP_NAME.match(entry.name)
        if not match or (target is not None and match["target"] != target):
            continue
        pid, here = int(match["pid"]), match["host"] == _host()
        if pid == os.getpid() and here:
            continue
        if any_pid or (here and not _pid_alive(pid)):
            found.append(Path(entry.path))
    return found


def sweep_stale_temp_files(root) -> list[Path]:
    """Remove the temp files under `root` whose writer died (pid gone, this host): what a
    killed job leaves (for example a full-size `results/encode/chunks/.test.1.h5.<pid>@<host>.tmp`)."""
    removed = []
    for folder, _, _ in os.walk(root):
        for path in stale_temp_files(folder):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def free_bytes(path) -> int | None:
    """Bytes free to this user on the file system of `path` (its nearest existing folder)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def ensure_free_space(path, needed: int, detail: str = "") -> None:
    """DiskFullError (path, bytes needed, bytes free) unless `needed` bytes fit beside `path`,
    and under this process's file size limit (`ulimit -f`): checked before a large output is
    written, so a full disk stops the job with the numbers rather than deep inside a writer
    (HDF5 reports write failures poorly, at worst by crashing)."""
    import resource

    free = free_bytes(Path(path).parent)
    if free is not None and needed > free:
        raise DiskFullError(path, needed, free, detail)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and needed > limit:
        raise DiskFullError(path, needed, limit, f"the file size limit (ulimit -f) allows {limit:,} bytes per file")


def disk_full_error(error: OSError, path) -> DiskFullError | None:
    """The DiskFullError for an OSError that means the disk (or quota, or a file size limit)
    is full while writing `path`; None for any other error."""
    if getattr(error, "errno", None) not in _DISK_FULL:
        return None
    reason = os.strerror(error.errno)
    return DiskFullError(path, None, free_bytes(Path(path).parent), f"{reason}")


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temp path beside `path`; rename it into place only if the block succeeds.

    A failure or a kill leaves no file at `path` (at worst a hidden `.tmp` beside it, removed
    by the next writer of `path` or by `sweep_stale_temp_files`). A full disk becomes a
    `DiskFullError` naming `path`; a folder that cannot be written an `OutputError`.
    """
    path = Path(path)
    tmp = temp_path(path, suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in stale_temp_files(path.parent, target=path.name, any_pid=True):
            log.info("removing %s, left by an earlier writer of %s that was killed", stale, path)
            stale.unlink(missing_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        translated = _output_error(error, path, tmp)
        if translated is error:
            raise
        raise translated from error
    finally:
        if tmp.exists():
            tmp.unlink()


def _output_error(error: OSError, path: Path, tmp: Path) -> OSError:
    """The error to raise for an OSError while writing `path`: a full disk or a folder that
    cannot be written, said with the path; any other error (reading an input, say) as it is."""
    if isinstance(error, DeepcisError):
        return error
    full = disk_full_error(error, path)
    if full is not None:
        return full
    mine = error.filename is None or Path(error.filename).parent in (path.parent, tmp.parent)
    if getattr(error, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM) and mine:
        return OutputError(path, f"cannot be written: {os.strerror(error.errno)} (in {path.parent}); make the folder "
                           "writable, then rerun (finished outputs are kept)")  # fmt: skip
    return error


def open_gzip_text(path, compresslevel: int = 6):
    """A gzip text writer whose header carries no file name and no time, so the same content
    gives the same bytes on every run."""
    raw = open(path, "wb")
    try:
        binary = gzip.GzipFile(filename="", mode="wb", compresslevel=compresslevel, fileobj=raw, mtime=0)
    except BaseException:
        raw.close()
        raise
    return _ClosingText(binary, raw)


class _ClosingText(contextlib.AbstractContextManager):
    """A text wrapper over a GzipFile that also closes the underlying file."""

    def __init__(self, binary, raw):
        import io

        self._raw = raw
        self._binary = binary
        self._text = io.TextIOWrapper(binary, encoding="utf-8", newline="")

    def write(self, text: str) -> int:
        return self._text.write(text)

    def close(self):
        try:
            self._text.close()
        finally:
            self._raw.close()

    def __exit__(self, *exc):
        self.close()


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


def stable(obj):
    """`obj` with every mapping's keys sorted (recursively): a rule parameter that Snakemake
    compares between runs must not change when only the config's key order does."""
    if isinstance(obj, dict):
        return {str(k): stable(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [stable(v) for v in obj]
    return obj


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
    """Send this process's output to a rule's `log:` file (see `deepcis.jobs.start_job`)."""
    from .jobs import job_log

    return job_log(path, level=level)

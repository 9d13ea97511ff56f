"""A rule job's log and its error report: the one helper every rule script starts with.

    log = start_job(snakemake)

From then on the job's stdout and stderr go, at the file-descriptor level, into the rule's
`log:` file: Python's logging and tracebacks, and what C/C++ libraries print (TensorFlow,
htslib, HDF5) land there, and a crash (segfault) leaves a Python stack there too
(faulthandler). An uncaught error is reported once:

- on the console (the stderr Snakemake gave the job; the per-job file on SLURM): one line
  naming the rule and the problem. For the project's own errors (`DeepcisError`: bad input,
  bad config, a full disk, a diverged training) that line names the file, the line and the
  problem; for anything else it says it is unexpected and where the traceback is;
- in the log: the same line, then the traceback for developers.

So `snakemake --show-failed-logs` shows the reason. Warnings of deepcis' own loggers are
also copied to the console, so a skipped file or an odd count is not only in a log.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import traceback
from pathlib import Path

from .errors import DeepcisError

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_state: dict = {}


def job_log(path, level=logging.INFO, rule: str | None = None) -> logging.Logger:
    """Redirect this process's stdout and stderr into `path` (truncated) and install the error
    report described in the module docstring; returns the "deepcis" logger."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if "console" not in _state:  # the job's original stderr, kept for the one-line report
        _state["console"] = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    _state.update(rule=rule, log_path=str(path))
    faulthandler.enable(file=sys.stderr, all_threads=True)
    logging.basicConfig(stream=sys.stderr, level=level, format=_FORMAT, force=True)
    logging.captureWarnings(True)
    console = logging.StreamHandler(_state["console"])
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter(f"[{rule or 'deepcis'}] %(levelname)s: %(message)s"))
    deepcis_log = logging.getLogger("deepcis")
    for handler in [h for h in deepcis_log.handlers if getattr(h, "_deepcis_console", False)]:
        deepcis_log.removeHandler(handler)
    console._deepcis_console = True
    deepcis_log.addHandler(console)
    sys.excepthook = _report_uncaught
    return deepcis_log


def start_job(smk) -> logging.Logger:
    """The start of every rule script: `job_log` on the rule's first log file."""
    return job_log(smk.log[0], rule=smk.rule)


def error_line(error: BaseException) -> str:
    """The one line that tells a user what went wrong (the project's errors say file, line,
    problem; a full disk says path and bytes; anything else says it is unexpected)."""
    from .io_utils import disk_full_error

    if isinstance(error, DeepcisError):
        return str(error)
    if isinstance(error, OSError):
        full = disk_full_error(error, error.filename or "(a file of this job)")
        if full is not None:
            return str(full)
        if error.filename:
            return f"{error.filename}: {error.strerror or error}"
    text = str(error)
    if any(mark in text for mark in ("errno = 28", "errno = 27", "No space left", "File too large")):  # HDF5's wording
        file = text.split("filename = '", 1)[1].split("'", 1)[0] if "filename = '" in text else "(a file of this job)"
        return f"{file}: not enough disk space (the disk or the file size limit filled while writing it: {text[:200]})"
    return f"unexpected {type(error).__name__}: {error} (a bug, or a case deepcis does not check yet)"


def _report_uncaught(kind, error, tb):
    line = error_line(error)
    rule = _state.get("rule")
    where = f"error in rule {rule}" if rule else "error"
    console = _state.get("console")
    log_path = _state.get("log_path")
    print(f"{where}: {line}", file=sys.stderr)
    traceback.print_exception(kind, error, tb, file=sys.stderr)
    sys.stderr.flush()
    if console is not None:
        suffix = f" (traceback: {log_path})" if log_path else ""
        console.write(f"[{rule or 'deepcis'}] {where}: {line}{suffix}\n")
        console.flush()

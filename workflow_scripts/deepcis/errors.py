"""User-facing errors: one clear message naming the file, line and problem."""

from __future__ import annotations


class DeepcisError(Exception):
    """Base class for problems the user can fix (bad input, bad config)."""


class InputError(DeepcisError, ValueError):
    """A problem in an input file; the message names the file and, where known, the line."""

    def __init__(self, path, problem: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # survives pickling (errors raised in worker processes)
        return (self.__class__, (self.path, self.problem, self.line))


class ConfigError(DeepcisError, ValueError):
    """A problem in the workflow configuration or the tasks sheet."""


class ModelConfigError(ConfigError):
    """A model name, head or hyperparameter that cannot be built (a ValueError)."""


class DiskFullError(DeepcisError, OSError):
    """Not enough disk space for an output: names the path, the bytes needed and the bytes free."""

    def __init__(self, path, needed: int | None, free: int | None, detail: str = ""):
        self.path = str(path)
        self.needed = needed
        self.free = free
        need = f"needs {_size(needed)}" if needed is not None else "the disk filled while writing it"
        have = f", {_size(free)} free there" if free is not None else ""
        message = f"{self.path}: not enough disk space: {need}{have}"
        super().__init__(message + (f" ({detail})" if detail else "") + "; free some space or move the working "
                         "directory, then rerun (finished outputs are kept)")  # fmt: skip

    def __reduce__(self):
        return (self.__class__, (self.path, self.needed, self.free))


class OutputError(DeepcisError, OSError):
    """An output that cannot be written (a read-only or foreign folder): names the path."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        return (self.__class__, (self.path, self.problem))


class TrainingDivergedError(DeepcisError, RuntimeError):
    """Training stopped because the loss became NaN/infinite or grew far above its start."""


class ModelFileError(InputError):
    """A model file that cannot be used: corrupt, not a deepcis model, or made for other tasks."""


def _size(n: int | None) -> str:
    """Bytes, with a human unit beside them: '2,147,483,648 bytes (2.0 GiB)'."""
    if n is None:
        return "an unknown number of bytes"
    value, unit = float(n), "bytes"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f"{n:,} bytes" + ("" if unit == "bytes" else f" ({value:.1f} {unit})")

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

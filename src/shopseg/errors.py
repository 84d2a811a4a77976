"""User-facing errors.

A :class:`ShopsegError` means the *user* can fix something (a file, a column, a flag).
The CLI prints its message and exits with code 2, without a traceback. Anything else
that escapes is a bug in shopseg and keeps its traceback.
"""

from __future__ import annotations


class ShopsegError(Exception):
    """A problem the user can act on. The message says what, where and how to fix it."""

    exit_code = 2


class InputError(ShopsegError):
    """A user file cannot be used as given.

    ``path`` names the file, ``column`` and ``line`` point into it when known, and
    ``hint`` says what to do about it. ``str(error)`` is the full sentence.
    """

    def __init__(
        self,
        path: object,
        problem: str,
        *,
        column: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.column = column
        self.line = line
        self.hint = hint
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        message = f"{where}: {problem}"
        if hint:
            message += f" {hint}"
        super().__init__(message)


class OutputError(ShopsegError):
    """The output folder cannot be created or written."""


class ConfigError(ShopsegError):
    """A flag, mapping or configuration file is invalid."""

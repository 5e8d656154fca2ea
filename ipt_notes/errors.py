"""The one error root of ipt-notes and the exit statuses it maps to.

Only the command-line entry point turns these into an exit status. Every message names a place
and a rule, never the content of a note: no field value or YAML source text goes into one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = [
    "ExitCode",
    "IptNotesError",
    "LoadError",
    "MissingLibyaml",
    "NotesRepositoryNotFound",
    "RefusedInput",
    "UnknownSchema",
]


class ExitCode(IntEnum):
    """The documented exit statuses (see the README)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    ENVIRONMENT = 3


class IptNotesError(Exception):
    """The root of every error ipt-notes raises on purpose."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling cannot replay; an
        # error raised in a worker process must reach the parent intact.
        return (_restore, (type(self), str(self), self.__dict__))


def _restore(cls: type[IptNotesError], message: str, state: dict[str, Any]) -> IptNotesError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class RefusedInput(IptNotesError):
    """An argument was refused: a bad value or an unsafe name."""

    exit_code = ExitCode.USAGE


class UnknownSchema(RefusedInput):
    """`ipt-notes schema NAME` named a schema that is not packaged."""

    def __init__(self, *, name: str, known: list[str]) -> None:
        super().__init__(f"no schema is named {name!r}; the schemas are: {', '.join(known)}")


class NotesRepositoryNotFound(IptNotesError):
    """No `ipt-notes.yaml` was found from the current folder upwards, and no --root was given."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, start: str) -> None:
        super().__init__(
            f"not a notes repository: no ipt-notes.yaml in {start} or any folder above it "
            "(run 'ipt-notes init', pass --root, or name the files to check)"
        )


class MissingLibyaml(IptNotesError):
    """PyYAML was built without libyaml, whose parser the strict loader is made on."""

    def __init__(self) -> None:
        super().__init__(
            "PyYAML is installed without libyaml; reinstall it from a wheel: pip install --force-reinstall pyyaml"
        )


class LoadError(IptNotesError):
    """A file could not be read as a note: bad encoding, bad YAML, or YAML that ipt-notes refuses.

    It carries the 1-based line and column in the file and a stable rule id. Its message never
    quotes the file.
    """

    exit_code = ExitCode.FINDINGS

    def __init__(self, *, rule: str, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
        self.col = col

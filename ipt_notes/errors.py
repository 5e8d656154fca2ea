"""The one error root of ipt-notes and the exit statuses it maps to.

Only the command-line entry point turns these into an exit status. Every message names a place
and a rule, never the content of a note: no field value or YAML source text goes into one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from ipt_notes.problems import has_internal_error

__all__ = [
    "Busy",
    "ExitCode",
    "FileExists",
    "GitProblem",
    "IptNotesError",
    "LoadError",
    "MissingLibyaml",
    "NotCommitted",
    "NotesInvalid",
    "PracticeNotFound",
    "RefusedInput",
    "UnknownSchema",
    "UnsafeClientId",
    "UnsafeGitConfig",
    "WriteFailed",
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
    details: list[str] = []  # noqa: RUF012 - read-only default; lines to show before the message

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


class UnsafeClientId(RefusedInput):
    """A client ID that is not a safe pseudonymous code, or that collides with another by case."""

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"refused client ID: {reason}")


class FileExists(IptNotesError):
    """A new note would overwrite a file that is already there; the file is left as it is."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, path: object) -> None:
        super().__init__(f"{path} already exists; it was left as it is and nothing was written")


class WriteFailed(IptNotesError):
    """A file could not be written; nothing was put in its place."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, path: object, reason: str) -> None:
        super().__init__(f"could not write {path}: {reason}; nothing was written")


class GitProblem(IptNotesError):
    """The repository's state stops the operation (git missing, no identity, a merge, a lock...)."""

    exit_code = ExitCode.ENVIRONMENT


class UnsafeGitConfig(GitProblem):
    """A repository's own git config names a program that ipt-notes neither runs nor overrides:
    a hooks folder, a signing program, or an include (which could bring in any setting).

    A copied repository is untrusted input, so every git call in it is refused. The message names
    each setting and the file it is in, never its value, and says how to remove it.
    """

    def __init__(self, *, work_tree: object, settings: list[tuple[str, str, str]]) -> None:
        """`settings`: each setting's key, the file it is in, and how to remove it."""
        named = ", ".join(f"{key} (in {origin})" for key, origin, _ in settings)
        removals = "; ".join(dict.fromkeys(removal for _, _, removal in settings))
        super().__init__(
            f"{work_tree}: refused: its own git config sets {named}, which git would follow to run a program "
            "(a hook, a signing program, or any setting an included file holds); ipt-notes runs nothing a "
            "repository's own config names, since a copied repository is untrusted. If the setting is yours, "
            f"set it in your global git config instead (git config --global), where it is trusted; otherwise "
            f"remove it: {removals}"
        )


class Busy(IptNotesError):
    """Another ipt-notes command holds the repository lock for longer than we wait."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, seconds: float, what: str = "this repository") -> None:
        super().__init__(f"busy: another ipt-notes command is writing to {what} (waited {seconds:g} s); try again")


class NotCommitted(IptNotesError):
    """A file was written but the commit failed: the file stays, and the message says how to finish."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, paths: list[str], reason: str, finish: str, details: list[str] | None = None) -> None:
        saved = " ".join(paths)
        super().__init__(f"saved, not committed: {saved} ({reason}). To finish: {finish}")
        self.paths = paths
        self.details = details or []
        """Problems the pre-commit hook reported, as it printed them."""


class NotesInvalid(IptNotesError):
    """Files a command needs have problems; the problems travel with the error to be reported."""

    exit_code = ExitCode.FINDINGS

    def __init__(self, *, what: str, problems: list[Any], advice: str = "") -> None:
        super().__init__(f"{what} has problems; {advice or 'fix them first (ipt-notes validate lists them)'}")
        self.problems = problems
        if has_internal_error(problems):
            self.exit_code = ExitCode.ENVIRONMENT


class UnknownSchema(RefusedInput):
    """`ipt-notes schema NAME` named a schema that is not packaged."""

    def __init__(self, *, name: str, known: list[str]) -> None:
        super().__init__(f"no schema is named {name!r}; the schemas are: {', '.join(known)}")


class PracticeNotFound(IptNotesError):
    """No `ipt-notes.yaml` was found from the current folder upwards, and no --root was given."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, *, start: str) -> None:
        super().__init__(
            f"not in a practice: no ipt-notes.yaml in {start} or any folder above it "
            "(run 'ipt-notes init', pass --root, work inside a client folder, or name the files to check)"
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

"""The check of one file: read strictly, then checked against the schema of its kind.

Each file is checked by the compiled validator of its kind first (fast, stops at the first
problem). Only a file that fails is checked again by jsonschema, the reference, which lists every
problem, and only then is the file's YAML walked again for the line and column of each one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from ipt_notes.errors import LoadError
from ipt_notes.layout import SIGNED_KINDS, FileKind
from ipt_notes.loader import Document, parse_document, read_bytes, yaml_positions
from ipt_notes.problems import Problem, Severity

__all__ = ["FileCheck", "check_bytes", "check_file", "inspect_bytes", "load_problem", "read_checked"]


@cache
def _fast_validator(kind: FileKind) -> Callable[[object], object]:
    from ipt_notes.compiled_validators import VALIDATORS

    validate: Callable[[object], object] = VALIDATORS[kind.value]
    return validate


def _passes_fast(kind: FileKind, data: object) -> bool:
    try:
        _fast_validator(kind)(data)
    except Exception:  # noqa: BLE001 - any failure defers to the reference validator
        return False
    return True


def _schema_problems(document: Document, kind: FileKind, shown: str) -> list[Problem]:
    from ipt_notes.schema_errors import describe
    from ipt_notes.schemas import reference_validator

    errors = list(reference_validator(kind.value).iter_errors(cast(Any, document.data)))
    if not errors:
        return []
    positions = yaml_positions(document.yaml_text, document.line_offset)
    problems: dict[Problem, None] = {}  # jsonschema reports some problems once per keyword that finds them
    for error in errors:
        for finding in describe(error, document.data):
            line, col = positions.of_key(finding.path) if finding.at_key else positions.of_value(finding.path)
            problems[Problem(shown, line, col, Severity.ERROR, finding.rule, finding.message)] = None
    return list(problems)


@dataclass
class FileCheck:
    """One file read and checked: its problems, and its document when it could be read."""

    path: Path
    kind: FileKind
    shown: str
    problems: list[Problem]
    document: Document | None

    @property
    def valid(self) -> bool:
        return self.document is not None and not any(p.severity is Severity.ERROR for p in self.problems)


def load_problem(error: LoadError, shown: str) -> Problem:
    return Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)


def read_checked(path: Path, kind: FileKind, shown: str) -> FileCheck:
    """A file a command needs, read and checked; any problem refuses it, with the file named."""
    from ipt_notes.errors import NotesInvalid

    check = read_and_inspect(path, kind, shown)
    if not check.valid:
        raise NotesInvalid(what=shown, problems=check.problems)
    return check


def inspect_bytes(path: Path, raw: bytes, kind: FileKind, shown: str) -> FileCheck:
    """Parse a file's bytes and check them against the schema of their kind."""
    try:
        document = parse_document(raw, front_matter=kind.has_front_matter)
    except LoadError as error:
        return FileCheck(path, kind, shown, [load_problem(error, shown)], None)
    if _passes_fast(kind, document.data):
        return FileCheck(path, kind, shown, _signature_problems(raw, document, kind, shown), document)
    return FileCheck(path, kind, shown, _schema_problems(document, kind, shown), document)


def _signature_problems(raw: bytes, document: Document, kind: FileKind, shown: str) -> list[Problem]:
    """A signed note whose content no longer matches the hash it was signed with."""
    data = document.data
    if kind not in SIGNED_KINDS or not isinstance(data, dict) or "content_hash" not in data:
        return []
    from ipt_notes.signing import content_hash
    from ipt_notes.vocabulary import statuses

    if data.get("status") != statuses().signed or content_hash(raw) == data["content_hash"]:
        return []
    line, col = yaml_positions(document.yaml_text, document.line_offset).of_value(("content_hash",))
    message = "this signed note was changed after signing (its content hash no longer matches): add an addendum"
    return [Problem(shown, line, col, Severity.ERROR, "signed-note-changed", message)]


def read_and_inspect(path: Path, kind: FileKind, shown: str) -> FileCheck:
    try:
        raw = read_bytes(path)
    except LoadError as error:
        return FileCheck(path, kind, shown, [load_problem(error, shown)], None)
    return inspect_bytes(path, raw, kind, shown)


def check_bytes(raw: bytes, kind: FileKind, shown: str) -> list[Problem]:
    """Every schema problem of one notes file's content; `shown` is how its path appears."""
    return inspect_bytes(Path(shown), raw, kind, shown).problems


def check_file(path: Path, kind: FileKind, shown: str | None = None) -> list[Problem]:
    """Every schema problem of one notes file on disk."""
    return read_and_inspect(path, kind, str(path) if shown is None else shown).problems

"""`ipt-notes validate`: every file read strictly and checked against its schema.

Each file is checked by the compiled validator of its kind first (fast, stops at the first
problem). Only a file that fails is checked again by jsonschema, the reference, which lists every
problem, and only then is the file's YAML walked again for the line and column of each one.
Large runs are spread over the machine's cores.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from ipt_notes.errors import LoadError
from ipt_notes.layout import FileKind, notes_files
from ipt_notes.loader import Document, parse_document, read_bytes, yaml_positions
from ipt_notes.problems import Problem, Severity

__all__ = ["ValidationReport", "check_bytes", "check_file", "validate_paths", "validate_staged"]

# Below this many files a second process costs more than it saves.
_PARALLEL_THRESHOLD = 64


@dataclass
class ValidationReport:
    """The problems found across every file checked, in path and line order."""

    problems: list[Problem]
    files_checked: int

    def count(self, severity: Severity) -> int:
        return sum(1 for p in self.problems if p.severity is severity)

    def failed(self, *, strict: bool = False) -> bool:
        """Errors fail a run; warnings fail it only when strict."""
        return any(p.severity is Severity.ERROR or strict for p in self.problems)


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


def check_bytes(raw: bytes, kind: FileKind, shown: str) -> list[Problem]:
    """Every problem of one notes file's content; `shown` is how its path appears in problems."""
    try:
        document = parse_document(raw, front_matter=kind.has_front_matter)
    except LoadError as error:
        return [Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)]
    if _passes_fast(kind, document.data):
        return []
    return _schema_problems(document, kind, shown)


def check_file(path: Path, kind: FileKind, shown: str | None = None) -> list[Problem]:
    """Every problem of one notes file on disk."""
    shown = str(path) if shown is None else shown
    try:
        raw = read_bytes(path)
    except LoadError as error:
        return [Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)]
    return check_bytes(raw, kind, shown)


def _check_batch(batch: Sequence[tuple[Path, FileKind, str]]) -> list[Problem]:
    problems: list[Problem] = []
    for path, kind, shown in batch:
        problems.extend(check_file(path, kind, shown))
    return problems


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run(work: list[tuple[Path, FileKind, str]], jobs: int) -> list[Problem]:
    if jobs <= 1 or len(work) < _PARALLEL_THRESHOLD:
        return _check_batch(work)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork lets the workers inherit the loaded validators instead of importing them again.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    size = max(1, len(work) // (jobs * 4))
    batches = [work[i : i + size] for i in range(0, len(work), size)]
    # Unlike multiprocessing.Pool, the executor reports a worker that dies instead of waiting forever.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        results = list(pool.map(_check_batch, batches))
    return [problem for batch in results for problem in batch]


def _shown(path: Path, cwd: Path) -> str:
    if not path.is_absolute():
        return os.path.normpath(path)
    return os.path.relpath(path, cwd)


def validate_paths(paths: Sequence[Path], *, cwd: Path | None = None, jobs: int | None = None) -> ValidationReport:
    """Check every notes file named, and every notes file under every folder named.

    A file named explicitly whose place in the layout gives no kind is reported as a warning and
    not checked.
    """
    cwd = Path.cwd() if cwd is None else cwd
    work: list[tuple[Path, FileKind, str]] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for path, kind in notes_files(list(paths)):
        key = path.resolve() if not path.is_absolute() else path
        if key in seen:
            continue
        seen.add(key)
        shown = _shown(path, cwd)
        if kind is None:
            problems.append(
                Problem(
                    shown,
                    1,
                    1,
                    Severity.WARNING,
                    "unknown-file",
                    "not a notes file by its place in the layout (clients/<ID>/...); not checked",
                )
            )
            continue
        work.append((path, kind, shown))
    problems.extend(_run(work, _cores() if jobs is None else jobs))
    problems.sort()
    return ValidationReport(problems=problems, files_checked=len(work))


def validate_staged(root: Path, paths: Sequence[Path] = (), *, cwd: Path | None = None) -> ValidationReport:
    """Check the staged version of every notes file in the index (what a commit would record).

    With `paths`, only staged files under them are checked. This is what the pre-commit hook runs;
    inside `git commit`, git points GIT_INDEX_FILE at the index being committed.
    """
    from ipt_notes.git import open_repository
    from ipt_notes.layout import kind_of

    cwd = Path.cwd() if cwd is None else cwd
    repository = open_repository(root)
    limits = [p.resolve() for p in paths]
    selected: list[tuple[str, Path, FileKind]] = []
    for relative in repository.staged_paths():
        absolute = repository.work_tree / relative
        kind = kind_of(absolute)
        if kind is None or "private" in Path(relative).parts:
            continue
        if limits and not any(absolute == limit or limit in absolute.parents for limit in limits):
            continue
        selected.append((relative, absolute, kind))
    blobs = repository.staged_blobs([relative for relative, _, _ in selected])
    problems: list[Problem] = []
    for relative, absolute, kind in selected:
        if relative in blobs:
            problems.extend(check_bytes(blobs[relative], kind, _shown(absolute, cwd)))
    problems.sort()
    return ValidationReport(problems=problems, files_checked=len(selected))

"""`ipt-notes validate`: every file read strictly and checked against its schema, and every
client's course checked against the course rules.

Each file is checked by the compiled validator of its kind first (fast, stops at the first
problem). Only a file that fails is checked again by jsonschema, the reference, which lists every
problem, and only then is the file's YAML walked again for the line and column of each one.

The work is cut into units: one per client folder (its files, read once, then its course rules)
and one per loose file (the practice settings). Large runs are spread over the machine's cores.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, cast

from ipt_notes.errors import LoadError, NotesInvalid
from ipt_notes.layout import CONFIG_NAME, FileKind, kind_of, notes_files
from ipt_notes.loader import Document, Positions, parse_document, read_bytes, yaml_positions
from ipt_notes.problems import Problem, Severity
from ipt_notes.settings import DEFAULTS, Settings

__all__ = [
    "FileCheck",
    "Unit",
    "ValidationReport",
    "check_bytes",
    "check_file",
    "check_unit",
    "client_unit",
    "settings_for",
    "shown_path",
    "validate_paths",
    "validate_staged",
]

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


def inspect_bytes(path: Path, raw: bytes, kind: FileKind, shown: str) -> FileCheck:
    try:
        document = parse_document(raw, front_matter=kind.has_front_matter)
    except LoadError as error:
        problem = Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)
        return FileCheck(path, kind, shown, [problem], None)
    if _passes_fast(kind, document.data):
        return FileCheck(path, kind, shown, _signature_problems(raw, document, kind, shown), document)
    return FileCheck(path, kind, shown, _schema_problems(document, kind, shown), document)


_SIGNED_KINDS = frozenset({FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW})


def _signature_problems(raw: bytes, document: Document, kind: FileKind, shown: str) -> list[Problem]:
    """A signed note whose content no longer matches the hash it was signed with."""
    data = document.data
    if kind not in _SIGNED_KINDS or not isinstance(data, dict) or "content_hash" not in data:
        return []
    from ipt_notes.signing import content_hash
    from ipt_notes.vocabulary import statuses

    if data.get("status") != statuses().signed or content_hash(raw) == data["content_hash"]:
        return []
    line, col = yaml_positions(document.yaml_text, document.line_offset).of_value(("content_hash",))
    message = "this signed note was changed after signing (its content hash no longer matches): add an addendum"
    return [Problem(shown, line, col, Severity.ERROR, "signed-note-changed", message)]


def _inspect_file(path: Path, kind: FileKind, shown: str) -> FileCheck:
    try:
        raw = read_bytes(path)
    except LoadError as error:
        problem = Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)
        return FileCheck(path, kind, shown, [problem], None)
    return inspect_bytes(path, raw, kind, shown)


def check_bytes(raw: bytes, kind: FileKind, shown: str) -> list[Problem]:
    """Every schema problem of one notes file's content; `shown` is how its path appears."""
    return inspect_bytes(Path(shown), raw, kind, shown).problems


def check_file(path: Path, kind: FileKind, shown: str | None = None) -> list[Problem]:
    """Every schema problem of one notes file on disk."""
    return _inspect_file(path, kind, str(path) if shown is None else shown).problems


class Unit(NamedTuple):
    """One piece of work: a client folder's files and course, or one loose file.

    `report` holds the files whose problems are reported; the other files are read only for the
    course rules. `contents` gives files' bytes when they come from git's index, not the disk.
    `settings` is None when the course rules are not run.
    """

    files: tuple[tuple[Path, FileKind, str], ...]
    report: frozenset[Path]
    folder: Path | None = None
    settings: Settings | None = None
    contents: dict[Path, bytes] | None = None
    baseline: Baseline | None = None


class Baseline(NamedTuple):
    """The blob of each note at HEAD, to compare signed notes with the versions committed."""

    work_tree: Path
    blobs: dict[Path, str]
    object_format: str


def _blob_id(raw: bytes, object_format: str) -> str:
    # git's object id of a blob: the hash of "blob <size>\0" and the bytes.
    digest = hashlib.sha256 if object_format == "sha256" else hashlib.sha1
    return digest(b"blob %d\0" % len(raw) + raw).hexdigest()


def _against_head(baseline: Baseline, check: FileCheck, raw: bytes) -> list[Problem]:
    """A signed note that differs from its signed version at HEAD, even with a hash made to match."""
    from ipt_notes.git import run_git
    from ipt_notes.signing import is_signed, without_cosignature

    head = baseline.blobs.get(check.path)
    if (
        head is None
        or check.kind not in _SIGNED_KINDS
        or not is_signed(raw)
        or _blob_id(raw, baseline.object_format) == head
    ):
        return []
    committed = run_git(["cat-file", "blob", head], cwd=baseline.work_tree).stdout
    if not is_signed(committed) or without_cosignature(committed) == without_cosignature(raw):
        return []
    assert check.document is not None
    positions = yaml_positions(check.document.yaml_text, check.document.line_offset)
    line, col = positions.of_value(("content_hash",))
    message = "this signed note differs from the version committed at HEAD: add an addendum instead"
    return [Problem(check.shown, line, col, Severity.ERROR, "signed-note-changed", message)]


def _rule_problems(unit: Unit, checks: dict[Path, FileCheck], cwd_shown: dict[Path, str]) -> list[Problem]:
    from ipt_notes.course import build_course
    from ipt_notes.rules import run_rules

    assert unit.folder is not None and unit.settings is not None
    fields = {
        path: (cast(dict[str, Any], check.document.data) if check.valid and check.document is not None else None)
        for path, check in checks.items()
    }
    course = build_course(unit.folder, fields)
    everything = unit.report >= set(checks)
    positions: dict[Path, Positions] = {}
    problems = []
    for rule, severity, finding in run_rules(course, unit.settings):
        if finding.path not in unit.report and not (everything and finding.path not in checks):
            continue
        line, col = 1, 1
        check = checks.get(finding.path)
        if finding.at and check is not None and check.document is not None:
            if finding.path not in positions:
                document = check.document
                positions[finding.path] = yaml_positions(document.yaml_text, document.line_offset)
            found = positions[finding.path]
            line, col = found.of_key(finding.at) if finding.key else found.of_value(finding.at)
        shown = cwd_shown.get(finding.path) or (check.shown if check else str(finding.path))
        problems.append(Problem(shown, line, col, severity, rule.id, finding.message))
    return problems


def check_unit(unit: Unit) -> list[Problem]:
    """The problems of one unit: its reported files' schema problems, then its course rules."""
    checks: dict[Path, FileCheck] = {}
    for path, kind, shown in unit.files:
        try:
            raw = unit.contents[path] if unit.contents is not None else read_bytes(path)
        except LoadError as error:
            problem = Problem(shown, error.line, error.col, Severity.ERROR, error.rule, error.message)
            checks[path] = FileCheck(path, kind, shown, [problem], None)
            continue
        check = checks[path] = inspect_bytes(path, raw, kind, shown)
        if unit.baseline is not None and check.valid and path in unit.report:
            check.problems.extend(_against_head(unit.baseline, check, raw))
    problems = [p for path, check in checks.items() if path in unit.report for p in check.problems]
    if unit.folder is not None and unit.settings is not None:
        shown_of = {path: shown for path, _, shown in unit.files}
        problems.extend(_rule_problems(unit, checks, _missing_shown_path(unit, shown_of)))
    return problems


def _missing_shown_path(unit: Unit, shown_of: dict[Path, str]) -> dict[Path, str]:
    """How files the course lacks are shown: beside the files it has."""
    if not unit.files:
        return shown_of
    path, _, shown = unit.files[0]
    base = Path(shown).parent if path.parent == unit.folder else Path(shown).parent.parent
    result = dict(shown_of)
    for name in ("client.yaml", "inventory.yaml", "formulation.md", "review.md"):
        result.setdefault(unit.folder / name if unit.folder else Path(name), os.path.normpath(base / name))
    return result


def _check_units(units: Sequence[Unit]) -> list[Problem]:
    return [problem for unit in units for problem in check_unit(unit)]


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run(units: list[Unit], jobs: int) -> list[Problem]:
    files = sum(len(unit.files) for unit in units)
    if jobs <= 1 or files < _PARALLEL_THRESHOLD or len(units) < 2:
        return _check_units(units)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork lets the workers inherit the loaded validators instead of importing them again.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    size = max(1, len(units) // (jobs * 4))
    batches = [units[i : i + size] for i in range(0, len(units), size)]
    # Unlike multiprocessing.Pool, the executor reports a worker that dies instead of waiting forever.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        results = list(pool.map(_check_units, batches))
    return [problem for batch in results for problem in batch]


def shown_path(path: Path, cwd: Path) -> str:
    if not path.is_absolute():
        return os.path.normpath(path)
    return os.path.relpath(path, cwd)


def _client_folder(path: Path, kind: FileKind) -> Path:
    absolute = path if path.is_absolute() else path.resolve()
    return absolute.parent.parent if kind in (FileKind.SESSION, FileKind.ADDENDUM) else absolute.parent


def _baselines(folders: Sequence[Path]) -> dict[Path, Baseline]:
    """HEAD's blobs for client folders in git repositories (none for folders outside git)."""
    from ipt_notes.errors import GitProblem
    from ipt_notes.git import open_repository

    by_root: dict[Path, list[Path]] = {}
    for folder in folders:
        by_root.setdefault(folder.parent.parent, []).append(folder)
    baselines: dict[Path, Baseline] = {}
    for root, members in by_root.items():
        if not any((place / ".git").exists() for place in (root, *root.parents)):
            continue
        try:
            repository = open_repository(root)
        except GitProblem:
            continue
        baseline = Baseline(repository.work_tree, repository.head_blobs(members), repository.object_format)
        baselines.update({folder: baseline for folder in members})
    return baselines


_settings_cache: dict[tuple[Path, int, int], Settings] = {}


def settings_for(folder: Path) -> Settings:
    """The practice settings that govern a client folder (the defaults outside a notes repository).

    Settings with errors of their own fall back to the defaults; `validate` reports those errors
    where it checks ipt-notes.yaml. Read settings are kept for the file's size and modification
    time, so a long-lived process sees an edited file.
    """
    from ipt_notes.settings import load_settings

    root = folder.parent.parent
    try:
        stat = (root / CONFIG_NAME).stat()
    except OSError:
        return DEFAULTS
    key = (root, stat.st_mtime_ns, stat.st_size)
    if key not in _settings_cache:
        try:
            _settings_cache[key] = load_settings(root)
        except NotesInvalid:
            _settings_cache[key] = DEFAULTS
    return _settings_cache[key]


def client_unit(folder: Path, cwd: Path, *, rules: bool = True) -> Unit:
    """The unit of one whole client folder on disk."""
    from ipt_notes.course import course_files

    files = tuple((path, kind, shown_path(path, cwd)) for path, kind in sorted(course_files(folder).items()))
    return Unit(
        files=files,
        report=frozenset(path for path, _, _ in files),
        folder=folder,
        settings=settings_for(folder) if rules else None,
    )


def validate_paths(
    paths: Sequence[Path], *, cwd: Path | None = None, jobs: int | None = None, rules: bool = True
) -> ValidationReport:
    """Check every notes file named, and every notes file under every folder named.

    Each client's course rules run over all its files; problems are reported for the files named
    or found. A file named explicitly whose place in the layout gives no kind is reported as a
    warning and not checked.
    """
    from ipt_notes.course import course_files

    cwd = Path.cwd() if cwd is None else cwd
    problems: list[Problem] = []
    loose: list[Unit] = []
    clients: dict[Path, dict[Path, tuple[FileKind, str]]] = {}
    seen: set[Path] = set()
    walked = [path.resolve() for path in paths if path.is_dir()]
    for found in notes_files(list(paths), cwd):
        if found.path in seen:
            continue
        seen.add(found.path)
        if found.kind is None:
            problems.append(
                Problem(
                    found.shown,
                    1,
                    1,
                    Severity.WARNING,
                    "unknown-file",
                    "not a notes file by its place in the layout (clients/<ID>/...); not checked",
                )
            )
        elif found.kind is FileKind.CONFIG:
            loose.append(Unit(files=((found.path, found.kind, found.shown),), report=frozenset({found.path})))
        else:
            folder = _client_folder(found.path, found.kind)
            clients.setdefault(folder, {})[found.path] = (found.kind, found.shown)
    units = list(loose)
    baselines = _baselines(list(clients))
    for folder, reported in sorted(clients.items()):
        files = dict(reported)
        whole = any(root == folder or root in folder.parents for root in walked)
        if rules and not whole:
            # The course rules need every file of the client, not only those named.
            for path, kind in course_files(folder).items():
                files.setdefault(path, (kind, shown_path(path, cwd)))
        units.append(
            Unit(
                files=tuple((path, kind, shown) for path, (kind, shown) in sorted(files.items())),
                report=frozenset(reported),
                folder=folder,
                settings=settings_for(folder) if rules else None,
                baseline=baselines.get(folder),
            )
        )
    problems.extend(_run(units, _cores() if jobs is None else jobs))
    problems.sort()
    return ValidationReport(problems=problems, files_checked=sum(len(unit.report) for unit in units))


def validate_staged(
    root: Path, paths: Sequence[Path] = (), *, cwd: Path | None = None, rules: bool = True
) -> ValidationReport:
    """Check the staged version of every notes file in the index (what a commit would record).

    The course rules of each client with a staged file run over that client's files as the index
    holds them. With `paths`, only staged files under them are checked. This is what the
    pre-commit hook runs; inside `git commit`, git points GIT_INDEX_FILE at the index being
    committed.
    """
    from ipt_notes.git import open_repository

    cwd = Path.cwd() if cwd is None else cwd
    repository = open_repository(root)
    limits = [p.resolve() for p in paths]
    staged: dict[Path | None, dict[Path, FileKind]] = {}
    for relative in repository.staged_paths():
        absolute = repository.work_tree / relative
        kind = kind_of(absolute)
        if kind is None or "private" in Path(relative).parts:
            continue
        if limits and not any(absolute == limit or limit in absolute.parents for limit in limits):
            continue
        folder = None if kind is FileKind.CONFIG else _client_folder(absolute, kind)
        staged.setdefault(folder, {})[absolute] = kind
    units: list[Unit] = []
    for folder, files in staged.items():
        if folder is None or not rules:
            every = files
        else:
            prefix = str(folder.relative_to(repository.work_tree))
            every = {}
            for relative in repository.indexed_paths(prefix):
                absolute = repository.work_tree / relative
                kind = kind_of(absolute)
                if kind is not None and kind is not FileKind.CONFIG:
                    every[absolute] = kind
        blobs = repository.staged_blobs([str(p.relative_to(repository.work_tree)) for p in every])
        contents = {path: blobs[str(path.relative_to(repository.work_tree))] for path in every}
        baseline = None
        if folder is not None:
            baseline = Baseline(repository.work_tree, repository.head_blobs([folder]), repository.object_format)
        units.append(
            Unit(
                files=tuple((path, kind, shown_path(path, cwd)) for path, kind in sorted(every.items())),
                report=frozenset(files),
                folder=folder,
                settings=settings_for(folder) if folder is not None and rules else None,
                contents=contents,
                baseline=baseline,
            )
        )
    problems = sorted(_check_units(units))
    return ValidationReport(problems=problems, files_checked=sum(len(unit.report) for unit in units))

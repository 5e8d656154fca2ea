"""`validate`: every file checked against its schema, and every client's course against the rules.

The work is cut into units: one per client (its files, each read and parsed once, checked
against its schema, compared with its signed version at HEAD, then the course rules over the
whole record) and one per practice file. Each client is judged by its own recorded settings
(course-settings.yaml), so a clone of its repository alone gets the same result. Large runs are
spread over the machine's cores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from ipt_notes.checks import FileCheck, inspect_bytes, load_problem
from ipt_notes.errors import ExitCode, GitProblem, LoadError, NotesInvalid
from ipt_notes.layout import (
    CLIENT_NAME,
    CONFIG_NAME,
    IMMUTABLE_KINDS,
    PRIVATE_DIR,
    SESSIONS_DIR,
    SETTINGS_NAME,
    FileKind,
    in_practice,
    is_client_root,
    kind_in_client,
    link_below_root,
    named_path,
    notes_files,
    practice_clients,
)
from ipt_notes.loader import Positions, irregular_message, read_bytes, yaml_positions
from ipt_notes.problems import NOT_A_REGULAR_FILE, STRAY_FILE, Problem, Severity, has_internal_error
from ipt_notes.settings import DEFAULT_COURSE, CourseSettings, course_settings_from_bytes

if TYPE_CHECKING:
    from ipt_notes.git import Repository

__all__ = [
    "Unit",
    "ValidationReport",
    "check_unit",
    "client_unit",
    "commit_errors",
    "shown_path",
    "validate_course",
    "validate_paths",
    "validate_staged",
]

_REGULAR_MODES = frozenset({"100644", "100755"})
"""git's modes of a regular file; 120000 is a link and 160000 a submodule."""
_COURSE_WIDE = frozenset({FileKind.COURSE_SETTINGS, FileKind.CLIENT, FileKind.INVENTORY, FileKind.FORMULATION})
"""The kinds of file whose change can make the course rules fire on other files."""
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

    def exit_code(self, *, strict: bool = False) -> ExitCode:
        """1 for findings; 3 when a rule failed, since then the run could not check everything."""
        if has_internal_error(self.problems):
            return ExitCode.ENVIRONMENT
        return ExitCode.FINDINGS if self.failed(strict=strict) else ExitCode.OK


class Unit(NamedTuple):
    """One piece of work: a client's files and course, or one practice file.

    `report` holds the files whose problems are reported; the other files are read only for the
    course rules. `contents` gives files' bytes that do not come from the disk (git's index, or a
    note as it will be once signed). With `against_head`, signed notes are compared with their
    versions at the client repository's HEAD.
    """

    files: tuple[tuple[Path, FileKind, str], ...]
    report: frozenset[Path]
    folder: Path | None = None
    rules: bool = True
    contents: Mapping[Path, bytes] | None = None
    against_head: bool = False
    whole: bool = False
    """Every file of the client is reported: problems of files it lacks are reported too."""
    present: frozenset[Path] | None = None
    """Every notes file the client has (on disk, or in the index), when a note signed at HEAD that
    is gone from it is to be reported."""
    shown_folder: str = "."


def _blob_id(raw: bytes, object_format: str) -> str:
    # git's object id of a blob: the hash of "blob <size>\0" and the bytes.
    digest = hashlib.sha256 if object_format == "sha256" else hashlib.sha1
    return digest(b"blob %d\0" % len(raw) + raw).hexdigest()


class _Head(NamedTuple):
    """The blob of each signable file at the client repository's HEAD."""

    blobs: dict[Path, str]
    object_format: str
    work_tree: Path
    folder: Path
    git_dir: Path


def _head(unit: Unit) -> _Head | None:
    """HEAD's blobs for a client with a repository of its own (none for folders outside git)."""
    from ipt_notes.git import open_client_repository

    folder = unit.folder
    assert folder is not None
    signable = any(kind in IMMUTABLE_KINDS and path in unit.report for path, kind, _ in unit.files)
    if not signable and unit.present is None:
        return None
    try:
        repository = open_client_repository(folder)
    except GitProblem:
        return None
    blobs = repository.head_blobs()
    return _Head(blobs, repository.object_format, repository.work_tree, folder, repository.git_dir)


def _signed_at_head(head: _Head, blob: str, kind: FileKind) -> bytes | None:
    """The bytes of a blob at HEAD when they can never change: a signed note (as the parser reads
    it) or a co-signature; else None."""
    from ipt_notes.git import run_git
    from ipt_notes.signing import is_signed

    committed = run_git(["cat-file", "blob", blob], cwd=head.work_tree, git_dir=head.git_dir).stdout
    return committed if kind is FileKind.COSIGNATURE or is_signed(committed) else None


def _against_head(head: _Head, check: FileCheck, raw: bytes) -> list[Problem]:
    """A note signed at HEAD that differs from that version now, whatever it says of itself: edited
    with its hash made to match, spelled differently, or turned back into a draft."""
    blob = head.blobs.get(head.work_tree / check.path.relative_to(head.folder))
    if blob is None or _blob_id(raw, head.object_format) == blob:
        return []
    if _signed_at_head(head, blob, check.kind) is None:
        return []
    if any(problem.rule == "signed-note-changed" for problem in check.problems):
        return []  # its own hash already says so, at its place
    line, col = 1, 1
    if check.document is not None:
        positions = yaml_positions(check.document.yaml_text, check.document.line_offset)
        line, col = positions.of_value(("status",))
    message = "this note was signed at HEAD and differs from that version: a signed note never changes; add an addendum"
    if check.kind is FileKind.COSIGNATURE:
        message = "this co-signature was committed at HEAD and differs from that version: a co-signature never changes"
    return [Problem(check.shown, line, col, Severity.ERROR, "signed-note-changed", message)]


def _missing_signed(head: _Head, unit: Unit, present: Collection[Path]) -> list[Problem]:
    """Notes signed at HEAD that are gone from the working tree (or from the index)."""
    problems = []
    for path, blob in sorted(head.blobs.items()):
        relative = path.relative_to(head.work_tree)
        local = head.folder / relative
        kind = kind_in_client(relative.parts)
        if local in present or kind not in IMMUTABLE_KINDS:
            continue
        if _signed_at_head(head, blob, kind) is not None:
            shown = os.path.normpath(Path(unit.shown_folder) / relative)
            message = "this note was signed at HEAD and is gone: a signed note is never deleted or moved; restore it"
            problems.append(Problem(shown, 1, 1, Severity.ERROR, "signed-note-deleted", message))
    return problems


def _rule_settings(check: FileCheck) -> list[Problem]:
    """Problems of a settings file's `rules:` that only the rule registry can see."""
    from ipt_notes.rules import rule_settings_problems

    assert check.document is not None
    data = cast(dict[str, Any], check.document.data)
    findings = list(rule_settings_problems(data.get("rules") or {}))
    if not findings:
        return []
    positions = yaml_positions(check.document.yaml_text, check.document.line_offset)
    problems = []
    for finding in findings:
        line, col = positions.of_key(finding.at) if finding.key else positions.of_value(finding.at)
        problems.append(Problem(check.shown, line, col, Severity.ERROR, "settings-rule", finding.message))
    return problems


def _settings(
    unit: Unit, checks: dict[Path, FileCheck], raw: dict[Path, bytes]
) -> tuple[CourseSettings, list[Problem]]:
    """The course settings the unit is judged by, and any problem they have beyond their schema."""
    assert unit.folder is not None
    path = unit.folder / SETTINGS_NAME
    check = checks.get(path)
    if check is None:
        if unit.whole:
            shown = os.path.normpath(Path(unit.shown_folder) / SETTINGS_NAME)
            message = (
                "this client's course settings are not recorded, so the defaults apply "
                "(ipt-notes apply-settings records the practice's)"
            )
            return CourseSettings(recorded=False), [
                Problem(shown, 1, 1, Severity.WARNING, "course-settings-missing", message)
            ]
        return CourseSettings(recorded=False), []
    if not check.valid:
        return DEFAULT_COURSE, []
    try:
        return course_settings_from_bytes(raw[path], check.shown), []
    except NotesInvalid as error:
        return DEFAULT_COURSE, [p for p in error.problems if p not in check.problems]


def _rule_problems(unit: Unit, checks: dict[Path, FileCheck], settings: CourseSettings) -> list[Problem]:
    from ipt_notes.course import build_course
    from ipt_notes.rules import INTERNAL_RULE_ERROR, run_rules

    assert unit.folder is not None
    fields = {
        path: (cast(dict[str, Any], check.document.data) if check.valid and check.document is not None else None)
        for path, check in checks.items()
        if check.kind is not FileKind.COURSE_SETTINGS
    }
    course = build_course(unit.folder, fields)
    positions: dict[Path, Positions] = {}
    problems = []
    for rule, severity, finding in run_rules(course, settings):
        reported = finding.path in unit.report or (unit.whole and finding.path not in checks)
        if not reported and rule is not INTERNAL_RULE_ERROR:
            continue
        line, col = 1, 1
        check = checks.get(finding.path)
        if finding.at and check is not None and check.document is not None:
            if finding.path not in positions:
                document = check.document
                positions[finding.path] = yaml_positions(document.yaml_text, document.line_offset)
            found = positions[finding.path]
            line, col = found.of_key(finding.at) if finding.key else found.of_value(finding.at)
        if check is not None:
            shown = check.shown
        else:
            shown = os.path.normpath(Path(unit.shown_folder) / finding.path.relative_to(unit.folder))
        problems.append(Problem(shown, line, col, severity, rule.id, finding.message))
    return problems


def _a_record(folder: Path) -> bool:
    """Whether a client folder is a record (in a practice, or a repository of its own), rather than
    a folder of example files that merely sits in a folder named clients/."""
    return in_practice(folder) or os.path.lexists(folder / ".git")


def check_unit(unit: Unit) -> list[Problem]:
    """The problems of one unit: its reported files' schema problems, then its course rules."""
    checks: dict[Path, FileCheck] = {}
    raw: dict[Path, bytes] = {}
    head = _head(unit) if unit.against_head and unit.folder else None
    for path, kind, shown in unit.files:
        try:
            data = unit.contents[path] if unit.contents is not None and path in unit.contents else read_bytes(path)
        except LoadError as error:
            checks[path] = FileCheck(path, kind, shown, [load_problem(error, shown)], None)
            continue
        raw[path] = data
        check = checks[path] = inspect_bytes(path, data, kind, shown)
        if kind in (FileKind.CONFIG, FileKind.COURSE_SETTINGS) and check.valid:
            check.problems.extend(_rule_settings(check))
        # A version the reader refuses is compared too: what HEAD holds signed never changes.
        if head is not None and kind in IMMUTABLE_KINDS and path in unit.report:
            check.problems.extend(_against_head(head, check, data))
    problems = [p for path, check in checks.items() if path in unit.report for p in check.problems]
    if head is not None and unit.present is not None:
        problems.extend(_missing_signed(head, unit, unit.present))
    if unit.whole and unit.folder is not None and unit.folder / CLIENT_NAME not in checks and _a_record(unit.folder):
        shown = os.path.normpath(Path(unit.shown_folder) / CLIENT_NAME)
        message = (
            "the client folder has no client.yaml, which names the client and holds the contract: restore it "
            "(git checkout -- client.yaml), or make a new client with ipt-notes new-client"
        )
        problems.append(Problem(shown, 1, 1, Severity.ERROR, "client-file-missing", message))
    if unit.folder is not None and unit.rules:
        settings, settings_problems = _settings(unit, checks, raw)
        problems.extend(settings_problems)
        problems.extend(_rule_problems(unit, checks, settings))
    return problems


def _check_units(units: Sequence[Unit]) -> list[Problem]:
    return [problem for unit in units for problem in check_unit(unit)]


def run_units(units: list[Unit], jobs: int | None = None) -> list[Problem]:
    """Every unit checked, on every core when the run is large enough to gain from it."""
    from ipt_notes.parallel import map_parallel

    if sum(len(unit.files) for unit in units) < _PARALLEL_THRESHOLD:
        return _check_units(units)
    return [problem for problems in map_parallel(check_unit, units, jobs=jobs) for problem in problems]


def shown_path(path: Path, cwd: Path) -> str:
    if not path.is_absolute():
        return os.path.normpath(path)
    return os.path.relpath(path, cwd)


def _client_unit(
    folder: Path,
    kinds: Mapping[Path, FileKind],
    report: Collection[Path],
    cwd: Path,
    *,
    rules: bool,
    whole: bool,
    contents: Mapping[Path, bytes] | None = None,
    present: Collection[Path] | None = None,
) -> Unit:
    """The unit of one client: its files (`kinds`), those reported, and where they are shown from."""
    return Unit(
        files=tuple((path, kind, shown_path(path, cwd)) for path, kind in sorted(kinds.items())),
        report=frozenset(report),
        folder=folder,
        rules=rules,
        contents=contents,
        against_head=True,
        whole=whole,
        present=None if present is None else frozenset(present),
        shown_folder=shown_path(folder, cwd),
    )


def client_unit(
    folder: Path,
    cwd: Path,
    *,
    rules: bool = True,
    contents: Mapping[Path, bytes] | None = None,
    report: Collection[Path] | None = None,
) -> Unit:
    """The unit of one whole client folder on disk, with some files' bytes given in `contents`."""
    from ipt_notes.course import course_files

    on_disk = course_files(folder)
    for path in contents or {}:
        # A file given only by its bytes (one about to be written) joins the files on disk.
        kind = kind_in_client(path.relative_to(folder).parts)
        if kind is not None:
            on_disk[path] = kind
    reported = on_disk.keys() if report is None else report
    whole = report is None
    present = on_disk.keys() if whole else None
    return _client_unit(
        folder, on_disk, reported, cwd.resolve(), rules=rules, whole=whole, contents=contents, present=present
    )


def validate_course(
    folder: Path,
    *,
    cwd: Path | None = None,
    contents: Mapping[Path, bytes] | None = None,
    report: Collection[Path] | None = None,
) -> list[Problem]:
    """Every problem of one client's record, as `validate` reports it, in path and line order.

    `contents` stands in for files' bytes on disk (a note as it will be once signed); `report`
    limits the problems to those files (default: the whole record).
    """
    unit = client_unit(folder.resolve(), Path.cwd() if cwd is None else cwd, contents=contents, report=report)
    return sorted(check_unit(unit))


def validate_paths(
    paths: Sequence[Path], *, cwd: Path | None = None, jobs: int | None = None, rules: bool = True
) -> ValidationReport:
    """Check every notes file named, and every notes file under every folder named.

    Each client's course rules run over all its files; problems are reported for the files named
    or found. A file named explicitly whose place in the layout gives no kind is reported as a
    warning and not checked.
    """
    from ipt_notes.course import course_files

    cwd = (Path.cwd() if cwd is None else cwd).resolve()
    problems: list[Problem] = []
    units: list[Unit] = []
    clients: dict[Path, dict[Path, FileKind]] = {}
    whole: set[Path] = set()
    seen: set[Path] = set()
    for path in paths:
        absolute = named_path(path, cwd)
        if absolute.is_dir() and not absolute.is_symlink():
            from ipt_notes.layout import client_root_of

            client = client_root_of(absolute)
            if client is None or client == absolute:
                whole.add(absolute)
    for found in notes_files(list(paths), cwd):
        if found.path in seen:
            continue
        seen.add(found.path)
        if found.rule is not None:
            problems.append(_misplaced(found.shown, found.rule, found.path))
        elif found.kind is None:
            message = "not a notes file by its place in the layout (see the README); not checked"
            problems.append(Problem(found.shown, 1, 1, Severity.WARNING, "unknown-file", message))
        elif found.client is None:
            units.append(Unit(files=((found.path, found.kind, found.shown),), report=frozenset({found.path})))
        else:
            clients.setdefault(found.client, {})[found.path] = found.kind
    for root in whole:
        # A client folder with no notes file at all is still a client, and lacks its client.yaml.
        for folder in practice_clients(root, refuse_links=False) if (root / CONFIG_NAME).is_file() else [root]:
            if is_client_root(folder) and not folder.is_symlink():
                clients.setdefault(folder, {})
    for folder, reported in sorted(clients.items()):
        kinds = dict(reported)
        entire = any(root == folder or root in folder.parents for root in whole)
        if rules and not entire:
            # The course rules need every file of the client, not only those named.
            for path, kind in course_files(folder).items():
                kinds.setdefault(path, kind)
        present = kinds.keys() if entire else None
        units.append(_client_unit(folder, kinds, reported, cwd, rules=rules, whole=entire, present=present))
    problems.extend(run_units(units, jobs))
    problems.sort()
    return ValidationReport(problems=problems, files_checked=sum(len(unit.report) for unit in units))


def _misplaced(shown: str, rule: str, path: Path, *, staged: bool = False) -> Problem:
    """A problem for what stands where the layout expects something else."""
    if rule == STRAY_FILE:
        # In the working tree a leftover is a warning (an editor's swap file comes and goes); the
        # hook refuses one, so that a copy of a note is never committed by accident.
        message = (
            "sessions/ holds only notes (NN.md) and their addenda (NN.addendum-K.md): this looks like a copy "
            "or a leftover; move it out of sessions/"
        )
        if staged:
            return Problem(shown, 1, 1, Severity.ERROR, rule, message + " and unstage it (git rm --cached)")
        return Problem(shown, 1, 1, Severity.WARNING, rule, message + " (the pre-commit hook refuses it)")
    if staged:
        message = "a link or a submodule is staged where a notes file should be: notes are plain files"
    elif link_below_root(path) not in (None, path):
        message = "this is reached through a link: notes are read where they are, never through a link"
    else:
        message = irregular_message(path)
    return Problem(shown, 1, 1, Severity.ERROR, rule, message)


def validate_staged(
    folder: Path,
    paths: Sequence[Path] = (),
    *,
    cwd: Path | None = None,
    rules: bool = True,
    repository: Repository | None = None,
) -> ValidationReport:
    """Check the staged version of every notes file in a client's index (what a commit would record).

    The course rules run over the client's files as the index holds them, by the settings the
    index holds. With `paths`, only staged files under them are checked. Process notes
    (`private/`) staged for a commit are an error. This is what the pre-commit hook runs; inside
    `git commit`, git points GIT_INDEX_FILE at the index being committed.
    """
    from ipt_notes.git import open_client_repository

    cwd = (Path.cwd() if cwd is None else cwd).resolve()
    repository = open_client_repository(folder) if repository is None else repository
    top = repository.work_tree
    limits = [(cwd / p).resolve() for p in paths]
    problems: list[Problem] = []
    staged: dict[Path, FileKind] = {}
    for mode, relative in repository.staged_entries():
        parts = Path(relative).parts
        absolute = top / relative
        if limits and not any(absolute == limit or limit in absolute.parents for limit in limits):
            continue
        if parts and parts[0] == PRIVATE_DIR:
            message = "psychotherapy (process) notes in private/ are never committed: unstage them (git rm --cached)"
            problems.append(Problem(shown_path(absolute, cwd), 1, 1, Severity.ERROR, "private-staged", message))
            continue
        kind = kind_in_client(parts)
        if kind is not None and mode not in _REGULAR_MODES:
            problems.append(_misplaced(shown_path(absolute, cwd), NOT_A_REGULAR_FILE, absolute, staged=True))
        elif kind is not None:
            staged[absolute] = kind
        elif parts[0] == SESSIONS_DIR:
            problems.append(_misplaced(shown_path(absolute, cwd), STRAY_FILE, absolute, staged=True))
    indexed: dict[Path, FileKind] = {}
    for relative in repository.indexed_paths("."):
        kind = kind_in_client(Path(relative).parts)
        if kind is not None:
            indexed[top / relative] = kind
    # With nothing staged there is nothing to read: only notes gone from the index are looked for.
    every: dict[Path, FileKind] = {**indexed, **staged} if rules and staged else dict(staged)
    # The settings, the contract, the inventory and the formulation judge every other file of the
    # course: when one of them changes, what it does to the rest is reported too.
    report: Collection[Path] = staged
    if rules and any(kind in _COURSE_WIDE for kind in staged.values()):
        report = every
    blobs = repository.staged_blobs([os.path.relpath(p, top) for p in every])
    contents = {path: blobs[os.path.relpath(path, top)] for path in every}
    # A note signed at HEAD and gone from the index is reported whatever else is staged.
    unit = _client_unit(top, every, report, cwd, rules=rules, whole=False, contents=contents, present=indexed)
    problems.extend(check_unit(unit))
    cosigning = sorted(path for path, kind in staged.items() if kind is FileKind.COSIGNATURE)
    if cosigning:
        problems.extend(_cosigned_by_someone_else(repository, top, cosigning, cwd))
    return ValidationReport(problems=sorted(problems), files_checked=len(staged))


def _cosigned_by_someone_else(repository: Repository, top: Path, staged: list[Path], cwd: Path) -> list[Problem]:
    """A co-signature is committed by the supervisor client.yaml names: the commit being made is
    by git's identity, which must have the supervisor's address."""
    from ipt_notes.identity import email_of
    from ipt_notes.loader import parse_document

    spec = ":" + CLIENT_NAME  # the contract as the index holds it
    try:
        contract = parse_document(repository.object_contents([spec]).get(spec, b""), front_matter=False).data
        author = repository.author()
    except (LoadError, GitProblem):
        return []  # reported elsewhere: the contract's own problems, or no identity
    supervisor = contract.get("supervisor") if isinstance(contract, dict) else None
    expected = email_of(supervisor) if isinstance(supervisor, str) else ""
    if expected and expected == email_of(author):
        return []
    message = "a co-signature is committed by the supervisor client.yaml names, and git's identity is not theirs"
    return [Problem(shown_path(path, cwd), 1, 1, Severity.ERROR, "cosignature-author", message) for path in staged]


def commit_errors(repository: Repository) -> list[str]:
    """The errors the pre-commit hook would report for what `repository`'s index holds, as it
    prints them: what an ipt-notes command checks before it commits."""
    from ipt_notes.reporters import report

    found = validate_staged(repository.work_tree, repository=repository)
    return report([p for p in found.problems if p.severity is Severity.ERROR], "text").splitlines()

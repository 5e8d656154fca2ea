"""Scaffolding: `init`, `new-client` and `new-session`, each ending in one commit.

Each command checks its input before touching the disk, takes the repository lock, writes its
files atomically and privately (a new note never replaces a file), checks that what it wrote is
valid, and commits exactly those files through the git command line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ipt_notes.course import Course, find_client, phase_for, read_course
from ipt_notes.errors import NotesInvalid, RefusedInput, UnsafeClientId
from ipt_notes.files import create_new, make_private_dirs
from ipt_notes.git import Repository, commit_paths, init_repository, open_repository
from ipt_notes.layout import CLIENT_ID_RULE, CONFIG_NAME, FileKind, find_root, is_valid_client_id
from ipt_notes.lock import repository_lock
from ipt_notes.problems import Severity
from ipt_notes.resources import templates_dir
from ipt_notes.settings import Settings, load_settings
from ipt_notes.vocabulary import terms

__all__ = [
    "InitResult",
    "check_rendered",
    "init_notes_repository",
    "new_client",
    "new_session",
    "parse_date",
    "render_template",
    "yaml_scalar",
]

HOOK_MARKER = "# ipt-notes: checks the staged notes before each commit."
# Git settings for health records: flush what is committed to disk, check every object that
# arrives, keep a reflog of every ref, and keep unreachable objects rather than prune them, so
# that a rewritten history can still be examined. New files are private to the owner.
GIT_SETTINGS = {
    "core.fsync": "committed,index",
    "core.fsyncMethod": "fsync",
    "core.sharedRepository": "0600",
    "core.logAllRefUpdates": "always",
    "transfer.fsckObjects": "true",
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "gc.pruneExpire": "never",
    "gc.reflogExpire": "never",
    "gc.reflogExpireUnreachable": "never",
    "user.useConfigOnly": "true",
}
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def yaml_scalar(value: object) -> str:
    """A value as one line of YAML that reads back exactly as `value` under the strict loader.

    JSON is a subset of YAML's flow style; the characters YAML will not take raw in a quoted
    scalar are escaped as well.
    """
    text = json.dumps(value, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def parse_date(value: str, *, option: str) -> str:
    """A calendar date given on the command line, as YYYY-MM-DD."""
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise RefusedInput(f"{option} takes a calendar date as YYYY-MM-DD")
    return parsed.isoformat()


def render_template(name: str, values: dict[str, str], root: Path | None) -> str:
    """The named template, from the notes repository's templates/ if it has one, filled in."""
    override = root / "templates" / name if root is not None else None
    source = override if override is not None and override.is_file() else templates_dir() / name
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise RefusedInput(f"the template {source} cannot be read as UTF-8 text") from None
    try:
        return Template(text).substitute(values)
    except KeyError as error:
        raise RefusedInput(f"the template {source} uses ${error.args[0]}, which is not a placeholder") from None
    except ValueError:
        raise RefusedInput(f"the template {source} has a $ that starts no placeholder (write $$ for $)") from None


def check_rendered(text: str, kind: FileKind, shown: str) -> None:
    """Refuse to write a file that would not be valid: the template must produce a valid draft."""
    from ipt_notes.validation import check_bytes

    problems = check_bytes(text.encode("utf-8"), kind, shown)
    if any(p.severity is Severity.ERROR for p in problems):
        raise NotesInvalid(what=f"the template for {shown}", problems=problems)


@dataclass(frozen=True)
class InitResult:
    root: Path
    written: list[Path]
    hook: Path | None
    """The hook installed, or None when a hook of another origin was left in place."""
    commit: str | None


def _install_hook(repository: Repository) -> Path | None:
    hook = repository.git_path("hooks/pre-commit")
    text = render_template("pre-commit", {"python": shlex.quote(sys.executable)}, None)
    if hook.exists() or hook.is_symlink():
        current = hook.read_text(encoding="utf-8", errors="replace") if hook.is_file() else ""
        if HOOK_MARKER not in current:
            return None
        if current == text:
            return hook
        hook.unlink()
    make_private_dirs(hook.parent, stop_at=repository.git_dir.parent)
    create_new(hook, text.encode("utf-8"), mode=0o700)
    return hook


def init_notes_repository(path: Path) -> InitResult:
    """Make `path` a notes repository, or bring one up to date; what exists is left alone."""
    if path.exists() and not path.is_dir():
        raise RefusedInput(f"{path} exists and is not a folder")
    if not path.exists():
        make_private_dirs(path.resolve(), stop_at=path.resolve().parent)
    root = path.resolve()
    repository, _ = init_repository(root)
    for key, value in GIT_SETTINGS.items():
        repository.git("config", key, value)
    with repository_lock(repository.git_dir):
        written = []
        for template, target in (("ipt-notes.yaml", CONFIG_NAME), ("gitignore", ".gitignore")):
            destination = root / target
            if destination.exists() or destination.is_symlink():
                continue
            text = render_template(template, {}, root)
            if target == CONFIG_NAME:
                check_rendered(text, FileKind.CONFIG, target)
            create_new(destination, text.encode("utf-8"))
            written.append(destination)
        make_private_dirs(root / "clients", stop_at=root)
        hook = _install_hook(repository)
        commit = None
        if written:
            repository.preflight()
            commit = commit_paths(repository, written, "init: notes repository")
    return InitResult(root=root, written=written, hook=hook, commit=commit)


def _check_new_client_id(root: Path, client_id: str) -> None:
    if not is_valid_client_id(client_id):
        raise UnsafeClientId(reason=CLIENT_ID_RULE)
    clients = root / "clients"
    if clients.is_symlink():
        raise UnsafeClientId(reason="clients/ is a symbolic link; ipt-notes writes only into real folders")
    if clients.is_dir():
        for existing in clients.iterdir():
            if existing.name.lower() == client_id.lower():
                if existing.name == client_id:
                    raise UnsafeClientId(reason=f"{client_id} already exists")
                raise UnsafeClientId(reason=f"{client_id} differs only in case from the existing {existing.name}")


def new_client(
    start: Path, client_id: str, *, sessions: int | None = None, start_date: str | None = None
) -> list[Path]:
    """Scaffold clients/ID with client.yaml, inventory.yaml and formulation.md, and commit them."""
    root = find_root(start)
    _check_new_client_id(root, client_id)
    if sessions is not None and not 1 <= sessions <= 60:
        raise RefusedInput("--sessions takes a number of sessions from 1 to 60")
    settings = load_settings(root)
    values = {
        "client": client_id,
        "start_date": start_date or dt.date.today().isoformat(),
        "sessions": str(sessions or settings.default_sessions),
        "measures": yaml_scalar(list(settings.measures)).replace('"', ""),
    }
    rendered = [
        (name, render_template(name, values, root), kind)
        for name, kind in (
            ("client.yaml", FileKind.CLIENT),
            ("inventory.yaml", FileKind.INVENTORY),
            ("formulation.md", FileKind.FORMULATION),
        )
    ]
    for name, text, kind in rendered:
        check_rendered(text, kind, f"clients/{client_id}/{name}")
    repository = open_repository(root)
    with repository_lock(repository.git_dir):
        repository.preflight()
        _check_new_client_id(root, client_id)
        folder = root / "clients" / client_id
        make_private_dirs(folder / "sessions", stop_at=root)
        written = []
        for name, text, _ in rendered:
            create_new(folder / name, text.encode("utf-8"))
            written.append(folder / name)
        commit_paths(repository, written, f"new-client {client_id}")
    return written


def _measures_due(course: Course, number: int, settings: Settings) -> str:
    every = settings.rule_option("measure-cadence", "every", 4)
    measures = (course.client or {}).get("measures") or settings.measures
    due = []
    for measure in measures:
        last = course.last_scored(measure, before=number)
        if last is None:
            due.append(f"{measure} (baseline)")
        elif number - last.number >= every:
            due.append(f"{measure} (last scored at session {last.number})")
    if not due:
        return "no measure is due"
    return "due: " + ", ".join(due) + "; enter item scores, e.g. {phq9: [0, 1, 2, 0, 1, 0, 0, 1, 0]}"


def _carried(course: Course, key: str, inner: str | None = None) -> object:
    """A field of the latest readable note, e.g. its dispute stage or the homework it set."""
    for note in reversed(course.sessions):
        if note.data is None:
            continue
        value = note.data.get(key)
        if inner is not None:
            value = value.get(inner) if isinstance(value, dict) else None
        return value
    return None


def _session_values(course: Course, number: int, date: str, phase: str, settings: Settings) -> dict[str, str]:
    planned = course.planned
    if planned is None:
        progress = f"Session {number}; no contract yet"
    elif number <= planned:
        remaining = planned - number
        progress = f"Session {number} of {planned}, {remaining} {'remains' if remaining == 1 else 'remain'}"
    else:
        progress = f"Session {number}, after the {planned} planned"
    stage = _carried(course, "dispute_stage")
    if not isinstance(stage, str):
        stage = _formulation_stage(course)
    stage_line = (
        f"dispute_stage: {stage}"
        if isinstance(stage, str) and stage in terms("dispute_stage")
        else "# dispute_stage: " + " | ".join(terms("dispute_stage")) + "   (when a role dispute is worked)"
    )
    homework = _carried(course, "homework", "assigned")
    return {
        "client": course.client_id,
        "session": str(number),
        "date": date,
        "phase": phase,
        "planned": str(planned) if planned is not None else "?",
        "progress": progress,
        "problem_areas": "[" + ", ".join(course.problem_areas) + "]",
        "dispute_stage": stage_line,
        "homework_review": yaml_scalar(homework) if isinstance(homework, str) else "null",
        "measures_due": _measures_due(course, number, settings),
    }


def _formulation_stage(course: Course) -> str | None:
    for entry in (course.formulation or {}).get("problem_areas") or []:
        if isinstance(entry, dict) and isinstance(entry.get("dispute_stage"), str):
            return str(entry["dispute_stage"])
    return None


def _check_note_date(course: Course, date: str) -> None:
    # An earlier date than the last note's is a mistake; the same day is allowed (two notes may be
    # scaffolded on one day), and `validate` judges the course's dates.
    last = course.last
    previous = last.data.get("date") if last is not None and last.data is not None else None
    if last is not None and isinstance(previous, str) and date < previous:
        raise RefusedInput(f"the date comes before the date of session {last.number}: session dates increase")


def new_session(start: Path, client: str | None, *, date: str | None = None) -> Path:
    """Write the next session note of a course from its phase's template, and commit it."""
    root = find_root(start)
    client_id, folder = find_client(root, client, start)
    settings = load_settings(root)
    date = date or dt.date.today().isoformat()
    repository = open_repository(root)
    with repository_lock(repository.git_dir):
        repository.preflight()
        sessions = folder / "sessions"
        if sessions.is_symlink():
            raise RefusedInput(
                f"clients/{client_id}/sessions is a symbolic link; ipt-notes writes only into real folders"
            )
        course = read_course(folder)
        _check_note_date(course, date)
        number = course.next_number()
        if number > 999:
            raise RefusedInput("a course holds at most 999 sessions")
        phase = phase_for(number, course.planned, settings)
        values = _session_values(course, number, date, phase, settings)
        text = render_template(f"session-{phase}.md", values, root)
        target = sessions / f"{number:02d}.md"
        shown = f"clients/{client_id}/sessions/{target.name}"
        check_rendered(text, FileKind.SESSION, shown)
        make_private_dirs(sessions, stop_at=root)
        create_new(target, text.encode("utf-8"))
        commit_paths(repository, [target], f"new-session {client_id} {number}")
    return target

"""`ipt-notes new-session`: the next session note, pre-filled from the course, committed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

from ipt_notes.actions import message
from ipt_notes.course import Course, course_files, phase_for, read_course
from ipt_notes.errors import RefusedInput
from ipt_notes.files import create_new, make_private_dirs
from ipt_notes.git import Repository, commit_paths, open_client_repository
from ipt_notes.layout import SESSIONS_DIR, SETTINGS_NAME, FileKind, resolve_client, session_name
from ipt_notes.loader import yaml_scalar
from ipt_notes.lock import repository_lock
from ipt_notes.rules import rule_option
from ipt_notes.settings import CourseSettings, load_course_settings
from ipt_notes.templates import render_checked
from ipt_notes.validation import commit_errors
from ipt_notes.vocabulary import course_statuses, statuses, terms

__all__ = ["Scaffolded", "new_session", "parse_date", "refuse_irregular", "scaffold"]


def parse_date(value: str, *, option: str) -> str:
    """A calendar date given on the command line, as YYYY-MM-DD."""
    import re

    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise RefusedInput(f"{option} takes a calendar date as YYYY-MM-DD")
    return parsed.isoformat()


def _measures_due(course: Course, number: int, settings: CourseSettings) -> str:
    every = rule_option(settings, "measure-cadence", "every")
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


def _formulation_stage(course: Course) -> str | None:
    for entry in (course.formulation or {}).get("problem_areas") or []:
        if isinstance(entry, dict) and isinstance(entry.get("dispute_stage"), str):
            return str(entry["dispute_stage"])
    return None


def _session_values(course: Course, number: int, date: str, phase: str, settings: CourseSettings) -> dict[str, str]:
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


def _check_note_date(course: Course, date: str) -> None:
    # An earlier date than the last note's is a mistake; the same day is allowed (two notes may be
    # scaffolded on one day), and `validate` judges the course's dates.
    last = course.last
    previous = last.data.get("date") if last is not None and last.data is not None else None
    if last is not None and isinstance(previous, str) and date < previous:
        raise RefusedInput(f"the date comes before the date of session {last.number}: session dates increase")


def refuse_irregular(folder: Path) -> None:
    # A link, a folder or a pipe under a note's name would make the next number a guess.
    for path in course_files(folder):
        if path.is_symlink() or not path.is_file():
            shown = path.relative_to(folder).as_posix()
            raise RefusedInput(f"{shown} is not a regular file (a link, a folder or a pipe): move it away first")


class Scaffolded(NamedTuple):
    path: Path
    finished: bool = False
    """True when the note is one an interrupted new-session had saved but not committed, and this
    run committed it instead of writing another."""


def _pending(course: Course, repository: Repository) -> list[Path]:
    """Session notes on disk that HEAD does not have: saved by a new-session that did not commit."""
    at_head = repository.head_blobs([SESSIONS_DIR])
    return [
        note.path
        for note in course.sessions
        if repository.work_tree / note.path.relative_to(course.folder) not in at_head
    ]


def scaffold(
    start: Path, client: str | None, *, root: Path | None = None, date: str | None = None, maintenance: bool = False
) -> Scaffolded:
    """Write the next session note of a course from its phase's template, and commit it.

    Re-run after an interruption, it finishes the job instead: the last note, saved as a draft
    but never committed, is committed. Notes HEAD already has are never committed here.
    """
    ref = resolve_client(client, cwd=start, root=root)
    folder = ref.folder
    repository = open_client_repository(folder)
    settings = load_course_settings(folder / SETTINGS_NAME, SETTINGS_NAME)
    date = date or settings.today().isoformat()
    with repository_lock(repository.git_dir):
        repository.preflight()
        sessions = folder / SESSIONS_DIR
        if sessions.is_symlink() or (sessions.exists() and not sessions.is_dir()):
            raise RefusedInput(f"{SESSIONS_DIR}/ is a symbolic link or a file; ipt-notes writes only into real folders")
        refuse_irregular(folder)
        course = read_course(folder)
        pending = _pending(course, repository)
        if pending:
            return Scaffolded(_finish(course, repository, pending), finished=True)
        if (course.client or {}).get("course_status") == course_statuses().closed and not maintenance:
            raise RefusedInput(
                f"{course.client_id}'s course is closed: a session after it is maintenance (new-session --maintenance)"
            )
        _check_note_date(course, date)
        number = course.next_number()
        if number > 999:
            raise RefusedInput("a course holds at most 999 sessions")
        phase = phase_for(number, course.planned, settings.phases)
        values = _session_values(course, number, date, phase, settings)
        target = sessions / session_name(number)
        shown = f"{SESSIONS_DIR}/{target.name}"
        text = render_checked(f"session-{phase}.md", values, ref.practice, FileKind.SESSION, shown)
        make_private_dirs(sessions, stop_at=folder)
        create_new(target, text.encode("utf-8"))
        commit_paths(
            repository, [target], message("new-session", f"{course.client_id} {number}"), precheck=commit_errors
        )
    return Scaffolded(target)


def _finish(course: Course, repository: Repository, pending: list[Path]) -> Path:
    """Commit the one note an interrupted new-session left, or say exactly what to run."""
    last = course.last
    note = pending[0]
    data = last.data if last is not None else None
    if (
        len(pending) == 1
        and last is not None
        and last.path == note
        and data is not None
        and data.get("status") != statuses().signed
    ):
        commit_paths(
            repository, [note], message("new-session", f"{course.client_id} {last.number}"), precheck=commit_errors
        )
        return note
    names = ", ".join(path.relative_to(course.folder).as_posix() for path in pending)
    raise RefusedInput(
        f"{names}: saved but never committed, so the next note cannot be numbered. Commit each in order "
        f"(git add NOTE && git commit -m 'new-session {course.client_id} N' -- NOTE), or move it away, then run "
        "new-session again"
    )


def new_session(start: Path, client: str | None, *, root: Path | None = None, date: str | None = None) -> Path:
    """The path of the note `scaffold` wrote or finished."""
    return scaffold(start, client, root=root, date=date).path

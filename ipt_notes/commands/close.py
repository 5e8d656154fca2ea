"""`ipt-notes close`: end a course, scaffold its review from the record, and commit both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipt_notes.actions import message
from ipt_notes.commands.new_session import parse_date, refuse_irregular
from ipt_notes.course import Course, read_course
from ipt_notes.errors import LoadError, RefusedInput
from ipt_notes.field_edits import set_fields
from ipt_notes.files import create_new, replace_atomically
from ipt_notes.git import Repository, commit_paths, open_client_repository
from ipt_notes.layout import CLIENT_NAME, REVIEW_NAME, SETTINGS_NAME, FileKind, resolve_client
from ipt_notes.loader import parse_document, read_bytes, yaml_scalar
from ipt_notes.lock import repository_lock
from ipt_notes.outcomes import course_scores
from ipt_notes.settings import load_course_settings
from ipt_notes.templates import render_checked
from ipt_notes.validation import commit_errors
from ipt_notes.vocabulary import attendance, close_reasons, course_statuses, instrument, phases, statuses, terms

__all__ = ["close_course", "unsigned_notes"]


def unsigned_notes(course: Course) -> list[str]:
    """The session notes and addenda of a course that are not signed, by their names in the client."""
    drafts = []
    for path, data in [(note.path, note.data) for note in course.sessions] + [
        (addendum.path, addendum.data) for addendum in course.addenda
    ]:
        if (data or {}).get("status") != statuses().signed:
            drafts.append(path.relative_to(course.folder).as_posix())
    return drafts


def _closed(fields: dict[str, Any] | None) -> bool:
    return (fields or {}).get("course_status") == course_statuses().closed


def _head_fields(repository: Repository, name: str) -> dict[str, Any] | None:
    spec = f"HEAD:{name}"
    raw = repository.object_contents([spec]).get(spec)
    if raw is None:
        return None
    try:
        data = parse_document(raw, front_matter=False).data
    except LoadError:  # an unreadable committed version is simply not a closed one
        return None
    return data if isinstance(data, dict) else None


def close_course(
    start: Path, client: str | None, *, root: Path | None = None, reason: str = "completed", date: str | None = None
) -> Path:
    """Close a course: course_status closed, with the reason and the date, in client.yaml, and
    review.md scaffolded from the record; one commit. Returns the review's path.

    Every check comes before the first write. Re-run after an interruption, it finishes the job:
    a review an earlier run saved is kept as it is, and committed with client.yaml.
    """
    if reason not in close_reasons():
        raise RefusedInput("--reason takes one of: " + ", ".join(close_reasons()))
    if date is not None:
        date = parse_date(date, option="--date")
    ref = resolve_client(client, cwd=start, root=root)
    folder = ref.folder
    repository = open_client_repository(folder)
    settings = load_course_settings(folder / SETTINGS_NAME, SETTINGS_NAME)
    date = date or settings.today().isoformat()
    client_file, review = folder / CLIENT_NAME, folder / REVIEW_NAME
    with repository_lock(repository.git_dir):
        repository.preflight()
        refuse_irregular(folder)
        course = read_course(folder)
        if course.client is None:
            raise RefusedInput(f"{CLIENT_NAME} cannot be read as the client's record: run ipt-notes validate")
        at_head = repository.head_blobs([CLIENT_NAME, REVIEW_NAME])
        if _closed(_head_fields(repository, CLIENT_NAME)) and review in at_head:
            raise RefusedInput(f"{course.client_id}'s course is closed already, and its review committed")
        drafts = unsigned_notes(course)
        if drafts:
            raise RefusedInput(
                f"{', '.join(drafts)}: not signed. Sign each (or move away a note that is not needed), "
                "then close the course"
            )
        review_text = None
        if not review.exists():
            review_text = render_checked(
                REVIEW_NAME, review_values(course, date), ref.practice, FileKind.REVIEW, REVIEW_NAME
            )
        client_text = None
        if not _closed(course.client):
            client_text = set_fields(
                read_bytes(client_file),
                {"course_status": course_statuses().closed, "end_date": date, "close_reason": reason},
                shown=CLIENT_NAME,
            )
        if review_text is not None:
            create_new(review, review_text.encode("utf-8"))
        if client_text is not None:
            replace_atomically(client_file, client_text)
        commit_paths(repository, [client_file, review], message("close", course.client_id), precheck=commit_errors)
    return review


def _comment_lines(course: Course) -> list[str]:
    """What the record says at close, as comments: computed again whenever the review is rendered."""
    kinds = attendance()
    counts = {kind: 0 for kind in kinds}
    for note in course.sessions:
        value = (note.data or {}).get("attendance")
        if value in counts:
            counts[value] += 1
    planned = course.planned
    lines = [
        "# The record at close (computed; the rendered review computes it again, so it is not stored here):",
        f"#   sessions: {counts[kinds.attended]} attended, {counts[kinds.cancelled]} cancelled, "
        f"{counts[kinds.no_show]} missed, of {planned if planned is not None else 'no'} contracted",
    ]
    measures = (course.client or {}).get("measures") or []
    for measure in [name for name in terms("instrument") if name in measures or course_scores(course, name)]:
        scores = course_scores(course, measure)
        label = instrument(measure).label
        if not scores:
            lines.append(f"#   {label}: never scored")
            continue
        first, last = scores[0], scores[-1]
        lines.append(
            f"#   {label}: {first.total} ({first.band}) at session {first.session}, "
            f"{last.total} ({last.band}) at session {last.session}"
        )
    return lines


def _termination_fields(course: Course) -> list[dict[str, Any]]:
    found = []
    for note in course.sessions:
        data = note.data or {}
        if data.get("phase") == phases().termination and isinstance(data.get("termination"), dict):
            found.append(data["termination"])
    return found


def _goal_lines(course: Course) -> list[str]:
    outcomes = " | ".join(terms("goal_outcome"))
    entries = [
        entry
        for entry in (course.formulation or {}).get("problem_areas") or []
        if isinstance(entry, dict) and isinstance(entry.get("area"), str)
    ]
    if not entries:
        return ["problem_areas: []            # the formulation names none: add - area: ... with goals_outcome"]
    lines = ["problem_areas:"]
    for entry in sorted(entries, key=lambda entry: entry.get("primary") is not True):
        lines.append(f"  - area: {entry['area']}")
        goals = [goal for goal in entry.get("goals") or [] if isinstance(goal, str)]
        if goals:
            lines.append("    goals:")
            for goal in goals:
                lines.append(f"      - goal: {yaml_scalar(goal)}")
                lines.append(f"        outcome: null         # {outcomes}")
        lines.append(f"    goals_outcome: null       # {outcomes}")
        lines.append("    notes: null")
    return lines


def review_values(course: Course, date: str) -> dict[str, str]:
    """The review's placeholders, filled from the record."""
    ending = _termination_fields(course)
    signs: list[str] = []
    for fields in ending:
        for sign in fields.get("relapse_warning_signs") or []:
            if isinstance(sign, str) and sign not in signs:
                signs.append(sign)
    decision = next(
        (f["maintenance_decision"] for f in reversed(ending) if isinstance(f.get("maintenance_decision"), str)), None
    )
    attribution = next(
        (f["improvement_attribution"] for f in reversed(ending) if isinstance(f.get("improvement_attribution"), str)),
        None,
    )
    presenting = (course.client or {}).get("presenting_problem")
    return {
        "client": course.client_id,
        "date": date,
        "record": "\n".join(_comment_lines(course)),
        "presenting_problem": yaml_scalar(presenting if isinstance(presenting, str) else None),
        "problem_areas": "\n".join(_goal_lines(course)),
        "attribution": yaml_scalar(attribution),
        "relapse_warning_signs": "relapse_warning_signs:"
        + ("".join(f"\n  - {yaml_scalar(sign)}" for sign in signs) if signs else " []"),
        "maintenance_decision": yaml_scalar(decision),
    }

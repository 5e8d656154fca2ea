"""`ipt-notes status`: each course at a glance.

Where a course stands (session k of N and its phase), the latest PHQ-9 and its band, the drafts
still unsigned, and how many problems `validate` would report for the client's files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ipt_notes.course import Course, read_course
from ipt_notes.layout import is_valid_client_id
from ipt_notes.problems import Severity
from ipt_notes.vocabulary import instrument, statuses

__all__ = ["ClientStatus", "client_status", "repository_status"]

_HEADLINE_MEASURE = "phq9"


@dataclass(frozen=True)
class ClientStatus:
    client: str
    session: int | None
    """The latest session note's number."""
    planned: int | None
    phase: str | None
    """The phase of the latest session note."""
    phq9_total: int | None
    phq9_band: str | None
    phq9_session: int | None
    drafts: list[int]
    """Session notes not yet signed."""
    errors: int
    warnings: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _problem_counts(folder: Path) -> tuple[int, int]:
    """How many errors and warnings `validate` reports for the client: schema and course rules."""
    from ipt_notes.validation import check_unit, client_unit

    problems = check_unit(client_unit(folder, folder))
    errors = sum(1 for problem in problems if problem.severity is Severity.ERROR)
    return errors, len(problems) - errors


def client_status(course: Course) -> ClientStatus:
    last = course.last
    phase = (last.data or {}).get("phase") if last is not None else None
    scored = course.last_scored(_HEADLINE_MEASURE)
    total = band = None
    if scored is not None and scored.data is not None:
        items = scored.data["measures"][_HEADLINE_MEASURE]
        if all(isinstance(item, int) for item in items):
            measure = instrument(_HEADLINE_MEASURE)
            total = measure.total(items)
            band = measure.band(total)
    signed = statuses().signed
    drafts = [note.number for note in course.sessions if (note.data or {}).get("status") != signed]
    errors, warnings = _problem_counts(course.folder)
    return ClientStatus(
        client=course.client_id,
        session=last.number if last is not None else None,
        planned=course.planned,
        phase=phase if isinstance(phase, str) else None,
        phq9_total=total,
        phq9_band=band,
        phq9_session=scored.number if scored is not None else None,
        drafts=drafts,
        errors=errors,
        warnings=warnings,
    )


def repository_status(root: Path) -> list[ClientStatus]:
    """One status per client folder, in ID order."""
    clients = root / "clients"
    if not clients.is_dir():
        return []
    folders = sorted(p for p in clients.iterdir() if p.is_dir() and not p.is_symlink() and is_valid_client_id(p.name))
    return [client_status(read_course(folder)) for folder in folders]

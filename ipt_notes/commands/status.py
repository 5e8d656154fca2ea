"""`ipt-notes status`: each course at a glance.

Where a course stands (session k of N and its phase), the latest PHQ-9 and its band, the drafts
still unsigned, and how many problems `validate` would report for the client's files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ipt_notes.course import read_course
from ipt_notes.problems import Severity
from ipt_notes.validation import validate_course
from ipt_notes.vocabulary import instrument, statuses

__all__ = ["ClientStatus", "client_status", "practice_status"]

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


def client_status(folder: Path) -> ClientStatus:
    """Where one client's course stands, and how many problems its record has."""
    course = read_course(folder)
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
    problems = validate_course(folder, cwd=folder)
    errors = sum(1 for problem in problems if problem.severity is Severity.ERROR)
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
        warnings=len(problems) - errors,
    )


def practice_status(folders: list[Path]) -> list[ClientStatus]:
    """One status per client, in the order given, worked out on every core."""
    from ipt_notes.parallel import map_parallel

    return map_parallel(client_status, folders)

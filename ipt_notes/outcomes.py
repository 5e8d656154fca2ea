"""Scores over a course, and the outcome of treatment by two published definitions.

Totals and bands are computed from item scores, never read from the notes. The thresholds of
each definition are data, kept beside each instrument's facts in the schema (`x-instrument`
`outcomes`): this module only applies them, so a practice that reads a different threshold
there reads it in one place.

- *NHS Talking Therapies* judges the first against the last PHQ-9 and GAD-7 together: a case at
  a total at or above each measure's caseness; a reliable change of at least each measure's
  reliable-change points. It needs both measures, first and last.
- *PHQ-9 response and remission*: a fall of at least the response fraction from baseline, and a
  last total below the remission threshold. These need PHQ-9 alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ipt_notes.course import Course
from ipt_notes.vocabulary import attendance, instrument

__all__ = [
    "NHS_CLASSES",
    "NhsOutcome",
    "Phq9Outcome",
    "Score",
    "course_scores",
    "nhs_outcome",
    "phq9_outcome",
]

PHQ9 = "phq9"
GAD7 = "gad7"


class Score(NamedTuple):
    session: int
    date: str | None
    items: tuple[int, ...]
    total: int
    band: str | None


def _items(data: dict[str, Any], measure: str) -> tuple[int, ...] | None:
    measures = data.get("measures")
    if not isinstance(measures, dict):
        return None
    items = measures.get(measure)
    expected = instrument(measure).items
    if not isinstance(items, list) or len(items) != expected:
        return None
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        return None
    return tuple(items)


def course_scores(course: Course, measure: str) -> list[Score]:
    """Every scored session of the course for `measure`, in session order."""
    facts = instrument(measure)
    scores = []
    for note in course.sessions:
        if note.data is None or note.data.get("attendance", attendance().attended) != attendance().attended:
            continue
        items = _items(note.data, measure)
        if items is None:
            continue
        total = facts.total(list(items))
        date = note.data.get("date")
        scores.append(Score(note.number, date if isinstance(date, str) else None, items, total, facts.band(total)))
    return scores


NHS_CLASSES = (
    "reliable recovery",
    "recovery",
    "reliable improvement",
    "no reliable change",
    "reliable deterioration",
    "not classifiable",
)
"""The classes the review can name, in the order of their definitions."""


class NhsOutcome(NamedTuple):
    outcome: str
    """One of NHS_CLASSES."""
    reason: str
    """Why, in one sentence: the changes and caseness behind the class, or what is missing."""
    case_at_start: bool | None = None
    case_at_end: bool | None = None


def _change(scores: Sequence[Score]) -> int:
    return scores[-1].total - scores[0].total


def nhs_outcome(phq9: Sequence[Score], gad7: Sequence[Score]) -> NhsOutcome:
    """The NHS Talking Therapies class of a course, from the first and last score of each measure."""
    missing = [instrument(name).label for name, scores in ((PHQ9, phq9), (GAD7, gad7)) if len(scores) < 2]
    if missing:
        return NhsOutcome(
            "not classifiable",
            f"this definition needs a first and a last score of both PHQ-9 and GAD-7; "
            f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} fewer than two",
        )
    phq, gad = instrument(PHQ9).outcomes, instrument(GAD7).outcomes
    assert phq is not None and gad is not None and phq.caseness is not None and gad.caseness is not None
    assert phq.reliable_change is not None and gad.reliable_change is not None
    changes = {PHQ9: _change(phq9), GAD7: _change(gad7)}
    limits = {PHQ9: phq.reliable_change, GAD7: gad.reliable_change}
    improved = [name for name in changes if -changes[name] >= limits[name]]
    worse = [name for name in changes if changes[name] >= limits[name]]
    case_start = phq9[0].total >= phq.caseness or gad7[0].total >= gad.caseness
    case_end = phq9[-1].total >= phq.caseness or gad7[-1].total >= gad.caseness
    described = (
        f"PHQ-9 changed by {changes[PHQ9]:+d} (reliable at {limits[PHQ9]}), GAD-7 by {changes[GAD7]:+d} "
        f"(reliable at {limits[GAD7]}); "
        + ("a case at the start" if case_start else "below caseness at the start")
        + (" and a case at the end" if case_end else " and below caseness at the end")
    )
    if worse and not improved:
        outcome = "reliable deterioration"
    elif improved and not worse:
        recovered = case_start and not case_end
        outcome = "reliable recovery" if recovered else "reliable improvement"
    elif case_start and not case_end and not worse:
        outcome = "recovery"
    else:
        outcome = "no reliable change"
    return NhsOutcome(outcome, described, case_start, case_end)


class Phq9Outcome(NamedTuple):
    response: bool | None
    """A fall of at least the response fraction; None when it cannot be judged."""
    remission: bool | None
    reason: str
    fall_percent: int | None = None


def phq9_outcome(phq9: Sequence[Score]) -> Phq9Outcome:
    """PHQ-9 response and remission, from the first (baseline) and last scores."""
    facts = instrument(PHQ9).outcomes
    assert facts is not None and facts.response_fraction is not None and facts.remission_below is not None
    if len(phq9) < 2:
        return Phq9Outcome(None, None, "this definition needs a baseline and a last PHQ-9 score")
    first, last = phq9[0].total, phq9[-1].total
    remission = last < facts.remission_below
    if first == 0:
        return Phq9Outcome(None, remission, "a baseline of 0 leaves no fall to measure")
    fall = first - last
    # Exact in integers: a fall of at least the fraction of the baseline, 50 % included.
    response = fall * 1000 >= round(facts.response_fraction * 1000) * first
    percent = round(100 * fall / first)
    return Phq9Outcome(
        response,
        remission,
        f"PHQ-9 from {first} to {last}, a fall of {percent} % (response at "
        f"{round(facts.response_fraction * 100)} % or more; remission below {facts.remission_below})",
        percent,
    )

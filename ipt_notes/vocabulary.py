"""The vocabularies and instrument facts, read from the packaged schemas.

The schemas are their one definition; code names a term only through this module. Terms are
bound by their order in the schema's enums, and a test checks each binding. (The term sets are
named tuples: cheaper to define than dataclasses on every start.)
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from ipt_notes.schemas import load_schema

__all__ = [
    "Attendance",
    "Instrument",
    "Phases",
    "ProblemAreas",
    "Statuses",
    "areas",
    "attendance",
    "instrument",
    "instruments",
    "phases",
    "statuses",
    "terms",
]


def _enum(schema: str, *path: str) -> tuple[str, ...]:
    node: Any = load_schema(schema)
    for step in path:
        node = node[step]
    return tuple(node["enum"])


def _definitions() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema("definitions")["$defs"]
    return defs


def terms(vocabulary: str) -> tuple[str, ...]:
    """The terms of one vocabulary (`phase`, `problem_area`, `technique`...), in schema order."""
    return tuple(_definitions()[vocabulary]["enum"])


class Phases(NamedTuple):
    initial: str
    middle: str
    termination: str
    maintenance: str


class Statuses(NamedTuple):
    draft: str
    signed: str


class Attendance(NamedTuple):
    attended: str
    cancelled: str
    no_show: str


class ProblemAreas(NamedTuple):
    grief: str
    role_dispute: str
    role_transition: str
    interpersonal_deficits: str


@cache
def phases() -> Phases:
    return Phases(*terms("phase"))


@cache
def statuses() -> Statuses:
    return Statuses(*terms("note_status"))


class CourseStatuses(NamedTuple):
    active: str
    closed: str


class LifeEvents(NamedTuple):
    death: str
    dispute: str
    transition: str
    other: str


class CloseReasons(NamedTuple):
    completed: str
    dropout: str
    referred: str
    moved: str
    other: str


@cache
def close_reasons() -> CloseReasons:
    return CloseReasons(*terms("close_reason"))


@cache
def course_statuses() -> CourseStatuses:
    return CourseStatuses(*_enum("client", "properties", "course_status"))


@cache
def life_events() -> LifeEvents:
    return LifeEvents(*_enum("inventory", "$defs", "life_event", "properties", "kind"))


@cache
def attendance() -> Attendance:
    return Attendance(*terms("attendance"))


@cache
def areas() -> ProblemAreas:
    return ProblemAreas(*terms("problem_area"))


class AddendumKinds(NamedTuple):
    addendum: str
    late_entry: str
    correction: str
    patient_amendment: str


@cache
def addendum_kinds() -> AddendumKinds:
    return AddendumKinds(*terms("addendum_kind"))


class Band(NamedTuple):
    max: int
    label: str


class Outcomes(NamedTuple):
    """An instrument's outcome thresholds, kept as data beside its facts in the schema."""

    caseness: int | None
    """A total at or above this is a case (NHS Talking Therapies)."""
    reliable_change: int | None
    """The smallest change in total that is reliable."""
    response_fraction: float | None
    """Response: a fall of at least this fraction of the baseline total."""
    remission_below: int | None
    """Remission: a total below this."""
    source: str
    """Where the thresholds come from, as the rendered review names them."""


class Instrument(NamedTuple):
    """What ipt-notes knows of a measure: its items, its total range, its bands and its risk item."""

    name: str
    items: int
    item_max: int
    total_max: int
    bands: tuple[Band, ...]
    risk_item: int | None
    item_maxima: tuple[int, ...] = ()
    """Each item's own maximum, where items differ (HAM-D-17); empty when all share item_max."""
    outcomes: Outcomes | None = None
    """Thresholds for classifying change; None for an instrument without them."""
    label: str = ""
    """The instrument's name as people write it (PHQ-9), from its schema description."""

    def maximum_of(self, item: int) -> int:
        """The highest score of item `item` (1-based)."""
        return self.item_maxima[item - 1] if self.item_maxima else self.item_max

    def total(self, scores: list[int]) -> int:
        return sum(scores)

    def band(self, total: int) -> str | None:
        for band in self.bands:
            if total <= band.max:
                return band.label
        return None


@cache
def instrument(name: str) -> Instrument:
    definition = _definitions()[name]
    facts = definition["x-instrument"]
    return Instrument(
        name=name,
        items=definition["minItems"],
        item_max=definition["items"]["maximum"],
        total_max=facts["total"][1],
        bands=tuple(Band(b["max"], b["label"]) for b in facts["bands"]),
        risk_item=facts.get("risk_item"),
        item_maxima=tuple(facts.get("item_max", ())),
        outcomes=_outcomes(facts.get("outcomes")),
        label=str(definition.get("description", name)).split(":", 1)[0],
    )


def _outcomes(facts: dict[str, Any] | None) -> Outcomes | None:
    if facts is None:
        return None
    return Outcomes(
        caseness=facts.get("caseness"),
        reliable_change=facts.get("reliable_change"),
        response_fraction=facts.get("response_fraction"),
        remission_below=facts.get("remission_below"),
        source=facts.get("source", ""),
    )


def instruments() -> tuple[str, ...]:
    return terms("instrument")

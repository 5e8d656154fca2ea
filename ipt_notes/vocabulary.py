"""The vocabularies and instrument facts, read from the packaged definitions schema.

The schema is their one definition; code names a term only through this module. Terms are
bound by their order in the schema's enums, and a test checks each binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ipt_notes.schemas import load_schema

__all__ = [
    "Instrument",
    "Phases",
    "Statuses",
    "instrument",
    "instruments",
    "phases",
    "problem_areas",
    "statuses",
    "terms",
]


def _definitions() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema("definitions")["$defs"]
    return defs


def terms(vocabulary: str) -> tuple[str, ...]:
    """The terms of one vocabulary (`phase`, `problem_area`, `technique`...), in schema order."""
    return tuple(_definitions()[vocabulary]["enum"])


@dataclass(frozen=True)
class Phases:
    initial: str
    middle: str
    termination: str
    maintenance: str


@dataclass(frozen=True)
class Statuses:
    draft: str
    signed: str


@cache
def phases() -> Phases:
    return Phases(*terms("phase"))


@cache
def statuses() -> Statuses:
    return Statuses(*terms("note_status"))


def problem_areas() -> tuple[str, ...]:
    return terms("problem_area")


@dataclass(frozen=True)
class Band:
    max: int
    label: str


@dataclass(frozen=True)
class Instrument:
    """What ipt-notes knows of a measure: its items, its total range, its bands and its risk item."""

    name: str
    items: int
    item_max: int
    total_max: int
    bands: tuple[Band, ...]
    risk_item: int | None

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
    )


def instruments() -> tuple[str, ...]:
    return terms("instrument")

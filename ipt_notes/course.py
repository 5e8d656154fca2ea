"""One client's course: the contract, inventory, formulation, sessions, addenda and review.

A course is read from its files every time. A file that cannot be read is kept with no data, so
that numbering never skips a note and nothing is silently dropped. The scaffolding commands read
every file as it is; the course rules see only the files that pass their schema, so that each
rule can rely on the shape of what it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ipt_notes.errors import LoadError
from ipt_notes.layout import (
    CLIENT_NAME,
    FORMULATION_NAME,
    INVENTORY_NAME,
    REVIEW_NAME,
    SESSIONS_DIR,
    FileKind,
    addendum_numbers,
    cosigned_note,
    is_valid_client_id,
    kind_in_client,
    scan_client,
    session_number,
)
from ipt_notes.loader import read_document
from ipt_notes.settings import Phases
from ipt_notes.vocabulary import phases

__all__ = [
    "AddendumNote",
    "Cosignature",
    "Course",
    "SessionNote",
    "build_course",
    "client_id_of",
    "course_files",
    "phase_for",
    "read_course",
    "read_fields",
]


class SessionNote(NamedTuple):
    number: int
    path: Path
    data: dict[str, Any] | None
    """The front matter, or None when the note cannot be read as a note."""


class AddendumNote(NamedTuple):
    session: int
    """The number in the addendum's file name: the session note it is filed with."""
    number: int
    """K in NN.addendum-K.md."""
    path: Path
    data: dict[str, Any] | None


class Cosignature(NamedTuple):
    note: str
    """The note it co-signs by its own name, relative to the client folder (`sessions/07.md`)."""
    path: Path
    data: dict[str, Any] | None


class Course(NamedTuple):
    client_id: str
    folder: Path
    sessions: tuple[SessionNote, ...]
    client: dict[str, Any] | None
    formulation: dict[str, Any] | None
    inventory: dict[str, Any] | None = None
    review: dict[str, Any] | None = None
    addenda: tuple[AddendumNote, ...] = ()
    present: frozenset[Path] = frozenset()
    """Every file the course has, readable or not."""
    cosignatures: tuple[Cosignature, ...] = ()

    @property
    def planned(self) -> int | None:
        """Sessions in the contract, after any amendment; None while there is no readable contract."""
        return _planned(self.client)

    @property
    def problem_areas(self) -> tuple[str, ...]:
        """The formulation's problem areas, the primary one first."""
        return _problem_areas(self.formulation)

    def file(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        return self.folder / name in self.present

    def session(self, number: int) -> SessionNote | None:
        for note in self.sessions:
            if note.number == number:
                return note
        return None

    @property
    def last(self) -> SessionNote | None:
        return self.sessions[-1] if self.sessions else None

    def next_number(self) -> int:
        return self.sessions[-1].number + 1 if self.sessions else 1

    def last_scored(self, measure: str, before: int | None = None) -> SessionNote | None:
        """The latest note, before session `before` if given, that scores `measure`."""
        for note in self.sessions[::-1]:
            if before is not None and note.number >= before:
                continue
            measures = (note.data or {}).get("measures")
            if isinstance(measures, dict) and isinstance(measures.get(measure), list):
                return note
        return None


def read_fields(path: Path, *, front_matter: bool) -> dict[str, Any] | None:
    """The fields of a file (a note's front matter), or None when it cannot be read as a note."""
    try:
        data = read_document(path, front_matter=front_matter).data
    except LoadError:
        return None
    return data if isinstance(data, dict) else None


def client_id_of(folder: Path, client: Mapping[str, Any] | None = None) -> str:
    """A client's ID: what client.yaml says, else the folder's name (a clone may be named anything)."""
    if client is None:
        client = read_fields(folder / CLIENT_NAME, front_matter=False)
    recorded = (client or {}).get("client")
    if isinstance(recorded, str) and is_valid_client_id(recorded):
        return recorded
    return folder.name


def _planned(client: dict[str, Any] | None) -> int | None:
    contract = (client or {}).get("contract")
    if not isinstance(contract, dict):
        return None
    planned = contract.get("sessions_planned")
    for amendment in contract.get("amendments") or []:
        if isinstance(amendment, dict) and isinstance(amendment.get("sessions_planned"), int):
            planned = amendment["sessions_planned"]
    return planned if isinstance(planned, int) else None


def _problem_areas(formulation: dict[str, Any] | None) -> tuple[str, ...]:
    chosen = (formulation or {}).get("problem_areas")
    if not isinstance(chosen, list):
        return ()
    entries = [entry for entry in chosen if isinstance(entry, dict) and isinstance(entry.get("area"), str)]
    entries.sort(key=lambda entry: entry.get("primary") is not True)
    return tuple(dict.fromkeys(entry["area"] for entry in entries))


def build_course(folder: Path, fields: Mapping[Path, dict[str, Any] | None]) -> Course:
    """A course from the fields of each file that exists (None where a file is unreadable or refused)."""
    notes = []
    addenda = []
    cosignatures = []
    for path, data in fields.items():
        if kind_in_client(path.relative_to(folder).parts) is FileKind.COSIGNATURE:
            cosignatures.append(Cosignature(cosigned_note(path.relative_to(folder).as_posix()), path, data))
            continue
        if path.parent.parent != folder or path.parent.name != SESSIONS_DIR:
            continue
        if (number := session_number(path.name)) is not None:
            notes.append(SessionNote(number, path, data))
        elif (numbers := addendum_numbers(path.name)) is not None:
            addenda.append(AddendumNote(numbers[0], numbers[1], path, data))
    client = fields.get(folder / CLIENT_NAME)
    return Course(
        client_id=client_id_of(folder, client or {}),
        folder=folder,
        sessions=tuple(sorted(notes, key=lambda note: note.number)),
        client=client,
        formulation=fields.get(folder / FORMULATION_NAME),
        inventory=fields.get(folder / INVENTORY_NAME),
        review=fields.get(folder / REVIEW_NAME),
        addenda=tuple(sorted(addenda, key=lambda a: (a.session, a.number))),
        present=frozenset(fields),
        cosignatures=tuple(sorted(cosignatures, key=lambda cosignature: cosignature.note)),
    )


def course_files(folder: Path) -> dict[Path, FileKind]:
    """Every notes file of a client folder on disk, with its kind: whatever stands under a notes
    file's name, so that a link, a pipe or a folder there is read (and refused) rather than
    passed over; links are never followed."""
    return {found.path: found.kind for found in scan_client(folder, folder) if found.kind is not None}


def read_course(folder: Path) -> Course:
    """The course with every file read as it is on disk (course settings aside)."""
    return build_course(
        folder,
        {
            path: read_fields(path, front_matter=kind.has_front_matter)
            for path, kind in course_files(folder).items()
            if kind is not FileKind.COURSE_SETTINGS
        },
    )


def phase_for(number: int, planned: int | None, boundaries: Phases) -> str:
    """The phase of session `number` in a course of `planned` sessions.

    The initial phase takes the first sessions; termination takes the last planned ones;
    maintenance follows the planned end; the middle phase is what lies between. Without a
    contract, only the initial phase can be told apart. The rule `phase-matches-session` judges
    notes by the same boundaries.
    """
    phase = phases()
    if number <= boundaries.initial_sessions:
        return phase.initial
    if planned is None:
        return phase.middle
    if number > planned:
        return phase.maintenance
    if number > planned - boundaries.termination_sessions:
        return phase.termination
    return phase.middle

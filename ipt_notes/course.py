"""One client's course: the contract, inventory, formulation, sessions, addenda and review.

A course is read from its files every time. A file that cannot be read is kept with no data, so
that numbering never skips a note and nothing is silently dropped. The scaffolding commands read
every file as it is; the course rules see only the files that pass their schema, so that each
rule can rely on the shape of what it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ipt_notes.errors import LoadError, RefusedInput
from ipt_notes.layout import FileKind, require_client_id
from ipt_notes.loader import read_document
from ipt_notes.settings import Settings
from ipt_notes.vocabulary import phases

__all__ = [
    "AddendumNote",
    "Course",
    "SessionNote",
    "addendum_notes",
    "build_course",
    "course_files",
    "find_client",
    "phase_for",
    "read_course",
    "read_fields",
    "session_notes",
]

_SESSION_FILE = re.compile(r"([0-9]{2,3})\.md\Z")
_ADDENDUM_FILE = re.compile(r"([0-9]{2,3})\.addendum-([1-9][0-9]*)\.md\Z")


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


def _listing(folder: Path, pattern: re.Pattern[str]) -> list[tuple[re.Match[str], Path]]:
    sessions = folder / "sessions"
    if not sessions.is_dir() or sessions.is_symlink():
        return []
    found = []
    with os.scandir(sessions) as entries:
        for entry in entries:
            match = pattern.match(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                found.append((match, Path(entry.path)))
    return found


def session_notes(folder: Path) -> list[tuple[int, Path]]:
    """The session notes in a client folder, by number; links are never followed."""
    return sorted((int(match.group(1)), path) for match, path in _listing(folder, _SESSION_FILE))


def addendum_notes(folder: Path) -> list[tuple[int, int, Path]]:
    """The addenda in a client folder, by session number and index."""
    return sorted((int(match.group(1)), int(match.group(2)), path) for match, path in _listing(folder, _ADDENDUM_FILE))


def find_client(root: Path, client: str | None, cwd: Path) -> tuple[str, Path]:
    """The client named by ID or by folder, or the client folder the current folder is in."""
    clients = root / "clients"
    if client is None:
        try:
            relative = cwd.resolve().relative_to(clients.resolve())
        except ValueError:
            raise RefusedInput("name the client (an ID such as C-0042), or run this inside a client folder") from None
        if not relative.parts:
            raise RefusedInput("name the client (an ID such as C-0042), or run this inside a client folder")
        client_id = relative.parts[0]
    else:
        candidate = Path(client)
        if len(candidate.parts) > 1 or candidate.is_dir():
            resolved = (cwd / candidate).resolve()
            if resolved.parent != clients.resolve():
                raise RefusedInput(f"{client} is not a client folder (clients/<ID>) of this notes repository")
            client_id = resolved.name
        else:
            client_id = client
    folder = clients / require_client_id(client_id)
    if folder.is_symlink() or not folder.is_dir():
        raise RefusedInput(f"no client {client_id} in this notes repository (ipt-notes new-client {client_id})")
    return client_id, folder


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


_CLIENT_FILES = {
    "client.yaml": FileKind.CLIENT,
    "inventory.yaml": FileKind.INVENTORY,
    "formulation.md": FileKind.FORMULATION,
    "review.md": FileKind.REVIEW,
}


def build_course(folder: Path, fields: Mapping[Path, dict[str, Any] | None]) -> Course:
    """A course from the fields of each file that exists (None where a file is unreadable or refused)."""
    sessions_folder = folder / "sessions"
    notes = []
    addenda = []
    for path, data in fields.items():
        if path.parent != sessions_folder:
            continue
        if session := _SESSION_FILE.match(path.name):
            notes.append(SessionNote(int(session.group(1)), path, data))
        elif addendum := _ADDENDUM_FILE.match(path.name):
            addenda.append(AddendumNote(int(addendum.group(1)), int(addendum.group(2)), path, data))
    client = fields.get(folder / "client.yaml")
    formulation = fields.get(folder / "formulation.md")
    return Course(
        client_id=folder.name,
        folder=folder,
        sessions=tuple(sorted(notes, key=lambda note: note.number)),
        client=client,
        formulation=formulation,
        inventory=fields.get(folder / "inventory.yaml"),
        review=fields.get(folder / "review.md"),
        addenda=tuple(sorted(addenda, key=lambda a: (a.session, a.number))),
        present=frozenset(fields),
    )


def course_files(folder: Path) -> dict[Path, FileKind]:
    """Every notes file of a client folder on disk, with its kind; links are never followed."""
    files = {
        folder / name: kind
        for name, kind in _CLIENT_FILES.items()
        if (folder / name).is_file() and not (folder / name).is_symlink()
    }
    files.update({path: FileKind.SESSION for _, path in session_notes(folder)})
    files.update({path: FileKind.ADDENDUM for _, _, path in addendum_notes(folder)})
    return files


def read_course(folder: Path) -> Course:
    """The course with every file read as it is on disk."""
    return build_course(
        folder,
        {path: read_fields(path, front_matter=kind.has_front_matter) for path, kind in course_files(folder).items()},
    )


def phase_for(number: int, planned: int | None, settings: Settings) -> str:
    """The phase of session `number` in a course of `planned` sessions.

    The initial phase takes the first sessions; termination takes the last planned ones;
    maintenance follows the planned end; the middle phase is what lies between. Without a
    contract, only the initial phase can be told apart.
    """
    phase = phases()
    if number <= settings.initial_sessions:
        return phase.initial
    if planned is None:
        return phase.middle
    if number > planned:
        return phase.maintenance
    if number > planned - settings.termination_sessions:
        return phase.termination
    return phase.middle

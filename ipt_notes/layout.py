"""The layout of a notes repository: what kind of file lives where, and how to find them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from ipt_notes.errors import NotesRepositoryNotFound, RefusedInput

__all__ = [
    "CLIENT_ID_RULE",
    "CONFIG_NAME",
    "FileKind",
    "FoundFile",
    "find_root",
    "is_valid_client_id",
    "kind_of",
    "kind_of_parts",
    "notes_files",
    "require_client_id",
]

CONFIG_NAME = "ipt-notes.yaml"
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
_SESSION_NAME = re.compile(r"[0-9]{2,3}\.md\Z")
_ADDENDUM_NAME = re.compile(r"[0-9]{2,3}\.addendum-[1-9][0-9]*\.md\Z")
# Folders never read when a tree is searched: git's own, and psychotherapy (process) notes,
# which are kept apart from the record.
_SKIPPED_DIRS = frozenset({".git", "private", "node_modules", "__pycache__"})


class FileKind(StrEnum):
    """A kind of notes file; its value is the name of its schema."""

    CONFIG = "config"
    CLIENT = "client"
    INVENTORY = "inventory"
    FORMULATION = "formulation"
    SESSION = "session"
    ADDENDUM = "addendum"
    REVIEW = "review"

    @property
    def has_front_matter(self) -> bool:
        """Markdown notes carry their fields as YAML front matter."""
        return self in _MARKDOWN_KINDS


_MARKDOWN_KINDS = frozenset({FileKind.FORMULATION, FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW})
_CLIENT_FILES = {
    "client.yaml": FileKind.CLIENT,
    "inventory.yaml": FileKind.INVENTORY,
    "formulation.md": FileKind.FORMULATION,
    "review.md": FileKind.REVIEW,
}


def is_valid_client_id(client_id: str) -> bool:
    return _CLIENT_ID.match(client_id) is not None


CLIENT_ID_RULE = "a client ID is a pseudonymous code: a letter or digit, then up to 39 letters, digits, _ or -"


def require_client_id(client_id: str) -> str:
    """The ID, when it is a safe pseudonymous code; anything else is refused before any file is touched."""
    if not is_valid_client_id(client_id):
        raise RefusedInput(CLIENT_ID_RULE)
    return client_id


def kind_of(path: Path) -> FileKind | None:
    """The kind of a file from its place in the layout, or None when it is not a notes file."""
    return kind_of_parts(path.parts)


def kind_of_parts(parts: tuple[str, ...]) -> FileKind | None:
    name = parts[-1] if parts else ""
    if name == CONFIG_NAME:
        return FileKind.CONFIG
    if len(parts) >= 3 and parts[-3] == "clients" and is_valid_client_id(parts[-2]):
        return _CLIENT_FILES.get(name)
    if len(parts) >= 4 and parts[-4] == "clients" and parts[-2] == "sessions" and is_valid_client_id(parts[-3]):
        if _SESSION_NAME.match(name):
            return FileKind.SESSION
        if _ADDENDUM_NAME.match(name):
            return FileKind.ADDENDUM
    return None


def find_root(start: Path) -> Path:
    """The notes repository around `start`: the nearest folder upwards holding ipt-notes.yaml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NotesRepositoryNotFound(start=str(start))


class FoundFile(NamedTuple):
    path: Path
    """Absolute."""
    kind: FileKind | None
    shown: str
    """How the path appears in messages: relative to the current folder."""
    named: bool
    """Named on the command line, rather than found in a folder."""


def _join_shown(shown: str, name: str, absolute: str | None) -> str:
    if shown == ".":
        return name
    if shown.startswith("..") and absolute is not None:
        # Outside the current folder, the shortest relative path may not pass through the walk's root.
        return os.path.relpath(absolute)
    return f"{shown}/{name}"


def _scan(folder: str, parts: tuple[str, ...], shown: str) -> Iterator[FoundFile]:
    # Symbolic links are not followed: a notes tree is read as it is, never through a link.
    # os.scandir's entries know their type, so a tree of 10,000 notes costs no extra stat call.
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        name = entry.name
        if entry.is_symlink():
            continue
        if entry.is_dir():
            if name not in _SKIPPED_DIRS and not name.startswith("."):
                yield from _scan(entry.path, (*parts, name), _join_shown(shown, name, None))
        elif entry.is_file():
            kind = kind_of_parts((*parts, name))
            if kind is not None:
                yield FoundFile(Path(entry.path), kind, _join_shown(shown, name, entry.path), False)


def notes_files(paths: list[Path], cwd: Path) -> Iterator[FoundFile]:
    """Each file named, and each notes file under each folder named, with its kind.

    A file named explicitly is yielded even when its kind is unknown, so that the caller can say
    so; files found in folders are yielded only when they are notes files.
    """
    for path in paths:
        if path.is_dir():
            # Walk from the absolute folder so that each file's kind shows in its own path.
            absolute = path.resolve()
            yield from _scan(str(absolute), absolute.parts, os.path.relpath(absolute, cwd))
        elif path.exists():
            shown = os.path.normpath(path) if not path.is_absolute() else os.path.relpath(path, cwd)
            absolute = path.resolve()
            yield FoundFile(absolute, kind_of(absolute), shown, True)
        else:
            raise RefusedInput(f"no such file or folder: {path}")

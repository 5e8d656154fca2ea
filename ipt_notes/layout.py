"""The layout of a practice and of each client's repository: the one place that knows file names.

A practice folder holds `ipt-notes.yaml`, an optional `templates/`, `rendered/`, the practice
register, and `clients/<ID>/`. Each client folder is a git repository of its own:

    client.yaml  inventory.yaml  formulation.md  review.md  course-settings.yaml
    sessions/NN.md  sessions/NN.addendum-K.md  private/ (never read, never committed)

A client's repository stands alone: a clone of it anywhere is recognised by its files, so the
kind of a file comes from its place relative to its client folder, not from the practice.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from ipt_notes.errors import PracticeNotFound, RefusedInput, UnsafeClientId
from ipt_notes.problems import NOT_A_REGULAR_FILE, STRAY_FILE

__all__ = [
    "CLIENTS_DIR",
    "CLIENT_ID_RULE",
    "CLIENT_NAME",
    "CONFIG_NAME",
    "FORMULATION_NAME",
    "IMMUTABLE_KINDS",
    "INVENTORY_NAME",
    "PRIVATE_DIR",
    "REGISTER_NAME",
    "RENDERED_DIR",
    "REVIEW_NAME",
    "SESSIONS_DIR",
    "SETTINGS_NAME",
    "SIGNED_KINDS",
    "TEMPLATES_DIR",
    "ClientRef",
    "FileKind",
    "FoundFile",
    "addendum_name",
    "addendum_numbers",
    "client_files",
    "client_root_of",
    "cosignature_path",
    "cosigned_note",
    "find_client_folder",
    "find_practice",
    "in_practice",
    "is_client_root",
    "is_valid_client_id",
    "kind_in_client",
    "kind_of",
    "link_below_root",
    "named_path",
    "note_folder",
    "notes_files",
    "practice_clients",
    "practice_of",
    "rendered_documents",
    "require_client_id",
    "require_practice",
    "resolve_client",
    "scan_client",
    "session_name",
    "session_number",
]

CONFIG_NAME = "ipt-notes.yaml"
REGISTER_NAME = "register.yaml"
SETTINGS_NAME = "course-settings.yaml"
CLIENT_NAME = "client.yaml"
INVENTORY_NAME = "inventory.yaml"
FORMULATION_NAME = "formulation.md"
REVIEW_NAME = "review.md"
CLIENTS_DIR = "clients"
SESSIONS_DIR = "sessions"
PRIVATE_DIR = "private"
RENDERED_DIR = "rendered"
TEMPLATES_DIR = "templates"

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
_SESSION_NAME = re.compile(r"([0-9]{2,3})\.md\Z")
_ADDENDUM_NAME = re.compile(r"([0-9]{2,3})\.addendum-([1-9][0-9]*)\.md\Z")
_COSIGNATURE_SUFFIX = ".cosignature.yaml"
_COSIGNATURE_NAME = re.compile(r"([0-9]{2,3})(?:\.addendum-[1-9][0-9]*)?\.cosignature\.yaml\Z")
# Folders never read when a tree is searched: git's own, and psychotherapy (process) notes,
# which are kept apart from the record.
_SKIPPED_DIRS = frozenset({".git", PRIVATE_DIR, "node_modules", "__pycache__"})


class FileKind(StrEnum):
    """A kind of notes file; its value is the name of its schema."""

    CONFIG = "config"
    REGISTER = "register"
    COURSE_SETTINGS = "course_settings"
    CLIENT = "client"
    INVENTORY = "inventory"
    FORMULATION = "formulation"
    SESSION = "session"
    ADDENDUM = "addendum"
    REVIEW = "review"
    COSIGNATURE = "cosignature"

    @property
    def has_front_matter(self) -> bool:
        """Markdown notes carry their fields as YAML front matter."""
        return self in _MARKDOWN_KINDS


_MARKDOWN_KINDS = frozenset({FileKind.FORMULATION, FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW})
SIGNED_KINDS = frozenset({FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW})
"""The kinds a clinician signs, and that never change once signed."""
IMMUTABLE_KINDS = SIGNED_KINDS | {FileKind.COSIGNATURE}
"""The kinds that never change once committed signed: signed notes, and every co-signature."""

_CLIENT_FILES = {
    SETTINGS_NAME: FileKind.COURSE_SETTINGS,
    CLIENT_NAME: FileKind.CLIENT,
    INVENTORY_NAME: FileKind.INVENTORY,
    FORMULATION_NAME: FileKind.FORMULATION,
    REVIEW_NAME: FileKind.REVIEW,
    REVIEW_NAME.removesuffix(".md") + _COSIGNATURE_SUFFIX: FileKind.COSIGNATURE,
}
_PRACTICE_FILES = {CONFIG_NAME: FileKind.CONFIG, REGISTER_NAME: FileKind.REGISTER}


def client_files() -> dict[str, FileKind]:
    """The files at the top of a client folder, by name."""
    return dict(_CLIENT_FILES)


def is_valid_client_id(client_id: str) -> bool:
    return _CLIENT_ID.match(client_id) is not None


CLIENT_ID_RULE = "a client ID is a pseudonymous code: a letter or digit, then up to 39 letters, digits, _ or -"


def require_client_id(client_id: str) -> str:
    """The ID, when it is a safe pseudonymous code; anything else is refused before any file is touched."""
    if not is_valid_client_id(client_id):
        raise UnsafeClientId(reason=CLIENT_ID_RULE)
    return client_id


def rendered_documents(rendered: Path, client_id: str) -> list[Path]:
    """The documents rendered for a client in the practice's rendered/ folder.

    They are named `<ID>-review.<ext>` and `<ID>-session-<NN>.<ext>`. The whole name is matched,
    so the documents of C-1 are never taken for those of C-1-2 or C-10.
    """
    pattern = re.compile(re.escape(client_id) + r"-(?:review|session-[0-9]{2,3})\.(?:html|md|pdf)\Z")
    if not rendered.is_dir() or rendered.is_symlink():
        return []
    return sorted(path for path in rendered.iterdir() if pattern.match(path.name) and not path.is_dir())


def session_name(number: int) -> str:
    return f"{number:02d}.md"


def addendum_name(number: int, index: int | str) -> str:
    return f"{number:02d}.addendum-{index}.md"


def session_number(name: str) -> int | None:
    """The number of a session note from its file name (`05.md`), or None."""
    match = _SESSION_NAME.match(name)
    return int(match.group(1)) if match else None


def addendum_numbers(name: str) -> tuple[int, int] | None:
    """The session and index of an addendum from its file name (`05.addendum-1.md`), or None."""
    match = _ADDENDUM_NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def kind_in_client(relative: tuple[str, ...]) -> FileKind | None:
    """The kind of a file from its path inside a client folder, or None when it is not a notes file."""
    if len(relative) == 1:
        return _CLIENT_FILES.get(relative[0])
    if len(relative) == 2 and relative[0] == SESSIONS_DIR:
        if _SESSION_NAME.match(relative[1]):
            return FileKind.SESSION
        if _ADDENDUM_NAME.match(relative[1]):
            return FileKind.ADDENDUM
        if _COSIGNATURE_NAME.match(relative[1]):
            return FileKind.COSIGNATURE
    return None


def cosignature_path(note: str) -> str:
    """Where the co-signature of a note (relative to its client folder, `sessions/07.md`) goes:
    beside it, under its name (`sessions/07.cosignature.yaml`)."""
    return note.removesuffix(".md") + _COSIGNATURE_SUFFIX


def cosigned_note(cosignature: str) -> str:
    """The note a co-signature file (relative to its client folder) belongs to, by its name."""
    return cosignature.removesuffix(_COSIGNATURE_SUFFIX) + ".md"


def note_folder(path: Path, kind: FileKind) -> Path:
    """The client folder of a notes file: what sits in sessions/ is one level down."""
    return path.parent.parent if path.parent.name == SESSIONS_DIR and kind is not None else path.parent


def in_practice(folder: Path) -> bool:
    """Whether a client folder sits in `clients/` of a practice (not a clone on its own)."""
    return folder.parent.name == CLIENTS_DIR and (folder.parent.parent / CONFIG_NAME).is_file()


def is_client_root(folder: Path) -> bool:
    """Whether a folder is a client's: it holds client.yaml or course-settings.yaml, or it is a
    validly named folder in `clients/`. A practice folder is never a client folder."""
    if (folder / CONFIG_NAME).exists():
        return False
    if (folder / CLIENT_NAME).is_file() or (folder / SETTINGS_NAME).is_file():
        return True
    return folder.parent.name == CLIENTS_DIR and is_valid_client_id(folder.name) and folder.is_dir()


def client_root_of(path: Path) -> Path | None:
    """The client folder that holds `path` (absolute), or None; the search stops at a practice."""
    for folder in (path, *path.parents):
        if (folder / CONFIG_NAME).is_file():
            return None
        if folder.is_dir() and is_client_root(folder):
            return folder
    return None


def named_path(path: Path, cwd: Path) -> Path:
    """A path named on the command line, made absolute without following any link in it: the
    current folder is resolved (it may sit under a link such as macOS's /var), the rest is not."""
    return Path(os.path.normpath(cwd.resolve() / path))


def link_below_root(path: Path) -> Path | None:
    """The first link on the way down to `path` (absolute, not resolved) from the record's root,
    or None.

    The root is the practice around `path`, or else its client folder (a clone on its own). Links
    above the root are the machine's business; below it, notes are read and written where they
    are, never through a link, so that no command reaches into another client's folder or
    outside the practice.
    """
    chain = [path, *path.parents]
    practice = next((i for i, folder in enumerate(chain) if i and (folder / CONFIG_NAME).is_file()), None)
    if practice is None:
        practice = next((i for i, folder in enumerate(chain) if i and is_client_root(folder)), 0)
    for component in reversed(chain[:practice]):
        if component.is_symlink():
            return component
    return None


def kind_of(path: Path) -> FileKind | None:
    """The kind of a file (absolute path) from its place in the layout, or None."""
    if path.name in _PRACTICE_FILES and (path.name == CONFIG_NAME or (path.parent / CONFIG_NAME).is_file()):
        return _PRACTICE_FILES[path.name]
    root = client_root_of(path.parent)
    if root is None:
        return None
    return kind_in_client(path.relative_to(root).parts)


def find_practice(start: Path) -> Path | None:
    """The practice around `start`: the nearest folder upwards holding ipt-notes.yaml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def require_practice(start: Path) -> Path:
    practice = find_practice(start)
    if practice is None:
        raise PracticeNotFound(start=str(start))
    return practice


def find_client_folder(start: Path) -> Path | None:
    """The client folder around `start`, in a practice or in a clone on its own."""
    return client_root_of(start.resolve())


def practice_clients(practice: Path, *, refuse_links: bool = True) -> list[Path]:
    """Every client folder of a practice, in ID order. Links are never followed, and one where a
    client folder (or clients/ itself) should be is refused, so that no command passes over a
    client in silence (validate, which reports them as findings, passes `refuse_links=False`)."""
    clients = practice / CLIENTS_DIR
    if not refuse_links and clients.is_symlink():
        return []
    if clients.is_symlink():
        raise RefusedInput(f"{CLIENTS_DIR}/ is a link: ipt-notes never works through a link; make it a folder")
    if not clients.is_dir():
        return []
    with os.scandir(clients) as entries:
        listed = [entry for entry in entries if is_valid_client_id(entry.name)]
    linked = sorted(entry.name for entry in listed if entry.is_symlink())
    if linked and refuse_links:
        names = ", ".join(f"{CLIENTS_DIR}/{name}" for name in linked)
        raise RefusedInput(f"{names}: a link where a client folder should be; move the client's folder there instead")
    return sorted(Path(entry.path) for entry in listed if entry.is_dir(follow_symlinks=False))


class ClientRef(NamedTuple):
    """A client's folder, and the practice it belongs to when it is in one."""

    folder: Path
    practice: Path | None


def resolve_client(client: str | None, *, cwd: Path, root: Path | None = None) -> ClientRef:
    """The client named by an ID, by a folder, or by the current folder when `client` is None.

    An ID needs a practice (from --root, or found upwards); a folder may be a clone on its own.
    """
    if client is None:
        folder = find_client_folder(cwd if root is None else root)
        if folder is None:
            raise RefusedInput("name the client (an ID such as C-0042), or run this inside a client folder")
        return ClientRef(folder, practice_of(folder))
    candidate = cwd / client
    if os.sep in client or client in (".", "..") or (candidate.is_dir() and not is_valid_client_id(client)):
        folder = candidate.resolve()
        if link_below_root(named_path(Path(client), cwd)) is not None:
            raise RefusedInput(f"{client} is reached through a link: ipt-notes never works through a link")
        if candidate.is_symlink() or not folder.is_dir() or not is_client_root(folder):
            raise RefusedInput(f"{client} is not a client folder")
        return ClientRef(folder, practice_of(folder))
    require_client_id(client)
    practice = root.resolve() if root is not None else find_practice(cwd)
    if practice is None and candidate.is_dir() and not candidate.is_symlink() and is_client_root(candidate.resolve()):
        return ClientRef(candidate.resolve(), practice_of(candidate.resolve()))  # a clone, named by its folder
    if practice is None:
        raise PracticeNotFound(start=str(cwd))
    folder = practice / CLIENTS_DIR / client
    if (practice / CLIENTS_DIR).is_symlink() or folder.is_symlink():
        raise RefusedInput(f"{CLIENTS_DIR}/{client} is reached through a link: ipt-notes never works through a link")
    if not folder.is_dir():
        raise RefusedInput(f"no client {client} in this practice (ipt-notes new-client {client})")
    return ClientRef(folder, practice)


def practice_of(folder: Path) -> Path | None:
    """The practice a client folder sits in, or None for a clone on its own."""
    return folder.parent.parent if in_practice(folder) else None


class FoundFile(NamedTuple):
    path: Path
    """Absolute."""
    kind: FileKind | None
    shown: str
    """How the path appears in messages: relative to the current folder."""
    client: Path | None
    """The client folder the file belongs to, if any."""
    rule: str | None = None
    """Why a path with no kind is reported: a stray file in sessions/, or a link or other
    irregular file where the layout expects a file or folder."""


def _shown(path: str, cwd: Path) -> str:
    return os.path.relpath(path, cwd)


def scan_client(folder: Path, cwd: Path) -> Iterator[FoundFile]:
    """A client's notes files, and whatever stands in their place: a link, a pipe or a folder
    under a note's name is yielded for the reader to refuse, and any other name in sessions/ is
    a stray file."""
    for name, top_kind in sorted(_CLIENT_FILES.items()):
        path = folder / name
        if os.path.lexists(path):
            yield FoundFile(path, top_kind, _shown(str(path), cwd), folder)
    sessions = folder / SESSIONS_DIR
    if sessions.is_symlink() or (os.path.lexists(sessions) and not sessions.is_dir()):
        yield FoundFile(sessions, None, _shown(str(sessions), cwd), folder, NOT_A_REGULAR_FILE)
    elif sessions.is_dir():
        # os.scandir's entries know their type, so a client of many notes costs no extra stat call.
        with os.scandir(sessions) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            kind = kind_in_client((SESSIONS_DIR, entry.name))
            yield FoundFile(Path(entry.path), kind, _shown(entry.path, cwd), folder, None if kind else STRAY_FILE)


def _scan(folder: Path, cwd: Path) -> Iterator[FoundFile]:
    """Every notes file under a folder: a practice, a client, or any folder holding them."""
    if is_client_root(folder):
        yield from scan_client(folder, cwd)
        return
    for name, kind in _PRACTICE_FILES.items():
        path = folder / name
        if path.is_file() and not path.is_symlink() and (folder / CONFIG_NAME).is_file():
            yield FoundFile(path, kind, _shown(str(path), cwd), None)
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.name in _SKIPPED_DIRS or entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _scan(Path(entry.path), cwd)
        elif entry.is_symlink() and entry.is_dir():
            # A record is read as it is, never through a link: a linked folder is reported, not walked.
            yield FoundFile(Path(entry.path), None, _shown(entry.path, cwd), None, NOT_A_REGULAR_FILE)


def _named_exists(path: Path) -> bool:
    """Whether something stands at a named path; one that cannot even be looked at (a folder on
    the way without permission) counts, so that reading it reports why (the unreadable rule)."""
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def notes_files(paths: list[Path], cwd: Path) -> Iterator[FoundFile]:
    """Each file named, and each notes file under each folder named, with its kind and client.

    A file named explicitly is yielded even when its kind is unknown, so that the caller can say
    so; files found in folders are yielded only when they are notes files.
    """
    cwd = cwd.resolve()
    for path in paths:
        absolute = named_path(path, cwd)
        if link_below_root(absolute) is not None:
            yield FoundFile(absolute, None, _shown(str(absolute), cwd), None, NOT_A_REGULAR_FILE)
        elif absolute.is_dir():
            client = client_root_of(absolute)
            if client is not None and client != absolute:
                # A folder inside a client (such as sessions/): its files, as parts of that client.
                yield from (found for found in scan_client(client, cwd) if absolute in found.path.parents)
            else:
                yield from _scan(absolute, cwd)
        elif _named_exists(absolute):
            kind = kind_of(absolute)
            client = None if kind in (None, *_PRACTICE_FILES.values()) else client_root_of(absolute.parent)
            yield FoundFile(absolute, kind, _shown(str(absolute), cwd), client)
        else:
            raise RefusedInput(f"no such file or folder: {path}")

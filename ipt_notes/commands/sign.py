"""`sign` and `cosign`: locking notes, and the supervisor's co-signature.

Signing checks the note as it will be once signed (its schema and its course's rules), then sets
status, signer, time and content hash, and commits through the git command line, so that git's
commit signing applies when the clinician has it set. A signed note is never changed again by
ipt-notes, except that a supervisor's co-signature is added in lines the hash leaves out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ipt_notes.actions import message, note_item
from ipt_notes.checks import load_problem, read_checked
from ipt_notes.course import client_id_of
from ipt_notes.errors import LoadError, NotesInvalid, RefusedInput
from ipt_notes.files import create_new, replace_atomically
from ipt_notes.git import commit_paths, open_client_repository
from ipt_notes.layout import (
    CLIENT_NAME,
    SIGNED_KINDS,
    FileKind,
    client_root_of,
    cosignature_path,
    kind_in_client,
    link_below_root,
    named_path,
)
from ipt_notes.loader import read_bytes, read_document, yaml_document
from ipt_notes.lock import repository_lock
from ipt_notes.problems import Severity
from ipt_notes.signing import content_hash, is_signed, recorded_hash, signed_with_origins, timestamp
from ipt_notes.validation import commit_errors, shown_path, validate_course
from ipt_notes.vocabulary import statuses

__all__ = ["Note", "awaiting_cosignature", "cosign_notes", "find_note", "note_fields", "sign_notes"]


class Note(NamedTuple):
    """A note named on the command line: its absolute path, its kind and its client folder."""

    path: Path
    kind: FileKind
    folder: Path

    @property
    def label(self) -> str:
        """How the note is named in a commit message: the client ID and the session number, no more."""
        return note_item(client_id_of(self.folder), self.path.name)


def find_note(note: Path, cwd: Path) -> Note:
    """The note at `note`, with its kind and client folder; anything else is refused."""
    absolute = named_path(note, cwd)
    if link_below_root(absolute) is not None:
        raise RefusedInput(f"{note} is reached through a link: sign a note where it is, never through a link")
    if not absolute.is_file():
        raise RefusedInput(f"no such note: {note}")
    folder = client_root_of(absolute.parent)
    kind = kind_in_client(absolute.relative_to(folder).parts) if folder is not None else None
    if folder is None or kind not in SIGNED_KINDS:
        raise RefusedInput(f"{note} is not a session note, an addendum or a review of a client")
    assert kind is not None
    return Note(absolute, kind, folder)


def note_fields(note: Note) -> dict[str, object]:
    shown = os.path.relpath(note.path)
    try:
        data = read_document(note.path, front_matter=note.kind.has_front_matter).data
    except LoadError as error:
        raise NotesInvalid(what=shown, problems=[load_problem(error, shown)]) from None
    if not isinstance(data, dict):
        raise RefusedInput(f"{note.path.name} has no fields to sign")
    return data


def _check_as_signed(folder: Path, replaced: dict[Path, tuple[bytes, list[int]]], cwd: Path) -> None:
    """Refuse, with every finding, notes that would not be valid and complete once signed.

    Each finding is shown at its line in the draft on disk, not in the signed text.
    """
    contents = {path: text for path, (text, _) in replaced.items()}
    origins = {shown_path(path, cwd): lines for path, (_, lines) in replaced.items()}
    problems = [
        p._replace(line=origins[p.path][p.line - 1]) if p.path in origins else p
        for p in validate_course(folder, cwd=cwd, contents=contents, report=list(replaced))
        if p.severity is Severity.ERROR
    ]
    if problems:
        raise NotesInvalid(
            what="the note",
            problems=problems,
            advice="a signed note may have none of them, so nothing was signed",
        )


Rewrite = Callable[[list[Note], str, str, Path], dict[Path, bytes]]
"""Given one client's notes, git's identity, the time and the current folder, the new bytes of
each note (or a refusal)."""


def _rewrite_and_commit(
    cwd: Path, notes: list[Path], action: str, rewrite: Rewrite, now: dt.datetime | None, *, new_files: bool = False
) -> list[Path]:
    """Every client's notes checked and rewritten first, under all their locks; then, only if none
    was refused, each client's notes written and committed, one commit per client."""
    targets = list(dict.fromkeys(find_note(path, cwd) for path in notes))
    by_client: dict[Path, list[Note]] = {}
    for target in targets:
        by_client.setdefault(target.folder, []).append(target)
    repositories = {folder: open_client_repository(folder) for folder in by_client}
    when = timestamp(now)
    done: list[Path] = []
    with contextlib.ExitStack() as locks:
        for folder in sorted(by_client):  # always in one order, so two commands never deadlock
            locks.enter_context(repository_lock(repositories[folder].git_dir))
        plans = {
            folder: rewrite(group, repositories[folder].preflight(), when, cwd) for folder, group in by_client.items()
        }
        for folder, texts in plans.items():
            for path, text in texts.items():
                if new_files:
                    if os.path.lexists(path) and read_bytes(path) == text:
                        continue  # written by an interrupted run, and committed below as it is
                    create_new(path, text)  # a co-signature is never written over another
                else:
                    replace_atomically(path, text)
            commit_paths(
                repositories[folder],
                list(texts),
                message(action, *(note.label for note in by_client[folder])),
                precheck=commit_errors,
            )
            done.extend(texts)
    return done


def _signed(notes: list[Note], signer: str, when: str, cwd: Path) -> dict[Path, bytes]:
    # The contract is read before anything is written: a note is not signed into a record whose
    # client.yaml is missing or broken, and what is read after the commit cannot fail.
    contract = notes[0].folder / CLIENT_NAME
    read_checked(contract, FileKind.CLIENT, shown_path(contract, cwd))
    replaced: dict[Path, tuple[bytes, list[int]]] = {}
    for note in notes:
        if note_fields(note).get("status") == statuses().signed:
            raw = read_bytes(note.path)
            if not _signing_interrupted(note, raw):
                raise RefusedInput(f"{note.label} is already signed: correct it with ipt-notes amend")
            # Signed on disk by a sign that did not get to commit it: this run commits it as it is.
            replaced[note.path] = (raw, list(range(1, raw.count(b"\n") + 2)))
            continue
        replaced[note.path] = signed_with_origins(read_bytes(note.path), signer=signer, when=when)
    _check_as_signed(notes[0].folder, replaced, cwd)
    return {path: text for path, (text, _) in replaced.items()}


def _signing_interrupted(note: Note, raw: bytes) -> bool:
    """Whether a note signed on disk is one an interrupted sign wrote: it matches its own hash,
    and HEAD holds it unsigned or not at all. A note HEAD holds signed is never taken for one."""
    if recorded_hash(raw) != content_hash(raw):
        return False
    repository = open_client_repository(note.folder)
    spec = "HEAD:" + note.path.relative_to(repository.work_tree).as_posix()
    committed = repository.object_contents([spec]).get(spec)
    return committed is None or (committed != raw and not is_signed(committed))


def sign_notes(cwd: Path, notes: list[Path], *, now: dt.datetime | None = None) -> list[Path]:
    """Sign draft notes, one commit per client, after checking each as it will be once signed."""
    return _rewrite_and_commit(cwd, notes, "sign", _signed, now)


def _supervisor(folder: Path) -> str | None:
    client = read_document(folder / CLIENT_NAME, front_matter=False).data
    supervisor = client.get("supervisor") if isinstance(client, dict) else None
    return supervisor if isinstance(supervisor, str) and supervisor else None


def _cosignature_of(note: Note) -> Path:
    return note.folder / cosignature_path(note.path.relative_to(note.folder).as_posix())


def awaiting_cosignature(path: Path) -> bool:
    """Whether the client of a signed note names a supervisor who has not co-signed it yet."""
    note = find_note(path, Path.cwd())
    return _supervisor(note.folder) is not None and not os.path.lexists(_cosignature_of(note))


def _cosigned(notes: list[Note], cosigner: str, when: str, cwd: Path) -> dict[Path, bytes]:
    texts = {}
    for note in notes:
        fields = note_fields(note)
        supervisor = _supervisor(note.folder)
        target = _cosignature_of(note)
        if fields.get("status") != statuses().signed:
            raise RefusedInput(f"{note.label} is not signed yet: it is co-signed after the clinician signs it")
        if os.path.lexists(target):
            interrupted = _cosigning_interrupted(note, target, cosigner)
            if interrupted is None:
                raise RefusedInput(f"{note.label} is already co-signed")
            # Written by a cosign that did not get to commit it: this run commits it as it is.
            texts[target] = interrupted
            continue
        if supervisor is None:
            raise RefusedInput(f"{note.label}: client.yaml names no supervisor, so there is no co-signature to give")
        if supervisor != cosigner:
            raise RefusedInput(
                f"{note.label}: only the supervisor named in client.yaml co-signs (git's identity is not)"
            )
        digest = content_hash(read_bytes(note.path))
        if digest != fields.get("content_hash"):
            raise RefusedInput(f"{note.label} was changed after signing: it cannot be co-signed")
        cosignature: dict[str, object] = {
            "client": client_id_of(note.folder),
            "note": note.path.relative_to(note.folder).as_posix(),
            "content_hash": digest,
            "cosigned_by": cosigner,
            "cosigned_at": when,
        }
        texts[target] = yaml_document(cosignature).encode("utf-8")
    return texts


def _cosigning_interrupted(note: Note, target: Path, cosigner: str) -> bytes | None:
    """The bytes of a co-signature an interrupted cosign wrote and did not commit: HEAD has no
    co-signature of the note, and this one names the note as it is signed now and this cosigner,
    who is the supervisor. None for anything else."""
    if target.is_symlink() or not target.is_file() or _supervisor(note.folder) != cosigner:
        return None
    repository = open_client_repository(note.folder)
    spec = "HEAD:" + target.relative_to(repository.work_tree).as_posix()
    if spec in repository.object_contents([spec]):
        return None
    try:
        raw = read_bytes(target)
        fields = read_document(target, front_matter=False).data
    except (LoadError, OSError):
        return None
    expected = {
        "client": client_id_of(note.folder),
        "note": note.path.relative_to(note.folder).as_posix(),
        "content_hash": content_hash(read_bytes(note.path)),
        "cosigned_by": cosigner,
    }
    if not isinstance(fields, dict) or any(fields.get(key) != value for key, value in expected.items()):
        return None
    return raw


def cosign_notes(cwd: Path, notes: list[Path], *, now: dt.datetime | None = None) -> list[Path]:
    """Co-sign signed notes as the supervisor, one commit per client: each co-signature is a new
    file beside its note, naming the note and its content hash; the note itself is not touched."""
    return _rewrite_and_commit(cwd, notes, "cosign", _cosigned, now, new_files=True)

"""`ipt-notes amend`: correct a signed note without editing it, by an addendum beside it.

The addendum is a new file, linked to the signed note by its path, its content hash and the
commit that signed it; the note itself stays byte for byte as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path

from ipt_notes.actions import message
from ipt_notes.commands.sign import find_note, note_fields
from ipt_notes.course import AddendumNote, Course, read_course
from ipt_notes.errors import GitProblem, RefusedInput
from ipt_notes.files import create_new
from ipt_notes.git import NO_DIFF_PROGRAMS, Repository, commit_paths, open_client_repository
from ipt_notes.layout import SESSIONS_DIR, SETTINGS_NAME, FileKind, addendum_name, practice_of, session_number
from ipt_notes.loader import read_bytes, yaml_scalar
from ipt_notes.lock import repository_lock
from ipt_notes.settings import load_course_settings
from ipt_notes.signing import content_hash
from ipt_notes.templates import render_checked
from ipt_notes.validation import commit_errors
from ipt_notes.vocabulary import statuses, terms

__all__ = ["amend_note"]


def _signing_commit(repository: Repository, path: Path) -> str:
    relative = os.path.relpath(path, repository.work_tree)
    if repository.changed_paths(relative):
        raise GitProblem(f"{relative} has changes that are not committed: commit the signed note first")
    commit = repository.git("log", "-1", "--format=%H", *NO_DIFF_PROGRAMS, "--", relative).stdout.decode().strip()
    if not commit:
        raise GitProblem(f"{relative} is not committed yet: commit the signed note first")
    return commit


def _pending(course: Course, repository: Repository, number: int) -> list[AddendumNote]:
    """Addenda to session `number` on disk that HEAD does not have: saved by an amend that did not commit."""
    at_head = repository.head_blobs([SESSIONS_DIR])
    return [
        addendum
        for addendum in course.addenda
        if addendum.session == number and repository.work_tree / addendum.path.relative_to(course.folder) not in at_head
    ]


def _finish(
    course: Course,
    repository: Repository,
    pending: list[AddendumNote],
    link: dict[str, str],
    kind: str,
    label: str,
    cwd: Path,
) -> Path:
    """Commit the one addendum an interrupted amend left, or say exactly what to run.

    It is taken for one only when it is the last addendum of its note, a draft of the kind asked
    for, and linked to the note as it is signed now; anything else is the clinician's to judge.
    """
    addendum = pending[0]
    last = max((a.number for a in course.addenda if a.session == addendum.session), default=0)
    data = addendum.data or {}
    amends = data.get("amends")
    if (
        len(pending) == 1
        and addendum.number == last
        and data.get("status") == statuses().draft
        and data.get("kind") == kind
        and isinstance(amends, dict)
        and all(amends.get(key) == value for key, value in link.items())
    ):
        commit_paths(repository, [addendum.path], message("amend", label), precheck=commit_errors)
        return addendum.path
    folder = os.path.relpath(course.folder, cwd)
    git = "git" if folder == "." else f"git -C {shlex.quote(folder)}"
    names = " ".join(shlex.quote(f"{SESSIONS_DIR}/{a.path.name}") for a in pending)
    raise RefusedInput(
        f"{names}: saved but never committed, so no other addendum is written. Commit it ({git} add -- {names} "
        f"&& {git} commit -m {shlex.quote(message('amend', label))} -- {names}), or move it away, then run amend again"
    )


def amend_note(cwd: Path, path: Path, *, kind: str = "addendum", today: dt.date | None = None) -> Path:
    """Scaffold an addendum linked to a signed session note, and commit it."""
    if kind not in terms("addendum_kind"):
        raise RefusedInput("--kind is one of: " + ", ".join(terms("addendum_kind")))
    note = find_note(path, cwd)
    if note.kind is not FileKind.SESSION:
        raise RefusedInput(f"{path} is not a session note: addenda amend session notes")
    number = session_number(note.path.name)
    assert number is not None
    repository = open_client_repository(note.folder)
    settings = load_course_settings(note.folder / SETTINGS_NAME, SETTINGS_NAME)
    with repository_lock(repository.git_dir):
        author = repository.preflight()
        fields = note_fields(note)
        if fields.get("status") != statuses().signed:
            raise RefusedInput(f"{note.label} is not signed: a draft is corrected in place, not by an addendum")
        digest = content_hash(read_bytes(note.path))
        if digest != fields.get("content_hash"):
            raise RefusedInput(f"{note.label} was changed after signing: restore it before adding an addendum")
        commit = _signing_commit(repository, note.path)
        course = read_course(note.folder)
        link = {"note": f"{SESSIONS_DIR}/{note.path.name}", "content_hash": digest, "commit": commit}
        pending = _pending(course, repository, number)
        if pending:
            return _finish(course, repository, pending, link, kind, note.label, cwd)
        index = 1 + max((a.number for a in course.addenda if a.session == number), default=0)
        values = {
            "client": course.client_id,
            "kind": kind,
            "note": link["note"],
            "content_hash": digest,
            "commit": commit,
            "author": yaml_scalar(author),
            "date": (today or settings.today()).isoformat(),
        }
        target = note.path.parent / addendum_name(number, index)
        shown = f"{SESSIONS_DIR}/{target.name}"
        text = render_checked("addendum.md", values, practice_of(note.folder), FileKind.ADDENDUM, shown)
        create_new(target, text.encode("utf-8"))
        commit_paths(repository, [target], message("amend", note.label), precheck=commit_errors)
    return target

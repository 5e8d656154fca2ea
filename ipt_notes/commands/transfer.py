"""`ipt-notes transfer`: hand one complete course over, as a repository of its own.

The copy holds the whole history (every commit, signature and addendum, with the same commit
ids), is set up with the same safe settings and hook, and verifies. Process notes never travel:
a history that ever held `private/` is refused.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.audit import verify_repository
from ipt_notes.client_repository import configure
from ipt_notes.course import client_id_of
from ipt_notes.errors import GitProblem, IptNotesError, NotesInvalid, RefusedInput, UnsafeClientId
from ipt_notes.git import open_client_repository, open_repository, run_git
from ipt_notes.layout import CLIENTS_DIR, CONFIG_NAME, PRIVATE_DIR, ClientRef
from ipt_notes.lock import practice_lock, repository_lock
from ipt_notes.register import read_register, record
from ipt_notes.settings import load_practice_settings

__all__ = ["Transferred", "transfer"]


@dataclass(frozen=True)
class Transferred:
    client: str
    destination: Path
    commit: str
    registered: bool
    """Whether the practice register records the transfer (a clone on its own has no register)."""


def _check_destination(ref: ClientRef, client: str, destination: Path, target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise RefusedInput(f"{destination} exists and is not an empty folder; name a new folder")
    if not target.parent.is_dir():
        raise RefusedInput(f"the folder {destination.parent} does not exist")
    if ref.practice is not None and (target == ref.practice or ref.practice in target.parents):
        raise RefusedInput(
            "a handed-over copy goes outside the practice (a second copy inside it would be a second client)"
        )
    if target == ref.folder or ref.folder in target.parents:
        raise RefusedInput("the copy goes outside the client's folder")
    if target.parent.name == CLIENTS_DIR and (target.parent.parent / CONFIG_NAME).is_file():
        # Into another practice's clients/: the copy becomes a client there, under its own ID.
        if target.name != client:
            raise RefusedInput(f"in a practice's {CLIENTS_DIR}/ folder, the copy's folder is named {client}")
        taken = [other.name for other in target.parent.iterdir() if other.name.lower() == client.lower()]
        if any(name != client or (target / ".git").exists() for name in taken):
            raise UnsafeClientId(reason=f"{client} collides with a client of that practice")


def transfer(ref: ClientRef, destination: Path) -> Transferred:
    """Copy a client's repository, whole, to `destination` (a new folder) and register the copy.

    Everything that could refuse (the record, the destination, the practice's settings and
    register) is checked before anything is copied, so a copy never leaves unregistered.
    """
    repository = open_client_repository(ref.folder)
    client = client_id_of(ref.folder)
    target = destination.resolve()
    _check_destination(ref, client, destination, target)
    today = None
    if ref.practice is not None:
        today = load_practice_settings(ref.practice).course.today().isoformat()
        read_register(ref.practice)
    with repository_lock(repository.git_dir):
        author = repository.preflight()
        head = repository.head()
        if head is None:
            raise GitProblem(f"{client} has no commit to hand over")
        if repository.changed_paths():
            raise GitProblem(
                f"{client} has changes that are not committed: commit them (ipt-notes sign, or git commit) "
                "or set them aside, so that the copy holds the whole record"
            )
        if repository.git("rev-list", "--all", "-1", "--", PRIVATE_DIR).stdout.strip():
            raise RefusedInput(
                f"{client}'s history holds process notes ({PRIVATE_DIR}/), which never leave the practice: "
                "the course cannot be handed over as it is"
            )
        findings = verify_repository(repository, client)
        if findings:
            raise NotesInvalid(what=f"{client}'s history", problems=findings, advice="verify it before handing it over")
        existed = target.exists()
        try:
            _copy(ref.folder, target, destination, head)
            if ref.practice is not None and today is not None:
                with practice_lock(ref.practice):
                    entry: dict[str, object] = {
                        "client": client,
                        "date": today,
                        "by": author,
                        "to": str(target),
                        "commit": head,
                    }
                    record(ref.practice, "transfers", entry)
        except IptNotesError:
            _remove_copy(target, existed)
            raise
    return Transferred(client, target, head, ref.practice is not None)


def _copy(source: Path, target: Path, destination: Path, head: str) -> None:
    """Clone every branch and tag of `source` into `target`, with nothing that points back at it."""
    run_git(["clone", "--quiet", "--no-local", str(source), str(target)], cwd=target.parent)
    target.chmod(0o700)
    copy = open_repository(target)
    # Every branch, tag and git note, not only the branch checked out; then no remote, and no
    # reflog naming the source.
    every = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/notes/*:refs/notes/*")
    copy.git("fetch", "--quiet", "--update-head-ok", str(source), *every)
    copy.git("remote", "remove", "origin")
    copy.git("reflog", "expire", "--expire=now", "--all")
    configure(copy)
    if verify_repository(copy, str(destination)) or copy.head() != head:
        raise GitProblem(f"the copy at {destination} does not verify; it was removed")


def _remove_copy(target: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()

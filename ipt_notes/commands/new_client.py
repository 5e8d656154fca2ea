"""`ipt-notes new-client`: a client's own git repository, with its first files and its first commit.

The client is built in a temporary folder of the practice and moved into `clients/` only once it
is committed, so a failure at any step leaves no half-made client behind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.actions import message
from ipt_notes.client_repository import configure, repository_files
from ipt_notes.errors import GitProblem, IptNotesError, NotCommitted, RefusedInput, UnsafeClientId, WriteFailed
from ipt_notes.files import create_new, make_private_dirs
from ipt_notes.git import commit_paths, init_repository
from ipt_notes.layout import (
    CLIENT_ID_RULE,
    CLIENT_NAME,
    CLIENTS_DIR,
    FORMULATION_NAME,
    INVENTORY_NAME,
    SESSIONS_DIR,
    SETTINGS_NAME,
    FileKind,
    is_valid_client_id,
)
from ipt_notes.loader import yaml_scalar
from ipt_notes.lock import practice_lock
from ipt_notes.settings import PracticeSettings, course_settings_text, load_practice_settings
from ipt_notes.templates import check_rendered, render_checked
from ipt_notes.validation import commit_errors

__all__ = ["NewClient", "new_client"]


@dataclass(frozen=True)
class NewClient:
    folder: Path
    written: list[Path]
    backup: str | None
    """What happened at the backup, when the practice has one."""
    backup_error: str | None = None
    """Why the client, though created, could not be backed up."""


def _check_new_client_id(practice: Path, client_id: str) -> None:
    if not is_valid_client_id(client_id):
        raise UnsafeClientId(reason=CLIENT_ID_RULE)
    clients = practice / CLIENTS_DIR
    if clients.is_symlink():
        raise UnsafeClientId(reason=f"{CLIENTS_DIR}/ is a symbolic link; ipt-notes writes only into real folders")
    if clients.is_dir():
        for existing in clients.iterdir():
            if existing.name.lower() == client_id.lower():
                if existing.name == client_id:
                    raise UnsafeClientId(reason=f"{client_id} already exists")
                raise UnsafeClientId(reason=f"{client_id} differs only in case from the existing {existing.name}")


def _files(practice: Path, client_id: str, settings: PracticeSettings, sessions: int, start: str) -> dict[str, str]:
    values = {
        "client": client_id,
        "start_date": start,
        "sessions_planned": str(sessions),
        "measures": yaml_scalar(list(settings.course.measures)).replace('"', ""),
    }
    files = {
        name: render_checked(name, values, practice, kind, f"{CLIENTS_DIR}/{client_id}/{name}")
        for name, kind in (
            (CLIENT_NAME, FileKind.CLIENT),
            (INVENTORY_NAME, FileKind.INVENTORY),
            (FORMULATION_NAME, FileKind.FORMULATION),
        )
    }
    recorded = course_settings_text(settings.course)
    check_rendered(recorded, FileKind.COURSE_SETTINGS, f"{CLIENTS_DIR}/{client_id}/{SETTINGS_NAME}")
    files[SETTINGS_NAME] = recorded
    files.update(repository_files(practice))
    return files


def new_client(
    practice: Path, client_id: str, *, sessions: int | None = None, start_date: str | None = None
) -> NewClient:
    """Make clients/ID a git repository of its own with client.yaml, inventory.yaml, formulation.md
    and the course settings in effect, commit them, and back it up when the practice has a backup."""
    _check_new_client_id(practice, client_id)
    if sessions is not None and not 1 <= sessions <= 60:
        raise RefusedInput("--sessions takes a number of sessions from 1 to 60")
    settings = load_practice_settings(practice)
    start = start_date or settings.course.today().isoformat()
    files = _files(practice, client_id, settings, sessions or settings.default_sessions, start)
    target = practice / CLIENTS_DIR / client_id
    with practice_lock(practice):
        _check_new_client_id(practice, client_id)
        try:
            building = Path(tempfile.mkdtemp(prefix=".new-client-", dir=practice))
        except OSError as error:
            raise WriteFailed(path=practice, reason=error.strerror or "cannot create a folder") from None
        try:
            folder = building / client_id
            make_private_dirs(folder / SESSIONS_DIR, stop_at=building)
            repository = init_repository(folder)
            configure(repository)
            repository.preflight()
            written = []
            for name, text in files.items():
                create_new(folder / name, text.encode("utf-8"))
                written.append(folder / name)
            try:
                commit_paths(repository, written, message("new-client", client_id), precheck=commit_errors)
            except NotCommitted as error:
                failure = GitProblem(f"the first commit of {client_id} failed, so no client was created")
                failure.details = error.details
                raise failure from None
            make_private_dirs(target.parent, stop_at=practice)
            try:
                folder.rename(target)
            except OSError as error:
                raise WriteFailed(path=target, reason=error.strerror or "cannot move the client into place") from None
        except IptNotesError:
            shutil.rmtree(building, ignore_errors=True)
            raise
        shutil.rmtree(building, ignore_errors=True)
    written = [target / path.name for path in written]
    if not settings.backup:
        return NewClient(folder=target, written=written, backup=None)
    from ipt_notes.commands.backup import backup_client

    try:
        return NewClient(target, written, backup_client(target, settings.backup).action)
    except IptNotesError as error:
        advice = f"Once that is fixed, ipt-notes push {client_id} backs it up"
        return NewClient(target, written, None, f"{client_id} was created, but not backed up: {error}. {advice}")

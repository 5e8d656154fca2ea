"""`ipt-notes verify`: each client's history audited, the clients spread over every core."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.audit import verify_repository
from ipt_notes.client_repository import BACKUP_REMOTE
from ipt_notes.errors import ExitCode, IptNotesError, NotesInvalid
from ipt_notes.git import open_client_repository
from ipt_notes.layout import SETTINGS_NAME
from ipt_notes.parallel import cores
from ipt_notes.problems import Problem
from ipt_notes.settings import load_course_settings

__all__ = ["VerifyResult", "verify_clients"]


@dataclass(frozen=True)
class VerifyResult:
    problems: list[Problem]
    """Every finding of every client, in path order."""
    failures: list[tuple[str, str, ExitCode]]
    """Clients that could not be verified: how each is shown, why, and the exit status it calls for."""


@dataclass(frozen=True)
class _Task:
    folder: Path
    shown: str
    remote: bool
    require_signed_commits: bool


def _verify_one(task: _Task) -> list[Problem] | tuple[str, str, ExitCode]:
    try:
        repository = open_client_repository(task.folder)
        since = None
        if task.require_signed_commits:
            # Settings with problems of their own (validate reports them) leave every commit checked.
            with contextlib.suppress(NotesInvalid):
                since = load_course_settings(task.folder / SETTINGS_NAME, SETTINGS_NAME).signed_commits_since
        return verify_repository(
            repository,
            task.shown,
            remote=BACKUP_REMOTE if task.remote else None,
            require_signed_commits=task.require_signed_commits,
            signed_since=since,
        )
    except IptNotesError as error:
        return (task.shown, str(error), error.exit_code)


def verify_clients(
    folders: list[Path], cwd: Path, *, remote: bool = False, require_signed_commits: bool = False
) -> VerifyResult:
    """Audit each client's repository; a client that cannot be audited does not stop the others."""
    here = cwd.resolve()
    tasks = [_Task(folder, os.path.relpath(folder, here), remote, require_signed_commits) for folder in folders]
    problems: list[Problem] = []
    failures: list[tuple[str, str, ExitCode]] = []
    # The work is git's (fsck, log, cat-file), so threads keep every core busy from one
    # interpreter, whose memory the clients then share.
    with ThreadPoolExecutor(max_workers=cores()) as pool:
        results = list(pool.map(_verify_one, tasks))
    for result in results:
        if isinstance(result, tuple):
            failures.append(result)
        else:
            problems.extend(result)
    return VerifyResult(sorted(problems), failures)

"""`ipt-notes apply-settings`: bring chosen clients' recorded course settings up to the practice's.

A practice change never reaches a client silently: each client's course-settings.yaml changes
only here, checked first against the client's whole record, and committed like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ipt_notes.actions import message
from ipt_notes.course import client_id_of
from ipt_notes.errors import NotesInvalid
from ipt_notes.files import create_new, replace_atomically
from ipt_notes.git import commit_paths, open_client_repository
from ipt_notes.layout import SETTINGS_NAME
from ipt_notes.lock import repository_lock
from ipt_notes.problems import Problem, Severity
from ipt_notes.settings import course_settings_text, load_course_settings, load_practice_settings
from ipt_notes.validation import commit_errors, validate_course

__all__ = ["Applied", "apply_settings"]


@dataclass(frozen=True)
class Applied:
    client: str
    path: Path
    changed: bool
    refused: list[Problem] = field(default_factory=list)
    """The errors the client's record would have under the practice's settings; then nothing changed."""


def apply_settings(practice: Path, folders: list[Path], *, cwd: Path) -> list[Applied]:
    """Record the practice's course settings in each client, one commit per client that changes.

    A client whose record would have errors under the new settings is refused with them, and
    nothing of it changes; the other clients are still brought up to date.
    """
    seed = load_practice_settings(practice).course
    applied = []
    for folder in folders:
        repository = open_client_repository(folder)
        path = folder / SETTINGS_NAME
        with repository_lock(repository.git_dir):
            repository.preflight()
            try:
                current = load_course_settings(path, SETTINGS_NAME)
            except NotesInvalid:
                current = None
            # Which commits must be signed is a fact of this client's history, not of the practice.
            since = current.signed_commits_since if current is not None else None
            text = course_settings_text(replace(seed, signed_commits_since=since)).encode("utf-8")
            if path.is_file() and path.read_bytes() == text:
                applied.append(Applied(client_id_of(folder), path, False))
                continue
            errors = [
                problem
                for problem in validate_course(folder, cwd=cwd, contents={path: text})
                if problem.severity is Severity.ERROR
            ]
            if errors:
                applied.append(Applied(client_id_of(folder), path, False, errors))
                continue
            if path.exists():
                replace_atomically(path, text)
            else:
                create_new(path, text)
            commit_paths(repository, [path], message("apply-settings", client_id_of(folder)), precheck=commit_errors)
        applied.append(Applied(client_id_of(folder), path, True))
    return applied

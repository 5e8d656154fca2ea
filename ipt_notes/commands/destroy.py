"""`ipt-notes destroy`: remove a closed course once its retention period has passed.

It removes the client's repository (process notes included), its backup repository where that
is a local path, and the rendered documents the practice holds for it; it names the copies it
cannot reach (a backup behind a URL, transferred copies). The practice register records the act:
the ID, the dates and who, never content. No other client is touched.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.commands.backup import backup_url, check_template, local_path
from ipt_notes.course import read_course
from ipt_notes.errors import GitProblem, IptNotesError, RefusedInput
from ipt_notes.git import open_client_repository
from ipt_notes.layout import RENDERED_DIR, rendered_documents, require_client_id, resolve_client
from ipt_notes.lock import practice_lock, repository_lock
from ipt_notes.register import read_register, record
from ipt_notes.settings import PracticeSettings, load_practice_settings
from ipt_notes.vocabulary import course_statuses

__all__ = ["Destroyed", "destroy"]

_MINOR_AGE_GROUPS = ("adolescent",)
"""Age groups whose clients were minors at the start of the course (IPT-A is for ages 12-18)."""


@dataclass(frozen=True)
class Destroyed:
    client: str
    removed: list[str]
    not_removed: list[str]


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _last_session(client: dict[str, object] | None, dates: list[str]) -> dt.date:
    """The date the retention period counts from: the last session, else the course's end or start."""
    fallback = [value for key in ("end_date", "start_date") if isinstance(value := (client or {}).get(key), str)]
    for value in sorted(dates, reverse=True) + fallback:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            continue
    raise RefusedInput("the course has no session date (nor start or end date) to count the retention period from")


def _retention_years(settings: PracticeSettings, minor: bool) -> int:
    if settings.retention is None:
        raise RefusedInput(
            "no retention period is set in ipt-notes.yaml (retention: {years: N}), so records are kept: "
            "nothing was destroyed"
        )
    if minor and settings.retention.minors_years is not None:
        return settings.retention.minors_years
    return settings.retention.years


def destroy(practice: Path, client: str, *, confirm: str | None, today: dt.date | None = None) -> Destroyed:
    """Destroy a closed course past its retention period; refuse, changing nothing, otherwise."""
    require_client_id(client)
    if confirm != client:
        raise RefusedInput(f"destroying a course cannot be undone: repeat its ID with --confirm {client}")
    ref = resolve_client(client, cwd=practice, root=practice)
    settings = load_practice_settings(practice)
    repository = open_client_repository(ref.folder)
    if repository.changed_paths(untracked=False):
        raise GitProblem(
            f"{client} has changes that are not committed: the course is judged as committed, so commit them "
            "(or set them aside) first; nothing was destroyed"
        )
    course = read_course(ref.folder)
    if (course.client or {}).get("course_status") != course_statuses().closed:
        raise RefusedInput(f"{client}'s course is not closed (course_status in client.yaml): nothing was destroyed")
    unreadable = [note.number for note in course.sessions if not isinstance((note.data or {}).get("date"), str)]
    if unreadable:
        raise RefusedInput(
            f"{client}: the date of session {unreadable[0]} cannot be read, so the retention period cannot be "
            "counted from the last session (ipt-notes validate shows why): nothing was destroyed"
        )
    minor = (course.client or {}).get("age_group") in _MINOR_AGE_GROUPS
    years = _retention_years(settings, minor)
    dates = [str((note.data or {})["date"]) for note in course.sessions]
    last = _last_session(course.client, dates)
    today = today or settings.course.today()
    until = _plus_years(last, years)
    if today < until:
        raise RefusedInput(
            f"{client}'s retention period ({years} years from the last session) has not passed: "
            f"{(until - today).days} days remain; nothing was destroyed"
        )
    removable: list[Path] = [ref.folder]
    unreachable: list[str] = []
    if settings.backup:
        check_template(settings.backup)  # never remove a place another client's backup could share
        url = backup_url(settings.backup, client)
        backup = local_path(url)
        if backup is None:
            unreachable.append(url)
        elif backup.exists():
            removable.append(backup)
    removable += rendered_documents(practice / RENDERED_DIR, client)
    with practice_lock(practice), repository_lock(repository.git_dir):
        by = repository.preflight()
        unreachable += [str(entry["to"]) for entry in read_register(practice)["transfers"] if entry["client"] == client]
        shown = [str(path) for path in removable]
        # The register is written first: an interrupted removal is then known, and can be finished by hand.
        record(
            practice,
            "destructions",
            {
                "client": client,
                "date": today.isoformat(),
                "by": by,
                "last_session": last.isoformat(),
                "retention_years": years,
                "removed": shown,
                "not_removed": unreachable,
            },
        )
        for path in removable:
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as error:
                raise IptNotesError(
                    f"could not remove {path} ({error.strerror}); the register lists what remains to remove by hand"
                ) from None
    return Destroyed(client, shown, unreachable)

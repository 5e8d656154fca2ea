"""`ipt-notes log`: the audit trail of a client's record, from git, without note content."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ipt_notes.actions import parse
from ipt_notes.errors import GitProblem
from ipt_notes.git import NO_DIFF_PROGRAMS, Repository, open_client_repository
from ipt_notes.layout import SESSIONS_DIR, addendum_name, session_name

__all__ = ["LogEntry", "audit_log"]


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    date: str
    action: str
    signature: str
    """git's verdict on the commit's signature: G good, B bad, N none, U/X/Y/R/E as git defines."""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def audit_log(folder: Path, session: int | None = None) -> list[LogEntry]:
    """Who did what to a client's record, and when: commit, author, date, action, signature.

    The action is the commit message when ipt-notes wrote it (IDs and numbers only); a commit
    made by hand is shown as such, with the names of the files it touched, never its message.
    """
    repository = open_client_repository(folder)
    # The note and its addenda, by their exact names: 05.md and 05.addendum-1.md, not 05.copy.md.
    paths = []
    if session is not None:
        paths = [f"{SESSIONS_DIR}/{session_name(session)}", f":(glob){SESSIONS_DIR}/{addendum_name(session, '*')}"]
    # The message comes last, subject then body, so that whatever it holds stays in its own field.
    listed = repository.git(
        "log",
        "-z",
        "--format=%H%x1f%an <%ae>%x1f%aI%x1f%G?%x1f%s%x1f%b",
        *NO_DIFF_PROGRAMS,
        "HEAD",
        "--",
        *paths,
        check=False,
    )
    if listed.returncode != 0:
        if repository.head() is None:
            return []  # no commit yet
        raise GitProblem(f"git log failed (exit {listed.returncode})")
    rows = [record.split("\x1f", 5) for record in listed.stdout.decode("utf-8", "replace").split("\0") if record]
    rows = [row + [""] * (6 - len(row)) for row in rows]
    client = _client_id(folder, rows[-1][4] if session is None and rows and not rows[-1][5].strip() else None)
    # Only a whole message in ipt-notes' grammar is an action: a body, or more after it, is by hand.
    actions = {sha: None if body.strip() else parse(subject, client) for sha, _, _, _, subject, body in rows}
    # File names are needed only for commits made by hand, so git lists them for those alone.
    by_hand = [sha for sha, action in actions.items() if action is None]
    touched = _files(repository, by_hand, paths) if by_hand else {}
    entries = []
    for sha, author, date, mark, _, _ in rows:
        action = actions[sha] or "by hand: " + (", ".join(touched.get(sha, [])) or "no file")
        entries.append(LogEntry(sha[:12], _printable(author), _printable(date), _printable(action), _printable(mark)))
    return entries


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """A field as one line of plain text: a file name or an author with a line end or a terminal
    control character in it cannot forge a row of the trail or drive the terminal."""
    return _CONTROL.sub("?", text)


def _client_id(folder: Path, first_subject: str | None) -> str:
    """The client's ID, from the commit that created its repository when ipt-notes made it;
    otherwise from client.yaml (which costs reading YAML, and loading what reads it)."""
    if first_subject is not None and first_subject.startswith("new-client "):
        candidate = first_subject.removeprefix("new-client ")
        if parse(first_subject, candidate) is not None:
            return candidate
    from ipt_notes.course import client_id_of

    return client_id_of(folder)


def _files(repository: Repository, commits: list[str], paths: list[str]) -> dict[str, list[str]]:
    """The names of the files each commit touched (within `paths`), by commit."""
    out = repository.git(
        "log", "--no-walk=unsorted", "--format=%x1e%H", "--name-only", "-z", *NO_DIFF_PROGRAMS, *commits, "--", *paths
    ).stdout.decode("utf-8", "replace")
    touched = {}
    for record in out.split("\x1e")[1:]:
        sha, _, names = record.partition("\0")
        sha = sha.strip()
        touched[sha] = [name.rsplit("/", 1)[-1] for name in names.strip("\n\0").split("\0") if name.strip()]
    return touched

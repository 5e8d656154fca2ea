"""`log`: the audit trail of a client's record, from git, without note content."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ipt_notes.git import Repository
from ipt_notes.layout import require_client_id

__all__ = ["LogEntry", "audit_log"]

# ipt-notes' own commit messages: an action, then IDs and numbers.
_ACTION = re.compile(r"(?:init|new-client|new-session|sign|cosign|amend)(?: [A-Za-z0-9_, -]*)?")


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


def audit_log(repository: Repository, client: str, session: int | None = None) -> list[LogEntry]:
    """Who did what to a client's record, and when: commit, author, date, action, signature.

    The action is the commit message when ipt-notes wrote it (IDs and numbers only); a commit
    made by hand is shown as such, with the names of the files it touched, never its message.
    """
    folder = f"clients/{require_client_id(client)}"
    path = folder if session is None else f"{folder}/sessions/{session:02d}*"
    out = repository.git(
        "log", "--format=%x1e%H%x1f%an <%ae>%x1f%aI%x1f%s%x1f%G?", "--name-only", "-z", "--", path
    ).stdout.decode("utf-8", "replace")
    entries = []
    for record in out.split("\x1e")[1:]:
        header, _, names = record.partition("\0")
        sha, author, date, subject, signature = header.split("\x1f")
        files = [name.rsplit("/", 1)[-1] for name in names.strip("\n\0").split("\0") if name.strip()]
        action = subject if _ACTION.fullmatch(subject) else "by hand: " + ", ".join(files)
        entries.append(LogEntry(sha[:12], author, date, action, signature))
    return entries

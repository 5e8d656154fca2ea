"""The repository lock: commands that write one notes repository take turns.

The lock is an advisory lock on a file in the git folder. The kernel drops it when the process
ends, however it ends, so a crash never leaves the repository locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ipt_notes.errors import Busy, WriteFailed

__all__ = ["DEFAULT_WAIT_SECONDS", "repository_lock"]

DEFAULT_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02


def _wait_seconds() -> float:
    # A clinic's scripts may wait longer (or shorter) than a clinician at the terminal.
    try:
        return float(os.environ.get("IPT_NOTES_LOCK_WAIT", DEFAULT_WAIT_SECONDS))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


@contextlib.contextmanager
def repository_lock(git_dir: Path) -> Iterator[None]:
    """Hold the lock of the repository whose git folder is `git_dir`, or raise Busy."""
    path = git_dir / "ipt-notes.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise WriteFailed(path=path, reason=error.strerror or "cannot open the lock") from None
    try:
        waited = _wait_seconds()
        deadline = time.monotonic() + waited
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(seconds=waited) from None
                time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(fd)

"""Locks: commands that write one client's repository take turns, and so do commands that add
or remove clients in a practice.

A client's lock is an advisory lock on a file in its own git folder, so two clients never wait
for each other. The kernel drops a lock when the process ends, however it ends, so a crash never
leaves anything locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ipt_notes.errors import Busy, WriteFailed

__all__ = ["DEFAULT_WAIT_SECONDS", "practice_lock", "repository_lock"]

DEFAULT_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02


def _wait_seconds() -> float:
    # A clinic's scripts may wait longer (or shorter) than a clinician at the terminal.
    try:
        return float(os.environ.get("IPT_NOTES_LOCK_WAIT", DEFAULT_WAIT_SECONDS))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def repository_lock(git_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of the repository whose git folder is `git_dir`, or raise Busy."""
    return _held(git_dir / "ipt-notes.lock", f"the repository of {git_dir.parent.name}")


def practice_lock(practice: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the practice's lock, taken by commands that add, hand over or remove a client."""
    return _held(practice / ".ipt-notes.lock", "the practice")


@contextlib.contextmanager
def _held(path: Path, what: str) -> Iterator[None]:
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
                    raise Busy(seconds=waited, what=what) from None
                time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(fd)

"""Fault points: the places where a command can be stopped by a crash, named for crash tests.

Each write step of the file layer and each git call passes a named checkpoint. Unless the
environment asks for it, a checkpoint does nothing. `IPT_NOTES_FAULT` makes a run fault on
purpose, so that tests can show that no note is torn or lost and that running the command again
converges:

- `count:PATH` appends each checkpoint's name to PATH (how many there are, and which);
- `kill:N` kills the process with SIGKILL at the Nth checkpoint, as a power cut or `kill -9`;
- `fail:N` makes the Nth checkpoint that writes or flushes a file fail with an I/O error, as a
  full or failing disk would.

Names carry no content: the step and, for git, the subcommand.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = ["checkpoint"]

_PLAN = os.environ.get("IPT_NOTES_FAULT", "")
_MODE, _, _ARGUMENT = _PLAN.partition(":")
_passed = 0
_io_passed = 0


def checkpoint(name: str, *, io: bool = False) -> None:
    """Mark a step at which a crash could stop the command (`io`: a step that writes or flushes)."""
    if not _PLAN:
        return
    global _passed, _io_passed
    _passed += 1
    _io_passed += io
    if _MODE == "count":
        with open(_ARGUMENT, "a", encoding="utf-8") as log:
            log.write(f"{name}{' io' if io else ''}\n")
    elif _MODE == "kill" and _passed == int(_ARGUMENT):
        os.kill(os.getpid(), signal.SIGKILL)
    elif _MODE == "fail" and io and _io_passed == int(_ARGUMENT):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

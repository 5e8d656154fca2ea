"""Writing files so that nothing is lost: atomically, privately, and never over another file.

Every file is written to a temporary file in the same folder, flushed to disk, then renamed into
place (or linked, for a file that must not exist yet), so a reader sees the old file or the new
one and never half of either. Files are created 0600 and folders 0700: notes are health records.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ipt_notes.errors import FileExists, WriteFailed
from ipt_notes.faults import checkpoint

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "create_new", "make_private_dirs", "replace_atomically"]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dirs(folder: Path, *, stop_at: Path) -> None:
    """Create `folder` and any missing parents below `stop_at`, each 0700."""
    missing = []
    current = folder
    while current != stop_at and not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            pass
        except OSError as error:
            raise WriteFailed(path=path, reason=error.strerror or "cannot create the folder") from None
        path.chmod(PRIVATE_DIR_MODE)


def _fsync_dir(folder: Path) -> None:
    checkpoint("fsync-folder")
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened and synced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _refuse_links(*paths: Path) -> None:
    # The callers have found their folders without following links; a link put in place since is
    # still not written through.
    for path in paths:
        if path.is_symlink():
            raise WriteFailed(path=path, reason="a link stands in its place; ipt-notes never writes through one")


def _write_temporary(target: Path, data: bytes, mode: int) -> Path:
    try:
        checkpoint("temporary-file", io=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise WriteFailed(path=target, reason=error.strerror or "cannot write") from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            checkpoint("write", io=True)
            handle.flush()
            os.fsync(handle.fileno())
            checkpoint("fsync", io=True)
        temporary.chmod(mode)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise WriteFailed(path=target, reason=error.strerror or "cannot write") from None
    return temporary


def create_new(target: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write a file that must not exist yet; an existing file, even one made a moment ago, wins.

    The link from the finished temporary file fails if the name is taken, so two writers racing
    for one name cannot both succeed and neither can leave a partial file behind.
    """
    _refuse_links(target.parent)  # a link at the target itself is an existing file, and wins
    temporary = _write_temporary(target, data, mode)
    try:
        checkpoint("link", io=True)
        os.link(temporary, target)
    except FileExistsError:
        raise FileExists(path=target) from None
    except OSError as error:
        raise WriteFailed(path=target, reason=error.strerror or "cannot write") from None
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def replace_atomically(target: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write a file whole, replacing any earlier version in one step."""
    _refuse_links(target.parent, target)
    temporary = _write_temporary(target, data, mode)
    try:
        checkpoint("rename", io=True)
        temporary.replace(target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise WriteFailed(path=target, reason=error.strerror or "cannot write") from None
    _fsync_dir(target.parent)

"""`ipt-notes validate`: what to check when no file is named, and the staged check of the hook."""

from __future__ import annotations

from pathlib import Path

from ipt_notes.errors import PracticeNotFound, RefusedInput
from ipt_notes.layout import CONFIG_NAME, client_root_of, find_client_folder, find_practice
from ipt_notes.validation import ValidationReport, validate_paths, validate_staged

__all__ = ["validate"]


def _default_target(cwd: Path, root: Path | None) -> Path:
    """--root's practice; else the client folder around here; else the practice around here."""
    if root is not None:
        if not (root / CONFIG_NAME).is_file():
            raise PracticeNotFound(start=str(root))  # --root names a practice: nothing else is checked
        return root
    client = find_client_folder(cwd)
    if client is not None:
        return client
    practice = find_practice(cwd)
    if practice is None:
        raise PracticeNotFound(start=str(cwd))
    return practice


def validate(
    cwd: Path,
    paths: list[Path],
    *,
    root: Path | None = None,
    staged: bool = False,
    rules: bool = True,
) -> ValidationReport:
    """Check the files or folders named, or by default the client or the practice around `cwd`.

    With `staged`, the versions in git's index of the client around `cwd` (or of the files named)
    are checked instead of the working tree: what the pre-commit hook runs.
    """
    if staged:
        anchor = (cwd / paths[0]).resolve() if paths else (root or cwd).resolve()
        folder = client_root_of(anchor if anchor.is_dir() else anchor.parent)
        if folder is None:
            raise RefusedInput("--staged checks one client's repository: run it inside a client folder")
        return validate_staged(folder, paths, cwd=cwd, rules=rules)
    return validate_paths(paths or [_default_target(cwd, root)], cwd=cwd, rules=rules)

"""A client's git repository made safe for health records: its settings, its hook and its ignores.

`new-client` applies all of this to a new client; `transfer` applies it to the copy it makes.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ipt_notes.files import create_new, make_private_dirs
from ipt_notes.git import Repository
from ipt_notes.templates import render_template

__all__ = [
    "BACKUP_REMOTE",
    "BACKUP_SETTINGS",
    "GIT_SETTINGS",
    "HOOK_MARKER",
    "configure",
    "install_hook",
    "repository_files",
]

HOOK_MARKER = "# ipt-notes: checks the staged notes before each commit."
# Flush what is committed to disk, check every object that arrives, keep a reflog of every ref,
# and keep unreachable objects rather than prune them, so that a rewritten history can still be
# examined. New files are private to the owner. Git never guesses an author.
GIT_SETTINGS = {
    "core.fsync": "committed,index",
    "core.fsyncMethod": "fsync",
    "core.sharedRepository": "0600",
    "core.logAllRefUpdates": "always",
    "transfer.fsckObjects": "true",
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "gc.pruneExpire": "never",
    "gc.reflogExpire": "never",
    "gc.reflogExpireUnreachable": "never",
    "user.useConfigOnly": "true",
}
# A backup repository refuses rewrites and deletions, checks what it receives and never prunes.
BACKUP_SETTINGS = {
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "always",
    "core.sharedRepository": "0600",
    "gc.pruneExpire": "never",
    "gc.reflogExpire": "never",
    "gc.reflogExpireUnreachable": "never",
}
BACKUP_REMOTE = "backup"


def repository_files(practice: Path | None) -> dict[str, str]:
    """The files every client repository carries besides its notes: `.gitignore`, `.gitattributes`."""
    return {
        ".gitignore": render_template("client-gitignore", {}, practice),
        ".gitattributes": render_template("gitattributes", {}, practice),
    }


def install_hook(repository: Repository) -> Path | None:
    """Install the pre-commit hook; a hook of another origin is left in place (None is returned)."""
    hook = repository.git_path("hooks/pre-commit")
    if repository.git_dir.resolve() not in hook.resolve().parents:
        # core.hooksPath points elsewhere (a hooks folder shared by many repositories): not ours to change.
        return None
    text = render_template("pre-commit", {"python": shlex.quote(sys.executable)}, None)
    if hook.exists() or hook.is_symlink():
        current = hook.read_text(encoding="utf-8", errors="replace") if hook.is_file() else ""
        if HOOK_MARKER not in current:
            return None
        if current == text:
            return hook
        hook.unlink()
    make_private_dirs(hook.parent, stop_at=repository.git_dir.parent)
    create_new(hook, text.encode("utf-8"), mode=0o700)
    return hook


def configure(repository: Repository) -> Path | None:
    """Apply the safe settings and install the hook; returns the hook installed, if any."""
    for key, value in GIT_SETTINGS.items():
        repository.git("config", key, value)
    return install_hook(repository)

"""`ipt-notes init`: make a practice folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ipt_notes.errors import RefusedInput
from ipt_notes.files import create_new, make_private_dirs
from ipt_notes.layout import CLIENTS_DIR, CONFIG_NAME, FileKind, client_root_of, find_practice
from ipt_notes.settings import local_time_zone, practice_defaults
from ipt_notes.templates import render_checked, render_template

__all__ = ["InitResult", "init_practice"]


@dataclass(frozen=True)
class InitResult:
    root: Path
    written: list[Path]


def init_practice(path: Path) -> InitResult:
    """Make `path` a practice folder: ipt-notes.yaml, .gitignore and clients/; what exists stays.

    The practice folder is not a git repository: each client is one of its own. The .gitignore
    lets the folder become one, for its settings, without ever taking in a client.
    """
    if path.exists() and not path.is_dir():
        raise RefusedInput(f"{path} exists and is not a folder")
    root = path.resolve()
    if client_root_of(root) is not None:
        raise RefusedInput(f"{path} is inside a client's folder; a practice holds its clients, not the reverse")
    around = find_practice(root)
    if around is not None and around != root:
        raise RefusedInput(f"{path} is inside the practice {around}; a practice holds its clients, not practices")
    make_private_dirs(root, stop_at=next(parent for parent in root.parents if parent.exists()))
    written = []
    values = {**practice_defaults(), "time_zone": local_time_zone()}
    for template, target in ((CONFIG_NAME, CONFIG_NAME), ("gitignore", ".gitignore")):
        destination = root / target
        if destination.exists() or destination.is_symlink():
            continue
        if target == CONFIG_NAME:
            text = render_checked(template, values, root, FileKind.CONFIG, target)
        else:
            text = render_template(template, values, root)
        create_new(destination, text.encode("utf-8"))
        written.append(destination)
    make_private_dirs(root / CLIENTS_DIR, stop_at=root)
    return InitResult(root=root, written=written)

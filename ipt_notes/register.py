"""The practice register (`register.yaml`): which courses were transferred or destroyed, by whom
and when. It holds IDs, dates, identities and places, never note content."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from ipt_notes.files import create_new, replace_atomically
from ipt_notes.layout import REGISTER_NAME, FileKind
from ipt_notes.loader import yaml_document

__all__ = ["read_register", "record"]

_HEADER = (
    "# The practice register: courses transferred or destroyed, by client ID, date and who did it.\n"
    "# ipt-notes transfer and destroy keep it; it never holds note content.\n"
)


def read_register(practice: Path) -> dict[str, Any]:
    """The register's fields (empty lists when there is none yet); a register with errors is refused."""
    from ipt_notes.checks import read_checked

    path = practice / REGISTER_NAME
    if not path.exists() and not path.is_symlink():
        return {"version": 1, "transfers": [], "destructions": []}
    check = read_checked(path, FileKind.REGISTER, REGISTER_NAME)
    assert check.document is not None
    data: dict[str, Any] = dict(cast(dict[str, Any], check.document.data))
    data.setdefault("transfers", [])
    data.setdefault("destructions", [])
    return data


def record(practice: Path, section: str, entry: dict[str, object]) -> None:
    """Add one entry to a section of the register, rewriting the file whole and atomically."""
    data = read_register(practice)
    data[section] = [*data[section], entry]
    text = (_HEADER + yaml_document(data)).encode("utf-8")
    path = practice / REGISTER_NAME
    if path.exists():
        replace_atomically(path, text)
    else:
        create_new(path, text)

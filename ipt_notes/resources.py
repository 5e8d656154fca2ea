"""Where the packaged schemas and templates are.

In a wheel they sit inside the package (`ipt_notes/schemas`, `ipt_notes/templates`); in a
source checkout they sit at the top of the repository, where they are edited.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["schemas_dir", "templates_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def schemas_dir() -> Path:
    return _data_dir("schemas")


def templates_dir() -> Path:
    return _data_dir("templates")

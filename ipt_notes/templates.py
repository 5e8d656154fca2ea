"""Templates: the packaged ones, or a practice's own `templates/` overrides, filled in and checked.

A template uses `$name` placeholders; one that names an unknown placeholder is refused. What a
template produces must be valid: a new file is a valid draft, or nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from ipt_notes.errors import NotesInvalid, RefusedInput
from ipt_notes.layout import TEMPLATES_DIR, FileKind
from ipt_notes.problems import Severity
from ipt_notes.resources import templates_dir

__all__ = ["check_rendered", "render_checked", "render_template"]


def render_template(name: str, values: dict[str, str], practice: Path | None) -> str:
    """The named template, from the practice's templates/ if it has one, filled in."""
    override = practice / TEMPLATES_DIR / name if practice is not None else None
    source = override if override is not None and override.is_file() else templates_dir() / name
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise RefusedInput(f"the template {source} cannot be read as UTF-8 text") from None
    try:
        return Template(text).substitute(values)
    except KeyError as error:
        raise RefusedInput(f"the template {source} uses ${error.args[0]}, which is not a placeholder") from None
    except ValueError:
        raise RefusedInput(f"the template {source} has a $ that starts no placeholder (write $$ for $)") from None


def check_rendered(text: str, kind: FileKind, shown: str) -> None:
    """Refuse to write a file that would not be valid: the template must produce a valid draft."""
    from ipt_notes.checks import check_bytes

    problems = check_bytes(text.encode("utf-8"), kind, shown)
    if any(p.severity is Severity.ERROR for p in problems):
        raise NotesInvalid(what=f"the template for {shown}", problems=problems)


def render_checked(name: str, values: dict[str, str], practice: Path | None, kind: FileKind, shown: str) -> str:
    """A template filled in, refused unless it makes a valid file of its kind."""
    text = render_template(name, values, practice)
    check_rendered(text, kind, shown)
    return text

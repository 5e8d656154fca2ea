"""Set top-level fields of a YAML file the clinician also edits, keeping everything else as written.

`close` records the end of a course in client.yaml. Rewriting the whole file from its data would
drop the comments that explain each field, and reorder what the clinician arranged. Instead, the
parser says where each top-level key is, and only the one line of a one-line value is replaced;
its trailing comment is kept. A field written over several lines is refused rather than guessed
at, and a field that is absent is added at the end.
"""

from __future__ import annotations

import re

from ipt_notes.errors import RefusedInput
from ipt_notes.loader import load_yaml, parse_document, yaml_positions, yaml_scalar

__all__ = ["set_fields"]

_PLAIN_VALUE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*):[ \t]*(?P<value>[A-Za-z0-9_.:+-]*)(?P<comment>[ \t]+#.*)?\Z"
)


def set_fields(raw: bytes, values: dict[str, str], *, shown: str) -> bytes:
    """`raw` (a whole YAML file) with each top-level field of `values` set to that string."""
    document = parse_document(raw, front_matter=False)
    if not isinstance(document.data, dict):
        raise RefusedInput(f"{shown} is not a mapping of fields")
    positions = yaml_positions(document.yaml_text)
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    # The line after each top-level key's own is where the next key (or the end) begins.
    starts = sorted(positions.keys[(key,)][0] for key in document.data if (key,) in positions.keys)
    appended = []
    for key, value in values.items():
        if key not in document.data:
            appended.append(f"{key}: {_scalar(value)}")
            continue
        line, column = positions.keys[(key,)]
        following = next((start for start in starts if start > line), len(lines) + 1)
        extra = [lines[index - 1] for index in range(line + 1, following)]
        plain = _PLAIN_VALUE.match(lines[line - 1])
        if column != 1 or plain is None or plain["key"] != key or any(_holds_value(text) for text in extra):
            raise RefusedInput(
                f"{shown}:{line}: {key} is not written as one plain value on its own line; write it so, "
                "then run the command again"
            )
        lines[line - 1] = f"{key}: {_scalar(value)}{plain['comment'] or ''}"
    result = newline.join(lines + appended) + newline
    if parse_document(result.encode("utf-8"), front_matter=False).data != {**document.data, **values}:
        raise RefusedInput(f"{shown}: its fields could not be set without changing others; set them by hand")
    return result.encode("utf-8")


def _holds_value(line: str) -> bool:
    """Whether a line below a key continues its value (anything but a blank or a comment)."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def _scalar(value: str) -> str:
    """A word or a date as it would be typed (`closed`, `2026-04-27`); anything else quoted."""
    if _PLAIN.match(value) and load_yaml(f"v: {value}") == {"v": value}:
        return value
    return yaml_scalar(value)

"""The strict YAML loader: notes read the same way everywhere, or not at all.

The rules (README, "How notes are read"):

- Plain scalars resolve by the YAML 1.2 core schema, narrowed: null, true/false, decimal
  integers without leading zeros, and decimal floats. Everything else is a string, so dates
  stay "2026-02-02", `no` stays "no", `1:30` stays "1:30" and `0755` stays "0755".
- Quoted and block scalars are always strings. Mapping keys are always strings.
- Duplicate keys, anchors, aliases, explicit tags, complex keys and several documents in one
  file are errors, as is nesting deeper than `MAX_DEPTH` and a file larger than `MAX_FILE_BYTES`.
- The file must be UTF-8. A byte-order mark and CRLF line endings are accepted.

The document is built from libyaml's event stream in one loop rather than through PyYAML's
constructor: the loop sees anchors, aliases and tags exactly, never recurses, and is about twice
as fast as `yaml.CSafeLoader` on a typical note.

Every error is a `LoadError` with the 1-based line and column in the file. No message quotes the
file: libyaml's own messages have any quoted text removed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from yaml import events as ev

from ipt_notes.errors import LoadError, MissingLibyaml
from ipt_notes.problems import NOT_A_REGULAR_FILE

_Parser: Any
try:
    from yaml import cyaml

    _Parser = cyaml.CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = None

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "SIGNATURE_KEYS",
    "Document",
    "NodePath",
    "Positions",
    "irregular_message",
    "load_yaml",
    "parse_document",
    "read_bytes",
    "read_document",
    "yaml_document",
    "yaml_positions",
    "yaml_scalar",
]

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32

NodePath = tuple[str | int, ...]
"""A place inside a document: the keys and list indexes from the root."""

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_WORDS: dict[str, object] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_NUMBER_START = frozenset("0123456789+-.")
_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NO_KEY = object()


@dataclass
class Document:
    """A parsed file: its YAML data and where that YAML sits in the file."""

    data: object
    yaml_text: str
    line_offset: int
    """How many lines of the file come before `yaml_text` (1 for front matter)."""
    body: str | None = None
    """The Markdown after the front matter; None for a YAML file."""


@dataclass
class Positions:
    """Where each node of a document starts, as 1-based (line, col) in the file."""

    values: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[NodePath, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: NodePath) -> tuple[int, int]:
        """The node at `path`, or the nearest enclosing node that exists."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def of_key(self, path: NodePath) -> tuple[int, int]:
        """The key that holds `path`, or the node itself when it has no key (list items, root)."""
        return self.keys.get(path) or self.of_value(path)


def _resolve_plain(value: str) -> object:
    if value in _WORDS:
        return _WORDS[value]
    if value[0] in _NUMBER_START:
        try:
            if _INT.match(value):
                return int(value)
            if _FLOAT.match(value):
                return float(value)
        except ValueError:
            # Python refuses int() of more than 4300 digits; such a value stays a string.
            return value
    return value


def _at(mark: Any, line_offset: int) -> tuple[int, int]:
    if mark is None:
        return (line_offset + 1, 1)
    return (mark.line + 1 + line_offset, mark.column + 1)


def _refuse(rule: str, message: str, mark: Any, line_offset: int) -> LoadError:
    line, col = _at(mark, line_offset)
    return LoadError(rule=rule, message=message, line=line, col=col)


def _build(
    text: str, line_offset: int, positions: Positions | None, top_keys: dict[str, tuple[int, int]] | None = None
) -> object:
    """Build the document from libyaml events; record node positions, and the (0-based) line and
    column of each key of the top-level mapping, when asked."""
    if _Parser is None:  # pragma: no cover - PyYAML built without libyaml
        raise MissingLibyaml()
    parser = _Parser(text)
    next_event: Callable[[], Any] = parser.get_event
    containers: list[dict[str, object] | list[object]] = []
    pending: list[object] = []  # per mapping: the key awaiting its value, else _NO_KEY
    paths: list[NodePath] = []  # per container, only when positions are recorded
    root: object = None
    documents = 0
    scalar_t, alias_t = ev.ScalarEvent, ev.AliasEvent
    map_start_t, seq_start_t = ev.MappingStartEvent, ev.SequenceStartEvent
    map_end_t, seq_end_t = ev.MappingEndEvent, ev.SequenceEndEvent
    while True:
        event = next_event()
        kind = type(event)
        if kind is scalar_t or kind is map_start_t or kind is seq_start_t:
            if event.anchor is not None:
                raise _refuse("yaml-anchor", "YAML anchors are not allowed in notes", event.start_mark, line_offset)
            if event.tag is not None:
                raise _refuse("yaml-tag", "explicit YAML tags are not allowed in notes", event.start_mark, line_offset)
        if kind is scalar_t:
            raw: str = event.value
            if containers:
                top = containers[-1]
                if type(top) is dict and pending[-1] is _NO_KEY:
                    if raw in top:
                        raise _duplicate(text, line_offset, event, paths, raw, positions)
                    pending[-1] = raw
                    if top_keys is not None and len(containers) == 1:
                        top_keys[raw] = (event.start_mark.line, event.start_mark.column)
                    if positions is not None:
                        positions.keys[paths[-1] + (raw,)] = _at(event.start_mark, line_offset)
                    continue
            value: object = _resolve_plain(raw) if event.implicit[0] else raw
        elif kind is map_start_t or kind is seq_start_t:
            if containers and type(containers[-1]) is dict and pending[-1] is _NO_KEY:
                raise _refuse("yaml-complex-key", "mapping keys must be plain strings", event.start_mark, line_offset)
            if len(containers) >= MAX_DEPTH:
                raise _refuse("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", event.start_mark, line_offset)
            container: dict[str, object] | list[object] = {} if kind is map_start_t else []
            if positions is not None:
                path = _child_path(containers, pending, paths)
                positions.values[path] = _at(event.start_mark, line_offset)
                paths.append(path)
            containers.append(container)
            pending.append(_NO_KEY)
            continue
        elif kind is map_end_t or kind is seq_end_t:
            value = containers.pop()
            pending.pop()
            if positions is not None:
                paths.pop()
        elif kind is alias_t:
            raise _refuse("yaml-alias", "YAML aliases are not allowed in notes", event.start_mark, line_offset)
        elif kind is ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _refuse(
                    "yaml-multiple-documents", "a file holds one YAML document", event.start_mark, line_offset
                )
            continue
        elif kind is ev.StreamEndEvent:
            return root
        else:
            continue
        if not containers:
            root = value
            if positions is not None and kind is scalar_t:
                positions.values[()] = _at(event.start_mark, line_offset)
            continue
        top = containers[-1]
        if type(top) is list:
            if positions is not None and kind is scalar_t:
                positions.values[paths[-1] + (len(top),)] = _at(event.start_mark, line_offset)
            top.append(value)
        else:
            key = pending[-1]
            assert isinstance(key, str)
            if positions is not None and kind is scalar_t:
                positions.values[paths[-1] + (key,)] = _at(event.start_mark, line_offset)
            cast(dict[str, object], top)[key] = value
            pending[-1] = _NO_KEY


def _child_path(
    containers: list[dict[str, object] | list[object]], pending: list[object], paths: list[NodePath]
) -> NodePath:
    if not containers:
        return ()
    top = containers[-1]
    if type(top) is list:
        return paths[-1] + (len(top),)
    key = pending[-1]
    assert isinstance(key, str)
    return paths[-1] + (key,)


def _duplicate(
    text: str, line_offset: int, event: yaml.Event, paths: list[NodePath], key: str, positions: Positions | None
) -> LoadError:
    if positions is None:
        # The fast pass keeps no positions; the second pass finds the first occurrence too.
        positions = Positions()
        try:
            _build(text, line_offset, positions)
        except LoadError as error:
            return error
        raise AssertionError("the second pass must meet the same duplicate key")  # pragma: no cover
    first_line, _ = positions.keys[paths[-1] + (key,)]
    line, col = _at(event.start_mark, line_offset)
    return LoadError(
        rule="yaml-duplicate-key",
        message=f"duplicate key: the same key is already set on line {first_line}",
        line=line,
        col=col,
    )


def _translate_yaml_error(error: yaml.YAMLError, text: str, line_offset: int) -> LoadError:
    if isinstance(error, yaml.reader.ReaderError):
        index = max(error.position, 0)
        line = text.count("\n", 0, index)
        col = index - (text.rfind("\n", 0, index) + 1)
        return LoadError(
            rule="yaml-character",
            message="a character that YAML does not allow (a control character)",
            line=line + 1 + line_offset,
            col=col + 1,
        )
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or "not valid YAML"
    # libyaml quotes source characters and alias names in some messages; keep none of them.
    problem = _QUOTED.sub("…", str(problem))
    rule = "yaml-too-deep" if "nesting depth" in problem else "yaml-syntax"
    return _refuse(rule, f"YAML syntax: {problem}", mark, line_offset)


def load_yaml(text: str, line_offset: int = 0) -> object:
    """Parse one YAML document strictly. `line_offset` is added to every reported line."""
    try:
        return _build(text, line_offset, None)
    except yaml.YAMLError as error:
        raise _translate_yaml_error(error, text, line_offset) from None


def yaml_positions(text: str, line_offset: int = 0) -> Positions:
    """The file positions of every node of a document that `load_yaml` accepts."""
    positions = Positions()
    try:
        _build(text, line_offset, positions)
    except yaml.YAMLError as error:
        raise _translate_yaml_error(error, text, line_offset) from None
    return positions


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise LoadError(rule="file-too-large", message=f"the file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        line = raw.count(b"\n", 0, error.start) + 1
        col = len(raw[line_start : error.start].decode("utf-8", "replace")) + 1
        raise LoadError(rule="encoding", message="the file is not valid UTF-8", line=line, col=col) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        index = text.index("\x00")
        raise LoadError(
            rule="yaml-character",
            message="the file holds a NUL character",
            line=text.count("\n", 0, index) + 1,
            col=index - (text.rfind("\n", 0, index) + 1) + 1,
        )
    return text


def parse_document(raw: bytes, *, front_matter: bool) -> Document:
    """Parse a whole file's bytes: a YAML file, or Markdown with YAML front matter."""
    text = _decode(raw)
    if not front_matter:
        refuse_odd_line_breaks(text, 0)
        return Document(data=load_yaml(text), yaml_text=text, line_offset=0)
    first_end = text.find("\n")
    first_line = text if first_end < 0 else text[:first_end]
    if first_line.rstrip(" \t\r") != "---":
        raise LoadError(
            rule="front-matter-missing",
            message="a note starts with YAML front matter: a line '---', the fields, then a line '---'",
        )
    closing = _FENCE.search(text, first_end + 1) if first_end >= 0 else None
    if closing is None:
        raise LoadError(
            rule="front-matter-unclosed",
            message="the front matter opened here is never closed by a line '---'",
        )
    yaml_text = text[first_end + 1 : closing.start()]
    body_start = text.find("\n", closing.end())
    body = "" if body_start < 0 else text[body_start + 1 :]
    return Document(data=_load_front_matter(yaml_text), yaml_text=yaml_text, line_offset=1, body=body)


SIGNATURE_KEYS = ("status", "signed_by", "signed_at", "content_hash")
"""The front-matter fields that sign writes and the content hash reads, line by line."""
_SIGNATURE_LINE = re.compile(r"^(" + "|".join(SIGNATURE_KEYS) + r")[ \t]*:", re.MULTILINE)


_ODD_LINE_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
"""Line breaks YAML reads as new lines where line-based tools (and git, awk, grep) see none: a
lone carriage return, NEL, and the Unicode line and paragraph separators."""


def refuse_odd_line_breaks(text: str, line_offset: int) -> None:
    """Refuse YAML whose lines do not end where every other reader thinks they do."""
    found = _ODD_LINE_BREAK.search(text)
    if found is not None:
        index = found.start()
        raise LoadError(
            rule="yaml-line-break",
            message=(
                "a line break other than LF or CRLF (a lone carriage return, or a Unicode line or paragraph "
                "separator, often pasted in): YAML and line-based tools would read the lines differently; "
                "replace it with an ordinary line end or a space"
            ),
            line=text.count("\n", 0, index) + 1 + line_offset,
            col=index - (text.rfind("\n", 0, index) + 1) + 1,
        )


def _load_front_matter(yaml_text: str) -> object:
    """Parse front matter, refusing any line that starts like a signature field but is not one.

    YAML lets a line inside a quoted value start at column 0, so without this a line such as
    `content_hash: ...` or `status: ...` could hide inside another field's text, where a
    line-based reading of the signature (sign's edits, the README's hash recipe) would take it
    for the field. With it, every line that starts with a signature key's name is that key.
    """
    refuse_odd_line_breaks(yaml_text, 1)
    top_keys: dict[str, tuple[int, int]] = {}
    try:
        data = _build(yaml_text, 1, None, top_keys)
    except yaml.YAMLError as error:
        raise _translate_yaml_error(error, yaml_text, 1) from None
    for found in _SIGNATURE_LINE.finditer(yaml_text):
        line = yaml_text.count("\n", 0, found.start())
        if top_keys.get(found.group(1)) != (line, 0):
            raise LoadError(
                rule="signature-line",
                message=(
                    f"this line starts like the note's {found.group(1)} field but belongs to another value: "
                    "indent it, so that no line of a value can pass for a signature field"
                ),
                line=line + 2,
                col=1,
            )
    return data


# A link is never followed and a pipe never waited on: the file is opened as it stands, then
# must prove to be a regular file before a byte of it is read.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, refusing anything over the size cap before reading it whole, and anything
    that is not a regular file (a link, a folder, a pipe, a device) before reading it at all."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENXIO) or path.is_symlink():
            # A link (never followed), or a socket, which cannot be opened at all.
            raise LoadError(rule=NOT_A_REGULAR_FILE, message=irregular_message(path)) from None
        raise LoadError(rule="unreadable", message=f"the file cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LoadError(rule=NOT_A_REGULAR_FILE, message=irregular_message(path))
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise LoadError(rule="unreadable", message=f"the file cannot be read ({error.strerror})") from None


def irregular_message(path: Path) -> str:
    """Why a path that is not a regular file is refused, by what stands there."""
    if path.is_symlink():
        what = "a link"
    elif path.is_dir():
        what = "a folder"
    elif path.is_file():
        return "a file stands where the layout expects a folder: move it away"
    else:
        what = "a pipe, a socket or a device"
    return (
        f"{what} stands where a notes file should be: notes are plain files, read where they are, never through a link"
    )


def read_document(path: Path, *, front_matter: bool) -> Document:
    """Read and parse one file."""
    return parse_document(read_bytes(path), front_matter=front_matter)


_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def yaml_scalar(value: object) -> str:
    """A value as one line of YAML that reads back exactly as `value` under this loader.

    JSON is a subset of YAML's flow style; the characters YAML will not take raw in a quoted
    scalar are escaped as well.
    """
    text = json.dumps(value, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _yaml_key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and _resolve_plain(key) == key else yaml_scalar(key)


def _yaml_mapping(mapping: dict[str, object], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{_yaml_key(key)}:")
            lines.extend(_yaml_mapping(value, indent + 2))
        elif isinstance(value, list) and value and all(isinstance(item, dict) and item for item in value):
            lines.append(f"{pad}{_yaml_key(key)}:")
            for item in value:
                entry = _yaml_mapping(item, indent + 4)
                entry[0] = f"{pad}  - {entry[0][indent + 4 :]}"
                lines.extend(entry)
        else:
            lines.append(f"{pad}{_yaml_key(key)}: {yaml_scalar(value)}")
    return lines


def yaml_document(mapping: dict[str, object]) -> str:
    """A mapping as block YAML that reads back exactly as `mapping` under this loader.

    Nested mappings and lists of mappings are written as blocks; every other value as one
    `yaml_scalar`, so no string can be read back as anything else.
    """
    lines = _yaml_mapping(mapping, 0) or ["{}"]
    return "".join(line + "\n" for line in lines)

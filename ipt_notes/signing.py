"""Signing: the content hash of a note, and the edits `sign` makes to a draft.

The content hash is defined so that anyone can recompute it with standard tools:

    Take the file's bytes. In its front matter (from the opening `---` line to the closing `---`
    or `...` line), drop the one line that starts with `content_hash:`. The hash is `sha256:`
    followed by the SHA-256 of what remains, in lowercase hex.

For example (the README's recipe, which a test runs):
`awk 'NR==1{f=1; print; next} f && /^(---|\\.\\.\\.)[ \\t]*\\r?$/{f=0} f && /^content_hash:/{next} {print}'
NOTE | sha256sum`. The hash is over the bytes as they are, so CRLF files hash with their CRs.

Everything else is covered, the body, the status, the signer and the time of signing included, so
no word of a signed note can change without the hash telling. The recipe is exact for every note
ipt-notes accepts: the loader refuses a line of any other value that starts with a signature
key's name (see `loader.SIGNATURE_KEYS`), and the hash's own line is the one `sign` writes,
`content_hash: sha256:<64 hex digits>`. A supervisor's co-signature is a file of its own beside
the note, so a signed note's bytes never change at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from ipt_notes.errors import LoadError, RefusedInput
from ipt_notes.loader import SIGNATURE_KEYS, parse_document, yaml_scalar
from ipt_notes.vocabulary import statuses

__all__ = ["content_hash", "is_signed", "recorded_hash", "signed_with_origins", "timestamp"]

_HASH_LINE = re.compile(rb"content_hash:")
_CANONICAL_HASH_LINE = re.compile(rb"content_hash: sha256:[0-9a-f]{64}\r?\n?\Z")
_FENCE = re.compile(rb"(?:---|\.\.\.)[ \t]*\r?\n?\Z")
_SIGNATURE_KEYS = re.compile(rb"(?:" + "|".join(SIGNATURE_KEYS).encode() + rb")[ \t]*:")
_STATUS = re.compile(rb"status[ \t]*:")


def _front_matter_end(lines: list[bytes]) -> int:
    """The index of the closing fence line (the front matter is lines[1:end])."""
    first = lines[0].removeprefix(b"\xef\xbb\xbf") if lines else b""
    if not _FENCE.match(first) or not first.startswith(b"---"):
        raise RefusedInput("the note has no front matter to sign")
    for index in range(1, len(lines)):
        if _FENCE.match(lines[index]):
            return index
    raise RefusedInput("the note's front matter is never closed")


_ODD_BREAK = re.compile(rb"\r(?!\n)|\xc2\x85|\xe2\x80[\xa8\xa9]")
_SAYS_SIGNED = re.compile(rb"(?:\A|[\r\n]|\xc2\x85|\xe2\x80[\xa8\xa9])[\"']?status[\"']?[ \t]*:[ \t]*[\"']?signed\b")
_PLAIN_STATUS = re.compile(rb"status:[ \t]*(signed|draft)(?:[ \t]+#[^\n]*)?[ \t]*\r?\n?\Z")


def is_signed(raw: bytes) -> bool:
    """Whether a version of a note is signed, as the YAML parser reads its status.

    The status line as ipt-notes writes it (`status: signed`, `status: draft`) is read as it
    stands; any other spelling (quoted, with a comment, over several lines, a quoted key) is
    parsed, so that no way of writing the status can pass for another.
    """
    lines = raw.splitlines(keepends=True)
    try:
        end = _front_matter_end(lines)
    except RefusedInput:
        return False
    odd = _ODD_BREAK.search(b"".join(lines[:end])) is not None
    for line in [] if odd else lines[1:end]:
        if line.startswith(b"status:"):
            plain = _PLAIN_STATUS.match(line)
            if plain is not None:
                return plain.group(1) == b"signed"
            break
    try:
        data = parse_document(raw, front_matter=True).data
    except LoadError:
        # A version the reader refuses is judged by caution: any line of its front matter that
        # says it is signed, wherever a reader could start a line, makes it signed.
        return _SAYS_SIGNED.search(b"".join(lines[:end])) is not None
    return isinstance(data, dict) and data.get("status") == statuses().signed


def content_hash(raw: bytes) -> str:
    """The content hash of a note's bytes (see the module's documentation).

    The line left out is the top-level `content_hash` field, found through the parser whenever
    the line-based reading could be in doubt (several lines start with `content_hash:`, or the
    one that does is not in the form sign writes). A hash field written in any other form is
    left in, so that the note cannot match its own hash and is reported as changed.
    """
    lines = raw.splitlines(keepends=True)
    excluded = _hash_line(raw, lines)
    kept = lines if excluded is None else lines[:excluded] + lines[excluded + 1 :]
    return "sha256:" + hashlib.sha256(b"".join(kept)).hexdigest()


def recorded_hash(raw: bytes) -> str | None:
    """The content hash a note records, read from the line the hash leaves out; None without one."""
    lines = raw.splitlines(keepends=True)
    try:
        index = _hash_line(raw, lines)
    except RefusedInput:
        return None
    return None if index is None else lines[index].split(b":", 1)[1].strip().decode("ascii")


def _hash_line(raw: bytes, lines: list[bytes]) -> int | None:
    """The index of the line the content hash leaves out: the content_hash field's, in its form."""
    end = _front_matter_end(lines)
    candidates = [index for index in range(1, end) if _HASH_LINE.match(lines[index])]
    odd = _ODD_BREAK.search(b"".join(lines[:end])) is not None
    if len(candidates) == 1 and _CANONICAL_HASH_LINE.match(lines[candidates[0]]) and not odd:
        return candidates[0]
    return _hash_field_line(raw, candidates, lines) if candidates else None


def _hash_field_line(raw: bytes, candidates: list[int], lines: list[bytes]) -> int | None:
    """Which of the front-matter lines starting `content_hash:` is the field, in its canonical
    form; None when none can be trusted to be."""
    try:
        parse_document(raw, front_matter=True)
    except LoadError:
        return None  # a line that only looks like the field, or YAML that does not parse
    # Parsed, so the loader has made sure that only the field's own line starts this way.
    canonical = [index for index in candidates if _CANONICAL_HASH_LINE.match(lines[index])]
    return canonical[0] if len(canonical) == 1 else None


def _scalar(value: str) -> bytes:
    return yaml_scalar(value).encode("utf-8")


def timestamp(now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_with_origins(raw: bytes, *, signer: str, when: str) -> tuple[bytes, list[int]]:
    """The note with status signed, signer, time and content hash set, and for each line of the
    result the line of `raw` it comes from (1-based).

    Any earlier signature lines are replaced. Only top-level `key: value` lines are touched, so
    comments, order and the body stay exactly as the clinician wrote them.

    The signature lines count as coming from the status line, so that a problem found in the
    signed text can be shown where the clinician can see it, in the draft.
    """
    lines = raw.splitlines(keepends=True)
    end = _front_matter_end(lines)
    newline = b"\r\n" if lines[0].endswith(b"\r\n") else b"\n"
    if not lines[-1].endswith(b"\n"):
        lines[-1] += newline  # line-based tools end every line; the signed note does too
    numbered = list(enumerate(lines, start=1))
    head, front, tail = numbered[:1], numbered[1:end], numbered[end:]
    status = next((number for number, line in front if _STATUS.match(line)), None)
    if status is None:
        raise RefusedInput("the note has no top-level status line to sign")
    kept = [(n, line) for n, line in front if n == status or not _SIGNATURE_KEYS.match(line)]
    at = next(i for i, (n, _) in enumerate(kept) if n == status)
    signature = [
        (status, b"status: signed" + newline),
        (status, b"signed_by: " + _scalar(signer) + newline),
        (status, b"signed_at: " + when.encode("ascii") + newline),
    ]
    front = kept[:at] + signature + kept[at + 1 :]
    digest = content_hash(b"".join(line for _, line in head + front + tail))
    front.insert(at + 3, (status, b"content_hash: " + digest.encode("ascii") + newline))
    result = head + front + tail
    return b"".join(line for _, line in result), [n for n, _ in result]

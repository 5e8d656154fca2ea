"""Signing: the content hash of a note, and the edits `sign` and `cosign` make to a draft.

The content hash is defined so that anyone can recompute it with standard tools:

    Take the file's bytes. In its front matter (from the opening `---` line to the closing `---`
    or `...` line), drop every line that starts with `content_hash:`, `cosigned_by:` or
    `cosigned_at:`. The hash is `sha256:` followed by the SHA-256 of what remains, in lowercase hex.

For example: `awk 'NR==1{f=1} f && /^(---|\\.\\.\\.)$/ && NR>1{f=0}
f && /^(content_hash|cosigned_by|cosigned_at):/{next} {print}' NOTE | sha256sum` (with LF line
endings; the hash is over the bytes as they are, so CRLF files hash with their CRs).

Everything else is covered, the body, the status, the signer and the time of signing included, so
no word of a signed note can change without the hash telling. Co-signing adds lines the hash
leaves out, so a supervisor's co-signature does not break the clinician's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from ipt_notes.errors import LoadError, RefusedInput
from ipt_notes.loader import parse_document, yaml_scalar
from ipt_notes.vocabulary import statuses

__all__ = [
    "HASH_EXCLUDED",
    "add_cosignature",
    "content_hash",
    "is_signed",
    "signed_with_origins",
    "timestamp",
    "without_cosignature",
]

HASH_EXCLUDED = ("content_hash", "cosigned_by", "cosigned_at")
_EXCLUDED = re.compile(rb"(?:" + b"|".join(key.encode() for key in HASH_EXCLUDED) + rb"):")
_FENCE = re.compile(rb"(?:---|\.\.\.)[ \t]*\r?\n?\Z")
_SIGNATURE_KEYS = re.compile(rb"(?:status|signed_by|signed_at|content_hash|cosigned_by|cosigned_at):")
_STATUS = re.compile(rb"status:")


def _front_matter_end(lines: list[bytes]) -> int:
    """The index of the closing fence line (the front matter is lines[1:end])."""
    first = lines[0].removeprefix(b"\xef\xbb\xbf") if lines else b""
    if not _FENCE.match(first) or not first.startswith(b"---"):
        raise RefusedInput("the note has no front matter to sign")
    for index in range(1, len(lines)):
        if _FENCE.match(lines[index]):
            return index
    raise RefusedInput("the note's front matter is never closed")


_COSIGNATURE_LINE = re.compile(rb"(?:cosigned_by|cosigned_at):[^\n]*\n")
_PLAIN_STATUS = re.compile(rb"status:[ \t]*(signed|draft)(?:[ \t]+#[^\n]*)?[ \t]*\r?\n?\Z")


def without_cosignature(raw: bytes) -> bytes:
    """The note as its signer signed it: a later co-signature is the one change a signed note may have."""
    return _COSIGNATURE_LINE.sub(b"", raw.replace(b"\r\n", b"\n"))


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
    for line in lines[1:end]:
        if line.startswith(b"status:"):
            plain = _PLAIN_STATUS.match(line)
            if plain is not None:
                return plain.group(1) == b"signed"
            break
    try:
        data = parse_document(raw, front_matter=True).data
    except LoadError:
        return False
    return isinstance(data, dict) and data.get("status") == statuses().signed


def content_hash(raw: bytes) -> str:
    """The content hash of a note's bytes (see the module's documentation)."""
    lines = raw.splitlines(keepends=True)
    end = _front_matter_end(lines)
    kept = [line for index, line in enumerate(lines) if not (0 < index < end and _EXCLUDED.match(line))]
    return "sha256:" + hashlib.sha256(b"".join(kept)).hexdigest()


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


def add_cosignature(raw: bytes, *, cosigner: str, when: str) -> bytes:
    """The signed note with `cosigned_by` and `cosigned_at` added after its content hash."""
    lines = raw.splitlines(keepends=True)
    end = _front_matter_end(lines)
    newline = b"\r\n" if lines[0].endswith(b"\r\n") else b"\n"
    at = next((i for i in range(1, end) if lines[i].startswith(b"content_hash:")), None)
    if at is None:
        raise RefusedInput("the note carries no content hash: sign it before it is co-signed")
    cosignature = [b"cosigned_by: " + _scalar(cosigner) + newline, b"cosigned_at: " + when.encode("ascii") + newline]
    return b"".join(lines[: at + 1] + cosignature + lines[at + 1 :])

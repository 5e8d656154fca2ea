"""No line of a value can pass for a signature field, so that the content hash, sign's edits and
the README's line-based recipe read exactly the fields the parser reads.

YAML lets a line of a quoted value that runs over several lines start at column 0. Such a line
starting `content_hash:` would be left out of a line-based hash, and one starting `status:`
would be replaced by sign, deleting clinical text. The reader refuses both, at their line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ipt_notes.errors import LoadError
from ipt_notes.loader import SIGNATURE_KEYS, parse_document
from ipt_notes.signing import content_hash
from tests.conftest import NOTE
from tests.helpers import CANARY, cli, fields, git, head

CLIENT = "clients/C-0042"
TWO_LINES = f'  assigned: "{CANARY} first line,\n  second line"\n'
"""The homework as a double-quoted value over two lines; its second line is indented."""


def _two_line_homework(note: Path) -> None:
    text = note.read_text()
    assert f"  assigned: {CANARY}\n" in text
    note.write_text(text.replace(f"  assigned: {CANARY}\n", TWO_LINES))


def _insert_in_value(note: Path, line: str) -> int:
    """Put `line` at column 0 between the two lines of the homework; the 1-based line it lands on."""
    lines = note.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.startswith('  assigned: "')) + 1
    lines.insert(at, line)
    note.write_text("".join(lines))
    return at + 1


@pytest.mark.parametrize("key", SIGNATURE_KEYS)
def test_the_reader_refuses_a_value_line_that_starts_like_a_signature_field(key: str) -> None:
    raw = f'---\nstatus: draft\nnote: "one\n{key}: two"\n---\nbody\n'.encode()
    with pytest.raises(LoadError) as refused:
        parse_document(raw, front_matter=True)
    assert (refused.value.rule, refused.value.line, refused.value.col) == ("signature-line", 4, 1)
    assert "two" not in str(refused.value)
    # Indented, the same text is an ordinary second line of the value.
    raw = f'---\nstatus: draft\nnote: "one\n  {key}: two"\n---\n'.encode()
    assert parse_document(raw, front_matter=True).data == {"status": "draft", "note": f"one {key}: two"}


def test_the_fields_themselves_may_be_spelled_freely() -> None:
    raw = b'---\nstatus : signed   # ok\nsigned_by: "T <t@x.example>"\nsigned_at: 2026-01-05T10:00:00Z\n---\n'
    assert parse_document(raw, front_matter=True).data["status"] == "signed"  # type: ignore[index]


@pytest.mark.parametrize("key", ["content_hash", "cosigned_at"])
def test_a_line_slipped_into_a_signed_value_is_caught_everywhere(
    practice: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    client = practice / CLIENT
    _two_line_homework(note)
    git(client, "commit", "-q", "-am", "homework over two lines")
    assert cli(practice, "sign", NOTE, monkeypatch=monkeypatch)[0] == 0
    signed = head(client)
    line = _insert_in_value(note, f"{key}: and stop the medication at once,\n")
    code, out, err = cli(practice, "validate", NOTE, monkeypatch=monkeypatch)
    assert code == 1
    if key in SIGNATURE_KEYS:
        assert f"{NOTE}:{line}:1: error [signature-line]" in out
    else:
        # Not a signature field any more: the text is hashed like any other, and fails the hash.
        assert "error [signed-note-changed]" in out
    assert "medication" not in out + err
    hook = subprocess.run(["git", "commit", "-qam", "x"], cwd=client, capture_output=True, text=True)
    assert hook.returncode != 0 and head(client) == signed
    git(client, "commit", "-q", "--no-verify", "-am", "x")
    code, out, _ = cli(practice, "verify", "C-0042", monkeypatch=monkeypatch)
    assert code == 1 and "[verify-signed-changed]" in out


def test_sign_never_deletes_a_line_of_text_that_starts_like_its_fields(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    _two_line_homework(note)
    line = _insert_in_value(note, "status: stays in the homework\n")
    before, commit = note.read_bytes(), head(practice / CLIENT)
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert f"{NOTE}:{line}:1: error [signature-line]" in err
    assert (note.read_bytes(), head(practice / CLIENT)) == (before, commit)


def test_only_the_hash_line_as_sign_writes_it_is_left_out(signed_practice: Path) -> None:
    raw = (signed_practice / NOTE).read_bytes()
    recorded = fields(signed_practice / NOTE)["content_hash"]
    assert content_hash(raw) == recorded
    for changed in (
        raw.replace(b"\ncontent_hash: ", b"\ncontent_hash:  ", 1),  # two spaces
        raw.replace(b"\ncontent_hash: sha256:", b"\ncontent_hash:\n  sha256:", 1),  # on the next line
        raw.replace(b"\ncontent_hash: ", b'\ncontent_hash: "', 1).replace(b"\nmodality", b'"\nmodality', 1),
    ):
        assert content_hash(changed) != recorded


def _crafted(status_lines: bytes, body: bytes) -> bytes:
    """A complete first note whose signature lines follow lone carriage returns, hashed as the
    tool hashes it: the parser reads it as signed, a line-based reader as a draft."""
    from ipt_notes.signing import content_hash as digest

    tasks = b"".join(
        b"  %s: true\n" % task
        for task in (
            b"symptoms_reviewed",
            b"diagnosis_discussed",
            b"sick_role_given",
            b"medication_evaluated",
            b"inventory_reviewed",
            b"problem_area_discussed",
            b"formulation_agreed",
            b"contract_agreed",
        )
    )
    head = (
        b"---\nclient: C-0042\nsession: 1\ndate: 2026-01-05\nphase: initial\nattendance: attended\n"
        b"techniques: [psychoeducation]\nrisk:\n  suicidal_ideation: none\ninitial:\n" + tasks + status_lines
    )
    tail = b"\n---\n" + body + b"\n"
    placeholder = head + b"content_hash: sha256:" + b"0" * 64 + tail
    return head + b"content_hash: " + digest(placeholder).encode() + tail


ODD = (
    b'x-a: "a\rstatus: draft\r"\rstatus: signed\rsigned_by: "T-01 <t01@clinic.example>"'
    b"\rsigned_at: 2026-01-06T10:00:00Z\r"
)


@pytest.mark.parametrize("separator", ["\r", "\u2028", "\u2029", "\x85"])
def test_line_breaks_other_than_lf_and_crlf_are_refused_at_their_place(separator: str) -> None:
    raw = f'---\nstatus: draft\nnote: "one{separator}two"\n---\n'.encode()
    with pytest.raises(LoadError) as refused:
        parse_document(raw, front_matter=True)
    assert (refused.value.rule, refused.value.line, refused.value.col) == ("yaml-line-break", 3, 11)


def test_a_note_whose_lines_differ_by_reader_is_never_taken_for_a_draft(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    note = practice / NOTE
    note.write_bytes(_crafted(ODD, b"original text"))
    hook = subprocess.run(["git", "commit", "-qam", "sign C-0042 1"], cwd=client, capture_output=True, text=True)
    assert hook.returncode != 0 and "[yaml-line-break]" in hook.stderr
    git(client, "commit", "-q", "--no-verify", "-am", "sign C-0042 1")
    note.write_bytes(_crafted(ODD, b"REWRITTEN text"))
    code, out, _ = cli(practice, "validate", NOTE, monkeypatch=monkeypatch)
    assert code == 1
    assert {"yaml-line-break", "signed-note-changed"} <= set(re.findall(r"\[([a-z-]+)\]", out))
    git(client, "commit", "-q", "--no-verify", "-am", "rewritten")
    git(client, "rm", "-q", NOTE.removeprefix(CLIENT + "/"))
    code, out, _ = cli(practice, "validate", CLIENT, monkeypatch=monkeypatch)
    assert code == 1 and "[signed-note-deleted]" in out
    code, out, _ = cli(practice, "verify", "C-0042", monkeypatch=monkeypatch)
    assert code == 1 and "[verify-signed-changed]" in out

"""`ipt-notes amend` on real client repositories: an addendum beside a signed note, never an edit of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipt_notes.signing import content_hash
from tests.conftest import NOTE
from tests.helpers import CANARY, IDENTITY, cli, commits, fields, git, head, script

CLIENT = "clients/C-0042"
FIRST = f"{CLIENT}/sessions/01.addendum-1.md"
"""The addendum the signed practice already holds (a draft)."""


def signing_commit(repo: Path) -> str:
    """The commit ipt-notes made to sign note 1, found by its message."""
    found = git(repo, "log", "--format=%H", "--fixed-strings", "--grep=sign C-0042 1").split()
    assert len(found) == 1
    return found[0]


def test_amend_refuses_a_draft(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = practice / CLIENT
    tip = head(repo)
    code, out, err = cli(practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "C-0042 1 is not signed" in err
    assert not (practice / FIRST).exists()
    assert head(repo) == tip


def test_the_signed_practice_holds_a_linked_addendum(signed_practice: Path) -> None:
    repo = signed_practice / CLIENT
    data = fields(signed_practice / FIRST)
    assert data["kind"] == "addendum"
    assert data["status"] == "draft"
    assert data["author"] == IDENTITY
    assert data["amends"] == {
        "note": "sessions/01.md",
        "content_hash": content_hash((signed_practice / NOTE).read_bytes()),
        "commit": signing_commit(repo),
    }
    assert commits(repo)[:2] == ["amend C-0042 1", "sign C-0042 1"]


def test_amend_links_an_addendum_and_leaves_the_note_byte_identical(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    note = signed_practice / NOTE
    before = note.read_bytes()
    code, out, err = cli(signed_practice, "amend", NOTE, "--kind", "late_entry", monkeypatch=monkeypatch)
    second = f"{CLIENT}/sessions/01.addendum-2.md"
    assert (code, out) == (0, second + "\n"), err
    assert CANARY in note.read_text()  # the fixture's homework: never in any output or message
    assert CANARY not in out + err
    addendum = signed_practice / second
    data = fields(addendum)
    assert data["kind"] == "late_entry"
    assert data["status"] == "draft"
    assert data["client"] == "C-0042"
    assert data["amends"] == {
        "note": "sessions/01.md",
        "content_hash": content_hash(before),
        "commit": signing_commit(repo),
    }
    assert note.read_bytes() == before
    assert commits(repo)[:2] == ["amend C-0042 1", "amend C-0042 1"]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/01.addendum-2.md"]
    assert git(repo, "status", "--porcelain") == ""
    code, out, err = cli(signed_practice, "sign", second, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    reason_line = next(i for i, text in enumerate(addendum.read_text().splitlines(), 1) if text.startswith("reason"))
    assert f"{second}:{reason_line}:9: error [schema-type] must be text" in err
    assert CANARY not in out + err
    assert commits(repo)[0] == "amend C-0042 1"
    addendum.write_text(addendum.read_text().replace("reason: null", "reason: A call after the session."))
    git(repo, "commit", "-q", "--no-verify", "-am", "addendum written")
    code, out, err = cli(signed_practice, "sign", second, monkeypatch=monkeypatch)
    assert (code, out) == (0, second + "\n"), err
    assert commits(repo)[0] == "sign C-0042 1 addendum-2"
    assert fields(addendum)["status"] == "signed"
    assert note.read_bytes() == before
    assert cli(signed_practice, "validate", CLIENT, monkeypatch=monkeypatch)[:2] == (0, "")
    assert CANARY not in git(repo, "log", "--format=%B")


def test_amend_inside_the_client_folder_takes_the_note_relative_to_it(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    code, out, err = cli(repo, "amend", "sessions/01.md", monkeypatch=monkeypatch)
    assert (code, out) == (0, "sessions/01.addendum-2.md\n"), err
    assert fields(repo / "sessions/01.addendum-2.md")["amends"] == fields(repo / "sessions/01.addendum-1.md")["amends"]
    assert commits(repo)[:2] == ["amend C-0042 1", "amend C-0042 1"]
    assert CANARY not in out + err


def test_amend_in_a_clone_outside_any_practice_commits_to_the_clone(signed_practice: Path, tmp_path: Path) -> None:
    repo = signed_practice / CLIENT
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "user.name", "T-01")
    git(clone, "config", "user.email", "t01@clinic.example")
    tip = head(repo)
    amended = script("amend", "sessions/01.md", "--kind", "correction", cwd=clone)
    assert (amended.returncode, amended.stdout) == (0, "sessions/01.addendum-2.md\n"), amended.stderr
    assert commits(clone)[:2] == ["amend C-0042 1", "amend C-0042 1"]
    data = fields(clone / "sessions/01.addendum-2.md")
    assert data["kind"] == "correction"
    assert data["amends"] == {
        "note": "sessions/01.md",
        "content_hash": content_hash((clone / "sessions/01.md").read_bytes()),
        "commit": signing_commit(clone),
    }
    assert head(repo) == tip
    assert not (repo / "sessions/01.addendum-2.md").exists()


def test_amend_refuses_what_it_cannot_link(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    tip = head(repo)
    expected = {
        (NOTE, "--kind", "rewrite"): "--kind is one of: addendum, late_entry, correction, patient_amendment",
        (FIRST,): f"{FIRST} is not a session note: addenda amend session notes",
        (f"{CLIENT}/client.yaml",): "is not a session note, an addendum or a review of a client",
        ("nowhere.md",): "no such note: nowhere.md",
    }
    answers = {}
    for args, message in expected.items():
        code, out, err = cli(signed_practice, "amend", *args, monkeypatch=monkeypatch)
        answers[args] = (code, out, message if message in err else err)
    assert answers == {args: (2, "", message) for args, message in expected.items()}
    assert not (repo / "sessions/01.addendum-2.md").exists()
    assert head(repo) == tip
    assert git(repo, "status", "--porcelain") == ""


def test_amend_refuses_a_note_changed_after_signing(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    tip = head(repo)
    note = signed_practice / NOTE
    note.write_text(note.read_text() + "changed\n")
    code, out, err = cli(signed_practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "C-0042 1 was changed after signing" in err
    assert not (repo / "sessions/01.addendum-2.md").exists()
    assert head(repo) == tip


def test_amend_refuses_a_signed_note_with_uncommitted_changes(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash's own line ending leaves the hash intact, but the addendum must link to what is committed."""
    repo = signed_practice / CLIENT
    tip = head(repo)
    note = signed_practice / NOTE
    before = content_hash(note.read_bytes())
    note.write_bytes(re.sub(rb"(content_hash: [^\n]*)\n", rb"\1\r\n", note.read_bytes(), count=1))
    assert content_hash(note.read_bytes()) == before
    code, out, err = cli(signed_practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "sessions/01.md has changes that are not committed" in err
    assert not (repo / "sessions/01.addendum-2.md").exists()
    assert head(repo) == tip


def test_amend_without_an_author_identity_exits_3(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    repo = signed_practice / CLIENT
    tip = head(repo)
    code, out, err = cli(signed_practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "no author identity" in err
    assert not (repo / "sessions/01.addendum-2.md").exists()
    assert head(repo) == tip

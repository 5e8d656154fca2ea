"""`ipt-notes log`: a client's audit trail from its own repository, and never a note's content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import CANARY, IDENTITY, assert_refused, cli, git, script

CLIENT = "clients/C-0042"
TRAIL = ["amend C-0042 1", "sign C-0042 1", "by hand: 01.md", "new-session C-0042 1", "new-client C-0042"]
"""The actions of the signed practice's C-0042, newest first."""
HEADER = ["commit", "date", "author", "signature", "action"]


def entries(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    code, out, err = cli(cwd, "log", *args, "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, err
    assert CANARY not in out + err
    loaded: list[dict[str, str]] = json.loads(out)
    return loaded


def actions(table: str) -> list[str]:
    """The action column of the table: what follows the signature, N for none."""
    lines = table.splitlines()
    assert lines[0].split() == HEADER
    return [line.split("  N  ", 1)[1].strip() for line in lines[1:]]


def test_log_from_the_practice_is_the_audit_trail_as_json(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    trail = entries(signed_practice, "C-0042", monkeypatch=monkeypatch)
    assert [e["action"] for e in trail] == TRAIL
    assert [e["commit"] for e in trail] == git(repo, "log", "--format=%h", "--abbrev=12").split()
    assert [e["date"] for e in trail] == git(repo, "log", "--format=%aI").split()
    assert {e["author"] for e in trail} == {IDENTITY}
    assert {e["signature"] for e in trail} == {"N"}
    assert set(trail[0]) == {"commit", "author", "date", "action", "signature"}


def test_log_inside_the_client_folder_needs_no_id(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(signed_practice / CLIENT, "log", monkeypatch=monkeypatch)
    assert code == 0, err
    assert actions(out) == TRAIL
    ran = script("log", cwd=signed_practice / CLIENT / "sessions")
    assert (ran.returncode, ran.stdout) == (0, out), ran.stderr


def test_log_of_one_session_shows_only_its_note_and_addenda(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    second = (
        (repo / "sessions/01.md")
        .read_text()
        .replace("session: 1", "session: 2")
        .replace("status: signed", "status: draft")
    )
    (repo / "sessions/02.md").write_text(second)
    git(repo, "add", "sessions/02.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "session 2 drafted")
    code, out, err = cli(repo, "log", "1", monkeypatch=monkeypatch)
    assert code == 0, err
    assert actions(out) == ["amend C-0042 1", "sign C-0042 1", "by hand: 01.md", "new-session C-0042 1"]
    assert [e["action"] for e in entries(signed_practice, "C-0042", "2", monkeypatch=monkeypatch)] == ["by hand: 02.md"]
    assert entries(signed_practice, "C-0042", "1", monkeypatch=monkeypatch)[0]["action"] == "amend C-0042 1"


def hand_commit(repo: Path, message: str) -> None:
    """A change to inventory.yaml committed with git itself, with the clinician's own message."""
    inventory = repo / "inventory.yaml"
    inventory.write_text(inventory.read_text() + "# reviewed\n")
    git(repo, "commit", "-q", "--no-verify", "-am", message)


def test_a_commit_by_hand_shows_its_files_never_its_message(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    hand_commit(repo, f"inventory: {CANARY} said so")
    # A subject in ipt-notes' grammar with a body of any text is not one of its messages.
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", f"sign C-0042 1\n\n{CANARY}")
    trail = entries(repo, monkeypatch=monkeypatch)
    assert [e["action"] for e in trail[:3]] == ["by hand: no file", "by hand: inventory.yaml", "amend C-0042 1"]
    code, out, err = cli(signed_practice, "log", "C-0042", monkeypatch=monkeypatch)
    assert code == 0
    assert CANARY not in out + err
    assert actions(out)[:2] == ["by hand: no file", "by hand: inventory.yaml"]


def test_a_hand_message_that_merely_starts_like_one_of_ours_is_shown_as_by_hand(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    messages = (
        f"amend C-0042 1 {CANARY}",
        f"new-client {CANARY}",
        f"sign C-0042 1, {CANARY}",
        f"sign C-0042 1\n{CANARY}",
        f"sign C-0042 1\x1f{CANARY}",
        f"sign C-0043 1 {CANARY}",
        "sign C-0042 01",
        "sign C-0042 0",
    )
    for message in messages:
        hand_commit(repo, message)
    code, out, err = cli(repo, "log", monkeypatch=monkeypatch)
    assert code == 0, err
    assert CANARY not in out + err
    assert actions(out)[:9] == ["by hand: inventory.yaml"] * 8 + ["amend C-0042 1"]
    trail = entries(signed_practice, "C-0042", monkeypatch=monkeypatch)
    assert [e["action"] for e in trail[:8]] == ["by hand: inventory.yaml"] * 8


def test_log_refuses_an_unsafe_id(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "../C-0042": "../C-0042 is not a client folder",
        "C 0042": "pseudonymous code",
        "C-0042;rm": "pseudonymous code",
        "-C-0042x": "pseudonymous code",
    }
    assert_refused(signed_practice, ["log", "--"], expected, monkeypatch=monkeypatch)


def test_log_of_a_client_that_does_not_exist_exits_2(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(signed_practice, "log", "C-9999", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "no client C-9999 in this practice" in err
    assert not (signed_practice / "clients/C-9999").exists()


def test_a_session_s_trail_is_its_note_and_addenda_by_their_exact_names(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / "clients" / "C-0042"
    (repo / "sessions" / "01.copy.md").write_text("a copy\n")
    git(repo, "add", "sessions/01.copy.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "a copy")
    code, out, _ = cli(repo, "log", "1", monkeypatch=monkeypatch)
    assert code == 0
    assert "01.copy.md" not in out
    assert actions(out) == ["amend C-0042 1", "sign C-0042 1", "by hand: 01.md", "new-session C-0042 1"]


def test_a_file_name_cannot_forge_a_row_or_drive_the_terminal(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    forged = "x\nabc123  2026-01-01T00:00:00+00:00  S-01 <s01@clinic.example>  G  cosign C-0042 1\a"
    (repo / forged).write_text("")
    git(repo, "add", "--", forged)
    git(repo, "commit", "-q", "--no-verify", "-m", "by hand")
    code, out, err = cli(signed_practice, "log", "C-0042", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "\a" not in out
    rows = out.splitlines()
    assert [row for row in rows if "cosign C-0042 1" in row] == [row for row in rows if "by hand: x?abc123" in row]
    assert len(rows) == 1 + len(entries(repo, monkeypatch=monkeypatch))

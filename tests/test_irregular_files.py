"""Files that are not files, and files that are not notes: links, pipes, folders and leftovers.

A record is read and written where it is. Whatever stands where the layout expects a notes file
and is not a regular file is a finding (`not-a-regular-file`), never a hang and never a silent
skip; a file in sessions/ whose name the layout does not give is a `stray-file`, which the hook
refuses to commit.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NOTE
from tests.helpers import CANARY, cli, commits, git, head, script

CLIENT = "clients/C-0042"
OTHER = "clients/C-0001"


def _findings(practice: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict[str, object]]]:
    code, out, err = cli(practice, "validate", "--format", "json", *args, monkeypatch=monkeypatch)
    assert code in (0, 1), err
    return code, json.loads(out)


def _rules_at(found: list[dict[str, object]], path: str) -> set[object]:
    return {p["rule"] for p in found if p["path"] == path}


def test_a_socket_named_as_a_note_is_not_a_regular_file(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket(socket.AF_UNIX) as server:
        monkeypatch.chdir(practice / CLIENT / "sessions")
        server.bind("02.md")  # relative: a socket's path has a short length limit
        code, found = _findings(practice, f"{CLIENT}/sessions/02.md", monkeypatch=monkeypatch)
    assert code == 1
    assert _rules_at(found, f"{CLIENT}/sessions/02.md") == {"not-a-regular-file"}


def test_a_pipe_named_as_a_note_is_reported_at_once(practice: Path) -> None:
    os.mkfifo(practice / CLIENT / "sessions" / "02.md")
    result = script("validate", "--format", "json", f"{CLIENT}/sessions/02.md", cwd=practice)  # times out, never hangs
    assert result.returncode == 1, result.stderr
    assert "not-a-regular-file" in _rules_at(json.loads(result.stdout), f"{CLIENT}/sessions/02.md")


@pytest.mark.parametrize(
    ("what", "path"),
    [
        ("pipe", f"{CLIENT}/sessions/02.md"),
        ("folder", f"{CLIENT}/sessions/02.md"),
        ("link to another client's note", f"{CLIENT}/sessions/02.md"),
        ("pipe", f"{CLIENT}/client.yaml"),
        ("link", f"{CLIENT}/inventory.yaml"),
        ("linked sessions folder", f"{CLIENT}/sessions"),
        ("linked client folder", "clients/C-0077"),
    ],
)
def test_what_is_not_a_regular_file_is_a_finding_wherever_it_is_walked(
    practice: Path, what: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = practice / path
    if target.is_file():
        target.unlink()
    if what == "pipe":
        os.mkfifo(target)
    elif what == "folder":
        target.mkdir()
    elif what == "link":
        target.symlink_to(practice / OTHER / target.name)
    elif what == "link to another client's note":
        target.symlink_to(practice / OTHER / "sessions" / "01.md")
    elif what == "linked sessions folder":
        target.rename(practice / "elsewhere")
        target.symlink_to(practice / "elsewhere")
    else:
        target.symlink_to(practice / OTHER)
    for scope in ((), (CLIENT,) if path.startswith(CLIENT) else ("clients",)):
        code, found = _findings(practice, *scope, monkeypatch=monkeypatch)
        assert code == 1, (what, scope)
        assert "not-a-regular-file" in _rules_at(found, path), (what, scope, found)


@pytest.mark.parametrize("name", ["07 copy.md", "01.md.orig", ".01.md.k2j3h4.tmp", "01.md~", "notes.txt"])
def test_a_stray_file_in_sessions_is_reported_and_the_hook_refuses_it(
    practice: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    stray = client / "sessions" / name
    stray.write_text((client / "sessions" / "01.md").read_text())  # a copy of a note
    code, found = _findings(practice, CLIENT, monkeypatch=monkeypatch)
    assert code == 0
    [problem] = [p for p in found if p["rule"] == "stray-file"]
    assert (problem["path"], problem["severity"]) == (f"{CLIENT}/sessions/{name}", "warning")
    assert cli(practice, "validate", "--strict", CLIENT, monkeypatch=monkeypatch)[0] == 1
    history = commits(client)
    git(client, "add", "-f", "--", f"sessions/{name}")
    refused = subprocess.run(["git", "commit", "-qm", "copy"], cwd=client, capture_output=True, text=True)
    assert refused.returncode != 0
    assert f"sessions/{name}:1:1: error [stray-file]" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr
    assert commits(client) == history


def test_temporary_files_are_never_staged_by_git_add_all(practice: Path) -> None:
    client = practice / CLIENT
    (client / "sessions" / ".01.md.x8y9z0.tmp").write_text(CANARY)
    git(client, "add", "-A")
    assert git(client, "diff", "--cached", "--name-only") == ""


def test_sign_refuses_a_note_reached_through_a_link(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A link in C-0001's sessions/ to C-0042's complete draft: signing it must not sign C-0042's note.
    (practice / OTHER / "sessions" / "17.md").symlink_to(practice / NOTE)
    before, heads = (practice / NOTE).read_bytes(), (head(practice / CLIENT), head(practice / OTHER))
    code, out, err = cli(practice, "sign", f"{OTHER}/sessions/17.md", monkeypatch=monkeypatch)
    assert (code, out) == (2, ""), err
    assert "through a link" in err
    assert ((practice / NOTE).read_bytes(), head(practice / CLIENT), head(practice / OTHER)) == (before, *heads)


def test_a_linked_folder_on_the_way_to_a_note_is_refused(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (practice / "alias").symlink_to(practice / CLIENT)
    before, commit = (practice / NOTE).read_bytes(), head(practice / CLIENT)
    code, out, err = cli(practice, "sign", "alias/sessions/01.md", monkeypatch=monkeypatch)
    assert (code, out) == (2, "") and "through a link" in err
    code, found = _findings(practice, "alias/sessions/01.md", monkeypatch=monkeypatch)
    assert code == 1 and _rules_at(found, "alias/sessions/01.md") == {"not-a-regular-file"}
    assert ((practice / NOTE).read_bytes(), head(practice / CLIENT)) == (before, commit)


def test_new_session_never_writes_through_a_linked_clients_folder(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    (practice / "clients").rename(outside)
    (practice / "clients").symlink_to(outside)
    listing = sorted(p.name for p in (outside / "C-0042" / "sessions").iterdir())
    code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (2, ""), err
    assert "through a link" in err
    assert sorted(p.name for p in (outside / "C-0042" / "sessions").iterdir()) == listing


@pytest.mark.parametrize("how", ["missing", "pipe"])
def test_sign_checks_the_contract_before_it_writes(practice: Path, how: str) -> None:
    contract = practice / CLIENT / "client.yaml"
    contract.unlink()
    if how == "pipe":
        os.mkfifo(contract)
    before, commit = (practice / NOTE).read_bytes(), head(practice / CLIENT)
    result = script("sign", NOTE, cwd=practice)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert f"{CLIENT}/client.yaml:1:1: error [" in result.stderr
    assert ((practice / NOTE).read_bytes(), head(practice / CLIENT)) == (before, commit)


@pytest.mark.parametrize("command", ["verify", "status", "push"])
def test_commands_over_every_client_refuse_a_linked_client_folder(
    practice: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (practice / "clients" / "C-0077").symlink_to(practice / OTHER)
    code, out, err = cli(practice, command, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "clients/C-0077: a link where a client folder should be" in err


def test_validate_root_must_name_a_practice(practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "not-a-practice"
    elsewhere.mkdir()
    code, out, err = cli(practice, "validate", "--root", str(elsewhere), monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "ipt-notes.yaml" in err


def test_a_file_where_the_sessions_folder_belongs_is_named_as_such(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = practice / CLIENT / "sessions"
    sessions.rename(practice / "moved")
    sessions.write_text("")
    code, found = _findings(practice, CLIENT, monkeypatch=monkeypatch)
    assert code == 1
    [problem] = [p for p in found if p["path"] == f"{CLIENT}/sessions"]
    assert problem["rule"] == "not-a-regular-file"
    assert problem["message"].startswith("a file stands where the layout expects a folder")

"""`ipt-notes transfer`: hand one complete course over, as a repository of its own, and register it.

The copy holds every commit with the same ids, is set up with the safe settings and the hook,
and verifies and validates on its own, with no practice around it. Process notes never travel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ipt_notes.client_repository import GIT_SETTINGS, HOOK_MARKER
from ipt_notes.settings import load_practice_settings
from tests.conftest import NOTE
from tests.helpers import CANARY, IDENTITY, assert_refused, cli, git, script

CLIENT = "clients/C-0042"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a working tree outside .git, by relative path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    }


def tracked(repo: Path) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in git(repo, "ls-files", "-z").split("\0") if name}


def test_transfer_hands_over_a_complete_copy_that_stands_alone(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = practice / CLIENT
    (source / "private").mkdir()
    (source / "private" / "process.md").write_text(f"process note {CANARY}\n")
    destination = tmp_path / "handover"
    head = git(source, "rev-parse", "HEAD").strip()

    done = script("transfer", "C-0042", str(destination), cwd=practice)

    assert done.returncode == 0, done.stderr
    assert [(practice / line).resolve() for line in done.stdout.splitlines()] == [destination.resolve()]
    assert CANARY not in done.stdout + done.stderr
    # The whole history, with the same commit ids, and exactly the tracked files.
    assert sorted(git(destination, "rev-list", "--all").split()) == sorted(git(source, "rev-list", "--all").split())
    assert git(destination, "rev-parse", "HEAD").strip() == head
    assert tree(destination) == tracked(source)
    assert not (destination / "private").exists()
    assert git(destination, "status", "--porcelain") == ""
    # No link back to the practice; the same safe settings and hook as the source.
    assert git(destination, "remote").split() == []
    for key in GIT_SETTINGS:
        assert git(destination, "config", "--get", key) == git(source, "config", "--get", key), key
    hook = destination / ".git" / "hooks" / "pre-commit"
    assert HOOK_MARKER in hook.read_text()
    assert hook.stat().st_mode & 0o100
    # The copy verifies and validates on its own, no practice around it.
    assert not any((parent / "ipt-notes.yaml").exists() for parent in destination.parents)
    code, out, err = cli(destination, "verify", monkeypatch=monkeypatch)
    assert (code, out) == (0, ""), err
    code, out, err = cli(destination, "validate", monkeypatch=monkeypatch)
    assert code == 0, out + err
    assert " error " not in out

    # The practice register records the transfer, IDs and dates only, and is valid.
    register = yaml.safe_load((practice / "register.yaml").read_text())
    today = load_practice_settings(practice).course.today().isoformat()
    assert register["transfers"] == [
        {"client": "C-0042", "date": today, "by": IDENTITY, "to": str(destination.resolve()), "commit": head}
    ]
    assert register.get("destructions", []) == []
    assert CANARY not in (practice / "register.yaml").read_text()
    code, out, err = cli(practice, "validate", "register.yaml", monkeypatch=monkeypatch)
    assert code == 0, out + err


def test_transfer_refuses_a_destination_that_is_not_empty(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = tmp_path / "handover"
    destination.mkdir()
    (destination / "keep.txt").write_text("someone else's\n")

    code, out, err = cli(practice, "transfer", "C-0042", str(destination), monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "not an empty folder" in err
    assert tree(destination) == {"keep.txt": b"someone else's\n"}
    assert not (destination / ".git").exists()
    assert not (practice / "register.yaml").exists()


def test_transfer_refuses_a_history_that_ever_held_a_process_note(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = practice / CLIENT
    (source / "private").mkdir()
    (source / "private" / "x.md").write_text(f"process note {CANARY}\n")
    git(source, "add", "-f", "private/x.md")
    git(source, "commit", "-q", "--no-verify", "-m", "by mistake")
    git(source, "rm", "-q", "private/x.md")
    git(source, "commit", "-q", "--no-verify", "-m", "removed")
    destination = tmp_path / "handover"

    code, out, err = cli(practice, "transfer", "C-0042", str(destination), monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "private/" in err
    assert CANARY not in err
    assert not destination.exists()
    assert not (practice / "register.yaml").exists()


def test_transfer_refuses_uncommitted_changes_to_a_note(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    note.write_text(note.read_text() + "\nA late line.\n")
    destination = tmp_path / "handover"

    code, out, err = cli(practice, "transfer", "C-0042", str(destination), monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert "not committed" in err
    assert not destination.exists()
    assert not (practice / "register.yaml").exists()
    assert git(practice / CLIENT, "status", "--porcelain").strip() == "M sessions/01.md"


def test_transfer_refuses_a_destination_inside_the_practice_or_misnamed_in_another(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "colleague"
    (other / "clients" / "c-0042").mkdir(parents=True)
    (other / "ipt-notes.yaml").write_text("version: 1\n")
    cases = {
        str(practice / "clients" / "c-0042"): "goes outside the practice",
        str(practice / "rendered" / "C-0042"): "goes outside the practice",
        str(other / "clients" / "C-42"): "the copy's folder is named C-0042",
        str(other / "clients" / "C-0042"): "collides with a client of that practice",
    }
    (practice / "rendered").mkdir()
    assert_refused(practice, ["transfer", "C-0042"], cases, monkeypatch=monkeypatch)
    assert not (practice / "register.yaml").exists()
    assert sorted(p.name for p in (practice / "clients").iterdir()) == ["C-0001", "C-0002", "C-0042"]


def test_transfer_copies_every_branch_and_never_leaves_unregistered(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / "clients" / "C-0042"
    git(client, "branch", "side")
    (practice / "register.yaml").mkdir()  # a register that cannot be read
    code, out, err = cli(practice, "transfer", "C-0042", str(tmp_path / "copy"), monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert "register.yaml" in err
    assert not (tmp_path / "copy").exists()
    (practice / "register.yaml").rmdir()
    code, _, err = cli(practice, "transfer", "C-0042", str(tmp_path / "copy"), monkeypatch=monkeypatch)
    assert code == 0, err
    copy = tmp_path / "copy"
    assert git(copy, "branch", "--format=%(refname:short)").split() == ["main", "side"]
    assert git(copy, "reflog", "--all") == ""

"""`ipt-notes doctor`: what a crash, a clone or a moved interpreter left behind, found by its rule,
repaired by --fix where that is safe, and never a note touched."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import NOTE
from tests.helpers import cli, git, mode

CLIENT = "clients/C-0042"
OLD = time.time() - 3600
LOCKS = ("index.lock", "HEAD.lock", "refs/heads/main.lock", "next-index-4242.lock", "next-index-4242.lock.lock")
"""git's lock files that a git command killed mid-commit leaves (the last: the lock of the index
`commit --only` builds)."""


def findings(practice: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[tuple[str, str]], str]:
    code, out, err = cli(practice, "doctor", "--format", "json", *args, monkeypatch=monkeypatch)
    return code, sorted((p["path"], p["rule"]) for p in json.loads(out)), err


def _leave_behind(practice: Path) -> None:
    """What kills at every step of a command, a clone and a moved virtual environment leave."""
    client = practice / CLIENT
    git_dir = client / ".git"
    for name in (*LOCKS, "ipt-notes-index-999999", "ipt-notes-index-999999.lock"):
        (git_dir / name).write_text("")
    temporary = client / "sessions" / ".01.md.k3j4h5.tmp"
    temporary.write_bytes((practice / NOTE).read_bytes())
    # A kill while the commit's token was being written leaves its temporary file in the git folder;
    # a temporary file there of anyone else's is not ipt-notes' to remove.
    for old in (temporary, git_dir / ".ipt-notes-validated.p9q8r7.tmp", git_dir / ".other.p9q8r7.tmp"):
        old.touch()
        os.utime(old, (OLD, OLD))
    leftover = practice / ".new-client-x1y2"
    (leftover / "C-0077").mkdir(parents=True)
    os.utime(leftover, (OLD, OLD))
    (client / "inventory.yaml").chmod(0o644)
    (client / "sessions").chmod(0o755)
    hook = git_dir / "hooks" / "pre-commit"
    hook.write_text(re.sub(r"^python=.*$", "python=/gone/venv/bin/python", hook.read_text(), flags=re.MULTILINE))


def test_a_healthy_practice_has_no_findings(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # C-0042 was made by new-client; the example courses beside it were copied in by hand.
    code, found, err = findings(signed_practice, "C-0042", monkeypatch=monkeypatch)
    assert (code, found) == (0, []), err


def test_doctor_finds_what_crashes_left_and_fix_repairs_it(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "ipt-notes").exists())
    monkeypatch.setenv("PATH", path)  # the hook's own Python is gone, and no ipt-notes is on PATH
    _leave_behind(practice)
    note = (practice / NOTE).read_bytes()
    code, found, _ = findings(practice, "C-0042", monkeypatch=monkeypatch)
    assert code == 1
    rules = {rule for _, rule in found}
    assert {"doctor-lock", "doctor-leftover", "doctor-mode", "doctor-hook"} <= rules
    locks = {p for p, rule in found if rule == "doctor-lock"}
    assert locks == {f"{CLIENT}/.git/{name}" for name in LOCKS}
    leftovers = {p for p, rule in found if rule == "doctor-leftover"}
    assert leftovers == {
        ".new-client-x1y2",
        f"{CLIENT}/.git/ipt-notes-index-999999",
        f"{CLIENT}/.git/ipt-notes-index-999999.lock",
        f"{CLIENT}/.git/.ipt-notes-validated.p9q8r7.tmp",
        f"{CLIENT}/sessions/.01.md.k3j4h5.tmp",
    }
    code, found, err = findings(practice, "C-0042", "--fix", monkeypatch=monkeypatch)
    assert (code, found) == (0, []), err
    assert "fixed: clients/C-0042: removed the stale lock .git/index.lock (no git command was running)" in err
    assert "installed the pre-commit hook" in err
    assert not (practice / ".new-client-x1y2").exists()
    assert mode(practice / CLIENT / "inventory.yaml") == 0o600
    assert mode(practice / CLIENT / "sessions") == 0o700
    assert (practice / NOTE).read_bytes() == note  # never a note touched
    git_dir = practice / CLIENT / ".git"
    assert sorted(p.name for p in git_dir.iterdir() if p.name.endswith((".lock", ".tmp")) or "index-" in p.name) == [
        ".other.p9q8r7.tmp",
        "ipt-notes.lock",
    ]
    monkeypatch.undo()
    assert cli(practice, "validate", monkeypatch=monkeypatch)[0] == 0
    assert cli(practice, "verify", monkeypatch=monkeypatch)[0] == 0
    code, _, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert code == 0, err


def test_a_lock_a_running_git_command_holds_is_left_alone(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    (client / ".git" / "index.lock").write_text("")
    waiting = subprocess.Popen(
        ["git", "cat-file", "--batch"], cwd=client, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        code, found, _ = findings(practice, "C-0042", "--fix", monkeypatch=monkeypatch)
    finally:
        waiting.communicate(b"")
    assert code == 1
    assert found == [(f"{CLIENT}/.git/index.lock", "doctor-lock")]
    assert (client / ".git" / "index.lock").exists()


def test_what_needs_the_clinician_is_reported_and_left_as_it_is(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    (client / "inventory.yaml").write_text((client / "inventory.yaml").read_text() + "# being edited\n")
    (client / ".gitattributes").unlink()
    (client / "course-settings.yaml").unlink()
    edited = (client / "inventory.yaml").read_bytes()
    code, found, _ = findings(practice, "C-0042", "--fix", monkeypatch=monkeypatch)
    assert code == 1
    assert (f"{CLIENT}/inventory.yaml", "doctor-uncommitted") in found
    assert (f"{CLIENT}/.gitattributes", "doctor-attributes") in found
    assert (f"{CLIENT}/course-settings.yaml", "doctor-settings") in found
    assert (client / "inventory.yaml").read_bytes() == edited


def test_a_clone_gets_its_hook_and_private_modes(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(signed_practice / CLIENT), str(clone))
    (clone / "client.yaml").chmod(0o644)
    code, found, _ = findings(clone, monkeypatch=monkeypatch)
    assert code == 1
    assert ("client.yaml", "doctor-mode") in found
    assert (".git/hooks/pre-commit", "doctor-hook") in found
    code, found, err = findings(clone, "--fix", monkeypatch=monkeypatch)
    assert (code, found) == (0, []), err
    assert (clone / ".git" / "hooks" / "pre-commit").is_file()
    assert git(clone, "status", "--porcelain") == ""

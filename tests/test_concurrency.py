"""Commands run at the same time, as real processes: one client's writers take turns, clients never wait
for each other, and a lock held too long makes a command say "busy" rather than wait forever."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from ipt_notes.commands.init import init_practice
from ipt_notes.commands.new_client import new_client
from ipt_notes.lock import repository_lock
from tests.helpers import SCRIPT, commits, git, mode, script

RUNS = 6
pytestmark = pytest.mark.slow


def run_together(*commands: tuple[Path, list[str]]) -> list[tuple[int, str, str]]:
    """Start every command at once with the installed script; each one's exit status, stdout and stderr."""
    started = [
        subprocess.Popen([str(SCRIPT), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for cwd, args in commands
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


def test_concurrent_new_sessions_on_one_client_each_get_a_note_and_a_commit(practice: Path) -> None:
    client = practice / "clients" / "C-0042"
    results = run_together(*[(practice, ["new-session", "C-0042"])] * RUNS)
    assert [code for code, _, _ in results] == [0] * RUNS, [err for _, _, err in results]
    numbers = range(2, 2 + RUNS)
    assert sorted(out for _, out, _ in results) == [f"clients/C-0042/sessions/{n:02d}.md\n" for n in numbers]
    # The lock is held from numbering to commit, so the commits come in the order of the numbers.
    assert commits(client)[:RUNS] == [f"new-session C-0042 {n}" for n in reversed(numbers)]
    assert commits(client)[RUNS] == "session 1 written"
    for offset, number in enumerate(reversed(numbers)):
        changed = git(client, "show", "--name-only", "--format=", f"HEAD~{offset}").split()
        assert changed == [f"sessions/{number:02d}.md"]
    assert sorted(p.name for p in (client / "sessions").iterdir()) == [f"{n:02d}.md" for n in range(1, 2 + RUNS)]
    for number in numbers:
        assert f"\nsession: {number}\n" in (client / "sessions" / f"{number:02d}.md").read_text()
    assert git(client, "status", "--porcelain") == ""


def test_concurrent_new_sessions_on_different_clients_all_succeed(tmp_path: Path) -> None:
    practice = init_practice(tmp_path / "practice").root
    ids = [f"C-01{n:02d}" for n in range(1, 1 + RUNS)]
    for client_id in ids:
        new_client(practice, client_id, start_date="2026-01-05")
    results = run_together(*[(practice, ["new-session", client_id, "--date", "2026-01-05"]) for client_id in ids])
    assert [code for code, _, _ in results] == [0] * RUNS, [err for _, _, err in results]
    assert [out for _, out, _ in results] == [f"clients/{client_id}/sessions/01.md\n" for client_id in ids]
    for client_id in ids:
        client = practice / "clients" / client_id
        assert commits(client) == [f"new-session {client_id} 1", f"new-client {client_id}"]
        assert git(client, "status", "--porcelain") == ""


def test_the_lock_is_per_client(practice: Path) -> None:
    holder = practice / "clients" / "C-0042"
    other = practice / "clients" / "C-0002"
    history = commits(holder)
    wait = {"IPT_NOTES_LOCK_WAIT": "1"}
    with repository_lock(holder / ".git"):
        # Another client is not held up by it.
        result = script("new-session", "C-0002", "--date", "2026-03-02", cwd=practice, env=wait)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "clients/C-0002/sessions/01.md\n"
        assert commits(other)[0] == "new-session C-0002 1"
        assert mode(other / "sessions") == 0o700
        # The held client waits for the time given, then says it is busy, having written nothing.
        started = time.monotonic()
        result = script("new-session", "C-0042", cwd=practice, env=wait)
        waited = time.monotonic() - started
    assert (result.returncode, result.stdout) == (3, "")
    assert "busy" in result.stderr
    assert waited >= 1
    assert sorted(p.name for p in (holder / "sessions").iterdir()) == ["01.md"]
    assert commits(holder) == history

"""Recovery after an interruption: running the same command again finishes the job, every "To
finish" line works as printed, and a failed commit says which of its causes it was.

An interruption is made real: a hook that refuses once leaves the note saved and not committed,
exactly as a kill between the write and the commit does.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

import ipt_notes.git
from tests.conftest import NOTE, later
from tests.helpers import cli, commits, fields, git

CLIENT = "clients/C-0042"


def _refuse_once(client: Path) -> str:
    """Make the next commit's hook refuse it; return the hook as it was, to put it back."""
    hook = client / ".git" / "hooks" / "pre-commit"
    original = hook.read_text()
    hook.write_text("#!/bin/sh\nexit 1\n")
    return original


def _finish_line(err: str) -> str:
    found = re.search(r"To finish: (.*)$", err, flags=re.MULTILINE)
    assert found is not None, err
    return found.group(1)


def test_new_session_run_again_commits_the_note_it_saved_and_writes_no_other(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    original = _refuse_once(client)
    history = commits(client)
    code, out, err = cli(practice, "new-session", "C-0042", "--date", later(1), monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "saved, not committed" in err
    (client / ".git" / "hooks" / "pre-commit").write_text(original)
    code, out, err = cli(practice, "new-session", "C-0042", "--date", later(2), monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{CLIENT}/sessions/02.md\n"), err
    assert "committed now, and no other note was written" in err
    assert sorted(p.name for p in (client / "sessions").iterdir()) == ["01.md", "02.md"]
    assert fields(client / "sessions" / "02.md")["date"] == later(1)  # the note as it was saved
    assert commits(client) == ["new-session C-0042 2", *history]
    assert git(client, "status", "--porcelain") == ""
    # The next run goes on as usual.
    code, out, _ = cli(practice, "new-session", "C-0042", "--date", later(2), monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{CLIENT}/sessions/03.md\n")


def test_sign_run_again_commits_the_note_it_signed(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    original = _refuse_once(client)
    history = commits(client)
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    signed = (practice / NOTE).read_bytes()
    assert fields(practice / NOTE)["status"] == "signed"
    (client / ".git" / "hooks" / "pre-commit").write_text(original)
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (0, NOTE + "\n"), err
    assert (practice / NOTE).read_bytes() == signed  # committed as it was signed, not signed twice
    assert commits(client) == ["sign C-0042 1", *history]
    code, _, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert code == 2 and "already signed" in err
    code, out, err = cli(practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert code == 0, err


def test_amend_run_again_commits_the_addendum_it_saved_and_writes_no_other(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_practice / CLIENT
    original = _refuse_once(client)
    history = commits(client)
    code, out, err = cli(signed_practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "saved, not committed" in err
    (client / ".git" / "hooks" / "pre-commit").write_text(original)
    saved = (client / "sessions" / "01.addendum-2.md").read_bytes()
    # Another kind is another addendum: the one saved is the clinician's to commit or move first.
    code, out, err = cli(signed_practice, "amend", NOTE, "--kind", "correction", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "sessions/01.addendum-2.md: saved but never committed" in err
    assert "git -C clients/C-0042 add -- sessions/01.addendum-2.md" in err
    code, out, err = cli(signed_practice, "amend", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{CLIENT}/sessions/01.addendum-2.md\n"), err
    assert sorted(p.name for p in (client / "sessions").iterdir()) == ["01.addendum-1.md", "01.addendum-2.md", "01.md"]
    assert (client / "sessions" / "01.addendum-2.md").read_bytes() == saved
    assert commits(client) == ["amend C-0042 1", *history]
    assert git(client, "status", "--porcelain") == ""


def test_cosign_run_again_commits_the_cosignature_it_wrote(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_practice / CLIENT
    contract = client / "client.yaml"
    contract.write_text(contract.read_text() + "supervisor: S-01 <s01@clinic.example>\n")
    git(client, "commit", "-q", "--no-verify", "-am", "supervisor named")
    for key, value in (("NAME", "S-01"), ("EMAIL", "s01@clinic.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    original = _refuse_once(client)
    history = commits(client)
    code, out, err = cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    cosignature = client / "sessions" / "01.cosignature.yaml"
    written = cosignature.read_bytes()
    (client / ".git" / "hooks" / "pre-commit").write_text(original)
    code, out, err = cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{CLIENT}/sessions/01.cosignature.yaml\n"), err
    assert cosignature.read_bytes() == written  # committed as it was written, not written twice
    assert commits(client) == ["cosign C-0042 1", *history]
    assert git(client, "status", "--porcelain") == ""
    code, _, err = cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)
    assert code == 2 and "already co-signed" in err


@pytest.mark.parametrize("command", [("new-session", "C-0042", "--date", "{later}"), ("sign", NOTE)])
def test_every_to_finish_line_works_as_printed(
    practice: Path, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    original = _refuse_once(client)
    history = commits(client)
    args = [arg.replace("{later}", later(1)) for arg in command]
    code, _, err = cli(practice, *args, monkeypatch=monkeypatch)
    assert code == 3
    (client / ".git" / "hooks" / "pre-commit").write_text(original)
    done = subprocess.run(_finish_line(err), shell=True, cwd=practice, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(commits(client)) == len(history) + 1
    assert git(client, "status", "--porcelain") == ""


def test_a_lock_another_git_command_holds_for_a_moment_is_waited_for(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    lock = client / ".git" / "index.lock"
    lock.write_text("")
    releasing = threading.Timer(0.5, lock.unlink)
    releasing.start()
    try:
        code, out, err = cli(practice, "new-session", "C-0042", "--date", later(1), monkeypatch=monkeypatch)
    finally:
        releasing.join()
    assert (code, out) == (0, f"{CLIENT}/sessions/02.md\n"), err


def test_a_lock_taken_during_the_commit_is_waited_for_and_the_commit_retried(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hook takes the branch's lock once, as a concurrent git command would, and lets it go later.
    client = practice / CLIENT
    hook = client / ".git" / "hooks" / "pre-commit"
    original = hook.read_text()
    hook.write_text(
        "#!/bin/sh\n"
        "if [ ! -f .git/taken ]; then\n"
        "  touch .git/taken .git/refs/heads/main.lock\n"
        "  (sleep 1; rm -f .git/refs/heads/main.lock) >/dev/null 2>&1 &\n"
        "fi\n" + original.split("\n", 1)[1]
    )
    code, out, err = cli(practice, "new-session", "C-0042", "--date", later(1), monkeypatch=monkeypatch)
    assert (code, out) == (0, f"{CLIENT}/sessions/02.md\n"), err
    assert (client / ".git" / "taken").exists()
    assert commits(client)[0] == "new-session C-0042 2"


def test_a_stale_lock_is_named_and_told_apart_from_a_refusal(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ipt_notes.git, "LOCK_WAIT", 0.3)
    client = practice / CLIENT
    lock = client / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    history = commits(client)
    started = time.monotonic()
    code, out, err = cli(practice, "new-session", "C-0042", "--date", later(1), monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert f"git's lock file {lock} stayed in place" in err
    assert "ipt-notes doctor --fix removes it" in err
    assert "hook" not in err.split("To finish")[0]
    assert commits(client) == history
    assert time.monotonic() - started < 20


def test_a_hook_whose_interpreter_is_gone_is_named(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ipt-notes' own commits pass the hook by its token, without Python; a commit by hand does not.
    client = practice / CLIENT
    hook = client / ".git" / "hooks" / "pre-commit"
    hook.write_text(re.sub(r"^python=.*$", "python=/nowhere/venv/bin/python", hook.read_text(), flags=re.MULTILINE))
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "ipt-notes").exists())
    monkeypatch.setenv("PATH", path)
    (client / "inventory.yaml").write_text((client / "inventory.yaml").read_text() + "# reviewed\n")
    failed = subprocess.run(["git", "commit", "-qam", "by hand"], cwd=client, capture_output=True, env=os.environ)
    assert failed.returncode != 0
    repository = ipt_notes.git.open_client_repository(client)
    assert ipt_notes.git.hook_interpreter_missing(repository)
    reason = ipt_notes.git._why_not(repository, failed, ".")
    assert reason.startswith("the pre-commit hook cannot start: the Python it was installed with is gone")
    assert "ipt-notes doctor --fix" in reason

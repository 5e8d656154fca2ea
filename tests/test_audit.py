"""verify and log over real git histories: tampering, deletion, corruption, rewrites, signatures."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import GIT_ENV, enable_ssh_signing
from tests.test_record import NOTE, cli, course_with_one_note, git

CANARY = "CANARY-3c77"


@pytest.fixture
def repo(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notes repository whose first session is signed and amended by an addendum."""
    root = course_with_one_note(tmp_path, runner, monkeypatch, homework=CANARY)
    assert cli(runner, root, monkeypatch, "sign", NOTE)[0] == 0
    assert cli(runner, root, monkeypatch, "amend", NOTE)[0] == 0
    return root


def verify(
    runner: CliRunner, repo: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, list[dict[str, object]]]:
    code, out, err = cli(runner, repo, monkeypatch, "verify", "--format", "json", *args)
    assert CANARY not in out + err
    return code, json.loads(out)


def rules(problems: list[dict[str, object]]) -> list[object]:
    return [p["rule"] for p in problems]


def test_an_untouched_history_verifies(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert verify(runner, repo, monkeypatch) == (0, [])
    assert verify(runner, repo, monkeypatch, "C-0042") == (0, [])


def test_a_signed_note_edited_past_the_hook_is_found(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = repo / NOTE
    note.write_text(note.read_text().replace("techniques: [psychoeducation]", "techniques: [role_play]"))
    git(repo, "commit", "-q", "--no-verify", "-am", "quiet edit")
    edit = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    code, problems = verify(runner, repo, monkeypatch)
    assert code == 1
    assert [(p["path"], p["rule"]) for p in problems] == [(NOTE, "verify-signed-changed")]
    assert edit in str(problems[0]["message"])


def test_a_signed_note_rehashed_after_editing_is_still_found(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipt_notes.signing import content_hash
    from tests.test_rules import resign

    note = repo / NOTE
    note.write_bytes(resign(note.read_bytes().replace(b"role_play", b"role_play").replace(b"# Session", b"# Edited")))
    assert content_hash(note.read_bytes()).encode() in note.read_bytes()
    git(repo, "commit", "-q", "--no-verify", "-am", "quiet edit, hash recomputed")
    assert rules(verify(runner, repo, monkeypatch)[1]) == ["verify-signed-changed"]


def test_a_deleted_signed_note_is_found(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "rm", "-q", NOTE)
    git(repo, "commit", "-q", "--no-verify", "-m", "gone")
    code, problems = verify(runner, repo, monkeypatch)
    assert code == 1
    assert ("verify-signed-deleted", NOTE) in [(p["rule"], p["path"]) for p in problems]
    assert "verify-addendum" in rules(problems)


def test_a_cosignature_is_not_a_change(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    client = repo / "clients/C-0042/client.yaml"
    client.write_text(
        client.read_text().replace("course_status: active", "course_status: active\nsupervisor: S-01 <s@x.example>")
    )
    git(repo, "commit", "-q", "-am", "supervisor")
    for key, value in (("NAME", "S-01"), ("EMAIL", "s@x.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    assert cli(runner, repo, monkeypatch, "cosign", NOTE)[0] == 0
    assert verify(runner, repo, monkeypatch) == (0, [])


def test_a_corrupted_object_is_found(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = git(repo, "rev-parse", f"HEAD:{NOTE}").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    assert loose.is_file()
    loose.chmod(0o600)
    loose.write_bytes(b"not a zlib stream")
    code, problems = verify(runner, repo, monkeypatch)
    assert code == 1
    assert "verify-fsck" in rules(problems)


def test_a_commit_dated_before_its_parent_is_found(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "clients/C-0042/inventory.yaml").write_text(
        (repo / "clients/C-0042/inventory.yaml").read_text() + "# later\n"
    )
    env = {**os.environ, "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z"}
    subprocess.run(["git", "commit", "-q", "-am", "back-dated"], cwd=repo, env=env, check=True)
    assert "verify-commit-dates" in rules(verify(runner, repo, monkeypatch)[1])


def test_a_rewritten_history_is_found_against_the_remote(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    remote = tmp_path / "backup.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "backup", str(remote))
    git(repo, "push", "-q", "backup", "HEAD:refs/heads/main")
    assert verify(runner, repo, monkeypatch, "--remote", "backup") == (0, [])
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    code, problems = verify(runner, repo, monkeypatch, "--remote", "backup")
    assert code == 1
    assert rules(problems) == ["verify-remote"]
    assert "rewritten" in str(problems[0]["message"])


def test_require_signed_commits(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    enable_ssh_signing(repo, tmp_path)
    assert cli(runner, repo, monkeypatch, "new-session", "C-0042", "--date", "2026-01-12")[0] == 0
    start = git(repo, "rev-parse", "HEAD").strip()
    config = repo / "ipt-notes.yaml"
    config.write_text(config.read_text() + f"verify:\n  signed_commits_since: {start}\n")
    git(repo, "commit", "-q", "-am", "require signed commits from here")
    assert verify(runner, repo, monkeypatch, "--require-signed-commits") == (0, [])
    (repo / "clients/C-0042/inventory.yaml").write_text((repo / "clients/C-0042/inventory.yaml").read_text() + "#\n")
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "-am", "unsigned")
    code, problems = verify(runner, repo, monkeypatch, "--require-signed-commits")
    assert code == 1
    assert rules(problems) == ["verify-unsigned-commit"]


def test_log_is_the_audit_trail_without_content(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(runner, repo, monkeypatch, "log", "C-0042", "--format", "json")
    assert code == 0
    entries = json.loads(out)
    assert [e["action"] for e in entries] == [
        "amend C-0042 1",
        "sign C-0042 1",
        "by hand: 01.md",
        "new-session C-0042 1",
        "new-client C-0042",
    ]
    assert {e["author"] for e in entries} == {f"{GIT_ENV['GIT_AUTHOR_NAME']} <{GIT_ENV['GIT_AUTHOR_EMAIL']}>"}
    assert {e["signature"] for e in entries} == {"N"}
    git(repo, "commit", "-q", "--allow-empty", "-m", f"notes about {CANARY}")
    code, out, err = cli(runner, repo, monkeypatch, "log", "C-0042", "1")
    assert code == 0
    assert CANARY not in out + err
    assert out.splitlines()[0].split() == ["commit", "date", "author", "signature", "action"]
    assert len(out.splitlines()) == 1 + 4


def test_verify_refuses_an_unsafe_client_id(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = cli(runner, repo, monkeypatch, "verify", "../other")
    assert code == 2
    assert "pseudonymous code" in err


def test_the_backup_refuses_a_rewritten_history_and_verify_reports_it(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.git"
    code, out, err = cli(runner, repo, monkeypatch, "add-backup", str(backup))
    assert (code, out) == (0, f"{backup}\n"), err
    for key in ("receive.denyNonFastForwards", "receive.denyDeletes", "receive.fsckObjects"):
        assert git(backup, "config", "--get", key).strip() == "true"
    head = git(repo, "rev-parse", "HEAD").strip()
    branch = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    assert git(backup, "rev-parse", branch).strip() == head
    assert cli(runner, repo, monkeypatch, "push")[1] == head + "\n"
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "commit", "-q", "--allow-empty", "-m", "a different history")
    forced = subprocess.run(
        ["git", "push", "--force", "backup", f"HEAD:{branch}"], cwd=repo, capture_output=True, text=True
    )
    assert forced.returncode != 0
    deleted = subprocess.run(["git", "push", "backup", f":{branch}"], cwd=repo, capture_output=True, text=True)
    assert deleted.returncode != 0
    assert git(backup, "rev-parse", branch).strip() == head
    code, out, err = cli(runner, repo, monkeypatch, "push")
    assert (code, out) == (3, "")
    assert "refused the push" in err
    code, problems = verify(runner, repo, monkeypatch, "--remote", "backup")
    assert code == 1
    assert rules(problems) == ["verify-remote"]


def test_add_backup_refuses_a_folder_in_use_and_push_an_unknown_remote(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "file").write_text("x")
    code, _, err = cli(runner, repo, monkeypatch, "add-backup", str(used))
    assert code == 2
    assert "not empty" in err
    code, _, err = cli(runner, repo, monkeypatch, "push", "nowhere")
    assert code == 2
    assert "no git remote named nowhere" in err


def test_verify_refuses_an_unknown_remote_and_log_an_unsafe_id(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(runner, repo, monkeypatch, "verify", "--remote", "nowhere")
    assert (code, out) == (2, "")
    assert "the remote nowhere cannot be read" in err
    code, out, err = cli(runner, repo, monkeypatch, "log", "../C-0042")
    assert (code, out) == (2, "")
    assert "pseudonymous code" in err

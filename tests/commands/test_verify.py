"""`ipt-notes verify` over real client histories: tampering, deletion, corruption, merges, clones, signatures.

Each client is a git repository of its own; findings name paths relative to the current folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NOTE
from tests.helpers import CANARY, assert_refused, cli, commit_edit, enable_ssh_signing, git, resign, script

CLIENT = "clients/C-0042"
ADDENDUM = f"{CLIENT}/sessions/01.addendum-1.md"


def verify(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict[str, object]]]:
    """verify's exit status and findings as JSON; no output may ever carry the canary."""
    code, out, err = cli(cwd, "verify", "--format", "json", *args, monkeypatch=monkeypatch)
    assert CANARY not in out + err
    problems: list[dict[str, object]] = json.loads(out)
    return code, problems


def found(problems: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(p["path"], p["rule"]) for p in problems]


def rules(problems: list[dict[str, object]]) -> list[object]:
    return [p["rule"] for p in problems]


def short(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", "--short=12", rev).strip()


def quiet_edit(repo: Path, relative: str, old: bytes, new: bytes, message: str = "quiet edit") -> str:
    """A tampering commit past the hook, shortened as verify names it."""
    return commit_edit(repo, relative, old, new, message)[:12]


def signing(repo: Path) -> str:
    """The commit that signed C-0042's note 1, as verify names it."""
    commits = git(repo, "log", "--format=%H", "--fixed-strings", "--grep=sign C-0042 1").split()
    assert len(commits) == 1
    return commits[0][:12]


def test_an_untouched_history_verifies_from_the_practice_by_id_and_inside_the_client(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(signed_practice, "verify", monkeypatch=monkeypatch)
    assert (code, out) == (0, ""), err
    assert "verified 3 of 3 clients: 0 findings" in err
    assert verify(signed_practice / CLIENT / "sessions", monkeypatch=monkeypatch) == (0, [])
    ran = script("verify", "C-0042", cwd=signed_practice)
    assert (ran.returncode, ran.stdout) == (0, ""), ran.stderr
    assert "verified 1 of 1 clients: 0 findings" in ran.stderr


def test_a_signed_note_edited_past_the_hook_is_found(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    edit = quiet_edit(repo, "sessions/01.md", b"techniques: [psychoeducation]", b"techniques: [role_play]")
    message = f"the note signed in commit {signing(repo)} was changed in commit {edit}"
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    changed = [(p["path"], p["message"]) for p in problems if p["rule"] == "verify-signed-changed"]
    assert changed == [(NOTE, message)]
    code, inside = verify(repo, monkeypatch=monkeypatch)
    assert code == 1
    assert [(p["path"], p["message"]) for p in inside if p["rule"] == "verify-signed-changed"] == [
        ("sessions/01.md", message)
    ]
    # The addendum links to the note as it was signed, which the history still holds: the one
    # change is one finding, at the note, not a second one that blames the addendum.
    assert found(problems) == [(NOTE, "verify-signed-changed")]


def test_a_signed_note_rehashed_after_editing_is_still_found(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipt_notes.signing import content_hash

    repo = signed_practice / CLIENT
    note = signed_practice / NOTE
    note.write_bytes(resign(note.read_bytes().replace(b"# Session 1", b"# Edited session 1")))
    assert content_hash(note.read_bytes()).encode() in note.read_bytes()
    git(repo, "commit", "-q", "--no-verify", "-am", "quiet edit, hash recomputed")
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    assert (NOTE, "verify-signed-changed") in found(problems)
    assert rules(problems) == ["verify-signed-changed"]


def test_a_deleted_signed_note_is_found(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    git(repo, "rm", "-q", "sessions/01.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "gone")
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    deleted = [p for p in problems if p["rule"] == "verify-signed-deleted"]
    assert [(p["path"], p["message"]) for p in deleted] == [
        (NOTE, f"the signed note was deleted in commit {short(repo)}")
    ]
    assert (ADDENDUM, "verify-addendum") in found(problems)
    assert {p["path"] for p in problems} == {NOTE, ADDENDUM}


def test_a_cosignature_is_not_a_change(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    contract = repo / "client.yaml"
    contract.write_text(contract.read_text() + "supervisor: S-01 <s@x.example>\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "supervisor")
    for key, value in (("NAME", "S-01"), ("EMAIL", "s@x.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    assert cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)[0] == 0
    assert git(repo, "log", "-1", "--format=%s") == "cosign C-0042 1\n"
    assert verify(signed_practice, monkeypatch=monkeypatch) == (0, [])


def test_a_rebase_that_changes_nothing_leaves_no_finding_and_a_rewrite_is_named(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    rebase = ["git", "-c", "core.hooksPath=/dev/null", "rebase", "-q", "--root", "--committer-date-is-author-date"]
    subprocess.run(rebase, cwd=repo, check=True, env={**os.environ, "GIT_SEQUENCE_EDITOR": "true"})
    # The rebase leaves reflog entries naming git's empty tree, which it never stores: not the record.
    assert verify(signed_practice, monkeypatch=monkeypatch) == (0, [])
    dropped = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "by hand")
    code, found = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    assert [(f["rule"], f["path"]) for f in found] == [("verify-history-rewritten", CLIENT)]
    assert dropped[:12] in found[0]["message"]


def test_a_corrupted_object_is_found(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    blob = git(repo, "rev-parse", "HEAD:sessions/01.md").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    assert loose.is_file()
    loose.chmod(0o600)
    loose.write_bytes(b"not a zlib stream")
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    assert (CLIENT, "verify-fsck") in found(problems)
    fsck = next(p for p in problems if p["rule"] == "verify-fsck")
    assert blob in str(fsck["message"])


def test_a_commit_dated_before_its_parent_is_found(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    inventory = repo / "inventory.yaml"
    inventory.write_text(inventory.read_text() + "# later\n")
    parent = short(repo)
    env = {**os.environ, "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z"}
    subprocess.run(["git", "commit", "-q", "--no-verify", "-am", "back-dated"], cwd=repo, env=env, check=True)
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    assert [(p["path"], p["rule"], p["message"]) for p in problems] == [
        (CLIENT, "verify-commit-dates", f"commit {short(repo)} is dated before its parent {parent}")
    ]


def test_a_change_merged_from_a_side_branch_is_found(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify walks every reachable commit, not only the first-parent chain."""
    repo = signed_practice / CLIENT
    sign_commit = signing(repo)
    git(repo, "switch", "-q", "-c", "side", sign_commit)
    side = quiet_edit(repo, "sessions/01.md", b"techniques: [psychoeducation]", b"techniques: [role_play]")
    git(repo, "switch", "-q", "main")
    inventory = repo / "inventory.yaml"
    inventory.write_text(inventory.read_text() + "# later\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "later")
    git(repo, "merge", "-q", "--no-ff", "--no-verify", "-m", "merge side", "side")
    assert len(git(repo, "log", "-1", "--format=%P").split()) == 2
    assert b"role_play" in (signed_practice / NOTE).read_bytes()
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    changed = [p["message"] for p in problems if p["rule"] == "verify-signed-changed" and p["path"] == NOTE]
    assert f"the note signed in commit {sign_commit} was changed in commit {side}" in changed


def test_a_shallow_clone_is_refused_with_how_to_fetch_the_whole_history(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{signed_practice / CLIENT}", str(shallow))
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "true"
    code, out, err = cli(shallow, "verify", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "shallow clone" in err
    assert "--unshallow" in err
    code, out, err = cli(tmp_path, "verify", "./shallow", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "shallow is a shallow clone" in err


def test_a_client_that_cannot_be_audited_does_not_hide_the_others(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = signed_practice / "clients/C-0001"
    shallow = tmp_path / "C-0001"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{closed}", str(shallow))
    shutil.rmtree(closed)
    shallow.rename(closed)
    quiet_edit(signed_practice / CLIENT, "sessions/01.md", b"techniques: [psychoeducation]", b"techniques: [role_play]")
    code, out, err = cli(signed_practice, "verify", monkeypatch=monkeypatch)
    assert code == 3
    assert f"{NOTE}:1:1: error [verify-signed-changed]" in out
    assert "clients/C-0001 is a shallow clone" in err
    assert "--unshallow" in err
    assert "verified 2 of 3 clients" in err


def test_findings_in_one_client_do_not_hide_another_s(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = signed_practice / "clients/C-0001"
    quiet_edit(closed, "sessions/03.md", b"modality: phone", b"modality: video")
    quiet_edit(signed_practice / CLIENT, "sessions/01.md", b"techniques: [psychoeducation]", b"techniques: [role_play]")
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    paths = [str(p["path"]) for p in problems]
    assert paths == sorted(paths)
    changed = [path for path, rule in found(problems) if rule == "verify-signed-changed"]
    assert changed == ["clients/C-0001/sessions/03.md", NOTE]
    code, named = verify(signed_practice, "C-0042", "C-0001", monkeypatch=monkeypatch)
    assert (code, named) == (1, problems)
    code, alone = verify(closed, monkeypatch=monkeypatch)
    assert code == 1
    assert found(alone) == [("sessions/03.md", "verify-signed-changed")]


def test_require_signed_commits(signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    unsigned = git(repo, "log", "--format=%h", "--abbrev=12").split()
    enable_ssh_signing(repo, tmp_path)
    start = quiet_edit(repo, "inventory.yaml", b"client: C-0042", b"client: C-0042\n# signed from here")
    assert git(repo, "log", "-1", "--format=%G?") == "G\n"
    code, problems = verify(signed_practice, "C-0042", "--require-signed-commits", monkeypatch=monkeypatch)
    assert code == 1
    assert sorted(str(p["message"]) for p in problems) == sorted(
        f"commit {commit} has no good signature" for commit in unsigned
    )
    settings = repo / "course-settings.yaml"
    settings.write_text(
        settings.read_text() + f"verify:\n  signed_commits_since: {git(repo, 'rev-parse', start).strip()}\n"
    )
    git(repo, "commit", "-q", "--no-verify", "-am", "signed commits from here")
    assert git(repo, "log", "-1", "--format=%G?") == "G\n"
    assert verify(repo, "--require-signed-commits", monkeypatch=monkeypatch) == (0, [])
    inventory = repo / "inventory.yaml"
    inventory.write_text(inventory.read_text() + "#\n")
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-am", "unsigned")
    code, problems = verify(repo, "--require-signed-commits", monkeypatch=monkeypatch)
    assert code == 1
    assert [(p["path"], p["rule"], p["message"]) for p in problems] == [
        (".", "verify-unsigned-commit", f"commit {short(repo)} has no good signature")
    ]


def test_a_start_of_signed_commits_outside_the_history_checks_every_commit(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    settings = repo / "course-settings.yaml"
    settings.write_text(settings.read_text() + f'verify:\n  signed_commits_since: "{"a" * 40}"\n')
    git(repo, "commit", "-q", "--no-verify", "-am", "since")
    code, problems = verify(repo, "--require-signed-commits", monkeypatch=monkeypatch)
    assert code == 1
    messages = [str(p["message"]) for p in problems]
    assert any("verify.signed_commits_since names a commit that is not in this history" in m for m in messages)
    assert len(messages) == 1 + len(git(repo, "rev-list", "HEAD").split())


def test_a_merge_that_keeps_the_other_side_drops_a_signed_note_and_is_found(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    git(repo, "switch", "-q", "-c", "side")
    code, _, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert code == 0, err
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "-s", "ours", "--no-edit", "side")
    code, problems = verify(practice, "C-0042", monkeypatch=monkeypatch)
    assert code == 1
    assert found(problems) == [(NOTE, "verify-signed-changed")]


def test_verify_remote_without_a_backup_is_a_finding(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, problems = verify(signed_practice, "C-0042", "--remote", monkeypatch=monkeypatch)
    assert code == 1
    assert found(problems) == [(CLIENT, "verify-remote")]
    assert "no backup remote" in str(problems[0]["message"])


def test_a_history_rewritten_since_the_backup_is_found(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    backup = tmp_path / "backup.git"
    git(tmp_path, "init", "-q", "--bare", str(backup))
    git(repo, "remote", "add", "backup", str(backup))
    git(repo, "push", "-q", "backup", "HEAD:refs/heads/main")
    assert verify(repo, "--remote", monkeypatch=monkeypatch) == (0, [])
    pushed = short(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "a different history")
    code, problems = verify(signed_practice, "--remote", "C-0042", monkeypatch=monkeypatch)
    assert code == 1
    assert found(problems) == [(CLIENT, "verify-history-rewritten"), (CLIENT, "verify-remote")]
    assert pushed in str(problems[1]["message"])
    assert "rewritten" in str(problems[1]["message"])


def test_formats_carry_the_finding_and_never_the_note(signed_practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = signed_practice / CLIENT
    git(repo, "rm", "-q", "sessions/01.addendum-1.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "addendum withdrawn")
    edit = quiet_edit(repo, "sessions/01.md", b"# Session 1", f"{CANARY}\n# Session 1".encode(), f"why: {CANARY}")
    message = f"the note signed in commit {signing(repo)} was changed in commit {edit}"
    code, problems = verify(signed_practice, monkeypatch=monkeypatch)
    assert code == 1
    assert problems == [
        {"path": NOTE, "line": 1, "col": 1, "severity": "error", "rule": "verify-signed-changed", "message": message}
    ]
    code, out, err = cli(signed_practice, "verify", monkeypatch=monkeypatch)
    assert (code, out) == (1, f"{NOTE}:1:1: error [verify-signed-changed] {message}\n")
    assert "verified 3 of 3 clients: 1 findings" in err
    code, out, err = cli(signed_practice, "verify", "--format", "github", monkeypatch=monkeypatch)
    assert code == 1
    assert out == f"::error file={NOTE},line=1,col=1,title=verify-signed-changed::{message}\n"
    assert CANARY not in out + err


def test_verify_refuses_a_client_it_cannot_name(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "../other": "../other is not a client folder",
        "C 0042": "pseudonymous code",
        "C-0042;rm": "pseudonymous code",
        "C-9999": "no client C-9999 in this practice",
    }
    assert_refused(practice, ["verify"], expected, monkeypatch=monkeypatch)


def test_a_note_signed_with_a_quoted_status_and_changed_later_is_found(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = practice / CLIENT
    assert cli(repo, "sign", "sessions/01.md", monkeypatch=monkeypatch)[0] == 0
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    note = practice / NOTE
    note.write_bytes(resign(note.read_bytes().replace(b"status: signed", b'status: "signed"', 1)))
    git(repo, "commit", "-q", "--no-verify", "-am", "signed by hand")
    git(repo, "reflog", "expire", "--expire=now", "--all")  # the reset above is setup, not the finding
    signed = short(repo)
    changed = quiet_edit(repo, "sessions/01.md", b"# Session 1", b"# Rewritten")
    code, problems = verify(repo, monkeypatch=monkeypatch)
    assert code == 1
    assert [(p["path"], p["rule"], p["message"]) for p in problems] == [
        (
            "sessions/01.md",
            "verify-signed-changed",
            f"the note signed in commit {signed} was changed in commit {changed}",
        )
    ]


def test_with_signed_commits_required_a_cosignature_is_signed_by_the_supervisors_key(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = signed_practice / CLIENT
    contract = repo / "client.yaml"
    contract.write_text(contract.read_text() + "supervisor: S-01 <s01@clinic.example>\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "supervisor named")
    enable_ssh_signing(repo, tmp_path)  # the clinician's key, trusted for the clinician's address
    settings = repo / "course-settings.yaml"
    settings.write_text(settings.read_text() + "verify:\n  signed_commits_since: SINCE\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "signed from here")
    settings.write_text(settings.read_text().replace("SINCE", git(repo, "rev-parse", "HEAD").strip()))
    git(repo, "commit", "-q", "--no-verify", "-am", "signed commits from here")
    # The supervisor co-signs, but the commit is signed with the clinician's key.
    for key, value in (("NAME", "S-01"), ("EMAIL", "s01@clinic.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    assert cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)[0] == 0
    assert git(repo, "log", "-1", "--format=%G?") == "G\n"
    code, problems = verify(repo, "--require-signed-commits", monkeypatch=monkeypatch)
    assert code == 1
    assert [p["rule"] for p in problems] == ["verify-cosignature-signer"]
    # Signed with a key trusted for the supervisor's own address, it passes.
    supervisor_key = tmp_path / "supervisor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(supervisor_key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(allowed.read_text() + f"s01@clinic.example {(tmp_path / 'supervisor.pub').read_text()}")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "config", "user.signingkey", str(supervisor_key))
    assert cli(signed_practice, "cosign", NOTE, monkeypatch=monkeypatch)[0] == 0
    assert verify(repo, "--require-signed-commits", monkeypatch=monkeypatch) == (0, [])

"""sign, cosign and amend on real git repositories, and the check that a signed note never changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipt_notes.cli import app
from ipt_notes.loader import read_document
from ipt_notes.schemas import load_schema
from ipt_notes.signing import content_hash
from tests.conftest import GIT_ENV, enable_ssh_signing

CANARY = "CANARY-91b4"
NOTE = "clients/C-0042/sessions/01.md"


def cli(runner: CliRunner, cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def fields(path: Path) -> dict[str, object]:
    data = read_document(path, front_matter=True).data
    assert isinstance(data, dict)
    return data


def complete(path: Path, homework: str = "Call F once this week.") -> None:
    """Answer every task of a scaffolded initial-phase note, as a clinician would."""
    text = path.read_text()
    text = text.replace("techniques: []", "techniques: [psychoeducation]")
    text = text.replace("suicidal_ideation: null", "suicidal_ideation: none")
    text = text.replace("measures: {}", "measures: {phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0]}")
    text = text.replace("  assigned: null", f"  assigned: {homework}")
    for task in load_schema("session")["$defs"]["initial_tasks"]["properties"]:
        text = text.replace(f"  {task}: null", f"  {task}: true")
    path.write_text(text)


def course_with_one_note(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, homework: str = "Call F once this week."
) -> Path:
    """A notes repository with client C-0042 and its first session written, committed as a draft."""
    assert cli(runner, tmp_path, monkeypatch, "init", "notes")[0] == 0
    root = tmp_path / "notes"
    assert cli(runner, root, monkeypatch, "new-client", "C-0042", "--start", "2026-01-05")[0] == 0
    assert cli(runner, root, monkeypatch, "new-session", "C-0042", "--date", "2026-01-05")[0] == 0
    complete(root / NOTE, homework=homework)
    git(root, "commit", "-q", "-am", "session 1 written")
    return root


@pytest.fixture
def repo(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    return course_with_one_note(tmp_path, runner, monkeypatch)


def test_sign_refuses_an_incomplete_note_at_its_lines_and_changes_nothing(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = repo / "clients/C-0042/sessions/01.md"
    note.write_text(note.read_text().replace("suicidal_ideation: none", "suicidal_ideation: null"))
    git(repo, "commit", "-q", "-am", "unanswered")
    before = note.read_bytes()
    code, out, err = cli(runner, repo, monkeypatch, "sign", NOTE)
    assert (code, out) == (1, "")
    line = next(i for i, text in enumerate(before.decode().splitlines(), 1) if "suicidal_ideation" in text)
    assert f"{NOTE}:{line}:22: error [schema-enum] must be one of: none, passive, active" in err
    assert "nothing was signed" in err
    assert note.read_bytes() == before
    assert git(repo, "log", "-1", "--format=%s") == "unanswered\n"


def test_sign_locks_the_note_with_a_hash_anyone_can_recompute(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(runner, repo, monkeypatch, "sign", NOTE)
    assert (code, out) == (0, NOTE + "\n"), err
    note = repo / NOTE
    data = fields(note)
    assert data["status"] == "signed"
    assert data["signed_by"] == f"{GIT_ENV['GIT_AUTHOR_NAME']} <{GIT_ENV['GIT_AUTHOR_EMAIL']}>"
    assert str(data["signed_at"]).endswith("Z")
    recipe = (
        "awk 'NR==1{f=1} f && /^(---|\\.\\.\\.)$/ && NR>1{f=0} "
        'f && /^(content_hash|cosigned_by|cosigned_at):/{next} {print}\' "$1" | sha256sum'
    )
    recomputed = subprocess.run(["bash", "-c", recipe, "-", str(note)], capture_output=True, text=True, check=True)
    assert data["content_hash"] == "sha256:" + recomputed.stdout.split()[0] == content_hash(note.read_bytes())
    assert git(repo, "log", "-1", "--format=%s") == "sign C-0042 1\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [NOTE]
    assert git(repo, "status", "--porcelain") == ""


def test_signing_twice_is_refused(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    code, _, err = cli(runner, repo, monkeypatch, "sign", NOTE)
    assert code == 2
    assert "already signed" in err


@pytest.mark.parametrize("target", ["clients/C-0042/client.yaml", "ipt-notes.yaml", "nowhere.md"])
def test_only_notes_are_signed(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    code, out, _ = cli(runner, repo, monkeypatch, "sign", target)
    assert (code, out) == (2, "")


def test_several_notes_are_signed_in_one_commit(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(runner, repo, monkeypatch, "new-session", "C-0042", "--date", "2026-01-12")[0] == 0
    second = "clients/C-0042/sessions/02.md"
    complete(repo / second)
    git(repo, "commit", "-q", "-am", "session 2 written")
    code, out, _ = cli(runner, repo, monkeypatch, "sign", NOTE, second)
    assert code == 0
    assert out.split() == [NOTE, second]
    assert git(repo, "log", "-1", "--format=%s") == "sign C-0042 1, C-0042 2\n"


def test_a_signed_note_that_changes_is_reported_and_the_hook_refuses_it(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    note = repo / NOTE
    note.write_text(note.read_text() + "One more line, added later.\n")
    hash_line = next(i for i, text in enumerate(note.read_text().splitlines(), 1) if text.startswith("content_hash"))
    code, out, _ = cli(runner, repo, monkeypatch, "validate", NOTE)
    assert code == 1
    assert out.startswith(f"{NOTE}:{hash_line}:15: error [signed-note-changed]")
    committed = subprocess.run(["git", "commit", "-qam", "edit"], cwd=repo, capture_output=True, text=True)
    assert committed.returncode != 0
    assert "signed-note-changed" in committed.stdout + committed.stderr
    git(repo, "commit", "-q", "--no-verify", "-am", "edit, hook skipped")
    code, out, _ = cli(runner, repo, monkeypatch, "validate")
    assert code == 1
    assert "[signed-note-changed]" in out


def test_a_note_signed_outside_ipt_notes_with_a_wrong_hash_is_reported(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = repo / NOTE
    text = note.read_text().replace(
        "status: draft",
        'status: signed\nsigned_by: "T-01 <t01@clinic.example>"\nsigned_at: 2026-01-05T18:00:00Z\n'
        "content_hash: sha256:" + "0" * 64,
    )
    note.write_text(text)
    code, out, _ = cli(runner, repo, monkeypatch, "validate", "--schema-only", NOTE)
    assert code == 1
    assert "[signed-note-changed]" in out


def test_supervised_notes_await_cosignature_and_the_supervisor_cosigns(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = repo / "clients/C-0042/client.yaml"
    client.write_text(
        client.read_text().replace(
            "course_status: active", "course_status: active\nsupervisor: S-01 <s01@clinic.example>"
        )
    )
    git(repo, "commit", "-q", "-am", "supervisor")
    code, _, err = cli(runner, repo, monkeypatch, "sign", NOTE)
    assert code == 0
    assert "awaits co-signature" in err
    code, out, _ = cli(runner, repo, monkeypatch, "validate", NOTE)
    assert "warning [cosign-pending]" in out
    code, _, err = cli(runner, repo, monkeypatch, "cosign", NOTE)
    assert code == 2
    assert "only the supervisor" in err
    for key, value in (("NAME", "S-01"), ("EMAIL", "s01@clinic.example")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    signed_hash = fields(repo / NOTE)["content_hash"]
    code, out, err = cli(runner, repo, monkeypatch, "cosign", NOTE)
    assert (code, out) == (0, NOTE + "\n"), err
    data = fields(repo / NOTE)
    assert data["cosigned_by"] == "S-01 <s01@clinic.example>"
    assert data["content_hash"] == signed_hash == content_hash((repo / NOTE).read_bytes())
    assert git(repo, "log", "-1", "--format=%s %an") == "cosign C-0042 1 S-01\n"
    assert cli(runner, repo, monkeypatch, "validate", NOTE)[1] == ""
    code, _, err = cli(runner, repo, monkeypatch, "cosign", NOTE)
    assert code == 2
    assert "already co-signed" in err


def test_amend_links_an_addendum_and_leaves_the_note_byte_identical(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(runner, repo, monkeypatch, "amend", NOTE)
    assert code == 2
    assert "not signed" in err
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    signing_commit = git(repo, "rev-parse", "HEAD").strip()
    before = (repo / NOTE).read_bytes()
    code, out, err = cli(runner, repo, monkeypatch, "amend", NOTE, "--kind", "late_entry")
    assert (code, out) == (0, "clients/C-0042/sessions/01.addendum-1.md\n"), err
    addendum = repo / out.strip()
    data = fields(addendum)
    assert data["kind"] == "late_entry"
    assert data["status"] == "draft"
    assert data["amends"] == {"note": "sessions/01.md", "content_hash": content_hash(before), "commit": signing_commit}
    assert (repo / NOTE).read_bytes() == before
    assert git(repo, "log", "-1", "--format=%s") == "amend C-0042 1\n"
    code, _, err = cli(runner, repo, monkeypatch, "sign", out.strip())
    assert code == 1
    reason_line = next(i for i, text in enumerate(addendum.read_text().splitlines(), 1) if text.startswith("reason"))
    assert f"01.addendum-1.md:{reason_line}:9: error [schema-type] must be text" in err
    addendum.write_text(addendum.read_text().replace("reason: null", "reason: A call after the session."))
    git(repo, "commit", "-q", "-am", "addendum written")
    assert cli(runner, repo, monkeypatch, "sign", out.strip())[0] == 0
    code, out, _ = cli(runner, repo, monkeypatch, "amend", NOTE)
    assert out == "clients/C-0042/sessions/01.addendum-2.md\n"
    assert cli(runner, repo, monkeypatch, "validate")[0] == 0


def test_amend_refuses_what_it_cannot_link(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    code, _, err = cli(runner, repo, monkeypatch, "amend", NOTE, "--kind", "rewrite")
    assert code == 2
    assert "--kind is one of: addendum, late_entry, correction, patient_amendment" in err
    note = repo / NOTE
    note.write_text(note.read_text() + "changed\n")
    code, _, err = cli(runner, repo, monkeypatch, "amend", NOTE)
    assert code == 2
    assert "changed after signing" in err
    assert not (repo / "clients/C-0042/sessions/01.addendum-1.md").exists()


def test_no_output_or_commit_message_carries_note_content(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = repo / NOTE
    note.write_text(note.read_text().replace("Call F once this week.", CANARY) + CANARY + "\n")
    git(repo, "commit", "-q", "-am", "written")
    outputs = [cli(runner, repo, monkeypatch, "sign", NOTE), cli(runner, repo, monkeypatch, "amend", NOTE)]
    note.write_text(note.read_text() + CANARY + "\n")
    outputs.append(cli(runner, repo, monkeypatch, "validate"))
    outputs.append(cli(runner, repo, monkeypatch, "cosign", NOTE))
    for _, out, err in outputs:
        assert CANARY not in out + err
    assert CANARY not in git(repo, "log", "--format=%B")


def test_signing_commits_are_signed_when_git_is_set_to_sign(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    enable_ssh_signing(repo, tmp_path)
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    assert git(repo, "log", "-1", "--format=%G? %s") == "G sign C-0042 1\n"


def test_a_signed_note_edited_with_its_hash_recomputed_is_caught_against_head(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_rules import resign

    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    note = repo / NOTE
    note.write_bytes(resign(note.read_bytes().replace(b"techniques: [psychoeducation]", b"techniques: [role_play]")))
    hash_line = next(i for i, text in enumerate(note.read_text().splitlines(), 1) if text.startswith("content_hash"))
    code, out, _ = cli(runner, repo, monkeypatch, "validate", NOTE)
    assert code == 1
    assert out.startswith(
        f"{NOTE}:{hash_line}:15: error [signed-note-changed] this signed note differs from the version"
    )
    git(repo, "add", NOTE)
    code, out, _ = cli(runner, repo, monkeypatch, "validate", "--staged")
    assert code == 1
    assert "[signed-note-changed]" in out
    committed = subprocess.run(["git", "commit", "-qm", "edit"], cwd=repo, capture_output=True, text=True)
    assert committed.returncode != 0


def test_cosign_refuses_a_draft_and_a_client_without_supervisor(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(runner, repo, monkeypatch, "cosign", NOTE)
    assert code == 2
    assert "not signed yet" in err
    assert cli(runner, repo, monkeypatch, "sign", NOTE)[0] == 0
    code, _, err = cli(runner, repo, monkeypatch, "cosign", NOTE)
    assert code == 2
    assert "names no supervisor" in err

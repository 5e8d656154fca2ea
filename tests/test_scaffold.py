"""init, new-client, new-session and status on real git repositories in tmp_path."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ipt_notes.cli import app
from ipt_notes.errors import FileExists
from ipt_notes.files import create_new
from ipt_notes.loader import load_yaml, read_document
from ipt_notes.scaffold import GIT_SETTINGS, yaml_scalar
from ipt_notes.validation import validate_paths
from tests.conftest import write_tree

CANARY = "CANARY-5e1d"
SCRIPT = Path(sys.executable).parent / "ipt-notes"


def cli(runner: CliRunner, cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def commits(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s").splitlines()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def repo(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    code, _, err = cli(runner, tmp_path, "init", "notes", monkeypatch=monkeypatch)
    assert code == 0, err
    return tmp_path / "notes"


@pytest.fixture
def client(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    code, _, err = cli(
        runner, repo, "new-client", "C-0042", "--sessions", "16", "--start", "2026-01-05", monkeypatch=monkeypatch
    )
    assert code == 0, err
    return repo / "clients" / "C-0042"


def session(runner: CliRunner, repo: Path, date: str, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Path:
    code, out, err = cli(runner, repo, "new-session", "C-0042", "--date", date, *extra, monkeypatch=monkeypatch)
    assert code == 0, err
    return repo / out.strip()


def dates(count: int) -> list[str]:
    return [f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(count)]


# init


def test_init_makes_a_private_repository_with_settings_hook_and_one_commit(repo: Path) -> None:
    assert commits(repo) == ["init: notes repository"]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [".gitignore", "ipt-notes.yaml"]
    for key, value in GIT_SETTINGS.items():
        assert git(repo, "config", "--get", key).strip() == value
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert mode(hook) == 0o700
    assert "validate --staged" in hook.read_text()
    for path in (repo, repo / "clients", repo / "ipt-notes.yaml", repo / ".gitignore"):
        assert mode(path) & 0o077 == 0, path
    assert validate_paths([repo]).problems == []


def test_init_twice_changes_nothing(repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (repo / "ipt-notes.yaml", repo / ".gitignore")}
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook_before = hook.stat().st_mtime_ns
    code, out, err = cli(runner, repo, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.strip() == ".git/hooks/pre-commit"
    assert "nothing new to commit" in err
    assert commits(repo) == ["init: notes repository"]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    assert hook.stat().st_mtime_ns == hook_before


def test_init_adopts_a_repository_and_leaves_a_foreign_hook_alone(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "existing"
    write_tree(existing, {"README.md": "mine\n", ".gitignore": "mine\n"})
    git(existing, "init", "-q")
    git(existing, "add", "-A")
    git(existing, "commit", "-q", "-m", "start")
    hook = existing / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    code, out, err = cli(runner, existing, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.split() == ["ipt-notes.yaml"]
    assert "a pre-commit hook of your own is in place" in err
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"
    assert (existing / ".gitignore").read_text() == "mine\n"
    assert commits(existing) == ["init: notes repository", "start"]


# new-client


def test_new_client_scaffolds_valid_private_files_in_one_commit(client: Path, repo: Path) -> None:
    names = sorted(p.name for p in client.iterdir())
    assert names == ["client.yaml", "formulation.md", "inventory.yaml", "sessions"]
    assert commits(repo)[0] == "new-client C-0042"
    assert validate_paths([repo]).problems == []
    contract = read_document(client / "client.yaml", front_matter=False).data
    assert isinstance(contract, dict)
    assert contract["contract"]["sessions_planned"] == 16
    assert contract["start_date"] == "2026-01-05"
    assert mode(client) == 0o700
    assert mode(client / "client.yaml") == 0o600


@pytest.mark.parametrize(
    "unsafe",
    ["../escape", "a/b", "-x", ".git", "x" * 41, "Jöhn", "C 42", "C-1;rm", "", "C\n42", "C-0042/"],
)
def test_unsafe_client_ids_are_refused_and_nothing_is_created(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, unsafe: str
) -> None:
    before = sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts)
    code, out, err = cli(runner, repo, "new-client", unsafe, monkeypatch=monkeypatch)
    assert code == 2, err
    assert out == ""
    assert sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts) == before
    assert commits(repo) == ["init: notes repository"]


def test_a_client_id_that_differs_only_in_case_collides(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(runner, repo, "new-client", "c-0042", monkeypatch=monkeypatch)
    assert code == 2
    assert "differs only in case" in err
    code, _, err = cli(runner, repo, "new-client", "C-0042", monkeypatch=monkeypatch)
    assert code == 2
    assert "already exists" in err


@pytest.mark.parametrize(("option", "value"), [("--sessions", "0"), ("--sessions", "61"), ("--start", "2026-02-30")])
def test_new_client_refuses_bad_options(
    repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    code, _, _ = cli(runner, repo, "new-client", "C-1", option, value, monkeypatch=monkeypatch)
    assert code == 2
    assert not (repo / "clients" / "C-1").exists()


# new-session


def test_a_whole_course_gets_the_right_phases_numbers_and_commits(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    phases = []
    for number, date in enumerate(dates(17), start=1):
        note = session(runner, repo, date, monkeypatch)
        assert note.name == f"{number:02d}.md"
        data = read_document(note, front_matter=True).data
        assert isinstance(data, dict)
        assert (data["session"], data["date"], data["status"]) == (number, date, "draft")
        phases.append(data["phase"])
        assert mode(note) == 0o600
    assert phases == ["initial"] * 3 + ["middle"] * 10 + ["termination"] * 3 + ["maintenance"]
    assert commits(repo)[:3] == ["new-session C-0042 17", "new-session C-0042 16", "new-session C-0042 15"]
    assert len(commits(repo)) == 2 + 17
    # The drafts are older than a week by now: warnings, and nothing else.
    assert {p.rule for p in validate_paths([repo]).problems} == {"draft-unsigned"}
    assert git(repo, "status", "--porcelain") == ""


def test_each_phase_template_holds_its_tasks(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = [session(runner, repo, date, monkeypatch) for date in dates(17)]
    blocks = {1: "initial", 5: "middle", 15: "termination", 17: "maintenance"}
    for number, block in blocks.items():
        data = read_document(notes[number - 1], front_matter=True).data
        assert isinstance(data, dict)
        assert isinstance(data[block], dict), block
        assert all(value in (None, []) for value in data[block].values()), block
        assert data["risk"] == {"suicidal_ideation": None}
    text = notes[4].read_text()
    assert "Session 5 of 16, 11 remain" in text
    assert "## Since we last met" in text
    assert "Session 15 of 16, 1 remains" in notes[14].read_text()
    assert "after the 16 planned" in notes[16].read_text()


def test_the_note_is_prefilled_from_the_course(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    formulation = client / "formulation.md"
    formulation.write_text(
        "---\nclient: C-0042\nstatus: agreed\nagreed_on: 2026-01-19\nproblem_areas:\n"
        "  - {area: role_transition, primary: false}\n"
        "  - {area: role_dispute, primary: true, dispute_stage: impasse}\n---\n"
    )
    git(repo, "commit", "-q", "-am", "formulation")
    first = session(runner, repo, "2026-01-05", monkeypatch)
    data = read_document(first, front_matter=True).data
    assert isinstance(data, dict)
    assert data["problem_areas"] == ["role_dispute", "role_transition"]
    assert "due: phq9 (baseline)" in first.read_text()
    homework = f'Talk to P: "{CANARY}" — twice.\n'
    text = first.read_text().replace("measures: {}", "measures: {phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0]}")
    text = text.replace("  assigned: null", f"  assigned: {yaml_scalar(homework)}")
    first.write_text(text)
    git(repo, "commit", "-q", "-am", "edit")
    second = session(runner, repo, "2026-01-12", monkeypatch)
    data = read_document(second, front_matter=True).data
    assert isinstance(data, dict)
    assert data["homework"] == {"review": homework, "assigned": None}
    assert "no measure is due" in second.read_text()
    session(runner, repo, "2026-01-19", monkeypatch)
    fourth = session(runner, repo, "2026-01-26", monkeypatch)
    data = read_document(fourth, front_matter=True).data
    assert isinstance(data, dict)
    assert data["dispute_stage"] == "impasse"
    fourth.write_text(fourth.read_text().replace("dispute_stage: impasse", "dispute_stage: renegotiation"))
    git(repo, "commit", "-q", "-am", "edit")
    fifth = session(runner, repo, "2026-02-02", monkeypatch)
    assert "due: phq9 (last scored at session 1)" in fifth.read_text()
    data = read_document(fifth, front_matter=True).data
    assert isinstance(data, dict)
    assert data["dispute_stage"] == "renegotiation"


def test_no_output_or_commit_message_carries_note_content(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = session(runner, repo, "2026-01-05", monkeypatch)
    first.write_text(first.read_text().replace("  assigned: null", f"  assigned: {CANARY}") + CANARY + "\n")
    git(repo, "commit", "-q", "-am", "edit")
    code, out, err = cli(runner, repo, "new-session", "C-0042", "--date", "2026-01-12", monkeypatch=monkeypatch)
    assert code == 0
    assert CANARY not in out + err
    code, out, err = cli(runner, repo, "status", "--format", "json", monkeypatch=monkeypatch)
    assert CANARY not in out + err
    assert CANARY not in git(repo, "log", "--format=%B")


def test_a_hand_made_file_survives(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    handmade = client / "sessions" / "01.md"
    handmade.write_bytes(b"my own notes, not a note at all\n")
    git(repo, "add", str(handmade))
    git(repo, "commit", "-q", "--no-verify", "-m", "by hand")
    note = session(runner, repo, "2026-01-05", monkeypatch)
    assert note.name == "02.md"
    assert handmade.read_bytes() == b"my own notes, not a note at all\n"
    assert git(repo, "status", "--porcelain") == ""


def test_an_uncommitted_hand_made_note_leaves_a_gap_that_the_hook_reports(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    handmade = client / "sessions" / "01.md"
    handmade.write_bytes(b"written by hand, not yet committed\n")
    code, out, err = cli(runner, repo, "new-session", "C-0042", "--date", "2026-01-05", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "clients/C-0042/sessions/02.md:1:1: error [session-sequence] session 1 is missing before session 2" in err
    assert "saved, not committed: clients/C-0042/sessions/02.md" in err
    assert handmade.read_bytes() == b"written by hand, not yet committed\n"
    assert (client / "sessions" / "02.md").is_file()


def test_a_new_note_never_replaces_a_file_that_appears_first(tmp_path: Path) -> None:
    target = tmp_path / "05.md"
    target.write_bytes(b"written a moment before")
    with pytest.raises(FileExists):
        create_new(target, b"the new note")
    assert target.read_bytes() == b"written a moment before"
    assert [p.name for p in tmp_path.iterdir()] == ["05.md"]


def test_only_the_files_written_are_committed(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "ipt-notes.yaml").write_text((repo / "ipt-notes.yaml").read_text() + "# my edit, staged\n")
    git(repo, "add", "ipt-notes.yaml")
    (client / "inventory.yaml").write_text((client / "inventory.yaml").read_text() + "# unstaged edit\n")
    session(runner, repo, "2026-01-05", monkeypatch)
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["clients/C-0042/sessions/01.md"]
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == [
        " M clients/C-0042/inventory.yaml",
        "M  ipt-notes.yaml",
    ]


def test_a_missing_identity_is_refused_and_nothing_is_written(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)
    code, out, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "no author identity" in err
    assert not (client / "sessions" / "01.md").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("detached", "detached HEAD"),
        ("merge", "a merge is in progress"),
        ("rebase", "a rebase is in progress"),
        ("index.lock", "index is locked"),
    ],
)
def test_preflight_refuses_unsafe_repository_states(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, setup: str, message: str
) -> None:
    if setup == "detached":
        git(repo, "checkout", "-q", "--detach")
    elif setup == "merge":
        (repo / ".git" / "MERGE_HEAD").write_text(git(repo, "rev-parse", "HEAD"))
    elif setup == "rebase":
        (repo / ".git" / "rebase-merge").mkdir()
    else:
        (repo / ".git" / "index.lock").write_text("")
    code, out, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (client / "sessions" / "01.md").exists()


def test_git_missing_is_refused(client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    code, _, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert code == 3
    assert "git is not installed" in err


def test_a_refused_commit_leaves_the_note_saved_and_says_how_to_finish(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    code, out, err = cli(runner, repo, "new-session", "C-0042", "--date", "2026-01-05", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "saved, not committed: clients/C-0042/sessions/01.md" in err
    assert "git commit failed (a hook may have refused it)" in err
    assert "git commit -m 'new-session C-0042 1'" in err
    assert (client / "sessions" / "01.md").is_file()
    assert commits(repo)[0] == "new-client C-0042"


def test_a_held_lock_makes_a_command_wait_then_report_busy(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPT_NOTES_LOCK_WAIT", "0.3")
    fd = os.open(repo / ".git" / "ipt-notes.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        code, out, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    finally:
        os.close(fd)
    assert (code, out) == (3, "")
    assert "busy" in err
    assert not (client / "sessions" / "01.md").exists()


def test_six_parallel_new_sessions_give_six_notes_and_six_commits(client: Path, repo: Path) -> None:
    runs = [
        subprocess.Popen(
            [str(SCRIPT), "new-session", "C-0042"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(6)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, [err.decode() for _, err in outputs]
    written = sorted(out.decode().strip() for out, _ in outputs)
    assert written == [f"clients/C-0042/sessions/{n:02d}.md" for n in range(1, 7)]
    assert sorted(commits(repo)[:6]) == sorted(f"new-session C-0042 {n}" for n in range(1, 7))
    assert git(repo, "status", "--porcelain") == ""


def test_dates_must_not_go_backwards(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    session(runner, repo, "2026-01-12", monkeypatch)
    code, _, err = cli(runner, repo, "new-session", "C-0042", "--date", "2026-01-05", monkeypatch=monkeypatch)
    assert code == 2
    assert "comes before the date of session 1" in err
    assert not (repo / "clients/C-0042/sessions/02.md").exists()
    session(runner, repo, "2026-01-12", monkeypatch)
    code, _, _ = cli(runner, repo, "new-session", "C-0042", "--date", "12/01/2026", monkeypatch=monkeypatch)
    assert code == 2


def test_the_client_may_be_named_by_folder_or_left_out_inside_it(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(runner, repo, "new-session", "clients/C-0042", "--date", "2026-01-05", monkeypatch=monkeypatch)
    assert (code, out) == (0, "clients/C-0042/sessions/01.md\n")
    code, out, _ = cli(runner, client / "sessions", "new-session", "--date", "2026-01-12", monkeypatch=monkeypatch)
    assert (code, out) == (0, "02.md\n")
    code, _, err = cli(runner, repo, "new-session", monkeypatch=monkeypatch)
    assert code == 2
    assert "name the client" in err
    code, _, err = cli(runner, repo, "new-session", "C-0099", monkeypatch=monkeypatch)
    assert code == 2
    assert "no client C-0099" in err


def test_a_linked_sessions_folder_is_never_followed(
    client: Path, repo: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (client / "sessions").rmdir()
    (client / "sessions").symlink_to(elsewhere)
    code, _, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert code == 2
    assert "symbolic link" in err
    assert list(elsewhere.iterdir()) == []


def test_templates_can_be_overridden_by_the_repository(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        repo,
        {
            "templates/session-initial.md": (
                "---\nclient: $client\nsession: $session\ndate: $date\nphase: $phase\n"
                "attendance: attended\nstatus: draft\n---\n# Our clinic's note, $progress, costs $$0\n"
            )
        },
    )
    note = session(runner, repo, "2026-01-05", monkeypatch)
    assert note.read_text().endswith("# Our clinic's note, Session 1 of 16, 15 remain, costs $0\n")


@pytest.mark.parametrize(
    ("template", "code", "message"),
    [
        ("---\nclient: $client\n$nonsense\n---\n", 2, "$nonsense, which is not a placeholder"),
        ("---\nclient: $client\nsession: $session\n---\n", 1, "has problems"),
        ("costs $5\n", 2, "write $$ for $"),
    ],
)
def test_a_bad_template_is_refused_and_nothing_is_written(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, template: str, code: int, message: str
) -> None:
    write_tree(repo, {"templates/session-initial.md": template})
    result, out, err = cli(runner, repo, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (result, out) == (code, "")
    assert message in err
    assert not (client / "sessions" / "01.md").exists()


def test_edit_opens_the_editor_then_checks_the_note(
    client: Path, repo: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/^phase: initial/phase: opening/" "$1"\n')
    editor.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    code, out, err = cli(runner, repo, "new-session", "C-0042", "--edit", monkeypatch=monkeypatch)
    assert code == 1
    assert out == "clients/C-0042/sessions/01.md\n"
    assert "clients/C-0042/sessions/01.md:5:8: error [schema-enum]" in err
    assert "saved, not committed" in err
    monkeypatch.delenv("EDITOR")
    code, _, err = cli(runner, repo, "new-session", "C-0042", "--edit", monkeypatch=monkeypatch)
    assert code == 2
    assert "set VISUAL or EDITOR" in err
    assert not (client / "sessions" / "02.md").exists()


# validate --staged and the hook


def test_validate_staged_checks_the_index_not_the_working_tree(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = session(runner, repo, "2026-01-05", monkeypatch)
    good = note.read_text()
    note.write_text(good.replace("phase: initial", "phase: opening"))
    git(repo, "add", str(note))
    note.write_text(good)
    code, out, _ = cli(runner, repo, "validate", "--staged", monkeypatch=monkeypatch)
    assert code == 1
    assert out.startswith("clients/C-0042/sessions/01.md:5:8: error [schema-enum]")
    code, _, _ = cli(runner, repo, "validate", monkeypatch=monkeypatch)
    assert code == 0
    git(repo, "add", str(note))
    note.write_text("broken")
    code, _, _ = cli(runner, repo, "validate", "--staged", monkeypatch=monkeypatch)
    assert code == 0


def test_the_hook_blocks_a_commit_of_an_invalid_note(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = session(runner, repo, "2026-01-05", monkeypatch)
    note.write_text(note.read_text().replace("session: 1", "session: one"))
    git(repo, "add", str(note))
    result = subprocess.run(["git", "commit", "-q", "-m", "edit"], cwd=repo, capture_output=True, text=True)
    assert result.returncode != 0
    assert "clients/C-0042/sessions/01.md:3:10: error [schema-type]" in result.stdout + result.stderr
    assert commits(repo)[0] == "new-session C-0042 1"


# status


def test_status_shows_each_course_at_a_glance(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = session(runner, repo, "2026-01-05", monkeypatch)
    first.write_text(first.read_text().replace("measures: {}", "measures: {phq9: [2, 2, 2, 1, 1, 2, 1, 1, 0]}"))
    session(runner, repo, "2026-01-12", monkeypatch)
    code, out, _ = cli(runner, repo, "new-client", "C-0007", monkeypatch=monkeypatch)
    assert code == 0
    code, out, _ = cli(runner, repo, "status", monkeypatch=monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["client", "session", "phase", "PHQ-9", "drafts", "errors", "warnings"]
    assert lines[1].split() == ["C-0007", "-", "-", "-", "-", "0", "0"]
    # Both drafts are dated long ago, so the draft-unsigned rule warns twice.
    assert lines[2].split() == ["C-0042", "2", "of", "16", "initial", "12", "moderate", "(s1)", "1,", "2", "0", "2"]
    code, out, _ = cli(runner, client, "status", "--format", "json", monkeypatch=monkeypatch)
    import json

    assert json.loads(out) == [
        {
            "client": "C-0042",
            "session": 2,
            "planned": 16,
            "phase": "initial",
            "phq9_total": 12,
            "phq9_band": "moderate",
            "phq9_session": 1,
            "drafts": [1, 2],
            "errors": 0,
            "warnings": 2,
        }
    ]


def test_status_counts_the_problems_of_a_client(
    client: Path, repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = session(runner, repo, "2026-01-05", monkeypatch)
    note.write_text(note.read_text().replace("phase: initial", "phase: opening"))
    code, out, _ = cli(runner, repo, "status", "C-0042", "--format", "json", monkeypatch=monkeypatch)
    assert code == 0
    assert '"errors": 1' in out


# scalars written into notes


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200))
def test_carried_text_reads_back_exactly(text: str) -> None:
    assert load_yaml(f"homework:\n  review: {yaml_scalar(text)}\n") == {"homework": {"review": text}}

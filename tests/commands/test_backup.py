"""`ipt-notes add-backup`, `push` and `pull`: one backup repository per client, a witness that refuses rewrites.

The backup template names each client's repository with {client}; for a local path ipt-notes
creates the bare repositories itself, set to refuse non-fast-forward pushes and branch deletions.
A supervisor works in a clone of one client's backup; the clinician brings the co-signature in
with `pull`, fast-forwards only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ipt_notes.settings import load_practice_settings
from tests.helpers import CANARY, IDENTITY, cli, commit_edit, commits, copy_tree, git, head, mode, script

CLIENTS = ("C-0001", "C-0002", "C-0042")
SUPERVISOR_NAME = "S-01"
SUPERVISOR_EMAIL = "s01@clinic.example"
SUPERVISOR = f"{SUPERVISOR_NAME} <{SUPERVISOR_EMAIL}>"
REFUSING = ("receive.denyNonFastForwards", "receive.denyDeletes", "receive.fsckObjects")


def backup_head(backup: Path, branch: str = "main") -> str:
    return git(backup, "--git-dir", str(backup), "rev-parse", f"refs/heads/{branch}").strip()


def run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def _backed_once(tmp_path_factory: pytest.TempPathFactory, _built: Path, _session_env: None) -> tuple[Path, Path]:
    """The built practice with every client backed up under backup/ (set up once, through the library)."""
    from ipt_notes.commands.backup import add_backup

    folder = tmp_path_factory.mktemp("backed")
    practice = copy_tree(_built, folder / "practice")
    backups = folder / "backup"
    outcomes = add_backup(practice, f"{backups}/{{client}}.git")
    assert [outcome.error for outcome in outcomes] == [None, None, None]
    return practice, backups


@pytest.fixture
def backed(_backed_once: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the backed-up practice and its backups, the copy's remotes pointing at the copy."""
    practice = copy_tree(_backed_once[0], tmp_path / "practice")
    backups = copy_tree(_backed_once[1], tmp_path / "backup")
    for config in [practice / "ipt-notes.yaml", *(practice / "clients" / c / ".git" / "config" for c in CLIENTS)]:
        config.write_text(config.read_text().replace(str(_backed_once[1]), str(backups)))
    return practice, backups


def test_add_backup_creates_one_refusing_repository_per_client(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "backup" / "deep"  # neither folder exists yet
    template = f"{backups}/{{client}}.git"
    config = practice / "ipt-notes.yaml"
    before = config.read_text()
    heads = {client: head(practice / "clients" / client) for client in CLIENTS}

    code, out, err = cli(practice, "add-backup", template, monkeypatch=monkeypatch)

    assert code == 0, err
    assert out.splitlines() == [f"{client} {heads[client]}" for client in CLIENTS]
    # One line added to ipt-notes.yaml; every line the clinician wrote is as it was.
    after = config.read_text()
    assert after.startswith(before)
    added = after[len(before) :].splitlines()
    assert len(added) == 1
    assert added[0].startswith("backup:")
    assert load_practice_settings(practice).backup == template
    assert mode(backups) == 0o700
    for client in CLIENTS:
        backup = backups / f"{client}.git"
        assert git(backup, "--git-dir", str(backup), "rev-parse", "--is-bare-repository").strip() == "true"
        for key in REFUSING:
            assert git(backup, "--git-dir", str(backup), "config", "--get", key).strip() == "true", (client, key)
        assert backup_head(backup) == heads[client]
        assert mode(backup) == 0o700
        repo = practice / "clients" / client
        assert git(repo, "remote", "get-url", "backup").strip() == str(backup)
        assert f"{client}:" in err
    assert CANARY not in out + err

    # Once more: nothing new to do, and the settings file is left as it is.
    code, out, err = cli(practice, "add-backup", template, monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.splitlines() == [f"{client} {heads[client]}" for client in CLIENTS]
    assert [line for line in err.splitlines() if line.strip()] == [f"{client}: up to date" for client in CLIENTS]
    assert config.read_text() == after


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{tmp}/backup/notes.git", "{client}"),
        ("backup/{client}.git", "absolute path"),
        ("{tmp}/backup/{client}/../shared.git", "last part of the path"),
        ("{tmp}/backup/{client}/notes.git", "last part of the path"),
    ],
    ids=["without-client", "relative-path", "dot-dot", "client-not-last"],
)
def test_add_backup_refuses_a_bad_template(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str, why: str
) -> None:
    config = practice / "ipt-notes.yaml"
    before = config.read_bytes()
    listing = sorted(p.name for p in practice.iterdir())

    code, out, err = cli(practice, "add-backup", template.replace("{tmp}", str(tmp_path)), monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert why in err
    assert config.read_bytes() == before
    assert sorted(p.name for p in practice.iterdir()) == listing
    assert not (tmp_path / "backup").exists()
    for client in CLIENTS:
        assert git(practice / "clients" / client, "remote").strip() == ""


def test_push_sends_only_what_is_new(backed: tuple[Path, Path]) -> None:
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    new = commit_edit(repo, "client.yaml", "referral_source: null", "referral_source: GP")
    others = {client: head(practice / "clients" / client) for client in ("C-0001", "C-0002")}

    done = script("push", cwd=practice)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"C-0001 {others['C-0001']}",
        f"C-0002 {others['C-0002']}",
        f"C-0042 {new}",
    ]
    assert "C-0042: pushed 1 new commit" in done.stderr.splitlines()
    assert "C-0001: up to date" in done.stderr.splitlines()
    assert "C-0002: up to date" in done.stderr.splitlines()
    assert backup_head(backups / "C-0042.git") == new

    # One client by name: only that one is pushed and reported.
    newer = commit_edit(repo, "client.yaml", "referral_source: GP", "referral_source: Self")
    done = script("push", "C-0042", cwd=practice)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"C-0042 {newer}\n"
    assert [line for line in done.stderr.splitlines() if line.strip()] == ["C-0042: pushed 1 new commit"]
    assert backup_head(backups / "C-0042.git") == newer


def test_push_refuses_a_rewritten_history_and_verify_remote_shows_where(
    backed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    witnessed = head(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    rewritten = commit_edit(repo, "client.yaml", "referral_source: null", "referral_source: GP", "rewritten")
    moved = commit_edit(
        practice / "clients" / "C-0002", "client.yaml", "session_minutes: 45", "session_minutes: 50", "minutes"
    )

    code, out, err = cli(practice, "push", monkeypatch=monkeypatch)

    assert code == 3
    assert "C-0042" not in out
    assert f"C-0002 {moved}" in out.splitlines()
    assert "C-0002: pushed 1 new commit" in err.splitlines()
    refusal = [line for line in err.splitlines() if "C-0042" in line]
    assert len(refusal) == 1
    assert "rewritten" in refusal[0]
    assert backup_head(backups / "C-0042.git") == witnessed
    assert backup_head(backups / "C-0002.git") == moved
    assert head(repo) == rewritten

    code, out, err = cli(practice, "verify", "--remote", "--format", "json", monkeypatch=monkeypatch)
    assert code == 1, err
    problems = json.loads(out)
    assert problems
    assert {problem["rule"] for problem in problems} == {"verify-remote", "verify-history-rewritten"}
    assert all("C-0042" in problem["path"] for problem in problems)


def test_the_backup_refuses_a_force_push_and_a_branch_deletion(backed: tuple[Path, Path]) -> None:
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    backup = backups / "C-0042.git"
    witnessed = head(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    commit_edit(repo, "client.yaml", "referral_source: null", "referral_source: GP", "rewritten")

    forced = run_git(repo, "push", "--force", "backup", "main")
    assert forced.returncode != 0
    assert backup_head(backup) == witnessed

    deleted = run_git(repo, "push", "backup", ":main")
    assert deleted.returncode != 0
    assert backup_head(backup) == witnessed


def test_push_to_a_client_without_a_backup_names_the_client(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(practice, "push", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert "C-0042" in err
    assert "backup" in err
    assert "Traceback" not in err


def test_push_to_a_vanished_backup_says_so_for_each_client(
    backed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, backups = backed
    shutil.rmtree(backups)

    code, out, err = cli(practice, "push", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert "Traceback" not in err
    assert "fatal:" not in err
    failures = [line for line in err.splitlines() if line.startswith("ipt-notes:")]
    assert len(failures) == len(CLIENTS)
    assert all("backup" in line for line in failures)
    # Each failure says which client it is about, as every other push outcome does.
    for client in CLIENTS:
        assert any(client in line for line in failures), (client, failures)
    assert not backups.exists()


def test_a_clone_of_a_backup_checks_out_the_clients_branch(backed: tuple[Path, Path], tmp_path: Path) -> None:
    """A supervisor clones one client's backup: the clone has the client's notes checked out."""
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    clone = tmp_path / "supervisor"

    git(tmp_path, "clone", "-q", str(backups / "C-0042.git"), str(clone))

    assert (clone / "client.yaml").is_file(), "the clone has nothing checked out"
    assert head(clone) == head(repo)
    assert (clone / "client.yaml").read_bytes() == (repo / "client.yaml").read_bytes()
    assert git(clone, "status", "--porcelain").strip() == ""


def test_pull_brings_in_a_supervisors_cosignature(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipt_notes.commands.backup import add_backup

    practice = signed_practice
    repo = practice / "clients" / "C-0042"
    client_yaml = repo / "client.yaml"
    text = client_yaml.read_text()
    assert "supervisor:" not in text
    client_yaml.write_text(text.replace("course_status: active", f"course_status: active\nsupervisor: {SUPERVISOR}"))
    git(repo, "commit", "-q", "--no-verify", "-am", "supervisor")
    backups = tmp_path / "backup"
    add_backup(practice, f"{backups}/{{client}}.git")

    # The supervisor works in a clone of the backup, as the supervisor's own git identity.
    clone = tmp_path / "supervisor"
    git(tmp_path, "clone", "-q", "--branch", "main", str(backups / "C-0042.git"), str(clone))
    supervisor_env = {
        "GIT_AUTHOR_NAME": SUPERVISOR_NAME,
        "GIT_AUTHOR_EMAIL": SUPERVISOR_EMAIL,
        "GIT_COMMITTER_NAME": SUPERVISOR_NAME,
        "GIT_COMMITTER_EMAIL": SUPERVISOR_EMAIL,
    }
    cosigned = script("cosign", "sessions/01.md", cwd=clone, env=supervisor_env)
    assert cosigned.returncode == 0, cosigned.stderr
    git(clone, "push", "-q", "origin", "main")
    theirs = head(clone)
    ours = head(repo)

    code, out, err = cli(practice, "pull", "C-0042", monkeypatch=monkeypatch)

    assert code == 0, err
    assert out == f"C-0042 {theirs}\n"
    assert "C-0042: pulled 1 new commit" in err.splitlines()
    assert head(repo) == theirs
    assert git(repo, "rev-parse", "HEAD~1").strip() == ours
    assert f"cosigned_by: {SUPERVISOR}" in (repo / "sessions" / "01.cosignature.yaml").read_text().replace('"', "")
    code, out, err = cli(practice, "log", "C-0042", "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, err
    entries = json.loads(out)
    assert entries[0]["action"] == "cosign C-0042 1"
    assert entries[0]["author"] == SUPERVISOR
    assert all(entry["author"] == IDENTITY for entry in entries[1:])
    assert CANARY not in out

    # Nothing new: up to date, at the same commit.
    code, out, err = cli(practice, "pull", "C-0042", monkeypatch=monkeypatch)
    assert code == 0, err
    assert out == f"C-0042 {theirs}\n"
    assert "C-0042: up to date" in err.splitlines()
    assert head(repo) == theirs


def test_push_behind_the_backup_says_to_pull_not_that_history_was_rewritten(
    backed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A supervisor pushed to the backup and the clinician pushes before pulling: nothing was rewritten."""
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    ours = head(repo)
    other = tmp_path / "supervisor"
    git(tmp_path, "clone", "-q", "--branch", "main", str(backups / "C-0042.git"), str(other))
    theirs = commit_edit(other, "client.yaml", "referral_source: null", "referral_source: GP", "there")
    git(other, "push", "-q", "origin", "main")

    code, out, err = cli(practice, "push", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert backup_head(backups / "C-0042.git") == theirs
    assert head(repo) == ours
    assert "C-0042" in err
    assert "pull" in err
    assert "rewritten" not in err


def test_pull_refuses_when_both_sides_moved_on(
    backed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, backups = backed
    repo = practice / "clients" / "C-0042"
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "--branch", "main", str(backups / "C-0042.git"), str(other))
    theirs = commit_edit(other, "client.yaml", "referral_source: null", "referral_source: GP", "there")
    git(other, "push", "-q", "origin", "main")
    ours = commit_edit(repo, "client.yaml", "referral_source: null", "referral_source: Self", "here")
    tree = (repo / "client.yaml").read_bytes()
    subjects = commits(repo)

    code, out, err = cli(practice, "pull", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert "C-0042" in err
    assert "moved on" in err
    assert head(repo) == ours
    assert commits(repo) == subjects
    assert (repo / "client.yaml").read_bytes() == tree
    assert git(repo, "status", "--porcelain").strip() == ""
    assert backup_head(backups / "C-0042.git") == theirs


def test_push_refuses_a_rewrite_pushed_under_another_branch_name(
    backed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, backups = backed
    client = practice / "clients" / "C-0042"
    pushed = backup_head(backups / "C-0042.git")
    git(client, "commit", "-q", "--amend", "--no-verify", "-m", "new-session C-0042 1")
    git(client, "branch", "-m", "main", "master")

    code, out, err = cli(practice, "push", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    assert "the history was rewritten here" in err
    assert run_git(backups / "C-0042.git", "--git-dir", ".", "branch", "--format=%(refname:short)").stdout.split() == [
        "main"
    ]
    assert backup_head(backups / "C-0042.git") == pushed


def test_a_template_that_cannot_be_made_is_not_kept(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    config = practice / "ipt-notes.yaml"
    before = config.read_bytes()

    code, out, err = cli(practice, "add-backup", f"{tmp_path}/a-file/{{client}}.git", monkeypatch=monkeypatch)

    assert (code, out) == (3, "")
    failures = [line for line in err.splitlines() if line.startswith("ipt-notes: ")]
    assert [line.split()[1] for line in failures] == ["C-0001:", "C-0002:", "C-0042:"]
    assert all("the backup repository could not be created" in line for line in failures)
    assert config.read_bytes() == before


def test_a_new_client_that_cannot_be_backed_up_is_created_and_says_so(
    backed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, backups = backed
    backups.rename(backups.with_name("moved"))
    backups.write_text("")  # a file where the backup folder was: no repository can be made there
    code, out, err = cli(practice, "new-client", "C-0043", monkeypatch=monkeypatch)
    assert code == 3
    assert "clients/C-0043/client.yaml" in out.splitlines()
    assert "C-0043 was created, but not backed up" in err
    assert "ipt-notes push C-0043" in err
    assert commits(practice / "clients" / "C-0043") == ["new-client C-0043"]
    code, out, _ = cli(practice, "push", "C-0043", monkeypatch=monkeypatch)
    assert code == 3

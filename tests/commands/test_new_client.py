"""`ipt-notes new-client`: each client a git repository of its own, made whole or not at all."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ipt_notes.client_repository import BACKUP_SETTINGS, GIT_SETTINGS
from ipt_notes.commands.init import init_practice
from tests.helpers import CANARY, GIT_ENV, cli, commits, fields, git, mode

SCAFFOLD = [".gitattributes", ".gitignore", "client.yaml", "course-settings.yaml", "formulation.md", "inventory.yaml"]
IDENTITY_VARIABLES = [key for key in GIT_ENV if key.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))]


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A practice with no client yet."""
    return init_practice(tmp_path / "practice").root


def edit_settings(practice: Path, *replacements: tuple[str, str]) -> None:
    """Change ipt-notes.yaml as a clinician would, by regular expressions on its lines."""
    settings = practice / "ipt-notes.yaml"
    text = settings.read_text()
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        assert count == 1, pattern
    settings.write_text(text)


def leftovers(practice: Path) -> list[str]:
    """What a failed new-client could leave behind: a client folder, or its temporary building folder."""
    clients = sorted(p.name for p in (practice / "clients").iterdir())
    temporary = sorted(p.name for p in practice.iterdir() if p.name.startswith(".new-client-"))
    return clients + temporary


def test_new_client_is_a_private_repository_of_its_own_with_one_commit(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(
        fresh, "new-client", "C-0042", "--sessions", "12", "--start", "2026-01-05", monkeypatch=monkeypatch
    )
    assert code == 0, err
    client = fresh / "clients" / "C-0042"
    assert sorted(out.splitlines()) == [f"clients/C-0042/{name}" for name in SCAFFOLD]
    # Its own repository: the client folder is the top of its work tree, and the practice is no repository.
    assert git(client, "rev-parse", "--show-toplevel").strip() == str(client.resolve())
    outside = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=fresh, capture_output=True, text=True)
    assert outside.returncode != 0
    assert git(client, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert commits(client) == ["new-client C-0042"]
    assert sorted(git(client, "show", "--name-only", "--format=", "HEAD").split()) == SCAFFOLD
    assert git(client, "status", "--porcelain", "--ignored") == ""
    for key, value in GIT_SETTINGS.items():
        assert git(client, "config", "--local", "--get", key).strip() == value, key
    hook = client / ".git" / "hooks" / "pre-commit"
    assert mode(hook) == 0o700
    assert "validate --staged" in hook.read_text()
    # Every file 0600 and every folder 0700; nothing in the repository is open to others.
    for path in [client, *client.rglob("*")]:
        if ".git" in path.relative_to(client).parts:
            assert mode(path) & 0o077 == 0, path
        else:
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert sorted(p.name for p in client.iterdir()) == sorted([".git", "sessions", *SCAFFOLD])
    assert list((client / "sessions").iterdir()) == []
    contract = fields(client / "client.yaml")
    assert (contract["client"], contract["start_date"]) == ("C-0042", "2026-01-05")
    assert isinstance(contract["contract"], dict)
    assert contract["contract"]["sessions_planned"] == 12
    assert fields(client / "formulation.md")["client"] == "C-0042"
    assert "* -text" in (client / ".gitattributes").read_text().splitlines()
    assert git(client, "check-ignore", "private/process.md").strip() == "private/process.md"
    assert leftovers(fresh) == ["C-0042"]
    code, _, err = cli(client, "validate", monkeypatch=monkeypatch)
    assert code == 0, err


def test_the_course_settings_record_the_practice_settings(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_settings(
        fresh,
        (r"^# clinician: .*$", f"clinician: {CANARY} <t01@clinic.example>"),
        (r"^default_sessions: .*$", "default_sessions: 12"),
        (r"^time_zone: .*$", "time_zone: Europe/Berlin"),
        (r"^measures: .*$", "measures: [phq9, gad7]"),
        (r"^  initial_sessions: .*$", "  initial_sessions: 2"),
        (r"^rules: .*$", "rules: {measure-cadence: {every: 2}, draft-unsigned: false}"),
    )
    code, out, err = cli(fresh, "new-client", "C-0042", "--start", "2026-01-05", monkeypatch=monkeypatch)
    assert code == 0, err
    client = fresh / "clients" / "C-0042"
    assert fields(client / "course-settings.yaml") == {
        "version": 1,
        "time_zone": "Europe/Berlin",
        "measures": ["phq9", "gad7"],
        "phases": {"initial_sessions": 2, "termination_sessions": 3},
        "rules": {"measure-cadence": {"every": 2}, "draft-unsigned": False},
    }
    contract = fields(client / "client.yaml")
    assert contract["measures"] == ["phq9", "gad7"]
    assert isinstance(contract["contract"], dict)
    assert contract["contract"]["sessions_planned"] == 12
    # Nothing of the settings' content (here the clinician's name) goes into a message or a commit.
    assert CANARY not in out + err
    assert CANARY not in git(client, "log", "--format=%an %ae %cn %ce %B")
    code, out, err = cli(fresh, "validate", "clients/C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (0, ""), err
    # A later change of the practice's settings leaves the client's record as it was.
    recorded = (client / "course-settings.yaml").read_bytes()
    edit_settings(fresh, (r"^measures: .*$", "measures: [phq9]"))
    assert (client / "course-settings.yaml").read_bytes() == recorded


@pytest.mark.parametrize(
    "unsafe",
    ["", "../x", "a/b", ".hidden", "x" * 41, "with space", "é", "-lead", "_lead", "C-1;rm", "C\n42", "C-0042/", ".."],
)
def test_unsafe_ids_are_refused_and_nothing_is_created(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, unsafe: str
) -> None:
    before = sorted(p.name for p in fresh.iterdir())
    code, out, err = cli(fresh, "new-client", "--", unsafe, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "refused client ID" in err
    assert leftovers(fresh) == []
    assert sorted(p.name for p in fresh.iterdir()) == before
    assert not (fresh.parent / "x").exists()


def test_an_unsafe_id_is_never_repeated_in_a_message(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clinician who types a real name instead of a code must not see it echoed into a log.
    for unsafe in (f"{CANARY} Smith", f"{CANARY}/x", f"{CANARY}{'x' * 40}"):
        code, out, err = cli(fresh, "new-client", unsafe, monkeypatch=monkeypatch)
        assert code == 2
        assert CANARY not in out + err
    assert leftovers(fresh) == []


def test_an_id_that_differs_only_in_case_or_exists_is_refused(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / "clients" / "C-0042"
    history = commits(client)
    code, out, err = cli(practice, "new-client", "c-0042", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "differs only in case" in err
    code, out, err = cli(practice, "new-client", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "already exists" in err
    assert leftovers(practice) == ["C-0001", "C-0002", "C-0042"]
    assert commits(client) == history
    assert git(client, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--sessions", "0", "from 1 to 60"),
        ("--sessions", "61", "from 1 to 60"),
        ("--sessions", "many", "'many' is not a valid integer"),
        ("--start", "2026-02-30", "YYYY-MM-DD"),
        ("--start", "05/01/2026", "YYYY-MM-DD"),
        ("--start", "2026-1-5", "YYYY-MM-DD"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_created(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str, message: str
) -> None:
    code, out, err = cli(fresh, "new-client", "C-0001", option, value, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert message in err
    assert leftovers(fresh) == []


def test_a_missing_identity_is_refused_and_leaves_nothing(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [*IDENTITY_VARIABLES, "EMAIL"]:
        monkeypatch.delenv(key, raising=False)
    code, out, err = cli(fresh, "new-client", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "no author identity" in err
    assert leftovers(fresh) == []


def test_settings_with_problems_are_reported_without_their_content(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit_settings(fresh, (r"^default_sessions: .*$", f"default_sessions: {CANARY}"))
    code, out, err = cli(fresh, "new-client", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert re.search(r"^ipt-notes\.yaml:\d+:\d+: error \[schema-type\]", err, flags=re.MULTILINE), err
    assert CANARY not in out + err
    assert leftovers(fresh) == []


def test_a_practice_with_a_backup_gives_each_new_client_a_backup_holding_its_commit(
    fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = f"{tmp_path}/backup/{{client}}.git"
    settings = fresh / "ipt-notes.yaml"
    settings.write_text(settings.read_text() + f'backup: "{template}"\n')
    # From outside the practice, with --root: the paths printed are relative to where it ran.
    code, out, err = cli(tmp_path, "new-client", "C-0042", "--root", str(fresh), monkeypatch=monkeypatch)
    assert code == 0, err
    assert "practice/clients/C-0042/client.yaml" in out.splitlines()
    assert "C-0042: backup" in err
    client = fresh / "clients" / "C-0042"
    backup = tmp_path / "backup" / "C-0042.git"
    head = git(client, "rev-parse", "HEAD").strip()
    assert git(tmp_path, "--git-dir", str(backup), "rev-parse", "main").strip() == head
    assert git(client, "remote", "get-url", "backup").strip() == str(backup)
    assert git(tmp_path, "--git-dir", str(backup), "rev-parse", "--is-bare-repository").strip() == "true"
    for key, value in BACKUP_SETTINGS.items():
        assert git(tmp_path, "--git-dir", str(backup), "config", "--get", key).strip() == value, key


def test_outside_a_practice_new_client_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(tmp_path, "new-client", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "not in a practice" in err
    assert list(tmp_path.iterdir()) == []

"""Each client's repository stands on its own: a plain clone of it, anywhere, checks the same as the practice.

Validation reads the settings recorded with the client (course-settings.yaml), never the
practice's ipt-notes.yaml, so `validate` and `verify` give the same problems inside the practice
and in a clone of one client's repository in an unrelated folder. Each repository has its own
hook, which refuses a process note.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from ipt_notes.client_repository import HOOK_MARKER
from tests.conftest import NOTE, SESSION_DATE
from tests.helpers import CANARY, cli, commits, git

CLIENTS = ("C-0001", "C-0002", "C-0042")

Findings = tuple[int, list[dict[str, object]], int, list[dict[str, object]]]


def findings(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Findings:
    """`validate` and `verify` of the client whose folder (or clone) is `folder`, run from inside it."""
    checked, out, err = cli(folder, "validate", "--format", "json", monkeypatch=monkeypatch)
    assert checked in (0, 1), err
    assert CANARY not in out + err
    validated = json.loads(out)
    verified_code, out, err = cli(folder, "verify", "--format", "json", monkeypatch=monkeypatch)
    assert verified_code in (0, 1), err
    assert CANARY not in out + err
    return checked, validated, verified_code, json.loads(out)


def plain_clone(repo: Path, tmp_path: Path) -> Path:
    """A plain `git clone` of one client's repository in a folder unrelated to the practice."""
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    clone = elsewhere / "clone"
    git(elsewhere, "clone", "-q", str(repo), str(clone))
    assert not any((parent / "ipt-notes.yaml").exists() for parent in clone.parents)
    return clone


def test_each_client_is_a_repository_of_its_own(practice: Path) -> None:
    assert subprocess.run(["git", "rev-parse"], cwd=practice, capture_output=True, check=False).returncode != 0
    roots = set()
    for client in CLIENTS:
        folder = practice / "clients" / client
        assert Path(git(folder / ".", "rev-parse", "--show-toplevel").strip()) == folder.resolve()
        assert Path(git(folder, "rev-parse", "--absolute-git-dir").strip()) == (folder / ".git").resolve()
        assert HOOK_MARKER in (folder / ".git" / "hooks" / "pre-commit").read_text()
        assert git(folder, "ls-files", "course-settings.yaml").strip() == "course-settings.yaml"
        assert commits(folder)
        roots.add(git(folder, "rev-list", "--max-parents=0", "HEAD").strip())
    assert len(roots) == len(CLIENTS)
    sessions = practice / "clients" / "C-0001" / "sessions"
    assert Path(git(sessions, "rev-parse", "--show-toplevel").strip()) == sessions.parent.resolve()


def test_a_clean_client_checks_the_same_inside_the_practice_and_in_a_clone(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = practice / "clients" / "C-0001"
    clone = plain_clone(folder, tmp_path)

    inside = findings(folder, monkeypatch)
    outside = findings(clone, monkeypatch)

    assert inside == (0, [], 0, [])
    assert outside == inside


def test_a_broken_client_checks_the_same_inside_the_practice_and_in_a_clone(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = signed_practice / "clients" / "C-0042"
    signed = signed_practice / NOTE
    draft = git(folder, "show", "HEAD~2:sessions/01.md")  # note 1 before it was signed
    assert "status: draft" in draft
    # A signed note changed after signing, a second note whose number differs from its file name (a
    # course rule), and a schema error in the inventory.
    signed.write_text(signed.read_text().replace(CANARY, "changed after signing"))
    second = draft.replace("session: 1", "session: 3", 1).replace(
        f"date: {SESSION_DATE}", f"date: {dt.date.fromisoformat(SESSION_DATE) + dt.timedelta(days=1)}", 1
    )
    (folder / "sessions" / "02.md").write_text(second)
    inventory = folder / "inventory.yaml"
    inventory.write_text(inventory.read_text().replace("people: []", "people: none", 1))
    git(folder, "add", "sessions", "inventory.yaml")
    git(folder, "commit", "-q", "--no-verify", "-m", "by hand")
    clone = plain_clone(folder, tmp_path)

    inside = findings(folder, monkeypatch)
    outside = findings(clone, monkeypatch)

    checked, validated, verified_code, verified = inside
    assert (checked, verified_code) == (1, 1)
    rules = {problem["rule"] for problem in validated}
    assert {"signed-note-changed", "schema-type", "session-sequence"} <= rules
    assert {problem["path"] for problem in validated} >= {"sessions/01.md", "sessions/02.md", "inventory.yaml"}
    assert "verify-signed-changed" in {problem["rule"] for problem in verified}
    assert outside == inside


def test_a_clone_validates_by_the_clients_recorded_settings(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = practice / "clients" / "C-0001"
    clone = plain_clone(folder, tmp_path)
    config = practice / "ipt-notes.yaml"
    config.write_text(config.read_text().replace("rules: {} ", "rules: {measure-cadence: {every: 1}} ", 1))

    inside = findings(folder, monkeypatch)
    outside = findings(clone, monkeypatch)

    assert inside == outside == (0, [], 0, [])
    # The option would matter if it were recorded for the client: C-0001 does not score every session.
    settings = clone / "course-settings.yaml"
    settings.write_text(settings.read_text().replace("every: 4", "every: 1"))
    code, out, _ = cli(clone, "validate", "--format", "json", monkeypatch=monkeypatch)
    assert code == 0
    assert "measure-cadence" in {problem["rule"] for problem in json.loads(out)}


def test_the_hook_refuses_a_process_note_committed_by_hand(practice: Path) -> None:
    folder = practice / "clients" / "C-0042"
    (folder / "private").mkdir()
    (folder / "private" / "n.md").write_text(f"process note {CANARY}\n")
    subjects = commits(folder)
    git(folder, "add", "-f", "private/n.md")

    done = subprocess.run(
        ["git", "commit", "-m", "process note"], cwd=folder, capture_output=True, text=True, check=False
    )

    assert done.returncode != 0
    assert "private/" in done.stdout + done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert commits(folder) == subjects
    assert "private/n.md" not in git(folder, "ls-tree", "-r", "--name-only", "HEAD").split()


def test_verify_refuses_a_shallow_clone(practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{practice / 'clients' / 'C-0001'}", str(shallow))
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "true"

    code, out, err = cli(shallow, "verify", monkeypatch=monkeypatch)

    assert (code, out) == (3, ""), err
    assert "shallow" in err


def test_a_clone_made_with_autocrlf_keeps_every_signed_note_byte_for_byte(
    signed_practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Git for Windows clones with core.autocrlf=true; the client's .gitattributes turns it off.
    folder = signed_practice / "clients" / "C-0042"
    clone = tmp_path / "windows"
    git(tmp_path, "-c", "core.autocrlf=true", "clone", "-q", "-c", "core.autocrlf=true", str(folder), str(clone))
    assert (clone / "sessions" / "01.md").read_bytes() == (folder / "sessions" / "01.md").read_bytes()
    assert git(clone, "status", "--porcelain") == ""
    code, out, err = cli(clone, "validate", monkeypatch=monkeypatch)
    assert code == 0, out + err
    code, out, err = cli(clone, "verify", ".", monkeypatch=monkeypatch)
    assert code == 0, out + err

"""`ipt-notes apply-settings`: a practice change reaches a client only here, checked, and committed.

Each client's validation reads its own course-settings.yaml; editing ipt-notes.yaml changes no
client until apply-settings records the practice's settings in it, one commit per client, after
checking the client's whole record under them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ipt_notes.settings import course_settings_text, load_practice_settings
from tests.helpers import CANARY, cli, commits, git, script

CLIENTS = ("C-0001", "C-0002", "C-0042")
SETTINGS = "course-settings.yaml"


def edit_practice(practice: Path, old: str, new: str) -> None:
    config = practice / "ipt-notes.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))


def more_measures(practice: Path) -> None:
    edit_practice(practice, "measures: [phq9] ", "measures: [phq9, gad7] ")
    edit_practice(practice, "rules: {} ", "rules: {measure-cadence: {every: 6}} ")


def recorded(practice: Path, client: str) -> dict[str, object]:
    data = yaml.safe_load((practice / "clients" / client / SETTINGS).read_text())
    assert isinstance(data, dict)
    return data


def snapshot(practice: Path) -> dict[str, tuple[bytes, list[str]]]:
    """Each client's settings file and commit subjects."""
    return {c: ((practice / "clients" / c / SETTINGS).read_bytes(), commits(practice / "clients" / c)) for c in CLIENTS}


def test_apply_settings_records_the_practices_settings_in_one_client(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    more_measures(practice)
    before = snapshot(practice)
    repo = practice / "clients" / "C-0042"

    code, out, err = cli(practice, "apply-settings", "C-0042", monkeypatch=monkeypatch)

    assert code == 0, err
    assert out == f"clients/C-0042/{SETTINGS}\n"
    data = recorded(practice, "C-0042")
    assert data["measures"] == ["phq9", "gad7"]
    assert data["rules"] == {"measure-cadence": {"every": 6}}
    assert commits(repo) == ["apply-settings C-0042", *before["C-0042"][1]]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [SETTINGS]
    assert git(repo, "status", "--porcelain") == ""
    after = snapshot(practice)
    assert {c: after[c] for c in ("C-0001", "C-0002")} == {c: before[c] for c in ("C-0001", "C-0002")}
    assert CANARY not in out + err

    # Again: nothing to record, no commit.
    applied = after["C-0042"]
    code, out, err = cli(practice, "apply-settings", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (0, ""), err
    assert "C-0042: already up to date" in err
    assert snapshot(practice)["C-0042"] == applied


def test_apply_settings_all_updates_every_client_that_differs(practice: Path) -> None:
    more_measures(practice)
    # C-0001 holds the practice's settings already (recorded by hand here, to save a hooked commit).
    repo = practice / "clients" / "C-0001"
    (repo / SETTINGS).write_text(course_settings_text(load_practice_settings(practice).course))
    git(repo, "commit", "-q", "--no-verify", "-am", "settings by hand")
    before = snapshot(practice)

    done = script("apply-settings", "--all", cwd=practice)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"clients/C-0002/{SETTINGS}", f"clients/C-0042/{SETTINGS}"]
    assert "C-0001: already up to date" in done.stderr
    after = snapshot(practice)
    assert after["C-0001"] == before["C-0001"]
    for client in ("C-0002", "C-0042"):
        assert after[client][1] == [f"apply-settings {client}", *before[client][1]]
        data = recorded(practice, client)
        assert data["measures"] == ["phq9", "gad7"]
        assert data["rules"] == {"measure-cadence": {"every": 6}}
        assert git(practice / "clients" / client, "status", "--porcelain") == ""


def test_apply_settings_from_the_practice_needs_clients_named(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    more_measures(practice)
    before = snapshot(practice)

    code, out, err = cli(practice, "apply-settings", monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "--all" in err
    assert snapshot(practice) == before


def test_apply_settings_refuses_a_change_that_makes_a_record_invalid(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C-0001's sessions 2 and 3 are initial-phase notes: with one initial session they would be errors.
    edit_practice(practice, "initial_sessions: 3 ", "initial_sessions: 1 ")
    before = snapshot(practice)

    code, out, err = cli(practice, "apply-settings", "C-0001", monkeypatch=monkeypatch)

    assert (code, out) == (1, "")
    problems = [line for line in err.splitlines() if "[phase-matches-session]" in line]
    assert [line.split(":")[0] for line in problems] == [
        "clients/C-0001/sessions/02.md",
        "clients/C-0001/sessions/03.md",
    ]
    assert all(" error " in line for line in problems)
    assert "C-0001" in err.splitlines()[-1]
    assert snapshot(practice) == before
    assert git(practice / "clients" / "C-0001", "status", "--porcelain") == ""


def test_a_refused_client_does_not_stop_the_others(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_practice(practice, "initial_sessions: 3 ", "initial_sessions: 1 ")

    code, out, err = cli(practice, "apply-settings", "C-0001", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (1, "clients/C-0042/course-settings.yaml\n")
    assert "C-0001: refused, nothing changed" in err
    assert "C-0042: settings recorded" in err
    assert commits(practice / "clients" / "C-0042")[0] == "apply-settings C-0042"
    assert commits(practice / "clients" / "C-0001")[0] == "addenda"


def test_apply_settings_keeps_the_clients_signed_commits_since(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = practice / "clients" / "C-0042"
    first = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    settings = repo / SETTINGS
    settings.write_text(settings.read_text() + f"verify:\n  signed_commits_since: {first}\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "signed commits from the start")
    more_measures(practice)

    code, out, err = cli(practice, "apply-settings", "C-0042", monkeypatch=monkeypatch)

    assert code == 0, err
    assert out == f"clients/C-0042/{SETTINGS}\n"
    data = recorded(practice, "C-0042")
    assert data["measures"] == ["phq9", "gad7"]
    assert data["verify"] == {"signed_commits_since": first}
    assert commits(repo)[0] == "apply-settings C-0042"


def test_apply_settings_all_means_every_client_even_inside_one(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    more_measures(practice)
    code, out, _ = cli(practice / "clients" / "C-0042", "apply-settings", "--all", monkeypatch=monkeypatch)
    assert code == 0
    assert len(out.splitlines()) == 3

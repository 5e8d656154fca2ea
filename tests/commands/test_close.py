"""`ipt-notes close`: the course closed in client.yaml, the review scaffolded from the record, one commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipt_notes.cli import app
from ipt_notes.commands.close import close_course
from ipt_notes.commands.sign import sign_notes
from tests.conftest import SESSION_DATE
from tests.helpers import CANARY, commits, copy_tree, fields, git, head, mode, script

RUNNER = CliRunner()


def run(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = RUNNER.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_close_records_the_end_and_scaffolds_a_valid_draft_review(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_practice / "clients" / "C-0042"
    addendum = client / "sessions" / "01.addendum-1.md"
    addendum.write_text(
        addendum.read_text().replace("reason: null", "reason: Typing error.").replace("author: null", "author: T")
    )
    before = (client / "client.yaml").read_text()
    code, out, err = run(
        signed_practice, "close", "C-0042", "--reason", "dropout", "--date", SESSION_DATE, monkeypatch=monkeypatch
    )
    assert code == 1 or code == 2, err
    assert "sessions/01.addendum-1.md" in err and "not signed" in err
    assert (client / "client.yaml").read_text() == before, "a refused close writes nothing"
    assert not (client / "review.md").exists()

    sign_notes(signed_practice, [addendum])
    count = len(commits(client))
    code, out, err = run(
        signed_practice, "close", "C-0042", "--reason", "dropout", "--date", SESSION_DATE, monkeypatch=monkeypatch
    )
    assert code == 0, err
    review = client / "review.md"
    assert out.strip() == os.path.relpath(review, signed_practice)
    assert len(commits(client)) == count + 1
    assert git(client, "log", "-1", "--format=%s").strip() == "close C-0042"
    assert git(client, "status", "--porcelain").strip() == ""
    data = fields(client / "client.yaml")
    assert (data["course_status"], data["end_date"], data["close_reason"]) == ("closed", SESSION_DATE, "dropout")
    after = (client / "client.yaml").read_text()
    # Only the close lines changed; every comment the clinician kept is still there.
    assert [line for line in before.splitlines() if line not in after.splitlines()] == [
        line for line in before.splitlines() if line.startswith("course_status:")
    ]
    assert "# active | closed" in after
    scaffold = fields(review)
    assert scaffold["status"] == "draft" and scaffold["client"] == "C-0042" and scaffold["date"] == SESSION_DATE
    assert mode(review) == 0o600
    text = review.read_text()
    assert "1 attended, 0 cancelled, 0 missed, of 16 contracted" in text
    assert CANARY not in text, "the review takes fields, never the homework text of a note"

    # The record with its draft review is valid, and the hook took the commit.
    code, out, err = run(signed_practice, "validate", "clients/C-0042", monkeypatch=monkeypatch)
    assert code == 0, err

    # A second close is refused, and changes nothing.
    tip = head(client)
    code, _, err = run(signed_practice, "close", "C-0042", monkeypatch=monkeypatch)
    assert code == 2 and "closed already" in err
    assert head(client) == tip


def test_a_closed_course_takes_a_session_only_as_maintenance(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_practice / "clients" / "C-0042"
    (client / "sessions" / "01.addendum-1.md").unlink()
    git(client, "commit", "-qam", "drop the addendum draft")
    close_course(signed_practice, "C-0042", reason="dropout", date=SESSION_DATE)
    code, _, err = run(signed_practice, "new-session", "C-0042", "--date", SESSION_DATE, monkeypatch=monkeypatch)
    assert code == 2 and "closed" in err and "--maintenance" in err
    assert not (client / "sessions" / "02.md").exists()
    code, _out, err = run(
        signed_practice, "new-session", "C-0042", "--date", SESSION_DATE, "--maintenance", monkeypatch=monkeypatch
    )
    assert code == 0, err
    assert (client / "sessions" / "02.md").exists()


def test_the_review_is_prefilled_from_the_formulation_and_the_termination_notes(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / "clients" / "C-0001"
    # Reopen the example's closed course, without its review, as it was before it ended.
    (client / "review.md").unlink()
    yaml = (client / "client.yaml").read_text()
    (client / "client.yaml").write_text(yaml.replace("course_status: closed", "course_status: active"))
    git(client, "commit", "-qam", "reopen", "--no-verify")  # as it was before it ended
    review = close_course(practice, "C-0001", date="2025-04-12")
    data = fields(review)
    areas = data["problem_areas"]
    assert isinstance(areas, list) and areas[0]["area"] == "interpersonal_deficits"
    assert len(areas[0]["goals"]) == 3 and all(goal["outcome"] is None for goal in areas[0]["goals"])
    assert data["maintenance"]["decision"] == "no_maintenance"
    assert "Waking early with worry" in data["relapse_warning_signs"]
    assert isinstance(data["attribution"], str) and data["attribution"]
    assert isinstance(data["presenting_problem"], str)
    text = review.read_text()
    assert "PHQ-9:" in text and "at session 1," in text


def test_close_refuses_bad_input_and_names_the_rule(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / "clients" / "C-0002"
    for args, expected in [
        (["--reason", "bored"], "--reason"),
        (["--date", "2026-02-30"], "--date"),
        (["--date", "tomorrow"], "--date"),
    ]:
        code, _, err = run(practice, "close", "C-0002", *args, monkeypatch=monkeypatch)
        assert code == 2, (args, err)
        assert expected in err
        assert "Traceback" not in err
    assert fields(client / "client.yaml")["course_status"] == "active"

    # A course_status written over several lines is not guessed at.
    yaml = (client / "client.yaml").read_text()
    (client / "client.yaml").write_text(yaml.replace("course_status: active", "course_status:\n  active"))
    git(client, "commit", "-qam", "by hand")
    code, _, err = run(practice, "close", "C-0002", monkeypatch=monkeypatch)
    assert code == 2 and "client.yaml:" in err and "course_status" in err
    assert not (client / "review.md").exists()


@pytest.mark.parametrize("step", ["rename", "git commit"])
def test_an_interrupted_close_finishes_when_run_again(practice: Path, tmp_path: Path, step: str) -> None:
    """Killed after the review is saved (rename) or as it commits, close run again finishes the job."""
    client = practice / "clients" / "C-0002"
    counted = tmp_path / "count"
    probe = copy_tree(practice, tmp_path / "probe")
    assert (
        script(
            "close", "C-0002", "--reason", "referred", cwd=probe, env={"IPT_NOTES_FAULT": f"count:{counted}"}
        ).returncode
        == 0
    )
    names = counted.read_text().splitlines()
    point = 1 + next(index for index, name in enumerate(names) if name.split(" io")[0] == step)
    count = len(commits(client))
    killed = script("close", "C-0002", "--reason", "referred", cwd=practice, env={"IPT_NOTES_FAULT": f"kill:{point}"})
    assert killed.returncode != 0
    again = script("close", "C-0002", "--reason", "referred", cwd=practice)
    assert again.returncode == 0, again.stderr
    assert len(commits(client)) == count + 1
    assert git(client, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert fields(client / "client.yaml")["close_reason"] == "referred"
    assert fields(client / "review.md")["status"] == "draft"

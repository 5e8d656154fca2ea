"""`ipt-notes new-session`: the next note of a client's course, pre-filled, written safely and committed alone."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest

from ipt_notes.commands.init import init_practice
from ipt_notes.loader import read_document
from tests.conftest import NOTE, later
from tests.helpers import CANARY, GIT_ENV, cli, commits, git, mode, script, write_tree

CLIENT = "clients/C-0042"
IDENTITY_VARIABLES = [key for key in GIT_ENV if key.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))]
MINIMAL_TEMPLATE = (
    "---\nclient: $client\nsession: $session\ndate: $date\nphase: $phase\n"
    "attendance: attended\nstatus: draft\n---\n# Our clinic's note, $progress, costs $$0\n"
)


def front(path: Path) -> dict[str, object]:
    data = read_document(path, front_matter=True).data
    assert isinstance(data, dict)
    return data


def session(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run new-session, which must succeed; the path it printed."""
    code, out, err = cli(cwd, "new-session", *args, monkeypatch=monkeypatch)
    assert code == 0, err
    assert CANARY not in out + err
    return out.strip()


def problems(cwd: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """What validate reports for a client, as JSON objects."""
    code, out, err = cli(cwd, "validate", target, "--format", "json", monkeypatch=monkeypatch)
    assert code in (0, 1), err
    found: list[dict[str, object]] = json.loads(out)
    return found


def errors(found: list[dict[str, object]]) -> list[dict[str, object]]:
    return [problem for problem in found if problem["severity"] == "error"]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def commit_by_hand(client: Path, message: str = "by hand") -> None:
    git(client, "add", "-A")
    git(client, "commit", "-q", "--no-verify", "-m", message)


def test_a_whole_course_gets_its_numbers_phases_templates_and_one_commit_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = init_practice(tmp_path / "practice").root
    code, _, err = cli(
        practice, "new-client", "C-0042", "--sessions", "8", "--start", "2026-01-05", monkeypatch=monkeypatch
    )
    assert code == 0, err
    client = practice / CLIENT
    dates = [(dt.date(2026, 1, 5) + dt.timedelta(weeks=week)).isoformat() for week in range(9)]
    printed = []
    for number, date in enumerate(dates, start=1):
        # The client named by ID, by its folder, or left out inside its folder or its sessions/.
        if number == 4:
            printed.append(session(practice, CLIENT, "--date", date, monkeypatch=monkeypatch))
        elif number == 5:
            printed.append(session(client, "--date", date, monkeypatch=monkeypatch))
        elif number == 6:
            printed.append(session(client / "sessions", "--date", date, monkeypatch=monkeypatch))
        else:
            printed.append(session(practice, "C-0042", "--date", date, monkeypatch=monkeypatch))
    expected = [f"{CLIENT}/sessions/{n:02d}.md" for n in range(1, 10)]
    expected[4] = "sessions/05.md"
    expected[5] = "06.md"
    assert printed == expected
    phases = []
    for number, date in enumerate(dates, start=1):
        note = client / "sessions" / f"{number:02d}.md"
        data = front(note)
        assert (data["client"], data["session"], data["date"], data["status"]) == ("C-0042", number, date, "draft")
        assert mode(note) == 0o600
        phase = data["phase"]
        assert isinstance(phase, str)
        phases.append(phase)
        # Each phase's template holds that phase's tasks, all unanswered.
        block = data[phase]
        assert isinstance(block, dict), number
        assert all(value in (None, []) for value in block.values()), number
        assert data["risk"] == {"suicidal_ideation": None}
    assert phases == ["initial"] * 3 + ["middle"] * 2 + ["termination"] * 3 + ["maintenance"]
    sessions = client / "sessions"
    assert "Session 5 of 8, 3 remain" in (sessions / "05.md").read_text()
    assert "Session 8 of 8, 0 remain" in (sessions / "08.md").read_text()
    assert "Session 7 of 8, 1 remains" in (sessions / "07.md").read_text()
    assert "after the 8 planned" in (sessions / "09.md").read_text()
    # One commit per note, holding that note alone.
    log = git(client, "log", "--format=>%s", "--name-only").split(">")[1:]
    assert [entry.split() for entry in log[:9]] == [
        ["new-session", "C-0042", str(n), f"sessions/{n:02d}.md"] for n in range(9, 0, -1)
    ]
    assert commits(client)[9:] == ["new-client C-0042"]
    assert git(client, "status", "--porcelain") == ""
    found = problems(practice, CLIENT, monkeypatch)
    assert errors(found) == []
    assert {problem["rule"] for problem in found} <= {"draft-unsigned"}


def copy_note(source: Path, number: int, date: str) -> None:
    """A note written by hand as a copy of another, renumbered and redated."""
    text = re.sub(r"^session: \d+$", f"session: {number}", source.read_text(), count=1, flags=re.MULTILINE)
    text = re.sub(r"^date: .*$", f"date: {date}", text, count=1, flags=re.MULTILINE)
    (source.parent / f"{number:02d}.md").write_text(text)


def test_the_phase_boundaries_follow_the_course_settings(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    sessions = client / "sessions"
    settings = client / "course-settings.yaml"
    text = re.sub(r"initial_sessions: \d+", "initial_sessions: 2", settings.read_text())
    settings.write_text(re.sub(r"termination_sessions: \d+", "termination_sessions: 4", text))
    contract = client / "client.yaml"
    contract.write_text(contract.read_text().replace("sessions_planned: 16", "sessions_planned: 10"))
    copy_note(practice / NOTE, 1, "2026-01-05")  # the dates below follow it
    copy_note(practice / NOTE, 2, "2026-01-12")
    commit_by_hand(client, "settings")
    session(practice, "C-0042", "--date", "2026-01-19", monkeypatch=monkeypatch)
    for number in (4, 5, 6):
        copy_note(sessions / "03.md", number, f"2026-0{number - 2}-01")
    commit_by_hand(client)
    session(practice, "C-0042", "--date", "2026-08-01", monkeypatch=monkeypatch)
    # With 2 initial and 4 termination sessions, 3 is already middle and 7 already termination.
    assert [front(sessions / f"{n:02d}.md")["phase"] for n in (2, 3, 6, 7)] == [
        "initial",
        "middle",
        "middle",
        "termination",
    ]
    assert commits(client)[:3] == ["new-session C-0042 7", "by hand", "new-session C-0042 3"]
    found = problems(practice, CLIENT, monkeypatch)
    assert [problem for problem in found if problem["rule"] == "phase-matches-session"] == []
    assert errors(found) == []


def test_the_note_is_prefilled_from_the_course(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    (client / "formulation.md").write_text(
        "---\nclient: C-0042\nstatus: agreed\nagreed_on: 2026-01-05\nproblem_areas:\n"
        "  - {area: role_transition, primary: false, goals: [Find a place in the new role.]}\n"
        "  - {area: role_dispute, primary: true, dispute_stage: impasse, goals: [Renegotiate with P.]}\n---\n"
    )
    settings = client / "course-settings.yaml"
    text = re.sub(r"initial_sessions: \d+", "initial_sessions: 1", settings.read_text())
    settings.write_text(text + "rules:\n  measure-cadence:\n    every: 2\n")
    commit_by_hand(client, "formulation agreed")

    second = practice / session(practice, "C-0042", "--date", later(7), monkeypatch=monkeypatch)
    data = front(second)
    assert data["phase"] == "middle"
    assert data["problem_areas"] == ["role_dispute", "role_transition"]
    assert data["dispute_stage"] == "impasse"
    # Note 1 set the homework (the canary): note 2 reviews it.
    assert data["homework"] == {"review": CANARY, "assigned": None}
    assert "no measure is due" in second.read_text()

    homework = f'Talk to P: "{CANARY}" — twice.\n# not a comment\n- not: [a, list]\n  &anchor *alias !tag % @ `\n'
    text = second.read_text().replace("dispute_stage: impasse", "dispute_stage: renegotiation")
    second.write_text(text.replace("  assigned: null", f"  assigned: {json.dumps(homework)}"))
    commit_by_hand(client, "session 2 written")

    third = practice / session(practice, "C-0042", "--date", later(14), monkeypatch=monkeypatch)
    data = front(third)
    assert data["dispute_stage"] == "renegotiation"
    assert data["homework"] == {"review": homework, "assigned": None}
    assert "due: phq9 (last scored at session 1)" in third.read_text()
    assert CANARY in third.read_text()
    assert CANARY not in git(client, "log", "--format=%B")
    assert errors(problems(practice, CLIENT, monkeypatch)) == []


def test_a_practice_template_overrides_the_packaged_one(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(practice, {"templates/session-initial.md": MINIMAL_TEMPLATE})
    note = practice / session(practice, "C-0042", "--date", later(7), monkeypatch=monkeypatch)
    assert note.read_text().endswith("# Our clinic's note, Session 2 of 16, 14 remain, costs $0\n")
    assert commits(practice / CLIENT)[0] == "new-session C-0042 2"


BAD_TEMPLATES = [
    ("---\nclient: $client\n$nonsense\n---\n", 2, "$nonsense, which is not a placeholder"),
    ("costs $5\n" + MINIMAL_TEMPLATE, 2, "write $$ for $"),
    ("---\nclient: $client\nsession: $session\n---\n", 1, "has problems"),
]


def test_a_bad_template_is_refused_and_nothing_is_written(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    history = commits(client)
    for template, expected, message in BAD_TEMPLATES:
        write_tree(practice, {"templates/session-initial.md": template})
        code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
        assert (code, out) == (expected, ""), template
        assert message in err, template
        assert listing(client / "sessions") == ["01.md"], template
    assert commits(client) == history


def test_a_bad_or_earlier_date_is_refused(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for date, message in [
        (later(-1), "comes before the date of session 1"),
        ("2026-02-30", "YYYY-MM-DD"),
        ("05/01/2026", "YYYY-MM-DD"),
        ("2026-1-12", "YYYY-MM-DD"),
    ]:
        code, out, err = cli(practice, "new-session", "C-0042", "--date", date, monkeypatch=monkeypatch)
        assert (code, out) == (2, ""), date
        assert message in err, date
    assert listing(practice / CLIENT / "sessions") == ["01.md"]


def test_the_client_must_be_named_and_known(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for where, named, message in [
        (".", [], "name the client"),
        ("clients", [], "name the client"),
        (".", ["C-0099"], "no client C-0099"),
        (".", ["c-0042"], "no client c-0042"),
        (".", ["../x"], "is not a client folder"),
        (".", ["clients/"], "is not a client folder"),
        ("clients", ["C 42"], "refused client ID"),
    ]:
        code, out, err = cli(practice / where, "new-session", *named, monkeypatch=monkeypatch)
        assert (code, out) == (2, ""), named
        assert message in err, named
    assert listing(practice / CLIENT / "sessions") == ["01.md"]


def test_edit_opens_the_editor_then_checks_the_note(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nsed -i "s/^phase: initial/phase: opening/" "$1"\necho "{CANARY}" >> "$1"\n')
    editor.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    client = practice / CLIENT
    code, out, err = cli(practice, "new-session", "C-0042", "--edit", monkeypatch=monkeypatch)
    assert code == 1
    assert out == f"{CLIENT}/sessions/02.md\n"
    assert f"{CLIENT}/sessions/02.md:5:8: error [schema-enum]" in err
    assert "saved, not committed" in err
    assert CANARY not in out + err
    # The scaffolded note was committed before the editor opened; the edits are the clinician's to commit.
    assert commits(client)[0] == "new-session C-0042 2"
    assert git(client, "status", "--porcelain") == " M sessions/02.md\n"
    assert CANARY in (client / "sessions" / "02.md").read_text()
    monkeypatch.delenv("EDITOR")
    code, out, err = cli(practice, "new-session", "C-0042", "--edit", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "set VISUAL or EDITOR" in err
    assert listing(client / "sessions") == ["01.md", "02.md"]


def test_a_clone_of_a_client_outside_any_practice_takes_new_notes(practice: Path, tmp_path: Path) -> None:
    client = practice / CLIENT
    clone = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "-q", str(client), str(clone)], check=True)
    history = commits(client)
    result = script("new-session", "--date", later(7), cwd=clone)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sessions/02.md\n"
    assert front(clone / "sessions" / "02.md")["session"] == 2
    assert commits(clone) == ["new-session C-0042 2", *history]
    assert git(clone, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/02.md"]
    assert git(clone, "status", "--porcelain") == ""
    assert commits(client) == history
    assert listing(client / "sessions") == ["01.md"]


def test_a_hand_made_entry_at_the_next_number_is_never_overwritten(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only regular files count as notes; whatever else holds the next name is left as it is.
    client = practice / CLIENT
    handmade = client / "sessions" / "02.md"
    mine = tmp_path / "mine.md"
    history = commits(client)
    for kind in ("link to a file", "dangling link", "folder"):
        if kind == "folder":
            write_tree(handmade, {"keep.txt": "my own words\n"})
        else:
            mine.write_text("my own words\n")
            handmade.symlink_to(mine)
            if kind == "dangling link":
                mine.unlink()
        code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
        assert (code, out) == (2, ""), kind
        assert "sessions/02.md is not a regular file" in err, kind
        assert listing(client / "sessions") == ["01.md", "02.md"], kind
        if kind == "folder":
            assert listing(handmade) == ["keep.txt"]
            assert (handmade / "keep.txt").read_text() == "my own words\n"
        else:
            assert handmade.is_symlink()
            assert handmade.readlink() == mine
            assert mine.read_text() == "my own words\n" if kind == "link to a file" else not mine.exists()
            handmade.unlink()
    assert commits(client) == history
    assert git(client, "status", "--porcelain") == "?? sessions/02.md/\n"


def test_an_uncommitted_hand_made_note_leaves_a_gap_that_the_hook_reports(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    handmade = client / "sessions" / "02.md"
    handmade.write_bytes(b"written by hand, not yet committed\n")
    history = commits(client)
    code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    # A note HEAD lacks would leave a gap: nothing is written, and what to do is said.
    assert (code, out) == (2, "")
    assert "sessions/02.md: saved but never committed, so the next note cannot be numbered" in err
    assert handmade.read_bytes() == b"written by hand, not yet committed\n"
    assert listing(client / "sessions") == ["01.md", "02.md"]
    assert commits(client) == history


def test_a_refused_commit_leaves_the_note_and_says_how_to_finish(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    hook = client / ".git" / "hooks" / "pre-commit"
    original = hook.read_text()
    hook.write_text("#!/bin/sh\nexit 1\n")
    history = commits(client)
    code, out, err = cli(practice, "new-session", "C-0042", "--date", later(7), monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "saved, not committed" in err
    assert "a hook may have refused it" in err
    assert f"{CLIENT}/sessions/02.md" in err
    assert front(client / "sessions" / "02.md")["session"] == 2
    assert commits(client) == history
    # Once the hook lets it through, the command the message gives finishes the job from where it ran.
    hook.write_text(original)
    finish = re.search(r"To finish: (.*)$", err, flags=re.MULTILINE)
    assert finish is not None
    done = subprocess.run(finish.group(1), shell=True, cwd=practice, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert commits(client) == ["new-session C-0042 2", *history]


def test_only_its_own_note_is_committed(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    inventory = client / "inventory.yaml"
    staged = inventory.read_text() + "# my edit, staged\n"
    inventory.write_text(staged)
    git(client, "add", "inventory.yaml")
    formulation = client / "formulation.md"
    unstaged = formulation.read_text() + "\nmy edit, not staged\n"
    formulation.write_text(unstaged)
    write_tree(client, {"todo.txt": "untracked\n", "private/process.md": f"{CANARY}\n"})
    session(practice, "C-0042", "--date", later(7), monkeypatch=monkeypatch)
    assert git(client, "show", "--name-only", "--format=", "HEAD").split() == ["sessions/02.md"]
    assert sorted(git(client, "status", "--porcelain").splitlines()) == [
        " M formulation.md",
        "?? todo.txt",
        "M  inventory.yaml",
    ]
    assert git(client, "show", ":inventory.yaml") == staged
    assert formulation.read_text() == unstaged
    assert git(client, "ls-files", "private") == ""


def test_preflight_refuses_unsafe_repository_states(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = practice / CLIENT
    head = git(client, "rev-parse", "HEAD").strip()
    for state, message in [
        ("detached", "detached HEAD"),
        ("MERGE_HEAD", "a merge is in progress"),
        ("rebase-merge", "a rebase is in progress"),
        ("CHERRY_PICK_HEAD", "a cherry-pick is in progress"),
        ("index.lock", "index.lock stayed in place for 5 s: a git command that crashed or was killed left it"),
        ("HEAD.lock", "HEAD.lock stayed in place for 5 s"),
    ]:
        marker = client / ".git" / state
        if state == "detached":
            git(client, "checkout", "-q", "--detach")
        elif state == "rebase-merge":
            marker.mkdir()
        else:
            marker.write_text(head + "\n" if state.endswith("HEAD") else "")
        code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
        assert (code, out) == (3, ""), state
        assert message in err, state
        assert len(err.strip().splitlines()) == 1, state
        assert listing(client / "sessions") == ["01.md"], state
        assert git(client, "rev-parse", "HEAD").strip() == head, state
        if state == "detached":
            git(client, "checkout", "-q", "main")
        else:
            assert marker.exists(), state
            marker.rmdir() if marker.is_dir() else marker.unlink()
    assert commits(client)[0] == "session 1 written"


def test_a_missing_identity_is_refused_and_nothing_is_written(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [*IDENTITY_VARIABLES, "EMAIL"]:
        monkeypatch.delenv(key, raising=False)
    code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "no author identity" in err
    assert listing(practice / CLIENT / "sessions") == ["01.md"]


def test_git_missing_is_refused(practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "git is not installed" in err
    assert listing(practice / CLIENT / "sessions") == ["01.md"]


def test_a_linked_sessions_folder_is_never_followed(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / CLIENT
    elsewhere = tmp_path / "elsewhere"
    (client / "sessions").rename(elsewhere)
    (client / "sessions").symlink_to(elsewhere)
    history = commits(client)
    code, out, err = cli(practice, "new-session", "C-0042", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "symbolic link" in err
    assert listing(elsewhere) == ["01.md"]
    assert commits(client) == history


def test_sessions_or_settings_that_are_not_plain_files_are_refused(
    practice: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = practice / "clients" / "C-0042"
    settings = client / "course-settings.yaml"
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_bytes(settings.read_bytes())
    settings.unlink()
    settings.symlink_to(elsewhere)
    code, out, err = cli(client, "new-session", "--date", later(7), monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert "course-settings.yaml:1:1: error [not-a-regular-file]" in err
    settings.unlink()
    settings.write_bytes(elsewhere.read_bytes())
    sessions = client / "sessions"
    sessions.rename(tmp_path / "sessions")
    sessions.write_text("")
    code, out, err = cli(client, "new-session", "--date", later(7), monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "sessions/ is a symbolic link or a file" in err
    assert "internal error" not in err

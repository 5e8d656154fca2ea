"""`ipt-notes validate` through the CLI: formats, exit codes, places, and privacy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipt_notes.cli import app
from tests.conftest import later
from tests.helpers import CANARY, INVALID, README, VALID, copy_tree, git, script, write_tree


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_valid_examples_pass(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(VALID)
    code, out, err = invoke(runner, "validate", "--schema-only", ".")
    assert (code, out) == (0, "")
    assert "checked 25 files: 0 errors, 0 warnings" in err


def test_every_invalid_example_gives_exactly_its_expected_problems(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, expected_invalid: dict[str, list[list[object]]]
) -> None:
    monkeypatch.chdir(INVALID)
    code, out, _ = invoke(runner, "validate", "--schema-only", ".", "--format", "json")
    assert code == 1
    found: dict[str, list[list[object]]] = {}
    for problem in json.loads(out):
        found.setdefault(problem["path"], []).append([problem["rule"], problem["line"], problem["col"]])
    assert found == expected_invalid


def test_every_invalid_example_fails_on_its_own(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, expected_invalid: dict[str, list[list[object]]]
) -> None:
    monkeypatch.chdir(INVALID)
    examples = sorted(p.relative_to(INVALID).as_posix() for p in INVALID.rglob("*") if p.is_file())
    examples.remove("expected.json")
    assert sorted(expected_invalid) == examples, "each invalid example is listed in expected.json"
    for example in examples:
        code, out, _ = invoke(runner, "validate", "--schema-only", example)
        assert code == 1, example
        assert out.startswith(f"{example}:"), example


def test_text_format_is_path_line_col_severity_rule_message(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    code, out, _ = invoke(runner, "validate", "--schema-only", "clients/duplicate-key/sessions/04.md")
    assert code == 1
    assert out == (
        "clients/duplicate-key/sessions/04.md:8:1: error [yaml-duplicate-key] "
        "duplicate key: the same key is already set on line 5\n"
    )


def test_github_format_gives_workflow_annotations(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    code, out, _ = invoke(runner, "validate", "--schema-only", "--format", "github", "clients/bad-enum")
    assert code == 1
    assert out == (
        "::error file=clients/bad-enum/sessions/04.md,line=5,col=8,title=schema-enum::"
        "must be one of: initial, middle, termination, maintenance\n"
    )


def test_paths_are_relative_to_the_current_folder(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID / "clients" / "bad-enum")
    code, out, _ = invoke(runner, "validate", "--schema-only", str(INVALID / "clients" / "bad-enum"))
    assert code == 1
    assert out.startswith("sessions/04.md:5:8: ")


def test_without_paths_validates_the_client_around_the_current_folder_or_else_the_practice(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    write_tree(practice, {"clients/C-0042/sessions/02.md": (INVALID / "clients/bad-enum/sessions/04.md").read_bytes()})
    monkeypatch.chdir(practice / "clients" / "C-0001" / "sessions")
    code, out, err = invoke(runner, "validate")
    assert (code, out) == (0, "")
    assert "checked 22 files" in err
    monkeypatch.chdir(practice / "clients" / "C-0042")
    code, out, _ = invoke(runner, "validate", "--schema-only")
    assert code == 1
    assert out == "sessions/02.md:5:8: error [schema-enum] must be one of: initial, middle, termination, maintenance\n"
    monkeypatch.chdir(practice)
    code, out, err = invoke(runner, "validate", "--schema-only")
    assert code == 1
    assert out.startswith("clients/C-0042/sessions/02.md:5:8: error [schema-enum]")
    assert "checked 31 files" in err  # ipt-notes.yaml and every client's files


def test_root_option_names_the_practice(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(runner, "validate", "--root", str(practice))
    assert code == 0
    assert "checked 30 files" in err


def test_private_notes_are_never_read(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path) -> None:
    write_tree(practice, {"clients/C-0001/private/sessions/01.md": b"\xff not even UTF-8"})
    monkeypatch.chdir(practice)
    code, _, _ = invoke(runner, "validate", "--strict", "clients/C-0001")
    assert code == 0


def test_outside_a_practice_exits_3(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(runner, "validate")
    assert (code, out) == (3, "")
    assert "not in a practice" in err


def test_a_missing_path_is_a_usage_error(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(runner, "validate", "no/such/note.md")
    assert (code, out) == (2, "")
    assert "no such file or folder: no/such/note.md" in err


def test_bad_format_is_a_usage_error(runner: CliRunner) -> None:
    code, _, err = invoke(runner, "validate", "--format", "xml", str(VALID))
    assert code == 2
    assert "xml" in err


def test_a_named_file_of_no_known_kind_is_a_warning(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_tree(tmp_path, {"notes.txt": "anything"})
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(runner, "validate", "notes.txt")
    assert code == 0
    assert out.startswith("notes.txt:1:1: warning [unknown-file] ")
    code, _, _ = invoke(runner, "validate", "--strict", "notes.txt")
    assert code == 1


def test_the_same_file_named_twice_is_checked_once(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    code, out, _ = invoke(runner, "validate", "--schema-only", "clients/bad-enum", "clients/bad-enum/sessions/04.md")
    assert code == 1
    assert len(out.splitlines()) == 1


def test_bom_and_crlf_are_accepted_and_lines_still_point_right(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    note = (INVALID / "clients/bad-enum/sessions/04.md").read_bytes().replace(b"\n", b"\r\n")
    write_tree(tmp_path, {"clients/X/sessions/04.md": b"\xef\xbb\xbf" + note})
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(runner, "validate", "--schema-only", ".")
    assert code == 1
    assert out.startswith("clients/X/sessions/04.md:5:8: error [schema-enum]")


def test_a_file_over_the_size_cap_is_refused_whole(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    note = (VALID / "clients/C-0001/sessions/05.md").read_text()
    padding = "x" * (1024 * 1024)
    write_tree(tmp_path, {"clients/X/sessions/05.md": note + padding})
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(runner, "validate", "--schema-only", ".")
    assert code == 1
    assert out == "clients/X/sessions/05.md:1:1: error [file-too-large] the file is larger than 1048576 bytes\n"


def test_many_files_are_checked_in_parallel_with_the_same_result(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = (INVALID / "clients/bad-enum/sessions/04.md").read_bytes()
    good = (VALID / "clients/C-0001/sessions/05.md").read_bytes()
    files: dict[str, str | bytes] = {}
    for n in range(150):
        files[f"clients/C-{n:04d}/sessions/05.md"] = bad if n % 50 == 7 else good
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(runner, "validate", "--schema-only", ".")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "clients/C-0007/sessions/05.md",
        "clients/C-0057/sessions/05.md",
        "clients/C-0107/sessions/05.md",
    ]
    assert "checked 150 files: 3 errors, 0 warnings" in err


def _canary_note() -> str:
    """A session note with the canary in every field it can reach: keys, values, list items."""
    return "\n".join(
        [
            "---",
            f"client: {CANARY}!",
            f"session: {CANARY}",
            f"date: {CANARY}",
            f"phase: {CANARY}",
            f"attendance: {CANARY}",
            f"status: {CANARY}",
            f"signed_by: [{CANARY}]",
            f"content_hash: {CANARY}",
            f"problem_areas: [{CANARY}, {CANARY}, {CANARY}]",
            f"dispute_stage: {CANARY}",
            f"techniques: [{CANARY}]",
            "measures:",
            f"  phq9: [{CANARY}]",
            f"  {CANARY}: [1]",
            "risk:",
            f"  suicidal_ideation: {CANARY}",
            f"  level: {CANARY}",
            f"  plan: {CANARY}",
            "middle:",
            f"  interval_review: [{CANARY}]",
            f"  {CANARY}: {CANARY}",
            f"{CANARY}: {CANARY}",
            f"next_session: {CANARY}",
            "---",
            f"{CANARY} in the body",
            "",
        ]
    )


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_no_output_ever_contains_note_content(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, output_format: str
) -> None:
    broken_yaml = f"---\nclient: x\nhomework: {{review: '{CANARY}\n---\n"
    write_tree(
        tmp_path,
        {
            "clients/C-1/sessions/01.md": _canary_note(),
            "clients/C-1/sessions/02.md": broken_yaml,
            "clients/C-1/sessions/03.md": f"---\n{CANARY}: 1\n{CANARY}: 2\n---\n",
            "clients/C-1/sessions/04.md": f"---\nclient: &{CANARY} x\n---\n",
            "clients/C-1/sessions/05.md": f"---\nclient: !{CANARY} x\n---\n",
            "clients/C-1/client.yaml": f"client: C-1\ncontract: {{sessions_planned: {CANARY}}}\n{CANARY}:\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(runner, "validate", "--format", output_format, ".")
    assert code == 1
    assert out.count("\n") >= 20
    assert CANARY not in out
    assert CANARY not in err


def test_the_canary_note_reports_every_problem_in_one_run(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_tree(tmp_path, {"clients/C-1/sessions/01.md": _canary_note()})
    monkeypatch.chdir(tmp_path)
    _, out, _ = invoke(runner, "validate", "--format", "json", ".")
    lines = {problem["line"] for problem in json.loads(out)}
    # Every line of the front matter but the "measures", "risk" and "middle" headers has a finding.
    assert lines >= set(range(2, 25)) - {13, 16, 20}


def test_an_unexpected_failure_prints_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sys

    from ipt_notes import cli
    from ipt_notes.commands import validate

    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError(CANARY)

    monkeypatch.setattr(validate, "validate_paths", explode)
    monkeypatch.setattr(sys, "argv", ["ipt-notes", "validate", str(VALID)])
    monkeypatch.delenv("IPT_NOTES_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 3
    captured = capsys.readouterr()
    assert "internal error (KeyError)" in captured.err
    assert CANARY not in captured.err + captured.out
    assert "Traceback" not in captured.err


def test_schema_lists_names_and_prints_one(runner: CliRunner) -> None:
    code, out, _ = invoke(runner, "schema")
    assert code == 0
    assert out.split() == [
        "addendum",
        "client",
        "config",
        "cosignature",
        "course_settings",
        "definitions",
        "formulation",
        "inventory",
        "register",
        "review",
        "session",
    ]
    code, out, _ = invoke(runner, "schema", "session")
    assert code == 0
    printed = json.loads(out)
    assert printed["$id"].endswith("/session.schema.json")
    assert "phase" in printed["$defs"]


def test_schema_with_an_unknown_name_exits_2(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "schema", "sessions")
    assert (code, out) == (2, "")
    assert "no schema is named 'sessions'" in err


def test_version_lists_the_tool_and_its_key_dependencies(runner: CliRunner) -> None:
    from ipt_notes import __version__, cli

    code, out, _ = invoke(runner, "--version")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"ipt-notes {__version__}"
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["Python", *cli._REPORTED_PACKAGES]
    assert {"typer", "PyYAML", "jsonschema"} <= set(names)
    assert "not installed" not in out
    assert "(with libyaml)" in out


def test_every_command_has_help(runner: CliRunner) -> None:
    import typer.main

    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    for name, command in group.commands.items():
        assert command.help, name
        code, out, _ = invoke(runner, name, "--help")
        assert code == 0
        assert f"ipt-notes {name}" in out or f"{name} [OPTIONS]" in out
        assert name in README.read_text(), f"{name} is in the README"


def test_copied_example_tree_keeps_expected_paths(tmp_path: Path) -> None:
    # The examples are found by their place in the layout wherever the tree lives.
    copy = tmp_path / "elsewhere"
    shutil.copytree(INVALID / "clients" / "bad-enum", copy / "clients" / "bad-enum")
    from ipt_notes.validation import validate_paths

    report = validate_paths([copy], cwd=tmp_path, rules=False)
    assert [(p.path, p.rule) for p in report.problems] == [("elsewhere/clients/bad-enum/sessions/04.md", "schema-enum")]


def test_the_console_script_builds_only_the_command_asked_for_with_the_same_behaviour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from ipt_notes import cli

    for info in app.registered_commands:
        name = cli._command_name(info)
        single = cli._app_for([name, "--help"])
        assert [cli._command_name(i) for i in single.registered_commands] == [name]
        monkeypatch.setattr(sys, "argv", ["ipt-notes", name, "--help"])
        with pytest.raises(SystemExit):
            cli.main()
        through_main = capsys.readouterr().out
        expected = CliRunner().invoke(app, [name, "--help"], prog_name="ipt-notes", catch_exceptions=False).stdout
        assert through_main == expected, name
    assert cli._app_for(["--help"]) is app
    assert cli._app_for(["no-such-command"]) is app


# The settings a client is judged by


def test_a_client_is_judged_by_its_own_course_settings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    practice = copy_tree(VALID, tmp_path / "practice")
    client = practice / "clients" / "C-0001"
    text = (client / "sessions/07.md").read_text().replace("date: 2025-02-08", "date: 2025-02-01")
    from tests.helpers import resign

    (client / "sessions/07.md").write_bytes(resign(text.encode()))
    monkeypatch.chdir(client)
    assert "warning [same-day-sessions]" in invoke(runner, "validate")[1]
    (practice / "ipt-notes.yaml").write_text("version: 1\nrules:\n  same-day-sessions: false\n")
    assert "warning [same-day-sessions]" in invoke(runner, "validate")[1]
    settings = (client / "course-settings.yaml").read_text() + "  same-day-sessions: false\n"
    (client / "course-settings.yaml").write_text(settings)
    assert "same-day-sessions" not in invoke(runner, "validate")[1]


def test_a_client_without_recorded_settings_is_warned_and_judged_by_the_defaults(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    (practice / "clients/C-0002/course-settings.yaml").unlink()
    monkeypatch.chdir(practice)
    code, out, _ = invoke(runner, "validate", "clients/C-0002")
    assert code == 0
    assert out == (
        "clients/C-0002/course-settings.yaml:1:1: warning [course-settings-missing] this client's course "
        "settings are not recorded, so the defaults apply (ipt-notes apply-settings records the practice's)\n"
    )


def test_an_unknown_time_zone_is_a_problem_at_its_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    settings = practice / "clients/C-0002/course-settings.yaml"
    settings.write_text(settings.read_text().replace('time_zone: "Europe/Berlin"', "time_zone: Mars/Olympus_Mons"))
    monkeypatch.chdir(practice / "clients/C-0002")
    code, out, _ = invoke(runner, "validate")
    assert code == 1
    assert out.startswith("course-settings.yaml:5:12: error [settings-time-zone] ")


# --staged, the pre-commit hook


def test_staged_checks_the_index_not_the_working_tree(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    client = practice / "clients" / "C-0042"
    note = client / "sessions/01.md"
    good = note.read_text()
    note.write_text(good.replace("phase: initial", "phase: initail"))
    git(client, "add", "sessions/01.md")
    note.write_text(good)
    monkeypatch.chdir(client)
    code, out, err = invoke(runner, "validate", "--staged")
    assert code == 1
    assert out.startswith("sessions/01.md:5:8: error [schema-enum]")
    assert "checked 1 file:" in err
    assert invoke(runner, "validate")[0] == 0
    monkeypatch.chdir(practice)
    code, out, _ = invoke(runner, "validate", "--staged", "clients/C-0042/sessions/01.md")
    assert (code, out.split(":")[0]) == (1, "clients/C-0042/sessions/01.md")


def test_staged_reads_the_settings_in_the_index(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    client = practice / "clients" / "C-0042"
    settings = client / "course-settings.yaml"
    settings.write_text(settings.read_text().replace("initial_sessions: 3", "initial_sessions: 0"))
    git(client, "add", "course-settings.yaml")
    monkeypatch.chdir(client)
    code, out, _ = invoke(runner, "validate", "--staged")
    assert code == 1
    assert out.startswith("course-settings.yaml:") and "[schema-minimum]" in out


def test_the_hook_refuses_a_process_note_and_an_invalid_note(practice: Path) -> None:
    client = practice / "clients" / "C-0042"
    write_tree(client, {"private/2026-01-05.md": f"{CANARY}\n"})
    git(client, "add", "-f", "private/2026-01-05.md")
    refused = subprocess.run(["git", "commit", "-m", "notes"], cwd=client, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "private/2026-01-05.md:1:1: error [private-staged]" in refused.stdout + refused.stderr
    assert CANARY not in refused.stdout + refused.stderr
    assert git(client, "log", "-1", "--format=%s").strip() == "session 1 written"
    git(client, "rm", "-q", "--cached", "private/2026-01-05.md")
    note = client / "sessions/01.md"
    note.write_text(note.read_text().replace("attendance: attended", "attendance: present"))
    git(client, "add", "sessions/01.md")
    refused = subprocess.run(["git", "commit", "-m", "notes"], cwd=client, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "sessions/01.md:6:13: error [schema-enum]" in refused.stdout + refused.stderr


def test_staged_outside_a_client_is_a_usage_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    monkeypatch.chdir(practice)
    code, out, err = invoke(runner, "validate", "--staged")
    assert (code, out) == (2, "")
    assert "inside a client folder" in err


def test_the_installed_script_validates_a_client_clone_with_no_practice_around_it(
    practice: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", str(practice / "clients" / "C-0001"), str(clone))
    result = script("validate", "--format", "json", cwd=clone)
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
    assert "checked 22 files: 0 errors, 0 warnings" in result.stderr


def test_rules_settings_are_checked_against_the_rules_themselves(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = "version: 1\nrules:\n  no-such-rule: {severity: error}\n  measure-cadence: {every: -3, widow: 2}\n"
    write_tree(tmp_path, {"ipt-notes.yaml": settings, "clients/C-1/course-settings.yaml": settings})
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(runner, "validate")
    assert code == 1
    found = [(line.split(":")[0], line.split(":")[1], line.split("] ")[1]) for line in out.splitlines()]
    for path in ("ipt-notes.yaml", "clients/C-1/course-settings.yaml"):
        assert [(line, message) for shown, line, message in found if shown == path] == [
            ("3", "no course rule has this id (the README lists them)"),
            ("4", "measure-cadence's every is a whole number from 1"),
            ("4", "measure-cadence has no such option (its options: every)"),
        ]


def test_a_root_that_is_no_practice_is_refused_not_passed(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for root in (tmp_path / "nowhere", practice / "clients", practice / "clients" / "C-0001"):
        for command in (["verify"], ["status"], ["push"], ["new-client", "C-0999"]):
            code, out, err = invoke(runner, *command, "--root", str(root))
            assert (code, out) == (3, ""), (command, root)
            assert "not in a practice" in err


def test_the_hook_skips_only_the_exact_tree_a_command_has_checked(practice: Path, tmp_path: Path) -> None:
    client = practice / "clients" / "C-0042"
    note = client / "sessions/01.md"
    note.write_text(note.read_text().replace("attendance: attended", "attendance: present"))
    git(client, "add", "sessions/01.md")
    token = client / ".git" / "ipt-notes-validated"
    # A token for some other tree buys nothing: the hook checks, and refuses.
    token.write_text("0" * 40 + "\n")
    refused = subprocess.run(["git", "commit", "-qm", "x"], cwd=client, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "[schema-enum]" in refused.stderr
    # A token for this tree but another HEAD (one left by a command killed earlier) buys nothing either.
    tree = git(client, "write-tree").strip()
    token.write_text(f"{'1' * 40} {tree}\n")
    assert subprocess.run(["git", "commit", "-qm", "x"], cwd=client, capture_output=True).returncode != 0
    assert not token.exists()  # the hook uses a token once
    # One naming this HEAD and this very tree is what `git commit --no-verify` would allow anyway.
    token.write_text(f"{git(client, 'rev-parse', 'HEAD').strip()} {tree}\n")
    assert subprocess.run(["git", "commit", "-qm", "x"], cwd=client, capture_output=True).returncode == 0
    assert not token.exists()


def test_a_command_checks_what_it_commits_and_leaves_no_token(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    client = practice / "clients" / "C-0042"
    monkeypatch.chdir(client)
    code, out, err = invoke(runner, "new-session", "--date", later(7))
    assert (code, out) == (0, "sessions/02.md\n"), err
    assert not (client / ".git" / "ipt-notes-validated").exists()
    assert not list((client / ".git").glob("ipt-notes-index-*"))
    # The command's own check refuses what the hook would: a gap in the sessions.
    # Note 2 renamed 4 by hand and not committed: new-session takes it for one it left uncommitted.
    (client / "sessions/02.md").rename(client / "sessions/04.md")
    git(client, "rm", "-q", "--cached", "sessions/02.md")
    git(client, "commit", "-qm", "renumbered", "--no-verify")
    code, out, err = invoke(runner, "new-session", "--date", later(14))
    assert code == 3
    assert "saved, not committed: sessions/04.md (the notes have errors)" in err
    assert "[session-sequence]" in err
    assert "sessions/04.md" not in git(client, "ls-tree", "-r", "--name-only", "HEAD")
    assert not (client / "sessions/05.md").exists()


def test_a_staged_course_wide_change_is_judged_across_the_course(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, practice: Path
) -> None:
    client = practice / "clients" / "C-0001"
    settings = client / "course-settings.yaml"
    settings.write_text(settings.read_text().replace("initial_sessions: 3", "initial_sessions: 1"))
    git(client, "add", "course-settings.yaml")
    monkeypatch.chdir(client)
    code, out, _ = invoke(runner, "validate", "--staged")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines() if "[phase-matches-session]" in line] == [
        "sessions/02.md",
        "sessions/03.md",
    ]


def _commit(client: Path, message: str) -> subprocess.CompletedProcess[str]:
    """A commit made by hand, with the hook."""
    return subprocess.run(["git", "commit", "-qm", message], cwd=client, capture_output=True, text=True)


@pytest.mark.parametrize(
    "spelling", ['status: "signed"', "status: 'signed'", "status: signed # as signed", "status: >-\n  signed"]
)
def test_a_signed_note_is_judged_by_what_the_parser_reads_however_its_status_is_spelled(
    practice: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import cli, resign

    client = practice / "clients" / "C-0042"
    note = client / "sessions/01.md"
    assert cli(client, "sign", "sessions/01.md", monkeypatch=monkeypatch)[0] == 0
    git(client, "reset", "-q", "--soft", "HEAD~1")  # as if it had been signed by hand
    # Signed with an odd spelling, and committed as such over the draft: valid.
    note.write_bytes(resign(note.read_text().replace("status: signed", spelling, 1).encode()))
    git(client, "add", "sessions/01.md")
    assert _commit(client, "spelled").returncode == 0
    # Then edited, with the hash made to match: the hook sees a signed note changed.
    note.write_bytes(resign(note.read_text().replace("# Session 1", "# Edited", 1).encode()))
    git(client, "add", "sessions/01.md")
    refused = _commit(client, "edit")
    assert refused.returncode != 0
    assert "[signed-note-changed]" in refused.stderr


def test_a_signed_note_never_becomes_a_draft_again(signed_practice: Path) -> None:
    client = signed_practice / "clients" / "C-0042"
    note = client / "sessions/01.md"
    lines = [
        line
        for line in note.read_text().splitlines(keepends=True)
        if not line.startswith(("signed_by:", "signed_at:", "content_hash:"))
    ]
    note.write_text("".join(lines).replace("status: signed", "status: draft").replace("# Session 1", "# Other"))
    git(client, "add", "sessions/01.md")
    refused = _commit(client, "back to draft")
    assert refused.returncode != 0
    assert "sessions/01.md:7:9: error [signed-note-changed]" in refused.stderr


@pytest.mark.parametrize("how", ["rm", "mv", "link"])
def test_the_hook_refuses_to_delete_move_or_replace_a_signed_note(
    signed_practice: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    client = signed_practice / "clients" / "C-0042"
    if how == "rm":
        git(client, "rm", "-q", "sessions/01.md")
    elif how == "mv":
        git(client, "mv", "sessions/01.md", "sessions/02.md")
    else:
        (client / "sessions/01.md").unlink()
        (client / "sessions/01.md").symlink_to("../formulation.md")
        git(client, "add", "sessions/01.md")
    refused = _commit(client, how)
    assert refused.returncode != 0
    rule = "[signed-note-deleted]" if how != "link" else "[not-a-regular-file]"
    assert f"sessions/01.md:1:1: error {rule}" in refused.stderr
    assert git(client, "log", "-1", "--format=%s").strip() == "amend C-0042 1"
    if how == "rm":
        monkeypatch.chdir(client)
        code, out, _ = invoke(runner, "validate")
        assert code == 1
        assert "sessions/01.md:1:1: error [signed-note-deleted]" in out


def test_a_client_folder_without_its_client_yaml_is_reported(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (practice / "clients" / "C-0042" / "client.yaml").unlink()
    (practice / "clients" / "C-0099").mkdir()  # a client folder with nothing in it at all
    monkeypatch.chdir(practice)
    for args in ((), ("clients/C-0099",)):
        result = CliRunner().invoke(app, ["validate", "--format", "json", *args], catch_exceptions=False)
        assert result.exit_code == 1
        missing = sorted(p["path"] for p in json.loads(result.stdout) if p["rule"] == "client-file-missing")
        expected = (
            ["clients/C-0042/client.yaml", "clients/C-0099/client.yaml"] if not args else ["clients/C-0099/client.yaml"]
        )
        assert missing == expected

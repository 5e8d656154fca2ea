"""The course rules, each shown to fire on a course that breaks it and to stay quiet on one that
does not, at the right file and line, and each tunable from ipt-notes.yaml."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipt_notes.cli import app
from ipt_notes.course import Course, SessionNote, phase_for, read_course
from ipt_notes.rules import RULES, run_rules
from ipt_notes.settings import DEFAULT_COURSE, CourseSettings, Phases
from ipt_notes.signing import content_hash
from ipt_notes.validation import validate_paths
from tests.helpers import README, VALID

COURSE = "clients/C-0001"


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` in a file of the clean course (`new=None` deletes the file)."""

    file: str
    old: str | re.Pattern[str] = ""
    new: str | None = ""


@dataclass(frozen=True)
class Case:
    rule: str
    edits: tuple[Edit, ...]
    file: str
    """Where the finding must be reported."""
    line_of: str | None
    """Text whose line the finding must point at (None: the first line of the file)."""


def edit(file: str, old: str | re.Pattern[str], new: str | None) -> Edit:
    return Edit(f"{COURSE}/{file}", old, new)


COSIGNATURE = (
    "client: C-0001\nnote: sessions/16.md\n"
    "content_hash: sha256:b1dab2367a8876a48fbbe8c0ba43dd0f5517f8c1deddbbb032990985478b7b43\n"
    'cosigned_by: "S-01 <s01@clinic.example>"\ncosigned_at: 2025-04-13T09:00:00Z\n'
)
"""A co-signature of the example course's last note, as cosign writes it."""

CASES = [
    Case(
        "contract-before-middle",
        (edit("client.yaml", "  agreed_on: 2025-01-11", "  agreed_on: null"),),
        "client.yaml",
        "contract:",
    ),
    Case(
        "contract-before-middle",
        (edit("client.yaml", "  agreed_on: 2025-01-11", "  agreed_on: 2025-03-01"),),
        "client.yaml",
        "  agreed_on: 2025-03-01",
    ),
    Case(
        "initial-phase-tasks",
        (
            *tuple(edit(f"sessions/0{n}.md", "sick_role_given: true", "sick_role_given: false") for n in (1, 2, 3)),
            edit(
                "client.yaml",
                "  description: Recurrent depressive disorder, current episode moderate",
                "  description: null",
            ),
        ),
        "sessions/03.md",
        None,
    ),
    Case(
        "inventory-complete",
        (
            edit(
                "inventory.yaml",
                "    closeness:\n      - {date: 2025-01-04, ring: 2}\n      - {date: 2025-04-05, ring: 1}\n",
                "",
            ),
        ),
        "inventory.yaml",
        "  - label: F",
    ),
    Case(
        "formulation-agreed",
        (edit("formulation.md", "status: agreed\nagreed_on: 2025-01-11", "status: draft\nagreed_on: null"),),
        "formulation.md",
        None,
    ),
    Case(
        "formulation-agreed",
        (edit("formulation.md", "    primary: true", "    primary: false"),),
        "formulation.md",
        "problem_areas:",
    ),
    Case(
        "focus-problem-area",
        (edit("sessions/05.md", "problem_areas: [interpersonal_deficits]", "problem_areas: [grief]"),),
        "sessions/05.md",
        "problem_areas: [grief]",
    ),
    Case(
        "dispute-stage-recorded",
        (
            edit(
                "sessions/05.md",
                "problem_areas: [interpersonal_deficits]",
                "problem_areas: [interpersonal_deficits, role_dispute]",
            ),
        ),
        "sessions/05.md",
        "problem_areas: [interpersonal_deficits, role_dispute]",
    ),
    Case(
        "measure-cadence",
        tuple(edit(f"sessions/{n:02d}.md", re.compile(r"  phq9: \[[0-9, ]+\]\n"), "") for n in (7, 8, 9)),
        "sessions/08.md",
        "measures:",
    ),
    Case(
        "risk-block-required",
        (edit("sessions/04.md", "phq9: [2, 2, 2, 2, 1, 2, 1, 2, 0]", "phq9: [2, 2, 2, 2, 1, 2, 1, 2, 1]"),),
        "sessions/04.md",
        "risk:",
    ),
    Case(
        "termination-discussed",
        (edit("client.yaml", "  sessions_planned: 16", "  sessions_planned: 14"),),
        "sessions/12.md",
        "phase: middle",
    ),
    Case(
        "sessions-over-contract",
        (edit("client.yaml", "  sessions_planned: 16", "  sessions_planned: 15"),),
        "sessions/16.md",
        "session: 16",
    ),
    Case("final-review", (edit("review.md", "", None),), "client.yaml", "course_status: closed"),
    Case(
        "final-review",
        (
            edit(
                "review.md",
                "relapse_warning_signs:\n  - Withdrawing at weekends\n  - Sleeping late and skipping meals\n",
                "relapse_warning_signs: []\n",
            ),
        ),
        "review.md",
        "relapse_warning_signs: []",
    ),
    Case(
        "phase-matches-session",
        (edit("client.yaml", "  sessions_planned: 16", "  sessions_planned: 20"),),
        "sessions/14.md",
        "phase: termination",
    ),
    Case("session-sequence", (edit("sessions/07.md", "", None),), "sessions/08.md", None),
    Case(
        "session-sequence",
        (edit("sessions/07.md", "date: 2025-02-08", "date: 2025-01-01"),),
        "sessions/07.md",
        "date: 2025-01-01",
    ),
    Case(
        "same-day-sessions",
        (edit("sessions/07.md", "date: 2025-02-08", "date: 2025-02-01"),),
        "sessions/07.md",
        "date: 2025-02-01",
    ),
    Case(
        "client-matches-folder",
        (edit("sessions/05.md", "client: C-0001", "client: C-0002"),),
        "sessions/05.md",
        "client: C-0002",
    ),
    Case(
        "score-ranges",
        (
            edit(
                "sessions/05.md",
                "measures: {}",
                "measures: {hamd17: [1, 1, 1, 3, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0]}",
            ),
        ),
        "sessions/05.md",
        "measures: {hamd17",
    ),
    Case(
        "score-ranges",
        (
            edit(
                "sessions/04.md",
                "  gad7: [1, 0, 1, 1, 1, 2, 1]",
                "  gad7: [1, 0, 1, 1, 1, 2, 1]\n  totals: {phq9: 15, gad7: 7}",
            ),
        ),
        "sessions/04.md",
        "  totals: {phq9: 15",
    ),
    Case(
        "cosign-pending",
        (edit("client.yaml", "supervisor: null", "supervisor: S-01 <s01@clinic.example>"),),
        "review.md",
        "status: signed",
    ),
    Case(
        "draft-unsigned",
        (edit("sessions/16.md", "status: signed", "status: draft"),),
        "sessions/16.md",
        "status: draft",
    ),
    Case(
        "signed-in-future",
        (edit("sessions/16.md", "date: 2025-04-12", "date: 2099-04-12"),),
        "sessions/16.md",
        "date: 2099-04-12",
    ),
    Case(
        "signed-in-future",
        (edit("sessions/16.md", "signed_at: 2025-04-12T15:40:00+02:00", "signed_at: 2025-04-09T23:30:00-05:00"),),
        "sessions/16.md",
        "signed_at: 2025-04-09T23:30:00-05:00",
    ),
    Case(
        "signed-late",
        (edit("sessions/15.md", "signed_at: 2025-04-05T19:00:00Z", "signed_at: 2025-04-14T00:30:00Z"),),
        "sessions/15.md",
        "signed_at: 2025-04-14T00:30:00Z",
    ),
    Case(
        "cosignature-matches",
        (edit("sessions/16.cosignature.yaml", "", COSIGNATURE.replace("b1dab2", "c1dab2")),),
        "sessions/16.cosignature.yaml",
        "content_hash: sha256:c1dab2",
    ),
    Case(
        "cosignature-matches",
        (edit("sessions/15.cosignature.yaml", "", COSIGNATURE),),
        "sessions/15.cosignature.yaml",
        "note: sessions/16.md",
    ),
    Case(
        "addendum-target",
        (edit("sessions/16.addendum-1.md", "  note: sessions/16.md", "  note: sessions/17.md"),),
        "sessions/16.addendum-1.md",
        "  note: sessions/17.md",
    ),
    Case(
        "addendum-target",
        (edit("sessions/16.md", "status: signed", "status: draft"),),
        "sessions/16.addendum-1.md",
        "  note: sessions/16.md",
    ),
    Case(
        "deficits-with-life-events",
        (
            edit(
                "inventory.yaml",
                "timeline:\n",
                "timeline:\n  - {date: 2024-11-02, event: A death in the family., kind: death}\n",
            ),
        ),
        "formulation.md",
        "  - area: interpersonal_deficits",
    ),
]


def course_copy(tmp_path: Path, edits: tuple[Edit, ...] = ()) -> Path:
    root = tmp_path / "notes"
    shutil.copytree(VALID, root)
    for change in edits:
        target = root / change.file
        if change.new is None:
            target.unlink()
            continue
        if not target.exists() and change.old == "":
            target.write_text(change.new)  # a file the edit adds
            continue
        text = target.read_text()
        if isinstance(change.old, re.Pattern):
            changed = change.old.sub(change.new, text)
        else:
            assert change.old in text, (change.file, change.old)
            changed = text.replace(change.old, change.new, 1)
        assert changed != text, (change.file, change.old)
        target.write_bytes(resign(changed.encode()))
    return root


def resign(raw: bytes) -> bytes:
    """A signed note edited for a test is given the hash of its new content, as signing would."""
    if not re.search(rb"^status: signed", raw, re.MULTILINE):
        return raw
    digest = content_hash(raw).encode()
    return re.sub(rb"^content_hash: sha256:[0-9a-f]{64}", b"content_hash: " + digest, raw, count=1, flags=re.M)


def line_of(path: Path, text: str | None) -> int:
    if text is None:
        return 1
    lines = path.read_text().splitlines()
    for exact in (True, False):
        for number, line in enumerate(lines, start=1):
            if line == text if exact else line.startswith(text):
                return number
    raise AssertionError(f"{text!r} is not in {path}")


def configure(root: Path, rules: str) -> None:
    """Record these rule settings (and the example's measures) in the course's own settings.

    The practice's ipt-notes.yaml is deliberately left alone: a client is judged by its recorded
    settings only.
    """
    (root / COURSE / "course-settings.yaml").write_text(f"version: 1\nmeasures: [phq9, gad7]\nrules:\n{rules}")


def test_the_example_course_is_clean_under_every_rule(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    assert validate_paths([root], cwd=root).problems == []


def test_every_rule_has_a_case_that_fires() -> None:
    assert {case.rule for case in CASES} == set(RULES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_fires_at_the_right_place_and_nowhere_else(tmp_path: Path, case: Case) -> None:
    root = course_copy(tmp_path, case.edits)
    problems = validate_paths([root], cwd=root).problems
    fired = [p for p in problems if p.rule == case.rule]
    expected_path = f"{COURSE}/{case.file}"
    assert fired, problems
    assert fired[0].path == expected_path
    if (root / expected_path).exists():
        assert fired[0].line == line_of(root / expected_path, case.line_of)
    assert not [p for p in problems if p.rule.startswith("schema-")], "the edit must keep every file valid"
    assert fired[0].severity.value == RULES[case.rule].severity.value


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_can_be_turned_off(tmp_path: Path, case: Case) -> None:
    root = course_copy(tmp_path, case.edits)
    configure(root, f"  {case.rule}: false\n")
    assert case.rule not in {p.rule for p in validate_paths([root], cwd=root).problems}


def test_a_rule_severity_can_be_changed(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("sessions/16.md", "status: signed", "status: draft"),))
    configure(root, "  draft-unsigned: {severity: error}\n")
    [problem] = [p for p in validate_paths([root], cwd=root).problems if p.rule == "draft-unsigned"]
    assert problem.severity.value == "error"


def test_rule_options_change_thresholds(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("sessions/16.md", "status: signed", "status: draft"),))
    days = (dt.date.today() - dt.date(2025, 4, 12)).days + 30
    configure(root, f"  draft-unsigned:\n    days: {days}\n")
    assert "draft-unsigned" not in {p.rule for p in validate_paths([root], cwd=root).problems}
    root = course_copy(tmp_path / "second")
    configure(root, "  measure-cadence:\n    every: 2\n")
    fired = [p for p in validate_paths([root], cwd=root).problems if p.rule == "measure-cadence"]
    assert fired
    assert all("in the 2 attended sessions" in p.message for p in fired)


def test_measure_cadence_counts_only_attended_sessions(tmp_path: Path) -> None:
    course = read_course(course_copy(tmp_path) / COURSE)
    settings = CourseSettings(rules={"measure-cadence": {"every": 2}})
    fired = [f for r, _, f in run_rules(course, settings) if r.id == "measure-cadence" and "phq9" in f.message]
    # PHQ-9 is scored at 1, 4, 7, 8, 9, 11, 12, 14 and 16; session 10 was cancelled, so 10 and the
    # unscored 13 are not two attended sessions in a row, while 2-3 and 5-6 are.
    assert [f.path.name for f in fired] == ["03.md", "06.md"]


def test_drafts_scaffolded_ahead_do_not_trip_rules_about_what_comes_before(tmp_path: Path) -> None:
    root = course_copy(
        tmp_path,
        (
            *tuple(edit(f"sessions/{n:02d}.md", "status: signed", "status: draft") for n in range(4, 17)),
            edit("client.yaml", "  agreed_on: 2025-01-11", "  agreed_on: null"),
        ),
    )
    rules = {p.rule for p in validate_paths([root], cwd=root).problems}
    assert "contract-before-middle" not in rules
    assert "draft-unsigned" in rules


def test_rules_report_only_the_files_named(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("client.yaml", "  agreed_on: 2025-01-11", "  agreed_on: null"),))
    assert validate_paths([root / COURSE / "sessions" / "05.md"], cwd=root).problems == []
    named = validate_paths([root / COURSE / "client.yaml"], cwd=root).problems
    assert [p.rule for p in named] == ["contract-before-middle"]


def test_a_file_with_schema_errors_is_left_out_of_the_rules(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("sessions/05.md", "phase: middle", "phase: midle"),))
    rules = {p.rule for p in validate_paths([root], cwd=root).problems}
    assert rules == {"schema-enum"}


def test_strict_makes_rule_warnings_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = course_copy(tmp_path, (edit("sessions/07.md", "date: 2025-02-08", "date: 2025-02-01"),))
    monkeypatch.chdir(root)
    runner = CliRunner()
    assert runner.invoke(app, ["validate"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(app, ["validate", "--strict"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "warning [same-day-sessions]" in result.stdout
    assert runner.invoke(app, ["validate", "--schema-only", "--strict"], catch_exceptions=False).exit_code == 0


def test_every_rule_is_documented_with_its_severity_and_rationale() -> None:
    readme = README.read_text()
    for rule in RULES.values():
        row = re.search(rf"^\| `{re.escape(rule.id)}` \| (error|warning) \| (.+) \|$", readme, re.MULTILINE)
        assert row, f"{rule.id} has no row in the README's table of rules"
        assert row.group(1) == rule.severity.value, rule.id
        assert rule.rationale.split(":")[0].split(" (")[0][:30] in row.group(2), rule.id


def test_rules_read_defaults_without_a_notes_repository() -> None:
    course = read_course(VALID / COURSE)
    assert list(run_rules(course, DEFAULT_COURSE, today=dt.date(2025, 4, 20))) == []


def test_an_edited_settings_file_is_read_again(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("sessions/07.md", "date: 2025-02-08", "date: 2025-02-01"),))
    assert "same-day-sessions" in {p.rule for p in validate_paths([root], cwd=root).problems}
    configure(root, "  same-day-sessions: false\n  x-padding: true\n")
    assert "same-day-sessions" not in {p.rule for p in validate_paths([root], cwd=root).problems}


def test_the_practice_settings_do_not_judge_a_client(tmp_path: Path) -> None:
    root = course_copy(tmp_path, (edit("sessions/07.md", "date: 2025-02-08", "date: 2025-02-01"),))
    (root / "ipt-notes.yaml").write_text("version: 1\nrules:\n  same-day-sessions: false\n")
    assert "same-day-sessions" in {p.rule for p in validate_paths([root], cwd=root).problems}


def _course_of(planned: int, count: int, boundaries: Phases) -> Course:
    """A course of `count` signed, attended notes, each in the phase new-session would give it."""
    folder = Path("/nowhere/C-1")
    notes = []
    for number in range(1, count + 1):
        phase = phase_for(number, planned, boundaries)
        data = {"client": "C-1", "session": number, "date": f"2026-01-{number:02d}", "phase": phase}
        data.update({"status": "signed", "attendance": "attended", phase: {}})
        notes.append(SessionNote(number, folder / "sessions" / f"{number:02d}.md", data))
    client = {"client": "C-1", "contract": {"sessions_planned": planned}}
    return Course("C-1", folder, tuple(notes), client, None)


@pytest.mark.parametrize("initial", [1, 2, 3, 4])
@pytest.mark.parametrize("termination", [1, 2, 3, 4])
def test_new_session_phases_satisfy_the_phase_rules_for_every_boundary(initial: int, termination: int) -> None:
    boundaries = Phases(initial_sessions=initial, termination_sessions=termination)
    settings = CourseSettings(phases=boundaries)
    for planned in range(1, 21):
        course = _course_of(planned, planned + 2, boundaries)
        findings = [
            (rule.id, finding.path.name)
            for rule, _, finding in run_rules(course, settings, today=dt.date(2026, 2, 1))
            if rule.id in ("phase-matches-session", "termination-discussed")
        ]
        assert findings == [], (planned, findings)


def test_the_phase_rules_judge_by_the_same_boundaries() -> None:
    boundaries = Phases(initial_sessions=2, termination_sessions=4)
    course = _course_of(12, 12, Phases())  # phases by the default boundaries: initial 1-3, termination 10-12
    fired = [
        (rule.id, finding.path.name)
        for rule, _, finding in run_rules(course, CourseSettings(phases=boundaries), today=dt.date(2026, 2, 1))
        if rule.id in ("phase-matches-session", "termination-discussed")
    ]
    # Session 3 is initial but the initial phase now ends at 2; session 9 is middle in the last 4.
    assert sorted(fired) == [("phase-matches-session", "03.md"), ("termination-discussed", "09.md")]


def _rule_findings(root: Path, rule_id: str, settings: CourseSettings, today: dt.date | None = None) -> list[str]:
    course = read_course(root / COURSE)
    return [finding.message for rule_, _, finding in run_rules(course, settings, today) if rule_.id == rule_id]


def test_signing_dates_are_compared_in_the_course_time_zone_with_a_day_of_tolerance(tmp_path: Path) -> None:
    # Session 16 is dated 2025-04-12. Signed at 20:00 in Honolulu on 04-10: 06:00 UTC on 04-11.
    signed = "signed_at: 2025-04-10T20:00:00-10:00"
    root = course_copy(tmp_path, (edit("sessions/16.md", "signed_at: 2025-04-12T15:40:00+02:00", signed),))
    # A day before the session in UTC is within the tolerance; two days before in Honolulu is not.
    assert _rule_findings(root, "signed-in-future", CourseSettings(time_zone="UTC")) == []
    honolulu = CourseSettings(time_zone="Pacific/Honolulu")
    assert _rule_findings(root, "signed-in-future", honolulu) == [
        "session 16 was signed before the date of its session"
    ]


def test_a_signed_note_dated_tomorrow_is_tolerated_and_one_dated_later_is_not(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    session_day = dt.date(2025, 4, 12)  # session 16, the last
    for today, expected in (
        (session_day, []),
        (session_day - dt.timedelta(days=1), []),
        (session_day - dt.timedelta(days=2), ["session 16 is signed but dated after today"]),
    ):
        assert _rule_findings(root, "signed-in-future", DEFAULT_COURSE, today) == expected, today


def test_a_late_entry_addendum_explains_a_late_signature(tmp_path: Path) -> None:
    late = (edit("sessions/16.md", "signed_at: 2025-04-12T15:40:00+02:00", "signed_at: 2025-04-30T09:00:00Z"),)
    root = course_copy(tmp_path, late)
    assert _rule_findings(root, "signed-late", DEFAULT_COURSE) == [
        "session 16 was signed more than 7 days after it, and no late_entry addendum says why "
        "(ipt-notes amend --kind late_entry)"
    ]
    root = course_copy(
        tmp_path / "explained", (*late, edit("sessions/16.addendum-1.md", "kind: addendum", "kind: late_entry"))
    )
    assert _rule_findings(root, "signed-late", DEFAULT_COURSE) == []
    # The allowance follows draft-unsigned's days, the course's one setting for timeliness.
    root = course_copy(tmp_path / "relaxed", late)
    assert _rule_findings(root, "signed-late", CourseSettings(rules={"draft-unsigned": {"days": 30}})) == []


def test_a_signing_time_after_today_is_an_error(tmp_path: Path) -> None:
    later = (edit("sessions/16.md", "signed_at: 2025-04-12T15:40:00+02:00", "signed_at: 2025-05-30T09:00:00Z"),)
    root = course_copy(tmp_path, later)
    assert _rule_findings(root, "signed-in-future", DEFAULT_COURSE, dt.date(2025, 4, 20)) == [
        "session 16 records a signing time after today"
    ]

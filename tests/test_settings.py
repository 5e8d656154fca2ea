"""Settings: the practice's seed, each course's recorded settings, and the one home of each default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipt_notes.errors import NotesInvalid
from ipt_notes.layout import FileKind
from ipt_notes.loader import load_yaml, yaml_document
from ipt_notes.rules import RULES, rule_option
from ipt_notes.settings import (
    DEFAULT_COURSE,
    CourseSettings,
    Phases,
    course_settings_from_bytes,
    course_settings_text,
    load_course_settings,
    load_practice_settings,
    local_time_zone,
    practice_defaults,
)
from ipt_notes.templates import render_checked
from tests.helpers import write_tree

_keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
)
_values = st.recursive(
    _scalars, lambda inner: st.dictionaries(_keys, inner, max_size=3) | st.lists(_scalars, max_size=3), max_leaves=8
)


@given(st.dictionaries(_keys, _values | st.lists(st.dictionaries(_keys, _values, min_size=1, max_size=3), max_size=3)))
def test_yaml_document_reads_back_exactly(document: dict[str, object]) -> None:
    assert load_yaml(yaml_document(document)) == document


def test_course_settings_round_trip_through_their_file() -> None:
    settings = CourseSettings(
        time_zone="Europe/London",
        measures=("phq9", "gad7"),
        phases=Phases(initial_sessions=2, termination_sessions=4),
        rules={"measure-cadence": {"every": 6}, "draft-unsigned": False},
        signed_commits_since="a" * 40,
    )
    text = course_settings_text(settings)
    assert course_settings_from_bytes(text.encode(), "course-settings.yaml") == settings
    assert course_settings_from_bytes(course_settings_text(DEFAULT_COURSE).encode(), "x") == DEFAULT_COURSE


def test_invalid_course_settings_are_refused_with_their_problems() -> None:
    with pytest.raises(NotesInvalid) as refused:
        course_settings_from_bytes(b"version: 1\nphases: {initial_sessions: 9}\n", "course-settings.yaml")
    assert [(p.rule, p.line) for p in refused.value.problems] == [("schema-maximum", 2)]
    with pytest.raises(NotesInvalid) as refused:
        course_settings_from_bytes(b"version: 1\ntime_zone: Nowhere/Special\n", "course-settings.yaml")
    assert [(p.rule, p.line, p.col) for p in refused.value.problems] == [("settings-time-zone", 2, 12)]


def test_a_client_without_settings_gets_the_defaults_marked_unrecorded(tmp_path: Path) -> None:
    settings = load_course_settings(tmp_path / "course-settings.yaml", "course-settings.yaml")
    assert settings == CourseSettings(recorded=False)
    assert not settings.recorded


def test_an_edited_settings_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "course-settings.yaml"
    path.write_text("version: 1\nmeasures: [phq9]\n")
    assert load_course_settings(path, "x").measures == ("phq9",)
    path.write_text("version: 1\nmeasures: [phq9, gad7]\n")
    assert load_course_settings(path, "x").measures == ("phq9", "gad7")


def test_the_practice_seeds_new_courses(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "ipt-notes.yaml": "version: 1\ndefault_sessions: 12\ntime_zone: Europe/Paris\nmeasures: [gad7]\n"
            "phases: {termination_sessions: 2}\nrules: {same-day-sessions: false}\n"
            "backup: /srv/{client}.git\nretention: {years: 7, minors_years: 10}\n"
        },
    )
    practice = load_practice_settings(tmp_path)
    assert practice.default_sessions == 12
    assert practice.backup == "/srv/{client}.git"
    assert practice.retention is not None and (practice.retention.years, practice.retention.minors_years) == (7, 10)
    assert practice.course == CourseSettings(
        time_zone="Europe/Paris",
        measures=("gad7",),
        phases=Phases(initial_sessions=3, termination_sessions=2),
        rules={"same-day-sessions": False},
    )


def test_a_practice_without_a_time_zone_seeds_this_machines(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ipt-notes.yaml": "version: 1\n"})
    assert load_practice_settings(tmp_path).course.time_zone == local_time_zone()


def test_the_practice_template_states_the_defaults_and_nothing_else(tmp_path: Path) -> None:
    values = {**practice_defaults(), "time_zone": "UTC"}
    text = render_checked("ipt-notes.yaml", values, None, FileKind.CONFIG, "ipt-notes.yaml")
    write_tree(tmp_path, {"ipt-notes.yaml": text})
    practice = load_practice_settings(tmp_path)
    assert practice.course == CourseSettings(time_zone="UTC")
    assert practice.default_sessions == 16
    assert not re.search(r"\$[a-z]", text)


def test_rule_options_default_from_the_rule_itself() -> None:
    assert rule_option(DEFAULT_COURSE, "measure-cadence", "every") == RULES["measure-cadence"].options["every"]
    assert rule_option(CourseSettings(rules={"measure-cadence": {"every": 6}}), "measure-cadence", "every") == 6
    assert rule_option(CourseSettings(rules={"measure-cadence": {"every": True}}), "measure-cadence", "every") == 4
    assert rule_option(CourseSettings(rules={"draft-unsigned": False}), "draft-unsigned", "days") == 7


def test_today_is_the_date_in_the_course_time_zone() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
        expected = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(zone)).date()
        assert CourseSettings(time_zone=zone).today() == expected

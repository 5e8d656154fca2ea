"""Dates: every date field is a real calendar date, checked by both validators at its line, and a
rule that fails is one finding rather than a crash that hides every other finding."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipt_notes.problems import Severity
from ipt_notes.resources import schemas_dir
from ipt_notes.rules import RULES, Rule, RuleContext
from ipt_notes.rules import Finding as RuleFinding
from ipt_notes.settings import load_course_settings
from tests.conftest import NOTE, SESSION_DATE
from tests.helpers import CANARY, cli, head

CLIENT = "clients/C-0042"


def _definition(name: str) -> re.Pattern[str]:
    definitions = json.loads((schemas_dir() / "definitions.schema.json").read_text())
    return re.compile(definitions["$defs"][name]["pattern"])


def test_the_date_pattern_accepts_exactly_the_days_that_exist() -> None:
    date = _definition("date")
    checked = 0
    for year in (*range(1, 40), *range(1896, 1905), *range(1996, 2105), 2400, 9999):
        for month in range(0, 14):
            for day in range(0, 33):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    dt.date(year, month, day)
                    exists = True
                except ValueError:
                    exists = False
                assert (date.fullmatch(text) is not None) == exists, text
                checked += 1
    assert checked > 60_000
    for text in ("0000-01-01", "0000-02-29", "2026-2-03", "26-02-03", "2026-02-03T10:00"):
        assert date.fullmatch(text) is None, text


def test_the_timestamp_pattern_holds_the_same_calendar() -> None:
    timestamp = _definition("datetime")
    assert timestamp.fullmatch("2024-02-29T23:59:59+14:00")
    assert timestamp.fullmatch("2000-02-29T00:00:00Z")
    for text in ("2026-02-29T10:00:00Z", "1900-02-29T10:00:00Z", "2026-04-31T10:00:00Z", "2026-11-31T10:00:00Z"):
        assert timestamp.fullmatch(text) is None, text


def _set(path: Path, old: str, new: str) -> int:
    """Replace the one line `old` by `new`; the 1-based number of that line."""
    lines = path.read_text().splitlines(keepends=True)
    [number] = [i for i, line in enumerate(lines) if line.rstrip("\n") == old]
    lines[number] = new + "\n"
    path.write_text("".join(lines))
    return number + 1


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("sessions/01.md", f"date: {SESSION_DATE}", "date: 2026-02-30"),
        ("sessions/01.md", f"date: {SESSION_DATE}", "date: 2026-11-31"),
        ("sessions/01.md", f"date: {SESSION_DATE}", "date: 2025-02-29"),
        ("client.yaml", f"start_date: {SESSION_DATE}", "start_date: 2026-02-30"),
    ],
)
def test_an_impossible_date_is_a_schema_problem_at_its_line(
    practice: Path, file: str, old: str, new: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _set(practice / CLIENT / file, old, new)
    for command in (("validate",), ("validate", f"{CLIENT}/{file}"), ("validate", "--format", "json")):
        code, out, err = cli(practice, *command, monkeypatch=monkeypatch)
        assert code == 1, (command, err)
        assert "internal" not in out + err
    problems = json.loads(out)
    [problem] = [p for p in problems if p["path"] == f"{CLIENT}/{file}" and p["rule"].startswith("schema-")]
    assert (problem["line"], problem["severity"]) == (line, "error")
    assert "real calendar date" in problem["message"]
    assert new.split(": ")[1] not in out + err
    # The other clients are still checked, and status still answers for this one.
    assert {p["path"].split("/")[1] for p in problems} <= {"C-0042"}
    code, _, err = cli(practice, "status", "C-0042", monkeypatch=monkeypatch)
    assert code in (0, 1) and "internal" not in err


def test_a_note_dated_on_a_day_that_does_not_exist_cannot_be_signed(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    _set(note, f"date: {SESSION_DATE}", "date: 2026-11-31")
    before, commit = note.read_bytes(), head(practice / CLIENT)
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert "real calendar date" in err
    assert (note.read_bytes(), head(practice / CLIENT)) == (before, commit)


def _course_today(practice: Path) -> dt.date:
    return load_course_settings(practice / CLIENT / "course-settings.yaml", CLIENT).today()


def test_a_note_dated_after_tomorrow_cannot_be_signed_and_one_dated_today_can(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = practice / NOTE
    ahead = (_course_today(practice) + dt.timedelta(days=3)).isoformat()
    line = _set(note, f"date: {SESSION_DATE}", f"date: {ahead}")
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert f"{NOTE}:{line}:7: error [signed-in-future] session 1 is signed but dated after today" in err
    _set(note, f"date: {ahead}", f"date: {_course_today(practice).isoformat()}")
    code, out, err = cli(practice, "sign", NOTE, monkeypatch=monkeypatch)
    assert code == 0, err


def test_the_machines_time_zone_does_not_change_the_verdict(
    signed_practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    verdicts = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):  # UTC+14 and UTC-11
        with monkeypatch.context() as patched:
            patched.setenv("TZ", zone)
            time.tzset()
            verdicts[zone] = cli(signed_practice, "validate", CLIENT, "--format", "json", monkeypatch=patched)[:2]
        time.tzset()
    assert len(set(verdicts.values())) == 1, verdicts
    code, out = verdicts["UTC"]
    assert code == 0
    assert [p for p in json.loads(out) if p["rule"].startswith("signed-")] == []


def _broken(context: RuleContext) -> Iterator[RuleFinding]:
    yield from ()
    raise ValueError(CANARY)


def test_a_rule_that_fails_is_one_finding_and_the_rest_are_still_reported(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, clean, _ = cli(practice, "validate", "--format", "json", monkeypatch=monkeypatch)
    expected = json.loads(clean)
    monkeypatch.setitem(RULES, "x-broken", Rule("x-broken", Severity.ERROR, "fails", _broken, {}))
    code, out, err = cli(practice, "validate", "--format", "json", monkeypatch=monkeypatch)
    assert code == 3
    found = json.loads(out)
    internal = [p for p in found if p["rule"] == "internal-rule-error"]
    assert [p for p in found if p not in internal] == expected
    assert sorted(p["path"] for p in internal) == [f"clients/{c}/client.yaml" for c in ("C-0001", "C-0002", "C-0042")]
    assert all("x-broken" in p["message"] and "ValueError" in p["message"] for p in internal)
    assert CANARY not in out + err
    # Named alone, a note is still checked, and the failure still reported: it may hide findings.
    code, out, err = cli(practice, "validate", NOTE, monkeypatch=monkeypatch)
    assert code == 3
    assert "error [internal-rule-error] the rule x-broken failed on client C-0042 (ValueError)" in out
    assert CANARY not in out + err

"""`ipt-notes status`: each course at a glance, for one client or the whole practice, in a table or JSON."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ipt_notes.loader import read_document
from tests.helpers import CANARY, cli, script

HEADER = ["client", "session", "phase", "PHQ-9", "drafts", "errors", "warnings"]
FIELDS = [
    "client",
    "session",
    "planned",
    "phase",
    "phq9_total",
    "phq9_band",
    "phq9_session",
    "drafts",
    "errors",
    "warnings",
]


def cells(line: str) -> list[str]:
    """The cells of a table row: columns are separated by at least two spaces."""
    return re.split(r" {2,}", line.strip())


def phq9_of(note: Path) -> tuple[int, str]:
    """A note's PHQ-9 total and its band by the published cut-offs (0-4 minimal, 5-9 mild, 10-14 moderate)."""
    data = read_document(note, front_matter=True).data
    assert isinstance(data, dict)
    total = sum(data["measures"]["phq9"])
    assert total < 15, "the examples stay in the bands named here"
    return total, "minimal" if total < 5 else "mild" if total < 10 else "moderate"


def counts(cwd: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The errors and warnings `validate` reports for a client, which status must repeat."""
    _, out, _ = cli(cwd, "validate", target, "--format", "json", monkeypatch=monkeypatch)
    found = json.loads(out)
    errors = sum(1 for problem in found if problem["severity"] == "error")
    return errors, len(found) - errors


def status_json(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    code, out, err = cli(cwd, "status", *args, "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, err
    assert CANARY not in out + err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_status_shows_every_client_from_the_practice_root(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(practice, "status", monkeypatch=monkeypatch)
    assert code == 0, err
    assert CANARY not in out + err
    lines = out.splitlines()
    assert cells(lines[0]) == HEADER
    assert [cells(line)[0] for line in lines[1:]] == ["C-0001", "C-0002", "C-0042"]
    total, band = phq9_of(practice / "clients/C-0001/sessions/16.md")
    errors, warnings = counts(practice, "clients/C-0001", monkeypatch)
    assert cells(lines[1]) == [
        "C-0001",
        "16 of 16",
        "termination",
        f"{total} {band} (s16)",
        "-",
        str(errors),
        str(warnings),
    ]
    errors, warnings = counts(practice, "clients/C-0002", monkeypatch)
    assert cells(lines[2]) == ["C-0002", "-", "-", "-", "-", str(errors), str(warnings)]
    total, band = phq9_of(practice / "clients/C-0042/sessions/01.md")
    errors, warnings = counts(practice, "clients/C-0042", monkeypatch)
    assert cells(lines[3]) == ["C-0042", "1 of 16", "initial", f"{total} {band} (s1)", "1", str(errors), str(warnings)]


def test_status_json_for_every_client_from_the_installed_script(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = script("status", "--format", "json", cwd=practice)
    assert (result.returncode, result.stderr) == (0, "")
    assert CANARY not in result.stdout
    rows = json.loads(result.stdout)
    assert [list(row) for row in rows] == [FIELDS] * 3
    first, second, third = rows
    total, band = phq9_of(practice / "clients/C-0001/sessions/16.md")
    errors, warnings = counts(practice, "clients/C-0001", monkeypatch)
    assert first == {
        "client": "C-0001",
        "session": 16,
        "planned": 16,
        "phase": "termination",
        "phq9_total": total,
        "phq9_band": band,
        "phq9_session": 16,
        "drafts": [],
        "errors": errors,
        "warnings": warnings,
    }
    assert errors == 0
    assert (second["client"], second["session"], second["planned"], second["drafts"]) == ("C-0002", None, 12, [])
    assert (third["client"], third["session"], third["phase"], third["drafts"]) == ("C-0042", 1, "initial", [1])


def test_one_client_by_id_by_folder_or_from_inside_it(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = practice / "clients" / "C-0042"
    expected = status_json(practice, "C-0042", monkeypatch=monkeypatch)
    assert len(expected) == 1
    assert (expected[0]["client"], expected[0]["drafts"]) == ("C-0042", [1])
    assert (expected[0]["errors"], expected[0]["warnings"]) == counts(practice, "clients/C-0042", monkeypatch)
    assert status_json(practice, "clients/C-0042", monkeypatch=monkeypatch) == expected
    assert status_json(client, monkeypatch=monkeypatch) == expected
    assert status_json(client / "sessions", monkeypatch=monkeypatch) == expected
    assert status_json(tmp_path, "C-0042", "--root", str(practice), monkeypatch=monkeypatch) == expected
    code, out, err = cli(client, "status", monkeypatch=monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert cells(lines[0]) == HEADER
    assert cells(lines[1])[:5] == ["C-0042", "1 of 16", "initial", f"{expected[0]['phq9_total']} mild (s1)", "1"]


def test_status_works_in_a_clone_outside_the_practice(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = status_json(practice, "C-0001", monkeypatch=monkeypatch)
    clone = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "-q", str(practice / "clients" / "C-0001"), str(clone)], check=True)
    assert status_json(clone, monkeypatch=monkeypatch) == inside
    assert status_json(tmp_path, "./elsewhere", monkeypatch=monkeypatch) == inside
    assert inside[0]["session"] == 16


def test_status_counts_the_problems_of_a_client(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    note = practice / "clients/C-0042/sessions/01.md"
    note.write_text(note.read_text().replace("phase: initial", "phase: opening"))
    [row] = status_json(practice, "C-0042", monkeypatch=monkeypatch)
    errors, warnings = counts(practice, "clients/C-0042", monkeypatch)
    assert errors >= 1
    assert (row["errors"], row["warnings"]) == (errors, warnings)
    assert (row["session"], row["drafts"]) == (1, [1])


def test_status_refuses_an_unknown_client_and_a_folder_outside_a_practice(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(practice, "status", "C-0099", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "no client C-0099" in err
    outside = tmp_path / "outside"
    outside.mkdir()
    code, out, err = cli(outside, "status", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "not in a practice" in err

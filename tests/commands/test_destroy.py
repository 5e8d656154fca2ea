"""`ipt-notes destroy`: remove a closed course once its retention period has passed, and register the act.

C-0001 is a closed course whose last session is 2025-04-12, begun when the client was a minor
(age_group: adolescent); C-0042 is an open course. Destruction is refused, changing nothing,
without the ID confirmed, while a course is open, without a retention period, and before the
period has passed; once allowed it touches no other client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import CANARY, IDENTITY, cli, git, script

LAST_SESSION = dt.date(2025, 4, 12)
OTHERS = ("C-0002", "C-0042")


def set_retention(practice: Path, lines: str) -> None:
    config = practice / "ipt-notes.yaml"
    config.write_text(config.read_text() + "retention:\n" + lines)


def digest(folder: Path) -> dict[str, str]:
    """Every file under `folder`, .git included, by relative path: its SHA-256 (a link: its target)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = "link:" + str(path.readlink())
        elif path.is_file():
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[relative] = "dir"
    return found


def assert_nothing_destroyed(practice: Path) -> None:
    assert (practice / "clients" / "C-0001" / ".git").is_dir()
    assert (practice / "clients" / "C-0001" / "sessions" / "16.md").is_file()
    assert not (practice / "register.yaml").exists()


@pytest.mark.parametrize(
    "confirm", [[], ["--confirm", "C-0002"], ["--confirm", "c-0001"]], ids=["none", "other", "case"]
)
def test_destroy_needs_the_id_repeated(practice: Path, monkeypatch: pytest.MonkeyPatch, confirm: list[str]) -> None:
    set_retention(practice, "  years: 1\n")

    code, out, err = cli(practice, "destroy", "C-0001", *confirm, monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "--confirm C-0001" in err
    assert_nothing_destroyed(practice)


def test_destroy_refuses_an_open_course(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_retention(practice, "  years: 1\n")
    before = digest(practice / "clients" / "C-0042")

    code, out, err = cli(practice, "destroy", "C-0042", "--confirm", "C-0042", monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "not closed" in err
    assert digest(practice / "clients" / "C-0042") == before
    assert not (practice / "register.yaml").exists()


def test_destroy_refuses_without_a_retention_period(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert "retention" in err
    assert "nothing was destroyed" in err
    assert_nothing_destroyed(practice)


def test_destroy_refuses_before_the_period_has_passed(practice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_retention(practice, "  years: 5\n")
    today = dt.datetime.now(dt.UTC).date()  # the practice's time zone is this machine's (UTC here or close)
    remaining = (LAST_SESSION.replace(year=LAST_SESSION.year + 5) - today).days

    code, out, err = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)

    assert (code, out) == (2, "")
    assert re.search(rf"\b({remaining - 1}|{remaining}|{remaining + 1}) days\b", err), err
    assert not re.search(r"\d{4}-\d{2}-\d{2}", err)
    assert_nothing_destroyed(practice)


@pytest.mark.parametrize(("minors_years", "allowed"), [(50, False), (1, True)])
def test_destroy_keeps_a_minors_course_for_the_minors_period(
    practice: Path, monkeypatch: pytest.MonkeyPatch, minors_years: int, allowed: bool
) -> None:
    assert dt.date.today() > LAST_SESSION.replace(year=LAST_SESSION.year + 1)
    set_retention(practice, f"  years: 1\n  minors_years: {minors_years}\n")

    code, out, err = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)

    if allowed:
        assert code == 0, err
        assert not (practice / "clients" / "C-0001").exists()
        entry = yaml.safe_load((practice / "register.yaml").read_text())["destructions"][0]
        assert entry["retention_years"] == 1
    else:
        assert (code, out) == (2, "")
        assert "50 years" in err
        assert_nothing_destroyed(practice)


def test_destroy_removes_the_course_and_its_copies_and_registers_it(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipt_notes.commands.backup import add_backup

    today = dt.datetime.now(dt.UTC).date()
    assert today > LAST_SESSION.replace(year=LAST_SESSION.year + 1)
    set_retention(practice, "  years: 1\n")
    backups = tmp_path / "backup"
    add_backup(practice, f"{backups}/{{client}}.git")
    handover = tmp_path / "handover"
    code, _, err = cli(practice, "transfer", "C-0001", str(handover), monkeypatch=monkeypatch)
    assert code == 0, err
    rendered = practice / "rendered"
    rendered.mkdir()
    (rendered / "C-0001-review.html").write_text("<p>review</p>\n")
    (rendered / "C-0002-review.html").write_text("<p>review</p>\n")
    kept = {client: digest(practice / "clients" / client) for client in OTHERS}
    kept_backups = {client: digest(backups / f"{client}.git") for client in OTHERS}
    folder = practice / "clients" / "C-0001"
    backup = backups / "C-0001.git"

    done = script("destroy", "C-0001", "--confirm", "C-0001", cwd=practice)

    assert done.returncode == 0, done.stderr
    removed = [(practice / line).resolve() for line in done.stdout.splitlines()]
    assert sorted(removed) == sorted([folder.resolve(), backup.resolve(), (rendered / "C-0001-review.html").resolve()])
    assert not folder.exists()
    assert not backup.exists()
    assert not (rendered / "C-0001-review.html").exists()
    # What it cannot reach is named, and left where it is.
    assert str(handover.resolve()) in done.stderr
    assert (handover / "sessions" / "16.md").is_file()
    # Every other client, and its backup, byte for byte as it was.
    assert {client: digest(practice / "clients" / client) for client in OTHERS} == kept
    assert {client: digest(backups / f"{client}.git") for client in OTHERS} == kept_backups
    assert (rendered / "C-0002-review.html").is_file()
    # The register: IDs, dates, who and where; nothing of the notes.
    text = (practice / "register.yaml").read_text()
    register = yaml.safe_load(text)
    (entry,) = register["destructions"]
    assert set(entry) == {"client", "date", "by", "last_session", "retention_years", "removed", "not_removed"}
    assert entry["client"] == "C-0001"
    assert entry["date"] in {today.isoformat(), dt.date.today().isoformat()}
    assert entry["by"] == IDENTITY
    assert entry["last_session"] == LAST_SESSION.isoformat()
    assert entry["retention_years"] == 1
    assert sorted(Path(p).resolve() for p in entry["removed"]) == sorted(removed)
    assert [Path(p).resolve() for p in entry["not_removed"]] == [handover.resolve()]
    assert [t["client"] for t in register["transfers"]] == ["C-0001"]
    assert CANARY not in text + done.stdout + done.stderr
    assert "Recurrent depressive" not in text
    code, out, err = cli(practice, "validate", "register.yaml", monkeypatch=monkeypatch)
    assert code == 0, out + err


def test_destroy_refuses_a_course_it_cannot_date_or_that_is_not_committed(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_retention(practice, "  years: 1\n")
    client = practice / "clients" / "C-0001"
    note = client / "sessions" / "16.md"
    original = note.read_text()
    note.write_text(original.replace("date: 2025-04-12", "date: [2025-04-12"))
    code, out, err = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)
    assert (code, out) == (3, "")
    assert "not committed" in err
    git(client, "commit", "-q", "--no-verify", "-am", "broken date")
    code, out, err = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "the date of session 16 cannot be read" in err
    assert_nothing_destroyed(practice)


def test_destroy_takes_an_id_never_a_path(practice: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_retention(practice, "  years: 1\n")
    clone = tmp_path / "supervisor-copy"
    git(tmp_path, "clone", "-q", str(practice / "clients" / "C-0001"), str(clone))
    code, out, err = cli(practice, "destroy", str(clone), "--confirm", str(clone), monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "pseudonymous code" in err
    assert (clone / ".git").is_dir()
    assert_nothing_destroyed(practice)


def test_destroy_leaves_the_rendered_documents_of_a_client_whose_id_starts_alike(
    practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_retention(practice, "  years: 1\n")
    rendered = practice / "rendered"
    rendered.mkdir()
    names = ["C-0001-review.html", "C-0001-session-03.pdf", "C-0001-1-review.html", "C-00010-review.html"]
    for name in names:
        (rendered / name).write_text("x")
    code, out, _ = cli(practice, "destroy", "C-0001", "--confirm", "C-0001", monkeypatch=monkeypatch)
    assert code == 0
    assert sorted(p.name for p in rendered.iterdir()) == ["C-0001-1-review.html", "C-00010-review.html"]
    assert f"{rendered / 'C-0001-review.html'}\n" in out

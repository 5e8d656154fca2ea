"""Shared fixtures: a hermetic git, and practices built once per test session and copied per test.

Building a practice runs real commands with real git and hooks, which costs seconds; each test
gets a private copy of one built at the start instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CANARY, GIT_ENV, VALID, complete_initial, copy_tree, git, relink_addendum

NOTE = "clients/C-0042/sessions/01.md"
"""The first note of C-0042 in the built practices, relative to the practice."""
SESSION_DATE = (dt.date.today() - dt.timedelta(days=2)).isoformat()
"""The date of that note and of C-0042's start: recent, so that it is signed in time on the day the
tests run (a fixed date would age into late signatures)."""


def later(days: int) -> str:
    """The date `days` after SESSION_DATE (before it, when negative)."""
    return (dt.date.fromisoformat(SESSION_DATE) + dt.timedelta(days=days)).isoformat()


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("IPT_NOTES_DEBUG", raising=False)


@pytest.fixture(scope="session")
def _session_env() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in GIT_ENV}
    os.environ.update(GIT_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def expected_invalid() -> dict[str, list[list[object]]]:
    from tests.helpers import INVALID

    loaded: dict[str, list[list[object]]] = json.loads((INVALID / "expected.json").read_text())
    return loaded


def _build_practice(folder: Path) -> Path:
    """A practice with C-0001 and C-0002 (the example courses, each a repository of its own) and
    C-0042, a new client whose first note is written and committed as a draft."""
    from ipt_notes.client_repository import configure
    from ipt_notes.commands.init import init_practice
    from ipt_notes.commands.new_client import new_client
    from ipt_notes.commands.new_session import new_session
    from ipt_notes.git import commit_paths, open_repository

    practice = init_practice(folder).root
    for client in ("C-0001", "C-0002"):
        target = copy_tree(VALID / "clients" / client, practice / "clients" / client)
        git(target, "init", "-q", "-b", "main")
        repository = open_repository(target)
        configure(repository)
        addenda = sorted(target.glob("sessions/*.addendum-*.md"))
        files = sorted(p for p in target.rglob("*") if p.is_file() and ".git" not in p.parts and p not in addenda)
        commit_paths(repository, files, "notes")
        signing = git(target, "rev-parse", "HEAD").strip()
        for addendum in addenda:
            # The example's addendum names a commit of another history: link it to this one's.
            relink_addendum(addendum, signing)
        if addenda:
            commit_paths(repository, addenda, "addenda")
    new_client(practice, "C-0042", sessions=16, start_date=SESSION_DATE)
    note = new_session(practice, "C-0042", date=SESSION_DATE)
    complete_initial(note, homework=CANARY)
    git(note.parent.parent, "commit", "-q", "-am", "session 1 written")
    return practice


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory, _session_env: None) -> Path:
    return _build_practice(tmp_path_factory.mktemp("built") / "practice")


@pytest.fixture(scope="session")
def _built_signed(tmp_path_factory: pytest.TempPathFactory, _built: Path, _session_env: None) -> Path:
    """The built practice with C-0042's first note signed, then amended by an addendum."""
    from ipt_notes.commands.amend import amend_note
    from ipt_notes.commands.sign import sign_notes

    practice = copy_tree(_built, tmp_path_factory.mktemp("built-signed") / "practice")
    sign_notes(practice, [practice / NOTE])
    amend_note(practice, practice / NOTE, today=None)
    return practice


@pytest.fixture
def practice(_built: Path, tmp_path: Path) -> Path:
    """A private copy of the built practice (see `_build_practice`)."""
    return copy_tree(_built, tmp_path / "practice")


@pytest.fixture
def signed_practice(_built_signed: Path, tmp_path: Path) -> Path:
    """A private copy of the built practice whose C-0042 note 1 is signed and amended."""
    return copy_tree(_built_signed, tmp_path / "signed-practice")

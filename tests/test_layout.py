"""The layout: what kind each file is, in a practice and in a client's clone, and how clients are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_notes.errors import PracticeNotFound, RefusedInput, UnsafeClientId
from ipt_notes.layout import (
    FileKind,
    client_root_of,
    find_client_folder,
    kind_of,
    notes_files,
    practice_clients,
    resolve_client,
)
from tests.helpers import VALID, copy_tree, write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    practice = copy_tree(VALID, tmp_path / "practice")
    copy_tree(practice / "clients" / "C-0001", tmp_path / "clone")
    return tmp_path


def test_a_file_has_the_same_kind_in_a_practice_and_in_a_clone_of_its_client(tree: Path) -> None:
    for base in (tree / "practice" / "clients" / "C-0001", tree / "clone"):
        assert kind_of(base / "client.yaml") is FileKind.CLIENT
        assert kind_of(base / "course-settings.yaml") is FileKind.COURSE_SETTINGS
        assert kind_of(base / "sessions" / "05.md") is FileKind.SESSION
        assert kind_of(base / "sessions" / "16.addendum-1.md") is FileKind.ADDENDUM
        assert kind_of(base / "review.md") is FileKind.REVIEW
        assert kind_of(base / "notes.md") is None
        assert kind_of(base / "sessions" / "5.md") is None
        assert kind_of(base / "private" / "sessions" / "05.md") is None
    assert kind_of(tree / "practice" / "ipt-notes.yaml") is FileKind.CONFIG
    assert kind_of(tree / "practice" / "register.yaml") is FileKind.REGISTER
    assert kind_of(tree / "clone" / "register.yaml") is None


def test_the_client_folder_is_found_from_anywhere_inside_it(tree: Path) -> None:
    client = tree / "practice" / "clients" / "C-0001"
    assert client_root_of(client / "sessions") == client
    assert find_client_folder(client / "sessions") == client
    assert find_client_folder(tree / "clone" / "sessions") == tree / "clone"
    assert find_client_folder(tree / "practice") is None
    assert find_client_folder(tree / "practice" / "clients") is None


def test_clients_are_named_by_id_by_folder_or_by_the_current_folder(tree: Path) -> None:
    practice = tree / "practice"
    client = practice / "clients" / "C-0001"
    assert resolve_client("C-0001", cwd=practice) == (client, practice)
    assert resolve_client("C-0001", cwd=tree, root=practice) == (client, practice)
    assert resolve_client("clients/C-0001", cwd=practice) == (client, practice)
    assert resolve_client(None, cwd=client / "sessions") == (client, practice)
    assert resolve_client(None, cwd=tree / "clone") == (tree / "clone", None)
    assert resolve_client("../clone", cwd=practice) == (tree / "clone", None)


@pytest.mark.parametrize("name", ["../C-0001", "C 0001", "-x", "x" * 41, "é"])
def test_unsafe_or_unknown_clients_are_refused(tree: Path, name: str) -> None:
    with pytest.raises(RefusedInput):
        resolve_client(name, cwd=tree / "practice")


def test_an_unknown_id_and_a_folder_that_is_no_client_are_refused(tree: Path) -> None:
    with pytest.raises(RefusedInput, match="no client C-0404"):
        resolve_client("C-0404", cwd=tree / "practice")
    with pytest.raises(RefusedInput, match="not a client folder"):
        resolve_client("practice/clients", cwd=tree)
    with pytest.raises(UnsafeClientId):
        resolve_client("C-1!", cwd=tree / "practice")
    with pytest.raises(PracticeNotFound):
        resolve_client("C-0001", cwd=tree)
    with pytest.raises(RefusedInput, match="name the client"):
        resolve_client(None, cwd=tree / "practice")


def test_practice_clients_lists_real_client_folders_only(tree: Path) -> None:
    practice = tree / "practice"
    (practice / "clients" / "not a client").mkdir()
    write_tree(practice, {"clients/README": "x"})
    assert [folder.name for folder in practice_clients(practice)] == ["C-0001", "C-0002"]
    # A link where a client folder should be is never followed, and never passed over in silence.
    (practice / "clients" / "C-0009").symlink_to(practice / "clients" / "C-0001")
    with pytest.raises(RefusedInput, match="clients/C-0009: a link where a client folder should be"):
        practice_clients(practice)
    assert [folder.name for folder in practice_clients(practice, refuse_links=False)] == ["C-0001", "C-0002"]


def test_walking_a_folder_finds_each_client_and_the_practice_files(tree: Path) -> None:
    write_tree(tree / "practice", {"clients/C-0001/private/01.md": "never read", "clients/C-0001/sessions/x.md": "?"})
    found = list(notes_files([tree], tree))
    shown = [entry.shown for entry in found]
    assert "practice/ipt-notes.yaml" in shown
    assert "clone/sessions/05.md" in shown
    assert "practice/clients/C-0001/sessions/05.md" in shown
    assert not [entry for entry in shown if "private" in entry]
    # A file in sessions/ whose name the layout does not give is yielded as a stray, not as a note.
    [stray] = [entry for entry in found if entry.shown.endswith("x.md")]
    assert (stray.kind, stray.rule) == (None, "stray-file")
    clients = {entry.client for entry in found if entry.kind is FileKind.SESSION}
    assert clients == {tree / "clone", tree / "practice" / "clients" / "C-0001"}
    sessions = list(notes_files([Path("practice/clients/C-0001/sessions")], tree))
    assert {entry.kind for entry in sessions} == {FileKind.SESSION, FileKind.ADDENDUM, None}  # x.md, the stray

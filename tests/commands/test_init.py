"""`ipt-notes init`: a practice folder (settings, .gitignore, clients/) that is not a git repository itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ipt_notes.loader import read_document
from tests.helpers import cli, git, mode, script

PRACTICE_FILES = ("ipt-notes.yaml", ".gitignore")


def settings_of(practice: Path) -> dict[str, object]:
    data = read_document(practice / "ipt-notes.yaml", front_matter=False).data
    assert isinstance(data, dict)
    return data


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Every path under a folder with its bytes (files), mode and modification time."""
    return {
        str(path.relative_to(folder)): (
            path.read_bytes() if path.is_file() else None,
            mode(path),
            path.lstat().st_mtime_ns,
        )
        for path in [folder, *sorted(folder.rglob("*"))]
    }


def test_init_writes_valid_settings_a_gitignore_and_a_private_clients_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    code, out, err = cli(tmp_path, "init", "notes", monkeypatch=monkeypatch)
    assert code == 0, err
    practice = tmp_path / "notes"
    assert sorted(out.splitlines()) == ["notes/.gitignore", "notes/ipt-notes.yaml"]
    assert f"practice ready: {practice}" in err
    assert sorted(p.name for p in practice.iterdir()) == [".gitignore", "clients", "ipt-notes.yaml"]
    assert list((practice / "clients").iterdir()) == []
    # The practice folder is not a repository: each client will be one of its own.
    assert not (practice / ".git").exists()
    for folder in (practice, practice / "clients"):
        assert mode(folder) == 0o700, folder
    for name in PRACTICE_FILES:
        assert mode(practice / name) == 0o600, name
    # The settings are valid and record this machine's time zone, with the default course.
    settings = settings_of(practice)
    assert settings["version"] == 1
    assert settings["time_zone"] == "America/New_York"
    assert settings["measures"] == ["phq9"]
    assert settings["phases"] == {"initial_sessions": 3, "termination_sessions": 3}
    code, out, err = cli(practice, "validate", "ipt-notes.yaml", monkeypatch=monkeypatch)
    assert (code, out) == (0, ""), err
    assert "checked 1 file: 0 errors, 0 warnings" in err


def test_the_gitignore_keeps_every_client_out_of_a_repository_of_the_practice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "/clients/" in (tmp_path / ".gitignore").read_text().splitlines()
    # A clinician may keep the practice's settings in git: the clients never go in with them.
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "clients" / "C-0042").mkdir()
    (tmp_path / "clients" / "C-0042" / "client.yaml").write_text("client: C-0042\n")
    git(tmp_path, "add", "-A")
    assert git(tmp_path, "diff", "--cached", "--name-only").split() == [".gitignore", "ipt-notes.yaml"]


def test_init_twice_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    practice = tmp_path / "notes"
    code, _, err = cli(tmp_path, "init", "notes", monkeypatch=monkeypatch)
    assert code == 0, err
    before = snapshot(practice)
    # Again, from elsewhere by the installed script, then from inside with no path.
    result = script("init", str(practice), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    assert "nothing new to write" in result.stderr
    code, out, err = cli(practice, "init", monkeypatch=monkeypatch)
    assert (code, out) == (0, "")
    assert "nothing new to write" in err
    assert snapshot(practice) == before


def test_init_keeps_the_files_a_folder_already_has(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    (tmp_path / "README.md").write_text("my practice\n")
    code, out, err = cli(tmp_path, "init", ".", monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.splitlines() == ["ipt-notes.yaml"]
    assert (tmp_path / ".gitignore").read_text() == "mine\n"
    assert (tmp_path / "README.md").read_text() == "my practice\n"
    assert (tmp_path / "clients").is_dir()


def test_init_refuses_a_path_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "notes"
    target.write_bytes(b"a file of mine")
    code, out, err = cli(tmp_path, "init", "notes", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "exists and is not a folder" in err
    assert target.read_bytes() == b"a file of mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


@pytest.mark.parametrize("where", ["clients/C-0042", "clients/C-0042/sessions", "clients/C-0042/new-practice"])
def test_init_refuses_a_folder_inside_a_client(practice: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    client = practice / "clients" / "C-0042"
    before = snapshot(client)
    code, out, err = cli(practice, "init", where, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "inside a client's folder" in err
    assert snapshot(client) == before
    assert git(client, "status", "--porcelain") == ""


@pytest.mark.parametrize("where", ["clients", "clients/C-0099"])
def test_init_refuses_the_clients_folder_of_a_practice(
    practice: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # A practice there would be listed among the practice's clients: a practice holds clients, not practices.
    before = snapshot(practice / "clients")
    code, out, err = cli(practice, "init", where, monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert err.startswith("ipt-notes: ")
    assert snapshot(practice / "clients") == before
    code, out, _ = cli(practice, "status", "--format", "json", monkeypatch=monkeypatch)
    assert code == 0
    assert [row["client"] for row in json.loads(out)] == ["C-0001", "C-0002", "C-0042"]


def test_init_refuses_inside_a_clone_of_a_client(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "elsewhere"
    subprocess.run(["git", "clone", "-q", str(practice / "clients" / "C-0042"), str(clone)], check=True)
    code, out, err = cli(clone / "sessions", "init", monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert "inside a client's folder" in err
    assert not (clone / "sessions" / "ipt-notes.yaml").exists()
    assert not (clone / "sessions" / "clients").exists()
    assert git(clone, "status", "--porcelain") == ""

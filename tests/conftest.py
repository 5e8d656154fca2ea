"""Shared fixtures: example notes, a CLI runner, and hermetic notes repositories in tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

EXAMPLES = Path(__file__).parent / "examples"
VALID = EXAMPLES / "valid"
INVALID = EXAMPLES / "invalid"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "T-01",
    "GIT_AUTHOR_EMAIL": "t01@clinic.example",
    "GIT_COMMITTER_NAME": "T-01",
    "GIT_COMMITTER_EMAIL": "t01@clinic.example",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def expected_invalid() -> dict[str, list[list[object]]]:
    loaded: dict[str, list[list[object]]] = json.loads((INVALID / "expected.json").read_text())
    return loaded


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Build a tree from {relative path: content} under root."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def notes_repo(tmp_path: Path) -> Callable[..., Path]:
    """A git notes repository holding a copy of the valid example course, plus any extra files."""

    def make(extra: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "notes"
        shutil.copytree(VALID, root)
        write_tree(root, extra or {})
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "notes"], check=True)
        return root

    return make


def enable_ssh_signing(repo: Path, folder: Path) -> None:
    """Have git sign every commit in `repo` with a new SSH key, trusted for the test author."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = folder / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = folder / "allowed_signers"
    allowed.write_text(f"{GIT_ENV['GIT_AUTHOR_EMAIL']} {(folder / 'key.pub').read_text()}")
    for name, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", str(key)),
        ("commit.gpgsign", "true"),
        ("gpg.ssh.allowedSignersFile", str(allowed)),
    ):
        subprocess.run(["git", "-C", str(repo), "config", name, value], check=True)

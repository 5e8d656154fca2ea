"""Shared test helpers: the CLI, git, the installed script, canaries and example trees.

Test modules import from here and never from each other.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipt_notes.cli import app
from ipt_notes.schemas import load_schema

EXAMPLES = Path(__file__).parent / "examples"
VALID = EXAMPLES / "valid"
INVALID = EXAMPLES / "invalid"
README = Path(__file__).parents[1] / "README.md"
SCRIPT = Path(sys.executable).parent / "ipt-notes"
CANARY = "CANARY-5e1d"
"""Text placed in notes that must never appear in any output, log or commit message."""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "T-01",
    "GIT_AUTHOR_EMAIL": "t01@clinic.example",
    "GIT_COMMITTER_NAME": "T-01",
    "GIT_COMMITTER_EMAIL": "t01@clinic.example",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
IDENTITY = f"{GIT_ENV['GIT_AUTHOR_NAME']} <{GIT_ENV['GIT_AUTHOR_EMAIL']}>"


def cli(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the command line in-process from `cwd`: exit code, stdout, stderr."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_refused(cwd: Path, command: list[str], cases: dict[str, str], *, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each argument in `cases`, given to `command`, exits 2 with nothing on stdout and a message
    holding the text it maps to."""
    answers = {}
    for argument, message in cases.items():
        code, out, err = cli(cwd, *command, argument, monkeypatch=monkeypatch)
        answers[argument] = (code, out, message if message in err else err)
    assert answers == {argument: (2, "", message) for argument, message in cases.items()}


def script(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a real process, as a clinician or a hook would."""
    environment = {k: v for k, v in os.environ.items() if k != "IPT_NOTES_DEBUG"}
    environment.update(env or {})
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=120)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def head(repo: Path, rev: str = "HEAD") -> str:
    """The full id of a commit of a repository (HEAD by default)."""
    return git(repo, "rev-parse", rev).strip()


def fields(path: Path) -> dict[str, object]:
    """The fields of a notes file: a note's front matter, or a YAML file's mapping."""
    from ipt_notes.loader import read_document

    data = read_document(path, front_matter=path.suffix == ".md").data
    assert isinstance(data, dict)
    return data


def commit_edit(repo: Path, relative: str, old: str | bytes, new: str | bytes, message: str = "by hand") -> str:
    """Change one tracked file by hand and commit it past the hook, as a tamperer would; the new HEAD."""
    path = repo / relative
    raw = path.read_bytes()
    before = old.encode() if isinstance(old, str) else old
    after = new.encode() if isinstance(new, str) else new
    assert before in raw, (relative, before)
    path.write_bytes(raw.replace(before, after, 1))
    git(repo, "commit", "-q", "--no-verify", "-am", message)
    return head(repo)


def commits(repo: Path) -> list[str]:
    """The subjects of a repository's commits, newest first."""
    return git(repo, "log", "--format=%s").splitlines()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


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


def copy_tree(source: Path, target: Path) -> Path:
    """A copy of a practice or a client, git repositories included, links kept as links."""
    shutil.copytree(source, target, symlinks=True)
    return target


def complete_initial(path: Path, homework: str = "Call F once this week.") -> None:
    """Answer every task of a scaffolded initial-phase note, as a clinician would."""
    text = path.read_text()
    text = text.replace("techniques: []", "techniques: [psychoeducation]")
    text = text.replace("suicidal_ideation: null", "suicidal_ideation: none")
    text = text.replace("measures: {}", "measures: {phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0]}")
    text = text.replace("  assigned: null", f"  assigned: {homework}")
    for task in load_schema("session")["$defs"]["initial_tasks"]["properties"]:
        text = text.replace(f"  {task}: null", f"  {task}: true")
    path.write_text(text)


def make_repository(folder: Path, message: str = "notes") -> Path:
    """Make an existing folder a git repository of its own and commit everything in it."""
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--no-verify", "-m", message)
    return folder


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
        git(repo, "config", name, value)


def resign(raw: bytes) -> bytes:
    """A signed note with its content_hash line recomputed, as a tamperer would."""
    import re

    from ipt_notes.signing import content_hash

    new = b"content_hash: " + content_hash(raw).encode()
    return re.sub(rb"^content_hash: sha256:[0-9a-f]{64}", new, raw, count=1, flags=re.MULTILINE)


def relink_addendum(addendum: Path, commit: str) -> None:
    """Point a signed addendum at another signing commit, and sign it again (its hash recomputed)."""
    import re

    raw = re.sub(rb"  commit: [0-9a-f]{40}", b"  commit: " + commit.encode(), addendum.read_bytes())
    # The addendum's own hash is its last content_hash line; the amended note's is indented.
    head, _, tail = raw.rpartition(b"\ncontent_hash: ")
    from ipt_notes.signing import content_hash

    addendum.write_bytes(head + b"\ncontent_hash: " + content_hash(raw).encode() + tail[len("sha256:") + 64 :])

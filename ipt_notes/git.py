"""The git wrapper: the one module that runs git.

Everything that writes goes through the git command line, so that the clinician's identity,
hooks and commit signing apply exactly as they would by hand. Reads on the paths a clinician
waits for (which file is next, what the index holds) use the command line as well: importing
GitPython costs about 80 ms, more than the reads themselves.

Commit messages carry IDs, numbers and the action, never note content.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.errors import GitProblem, NotCommitted

__all__ = [
    "Repository",
    "commit_paths",
    "git_available",
    "init_repository",
    "open_repository",
    "run_git",
]

# Never let git guess an identity from the host name: a record must name its author.
_STRICT_IDENTITY = ("-c", "user.useConfigOnly=true")


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(
    args: Sequence[str], *, cwd: Path, check: bool = True, input_data: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd`; a failure raises GitProblem naming the git command, not its output."""
    if not git_available():
        raise GitProblem("git is not installed or not on PATH; install git and try again")
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input_data, check=False)
    if check and result.returncode != 0:
        raise GitProblem(f"git {args[0]} failed (exit {result.returncode})")
    return result


@dataclass(frozen=True)
class Repository:
    """A git work tree and where git keeps its files."""

    work_tree: Path
    git_dir: Path
    object_format: str = "sha1"

    def git(
        self, *args: str, check: bool = True, input_data: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return run_git(args, cwd=self.work_tree, check=check, input_data=input_data)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start git in the background; the caller collects it with communicate()."""
        if not git_available():
            raise GitProblem("git is not installed or not on PATH; install git and try again")
        return subprocess.Popen(["git", *args], cwd=self.work_tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def git_path(self, name: str) -> Path:
        """A path inside the git folder, as git resolves it (hooks honour core.hooksPath)."""
        out = self.git("rev-parse", "--git-path", name).stdout.decode().strip()
        path = Path(out)
        return path if path.is_absolute() else self.work_tree / path

    def preflight(self) -> str:
        """Refuse, in one sentence each, the states in which a command must not commit.

        Returns the author identity git will record, which the preflight had to establish anyway.
        """
        head = self.git("symbolic-ref", "-q", "HEAD", check=False)
        if head.returncode != 0:
            raise GitProblem(
                "detached HEAD: check out a branch first (git switch main), so that the commit is not lost"
            )
        for marker, what in (
            ("MERGE_HEAD", "a merge"),
            ("rebase-merge", "a rebase"),
            ("rebase-apply", "a rebase or git am"),
            ("CHERRY_PICK_HEAD", "a cherry-pick"),
            ("REVERT_HEAD", "a revert"),
        ):
            if (self.git_dir / marker).exists():
                raise GitProblem(f"{what} is in progress: finish or abort it first")
        if not self._index_unlocked():
            raise GitProblem(
                f"git's index is locked ({self.git_dir / 'index.lock'}): another git command is running, or one "
                "crashed; if none is running, delete that file"
            )
        return self.author()

    def _index_unlocked(self, wait_seconds: float = 2.0) -> bool:
        """Whether git's index lock is free; a lock another git command holds is given time to go."""
        lock = self.git_dir / "index.lock"
        deadline = time.monotonic() + wait_seconds
        while lock.exists():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def author(self) -> str:
        """The author identity git will record; refused when it is not configured."""
        result = self.git(*_STRICT_IDENTITY, "var", "GIT_AUTHOR_IDENT", check=False)
        if result.returncode != 0:
            raise GitProblem(
                "no author identity: set it with git config user.name 'T-01' and git config user.email "
                "'t01@clinic.example' (ipt-notes never commits as a guessed user)"
            )
        if self.git(*_STRICT_IDENTITY, "var", "GIT_COMMITTER_IDENT", check=False).returncode != 0:
            raise GitProblem("no committer identity: set git config user.name and user.email")
        ident = result.stdout.decode("utf-8", "replace").strip()
        # "Name <email> 1700000000 +0000": keep the name and address.
        return ident.rsplit(" ", 2)[0]

    def staged_paths(self) -> list[str]:
        """Paths added, copied, modified or renamed in the index, relative to the work tree."""
        out = self.git("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--no-renames").stdout
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def head_blobs(self, folders: Sequence[Path]) -> dict[Path, str]:
        """The blob id of every file under `folders` at HEAD; empty before the first commit."""
        relative = [str(folder.relative_to(self.work_tree)) for folder in folders]
        listed = self.git("ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *relative, check=False)
        if listed.returncode != 0:
            return {}
        blobs = {}
        for entry in listed.stdout.decode("utf-8", "surrogateescape").split("\0"):
            meta, _, name = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                blobs[self.work_tree / name] = parts[2]
        return blobs

    def indexed_paths(self, prefix: str) -> list[str]:
        """Every path the index holds under a folder, relative to the work tree."""
        out = self.git("ls-files", "-z", "--cached", "--", prefix).stdout
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def staged_blobs(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The staged content of each path, read in one `git cat-file --batch`."""
        contents = self.object_contents([f":{p}" for p in paths])
        return {spec[1:]: data for spec, data in contents.items()}

    def object_contents(self, specs: Sequence[str]) -> dict[str, bytes]:
        """The contents of objects named by id or `rev:path`, read in one `git cat-file --batch`.

        Names that git cannot resolve are left out.
        """
        if not specs:
            return {}
        request = "".join(f"{spec}\n" for spec in specs).encode("utf-8", "surrogateescape")
        out = self.git("cat-file", "--batch", input_data=request).stdout
        contents: dict[str, bytes] = {}
        position = 0
        for spec in specs:
            header_end = out.index(b"\n", position)
            header = out[position:header_end].split()
            if len(header) < 3 or header[-1] in (b"missing", b"ambiguous"):
                position = header_end + 1
                continue
            size = int(header[2])
            start = header_end + 1
            contents[spec] = out[start : start + size]
            position = start + size + 1
        return contents


def open_repository(path: Path) -> Repository:
    """The git repository whose work tree holds `path`."""
    result = run_git(
        ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-object-format"], cwd=path, check=False
    )
    if result.returncode != 0:
        raise GitProblem(f"not a git repository: {path} (run 'ipt-notes init' there)")
    top, git_dir, object_format = result.stdout.decode().splitlines()[:3]
    return Repository(work_tree=Path(top), git_dir=Path(git_dir), object_format=object_format)


def init_repository(path: Path) -> tuple[Repository, bool]:
    """Adopt the repository at `path`, or create one; says whether it was created."""
    if (path / ".git").exists():
        return open_repository(path), False
    run_git(["init", "-q", str(path)], cwd=path)
    return open_repository(path), True


_PROBLEM_LINE = re.compile(r"[^\s:][^:\n]*:[0-9]+:[0-9]+: (?:error|warning) \[[a-z0-9-]+\] [^\n]*")


def _problem_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    """The problems `ipt-notes validate` printed from the hook, and nothing else a hook printed."""
    output = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
    return [line for line in output.splitlines() if _PROBLEM_LINE.fullmatch(line)]


def commit_paths(repository: Repository, paths: Sequence[Path], message: str) -> str:
    """Commit exactly `paths`, whatever else is staged, through the git command line.

    Returns the new commit's id. If the commit fails, the files stay on disk and the error says
    "saved, not committed" with the command that finishes the job.
    """
    relative = [str(p.relative_to(repository.work_tree)) for p in paths]
    finish = f"git add -- {' '.join(relative)} && git commit -m '{message}' -- {' '.join(relative)}"
    added = repository.git("add", "--", *relative, check=False)
    if added.returncode != 0:
        raise NotCommitted(paths=relative, reason="git add failed", finish=finish)
    committed = repository.git(*_STRICT_IDENTITY, "commit", "-q", "-m", message, "--only", "--", *relative, check=False)
    if committed.returncode != 0:
        # git's own words may quote file names but never note content; keep only its verdict.
        hooks = [repository.git_path(f"hooks/{name}") for name in ("pre-commit", "commit-msg")]
        reason = "git commit failed"
        if any(hook.is_file() and os.access(hook, os.X_OK) for hook in hooks):
            reason += " (a hook may have refused it)"
        raise NotCommitted(paths=relative, reason=reason, finish=finish, details=_problem_lines(committed))
    return repository.git("rev-parse", "HEAD").stdout.decode().strip()

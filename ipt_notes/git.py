"""The git wrapper: the one module that runs git.

Everything goes through the git command line. Writes do so that the clinician's identity, hooks
and commit signing apply exactly as they would by hand. Reads do because it is measured faster
here than GitPython (benchmarks/bench_gitpython.py): GitPython's supported object database
starts `git cat-file` processes of its own per repository, its pure-Python one is deprecated by
GitPython for security reasons, and importing it costs about 100 ms.

Commit messages carry IDs, numbers and the action, never note content.

A repository's own config is untrusted (a record may be a copy of someone else's): every call
runs with the overrides `ipt_notes.repository_config` decides, so that git starts no program the
repository's config names, or is refused before it starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.errors import GitProblem, NotCommitted, UnsafeGitConfig, WriteFailed
from ipt_notes.faults import checkpoint
from ipt_notes.files import replace_atomically
from ipt_notes.repository_config import ALWAYS, NETWORK, Policy, may_name_programs, parse_listing, policy

__all__ = [
    "NO_DIFF_PROGRAMS",
    "Repository",
    "commit_paths",
    "git_available",
    "hook_interpreter_missing",
    "init_repository",
    "lock_released",
    "open_client_repository",
    "open_repository",
    "run_git",
    "stale_lock_message",
]

# Never let git guess an identity from the host name: a record must name its author.
_STRICT_IDENTITY = ("-c", "user.useConfigOnly=true")


def git_available() -> bool:
    return _which_git(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=4)
def _which_git(path: str) -> bool:
    # Asked before every git call; the answer changes only with PATH.
    return shutil.which("git", path=path) is not None


NO_DIFF_PROGRAMS = ("--no-ext-diff", "--no-textconv")
"""For `git diff` and `git log`: no external diff and no text conversion a config names, even where
no content is shown."""
_NETWORK_COMMANDS = frozenset({"fetch", "ls-remote", "push", "pull", "clone"})
_UPLOAD_PACK_COMMANDS = frozenset({"fetch", "ls-remote", "pull", "clone"})
_UNLISTED = Policy(network=NETWORK)
"""The policy of a call made outside any repository known here, or in one whose config sets
nothing `repository_config` acts on."""


def _config_files(git_dir: Path) -> list[Path]:
    """The repository's own config files: `config` and `config.worktree` of the common git folder,
    and the linked work tree's `config.worktree`."""
    common = git_dir
    with contextlib.suppress(OSError):
        common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    files = [common / "config", common / "config.worktree"]
    return [*files, git_dir / "config.worktree"] if common != git_dir else files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _environment() -> tuple[tuple[str, str], ...]:
    """What in the environment changes what git config lists, or outranks it."""
    return tuple(
        sorted(
            (key, value)
            for key, value in os.environ.items()
            if key.startswith("GIT_") or key in ("HOME", "XDG_CONFIG_HOME", "SSH_ASKPASS")
        )
    )


def _policy(git_dir: Path, *, network: bool) -> Policy:
    """The overrides and refusals for a call in the repository at `git_dir`.

    Its own config files are read as bytes first; only when they could set something that matters
    (or the call talks to another repository, where the user's protocol settings count) does one
    `git config --list` (which runs no program) say what comes from where. The answer is kept
    for as long as the files and the environment stay as they are.
    """
    raw = b"\0".join(_read(path) for path in _config_files(git_dir))
    if not network and not may_name_programs(raw):
        return _UNLISTED
    return _listed_policy(str(git_dir), raw, _environment())


@functools.lru_cache(maxsize=256)
def _listed_policy(git_dir: str, config_bytes: bytes, environment: tuple[tuple[str, str], ...]) -> Policy:
    # `config_bytes` and `environment` are the cache key: a changed file or variable is listed again.
    env = {key: value for key, value in os.environ.items() if key != "GIT_CONFIG"}
    listed = subprocess.run(
        ["git", f"--git-dir={git_dir}", "config", "--list", "-z", "--show-scope", "--show-origin"],
        cwd=git_dir,
        capture_output=True,
        env=env,
        check=False,
    )
    if listed.returncode != 0:
        raise GitProblem(
            f"git cannot read the git config of {git_dir} (git config --list failed); fix the file it names"
        )
    return policy(parse_listing(listed.stdout, Path(git_dir)), dict(environment))


def _subcommand_at(args: Sequence[str]) -> int | None:
    """Where git's command is among `args`, after options such as `-c key=value`."""
    at = 0
    while at < len(args):
        if args[at] in ("-c", "-C"):
            at += 2
        elif args[at].startswith("-"):
            at += 1
        else:
            return at
    return None


def _command(
    args: Sequence[str], rules: Policy, *, index: Path | None, run_hooks: bool
) -> tuple[list[str], dict[str, str] | None]:
    """The git command line and environment that carry the overrides of `rules`."""
    at = _subcommand_at(args)
    arguments = list(args)
    config = [*ALWAYS, *rules.config]
    if not run_hooks:
        config.append(f"core.hooksPath={os.devnull}")
    env: dict[str, str] = dict(rules.env)
    if at is not None and arguments[at] in _NETWORK_COMMANDS:
        config += rules.network
        named = set(arguments[at + 1 :])
        flags = []
        if arguments[at] in _UPLOAD_PACK_COMMANDS and rules.upload_pack & named:
            flags.append("--upload-pack=git-upload-pack")
        if arguments[at] == "push" and rules.receive_pack & named:
            flags.append("--receive-pack=git-receive-pack")
        arguments[at + 1 : at + 1] = flags
        allowed = os.environ.get("GIT_ALLOW_PROTOCOL")
        if allowed is not None:
            # It outranks every protocol setting; `ext::` runs its URL as a command line.
            env["GIT_ALLOW_PROTOCOL"] = ":".join(name for name in allowed.split(":") if name != "ext")
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    command = ["git", *(part for item in config for part in ("-c", item)), *arguments]
    return command, ({**os.environ, **env} if env else None)


def _rules(git_dir: Path | None, cwd: Path, args: Sequence[str]) -> Policy:
    if git_dir is None:
        return _UNLISTED
    at = _subcommand_at(args)
    rules = _policy(git_dir, network=at is not None and args[at] in _NETWORK_COMMANDS)
    if rules.refused:
        files = _config_files(git_dir)
        raise UnsafeGitConfig(
            work_tree=cwd,
            settings=[(refused.key, refused.origin, refused.removal(cwd, files)) for refused in rules.refused],
        )
    return rules


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    check: bool = True,
    input_data: bytes | None = None,
    index: Path | None = None,
    git_dir: Path | None = None,
    run_hooks: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd` (with another index file, if given); a failure raises GitProblem naming
    the git command, not its output.

    With `git_dir` (give it for every call in an existing repository: `Repository.git` does), the
    repository's own config is checked first: git runs with the overrides that keep it from
    starting a program that config names, or UnsafeGitConfig is raised. Without `run_hooks`, no
    hook runs (an audit changes nothing a hook should see).
    """
    if not git_available():
        raise GitProblem("git is not installed or not on PATH; install git and try again")
    command, env = _command(args, _rules(git_dir, cwd, args), index=index, run_hooks=run_hooks)
    step = f"git {args[_subcommand_at(args) or 0]}"
    checkpoint(step)
    result = subprocess.run(command, cwd=cwd, capture_output=True, input=input_data, check=False, env=env)
    checkpoint(f"{step} done")
    if check and result.returncode != 0:
        raise GitProblem(f"{step} failed (exit {result.returncode})")
    return result


@dataclass(frozen=True)
class Repository:
    """A git work tree and where git keeps its files."""

    work_tree: Path
    git_dir: Path
    object_format: str = "sha1"
    index: Path | None = None
    """An index file other than git's own (a commit's, being checked before it is made)."""

    def git(
        self, *args: str, check: bool = True, input_data: bytes | None = None, run_hooks: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        return run_git(
            args,
            cwd=self.work_tree,
            check=check,
            input_data=input_data,
            index=self.index,
            git_dir=self.git_dir,
            run_hooks=run_hooks,
        )

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start git in the background, with the overrides of `git`; the caller collects it with communicate()."""
        if not git_available():
            raise GitProblem("git is not installed or not on PATH; install git and try again")
        command, env = _command(args, _rules(self.git_dir, self.work_tree, args), index=self.index, run_hooks=True)
        return subprocess.Popen(
            command,
            cwd=self.work_tree,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )

    def git_path(self, name: str) -> Path:
        """A path inside the git folder, as git resolves it (hooks honour core.hooksPath)."""
        out = self.git("rev-parse", "--git-path", name).stdout.decode().strip()
        path = Path(out)
        return path if path.is_absolute() else self.work_tree / path

    def preflight(self) -> str:
        """Refuse, in one sentence each, the states in which a command must not commit.

        Returns the author identity git will record, which the preflight had to establish anyway.
        """
        try:
            attached = (self.git_dir / "HEAD").read_bytes().startswith(b"ref: ")
        except OSError:
            attached = self.git("symbolic-ref", "-q", "HEAD", check=False).returncode == 0
        if not attached:
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
        for name in ("index.lock", "HEAD.lock"):
            lock = self.git_dir / name
            if not lock_released(lock):
                raise GitProblem(stale_lock_message(lock))
        return self.author()

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

    def staged_entries(self) -> list[tuple[str, str]]:
        """The mode and path of each path added, copied, modified, renamed or changed in type in the
        index, relative to the work tree (a deleted path is what the index no longer holds)."""
        args = ("diff", "--cached", "--raw", "-z", "--diff-filter=ACMRT", "--no-renames", *NO_DIFF_PROGRAMS)
        fields = self.git(*args).stdout.decode("utf-8", "surrogateescape").split("\0")
        # Each entry is ":old-mode new-mode old-id new-id status", then the path.
        return [(meta.split(" ")[1], path) for meta, path in zip(fields[::2], fields[1::2], strict=False) if path]

    def changed_paths(self, *paths: str, untracked: bool = True) -> list[str]:
        """What `git status` lists as not committed (under `paths`), without touching git's index.

        --no-optional-locks keeps status from refreshing the index, so a command that only looks
        leaves the repository byte for byte as it was. Submodules are not looked into: each has a
        config of its own, which nothing here has read.
        """
        args = ["--no-optional-locks", "status", "--porcelain", "-z", "--ignore-submodules=all"]
        if not untracked:
            args.append("--untracked-files=no")
        out = self.git(*args, "--", *paths).stdout.decode("utf-8", "surrogateescape")
        return [entry[3:] for entry in out.split("\0") if len(entry) > 3]

    def has_commit(self, sha: str) -> bool:
        return self.git("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether `older` is `newer` or one of its ancestors."""
        return self.git("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def is_shallow(self) -> bool:
        # git marks a shallow repository by the file that lists where its history is cut.
        return (self.git_dir / "shallow").exists()

    def head(self) -> str | None:
        """The commit HEAD points at, or None before the first commit."""
        result = self.git("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def branch(self) -> str:
        head = self.git("symbolic-ref", "-q", "--short", "HEAD", check=False)
        if head.returncode != 0:
            raise GitProblem("detached HEAD: check out a branch first (git switch main)")
        return head.stdout.decode().strip()

    def head_blobs(self, paths: Sequence[str] = ()) -> dict[Path, str]:
        """The blob id of every file at HEAD (under `paths`, relative); empty before the first commit."""
        listed = self.git("ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *paths, check=False)
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


LOCK_WAIT = 5.0
"""Seconds a command waits for a lock file of git's to go before it calls the lock stale."""
_LOCK_IN_USE = re.compile(rb"Unable to create '([^'\n]+\.lock)': File exists")


def lock_released(lock: Path, wait_seconds: float | None = None) -> bool:
    """Whether a lock file of git's is gone, or goes within `wait_seconds` (LOCK_WAIT): git
    commands hold their locks for moments (an editor's background `git status` takes the index
    lock now and then)."""
    deadline = time.monotonic() + (LOCK_WAIT if wait_seconds is None else wait_seconds)
    while os.path.lexists(lock):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def stale_lock_message(lock: Path) -> str:
    return (
        f"git's lock file {lock} stayed in place for {LOCK_WAIT:g} s: a git command that crashed or was killed "
        "left it (a stale lock), or one is still running. Git's lock files hold no process id; if no git command "
        "is running on this repository, the lock is stale: ipt-notes doctor --fix removes it"
    )


def hook_interpreter_missing(repository: Repository) -> bool:
    """Whether the ipt-notes pre-commit hook can no longer start: the Python it was installed with
    is gone (a moved or deleted virtual environment), and no ipt-notes is on PATH either."""
    hook = repository.git_path("hooks/pre-commit")
    try:
        text = hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    interpreter = next((line[len("python=") :] for line in text.splitlines() if line.startswith("python=")), None)
    if interpreter is None or "ipt-notes" not in text:
        return False
    path = shlex.split(interpreter)[0] if interpreter.strip() else ""
    return not (path and os.access(path, os.X_OK)) and shutil.which("ipt-notes") is None


def open_repository(path: Path) -> Repository:
    """The git repository whose work tree holds `path`."""
    result = run_git(
        ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-object-format"], cwd=path, check=False
    )
    if result.returncode != 0:
        raise GitProblem(f"not a git repository: {path}")
    top, git_dir, object_format = result.stdout.decode().splitlines()[:3]
    return Repository(work_tree=Path(top), git_dir=Path(git_dir), object_format=object_format)


_OBJECT_FORMAT = re.compile(rb"^\s*objectformat\s*=\s*sha256\s*$", re.IGNORECASE | re.MULTILINE)


def open_client_repository(folder: Path) -> Repository:
    """A client's own repository: the client folder must be the top of its own work tree.

    A client folder inside some other repository (an example course in a source tree) is not a
    record of its own, and nothing is committed to that other repository. A `.git` folder makes
    the client folder the top of its work tree by git's own rule, so no git process is needed to
    find it; only a `.git` file (a linked work tree) is resolved by git.
    """
    git_dir = folder / ".git"
    if git_dir.is_dir() and not git_dir.is_symlink():
        try:
            sha256 = _OBJECT_FORMAT.search((git_dir / "config").read_bytes()) is not None
        except OSError:
            sha256 = False
        return Repository(folder.resolve(), git_dir.resolve(), "sha256" if sha256 else "sha1")
    if git_dir.exists():
        repository = open_repository(folder)
        if repository.work_tree.resolve() == folder.resolve():
            return repository
    raise GitProblem(f"{folder} is not a client repository: it has no git repository of its own")


def init_repository(path: Path) -> Repository:
    """Create a repository at `path` whose branch is `main`."""
    run_git(["init", "-q", "-b", "main", str(path)], cwd=path)
    return open_repository(path)


_PROBLEM_LINE = re.compile(r"[^\s:][^:\n]*:[0-9]+:[0-9]+: (?:error|warning) \[[a-z0-9-]+\] [^\n]*")


def _problem_lines(result: subprocess.CompletedProcess[bytes], base: str) -> list[str]:
    """The problems `ipt-notes validate` printed from the hook, and nothing else a hook printed.

    The hook runs at the top of the repository; its paths are made relative to `base`, the
    repository's top as seen from the current folder.
    """
    output = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
    lines = [line for line in output.splitlines() if _PROBLEM_LINE.fullmatch(line)]
    if base == ".":
        return lines
    return [
        os.path.normpath(Path(base) / path) + ":" + rest for path, _, rest in (line.partition(":") for line in lines)
    ]


VALIDATED_TREE = "ipt-notes-validated"
"""The file in the git folder that names the HEAD and the one tree an ipt-notes command has just
checked; the hook consumes it."""


def _why_not(repository: Repository, committed: subprocess.CompletedProcess[bytes], base: str) -> str:
    """Why `git commit` failed, told apart: the hook cannot start, the hook refused, or git failed.

    git's own words may quote file names but never note content; only its verdict is kept.
    """
    if hook_interpreter_missing(repository):
        return (
            "the pre-commit hook cannot start: the Python it was installed with is gone; "
            "ipt-notes doctor --fix installs it again"
        )
    if _problem_lines(committed, base):
        return "the pre-commit hook refused it, for the problems shown"
    hooks = [repository.git_path(f"hooks/{name}") for name in ("pre-commit", "commit-msg")]
    if any(hook.is_file() and os.access(hook, os.X_OK) for hook in hooks):
        return "git commit failed (a hook may have refused it)"
    return "git commit failed"


def _commit_tree(repository: Repository, relative: Sequence[str]) -> tuple[str, Path]:
    """The tree `git commit --only -- paths` will record, and an index file that holds it.

    git builds that commit from HEAD and the paths as they are on disk; the same is built here,
    in an index file of its own, so the tree can be checked before git is asked to commit it.
    """
    index = repository.git_dir / f"ipt-notes-index-{os.getpid()}"
    index.unlink(missing_ok=True)
    staging = dataclasses.replace(repository, index=index)
    staging.git("read-tree", "HEAD", check=False)  # before the first commit, the index starts empty
    staging.git("update-index", "--add", "--remove", "--", *relative)
    return staging.git("write-tree").stdout.decode().strip(), index


def commit_paths(
    repository: Repository,
    paths: Sequence[Path],
    message: str,
    *,
    precheck: Callable[[Repository], list[str]] | None = None,
) -> None:
    """Commit exactly `paths`, whatever else is staged, through the git command line.

    With `precheck`, the exact tree the commit will record is checked here first (given a
    repository whose index holds it; it returns problem lines, and any refuses the commit).
    Its id is then left in the git folder, and the pre-commit hook, finding the same tree, does
    not check it a second time in a second interpreter. A forged id buys nothing that
    `git commit --no-verify` does not already allow.

    If the commit fails, the files stay on disk and the error says "saved, not committed" with
    the command that finishes the job, to run from the current folder.
    """
    relative = [os.path.relpath(p, repository.work_tree) for p in paths]
    base = os.path.relpath(repository.work_tree, Path.cwd())
    shown = [os.path.relpath(p, Path.cwd()) for p in paths]
    git = "git" if base == "." else f"git -C {shlex.quote(base)}"
    names = " ".join(shlex.quote(name) for name in relative)
    finish = f"{git} add -- {names} && {git} commit -m {shlex.quote(message)} -- {names}"
    added = repository.git("add", "--", *relative, check=False)
    if added.returncode != 0:
        raise NotCommitted(paths=shown, reason="git add failed", finish=finish)
    token = repository.git_dir / VALIDATED_TREE
    if precheck is not None:
        tree, index = _commit_tree(repository, relative)
        try:
            problems = precheck(dataclasses.replace(repository, index=index))
        finally:
            index.unlink(missing_ok=True)
        if problems:
            raise NotCommitted(paths=shown, reason="the notes have errors", finish=finish, details=problems)
        # Bound to HEAD as well as to the tree: what was checked against this HEAD says nothing of another.
        try:
            replace_atomically(token, f"{repository.head() or ''} {tree}\n".encode())
        except WriteFailed:
            # The files are saved: say so, not that nothing was written.
            raise NotCommitted(
                paths=shown,
                reason=f"could not write {VALIDATED_TREE} in the git folder, so git was not asked to commit "
                "(a full or failing disk?)",
                finish=finish,
            ) from None
    try:
        for _ in range(3):
            committed = repository.git(
                *_STRICT_IDENTITY, "commit", "-q", "-m", message, "--only", "--", *relative, check=False
            )
            busy = _LOCK_IN_USE.search(committed.stderr) if committed.returncode != 0 else None
            if busy is None:
                break
            lock = Path(os.fsdecode(busy.group(1)))
            if not lock_released(lock):
                raise NotCommitted(paths=shown, reason=stale_lock_message(lock), finish=finish)
            # Another git command held the lock for a moment and let it go: try again.
    finally:
        token.unlink(missing_ok=True)
    if committed.returncode != 0:
        raise NotCommitted(
            paths=shown,
            reason=_why_not(repository, committed, base),
            finish=finish,
            details=_problem_lines(committed, base),
        )

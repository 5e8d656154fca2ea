"""An off-machine witness: a backup repository that refuses history rewrites, and `push`.

`add_backup` makes a bare git repository at a path (a second disk, a network share, a mounted
server folder) that refuses non-fast-forward pushes and branch deletions, checks every object it
receives, and never prunes; it adds it as a remote and pushes. A history rewritten here can then
no longer be pushed there, and `verify --remote` shows that it was rewritten.

For a git server (a bare repository over SSH, Gitea, GitLab), the same settings are made on the
server; the README shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ipt_notes.errors import GitProblem, RefusedInput
from ipt_notes.files import make_private_dirs
from ipt_notes.git import Repository, open_repository, run_git
from ipt_notes.layout import find_root

__all__ = ["BACKUP_SETTINGS", "PushResult", "add_backup", "push"]

BACKUP_SETTINGS = {
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "always",
    "core.sharedRepository": "0600",
    "gc.pruneExpire": "never",
    "gc.reflogExpire": "never",
    "gc.reflogExpireUnreachable": "never",
}


@dataclass(frozen=True)
class PushResult:
    remote: str
    branch: str
    commit: str


def _branch(repository: Repository) -> str:
    head = repository.git("symbolic-ref", "-q", "--short", "HEAD", check=False)
    if head.returncode != 0:
        raise GitProblem("detached HEAD: check out a branch first (git switch main)")
    return head.stdout.decode().strip()


def push(start: Path, remote: str = "backup") -> PushResult:
    """Push the current branch, then confirm that the remote holds exactly this commit."""
    repository = open_repository(find_root(start))
    branch = _branch(repository)
    known = repository.git("remote", check=False).stdout.decode().split()
    if remote not in known:
        raise RefusedInput(f"no git remote named {remote} (ipt-notes add-backup PATH creates one)")
    pushed = repository.git("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", check=False)
    if pushed.returncode != 0:
        refused = b"non-fast-forward" in pushed.stderr or b"rejected" in pushed.stderr
        raise GitProblem(
            f"{remote} refused the push: its history is not an ancestor of this one (was history rewritten "
            "here? run ipt-notes verify --remote " + remote + ")"
            if refused
            else f"git push to {remote} failed (exit {pushed.returncode})"
        )
    head = repository.git("rev-parse", "HEAD").stdout.decode().strip()
    listed = repository.git("ls-remote", remote, f"refs/heads/{branch}").stdout.decode().split()
    if not listed or listed[0] != head:
        raise GitProblem(f"{remote} does not hold this commit after the push; try again")
    return PushResult(remote=remote, branch=branch, commit=head)


def add_backup(start: Path, path: Path, *, name: str = "backup") -> PushResult:
    """Make a bare repository at `path` that refuses rewrites, add it as remote `name`, and push."""
    repository = open_repository(find_root(start))
    target = path.resolve()
    if target.exists() and any(target.iterdir()):
        raise RefusedInput(f"{path} exists and is not empty; name a new folder for the backup")
    if name in repository.git("remote", check=False).stdout.decode().split():
        raise RefusedInput(f"a git remote named {name} exists already (choose another with --name)")
    make_private_dirs(target, stop_at=target.parent)
    run_git(["init", "--quiet", "--bare", str(target)], cwd=target)
    for key, value in BACKUP_SETTINGS.items():
        run_git(["config", key, value], cwd=target)
    repository.git("remote", "add", name, str(target))
    return push(start, name)

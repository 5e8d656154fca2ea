"""`add-backup`, `push` and `pull`: a witness per client that refuses history rewrites.

Each client's repository has a remote named `backup`, at the practice's backup template with
{client} replaced by the client's ID. Where the template is a local path (a second disk, a share,
a mounted server folder), ipt-notes creates the bare repository itself, set to refuse
non-fast-forward pushes and branch deletions, to check every object it receives, and to never
prune. Behind an ssh or https URL, the repository is created on the server (see the README).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ipt_notes.client_repository import BACKUP_REMOTE, BACKUP_SETTINGS
from ipt_notes.course import client_id_of
from ipt_notes.errors import GitProblem, IptNotesError, RefusedInput
from ipt_notes.files import make_private_dirs
from ipt_notes.git import Repository, open_client_repository, run_git
from ipt_notes.layout import CONFIG_NAME, practice_clients
from ipt_notes.loader import read_bytes, read_document, yaml_positions, yaml_scalar
from ipt_notes.lock import repository_lock
from ipt_notes.settings import load_practice_settings

__all__ = [
    "BackupOutcome",
    "add_backup",
    "backup_client",
    "backup_url",
    "check_template",
    "create_backup_repository",
    "local_path",
    "pull",
    "push",
    "push_client",
    "set_backup_remote",
]

_SCP_LIKE = re.compile(r"[^/:]+:")


@dataclass(frozen=True)
class BackupOutcome:
    """What happened to one client: its ID, the commit the backup holds, and what was done."""

    client: str
    commit: str | None
    action: str
    """pushed N commits, up to date, created and pushed, pulled N commits..."""
    error: str | None = None


def backup_url(template: str, client_id: str) -> str:
    return template.replace("{client}", client_id)


def local_path(url: str) -> Path | None:
    """The folder a backup URL names on this machine, or None for an ssh, https or other remote."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if "://" in url or _SCP_LIKE.match(url):
        return None
    return Path(url).expanduser()


def create_backup_repository(path: Path, branch: str = "main") -> bool:
    """Create a bare repository at `path` that refuses rewrites; says whether it was created.

    Its HEAD names the client's branch, so that a clone of the backup (a supervisor's) checks it
    out. An existing repository is left as it is (its settings are made again); an existing
    folder that is not a repository is refused.
    """
    target = path.resolve()
    if target.exists() and (target / "HEAD").is_file() and (target / "objects").is_dir():
        created = False
    elif target.exists() and any(target.iterdir()):
        raise RefusedInput(f"{path} exists, is not empty and is not a git repository; name a new folder")
    else:
        anchor = next(parent for parent in target.parents if parent.exists())
        make_private_dirs(target, stop_at=anchor)
        run_git(["init", "--quiet", "--bare", f"--initial-branch={branch}", str(target)], cwd=target)
        created = True
    for key, value in BACKUP_SETTINGS.items():
        run_git(["config", key, value], cwd=target)
    return created


def set_backup_remote(repository: Repository, url: str) -> None:
    """Point the client's `backup` remote at `url`, adding it when it is missing."""
    known = repository.git("remote", check=False).stdout.decode().split()
    if BACKUP_REMOTE in known:
        current = repository.git("remote", "get-url", BACKUP_REMOTE, check=False).stdout.decode().strip()
        if current != url:
            repository.git("remote", "set-url", BACKUP_REMOTE, url)
    else:
        repository.git("remote", "add", BACKUP_REMOTE, url)


def _remote_heads(repository: Repository, client: str) -> dict[str, str]:
    """Every branch the backup holds, and its commit."""
    listed = repository.git("ls-remote", "--heads", BACKUP_REMOTE, check=False)
    if listed.returncode != 0:
        raise GitProblem(
            f"{client}: the backup repository cannot be reached (git ls-remote failed); is it there? "
            "(ipt-notes add-backup creates it again for a local path)"
        )
    heads = {}
    for line in listed.stdout.decode().splitlines():
        sha, _, ref = line.partition("\t")
        heads[ref] = sha
    return heads


def push_client(folder: Path) -> BackupOutcome:
    """Push the client's branch to its backup and confirm that the backup holds exactly this commit.

    Commits the backup does not have yet are pushed. Whatever the backup holds, on any branch,
    must be part of this history: a history rewritten since the last push (even under another
    branch name) is refused and reported as such, and a backup that is ahead asks for a pull.
    """
    repository = open_client_repository(folder)
    client = client_id_of(folder)
    if BACKUP_REMOTE not in repository.git("remote", check=False).stdout.decode().split():
        raise RefusedInput(f"{client} has no backup remote (ipt-notes add-backup sets one for every client)")
    branch = repository.branch()
    head = repository.head()
    if head is None:
        raise GitProblem(f"{client} has no commit to push")
    heads = _remote_heads(repository, client)
    before = heads.get(f"refs/heads/{branch}")
    if any(not repository.has_commit(sha) for sha in heads.values()):
        fetched = repository.git("fetch", "--quiet", "--no-tags", BACKUP_REMOTE, check=False)
        if fetched.returncode != 0:
            raise GitProblem(f"{client}: the backup cannot be read (git fetch failed)")
    for ref, sha in sorted(heads.items()):
        if sha == head or repository.is_ancestor(sha, head):
            continue
        if repository.is_ancestor(head, sha):
            raise GitProblem(
                f"{client}: the backup holds commits this repository does not have yet (a supervisor's "
                "co-signatures?): bring them in first with ipt-notes pull, then push"
            )
        raise GitProblem(
            f"{client}: the backup holds commits ({ref.removeprefix('refs/heads/')}) that this history no longer "
            "has: the history was rewritten here since the last push, and the backup refuses it "
            "(ipt-notes verify --remote shows where)"
        )
    if before == head:
        return BackupOutcome(client, head, "up to date")
    pushed = repository.git("push", "--quiet", BACKUP_REMOTE, f"HEAD:refs/heads/{branch}", check=False)
    if pushed.returncode != 0:
        refused = b"non-fast-forward" in pushed.stderr or b"rejected" in pushed.stderr
        raise GitProblem(
            f"{client}: the backup refused the push: its history is not an ancestor of this one"
            if refused
            else f"{client}: git push to the backup failed (exit {pushed.returncode}); is the backup repository "
            "there? (ipt-notes add-backup creates it for a local path)"
        )
    if _remote_heads(repository, client).get(f"refs/heads/{branch}") != head:
        raise GitProblem(f"{client}: the backup does not hold this commit after the push; try again")
    count = _count(repository, list(heads.values()), head)
    return BackupOutcome(client, head, f"pushed {count} new commit{'s' if count != 1 else ''}")


def _count(repository: Repository, known: list[str], head: str) -> int:
    """How many commits of `head`'s history none of `known` holds."""
    excluded = [f"^{sha}" for sha in known]
    return int(repository.git("rev-list", "--count", head, *excluded).stdout.decode().strip())


def _each(folders: list[Path], action: Callable[[Path], BackupOutcome]) -> list[BackupOutcome]:
    outcomes = []
    for folder in folders:
        try:
            outcomes.append(action(folder))
        except IptNotesError as error:
            outcomes.append(BackupOutcome(client_id_of(folder), None, "failed", str(error)))
    return outcomes


def push(folders: list[Path]) -> list[BackupOutcome]:
    """Push every client named; each client's outcome, a failure included, is reported."""
    return _each(folders, push_client)


def _pull_client(folder: Path) -> BackupOutcome:
    """Bring in what the backup holds beyond this history (a supervisor's co-signatures): fast-forwards only."""
    repository = open_client_repository(folder)
    client = client_id_of(folder)
    if BACKUP_REMOTE not in repository.git("remote", check=False).stdout.decode().split():
        raise RefusedInput(f"{client} has no backup remote (ipt-notes add-backup sets one for every client)")
    with repository_lock(repository.git_dir):
        repository.preflight()
        branch = repository.branch()
        fetched = repository.git("fetch", "--quiet", BACKUP_REMOTE, branch, check=False)
        if fetched.returncode != 0:
            raise GitProblem(f"{client}: the backup cannot be read (git fetch failed)")
        theirs = repository.git("rev-parse", "FETCH_HEAD").stdout.decode().strip()
        head = repository.head()
        if head == theirs or (head is not None and repository.is_ancestor(theirs, head)):
            return BackupOutcome(client, head, "up to date")
        if head is not None and not repository.is_ancestor(head, theirs):
            raise GitProblem(
                f"{client}: this history and the backup's have both moved on; pull takes fast-forwards only "
                "(push what is here first, or ask who wrote to the backup)"
            )
        merged = repository.git("merge", "--ff-only", "--quiet", theirs, check=False)
        if merged.returncode != 0:
            raise GitProblem(
                f"{client}: the fast-forward failed (exit {merged.returncode}): uncommitted changes to the same "
                "files are in the way; commit or set them aside, then pull again"
            )
    count = _count(repository, [head] if head else [], theirs)
    return BackupOutcome(client, theirs, f"pulled {count} new commit{'s' if count != 1 else ''}")


def pull(folders: list[Path]) -> list[BackupOutcome]:
    """Fast-forward every client named from its backup; anything else is refused."""
    return _each(folders, _pull_client)


def _write_template(practice: Path, template: str) -> None:
    """Set `backup:` in ipt-notes.yaml, changing that one line and nothing else the clinician wrote."""
    from ipt_notes.files import replace_atomically

    path = practice / CONFIG_NAME
    raw = read_bytes(path)
    document = read_document(path, front_matter=False)
    data = document.data
    assert isinstance(data, dict)
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    line = f"backup: {yaml_scalar(template)}"
    lines = text.splitlines(keepends=True)
    if "backup" in data:
        at = yaml_positions(document.yaml_text).keys[("backup",)][0] - 1
        if not lines[at].startswith("backup:") or (at + 1 < len(lines) and lines[at + 1][:1] in (" ", "\t")):
            raise RefusedInput(f"{CONFIG_NAME}: write backup: on one line of its own, then run add-backup again")
        lines[at] = line + newline
    else:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        lines.append(line + newline)
    replace_atomically(path, "".join(lines).encode("utf-8"))
    load_practice_settings(practice)  # what was written must read back as valid settings


def check_template(template: str) -> None:
    """Refuse a template that could give two clients one backup, or point outside where it says.

    Each client's backup must be a place of its own: {client} in the last part of the path, and no
    `..` that could lead two clients' paths to one folder.
    """
    example = "/mnt/backup/{client}.git"
    if "{client}" not in template:
        raise RefusedInput(f"the backup template names each client's repository with {{client}}, e.g. {example}")
    last = template.rstrip("/").rsplit("/", 1)[-1]
    if "{client}" not in last or ".." in template.replace("\\", "/").split("/"):
        raise RefusedInput(
            f"the backup template puts {{client}} in the last part of the path and has no '..', e.g. {example}"
        )
    local = local_path(template)
    if local is not None and not local.is_absolute():
        raise RefusedInput(f"a local backup template is an absolute path, e.g. {example}")


def add_backup(practice: Path, template: str) -> list[BackupOutcome]:
    """Set the practice's backup template, then give every client its backup and push it there."""
    check_template(template)
    load_practice_settings(practice)  # refuse to edit settings that are invalid already
    outcomes = _each(practice_clients(practice), lambda folder: backup_client(folder, template))
    # The template is kept only once it worked for every client, so new clients never inherit a
    # backup that cannot be made; running add-backup again after a fix is safe.
    if all(outcome.error is None for outcome in outcomes):
        _write_template(practice, template)
    return outcomes


def backup_client(folder: Path, template: str) -> BackupOutcome:
    """Point a client's `backup` remote at the template, create the repository where it is a
    local path, and push."""
    check_template(template)
    repository = open_client_repository(folder)
    client = client_id_of(folder)
    url = backup_url(template, client)
    target = local_path(url)
    set_backup_remote(repository, str(target) if target is not None else url)
    try:
        created = create_backup_repository(target, repository.branch()) if target is not None else False
    except IptNotesError as error:
        raise GitProblem(f"{client}: the backup repository could not be created ({error})") from None
    outcome = push_client(folder)
    return BackupOutcome(client, outcome.commit, ("created, " if created else "") + outcome.action)

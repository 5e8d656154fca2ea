"""`verify` and `log`: the record's history, audited.

`verify` walks the history once, in one process, along the first-parent chain from HEAD (a merge
counts as the changes it brings to the first parent). It reads every version of every note in one
`git cat-file --batch`, and reports, naming the file and the commit:

- a signed note changed or deleted in any later commit (adding a co-signature is allowed);
- a note whose content hash did not match when it was signed;
- an addendum whose amended note, hash or signing commit does not resolve;
- objects that `git fsck --full --strict` finds unsound;
- a commit dated before its parent along the first-parent chain;
- with `--remote`, a remote branch that is not an ancestor of HEAD (history rewritten);
- with `--require-signed-commits`, a commit without a good signature since the configured start.

What it does not prove: git records changes, not reads. Nothing here shows who opened a note, and
a history can be rewritten wholesale by whoever holds the repository; a remote that refuses
rewrites (see `ipt-notes backup`) is the witness against that.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ipt_notes.errors import RefusedInput
from ipt_notes.git import Repository
from ipt_notes.layout import FileKind, kind_of_parts, require_client_id
from ipt_notes.loader import parse_document
from ipt_notes.problems import Problem, Severity
from ipt_notes.signing import content_hash, is_signed, without_cosignature

__all__ = ["Change", "Commit", "history", "verify"]

_SIGNABLE = frozenset({FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW})
# Reading the recorded hash from its line spares a YAML parse of every signed version in history.
_RECORDED_HASH = re.compile(rb"^content_hash:[ \t]*(sha256:[0-9a-f]{64})[ \t]*\r?$", re.MULTILINE)
_NULL = "0" * 40


@dataclass(frozen=True)
class Change:
    status: str
    old: str
    new: str
    path: str


@dataclass
class Commit:
    sha: str
    parents: list[str]
    time: int
    signature: str = ""
    changes: list[Change] = field(default_factory=list)


def history(repository: Repository, paths: Sequence[str], *, signatures: bool = False) -> list[Commit]:
    """The first-parent history from the root commit to HEAD, with each commit's changes to `paths`."""
    fmt = "%x1e%H %P%x1f%ct" + ("%x1f%G?" if signatures else "")
    result = repository.git(
        "log", "--reverse", "--first-parent", "-m", f"--format={fmt}", "--raw", "--no-abbrev", "--no-renames", "-z",
        "--", *paths,
    )  # fmt: skip
    commits = []
    for record in result.stdout.decode("utf-8", "surrogateescape").split("\x1e")[1:]:
        header, _, raw = record.partition("\0")
        ids, *rest = header.split("\x1f")
        sha, *parents = ids.split()
        commit = Commit(sha, parents, int(rest[0]), rest[1] if len(rest) > 1 else "")
        tokens = raw.lstrip("\n").split("\0")
        for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
            if meta.startswith(":"):
                _, _, old, new, status = meta[1:].split(" ")
                commit.changes.append(Change(status[:1], old, new, path))
        commits.append(commit)
    return commits


def _signable(path: str) -> bool:
    return kind_of_parts(tuple(path.split("/"))) in _SIGNABLE


def _fields(raw: bytes) -> dict[str, object]:
    try:
        data = parse_document(raw, front_matter=True).data
    except Exception:  # noqa: BLE001 - a version that does not parse is judged by its bytes alone
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class _Signed:
    blob: str
    commit: str
    raw: bytes


def _finding(path: str, rule: str, message: str, severity: Severity = Severity.ERROR) -> Problem:
    return Problem(path, 1, 1, severity, rule, message)


def client_paths(clients: Sequence[str]) -> list[str]:
    return [f"clients/{require_client_id(client)}" for client in clients] or ["clients"]


def _notes_history(repository: Repository, commits: list[Commit]) -> Iterator[Problem]:
    wanted = {c.new for commit in commits for c in commit.changes if c.new != _NULL and _signable(c.path)}
    blobs = repository.object_contents(sorted(wanted))
    signed: dict[str, _Signed] = {}
    latest: dict[str, bytes] = {}
    for commit in commits:
        short = commit.sha[:12]
        for change in commit.changes:
            if not _signable(change.path):
                continue
            if change.status == "D":
                latest.pop(change.path, None)
            else:
                latest[change.path] = blobs.get(change.new, b"")
            before = signed.get(change.path)
            if before is not None:
                if change.status == "D":
                    yield _finding(
                        change.path, "verify-signed-deleted", f"the signed note was deleted in commit {short}"
                    )
                    del signed[change.path]
                    continue
                raw = blobs.get(change.new, b"")
                if without_cosignature(raw) != without_cosignature(before.raw):
                    # The note as signed stays the reference for later commits and for its addenda.
                    yield _finding(
                        change.path,
                        "verify-signed-changed",
                        f"the note signed in commit {before.commit[:12]} was changed in commit {short}",
                    )
                else:
                    signed[change.path] = _Signed(change.new, before.commit, raw)
                continue
            raw = blobs.get(change.new, b"")
            if change.status != "D" and is_signed(raw):
                recorded = _RECORDED_HASH.search(raw)
                if recorded is None or recorded.group(1).decode() != content_hash(raw):
                    yield _finding(
                        change.path,
                        "verify-hash-mismatch",
                        f"the content hash did not match the note when it was signed in commit {short}",
                    )
                signed[change.path] = _Signed(change.new, commit.sha, raw)
    yield from _addenda(repository, latest, signed)


def _addenda(repository: Repository, latest: dict[str, bytes], signed: dict[str, _Signed]) -> Iterator[Problem]:
    """Every addendum at HEAD resolves: its note is signed, with the recorded hash and signing commit."""
    links: list[tuple[str, str, dict[str, object]]] = []
    for path, raw in sorted(latest.items()):
        amends = _fields(raw).get("amends") if ".addendum-" in path else None
        if isinstance(amends, dict):
            links.append((path, f"{path.rsplit('/sessions/', 1)[0]}/{amends.get('note')}", amends))
    specs = [f"{amends['commit']}:{target}" for _, target, amends in links if amends.get("commit")]
    at_signing = repository.object_contents(specs)
    for path, target, amends in links:
        current = signed.get(target)
        if current is None:
            yield _finding(path, "verify-addendum", "the note this addendum amends is not a signed note at HEAD")
        elif content_hash(current.raw) != amends.get("content_hash"):
            yield _finding(path, "verify-addendum", "the amended note's content hash differs from the one recorded")
        if amends.get("commit") and f"{amends['commit']}:{target}" not in at_signing:
            yield _finding(path, "verify-addendum", "the recorded signing commit does not hold the amended note")


def _dates(commits: list[Commit]) -> Iterator[Problem]:
    for earlier, later in itertools.pairwise(commits):
        if later.time < earlier.time:
            yield _finding(
                ".",
                "verify-commit-dates",
                f"commit {later.sha[:12]} is dated before its parent {earlier.sha[:12]}",
            )


def _fsck(checking: subprocess.Popen[bytes]) -> Iterator[Problem]:
    stdout, stderr = checking.communicate()
    lines = (stdout + stderr).decode("utf-8", "replace").splitlines()
    if checking.returncode != 0 or lines:
        # fsck names objects by id, never by content.
        detail = "; ".join(line.strip() for line in lines[:5]) or f"exit {checking.returncode}"
        yield _finding(".", "verify-fsck", f"git fsck --full --strict found problems: {detail}")


def _remote(repository: Repository, remote: str) -> Iterator[Problem]:
    listed = repository.git("ls-remote", "--heads", remote, check=False)
    if listed.returncode != 0:
        raise RefusedInput(f"the remote {remote} cannot be read (git ls-remote failed)")
    for line in listed.stdout.decode().splitlines():
        sha, ref = line.split("\t", 1)
        known = repository.git("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0
        if not known or repository.git("merge-base", "--is-ancestor", sha, "HEAD", check=False).returncode != 0:
            yield _finding(
                ".",
                "verify-remote",
                f"{remote} holds {ref} at {sha[:12]}, which is not in this history: the history was rewritten "
                "since it was pushed",
            )


def _unsigned_commits(commits: list[Commit], since: str | None) -> Iterator[Problem]:
    started = since is None
    for commit in commits:
        started = started or commit.sha.startswith(since or "")
        if started and commit.signature not in ("G",):
            yield _finding(".", "verify-unsigned-commit", f"commit {commit.sha[:12]} has no good signature")


def verify(
    repository: Repository,
    clients: Sequence[str] = (),
    *,
    remote: str | None = None,
    require_signed_commits: bool = False,
    signed_since: str | None = None,
) -> list[Problem]:
    """Every finding of the audit, in the order of the checks."""
    prefixes = tuple(path + "/" for path in client_paths(clients))
    # fsck reads every object, the longest step by far: it runs on another core meanwhile.
    checking = repository.spawn("fsck", "--full", "--strict", "--no-progress", "--no-dangling")
    try:
        # One walk of the history serves every other check; changes outside the clients asked for are dropped.
        everything = history(repository, [], signatures=require_signed_commits)
        notes = [
            Commit(c.sha, c.parents, c.time, c.signature, [x for x in c.changes if x.path.startswith(prefixes)])
            for c in everything
        ]
        problems = list(_notes_history(repository, notes))
        problems += list(_dates(everything))
        problems += list(_fsck(checking))
        if remote is not None:
            problems += list(_remote(repository, remote))
        if require_signed_commits:
            problems += list(_unsigned_commits(everything, signed_since))
    finally:
        if checking.returncode is None:
            checking.kill()
            checking.communicate()
    return problems

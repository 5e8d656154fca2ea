"""`verify`: one client's history, audited.

It reads the whole history once, in one `git fast-export`: every commit reachable from HEAD,
parents before children, side branches and merges included, with every version of every note;
`git fsck` checks every object on another core meanwhile.
It reports, naming the file and the commit:

- a signed note changed or deleted in any later commit (adding a co-signature is allowed);
- a note whose content hash did not match when it was signed;
- an addendum whose amended note, hash or signing commit does not resolve;
- objects that `git fsck --full` finds unsound;
- a commit dated before one of its parents;
- with a remote, a branch there that is not an ancestor of HEAD (history rewritten);
- with signed commits required, a commit without a good signature since the configured start.

A shallow clone holds only part of the history, so it is refused rather than passed.

What it does not prove: git records changes, not reads. Nothing here shows who opened a note, and
a history can be rewritten wholesale by whoever holds the repository; a backup that refuses
rewrites is the witness against that.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ipt_notes.errors import GitProblem
from ipt_notes.git import NO_DIFF_PROGRAMS, Repository
from ipt_notes.identity import email_of
from ipt_notes.layout import CLIENT_NAME, IMMUTABLE_KINDS, FileKind, cosigned_note, kind_in_client
from ipt_notes.loader import parse_document
from ipt_notes.problems import Problem, Severity
from ipt_notes.signing import content_hash, is_signed, recorded_hash

__all__ = ["Change", "Commit", "history", "verify_repository"]

# Reading the recorded hash from its line spares a YAML parse of every signed version in history.


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
    signer: str = ""
    author_email: str = ""
    committer_email: str = ""
    changes: list[Change] = field(default_factory=list)


@dataclass
class Walk:
    """A client's history as `git fast-export` gives it: commits parents first, each with its
    changes against its first parent, and the content of every file version by blob id."""

    commits: list[Commit]
    blobs: dict[str, bytes]

    def files_at(self, sha: str) -> dict[str, str] | None:
        """Path to blob id of the signable files at a commit of this history, or None if it has no such commit.

        A commit's changes are against its first parent, so its files are the first-parent chain's
        changes replayed from the root.
        """
        by_sha = {commit.sha: commit for commit in self.commits}
        chain = []
        current = by_sha.get(sha)
        if current is None:
            return None
        while current is not None:
            chain.append(current)
            current = by_sha.get(current.parents[0]) if current.parents else None
        files: dict[str, str] = {}
        for commit in reversed(chain):
            for change in commit.changes:
                if change.status == "D":
                    files.pop(change.path, None)
                else:
                    files[change.path] = change.new
        return files


def history(repository: Repository) -> Walk | None:
    """Every commit reachable from HEAD, parents first, with its changes to signable files; empty
    before the first commit, and None when git cannot read it all (damaged objects: fsck says which).

    `git fast-export` writes the history in the format git-fast-import(1) defines: blobs (`mark`,
    `original-oid`, `data N` and N bytes), then commits (`mark`, `original-oid`, `committer ... TIME
    ZONE`, `data N` message, `from` and `merge` parents, and `M MODE REF PATH` or `D PATH` for each
    file changed against the first parent). Paths git must quote are never signable notes.
    """
    exported = repository.git("fast-export", "--show-original-ids", "HEAD", check=False)
    if exported.returncode != 0:
        return Walk([], {}) if repository.head() is None else None
    data = exported.stdout
    ids: dict[bytes, str] = {}
    blobs: dict[str, bytes] = {}
    commits: list[Commit] = []
    mark = b""
    oid = ""
    kind = b""
    at = 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        at = end + 1
        word, _, rest = line.partition(b" ")
        if word in (b"blob", b"commit", b"reset", b"tag"):
            kind, mark, oid = word, b"", ""
            if word == b"commit":
                commits.append(Commit("", [], 0))
        elif word == b"mark":
            mark = rest
        elif word == b"original-oid":
            oid = rest.decode()
            ids[mark] = oid
            if kind == b"commit":
                commits[-1].sha = oid
        elif word == b"data":
            size = int(rest)
            if kind == b"blob":
                blobs[oid] = data[at : at + size]
            at += size
            if data[at : at + 1] == b"\n":
                at += 1  # the optional line feed after the data
        elif kind != b"commit":
            continue
        elif word == b"committer":
            commits[-1].time = int(rest.rsplit(b" ", 2)[1])
            commits[-1].committer_email = email_of(rest.decode("utf-8", "replace"))
        elif word == b"author":
            commits[-1].author_email = email_of(rest.decode("utf-8", "replace"))
        elif word in (b"from", b"merge"):
            commits[-1].parents.append(ids.get(rest) or rest.decode())
        elif word == b"M":
            _, ref, path = rest.split(b" ", 2)
            name = path.decode("utf-8", "surrogateescape")
            if _signable(name):
                commits[-1].changes.append(Change("M", "", ids.get(ref) or ref.decode(), name))
        elif word == b"D":
            name = rest.decode("utf-8", "surrogateescape")
            if _signable(name):
                commits[-1].changes.append(Change("D", "", "", name))
    walk = Walk(commits, blobs)
    _merge_changes(walk)
    return walk


def _merge_changes(walk: Walk) -> None:
    """Give each merge its changes against every parent, not only the first.

    fast-export writes a merge's changes against its first parent, so a merge that keeps the first
    side (`-s ours`) would silently drop a note signed on another side: against that side, the
    merge changed or deleted it, and so it is listed.
    """
    for commit in walk.commits:
        if len(commit.parents) < 2:
            continue
        after = walk.files_at(commit.sha) or {}
        listed = {(change.path, change.new) for change in commit.changes}
        for parent in commit.parents[1:]:
            before = walk.files_at(parent) or {}
            for path in sorted(before.keys() | after.keys()):
                if before.get(path) == after.get(path):
                    continue
                change = (
                    Change("M", before.get(path, ""), after[path], path) if path in after else Change("D", "", "", path)
                )
                if (change.path, change.new) not in listed:
                    listed.add((change.path, change.new))
                    commit.changes.append(change)


# What the history walk keeps: notes that are signed and co-signatures, which never change once
# committed, and the contract, which names the supervisor a co-signature must come from.
_WALKED_KINDS = IMMUTABLE_KINDS | {FileKind.CLIENT}


def _signable(path: str) -> bool:
    return kind_in_client(tuple(path.split("/"))) in _WALKED_KINDS


def _fields(raw: bytes, *, front_matter: bool = True) -> dict[str, object]:
    try:
        data = parse_document(raw, front_matter=front_matter).data
    except Exception:  # noqa: BLE001 - a version that does not parse is judged by its bytes alone
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class _Signed:
    blob: str
    commit: str
    raw: bytes


class _Report:
    """Findings, each once, at a path shown relative to the current folder."""

    def __init__(self, shown_folder: str) -> None:
        self.shown_folder = shown_folder
        self.problems: dict[Problem, None] = {}

    def add(self, path: str | None, rule: str, message: str) -> None:
        shown = self.shown_folder if path is None else str(Path(self.shown_folder) / path)
        self.problems[Problem(shown, 1, 1, Severity.ERROR, rule, message)] = None


def _notes_history(walk: Walk, report: _Report) -> dict[str, str]:
    """Check every signed note and co-signature through the history; return, for each commit that
    added a co-signature, the address of the supervisor who had to make it."""
    signed: dict[str, _Signed] = {}
    cosigners: dict[str, str] = {}
    for commit in walk.commits:
        short = commit.sha[:12]
        for change in commit.changes:
            before = signed.get(change.path)
            if before is not None:
                if change.status == "D":
                    report.add(change.path, "verify-signed-deleted", f"the signed note was deleted in commit {short}")
                    continue
                if change.new != before.blob:
                    # Byte for byte, line endings included. The note as signed stays the
                    # reference for later commits and for its addenda.
                    report.add(
                        change.path,
                        "verify-signed-changed",
                        f"the note signed in commit {before.commit[:12]} was changed in commit {short}",
                    )
                continue
            if change.status == "D":
                continue
            raw = walk.blobs.get(change.new, b"")
            if kind_in_client(tuple(change.path.split("/"))) is FileKind.COSIGNATURE:
                cosigners[commit.sha] = _cosignature(walk, commit, change.path, report)
                signed[change.path] = _Signed(change.new, commit.sha, raw)
            elif is_signed(raw):
                recorded = recorded_hash(raw)
                if recorded is None or recorded != content_hash(raw):
                    report.add(
                        change.path,
                        "verify-hash-mismatch",
                        f"the content hash did not match the note when it was signed in commit {short}",
                    )
                signed[change.path] = _Signed(change.new, commit.sha, raw)
    if walk.commits:
        _addenda(walk, signed, report)
    return cosigners


def _cosignature(walk: Walk, commit: Commit, path: str, report: _Report) -> str:
    """A co-signature, as the commit that added it holds it: committed (author and committer) by
    the supervisor that client.yaml names in that commit, matched by e-mail address; naming the
    note beside it, signed in that commit, with the hash that note records; and cosigned by that
    supervisor. The course rules check the same in the working tree, where a course's settings
    could turn them off; here nothing can."""
    files = walk.files_at(commit.sha) or {}
    contract = _fields(walk.blobs.get(files.get(CLIENT_NAME, ""), b""), front_matter=False)
    supervisor = contract.get("supervisor")
    expected = email_of(supervisor) if isinstance(supervisor, str) else ""
    short = commit.sha[:12]
    if not expected or expected != commit.author_email or expected != commit.committer_email:
        report.add(
            path,
            "verify-cosignature-author",
            f"the co-signature was committed in commit {short} by someone other than the supervisor "
            "client.yaml named then",
        )
    fields = _fields(walk.blobs.get(files.get(path, ""), b""), front_matter=False)
    note = cosigned_note(path)
    raw = walk.blobs.get(files.get(note, ""))
    cosigner = fields.get("cosigned_by")
    if (
        fields.get("note") != note
        or raw is None
        or not is_signed(raw)
        or fields.get("content_hash") != recorded_hash(raw)
        or not isinstance(cosigner, str)
        or email_of(cosigner) != expected
    ):
        report.add(
            path,
            "verify-cosignature",
            f"the co-signature added in commit {short} does not match the signed note beside it (its name, its "
            "content hash) or its supervisor",
        )
    return expected


def _addenda(walk: Walk, signed: dict[str, _Signed], report: _Report) -> None:
    """Every addendum at HEAD resolves: its note is signed, with the recorded hash and signing commit.

    The note as it was signed is the reference, so a note changed later is reported once, as
    changed, and not again through each of its addenda.
    """
    head = walk.files_at(walk.commits[-1].sha) or {}
    for path, blob in sorted(head.items()):
        if kind_in_client(tuple(path.split("/"))) is not FileKind.ADDENDUM:
            continue
        amends = _fields(walk.blobs.get(blob, b"")).get("amends")
        if not isinstance(amends, dict):
            continue
        target = str(amends.get("note"))
        reference = signed.get(target)
        raw = reference.raw if reference is not None and target in head else None
        if raw is None or not is_signed(raw):
            report.add(path, "verify-addendum", "the note this addendum amends is not a signed note at HEAD")
        elif content_hash(raw) != amends.get("content_hash"):
            report.add(path, "verify-addendum", "the amended note's content hash differs from the one recorded")
        commit = amends.get("commit")
        at_signing = walk.files_at(str(commit)) if commit else None
        if commit and (at_signing is None or target not in at_signing):
            report.add(path, "verify-addendum", "the recorded signing commit does not hold the amended note")


def _dates(commits: list[Commit], report: _Report) -> None:
    times = {commit.sha: commit.time for commit in commits}
    for commit in commits:
        for parent in commit.parents:
            if parent in times and commit.time < times[parent]:
                report.add(
                    None, "verify-commit-dates", f"commit {commit.sha[:12]} is dated before its parent {parent[:12]}"
                )


_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _rewrites(repository: Repository, commits: list[Commit], report: _Report) -> None:
    """A branch that once held a commit its history no longer contains was rewritten (a rebase, a
    reset, an amended commit). Only this repository's own log of its branch can tell; a clone
    starts a log of its own, and `git reflog expire` empties it."""
    try:
        head = (repository.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        branch = head.removeprefix("ref: refs/heads/")
        if branch == head or not _BRANCH.fullmatch(branch) or ".." in branch:
            return  # detached, or a name that is no branch of this repository
        logged = (repository.git_dir / "logs" / "refs" / "heads" / branch).read_bytes()
    except (OSError, UnicodeDecodeError):
        return
    walked = {commit.sha for commit in commits}
    for entry in logged.decode("utf-8", "replace").splitlines():
        fields = entry.partition("\t")[0]
        parts = fields.split(" ")
        if len(parts) < 2 or not _OBJECT_ID.fullmatch(parts[1]) or set(parts[1]) == {"0"} or parts[1] in walked:
            continue
        report.add(
            None,
            "verify-history-rewritten",
            f"branch {branch} once held commit {parts[1][:12]}, which its history no longer contains: the history "
            "was rewritten after the fact (a rebase, a reset or an amended commit)",
        )
        return


def _fsck(checking: subprocess.Popen[bytes], report: _Report) -> None:
    stdout, stderr = checking.communicate()
    lines = (stdout + stderr).decode("utf-8", "replace").splitlines()
    if checking.returncode != 0 or lines:
        # fsck names objects by id, never by content.
        detail = "; ".join(line.strip() for line in lines[:5]) or f"exit {checking.returncode}"
        report.add(None, "verify-fsck", f"git fsck --full found problems: {detail}")


def _remote(repository: Repository, remote: str, report: _Report) -> None:
    known = repository.git("remote", check=False).stdout.decode().split()
    if remote not in known:
        report.add(None, "verify-remote", f"there is no {remote} remote to check against (ipt-notes add-backup)")
        return
    listed = repository.git("ls-remote", "--heads", remote, check=False)
    if listed.returncode != 0:
        report.add(None, "verify-remote", f"the {remote} repository cannot be read (git ls-remote failed)")
        return
    for line in listed.stdout.decode().splitlines():
        sha, ref = line.split("\t", 1)
        if not repository.has_commit(sha):
            # The backup may simply be ahead (a supervisor's co-signatures): fetch its commits to tell.
            # An audit changes nothing a hook should see, and a copied repository's hooks are not ours.
            repository.git("fetch", "--quiet", "--no-tags", remote, ref, check=False, run_hooks=False)
        if repository.has_commit(sha) and repository.is_ancestor("HEAD", sha):
            continue  # the backup is ahead: this history is part of it, and ipt-notes pull brings the rest
        if not repository.has_commit(sha) or not repository.is_ancestor(sha, "HEAD"):
            report.add(
                None,
                "verify-remote",
                f"{remote} holds {ref} at {sha[:12]}, which is not in this history: the history was rewritten "
                "since it was pushed",
            )


def _unsigned_commits(commits: list[Commit], since: str | None, report: _Report) -> None:
    if since is not None and not any(commit.sha.startswith(since) for commit in commits):
        # A start that is not in this history would check nothing: every commit is checked instead.
        report.add(
            None,
            "verify-unsigned-commit",
            "verify.signed_commits_since names a commit that is not in this history, so every commit is checked",
        )
        since = None
    started = since is None
    for commit in commits:
        started = started or commit.sha.startswith(since or "")
        if started and commit.signature != "G":
            report.add(None, "verify-unsigned-commit", f"commit {commit.sha[:12]} has no good signature")


def _signatures(repository: Repository) -> dict[str, tuple[str, str]]:
    """git's verdict on each commit's signature (G good, N none, B bad...) and the signer it names
    (a key's identity, or the principal of an allowed signers file), by commit id."""
    out = repository.git("log", "--format=%H%x1f%G?%x1f%GS", *NO_DIFF_PROGRAMS, "HEAD", "--").stdout
    verdicts = {}
    for line in out.decode("utf-8", "replace").splitlines():
        sha, _, rest = line.partition("\x1f")
        verdict, _, signer = rest.partition("\x1f")
        verdicts[sha] = (verdict, signer)
    return verdicts


def _cosignature_signers(commits: list[Commit], cosigners: dict[str, str], report: _Report) -> None:
    """With signed commits required, a co-signature's commit is signed by the supervisor's key:
    the signer git names has the supervisor's address."""
    for commit in commits:
        expected = cosigners.get(commit.sha)
        if expected is None or commit.signature != "G":
            continue  # no co-signature here, or no good signature at all (reported already)
        signer = commit.signer.strip().lower()
        if expected not in (email_of(commit.signer), signer):
            report.add(
                None,
                "verify-cosignature-signer",
                f"commit {commit.sha[:12]} adds a co-signature but is signed by a key that is not the supervisor's",
            )


def verify_repository(
    repository: Repository,
    shown_folder: str,
    *,
    remote: str | None = None,
    require_signed_commits: bool = False,
    signed_since: str | None = None,
) -> list[Problem]:
    """Every finding of the audit of one client's repository, in the order of the checks.

    Besides fsck, one `git fast-export` reads the whole history: every commit reachable from
    HEAD, parents first, with the files it changed and every version of every file.
    """
    if repository.is_shallow():
        raise GitProblem(
            f"{shown_folder} is a shallow clone: it holds only part of the history, which verify cannot vouch "
            "for; fetch all of it first (git fetch --unshallow)"
        )
    report = _Report(shown_folder)
    # fsck reads every object, the longest step by far: it runs on another core meanwhile.
    # Reflog entries are local leftovers, not the record: a rebase leaves some that name objects
    # git never stored. The rewrite itself is reported from the branch's log instead.
    checking = repository.spawn("fsck", "--full", "--no-progress", "--no-dangling", "--no-reflogs")
    try:
        walk = history(repository)
        if walk is None:
            report.add(None, "verify-fsck", "the history cannot be read in full (git fast-export failed)")
            walk = Walk([], {})
        cosigners = _notes_history(walk, report)
        commits = walk.commits
        _dates(commits, report)
        _rewrites(repository, commits, report)
        _fsck(checking, report)
        if remote is not None:
            _remote(repository, remote, report)
        if require_signed_commits and commits:
            verdicts = _signatures(repository)
            for commit in commits:
                commit.signature, commit.signer = verdicts.get(commit.sha, ("", ""))
            _unsigned_commits(commits, signed_since, report)
            _cosignature_signers(commits, cosigners, report)
    finally:
        if checking.returncode is None:
            checking.kill()
            checking.communicate()
    return list(report.problems)

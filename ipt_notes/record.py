"""`sign`, `cosign` and `amend`: locking notes, and correcting them without editing them.

Signing checks the note as it will be once signed (its schema and its course's rules), then sets
status, signer, time and content hash, and commits through the git command line, so that git's
commit signing applies when the clinician has it set. A signed note is never changed again by
ipt-notes, except that a supervisor's co-signature is added in lines the hash leaves out.
Corrections are addenda: new files linked to the signed note by its path, hash and signing commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from ipt_notes.course import addendum_notes, course_files
from ipt_notes.errors import GitProblem, NotesInvalid, RefusedInput
from ipt_notes.files import create_new, replace_atomically
from ipt_notes.git import Repository, commit_paths, open_repository
from ipt_notes.layout import FileKind, find_root, kind_of
from ipt_notes.loader import read_bytes, read_document
from ipt_notes.lock import repository_lock
from ipt_notes.problems import Severity
from ipt_notes.signing import add_cosignature, content_hash, signed_with_origins, timestamp
from ipt_notes.vocabulary import statuses, terms

__all__ = ["amend_note", "awaiting_cosignature", "cosign_notes", "sign_notes"]

_SIGNABLE = (FileKind.SESSION, FileKind.ADDENDUM, FileKind.REVIEW)

Target = tuple[Path, FileKind, Path]
"""A note: its absolute path, its kind and its client folder."""


def _note(root: Path, path: Path) -> Target:
    """The note's absolute path, its kind and its client folder; anything else is refused."""
    absolute = path.resolve()
    if not absolute.is_file():
        raise RefusedInput(f"no such note: {path}")
    try:
        absolute.relative_to(root)
    except ValueError:
        raise RefusedInput(f"{path} is not in the notes repository {root}") from None
    kind = kind_of(absolute)
    if kind not in _SIGNABLE:
        raise RefusedInput(f"{path} is not a session note, an addendum or a review")
    folder = absolute.parent.parent if kind is not FileKind.REVIEW else absolute.parent
    return absolute, kind, folder


def _label(path: Path, folder: Path) -> str:
    """How a note is named in a commit message: the client ID and the session number, no more."""
    name = path.name.removesuffix(".md")
    return f"{folder.name} {name.replace('.', ' ').lstrip('0') or name}"


def _fields(path: Path, kind: FileKind) -> dict[str, object]:
    data = read_document(path, front_matter=kind.has_front_matter).data
    if not isinstance(data, dict):
        raise RefusedInput(f"{path} has no fields to sign")
    return data


def _check_as_signed(folder: Path, replaced: dict[Path, tuple[bytes, list[int]]]) -> None:
    """Refuse, with every finding, notes that would not be valid and complete once signed.

    Each finding is shown at its line in the draft on disk, not in the signed text.
    """
    from ipt_notes.validation import Unit, check_unit, settings_for, shown_path

    files = course_files(folder)
    contents = {path: replaced[path][0] if path in replaced else read_bytes(path) for path in files}
    unit = Unit(
        files=tuple((path, kind, shown_path(path, Path.cwd())) for path, kind in sorted(files.items())),
        report=frozenset(replaced),
        folder=folder,
        settings=settings_for(folder),
        contents=contents,
    )
    origins = {shown_path(path, Path.cwd()): lines for path, (_, lines) in replaced.items()}
    problems = [
        p._replace(line=origins[p.path][p.line - 1]) if p.path in origins else p
        for p in check_unit(unit)
        if p.severity is Severity.ERROR
    ]
    if problems:
        raise NotesInvalid(
            what="the note",
            problems=problems,
            advice="a signed note may have none of them, so nothing was signed",
        )


Rewrite = Callable[[list[Target], str, str], dict[Path, bytes]]
"""Given the notes, git's identity and the time, the new bytes of each note (or a refusal)."""


def _rewrite_and_commit(
    start: Path, notes: list[Path], action: str, rewrite: Rewrite, now: dt.datetime | None
) -> list[Path]:
    """Under the lock: compute every note's new bytes, then write them all and make one commit."""
    root = find_root(start)
    targets = [_note(root, path) for path in notes]
    repository = open_repository(root)
    with repository_lock(repository.git_dir):
        texts = rewrite(targets, repository.preflight(), timestamp(now))
        for path, text in texts.items():
            replace_atomically(path, text)
        labels = ", ".join(_label(path, folder) for path, _, folder in targets)
        commit_paths(repository, list(texts), f"{action} {labels}")
    return list(texts)


def _signed(targets: list[Target], signer: str, when: str) -> dict[Path, bytes]:
    by_client: dict[Path, dict[Path, tuple[bytes, list[int]]]] = {}
    for path, kind, folder in targets:
        if _fields(path, kind).get("status") == statuses().signed:
            raise RefusedInput(f"{_label(path, folder)} is already signed: correct it with ipt-notes amend")
        by_client.setdefault(folder, {})[path] = signed_with_origins(read_bytes(path), signer=signer, when=when)
    for folder, replaced in by_client.items():
        _check_as_signed(folder, replaced)
    return {path: text for replaced in by_client.values() for path, (text, _) in replaced.items()}


def sign_notes(start: Path, notes: list[Path], *, now: dt.datetime | None = None) -> list[Path]:
    """Sign draft notes, all in one commit, after checking each as it will be once signed."""
    return _rewrite_and_commit(start, notes, "sign", _signed, now)


def _supervisor(folder: Path) -> str | None:
    client = read_document(folder / "client.yaml", front_matter=False).data
    supervisor = client.get("supervisor") if isinstance(client, dict) else None
    return supervisor if isinstance(supervisor, str) and supervisor else None


def awaiting_cosignature(note: Path) -> bool:
    """Whether the client of a signed note names a supervisor who has not co-signed it yet."""
    kind = kind_of(note)
    if kind not in _SIGNABLE:
        return False
    folder = note.parent.parent if kind is not FileKind.REVIEW else note.parent
    return _supervisor(folder) is not None and "cosigned_by" not in _fields(note, kind)


def _cosigned(targets: list[Target], cosigner: str, when: str) -> dict[Path, bytes]:
    texts = {}
    for path, kind, folder in targets:
        fields = _fields(path, kind)
        label = _label(path, folder)
        supervisor = _supervisor(folder)
        if fields.get("status") != statuses().signed:
            raise RefusedInput(f"{label} is not signed yet: it is co-signed after the clinician signs it")
        if "cosigned_by" in fields:
            raise RefusedInput(f"{label} is already co-signed")
        if supervisor is None:
            raise RefusedInput(f"{label}: client.yaml names no supervisor, so there is no co-signature to give")
        if supervisor != cosigner:
            raise RefusedInput(f"{label}: only the supervisor named in client.yaml co-signs (git's identity is not)")
        raw = read_bytes(path)
        if content_hash(raw) != fields.get("content_hash"):
            raise RefusedInput(f"{label} was changed after signing: it cannot be co-signed")
        texts[path] = add_cosignature(raw, cosigner=cosigner, when=when)
    return texts


def cosign_notes(start: Path, notes: list[Path], *, now: dt.datetime | None = None) -> list[Path]:
    """Add the supervisor's co-signature to signed notes, in one commit."""
    return _rewrite_and_commit(start, notes, "cosign", _cosigned, now)


def _signing_commit(repository: Repository, path: Path) -> str:
    relative = str(path.relative_to(repository.work_tree))
    if repository.git("status", "--porcelain", "--", relative).stdout.strip():
        raise GitProblem(f"{relative} has changes that are not committed: commit the signed note first")
    commit = repository.git("log", "-1", "--format=%H", "--", relative).stdout.decode().strip()
    if not commit:
        raise GitProblem(f"{relative} is not committed yet: commit the signed note first")
    return commit


def amend_note(start: Path, note: Path, *, kind: str = "addendum", today: dt.date | None = None) -> Path:
    """Scaffold an addendum linked to a signed session note, and commit it."""
    from ipt_notes.scaffold import check_rendered, render_template, yaml_scalar

    if kind not in terms("addendum_kind"):
        raise RefusedInput("--kind is one of: " + ", ".join(terms("addendum_kind")))
    root = find_root(start)
    path, note_kind, folder = _note(root, note)
    if note_kind is not FileKind.SESSION:
        raise RefusedInput(f"{note} is not a session note: addenda amend session notes")
    repository = open_repository(root)
    with repository_lock(repository.git_dir):
        author = repository.preflight()
        fields = _fields(path, note_kind)
        label = _label(path, folder)
        if fields.get("status") != statuses().signed:
            raise RefusedInput(f"{label} is not signed: a draft is corrected in place, not by an addendum")
        digest = content_hash(read_bytes(path))
        if digest != fields.get("content_hash"):
            raise RefusedInput(f"{label} was changed after signing: restore it before adding an addendum")
        commit = _signing_commit(repository, path)
        number = path.name.removesuffix(".md")
        index = 1 + max(
            (i for session, i, _ in addendum_notes(folder) if f"{session:02d}" == number or str(session) == number),
            default=0,
        )
        values = {
            "client": folder.name,
            "kind": kind,
            "note": f"sessions/{path.name}",
            "content_hash": digest,
            "commit": commit,
            "author": yaml_scalar(author),
            "date": (today or dt.date.today()).isoformat(),
        }
        text = render_template("addendum.md", values, root)
        target = path.parent / f"{number}.addendum-{index}.md"
        check_rendered(text, FileKind.ADDENDUM, str(target.relative_to(root)))
        create_new(target, text.encode("utf-8"))
        commit_paths(repository, [target], f"amend {label}")
    return target

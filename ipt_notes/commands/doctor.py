"""`ipt-notes doctor`: what a crash, a clone or a moved interpreter left behind, found and repaired.

Each check looks at one client repository (or the practice folder) as it is on disk and names
what is wrong as a problem, in the format `validate` uses. `--fix` repairs only what is safe to
repair without judgement: a lock file no running git command holds, temporary files, the hook,
and file modes. Notes are never changed, committed or deleted: what needs the clinician (a note
saved but not committed, a settings file missing) is reported with what to run.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from ipt_notes.errors import GitProblem, IptNotesError
from ipt_notes.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE
from ipt_notes.git import Repository, git_available, hook_interpreter_missing, open_client_repository
from ipt_notes.layout import PRIVATE_DIR, SESSIONS_DIR, SETTINGS_NAME, in_practice
from ipt_notes.problems import Problem, Severity

__all__ = ["DoctorReport", "doctor"]

# git's lock files, by where they sit in the git folder; a ref's lock sits beside the ref.
_GIT_LOCKS = ("index.lock", "HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock", "ORIG_HEAD.lock")
_NEXT_INDEX = re.compile(r"next-index-[0-9]+\.lock(?:\.lock)?\Z")
"""The index git commit --only builds, and git's lock of that file: both are locks of a commit."""
_OUR_INDEX = re.compile(r"ipt-notes-index-([0-9]+)(?:\.lock)?\Z")
"""ipt-notes' own index file of a commit being checked, named by its process id, and git's lock of it."""
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp\Z")
_OUR_TEMPORARY = ".ipt-notes-"
"""How ipt-notes' own temporary files in the git folder begin."""
_NEW_CLIENT = re.compile(r"\.new-client-.+\Z")
# A temporary file younger than this may belong to a command that is writing it now.
_SETTLED_SECONDS = 60.0


@dataclass
class DoctorReport:
    problems: list[Problem] = field(default_factory=list)
    """What is wrong (after --fix: what is still wrong)."""
    fixed: list[str] = field(default_factory=list)
    """What --fix did, one sentence each."""


class _Checkup:
    def __init__(self, folder: Path, shown: str, fix: bool, report: DoctorReport) -> None:
        self.folder, self.shown, self.fix, self.report = folder, shown, fix, report

    def problem(self, relative: str, rule: str, message: str, severity: Severity = Severity.ERROR) -> None:
        shown = os.path.normpath(Path(self.shown) / relative) if relative else self.shown
        self.report.problems.append(Problem(shown, 1, 1, severity, rule, message))

    def fixed(self, what: str) -> None:
        self.report.fixed.append(f"{self.shown}: {what}")


def doctor(practice: Path | None, folders: list[Path], cwd: Path, *, fix: bool = False) -> DoctorReport:
    """Check each client repository and, when there is one, the practice folder."""
    report = DoctorReport()
    if not git_available():
        report.problems.append(
            Problem(".", 1, 1, Severity.ERROR, "doctor-git", "git is not installed or not on PATH; install git")
        )
        return report
    if practice is not None:
        _practice_folder(practice, _Checkup(practice, os.path.relpath(practice, cwd), fix, report))
    for folder in folders:
        _client(folder, _Checkup(folder, os.path.relpath(folder, cwd), fix, report))
    return report


def _practice_folder(practice: Path, checkup: _Checkup) -> None:
    """Clients whose creation was interrupted leave a `.new-client-*` folder in the practice."""
    for entry in sorted(practice.iterdir()):
        if _NEW_CLIENT.match(entry.name) and entry.is_dir() and not entry.is_symlink() and _settled(entry):
            if checkup.fix:
                import shutil

                shutil.rmtree(entry, ignore_errors=True)
                checkup.fixed(f"removed {entry.name}, left by an interrupted new-client")
            else:
                checkup.problem(
                    entry.name, "doctor-leftover", "left by an interrupted new-client (doctor --fix removes it)"
                )


def _client(folder: Path, checkup: _Checkup) -> None:
    try:
        repository = open_client_repository(folder)
    except GitProblem as error:
        checkup.problem("", "doctor-repository", str(error))
        return
    try:
        repository.author()
    except IptNotesError as error:
        checkup.problem("", "doctor-identity", str(error))
    except Exception:  # noqa: BLE001 - a repository too damaged to answer is itself the finding
        checkup.problem("", "doctor-repository", "git cannot read this repository")
        return
    _hook(repository, checkup)
    _settings(folder, checkup)
    _locks(repository, checkup)
    _temporary_files(folder, repository, checkup)
    _uncommitted(repository, checkup)
    _modes(folder, checkup)
    _attributes(folder, checkup)
    _backup(folder, repository, checkup)


def _hook(repository: Repository, checkup: _Checkup) -> None:
    from ipt_notes.client_repository import HOOK_MARKER, install_hook

    hook = repository.git_path("hooks/pre-commit")
    if repository.git_dir.resolve() not in hook.resolve().parents:
        return  # core.hooksPath names a shared hooks folder: the user's own arrangement
    try:
        text = hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    if text and HOOK_MARKER not in text:
        return  # a hook of the user's own, left alone
    missing = not text or not os.access(hook, os.X_OK)
    broken = not missing and hook_interpreter_missing(repository)
    if not (missing or broken):
        return
    why = (
        "the pre-commit hook is missing (a clone carries no hooks)"
        if missing
        else ("the pre-commit hook cannot start: the Python it was installed with is gone")
    )
    if checkup.fix:
        if text:
            hook.unlink()
        if install_hook(repository) is not None:
            checkup.fixed("installed the pre-commit hook with this ipt-notes")
            return
    checkup.problem(".git/hooks/pre-commit", "doctor-hook", f"{why} (doctor --fix installs it)")


def _settings(folder: Path, checkup: _Checkup) -> None:
    from ipt_notes.errors import NotesInvalid
    from ipt_notes.settings import load_course_settings

    try:
        settings = load_course_settings(folder / SETTINGS_NAME, str(Path(checkup.shown) / SETTINGS_NAME))
    except NotesInvalid:
        checkup.problem(
            SETTINGS_NAME, "doctor-settings", "the course settings cannot be used (ipt-notes validate says why)"
        )
        return
    if not settings.recorded:
        checkup.problem(
            SETTINGS_NAME,
            "doctor-settings",
            "no course settings are recorded, so the defaults apply (ipt-notes apply-settings records the practice's)",
            Severity.WARNING,
        )


def _git_running_in(repository: Repository) -> bool | None:
    """Whether a git process runs in this repository (its folder or its git folder); None when
    this machine cannot tell (no /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    places = (str(repository.work_tree.resolve()), str(repository.git_dir.resolve()))
    for entry in proc.iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            name = (entry / "comm").read_text().strip()
            if not name.startswith("git"):
                continue
            cwd = str((entry / "cwd").readlink())
        except OSError:
            continue
        if any(cwd == place or cwd.startswith(place + os.sep) for place in places):
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _lock_files(repository: Repository) -> list[Path]:
    git_dir = repository.git_dir
    found = [git_dir / name for name in _GIT_LOCKS if os.path.lexists(git_dir / name)]
    found += sorted(path for path in git_dir.iterdir() if _NEXT_INDEX.match(path.name))
    refs = git_dir / "refs"
    if refs.is_dir():
        found += sorted(path for path in refs.rglob("*.lock") if path.is_file())
    return found


def _locks(repository: Repository, checkup: _Checkup) -> None:
    git_dir = repository.git_dir
    # ipt-notes' own index files, one per command, named by its process id.
    for path in sorted(git_dir.iterdir()):
        match = _OUR_INDEX.match(path.name)
        if match and not _pid_alive(int(match.group(1))):
            if checkup.fix:
                path.unlink(missing_ok=True)
                checkup.fixed(f"removed {path.name}, left by an ipt-notes command that was stopped")
            else:
                checkup.problem(f".git/{path.name}", "doctor-leftover", "left by an ipt-notes command that was stopped")
    locks = _lock_files(repository)
    if not locks:
        return
    running = _git_running_in(repository)
    for lock in locks:
        relative = os.path.relpath(lock, repository.work_tree)
        if running:
            checkup.problem(
                relative,
                "doctor-lock",
                "a git command is running in this repository and holds it: wait",
                Severity.WARNING,
            )
        elif running is None:
            checkup.problem(
                relative,
                "doctor-lock",
                "git's lock file is in place, and this machine cannot tell whether a git command holds it: if none "
                "is running, delete it",
            )
        elif checkup.fix:
            lock.unlink(missing_ok=True)
            checkup.fixed(f"removed the stale lock {relative} (no git command was running)")
        else:
            checkup.problem(
                relative, "doctor-lock", "a stale lock: no git command is running here (doctor --fix removes it)"
            )


def _settled(path: Path) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > _SETTLED_SECONDS
    except OSError:
        return False


def _temporary_files(folder: Path, repository: Repository, checkup: _Checkup) -> None:
    """Temporary files of an atomic write that never reached its rename. The write they belong to
    did not happen, so the file in place is as it was; a command run again writes it anew. In the
    git folder, only ipt-notes' own are touched (those of a commit's token)."""
    git_dir = repository.git_dir
    for place, base in ((folder, folder), (folder / SESSIONS_DIR, folder), (git_dir, repository.work_tree)):
        if not place.is_dir() or place.is_symlink():
            continue
        for path in sorted(place.iterdir()):
            if not (_TEMPORARY.match(path.name) and path.is_file() and not path.is_symlink() and _settled(path)):
                continue
            if place == git_dir and not path.name.startswith(_OUR_TEMPORARY):
                continue
            relative = os.path.relpath(path, base)
            if checkup.fix:
                path.unlink(missing_ok=True)
                checkup.fixed(f"removed {relative}, a temporary file of a write that was interrupted")
            else:
                checkup.problem(
                    relative,
                    "doctor-leftover",
                    "a temporary file of a write that was interrupted (doctor --fix removes it)",
                )


def _uncommitted(repository: Repository, checkup: _Checkup) -> None:
    from ipt_notes.layout import kind_in_client

    for relative in repository.changed_paths():
        parts = Path(relative).parts
        if not parts or parts[0] == PRIVATE_DIR or kind_in_client(parts) is None:
            continue
        checkup.problem(
            relative,
            "doctor-uncommitted",
            "saved but not committed: commit it (git add, git commit), or run the command that wrote it again",
            Severity.WARNING,
        )


def _modes(folder: Path, checkup: _Checkup) -> None:
    """Files 0600 and folders 0700: a clone or checkout under umask 022 makes them readable by all."""
    loose: list[tuple[Path, int]] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if name != ".git" and not (Path(current) / name).is_symlink()]
        here = Path(current)
        for path, wanted in [(here, PRIVATE_DIR_MODE), *((here / name, PRIVATE_FILE_MODE) for name in files)]:
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            if stat.S_IMODE(info.st_mode) & 0o077:
                loose.append((path, wanted))
    if not loose:
        return
    if checkup.fix:
        for path, wanted in loose:
            path.chmod(wanted | (stat.S_IMODE(path.lstat().st_mode) & 0o100 if wanted == PRIVATE_FILE_MODE else 0))
        checkup.fixed(f"made {len(loose)} files and folders private to their owner (0600 and 0700)")
        return
    for path, _ in loose[:20]:
        checkup.problem(
            os.path.relpath(path, folder) if path != folder else "",
            "doctor-mode",
            "readable by others than its owner: health records are private (doctor --fix makes it 0600/0700)",
        )


def _attributes(folder: Path, checkup: _Checkup) -> None:
    try:
        current = (folder / ".gitattributes").read_text(encoding="utf-8")
    except OSError:
        current = ""
    if "* -text" not in current.splitlines():
        checkup.problem(
            ".gitattributes",
            "doctor-attributes",
            "missing or changed: without `* -text`, a clone made with core.autocrlf (Git for Windows) rewrites "
            "every note's line endings; restore it (git checkout -- .gitattributes)",
        )


def _backup(folder: Path, repository: Repository, checkup: _Checkup) -> None:
    if not in_practice(folder):
        return
    from ipt_notes.client_repository import BACKUP_REMOTE
    from ipt_notes.commands.backup import backup_url
    from ipt_notes.settings import load_practice_settings

    try:
        template = load_practice_settings(folder.parent.parent).backup
    except IptNotesError:
        return
    if not template:
        return
    client = folder.name
    expected = backup_url(template, client)
    listed = repository.git("remote", "get-url", BACKUP_REMOTE, check=False)
    if listed.returncode != 0:
        checkup.problem("", "doctor-backup", "no backup remote, though the practice has a backup: ipt-notes add-backup")
    elif listed.stdout.decode("utf-8", "replace").strip() != expected:
        checkup.problem(
            "", "doctor-backup", "the backup remote differs from the practice's backup: ipt-notes add-backup"
        )

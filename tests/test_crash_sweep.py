"""Crash sweeps: each writing command killed at every fault point, killed at random, and given an
I/O error at every write, as real processes of the installed script.

For each command, one uninterrupted run (counting its checkpoints) gives the reference: the files
and the commits the command leaves. Then, for each fault, on a fresh copy of the same practice:

- no note is torn: every notes file is absent, as it was before, or as the reference has it;
- nothing is lost: every file that was there before is still there;
- running the same command again converges on the reference (one commit for the action, a clean
  `git status`); where it cannot, its message says what to run, and running that converges;
- `ipt-notes doctor --fix` leaves no leftover, and `validate` and `verify` pass;
- no output quotes the canary a note holds.

A command killed after its commit has nothing left to finish: its end state is the reference's
as it stands (run again, it would do its next action). Every fault is checked for torn and lost
notes; of the faults that leave one state (a kill before or after a git call that only reads),
the first is re-run, repaired and checked, and the others share its verdict: a re-run sees the
same files, the time of signing aside, the same index and the same leftovers.

The slow sweeps print what they ran (pytest -s): faults, states re-run, and what each fault
needed beyond running the command again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import NOTE, later
from tests.helpers import CANARY, SCRIPT, commits, copy_tree, git, script

CLIENT = "clients/C-0042"
SUPERVISOR = {
    "GIT_AUTHOR_NAME": "S-01",
    "GIT_AUTHOR_EMAIL": "s01@clinic.example",
    "GIT_COMMITTER_NAME": "S-01",
    "GIT_COMMITTER_EMAIL": "s01@clinic.example",
}
LEFTOVER = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp\Z")
"""A temporary file of a write that was interrupted (the pattern doctor removes)."""
VARYING = re.compile(rb"^(signed_at|content_hash|cosigned_at): [^\n]*$", re.MULTILINE)
"""The lines that differ between two runs of one command: the time of signing and what hashes it."""
WORKERS = os.cpu_count() or 2
"""Faulted runs at once: one per core, as each is mostly its processes' work."""


def masked(data: bytes) -> bytes:
    return VARYING.sub(rb"\1: ~", data)


@dataclasses.dataclass(frozen=True)
class Command:
    """A writing command, run from the practice folder, with the files it is meant to change."""

    name: str
    args: tuple[str, ...]
    changes: frozenset[str] = frozenset()
    env: tuple[tuple[str, str], ...] = ()

    def run(self, practice: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        return script(*self.args, cwd=practice, env=self.environment(fault))

    def environment(self, fault: str | None = None) -> dict[str, str]:
        environment = dict(self.env)
        environment["IPT_NOTES_FAULT"] = fault or ""
        return environment


NEW_SESSION = Command("new-session", ("new-session", "C-0042", "--date", later(1)))
SIGN = Command("sign", ("sign", NOTE), frozenset({"sessions/01.md"}))
AMEND = Command("amend", ("amend", NOTE))
COSIGN = Command("cosign", ("cosign", NOTE), env=tuple(SUPERVISOR.items()))


# --- what a client folder holds --------------------------------------------------------------


def notes_files(client: Path) -> dict[str, bytes]:
    """Every file of the client's work tree but the git folder, by its path in the client."""
    found = {}
    for current, dirs, files in os.walk(client):
        dirs[:] = [name for name in dirs if not (current == str(client) and name == ".git")]
        for name in files:
            path = Path(current) / name
            if not path.is_symlink():
                found[path.relative_to(client).as_posix()] = path.read_bytes()
    return found


def leftovers(client: Path) -> list[str]:
    """What a stopped command leaves: temporary files of interrupted writes anywhere in the client,
    its git folder included, ipt-notes' own index files, and git's lock files (ipt-notes' own lock
    is a file that stays: the kernel's lock on it goes with the process)."""
    git_dir = client / ".git"
    found = [path for path in notes_files(client) if LEFTOVER.match(Path(path).name)]
    found += [
        f".git/{path.name}"
        for path in git_dir.iterdir()
        if LEFTOVER.match(path.name)
        or path.name.startswith("ipt-notes-index-")
        or (path.name.endswith(".lock") and path.name != "ipt-notes.lock")
    ]
    found += [path.relative_to(client).as_posix() for path in (git_dir / "refs").rglob("*.lock")]
    return sorted(found)


def age_leftovers(client: Path) -> None:
    """Make the temporary files old enough for doctor to call them leftovers, as time would."""
    old = time.time() - 3600
    for relative in leftovers(client):
        os.utime(client / relative, (old, old))


def state(client: Path) -> str:
    """A fingerprint of what a re-run would find: the work tree (the time of signing aside, and
    temporary files by the kind of their name), what git status lists, the commits, and the names
    of what a stopped command leaves in the git folder."""
    digest = hashlib.sha256()
    for relative, data in sorted(notes_files(client).items()):
        if LEFTOVER.match(Path(relative).name):
            digest.update(f"{_kind(relative)}\0".encode())
        else:
            digest.update(f"{relative}\0".encode() + hashlib.sha256(masked(data)).digest())
    digest.update(git(client, "--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=all").encode())
    digest.update(git(client, "log", "--format=%s").encode())
    git_dir = client / ".git"
    names = [path.name for path in git_dir.iterdir()] + [
        f"refs/heads/{path.name}" for path in (git_dir / "refs" / "heads").iterdir() if path.suffix == ".lock"
    ]
    digest.update("\0".join(sorted({_kind(name) for name in names})).encode())
    return digest.hexdigest()


def _kind(name: str) -> str:
    """A file name with what varies from run to run (a process id, a temporary suffix) taken out."""
    return re.sub(r"\.[A-Za-z0-9_]+\.tmp\Z", ".*.tmp", re.sub(r"index-[0-9]+", "index-*", name))


# --- the reference run ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reference:
    command: Command
    base: Path
    before: dict[str, bytes]
    after: dict[str, bytes]
    subjects: list[str]
    checkpoints: list[str]
    seconds: float

    @property
    def io_points(self) -> int:
        return sum(line.endswith(" io") for line in self.checkpoints)

    def copy(self, target: Path) -> Path:
        return copy_tree(self.base, target)


def reference(command: Command, base: Path, folder: Path) -> Reference:
    """Run `command` once, uninterrupted, on a copy of `base`, counting its checkpoints."""
    practice = copy_tree(base, folder / "reference")
    counted = folder / "checkpoints"
    started = time.monotonic()
    result = command.run(practice, f"count:{counted}")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    client = practice / CLIENT
    assert git(client, "status", "--porcelain") == ""
    assert leftovers(client) == []
    return Reference(
        command,
        base,
        notes_files(base / CLIENT),
        notes_files(client),
        commits(client),
        counted.read_text().splitlines(),
        seconds,
    )


# --- the checks -------------------------------------------------------------------------------


def torn_or_lost(ref: Reference, client: Path) -> list[str]:
    """Each notes file that is neither as it was before nor as the reference run leaves it, and
    each one that is gone."""
    problems = []
    now = notes_files(client)
    for relative, data in now.items():
        if LEFTOVER.match(Path(relative).name):
            continue
        if data == ref.before.get(relative):
            continue
        if relative in ref.after and masked(data) == masked(ref.after[relative]):
            continue
        problems.append(f"{relative} is torn or foreign ({len(data)} bytes)")
    for relative in ref.before:
        if relative not in now:
            problems.append(f"{relative} is lost")
        elif relative not in ref.command.changes and now[relative] != ref.before[relative]:
            problems.append(f"{relative} was changed, and the command is not meant to change it")
    return problems


def differences(ref: Reference, client: Path) -> list[str]:
    """How a client differs from the reference's end state: its files (the time of signing aside),
    its commits, and what git status lists."""
    problems = []
    now = {path: masked(data) for path, data in notes_files(client).items() if not LEFTOVER.match(Path(path).name)}
    wanted = {path: masked(data) for path, data in ref.after.items()}
    for path in sorted(now.keys() | wanted.keys()):
        if now.get(path) != wanted.get(path):
            problems.append(f"{path}: {'missing' if path not in now else 'extra' if path not in wanted else 'differs'}")
    subjects = commits(client)
    if subjects != ref.subjects:
        problems.append(f"commits {subjects[:3]}... where the reference has {ref.subjects[:3]}...")
    status = git(client, "status", "--porcelain")
    if status:
        problems.append(f"git status lists {status.split()}")
    return problems


@dataclasses.dataclass
class Outcome:
    """What became of one fault: how the command ended, and what was wrong, if anything."""

    label: str
    code: int | None = None
    completed: bool = False
    """The command had made its commit before it was stopped: there was nothing to finish."""
    needed: str = ""
    """What the re-run's message said to run, when the re-run alone did not finish the job."""
    same_as: str = ""
    """The earlier point that left the same state, and was re-run for both."""
    problems: list[str] = dataclasses.field(default_factory=list)
    outputs: list[str] = dataclasses.field(default_factory=list)


def _shell(line: str, practice: Path, command: Command) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "IPT_NOTES_DEBUG"}
    environment.update(command.environment())
    return subprocess.run(line, shell=True, cwd=practice, capture_output=True, text=True, env=environment, timeout=120)


def converge(ref: Reference, practice: Path, outcome: Outcome) -> None:
    """Run the command again, unless it had finished; where the re-run exits non-zero, follow what
    its message says to run. Either way the end state must be the reference's."""
    client = practice / CLIENT
    if not differences(ref, client):
        outcome.completed = True
        return
    again = ref.command.run(practice)
    outcome.outputs += [again.stdout, again.stderr]
    if again.returncode != 0:
        finish = re.search(r"To finish: (.*)$", again.stderr, flags=re.MULTILINE)
        if "ipt-notes doctor --fix" in again.stderr:
            # A stale lock of git's (git itself was killed): no git command finishes before it goes.
            outcome.needed = "ipt-notes doctor --fix, then the command again"
            age_leftovers(client)
            repaired = script("doctor", "C-0042", "--fix", cwd=practice)
            outcome.outputs += [repaired.stdout, repaired.stderr]
            done = ref.command.run(practice)
        elif finish is not None:
            outcome.needed = finish.group(1)
            done = _shell(finish.group(1), practice, ref.command)
        else:
            outcome.problems.append(f"the re-run exited {again.returncode} and said nothing to run: {again.stderr}")
            return
        outcome.outputs += [done.stdout, done.stderr]
        if done.returncode != 0:
            outcome.problems.append(f"{outcome.needed!r} exited {done.returncode}: {done.stderr}")
            return
    outcome.problems += [f"after the re-run: {problem}" for problem in differences(ref, client)]


def repaired_and_sound(practice: Path, outcome: Outcome) -> None:
    """doctor --fix repairs everything and leaves no leftover; the record validates and verifies."""
    client = practice / CLIENT
    age_leftovers(client)
    for args in (("doctor", "C-0042", "--fix"), ("validate", CLIENT), ("verify", "C-0042")):
        result = script(*args, cwd=practice)
        outcome.outputs += [result.stdout, result.stderr]
        if result.returncode != 0:
            outcome.problems.append(f"{args[0]} exited {result.returncode}: {result.stdout}{result.stderr}")
    if leftovers(client):
        outcome.problems.append(f"left after doctor --fix: {leftovers(client)}")


def judge(ref: Reference, practice: Path, outcome: Outcome) -> Outcome:
    """The checks after a fault: nothing torn or lost; then (unless an earlier point left the same
    state) convergence, repair and soundness; and no output quoting the canary."""
    outcome.problems += torn_or_lost(ref, practice / CLIENT)
    if not outcome.problems and not outcome.same_as:
        converge(ref, practice, outcome)
        if not outcome.problems:
            repaired_and_sound(practice, outcome)
    if any(CANARY in text for text in outcome.outputs):
        outcome.problems.append("an output quotes the note's content")
    return outcome


# --- the faults -------------------------------------------------------------------------------


@dataclasses.dataclass
class Fault:
    """One faulted run: the reference it is judged by, its own copy of the practice, how it went."""

    ref: Reference
    practice: Path
    outcome: Outcome
    state: str = ""
    """What the run left, as `state` sees it."""

    def __post_init__(self) -> None:
        self.state = state(self.practice / CLIENT)


def killed_at(ref: Reference, folder: Path, n: int) -> Fault:
    """The command killed at its nth checkpoint (SIGKILL, from inside: no cleanup runs)."""
    practice = ref.copy(folder / f"{ref.command.name}-kill-{n}")
    outcome = Outcome(f"{ref.command.name} kill:{n} at {ref.checkpoints[n - 1]}")
    killed = ref.command.run(practice, f"kill:{n}")
    outcome.code = killed.returncode
    outcome.outputs += [killed.stdout, killed.stderr]
    if killed.returncode != -signal.SIGKILL:
        outcome.problems.append(f"not killed: exit {killed.returncode}")
    return Fault(ref, practice, outcome)


def killed_after(ref: Reference, folder: Path, delay: float) -> Fault:
    """The command's whole process group (git and the hook too) killed after `delay` seconds."""
    practice = ref.copy(folder / f"{ref.command.name}-random-{delay:.3f}")
    outcome = Outcome(f"{ref.command.name} SIGKILL after {delay:.3f} s")
    environment = {k: v for k, v in os.environ.items() if k != "IPT_NOTES_DEBUG"}
    environment.update(ref.command.environment())
    process = subprocess.Popen(
        [str(SCRIPT), *ref.command.args],
        cwd=practice,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    out, err = process.communicate(timeout=120)
    outcome.code = process.returncode
    outcome.outputs += [out, err]
    return Fault(ref, practice, outcome)


def failed_at(ref: Reference, folder: Path, m: int) -> Fault:
    """The mth write or flush failed with EIO: the command exits 3, without a traceback, saying
    what it saved ("saved, not committed: PATH") or that it wrote nothing, and leaving no
    temporary file."""
    practice = ref.copy(folder / f"{ref.command.name}-fail-{m}")
    client = practice / CLIENT
    io_points = [name for name in ref.checkpoints if name.endswith(" io")]
    outcome = Outcome(f"{ref.command.name} fail:{m} at {io_points[m - 1]}")
    failed = ref.command.run(practice, f"fail:{m}")
    outcome.code = failed.returncode
    outcome.outputs += [failed.stdout, failed.stderr]
    err = failed.stderr
    if failed.returncode != 3:
        outcome.problems.append(f"exit {failed.returncode}, not 3")
    if "internal error" in err or "Traceback" in err:
        outcome.problems.append(f"not a clean failure: {err}")
    saved = {
        Path(path).name
        for path, data in notes_files(client).items()
        if not LEFTOVER.match(Path(path).name) and data != ref.before.get(path)
    }
    said = re.search(r"saved, not committed: (\S+)", err)
    if saved and (said is None or Path(said.group(1)).name not in saved):
        outcome.problems.append(f"{sorted(saved)} saved, and the message does not say so: {err}")
    if not saved and (said is not None or "nothing was written" not in err):
        outcome.problems.append(f"nothing saved, and the message does not say so: {err}")
    if leftovers(client):
        outcome.problems.append(f"an I/O error left {leftovers(client)}")
    return Fault(ref, practice, outcome)


def judged(makers: Sequence[Callable[[], Fault]]) -> list[Outcome]:
    """Make each faulted run (in parallel, each on its own copy), then judge what each left. Of
    the runs that leave one state, the first is re-run, repaired and checked; the others are
    checked for torn and lost notes and for the canary, and share its verdict."""
    with ThreadPoolExecutor(WORKERS) as pool:
        faults = list(pool.map(lambda make: make(), makers))
    first: dict[tuple[str, str], str] = {}
    for fault in faults:
        if fault.outcome.problems:
            continue
        key = (fault.ref.command.name, fault.state)
        claimed = first.setdefault(key, fault.outcome.label)
        if claimed != fault.outcome.label:
            fault.outcome.same_as = claimed
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda fault: judge(fault.ref, fault.practice, fault.outcome), faults))


def verdict(outcomes: list[Outcome]) -> list[str]:
    """Every problem, by its fault."""
    return [f"{outcome.label}: {problem}" for outcome in outcomes for problem in outcome.problems]


def summary(name: str, outcomes: list[Outcome]) -> str:
    rerun = [o for o in outcomes if not o.same_as]
    lines = [
        f"{name}: {len(outcomes)} faults, {len(rerun)} distinct states re-run, "
        f"{sum(o.completed for o in outcomes)} already complete when stopped"
    ]
    lines += [f"  {o.label}: needed {o.needed}" for o in outcomes if o.needed]
    return "\n".join(lines)


# --- the practices ----------------------------------------------------------------------------


def supervised(signed_practice: Path) -> Path:
    """The signed practice with a supervisor named in C-0042's contract, as the clinician would."""
    contract = signed_practice / CLIENT / "client.yaml"
    contract.write_text(contract.read_text() + "supervisor: S-01 <s01@clinic.example>\n")
    git(signed_practice / CLIENT, "commit", "-q", "--no-verify", "-am", "supervisor named")
    return signed_practice


BASES: dict[str, tuple[Command, str]] = {
    "new-session": (NEW_SESSION, "practice"),
    "sign": (SIGN, "practice"),
    "amend": (AMEND, "signed_practice"),
    "cosign": (COSIGN, "signed_practice"),
}
"""Each command, and the practice it is swept on: C-0042's first note a draft, or signed."""


@pytest.fixture
def references(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., list[Reference]]:
    """The reference runs of commands, each on the practice it is swept on (run in parallel)."""

    def make(*names: str) -> list[Reference]:
        bases = []
        for name in names:
            command, fixture = BASES[name]
            practice = copy_tree(request.getfixturevalue(fixture), tmp_path / "bases" / name)
            bases.append((command, supervised(practice) if name == "cosign" else practice, tmp_path / name))
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(lambda base: reference(*base), bases))

    return make


def _point(ref: Reference, name: str, last: bool = False) -> int:
    """The 1-based checkpoint of that name (its first, or its last)."""
    numbered = [n for n, line in enumerate(ref.checkpoints, 1) if line == name]
    assert numbered, (name, ref.checkpoints)
    return numbered[-1] if last else numbered[0]


def _report(name: str, outcomes: list[Outcome]) -> None:
    print(summary(name, outcomes))
    problems = verdict(outcomes)
    assert not problems, "\n".join(problems)


# --- the tests --------------------------------------------------------------------------------


def test_a_few_kills_and_an_io_error_are_recovered_from(
    references: Callable[..., list[Reference]], tmp_path: Path
) -> None:
    """The smoke version of the sweeps below: new-session killed mid-write, with its note in place
    and not committed, and just before the commit, and given an I/O error on its last write (the
    commit's, after the note is saved); sign killed with the note signed on disk, and just before
    the commit."""
    runs = tmp_path / "runs"
    new_session, sign = references("new-session", "sign")
    points = [(new_session, ["write io", "fsync-folder", "git commit"]), (sign, ["fsync-folder", "git commit"])]
    makers: list[Callable[[], Fault]] = [
        functools.partial(killed_at, ref, runs, _point(ref, name, last=name == "git commit"))
        for ref, names in points
        for name in names
    ]
    makers.append(functools.partial(failed_at, new_session, runs, new_session.io_points))
    outcomes = judged(makers)
    _report("smoke", outcomes)
    assert [o.same_as for o in outcomes] == [""] * len(makers)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["new-session", "sign", "amend", "cosign"])
def test_killed_at_every_checkpoint_nothing_is_torn_or_lost_and_a_rerun_finishes(
    name: str, references: Callable[..., list[Reference]], tmp_path: Path
) -> None:
    [ref] = references(name)
    points = range(1, len(ref.checkpoints) + 1)
    outcomes = judged([functools.partial(killed_at, ref, tmp_path / "runs", n) for n in points])
    _report(name, outcomes)
    assert len(outcomes) == len(ref.checkpoints) > 20


@pytest.mark.slow
def test_killed_at_random_nothing_is_torn_or_lost_and_a_rerun_finishes(
    references: Callable[..., list[Reference]], tmp_path: Path
) -> None:
    """Five runs each of new-session and sign, their process group killed after a random delay
    (seeded): git itself may die mid-write, leaving its own lock files."""
    makers: list[Callable[[], Fault]] = []
    for ref in references("new-session", "sign"):
        # Most of a run is Python starting; the kills fall between its first checkpoint and its end.
        started = time.monotonic()
        ref.command.run(ref.copy(tmp_path / "timing" / ref.command.name), "kill:1")
        first = time.monotonic() - started
        chance = random.Random(f"{ref.command.name}-kills")
        delays = [chance.uniform(first, max(first, ref.seconds) * 1.05) for _ in range(5)]
        makers += [functools.partial(killed_after, ref, tmp_path / "runs", delay) for delay in delays]
    _report("random", judged(makers))


@pytest.mark.slow
def test_an_io_error_at_every_write_exits_3_saying_what_was_saved_and_a_rerun_finishes(
    references: Callable[..., list[Reference]], tmp_path: Path
) -> None:
    makers: list[Callable[[], Fault]] = []
    for ref in references("new-session", "sign"):
        assert ref.io_points >= 8
        makers += [functools.partial(failed_at, ref, tmp_path / "runs", m) for m in range(1, ref.io_points + 1)]
    _report("I/O errors", judged(makers))

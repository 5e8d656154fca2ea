#!/usr/bin/env python3
"""How long `ipt-notes verify` and `ipt-notes log` take over a long history, against the git work they need.

    /tmp/bench-venv/bin/python benchmarks/bench_verify.py [--venv /tmp/bench-venv] [--clients 500]
        [--seed 1] [--repeats 5] [--runs 30] [--repo DIR] [--json-out FILE]

The notes repository is make_corpus.py's corpus with the history a clinic would have made of it
with ipt-notes, one commit per step: `init: notes repository`, then `new-client C-XXXX` for every
client, then, in date order across all clients, `new-session C-XXXX N` (the note as a draft) and
`sign C-XXXX N` (the note as make_corpus.py wrote it) for every session note, then `amend
C-XXXX N` for every addendum (linked to the commit that signed its note) and one commit for every
end-of-therapy review. With 500 clients that is more than 16,000 commits. It is written by one
`git fast-import` run per part, packed by `git gc`, and must pass `ipt-notes verify` before
anything is timed.

In one run, twice (first without a commit-graph, then after `git commit-graph write --reachable
--changed-paths`), it times whole processes, wall clock:

verify      `ipt-notes verify` against its floor, `git fsck --full` plus `git log --name-status`
            over the whole history (two processes, timed together): `--repeats` runs of each,
            alternating. Target: ours/floor <= 1.5.
log         `ipt-notes log C-0001` against `git log -- clients/C-0001`: `--runs` runs of each,
            alternating. Target: ours/git <= 1.5.

See benchmarks/README.md. Only the standard library and ipt-notes' own content hash are used.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Sibling scripts, importable once HERE is on the path.
import common  # noqa: E402
import make_corpus  # noqa: E402
from bench_new_session import _git, bench_env  # noqa: E402
from common import BenchError, Measure, Ratio  # noqa: E402

DESCRIPTION = "Benchmark ipt-notes verify and log over a long history against the git work they need."
# The options of common.make_parser beyond --venv, --clients, --seed and --json-out.
COUNTS = [
    ("--repeats", 5, "timed runs of verify and of its floor, in each state"),
    ("--runs", 30, "timed runs of each log command, in each state"),
]
REPO_DEFAULT = "/tmp/ipt-notes-bench/verify-{clients}-seed{seed}"
PLACE = ("--repo", "the notes repository with its history", "it is one in git", f"default {REPO_DEFAULT}")
TARGETS = {"verify": 1.5, "log": 1.5}
PACKAGES = ("ipt-notes", "typer", "click", "PyYAML")
STATES = {"none": "no commit-graph", "graph": "commit-graph with changed paths"}
LOG_CLIENT = "C-0001"
FIRST_AUTHOR = "T-01 <t01@clinic.example>"
# Signature lines a draft does not have yet: `ipt-notes sign` adds the first three, `cosign` the rest.
_UNSIGNED_KEYS = ("signed_by:", "signed_at:", "content_hash:", "cosigned_by:", "cosigned_at:")
_FIELD = re.compile(r"^(clinician|date|status|signed_at): *(\S.*)$", re.MULTILINE)
_AMENDS_NOTE = re.compile(r"^  note: sessions/([0-9]+)\.md$", re.MULTILINE)
_AMENDS_COMMIT = re.compile(r"^  commit: .*$", re.MULTILINE)
_OWN_HASH = re.compile(r"^content_hash: \S+$", re.MULTILINE)


# --- the history -----------------------------------------------------------------------------


def _fields(text: str) -> dict[str, str]:
    """The few top-level fields the history is dated and signed by."""
    head = make_corpus.front_matter(text) if text.startswith("---\n") else text
    return {key: value.strip().strip('"') for key, value in _FIELD.findall(head)}


def draft_of(signed: str) -> str:
    """The note as it stood before `ipt-notes sign`: status draft, no signature lines."""
    end = signed.index("\n---\n", 3) + 1
    lines = []
    for line in signed[:end].splitlines(keepends=True):
        if line.startswith(_UNSIGNED_KEYS):
            continue
        lines.append("status: draft\n" if line == "status: signed\n" else line)
    return "".join(lines) + signed[end:]


def link_addendum(text: str, commit: str) -> str:
    """The addendum with the id of the commit that signed its note, signed again over that id."""
    linked, count = _AMENDS_COMMIT.subn(f'  commit: "{commit}"', text, count=1)
    if count != 1:
        raise BenchError("an addendum written by make_corpus.py has no amends.commit line")
    digest = make_corpus.content_hash(linked.encode("utf-8"))
    return _OWN_HASH.sub(f"content_hash: {digest}", linked, count=1)


def _seconds(value: str) -> int:
    """A date or timestamp of the corpus in seconds since the epoch (a date counts from 09:00 UTC)."""
    if "T" not in value:
        value += "T09:00:00Z"
    return int(dt.datetime.fromisoformat(value).timestamp())


@dataclass
class FastImport:
    """A `git fast-import` stream onto refs/heads/main, one commit at a time, dated by a clock that never goes back."""

    continues: bool
    """Whether the branch exists already: the first commit of the stream then starts from its tip."""
    clock: int = 0
    chunks: list[bytes] = field(default_factory=list)
    marks: int = 0

    def commit(self, message: str, ident: str, wanted: int, files: dict[str, str]) -> int:
        """Add a commit of `files` (path: text) at `wanted` or the second after the previous one; its mark."""
        self.clock = max(wanted, self.clock + 1)
        self.marks += 1
        msg = message.encode("utf-8")
        head = (
            f"commit refs/heads/main\nmark :{self.marks}\n"
            f"author {ident} {self.clock} +0000\ncommitter {ident} {self.clock} +0000\n"
            f"data {len(msg)}\n"
        )
        self.chunks += [head.encode("utf-8"), msg, b"\n"]
        if self.continues and self.marks == 1:
            self.chunks.append(b"from refs/heads/main^0\n")
        for path, text in files.items():
            data = text.encode("utf-8")
            self.chunks += [f"M 100644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        self.chunks.append(b"\n")
        return self.marks

    def run(self, repo: Path, env: dict[str, str], marks_file: Path | None = None) -> dict[int, str]:
        """Feed the stream to one `git fast-import`; the commit id of every mark when `marks_file` is given."""
        argv = ["git", "fast-import", "--quiet", "--done"]
        if marks_file is not None:
            argv.append(f"--export-marks={marks_file}")
        stream = b"".join([*self.chunks, b"done\n"])
        done = subprocess.run(argv, cwd=repo, env=env, input=stream, capture_output=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"git fast-import exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
        if marks_file is None:
            return {}
        pairs = (line.split() for line in marks_file.read_text(encoding="utf-8").splitlines())
        return {int(mark[1:]): sha for mark, sha in pairs}


@dataclass
class Course:
    """One client's files as make_corpus.py wrote them, and who writes their commits."""

    id: str
    ident: str
    opening: dict[str, str]
    sessions: dict[int, str]
    addenda: dict[str, str]
    review: str


def _read_courses(repo: Path) -> list[Course]:
    courses = []
    for folder in sorted((repo / "clients").iterdir()):
        text = {
            str(path.relative_to(repo)): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        prefix = f"clients/{folder.name}/"
        sessions, addenda = {}, {}
        for path, body in text.items():
            kind = make_corpus.kind_of(Path(path))
            if kind == "session":
                sessions[int(Path(path).stem)] = body
            elif kind == "addendum":
                addenda[path] = body
        opening = {prefix + name: text[prefix + name] for name in ("client.yaml", "inventory.yaml", "formulation.md")}
        ident = _fields(opening[prefix + "client.yaml"])["clinician"]
        courses.append(Course(folder.name, ident, opening, sessions, addenda, text[prefix + "review.md"]))
    return courses


def build_history(repo: Path, env: dict[str, str], work: Path) -> dict[str, int]:
    """Commit the corpus in `repo` step by step, as ipt-notes would have; how many commits of each kind."""
    courses = _read_courses(repo)
    config = (repo / "ipt-notes.yaml").read_text(encoding="utf-8")
    counts = dict.fromkeys(("init", "new-client", "new-session", "sign", "amend", "review"), 0)
    # The first part: the repository, the clients and every session note, in date order.
    first = min(_seconds(_fields(c.sessions[1])["date"]) for c in courses) - 86400
    stream = FastImport(continues=False)
    stream.commit("init: notes repository", FIRST_AUTHOR, first, {"ipt-notes.yaml": config})
    counts["init"] += 1
    for course in courses:
        stream.commit(f"new-client {course.id}", course.ident, first + 60, course.opening)
        counts["new-client"] += 1
    steps: list[tuple[int, int, str, str, str, str]] = []  # (time, order, action, client, path, text)
    for order, course in enumerate(courses):
        for n, note in sorted(course.sessions.items()):
            path = f"clients/{course.id}/sessions/{n:02d}.md"
            fields = _fields(note)
            drafted = _seconds(fields["date"]) - 3600 + order % 60 * 60  # 08:00-08:59 UTC
            if fields["status"] != "signed":
                steps.append((drafted, order, "new-session", course.id, path, note))
                continue
            steps.append((drafted, order, "new-session", course.id, path, draft_of(note)))
            steps.append((max(_seconds(fields["signed_at"]), drafted + 60), order, "sign", course.id, path, note))
    steps.sort(key=lambda step: step[:2])
    idents = {course.id: course.ident for course in courses}
    signed_by_mark: dict[str, int] = {}
    for when, _, action, client, path, text in steps:
        number = int(Path(path).stem)
        mark = stream.commit(f"{action} {client} {number}", idents[client], when, {path: text})
        counts[action] += 1
        if action == "sign":
            signed_by_mark[path] = mark
    marks = stream.run(repo, env, work / "marks")
    # The second part: addenda, linked to the commit that signed their note, then the reviews.
    rest = FastImport(continues=True, clock=stream.clock)
    for course in courses:
        for path, text in sorted(course.addenda.items()):
            note = _AMENDS_NOTE.search(text)
            target = f"clients/{course.id}/sessions/{note.group(1)}.md" if note else ""
            if target not in signed_by_mark:
                raise BenchError(f"{path} amends {target or 'no note'}, which no commit signed")
            linked = link_addendum(text, marks[signed_by_mark[target]])
            (repo / path).write_text(linked, encoding="utf-8")  # the work tree matches HEAD
            message = f"amend {course.id} {int(Path(target).stem)}"
            rest.commit(message, course.ident, _seconds(_fields(text)["signed_at"]), {path: linked})
            counts["amend"] += 1
    for course in courses:
        path = f"clients/{course.id}/review.md"
        fields = _fields(course.review)
        signed = fields["status"] == "signed"
        # A review is written by hand (git shows it as such) and signed with ipt-notes.
        message = f"sign {course.id} review" if signed else f"review of {course.id}"
        rest.commit(message, course.ident, _seconds(fields.get("signed_at", fields["date"])), {path: course.review})
        counts["review"] += 1
    rest.run(repo, env)
    return counts


def prepare_repository(repo: Path, clients: int, seed: int, venv: Path, env: dict[str, str]) -> dict[str, Any]:
    """Write the corpus and its history into `repo` unless it holds one already; then pack it and verify it."""
    facts: dict[str, Any] = {}
    if (repo / ".git").is_dir() and (repo / "ipt-notes.yaml").is_file():
        facts["how"] = "reused"
        print(f"reusing the notes repository at {repo}", file=sys.stderr)
    else:
        if repo.exists() and any(repo.iterdir()):
            raise BenchError(f"{repo} exists, is not empty and is no notes repository in git: not one to reuse")
        facts["how"] = "built"
        print(f"writing a corpus of {clients} clients to {repo} and its history ...", file=sys.stderr)
        start = time.perf_counter()
        make_corpus.write_corpus(repo, clients, seed)
        _git(repo, env, "init", "-q", "-b", "main")
        with tempfile.TemporaryDirectory(prefix="ipt-notes-bench-") as tmp:
            facts["commits_by_kind"] = build_history(repo, env, Path(tmp))
        _git(repo, env, "reset", "-q")  # the index, from HEAD: the work tree holds the same files
        facts["build_s"] = time.perf_counter() - start
        start = time.perf_counter()
        # Packed once, with deltas, as a repository that has lived a while; gc writes no commit-graph here.
        _git(repo, env, "-c", "gc.writeCommitGraph=false", "gc", "--quiet")
        facts["gc_s"] = time.perf_counter() - start
        _, done = common.run([str(venv / "bin" / "ipt-notes"), "validate", "."], cwd=repo, env=env)
        common.require_success(done, "ipt-notes validate on the built repository")
    status = _git(repo, env, "status", "--porcelain")
    if status.strip():
        raise BenchError(f"the work tree of {repo} differs from HEAD:\n{status[:2000]}")
    remove_commit_graph(repo)
    print("checking that the history verifies ...", file=sys.stderr)
    _, done = common.run([str(venv / "bin" / "ipt-notes"), "verify"], cwd=repo, env=env)
    common.require_success(
        done,
        "ipt-notes verify on the built history",
        " Each finding names a file, a rule and a commit: the history benchmarks/bench_verify.py wrote is wrong.",
    )
    facts["verify_output"] = done.stderr.strip()
    facts["commits"] = int(_git(repo, env, "rev-list", "--count", "HEAD"))
    facts["files"] = _git(repo, env, "ls-files", "-z").count("\0")
    facts["clients"] = len([p for p in (repo / "clients").iterdir() if p.is_dir()])
    sizes = dict(line.split(": ", 1) for line in _git(repo, env, "count-objects", "-v").splitlines())
    facts["objects"] = int(sizes["in-pack"]) + int(sizes["count"])
    facts["pack_mib"] = int(sizes["size-pack"]) / 1024
    return facts


def _commit_graph_files(repo: Path) -> list[Path]:
    info = repo / ".git" / "objects" / "info"
    return [path for path in (info / "commit-graph", info / "commit-graphs") if path.exists()]


def remove_commit_graph(repo: Path) -> None:
    for path in _commit_graph_files(repo):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


# --- the measurements ------------------------------------------------------------------------


def _alternate(steps: dict[str, Any], measures: dict[str, Measure], runs: int, warmups: int) -> None:
    """Run each step `warmups` times untimed, then `runs` times timed, alternating, reversing the order each round."""
    keys = list(steps)
    for _ in range(warmups):
        for key in keys:
            steps[key]()
    for index in range(runs):
        for key in keys if index % 2 == 0 else keys[::-1]:
            measures[key].times.append(steps[key]())


def _timed(argv: Sequence[str], repo: Path, env: dict[str, str], what: str) -> float:
    elapsed, done = common.run(argv, cwd=repo, env=env)
    common.require_success(done, what)
    return elapsed


def _timed_all(commands: Iterable[Sequence[str]], repo: Path, env: dict[str, str]) -> float:
    """Several commands one after the other, each to its end, output drained: their summed wall-clock time."""
    return sum(_timed(argv, repo, env, " ".join(argv)) for argv in commands)


def measure_state(repo: Path, venv: Path, env: dict[str, str], state: str, repeats: int, runs: int) -> list[Measure]:
    """verify against its floor, then log against git log, in the repository as it is now."""
    tag = STATES[state]
    ours_verify = [str(venv / "bin" / "ipt-notes"), "verify"]
    floor = [["git", "fsck", "--full"], ["git", "log", "--name-status"]]
    ours_log = [str(venv / "bin" / "ipt-notes"), "log", LOG_CLIENT]
    git_log = ["git", "log", "--", f"clients/{LOG_CLIENT}"]
    verify = {
        "verify": Measure(f"{tag}: ipt-notes verify", "ipt-notes verify", key=f"{state}/verify"),
        "floor": Measure(
            f"{tag}: floor, git fsck --full + git log --name-status",
            "git fsck --full; git log --name-status",
            key=f"{state}/floor",
        ),
    }
    print(f"{tag}: verify and its floor, {repeats} runs each ...", file=sys.stderr)
    _alternate(
        {
            "verify": lambda: _timed(ours_verify, repo, env, "ipt-notes verify"),
            "floor": lambda: _timed_all(floor, repo, env),
        },
        verify,
        repeats,
        warmups=1,
    )
    print(
        f"  medians: verify {common.fmt(verify['verify'].median)}, floor {common.fmt(verify['floor'].median)}",
        file=sys.stderr,
    )
    log = {
        "log": Measure(f"{tag}: ipt-notes log {LOG_CLIENT}", f"ipt-notes log {LOG_CLIENT}", key=f"{state}/log"),
        "git_log": Measure(
            f"{tag}: git log -- clients/{LOG_CLIENT}", f"git log -- clients/{LOG_CLIENT}", key=f"{state}/git_log"
        ),
    }
    print(f"{tag}: log, {runs} runs each ...", file=sys.stderr)
    _alternate(
        {
            "log": lambda: _timed(ours_log, repo, env, f"ipt-notes log {LOG_CLIENT}"),
            "git_log": lambda: _timed(git_log, repo, env, "git log"),
        },
        log,
        runs,
        warmups=3,
    )
    print(
        f"  medians: ipt-notes log {common.fmt(log['log'].median)}, git log {common.fmt(log['git_log'].median)}",
        file=sys.stderr,
    )
    return [verify["verify"], verify["floor"], log["log"], log["git_log"]]


def check_log(repo: Path, venv: Path, env: dict[str, str]) -> int:
    """`ipt-notes log` lists the commits git lists for the client; how many."""
    commits = _git(repo, env, "log", "--format=%h", "--", f"clients/{LOG_CLIENT}").split()
    _, done = common.run([str(venv / "bin" / "ipt-notes"), "log", LOG_CLIENT, "--format", "json"], cwd=repo, env=env)
    common.require_success(done, f"ipt-notes log {LOG_CLIENT}")
    entries = json.loads(done.stdout)
    if len(entries) != len(commits):
        raise BenchError(f"ipt-notes log {LOG_CLIENT} lists {len(entries)} commits, git log {len(commits)}")
    return len(commits)


# --- the report ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(DESCRIPTION, install="ipt-notes", made="repository", counts=COUNTS, place=PLACE)
    args = parser.parse_args(argv)
    if args.repeats < 3 or args.runs < 20 or args.clients < 1:
        parser.error("--repeats must be at least 3, --runs at least 20, --clients at least 1")
    venv = args.venv.absolute()
    common.require_scripts(parser, venv, ("python", "ipt-notes"), bench_extra=False)
    if shutil.which("git") is None:
        parser.error("git is not on PATH")
    repo = (args.repo or Path(REPO_DEFAULT.format(clients=args.clients, seed=args.seed))).absolute()
    env = bench_env()
    started = time.perf_counter()

    try:
        facts = prepare_repository(repo, args.clients, args.seed, venv, env)
        print(f"{facts['commits']} commits", file=sys.stderr)
        log_entries = check_log(repo, venv, env)
        measures = measure_state(repo, venv, env, "none", args.repeats, args.runs)
        start = time.perf_counter()
        _git(repo, env, "commit-graph", "write", "--reachable", "--changed-paths")
        graph_s = time.perf_counter() - start
        if not _commit_graph_files(repo):
            raise BenchError("git commit-graph write wrote no commit-graph")
        measures += measure_state(repo, venv, env, "graph", args.repeats, args.runs)
    except BenchError as error:
        print(f"bench_verify: {error}", file=sys.stderr)
        return 1

    by_key = {m.key: m for m in measures}
    ratios = [
        Ratio(
            f"{name}: {against}, {STATES[state]}",
            by_key[f"{state}/{name}"].median / by_key[f"{state}/{floor}"].median,
            ("<=", TARGETS[name]),
        )
        for name, floor, against in (("verify", "floor", "ours/floor"), ("log", "git_log", "ours/git log"))
        for state in STATES
    ]
    ratios += [
        Ratio(
            f"{command}: {STATES['none']}/{STATES['graph']}",
            by_key[f"none/{key}"].median / by_key[f"graph/{key}"].median,
        )
        for command, key in (("git log -- clients/ID", "git_log"), ("ipt-notes verify", "verify"))
    ]
    versions = common.query_versions(venv, PACKAGES, env=env, tools={"git": ["git", "--version"]})
    today, nproc = common.run_stamp()
    built = (
        f"built in {facts['build_s']:.0f} s (corpus, two git fast-import runs) and packed by git gc in "
        f"{facts['gc_s']:.0f} s"
        if facts["how"] == "built"
        else "reused"
    )
    by_kind = facts.get("commits_by_kind")
    kinds = f" ({', '.join(f'{n} {kind}' for kind, n in by_kind.items())})" if by_kind else ""
    header = [
        f"Run {today}; nproc {nproc}; Python {versions['Python']}; git {versions['git']}.",
        common.packages_line(versions, PACKAGES),
        f"Repository ({built}): {facts['clients']} clients, {facts['files']} tracked files, "
        f"{facts['commits']} commits{kinds}, {facts['objects']} objects, {facts['pack_mib']:.1f} MiB packed.",
        f"ipt-notes verify exited 0 on the history before the measurements ({facts['verify_output']}), and in "
        f"every timed run; ipt-notes log {LOG_CLIENT} lists the {log_entries} commits git log lists.",
        f"Each state: {args.repeats} timed runs of verify and of its floor after one untimed run, alternating; "
        f"{args.runs} timed runs of each log command after 3 untimed ones, alternating. "
        "Medians of wall-clock time of whole processes (the floor: its two git processes, summed).",
        f"Between the two states: git commit-graph write --reachable --changed-paths, {common.fmt(graph_s)}.",
    ]
    payload = {
        "date": today,
        "nproc": nproc,
        "versions": versions,
        "repository": {"path": str(repo), **facts},
        "repeats": args.repeats,
        "runs": args.runs,
        "log_client": LOG_CLIENT,
        "commit_graph_write_s": graph_s,
        "measures": {m.key: {"label": m.label, **m.as_json()} for m in measures},
        "ratios": {r.name: r.as_json() for r in ratios},
    }
    common.publish(header, [common.measures_table(measures, ratios)], started, args.json_out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

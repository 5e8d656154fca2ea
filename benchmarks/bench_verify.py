#!/usr/bin/env python3
"""How long `ipt-notes verify` and `ipt-notes log` take, and how much memory, against the git work they need.

    /tmp/bench-venv/bin/python benchmarks/bench_verify.py [--venv /tmp/bench-venv] [--clients 500]
        [--seed 1] [--repeats 5] [--runs 30] [--long-commits 2000] [--practices DIR] [--json-out FILE]

The practices are make_corpus.py's (--git): every client a git repository of its own, with the
history ipt-notes would have made of its course (new-client, then every note drafted and signed,
co-signatures, addenda linked to the commits that signed their notes, the review), some 38
commits per client. Three practices, of N/2, N and 2N clients (250, 500 and 1,000 by default), and
one more of a single client whose course went on in weekly maintenance sessions until its history
reached --long-commits commits. Each must pass `ipt-notes verify` before anything is timed (and
`ipt-notes validate` when it was just built). In one run this times whole processes, wall clock:

practice    at each size, `ipt-notes verify` at the top of the practice (every client) against
            its floor, `floor_verify.py PRACTICE`: `git fsck --full` then `git log --name-status`
            in every client repository, on two lanes. --repeats runs of each, alternating.
            Targets: ours/floor <= 1.5 at each size; the time at each size <= 2.2 x the time at
            the size before (linear growth).
memory      one more run of verify (and of its floor) at each size and in the long client, with
            the process tree sampled every 5 ms from /proc: the peak of the RSS summed over
            ipt-notes, its worker processes and every git process they start. Target <= 100 MB.
long        inside the long client's folder: `ipt-notes verify` against `git fsck --full` plus
            `git log --name-status` (two processes, timed together), --repeats runs; `ipt-notes
            log` against `git log`, --runs runs. Targets: ours/floor <= 1.5 for each.

The report says which targets were missed. See benchmarks/README.md. Only the standard library is
used here.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Sibling scripts, importable once HERE is on the path.
import common  # noqa: E402
import make_corpus  # noqa: E402
from common import BenchError, Measure, Ratio, TreeMemory  # noqa: E402

DESCRIPTION = "Benchmark ipt-notes verify and log, time and memory, against the git work they need."
# The options of common.make_parser beyond --venv, --clients, --seed and --json-out.
COUNTS = [
    ("--repeats", 5, "timed runs of verify and of its floor, at each size and in the long client"),
    ("--runs", 30, "timed runs of each log command"),
    ("--long-commits", 2000, "commits of the long client's history"),
]
PLACE = (
    "--practices",
    "the folder of the practices, practice-<clients>-seed<seed> and long-<commits>-seed<seed>",
    "they hold ipt-notes.yaml",
    "default /tmp/ipt-notes-bench, which bench_validate.py shares",
)
TARGETS = {"ratio": 1.5, "growth": 2.2, "memory_mb": 100.0, "long": 1.5}
PACKAGES = ("ipt-notes", "typer", "click", "PyYAML")
MB = 1e6
MEMORY_HEADER = (
    "Peak memory of one run (sampled every 5 ms)",
    "RSS, summed over the tree",
    "PSS, summed over the tree",
    "Largest process",
    "Processes at the peak",
    "Target",
)


# --- the practices ---------------------------------------------------------------------------


def sizes(clients: int) -> list[int]:
    """N/2, N and 2N clients: two doublings."""
    return [max(1, clients // 2), clients, clients * 2]


def long_sessions(commits: int) -> int:
    """Sessions of a long course with about `commits` commits: each note drafted, signed and co-signed
    (three commits), and an addendum (two more) for one note in make_corpus.LONG_ADDENDUM_EVERY."""
    per_session = 3 + 2 / make_corpus.LONG_ADDENDUM_EVERY
    return min(make_corpus.MAX_SESSIONS, max(make_corpus.SESSIONS + 1, math.ceil((commits - 2) / per_session)))


def check_practice(
    where: Path, facts: dict[str, Any], venv: Path, env: dict[str, str], practice: Path
) -> dict[str, Any]:
    """`ipt-notes verify` passes in `where` (a practice or a client), and validate too when it was just built."""
    hint = " Each finding names a file, a rule and a commit: the history make_corpus.py wrote is wrong."
    if facts["how"] == "built":
        _, done = common.run([str(venv / "bin" / "ipt-notes"), "validate"], cwd=where, env=env)
        common.require_success(done, f"ipt-notes validate in {where}", hint)
    print(f"checking that the history of {where} verifies ...", file=sys.stderr)
    _, done = common.run([str(venv / "bin" / "ipt-notes"), "verify"], cwd=where, env=env)
    common.require_success(done, f"ipt-notes verify in {where}", hint)
    facts["verify_output"] = done.stderr.strip()
    facts["clients"] = len(make_corpus.client_ids(practice))
    facts["commits"] = common.count_commits(practice, env)
    return facts


# --- the measurements ------------------------------------------------------------------------


def _alternate(steps: dict[str, Callable[[], float]], measures: dict[str, Measure], runs: int, warmups: int) -> None:
    """Run each step `warmups` times untimed, then `runs` times timed, alternating, reversing the order each round."""
    keys = list(steps)
    for _ in range(warmups):
        for key in keys:
            steps[key]()
    for index in range(runs):
        for key in keys if index % 2 == 0 else keys[::-1]:
            measures[key].times.append(steps[key]())


def _timed(argv: Sequence[str], cwd: Path, env: dict[str, str], what: str) -> float:
    elapsed, done = common.run(argv, cwd=cwd, env=env)
    common.require_success(done, what)
    return elapsed


def _timed_all(commands: Sequence[Sequence[str]], cwd: Path, env: dict[str, str]) -> float:
    """Several commands one after the other, each to its end, output drained: their summed wall-clock time."""
    return sum(_timed(argv, cwd, env, " ".join(argv)) for argv in commands)


def _sampled(argv: Sequence[str], cwd: Path, env: dict[str, str], what: str) -> TreeMemory:
    _, done, memory = common.run_sampled(argv, cwd=cwd, env=env)
    common.require_success(done, what)
    return memory


def measure_size(
    practice: Path, clients: int, venv: Path, env: dict[str, str], repeats: int
) -> tuple[list[Measure], dict[str, TreeMemory]]:
    """verify against its floor at the top of a practice, then one sampled run of each."""
    ours = [str(venv / "bin" / "ipt-notes"), "verify"]
    floor = [str(venv / "bin" / "python"), str(HERE / "floor_verify.py"), "."]
    measures = {
        "verify": Measure(
            f"{clients} clients: ipt-notes verify", "cd PRACTICE && ipt-notes verify", key=f"{clients}/verify"
        ),
        "floor": Measure(
            f"{clients} clients: floor, git fsck --full + git log --name-status per client, 2 lanes",
            "cd PRACTICE && python benchmarks/floor_verify.py .",
            key=f"{clients}/floor",
        ),
    }
    print(f"{clients} clients: verify and its floor, {repeats} runs each ...", file=sys.stderr)
    _alternate(
        {
            "verify": lambda: _timed(ours, practice, env, "ipt-notes verify"),
            "floor": lambda: _timed(floor, practice, env, "floor_verify.py"),
        },
        measures,
        repeats,
        warmups=1,
    )
    print(
        f"  medians: verify {common.fmt(measures['verify'].median)}, floor {common.fmt(measures['floor'].median)}",
        file=sys.stderr,
    )
    print(f"{clients} clients: one sampled run of each, for memory ...", file=sys.stderr)
    memory = {
        "verify": _sampled(ours, practice, env, "ipt-notes verify"),
        "floor": _sampled(floor, practice, env, "floor_verify.py"),
    }
    return [measures["verify"], measures["floor"]], memory


def measure_long(
    client: Path, venv: Path, env: dict[str, str], repeats: int, runs: int
) -> tuple[list[Measure], TreeMemory]:
    """verify and log inside the long client's folder, against their git floors."""
    ours_verify = [str(venv / "bin" / "ipt-notes"), "verify"]
    floor = [["git", "fsck", "--full"], ["git", "log", "--name-status"]]
    ours_log = [str(venv / "bin" / "ipt-notes"), "log"]
    measures = {
        "verify": Measure("long client: ipt-notes verify", "cd clients/ID && ipt-notes verify", key="long/verify"),
        "floor": Measure(
            "long client: floor, git fsck --full + git log --name-status",
            "git fsck --full; git log --name-status",
            key="long/floor",
        ),
        "log": Measure("long client: ipt-notes log", "cd clients/ID && ipt-notes log", key="long/log"),
        "git_log": Measure("long client: git log", "cd clients/ID && git log", key="long/git_log"),
    }
    print(f"long client: verify and its floor, {repeats} runs each ...", file=sys.stderr)
    _alternate(
        {
            "verify": lambda: _timed(ours_verify, client, env, "ipt-notes verify"),
            "floor": lambda: _timed_all(floor, client, env),
        },
        measures,
        repeats,
        warmups=1,
    )
    print(f"long client: log, {runs} runs each ...", file=sys.stderr)
    _alternate(
        {
            "log": lambda: _timed(ours_log, client, env, "ipt-notes log"),
            "git_log": lambda: _timed(["git", "log"], client, env, "git log"),
        },
        measures,
        runs,
        warmups=3,
    )
    memory = _sampled(ours_verify, client, env, "ipt-notes verify")
    return list(measures.values()), memory


def check_log(client: Path, venv: Path, env: dict[str, str]) -> int:
    """`ipt-notes log` lists the commits git lists; how many."""
    commits = common.git(client, env, "log", "--format=%h").split()
    _, done = common.run([str(venv / "bin" / "ipt-notes"), "log", "--format", "json"], cwd=client, env=env)
    common.require_success(done, "ipt-notes log")
    entries = json.loads(done.stdout)
    if len(entries) != len(commits):
        raise BenchError(f"ipt-notes log lists {len(entries)} commits, git log {len(commits)}")
    return len(commits)


# --- the report ------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def memory_table(memory: dict[str, TreeMemory], ratios: dict[str, Ratio]) -> str:
    rows = []
    for name, used in memory.items():
        ratio = ratios.get(name)
        verdict = ratio.row()[-1] if ratio is not None else "(for information)"
        rows.append((name, _mb(used.rss), _mb(used.pss), _mb(used.largest), str(used.processes), verdict))
    return common.build_table(MEMORY_HEADER, rows)


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(
        DESCRIPTION, install="ipt-notes", made="practice (the middle size)", counts=COUNTS, place=PLACE
    )
    args = parser.parse_args(argv)
    if args.repeats < 3 or args.runs < 20 or args.clients < 2 or args.long_commits < 100:
        parser.error(
            "--repeats must be at least 3, --runs at least 20, --clients at least 2, --long-commits at least 100"
        )
    venv = args.venv.absolute()
    common.require_scripts(parser, venv, ("python", "ipt-notes"), bench_extra=False)
    if shutil.which("git") is None:
        parser.error("git is not on PATH")
    root = (args.practices or Path("/tmp/ipt-notes-bench")).absolute()
    env = common.bench_env()
    started = time.perf_counter()
    load_before = common.load()

    measures: list[Measure] = []
    memory: dict[str, TreeMemory] = {}
    facts: dict[str, dict[str, Any]] = {}
    try:
        for clients in sizes(args.clients):
            practice = root / f"practice-{clients}-seed{args.seed}"
            made = common.prepare_practice(venv, practice, clients, args.seed, env=env)
            facts[str(clients)] = check_practice(practice, made, venv, env, practice)
            timed, used = measure_size(practice, clients, venv, env, args.repeats)
            measures += timed
            memory[f"ipt-notes verify, {clients} clients"] = used["verify"]
            memory[f"floor, {clients} clients"] = used["floor"]
        sessions = long_sessions(args.long_commits)
        practice = root / f"long-{args.long_commits}-seed{args.seed}"
        made = common.prepare_practice(venv, practice, 1, args.seed, env=env, sessions=sessions)
        client = practice / "clients" / make_corpus.client_ids(practice)[0]
        facts["long"] = check_practice(client, made, venv, env, practice)
        facts["long"]["sessions"] = sessions
        log_entries = check_log(client, venv, env)
        timed, long_memory = measure_long(client, venv, env, args.repeats, args.runs)
        measures += timed
        memory["ipt-notes verify, long client"] = long_memory
    except BenchError as error:
        print(f"bench_verify: {error}", file=sys.stderr)
        return 1

    by_key = {m.key: m for m in measures}
    steps = sizes(args.clients)
    ratios = [
        Ratio(
            f"verify, {n} clients: ours/floor",
            by_key[f"{n}/verify"].median / by_key[f"{n}/floor"].median,
            ("<=", TARGETS["ratio"]),
        )
        for n in steps
    ]
    for before, after in itertools.pairwise(steps):
        ratios.append(
            Ratio(
                f"verify growth, {before} → {after} clients",
                by_key[f"{after}/verify"].median / by_key[f"{before}/verify"].median,
                ("<=", TARGETS["growth"]),
            )
        )
        ratios.append(
            Ratio(
                f"floor growth, {before} → {after} clients",
                by_key[f"{after}/floor"].median / by_key[f"{before}/floor"].median,
            )
        )
    ratios += [
        Ratio(
            "long client, verify: ours/floor",
            by_key["long/verify"].median / by_key["long/floor"].median,
            ("<=", TARGETS["long"]),
        ),
        Ratio(
            "long client, log: ours/git log",
            by_key["long/log"].median / by_key["long/git_log"].median,
            ("<=", TARGETS["long"]),
        ),
    ]
    memory_ratios = {
        name: Ratio(f"{name}: peak RSS of the tree, MB", used.rss / MB, ("<=", TARGETS["memory_mb"]))
        for name, used in memory.items()
        if name.startswith("ipt-notes")
    }
    versions = common.query_versions(venv, PACKAGES, env=env, tools={"git": ["git", "--version"]})
    today, nproc = common.run_stamp()
    header = [
        f"Run {today}; nproc {nproc}; load average {load_before} at the start, {common.load()} at the end; "
        f"Python {versions['Python']}; git {versions['git']}.",
        common.packages_line(versions, PACKAGES),
    ]
    for name, fact in facts.items():
        how = f"built in {fact['build_s']:.0f} s" if fact["how"] == "built" else "reused"
        what = f"{fact['clients']} clients" if name != "long" else f"1 client of {fact['sessions']} sessions"
        header.append(
            f"Practice of {what} ({how}): {fact['commits']} commits; ipt-notes verify exited 0 before the "
            f"measurements ({fact['verify_output']}) and in every timed run."
        )
    header += [
        f"ipt-notes log in the long client lists the {log_entries} commits git log lists.",
        f"At each size, and in the long client: {args.repeats} timed runs of verify and of its floor after one "
        f"untimed run, alternating; {args.runs} timed runs of each log command after 3 untimed ones, alternating. "
        "Medians of wall-clock time of whole processes (the long client's floor: its two git processes, summed).",
        "Memory: one more run of each, its process tree sampled every 5 ms from /proc (RSS and PSS from "
        "smaps_rollup, summed over every live process of the tree); the largest process is the largest VmHWM sampled. "
        "MB = 10^6 bytes.",
    ]
    payload = {
        "date": today,
        "nproc": nproc,
        "versions": versions,
        "practices": facts,
        "repeats": args.repeats,
        "runs": args.runs,
        "measures": {m.key: {"label": m.label, **m.as_json()} for m in measures},
        "memory": {name: used.as_json() for name, used in memory.items()},
        "ratios": {r.name: r.as_json() for r in [*ratios, *memory_ratios.values()]},
    }
    tables = [common.measures_table(measures, ratios), memory_table(memory, memory_ratios)]
    common.publish(header, tables, started, args.json_out, payload, [*ratios, *memory_ratios.values()])
    return 0


if __name__ == "__main__":
    sys.exit(main())

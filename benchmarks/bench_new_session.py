#!/usr/bin/env python3
"""How long `ipt-notes new-session` takes, commit included, against a bare `git add` + `git commit`.

    /tmp/bench-venv/bin/python benchmarks/bench_new_session.py [--venv /tmp/bench-venv] [--clients 500]
        [--small 20] [--seed 1] [--repeats 15] [--practices DIR] [--json-out FILE]

Two practices of make_corpus.py (--git), a small one of --small clients and a large one of
--clients clients. Each client is a git repository of its own, as `ipt-notes new-client` makes
it (its git settings and its pre-commit hook), with the history of a 16-session course: every
note drafted, signed and committed. Each round takes the next client of the practice and times,
whole processes, wall clock, in an order that rotates from round to round:

ours        `ipt-notes new-session C-XXXX --date D`, run at the top of the practice: read the
            course, write the next note, check it, and commit it through the git command line
            (one commit in the client's repository).
floor       inside the client's repository, `git add -- sessions/NN.md` then `git commit -q -m
            MSG -- sessions/NN.md`, two processes, for a copy of a note new-session wrote,
            relabelled for this client and session (the file is written untimed before).
no hook     the floor again with `git -c core.hooksPath=/dev/null commit`: git alone.

The pre-commit hook that `new-client` installs (`python -m ipt_notes validate --staged`) runs for
ours and for the floor, and checks the one staged note and its course in both. The ratio
ours/floor is what the target is set on (<= 1.7) in each practice; ours in the large practice
against ours in the small one says what the size of the practice costs (it should cost nothing
now that each client is a repository of its own). Then, in the small practice, one traced run
of each (GIT_TRACE2_EVENT) splits the time between ipt-notes' own work, each git process and the
hook, and one run under `python -X importtime` lists the imports that cost most. See
benchmarks/README.md.

Every run adds a commit, so the practices change as the benchmark goes: each round is for
another client, whose course grows from 16 notes to 19 (ours, the floor and the floor without
the hook each add one), every note dated the day after the latest note of its client. Only the
standard library is used here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Sibling scripts, importable once HERE is on the path.
import common  # noqa: E402
import make_corpus  # noqa: E402
from common import BenchError, Measure, Ratio  # noqa: E402

TARGET = 1.7
HOOK_COMMAND = "-m ipt_notes validate --staged"
PACKAGES = ("ipt-notes", "typer", "click", "PyYAML")
PRACTICES = ("small", "large")
_SESSION_FILE = re.compile(r"([0-9]{2,3})\.md\Z")
_DATE_LINE = re.compile(r"^date: ([0-9]{4}-[0-9]{2}-[0-9]{2})\b", re.MULTILINE)


# --- the practices ---------------------------------------------------------------------------


def check_hook(practice: Path, client: str, venv: Path, env: dict[str, str]) -> None:
    """The client's repository has the hook of new-client, and its work tree is clean."""
    folder = practice / "clients" / client
    hook = folder / ".git" / "hooks" / "pre-commit"
    if not (hook.is_file() and os.access(hook, os.X_OK) and HOOK_COMMAND in hook.read_text(encoding="utf-8")):
        raise BenchError(f"{folder} has no pre-commit hook of ipt-notes at {hook}")
    if str(venv) not in hook.read_text(encoding="utf-8"):
        print(f"warning: the hook at {hook} runs another interpreter than {venv}", file=sys.stderr)
    _check_clean(folder, env, "before the measurements")


def _check_clean(folder: Path, env: dict[str, str], when: str) -> None:
    status = common.git(folder, env, "status", "--porcelain")
    if status.strip():
        raise BenchError(f"the repository {folder} is not clean {when}:\n{status}")


def _sessions(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in (folder / "sessions").iterdir():
        match = _SESSION_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def next_note(folder: Path) -> tuple[int, str]:
    """The number and date the next session note of a client takes: after the highest, the day after the latest."""
    notes = _sessions(folder)
    if not notes:
        raise BenchError(f"{folder} has no session notes")
    dates = []
    for _, path in notes:
        match = _DATE_LINE.search(make_corpus.front_matter(path.read_text(encoding="utf-8")))
        if match:
            dates.append(dt.date.fromisoformat(match.group(1)))
    if not dates:
        raise BenchError(f"no session note of {folder} has a date")
    if notes[-1][0] >= make_corpus.MAX_SESSIONS:
        raise BenchError(f"{folder} holds {notes[-1][0]} sessions, as many as a course can: use a new practice")
    return notes[-1][0] + 1, (max(dates) + dt.timedelta(days=1)).isoformat()


def _relabel(note: str, client: str, number: int, date: str) -> str:
    """A copy of a note for another client and session: the same bytes but for three fields."""
    head_end = note.index("\n---", 3)
    head = note[:head_end]
    for key, value in (("client", client), ("session", str(number)), ("date", date)):
        head, count = re.subn(rf"^{key}: \S+", f"{key}: {value}", head, count=1, flags=re.MULTILINE)
        if count != 1:
            raise BenchError(f"the note written by new-session has no '{key}:' line to carry over")
    return head + note[head_end:]


def _check_one_commit(folder: Path, env: dict[str, str], before: str, path: str, what: str) -> str:
    lines = common.git(folder, env, "log", "-1", "--format=%H%n%P", "--name-only", "HEAD").split("\n")
    head, parents = lines[0], lines[1].split()
    names = [line for line in lines[2:] if line]
    if parents != [before] or names != [path]:
        raise BenchError(
            f"{what} should have added one commit of {path} on top of {before[:12]} in {folder}; "
            f"HEAD {head[:12]} has parents {parents} and files {names}"
        )
    return head


# --- the measurements ------------------------------------------------------------------------


@dataclass
class Runner:
    practice: Path
    venv: Path
    env: dict[str, str]
    note_template: str = ""
    """The bytes of a note written by new-session, which the floor commits again for its client."""

    def _head(self, folder: Path) -> str:
        return common.git(folder, self.env, "rev-parse", "HEAD").strip()

    def ours(
        self, client: str, *, extra: dict[str, str] | None = None, command: Sequence[str] = ()
    ) -> tuple[float, str, subprocess.CompletedProcess[str]]:
        folder = self.practice / "clients" / client
        number, date = next_note(folder)
        path = f"sessions/{number:02d}.md"
        before = self._head(folder)
        argv = [*(command or [str(self.venv / "bin" / "ipt-notes")]), "new-session", client, "--date", date]
        elapsed, done = common.run(argv, cwd=self.practice, env=self.env, extra=extra)
        common.require_success(done, f"ipt-notes new-session {client} --date {date}")
        _check_one_commit(folder, self.env, before, path, "ipt-notes new-session")
        if not self.note_template:
            self.note_template = (folder / path).read_text(encoding="utf-8")
        return elapsed, path, done

    def floor(self, client: str, *, hook: bool = True, extra: dict[str, str] | None = None) -> tuple[float, str]:
        if not self.note_template:
            raise BenchError("the floor commits a copy of a note new-session wrote: run ours first")
        folder = self.practice / "clients" / client
        number, date = next_note(folder)
        path = f"sessions/{number:02d}.md"
        (folder / path).write_text(_relabel(self.note_template, client, number, date), encoding="utf-8")
        before = self._head(folder)
        skip_hook = [] if hook else ["-c", "core.hooksPath=/dev/null"]
        message = f"floor {client} {number}"
        start = time.perf_counter()
        _, added = common.run(["git", "add", "--", path], cwd=folder, env=self.env, extra=extra)
        common.require_success(added, f"git add -- {path}")
        _, committed = common.run(
            ["git", *skip_hook, "commit", "-q", "-m", message, "--", path], cwd=folder, env=self.env, extra=extra
        )
        elapsed = time.perf_counter() - start
        common.require_success(committed, f"git commit -- {path}" + ("" if hook else " without the hook"))
        _check_one_commit(folder, self.env, before, path, "git add + git commit")
        return elapsed, path


def measure(runner: Runner, which: str, clients: Sequence[str], repeats: int) -> list[Measure]:
    """One untimed round, then `repeats` timed rounds, each for the next client of `clients`."""
    size = len(make_corpus.client_ids(runner.practice))
    tag = f"{which} practice ({size} clients)"
    ours = Measure(f"{tag}: ipt-notes new-session", "ipt-notes new-session C-XXXX --date D", key=f"{which}/ours")
    floor = Measure(
        f"{tag}: floor, git add + git commit, hook runs",
        "git add -- NOTE && git commit -q -m MSG -- NOTE",
        key=f"{which}/floor",
    )
    bare = Measure(
        f"{tag}: floor without the hook",
        "git add -- NOTE && git -c core.hooksPath=/dev/null commit -q -m MSG -- NOTE",
        key=f"{which}/no_hook",
    )
    steps: dict[str, Callable[[str], float]] = {
        ours.key: lambda client: runner.ours(client)[0],
        floor.key: lambda client: runner.floor(client)[0],
        bare.key: lambda client: runner.floor(client, hook=False)[0],
    }
    # One untimed round, ours first: it warms the caches and gives the floor the note it commits.
    for step in steps.values():
        step(clients[0])
    measures = [ours, floor, bare]
    for index in range(repeats):
        client = clients[index + 1]
        # Rotate the order so that a burst of load on a shared machine lands on every measure.
        shift = index % len(measures)
        for item in measures[shift:] + measures[:shift]:
            item.times.append(steps[item.key](client))
        print(
            f"  {which}, repeat {index + 1}/{repeats} ({client}): "
            + ", ".join(f"{m.key.split('/')[1]} {m.times[-1] * 1000:.0f} ms" for m in measures),
            file=sys.stderr,
        )
    return measures


# --- where the time goes -----------------------------------------------------------------------


def _trace_time(event: dict[str, object]) -> float:
    return dt.datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp()


def _shown_argv(argv: list[str], path: str) -> str:
    """A git command line as the split shows it: the note as NOTE, the message as MSG."""
    shown = ["git"]
    args = argv[1:]
    if args[:2] == ["-c", "user.useConfigOnly=true"]:
        args = args[2:]
    for index, arg in enumerate(args):
        if arg == path:
            shown.append("NOTE")
        elif index > 0 and args[index - 1] == "-m":
            shown.append("MSG")
        else:
            shown.append(arg)
    return " ".join(shown)


def traced(runner: Runner, client: str, work: Path, which: str) -> dict[str, Any]:
    """One run under GIT_TRACE2_EVENT: each git process that ipt-notes (or the floor) starts, and the hook."""
    trace = work / f"trace-{which}.json"
    trace.unlink(missing_ok=True)
    extra = {"GIT_TRACE2_EVENT": str(trace)}
    launched = time.time()
    if which == "ours":
        elapsed, path, _ = runner.ours(client, extra=extra)
    else:
        elapsed, path = runner.floor(client, hook=which == "floor", extra=extra)
    wall = time.time() - launched
    starts: dict[str, tuple[float, list[str]]] = {}
    took: dict[str, float] = {}
    hooks: dict[str, float] = {}
    hook_children: set[tuple[str, int]] = set()
    hook_runs = 0
    for line in trace.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        sid = str(event.get("sid", ""))
        if "/" in sid:  # started by git itself: by the commit, or by the hook the commit runs
            continue
        if event["event"] == "start":
            starts[sid] = (_trace_time(event) - launched, [str(arg) for arg in event["argv"]])
        elif event["event"] == "exit":
            took[sid] = float(event["t_abs"])
        elif event["event"] == "child_start" and event.get("child_class") == "hook":
            hook_children.add((sid, int(event["child_id"])))
        elif event["event"] == "child_exit" and (sid, int(event["child_id"])) in hook_children:
            hooks[sid] = hooks.get(sid, 0.0) + float(event["t_rel"])
            hook_runs += 1
    calls: list[dict[str, object]] = [
        {
            "command": _shown_argv(argv, path),
            "start_s": start,
            "elapsed_s": took.get(sid, 0.0),
            "hook_s": hooks.get(sid),
        }
        for sid, (start, argv) in sorted(starts.items(), key=lambda item: item[1][0])
    ]
    if which in ("ours", "floor") and hook_runs != 1:
        raise BenchError(
            f"the traced run of {which} should have run the pre-commit hook once; it ran it {hook_runs} times"
        )
    if which == "no_hook" and hook_runs:
        raise BenchError("the floor without the hook ran a hook")
    return {
        "path": path,
        "wall_s": wall,
        "timed_s": elapsed,
        "before_first_git_s": min((start for start, _ in starts.values()), default=0.0),
        "git_s": sum(took.values()),
        "hook_s": sum(hooks.values()),
        "calls": calls,
    }


def import_times(runner: Runner, client: str, top: int) -> dict[str, Any]:
    """One run of `python -X importtime -m ipt_notes new-session`: the costliest top-level imports."""
    command = [str(runner.venv / "bin" / "python"), "-X", "importtime", "-m", "ipt_notes"]
    elapsed, path, done = runner.ours(client, command=command)
    entries: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|", 2)
        if name.startswith("  "):  # imported by another module, and counted in that one's cumulative time
            continue
        entries.append((int(cumulative), name.strip()))
    entries.sort(reverse=True)
    return {
        "path": path,
        "wall_s": elapsed,
        "imports_total_s": sum(us for us, _ in entries) / 1e6,
        "top": [{"module": name, "cumulative_s": us / 1e6} for us, name in entries[:top]],
    }


# --- the report ------------------------------------------------------------------------------


def split_rows(name: str, trace: dict[str, Any]) -> list[tuple[str, str]]:
    wall = float(trace["wall_s"])
    first = float(trace["before_first_git_s"])
    rows = [(f"**{name}**: the whole run, traced", f"**{common.fmt(wall)}**")]
    if name == "ours":
        rows.append(("interpreter start-up, imports and work up to the first git process", common.fmt(first)))
    calls: list[dict[str, Any]] = trace["calls"]
    for call in calls:
        rows.append((f"`{call['command']}`", common.fmt(float(call["elapsed_s"]))))
        if call["hook_s"] is not None:
            rows.append(("- of which the pre-commit hook", common.fmt(float(call["hook_s"]))))
    rest = wall - float(trace["git_s"]) - (first if name == "ours" else 0.0)
    if name == "ours":
        rows.append(("ipt-notes between and after the git processes, starting them included", common.fmt(rest)))
    else:
        rows.append(("starting the two git processes and reaping them", common.fmt(rest)))
    return rows


def _versions(venv: Path, env: dict[str, str]) -> dict[str, str]:
    compiled = (
        "try:\n"
        "    from ipt_notes import codegen, compiled_validators\n"
        "    fresh = compiled_validators.SCHEMAS_SHA256 == codegen.schemas_digest()\n"
        "    out['compiled validators'] = 'match the schemas' if fresh else 'STALE, older than the schemas'\n"
        "except Exception:\n"
        "    out['compiled validators'] = 'unknown'\n"
    )
    return common.query_versions(venv, PACKAGES, compiled, env=env, tools={"git": ["git", "--version"]})


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(
        "Benchmark ipt-notes new-session against a bare git add + commit.",
        install="ipt-notes",
        made="large practice",
        counts=[
            ("--repeats", 15, "timed runs of each measure in each practice"),
            ("--small", 20, "small practice's clients"),
        ],
        place=(
            "--practices",
            "the folder of the two practices, new-session-<clients>-seed<seed>",
            "they hold ipt-notes.yaml",
            "default: a temporary folder, removed at the end",
        ),
    )
    args = parser.parse_args(argv)
    if args.repeats < 3 or args.small < args.repeats + 3 or args.clients < args.repeats + 1:
        parser.error(
            "--repeats must be at least 3, --small at least --repeats + 3 and --clients at least --repeats + 1 "
            "(each round takes another client)"
        )
    venv = args.venv.absolute()
    common.require_scripts(parser, venv, ("python", "ipt-notes"), bench_extra=False)
    if shutil.which("git") is None:
        parser.error("git is not on PATH")
    env = common.bench_env()
    started = time.perf_counter()
    load_before = common.load()

    with tempfile.TemporaryDirectory(prefix="ipt-notes-bench-") as tmp:
        work = Path(tmp)
        root = (args.practices or work).absolute()
        facts: dict[str, dict[str, Any]] = {}
        measures: list[Measure] = []
        used: dict[str, list[str]] = {}
        try:
            runners = {}
            for which, size in zip(PRACTICES, (args.small, args.clients), strict=True):
                practice = root / f"new-session-{size}-seed{args.seed}"
                facts[which] = common.prepare_practice(venv, practice, size, args.seed, env=env)
                clients = make_corpus.client_ids(practice)
                check_hook(practice, clients[0], venv, env)
                first = practice / "clients" / clients[0]
                facts[which]["clients"] = len(clients)
                facts[which]["first_client_commits"] = int(common.git(first, env, "rev-list", "--count", "HEAD"))
                facts[which]["first_client_notes"] = len(_sessions(first))
                runners[which] = Runner(practice, venv, env)
                used[which] = clients[: args.repeats + (3 if which == "small" else 1)]
            for which in PRACTICES:
                print(f"{which} practice: {args.repeats} rounds, one client each ...", file=sys.stderr)
                measures += measure(runners[which], which, used[which], args.repeats)
            print("one traced run of each, and one under python -X importtime (small practice) ...", file=sys.stderr)
            small = runners["small"]
            traces = {which: traced(small, used["small"][-2], work, which) for which in ("ours", "floor", "no_hook")}
            imports = import_times(small, used["small"][-1], top=8)
            for which in PRACTICES:
                for client in used[which]:
                    _check_clean(runners[which].practice / "clients" / client, env, "after the measurements")
            note_bytes = len(small.note_template.encode("utf-8"))
        except BenchError as error:
            print(f"bench_new_session: {error}", file=sys.stderr)
            return 1

    versions = _versions(venv, env)
    by_key = {m.key: m for m in measures}
    ratios = [
        Ratio(
            f"{which} practice: ours/floor",
            by_key[f"{which}/ours"].median / by_key[f"{which}/floor"].median,
            ("<=", TARGET),
        )
        for which in PRACTICES
    ]
    ratios += [
        Ratio(
            f"{which} practice: ours/floor without the hook",
            by_key[f"{which}/ours"].median / by_key[f"{which}/no_hook"].median,
        )
        for which in PRACTICES
    ]
    ratios += [
        Ratio(f"{key}: large practice/small practice", by_key[f"large/{key}"].median / by_key[f"small/{key}"].median)
        for key in ("ours", "floor")
    ]
    split = common.build_table(
        ("Where the time of one run goes (GIT_TRACE2_EVENT), small practice", "Time"),
        split_rows("ours", traces["ours"]) + split_rows("floor", traces["floor"]),
    )
    top: list[dict[str, Any]] = imports["top"]
    import_rows = [(f"`{entry['module']}`", common.fmt(float(entry["cumulative_s"]))) for entry in top]
    import_rows.append(("all imports", common.fmt(float(imports["imports_total_s"]))))
    import_table = common.build_table(
        ("Top-level import, `python -X importtime -m ipt_notes new-session`", "Cumulative"), import_rows
    )

    today, nproc = common.run_stamp()
    header = [
        f"Run {today}; nproc {nproc}; load average {load_before} at the start, {common.load()} at the end; "
        f"Python {versions['Python']}; git {versions['git']}.",
        common.packages_line(versions, PACKAGES, f"; compiled validators: {versions['compiled validators']}"),
    ]
    for which in PRACTICES:
        fact = facts[which]
        how = f"built in {fact['build_s']:.0f} s" if fact["how"] == "built" else "reused"
        header.append(
            f"{which.capitalize()} practice ({how}): {fact['clients']} clients, each a git repository of its own with "
            f"the git settings and the pre-commit hook of new-client; the first client's course had "
            f"{fact['first_client_notes']} session notes and {fact['first_client_commits']} commits before the "
            "measurements."
        )
    header += [
        "The pre-commit hook (`python -m ipt_notes validate --staged`) runs in both ours and the floor, and checks "
        "the one staged note and its course; the traced runs below confirm it ran once in each.",
        f"Each run commits one new session note of {note_bytes} bytes (the floor commits a copy of the note "
        "new-session wrote, relabelled, written before the timer starts).",
        f"In each practice, {args.repeats} timed rounds after one untimed one, each for another client, the three "
        "measures in rotating order. Medians of wall-clock time of whole processes (the floor: git add and git "
        "commit together).",
    ]
    payload = {
        "date": today,
        "nproc": nproc,
        "versions": versions,
        "practices": {which: {**facts[which], "clients_used": used[which]} for which in PRACTICES},
        "repeats": args.repeats,
        "note_bytes": note_bytes,
        "measures": {m.key: {"label": m.label, **m.as_json()} for m in measures},
        "ratios": {r.name: r.as_json() for r in ratios},
        "traces": traces,
        "imports": imports,
    }
    common.publish(
        header, [common.measures_table(measures, ratios), split, import_table], started, args.json_out, payload, ratios
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

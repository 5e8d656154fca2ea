#!/usr/bin/env python3
"""How long `ipt-notes new-session` takes, commit included, against a bare `git add` + `git commit`.

    /tmp/bench-venv/bin/python benchmarks/bench_new_session.py [--venv /tmp/bench-venv] [--clients 500]
        [--seed 1] [--repeats 15] [--repo DIR] [--json-out FILE]

In a notes repository of N clients x 16 session notes (make_corpus.py, committed in one commit,
packed by `git gc`, then adopted by `ipt-notes init`), it times whole processes, wall clock, in
rotating order:

ours        `ipt-notes new-session C-XXXX --date D`: read the course, write the next note, check
            it, and commit it through the git command line (one commit).
floor       `git add -- NOTE` then `git commit -q -m MSG -- NOTE`, two processes, for a note of
            the same size at a notes path (the file is written untimed before).
no hook     the floor again with `git -c core.hooksPath=/dev/null commit`: git alone.

The pre-commit hook that `ipt-notes init` installs (`python -m ipt_notes validate --staged`) is in
place for ours and for the floor, and checks the one staged note in both. The ratio ours/floor is
what the target is set on (<= 3). Then one traced run of each (GIT_TRACE2_EVENT) splits the time
between ipt-notes' own work, each git process and the hook, and one run under `python -X
importtime` lists the imports that cost most. See benchmarks/README.md.

Every run adds a commit, so the repository changes as it goes: each run of ours takes the next
client of the first half of the clients, each run of the floor the next client of the second half,
and every note is dated the day after the latest note of its client. Only the standard library
is used here.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Sibling scripts, importable once HERE is on the path.
import common  # noqa: E402
import make_corpus  # noqa: E402
from common import BenchError, Measure, Ratio  # noqa: E402

TARGET = 3.0
# Every command runs with this identity and without the user's or the system's git settings, so
# that the figures do not depend on who runs the benchmark.
IDENTITY = {
    "GIT_AUTHOR_NAME": "T-01",
    "GIT_AUTHOR_EMAIL": "t01@clinic.example",
    "GIT_COMMITTER_NAME": "T-01",
    "GIT_COMMITTER_EMAIL": "t01@clinic.example",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}
HOOK_COMMAND = "-m ipt_notes validate --staged"
PACKAGES = ("ipt-notes", "typer", "click", "PyYAML")
_SESSION_FILE = re.compile(r"([0-9]{2,3})\.md\Z")
_DATE_LINE = re.compile(r"^date: ([0-9]{4}-[0-9]{2}-[0-9]{2})\b", re.MULTILINE)


# --- running things --------------------------------------------------------------------------


def bench_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(IDENTITY)
    return env


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    _, done = common.run(["git", *args], cwd=repo, env=env)
    common.require_success(done, "git " + " ".join(args))
    return done.stdout


# --- the repository --------------------------------------------------------------------------


def prepare_repository(repo: Path, clients: int, seed: int, venv: Path, env: dict[str, str]) -> str:
    """Write and commit the corpus unless `repo` already holds one, then `ipt-notes init` it."""
    if (repo / ".git").is_dir() and (repo / "ipt-notes.yaml").is_file():
        how = "reused"
        print(f"reusing the notes repository at {repo}", file=sys.stderr)
    else:
        if repo.exists() and any(repo.iterdir()):
            raise BenchError(f"{repo} exists, is not empty and is no notes repository in git: not one to reuse")
        how = "built"
        print(f"writing a corpus of {clients} clients to {repo} and committing it ...", file=sys.stderr)
        counts = make_corpus.write_corpus(repo, clients, seed)
        _git(repo, env, "init", "-q", "-b", "main")
        _git(repo, env, "add", "-A")
        # No automatic gc in the background: the whole corpus is packed at once just below.
        _git(
            repo,
            env,
            "-c",
            "gc.auto=0",
            "commit",
            "-q",
            "-m",
            f"corpus: {clients} clients, {sum(counts.values())} files",
        )
    # Pack what is loose, as in a repository that has lived a while, so that no automatic gc starts
    # in the middle of the measurements.
    _wait_for_gc(repo)
    _git(repo, env, "gc", "--quiet")
    _, done = common.run([str(venv / "bin" / "ipt-notes"), "init", "."], cwd=repo, env=env)
    common.require_success(done, "ipt-notes init")
    hook = repo / ".git" / "hooks" / "pre-commit"
    if not (hook.is_file() and os.access(hook, os.X_OK) and HOOK_COMMAND in hook.read_text(encoding="utf-8")):
        raise BenchError(f"ipt-notes init did not install its pre-commit hook at {hook}")
    if str(venv) not in hook.read_text(encoding="utf-8"):
        print(f"warning: the hook at {hook} runs another interpreter than {venv}", file=sys.stderr)
    _check_clean(repo, env, "after ipt-notes init")
    return how


def _wait_for_gc(repo: Path, seconds: float = 300.0) -> None:
    """Wait for a gc that git started in the background (it holds .git/gc.pid while it runs)."""
    deadline = time.monotonic() + seconds
    while (repo / ".git" / "gc.pid").exists():
        if time.monotonic() > deadline:
            raise BenchError(f"a git gc has been running in {repo} for {seconds:.0f} s; wait for it, then run again")
        time.sleep(0.5)


def _check_clean(repo: Path, env: dict[str, str], when: str) -> None:
    status = _git(repo, env, "status", "--porcelain")
    if status.strip():
        raise BenchError(f"the repository is not clean {when}:\n{status}")


def client_ids(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "clients").iterdir() if p.is_dir() and not p.is_symlink())


def _sessions(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in (folder / "sessions").iterdir():
        match = _SESSION_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def next_note(repo: Path, client: str) -> tuple[int, str]:
    """The number and date the next session note of `client` takes: after the highest, the day after the latest."""
    notes = _sessions(repo / "clients" / client)
    if not notes:
        raise BenchError(f"clients/{client} has no session notes")
    dates = []
    for _, path in notes:
        match = _DATE_LINE.search(make_corpus.front_matter(path.read_text(encoding="utf-8")))
        if match:
            dates.append(dt.date.fromisoformat(match.group(1)))
    if not dates:
        raise BenchError(f"no session note of clients/{client} has a date")
    if notes[-1][0] >= 999:
        raise BenchError(f"clients/{client} holds 999 sessions, as many as a course can: use a new repository")
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


def _check_one_commit(repo: Path, env: dict[str, str], before: str, path: str, what: str) -> str:
    lines = _git(repo, env, "log", "-1", "--format=%H%n%P", "--name-only", "HEAD").split("\n")
    head, parents = lines[0], lines[1].split()
    names = [line for line in lines[2:] if line]
    if parents != [before] or names != [path]:
        raise BenchError(
            f"{what} should have added one commit of {path} on top of {before[:12]}; "
            f"HEAD {head[:12]} has parents {parents} and files {names}"
        )
    return head


# --- the measurements ------------------------------------------------------------------------


@dataclass
class Runner:
    repo: Path
    venv: Path
    env: dict[str, str]
    ours_clients: list[str]
    floor_clients: list[str]
    note_template: str = ""
    """The bytes of a note written by new-session, which the floor commits again for another client."""
    _ours_next: int = 0
    _floor_next: int = 0

    def _head(self) -> str:
        return _git(self.repo, self.env, "rev-parse", "HEAD").strip()

    def ours(
        self, *, extra: dict[str, str] | None = None, command: Sequence[str] = ()
    ) -> tuple[float, str, subprocess.CompletedProcess[str]]:
        client = self.ours_clients[self._ours_next % len(self.ours_clients)]
        self._ours_next += 1
        number, date = next_note(self.repo, client)
        path = f"clients/{client}/sessions/{number:02d}.md"
        before = self._head()
        argv = [*(command or [str(self.venv / "bin" / "ipt-notes")]), "new-session", client, "--date", date]
        elapsed, done = common.run(argv, cwd=self.repo, env=self.env, extra=extra)
        common.require_success(done, f"ipt-notes new-session {client} --date {date}")
        _check_one_commit(self.repo, self.env, before, path, "ipt-notes new-session")
        if not self.note_template:
            self.note_template = (self.repo / path).read_text(encoding="utf-8")
        return elapsed, path, done

    def floor(self, *, hook: bool = True, extra: dict[str, str] | None = None) -> tuple[float, str]:
        client = self.floor_clients[self._floor_next % len(self.floor_clients)]
        self._floor_next += 1
        number, date = next_note(self.repo, client)
        path = f"clients/{client}/sessions/{number:02d}.md"
        (self.repo / path).write_text(_relabel(self.note_template, client, number, date), encoding="utf-8")
        before = self._head()
        skip_hook = [] if hook else ["-c", "core.hooksPath=/dev/null"]
        message = f"floor {client} {number}"
        start = time.perf_counter()
        _, added = common.run(["git", "add", "--", path], cwd=self.repo, env=self.env, extra=extra)
        common.require_success(added, f"git add -- {path}")
        _, committed = common.run(
            ["git", *skip_hook, "commit", "-q", "-m", message, "--", path], cwd=self.repo, env=self.env, extra=extra
        )
        elapsed = time.perf_counter() - start
        common.require_success(committed, f"git commit -- {path}" + ("" if hook else " without the hook"))
        _check_one_commit(self.repo, self.env, before, path, "git add + git commit")
        return elapsed, path


def measure(runner: Runner, repeats: int) -> list[Measure]:
    ours = Measure("ipt-notes new-session", "ipt-notes new-session C-XXXX --date D", key="ours")
    floor = Measure(
        "floor: git add + git commit, hook runs", "git add -- NOTE && git commit -q -m MSG -- NOTE", key="floor"
    )
    bare = Measure(
        "floor without the hook: git add + git commit",
        "git add -- NOTE && git -c core.hooksPath=/dev/null commit -q -m MSG -- NOTE",
        key="no_hook",
    )
    steps = {
        "ours": lambda: runner.ours()[0],
        "floor": lambda: runner.floor()[0],
        "no_hook": lambda: runner.floor(hook=False)[0],
    }
    # One untimed run of each: it warms the caches and gives the floor the note it commits.
    for key in steps:
        steps[key]()
    measures = [ours, floor, bare]
    for index in range(repeats):
        # Rotate the order so that a burst of load on a shared machine lands on every measure.
        shift = index % len(measures)
        for item in measures[shift:] + measures[:shift]:
            item.times.append(steps[item.key]())
        print(
            f"  repeat {index + 1}/{repeats}: " + ", ".join(f"{m.key} {m.times[-1] * 1000:.0f} ms" for m in measures),
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


def traced(runner: Runner, work: Path, which: str) -> dict[str, Any]:
    """One run under GIT_TRACE2_EVENT: each git process that ipt-notes (or the floor) starts, and the hook."""
    trace = work / f"trace-{which}.json"
    trace.unlink(missing_ok=True)
    extra = {"GIT_TRACE2_EVENT": str(trace)}
    launched = time.time()
    if which == "ours":
        elapsed, path, _ = runner.ours(extra=extra)
    else:
        elapsed, path = runner.floor(hook=which == "floor", extra=extra)
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


def import_times(runner: Runner, top: int) -> dict[str, Any]:
    """One run of `python -X importtime -m ipt_notes new-session`: the costliest top-level imports."""
    command = [str(runner.venv / "bin" / "python"), "-X", "importtime", "-m", "ipt_notes"]
    elapsed, path, done = runner.ours(command=command)
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
        made="repository",
        counts=[("--repeats", 15, "timed runs of each measure")],
        place=(
            "--repo",
            "the notes repository",
            "it is one in git",
            "default: a new one in a temporary folder, removed at the end",
        ),
    )
    args = parser.parse_args(argv)
    if args.repeats < 3 or args.clients < 2:
        parser.error("--repeats must be at least 3, --clients at least 2")
    venv = args.venv.absolute()
    common.require_scripts(parser, venv, ("python", "ipt-notes"), bench_extra=False)
    if shutil.which("git") is None:
        parser.error("git is not on PATH")
    env = bench_env()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="ipt-notes-bench-") as tmp:
        work = Path(tmp)
        repo = (args.repo or work / "repo").absolute()
        try:
            how = prepare_repository(repo, args.clients, args.seed, venv, env)
            clients = client_ids(repo)
            half = len(clients) // 2
            runner = Runner(repo, venv, env, ours_clients=clients[:half], floor_clients=clients[half:])
            n_commits = int(_git(repo, env, "rev-list", "--count", "HEAD"))
            n_files = len(_git(repo, env, "ls-files", "-z").split("\0")) - 1
            print(f"measuring, {args.repeats} repeats of each, alternating ...", file=sys.stderr)
            measures = measure(runner, args.repeats)
            print("one traced run of each, and one under python -X importtime ...", file=sys.stderr)
            traces = {which: traced(runner, work, which) for which in ("ours", "floor", "no_hook")}
            imports = import_times(runner, top=8)
            _check_clean(repo, env, "after the measurements")
            note_bytes = len(runner.note_template.encode("utf-8"))
        except BenchError as error:
            print(f"bench_new_session: {error}", file=sys.stderr)
            return 1
        finally:
            if args.repo is None:
                shutil.rmtree(repo, ignore_errors=True)

    versions = _versions(venv, env)
    by_key = {m.key: m for m in measures}
    ratios = [
        Ratio("ours/floor", by_key["ours"].median / by_key["floor"].median, ("<=", TARGET)),
        Ratio("ours/floor without the hook", by_key["ours"].median / by_key["no_hook"].median),
    ]
    split = common.build_table(
        ("Where the time of one run goes (GIT_TRACE2_EVENT)", "Time"),
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
        f"Run {today}; nproc {nproc}; Python {versions['Python']}; git {versions['git']}.",
        common.packages_line(versions, PACKAGES, f"; compiled validators: {versions['compiled validators']}"),
        f"Repository ({how}): {len(clients)} clients, {n_files} tracked files, {n_commits} commits before the "
        "measurements, packed by git gc; the git settings of ipt-notes init (core.fsync=committed,index).",
        "The pre-commit hook of ipt-notes init (`python -m ipt_notes validate --staged`) runs in both ours and the "
        "floor, and checks the one staged note; the traced runs below confirm it ran once in each.",
        f"Each run commits one new session note of {note_bytes} bytes (the floor commits a copy of the note "
        "new-session wrote, for another client, written before the timer starts).",
        f"{args.repeats} timed runs of each after one untimed run, in rotating order; each run of ours is for "
        "another client. Medians of wall-clock time of whole processes (the floor: git add and git commit together).",
    ]
    payload = {
        "date": today,
        "nproc": nproc,
        "versions": versions,
        "repository": {
            "path": str(repo) if args.repo is not None else None,
            "how": how,
            "clients": len(clients),
            "tracked_files": n_files,
            "commits_before": n_commits,
        },
        "repeats": args.repeats,
        "note_bytes": note_bytes,
        "measures": {m.key: {"label": m.label, **m.as_json()} for m in measures},
        "ratios": {r.name: r.as_json() for r in ratios},
        "traces": traces,
        "imports": imports,
    }
    common.publish(
        header, [common.measures_table(measures, ratios), split, import_table], started, args.json_out, payload
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

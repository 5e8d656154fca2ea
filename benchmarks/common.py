"""What the ipt-notes benchmark scripts share: running commands, practices, measures, ratios and the report.

bench_validate.py, bench_verify.py and bench_new_session.py import this module as a sibling (their
own folder is on sys.path). Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MEASURE_HEADER = ("Measure", "Runs", "Median", "Spread (min-max)", "Ratio / target")
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


class BenchError(Exception):
    """A benchmark cannot go on; the message says why."""


# --- running things --------------------------------------------------------------------------


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command to its end, output captured: its wall-clock time and what it did.

    `env` is the whole environment (default: this process's), `extra` variables set on top of it.
    """
    run_env = env if extra is None else {**(os.environ if env is None else env), **extra}
    start = time.perf_counter()
    done = subprocess.run(list(argv), cwd=cwd, env=run_env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def require_success(done: subprocess.CompletedProcess[str], what: str, hint: str = "") -> None:
    """Raise BenchError, with the first lines of the output, unless the command exited 0."""
    if done.returncode == 0:
        return
    output = (done.stdout + done.stderr).strip().splitlines()
    shown = "\n".join("    " + line for line in output[:25])
    more = f"\n    ... ({len(output) - 25} more lines)" if len(output) > 25 else ""
    raise BenchError(f"{what} exited with status {done.returncode}.{hint}\n{shown}{more}")


def bench_env() -> dict[str, str]:
    """This process's environment without its GIT_* variables, with IDENTITY and no global git settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(IDENTITY)
    return env


def git(repo: Path, env: Mapping[str, str], *args: str) -> str:
    """Run git in `repo`; its output, or BenchError."""
    _, done = run(["git", *args], cwd=repo, env=env)
    require_success(done, "git " + " ".join(args) + f" (in {repo})")
    return done.stdout


# --- memory of a process tree ----------------------------------------------------------------


@dataclass(frozen=True)
class TreeMemory:
    """The memory a command and every process it started took at its peak, sampled from /proc.

    `rss` is the peak, over the samples, of the RSS summed over every live process of the tree,
    which counts a page shared by several processes (forked workers, shared libraries) once per
    process: an upper bound. `pss` is the same with the proportional set size, which splits each
    shared page among the processes that map it: what the tree actually occupies. `largest` is
    the largest peak RSS (VmHWM) of any one process of the tree, as last sampled. (wait4's
    ru_maxrss would not do: the kernel carries the spawning process's own peak across exec.)
    """

    rss: int
    pss: int
    largest: int
    processes: int
    """Processes alive in the tree at the sample of the RSS peak."""
    samples: int
    seen: int
    """Processes of the tree seen in any sample."""

    def as_json(self) -> dict[str, int]:
        return {
            "peak_rss_bytes": self.rss,
            "peak_pss_bytes": self.pss,
            "largest_process_bytes": self.largest,
            "processes_at_peak": self.processes,
            "samples": self.samples,
            "processes_seen": self.seen,
        }


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[1])  # the field after the state


def _memory(pid: int) -> tuple[int, int, int] | None:
    """A process's RSS, PSS and peak RSS so far (VmHWM), in bytes, or None once it is gone."""
    rss = pss = peak = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        return None
    return rss, pss, peak


def run_sampled(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], interval: float = 0.005
) -> tuple[float, subprocess.CompletedProcess[str], TreeMemory]:
    """Run a command to its end while sampling the memory of its process tree every `interval` seconds.

    The tree is found from the parent of each process in /proc: the command, then every process
    whose parent is in the tree. Sampling costs CPU, so the time returned is no benchmark figure.
    """
    members: set[int] = set()  # every process ever seen in the tree
    others: set[int] = set()  # processes seen outside it
    live: set[int] = set()
    peak_rss = peak_pss = at_peak = samples = largest = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=err)
        members.add(child.pid)
        live.add(child.pid)
        while True:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                break
            fresh: dict[int, int] = {}
            with os.scandir("/proc") as entries:
                pids = [int(entry.name) for entry in entries if entry.name.isdigit()]
            for new in pids:
                if new not in members and new not in others:
                    parent = _parent(new)
                    if parent is not None:
                        fresh[new] = parent
            grew = True
            while grew:  # a child and its own child may both be new
                grew = False
                for new, parent in list(fresh.items()):
                    if parent in members:
                        members.add(new)
                        live.add(new)
                        del fresh[new]
                        grew = True
            others.update(fresh)
            rss = pss = count = 0
            for member in list(live):
                memory = _memory(member)
                if memory is None:
                    live.discard(member)
                    continue
                rss, pss, count = rss + memory[0], pss + memory[1], count + (memory[0] > 0)
                largest = max(largest, memory[2])
            samples += 1
            if rss > peak_rss:
                peak_rss, at_peak = rss, count
            peak_pss = max(peak_pss, pss)
            time.sleep(interval)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = (handle.read().decode("utf-8", "replace") for handle in (out, err))
    done = subprocess.CompletedProcess(list(argv), child.returncode, stdout, stderr)
    return elapsed, done, TreeMemory(peak_rss, peak_pss, largest, at_peak, samples, len(members))


# --- practices -------------------------------------------------------------------------------


def prepare_practice(
    venv: Path,
    practice: Path,
    clients: int,
    seed: int,
    *,
    env: Mapping[str, str],
    sessions: int | None = None,
) -> dict[str, Any]:
    """A practice of `clients` clients, each a git repository with its history (make_corpus.py --git).

    A practice already at `practice` is reused when it holds as many clients; otherwise it is
    written there by the venv's interpreter (so the hook and the content hashes are those of the
    ipt-notes under test), first into a sibling folder that is renamed once it is complete.
    """
    facts: dict[str, Any] = {"path": str(practice)}
    if (practice / "ipt-notes.yaml").is_file():
        found = len([p for p in (practice / "clients").iterdir() if p.is_dir()])
        if found != clients:
            raise BenchError(f"{practice} holds {found} clients, not {clients}: remove it, or name another folder")
        print(f"reusing the practice at {practice}", file=sys.stderr)
        facts["how"] = "reused"
        return facts
    if practice.exists() and any(practice.iterdir()):
        raise BenchError(f"{practice} exists, is not empty and is no practice: not one to reuse")
    building = practice.with_name(practice.name + ".partial")
    if building.exists():
        shutil.rmtree(building)
    what = f"{clients} clients" + (f" of {sessions} sessions" if sessions else "")
    print(f"writing a practice of {what}, each a git repository with its history, to {practice} ...", file=sys.stderr)
    argv = [str(venv / "bin" / "python"), str(HERE / "make_corpus.py"), str(building), "--clients", str(clients)]
    argv += ["--seed", str(seed), "--git", *(["--sessions", str(sessions)] if sessions else [])]
    elapsed, done = run(argv, env=env)
    require_success(done, "make_corpus.py")
    if practice.exists():
        practice.rmdir()
    building.rename(practice)
    facts.update(how="built", build_s=elapsed, made=" ".join(done.stdout.replace(str(building), str(practice)).split()))
    print(f"  {elapsed:.0f} s: {facts['made']}", file=sys.stderr)
    return facts


def query_versions(
    venv: Path,
    packages: Sequence[str],
    extra_code: str = "",
    *,
    env: Mapping[str, str] | None = None,
    tools: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The versions of Python and `packages` in the virtual environment, and of the command-line `tools`.

    `extra_code` runs in the venv's Python after the packages and may add more to the dict `out`;
    `tools` maps a name to the command that prints its version as the last word of its output.
    """
    code = (
        "import json, sys, importlib.metadata as m\n"
        f"out = {{n: m.version(n) for n in {tuple(packages)!r}}}\n"
        "out['Python'] = sys.version.split()[0]\n" + extra_code + "print(json.dumps(out))\n"
    )
    _, done = run([str(venv / "bin" / "python"), "-c", code], cwd=Path.cwd(), env=env)
    require_success(done, "the version query")
    versions: dict[str, str] = json.loads(done.stdout)
    for name, argv in (tools or {}).items():
        _, done = run(argv, cwd=Path.cwd(), env=env)
        require_success(done, " ".join(argv))
        versions[name] = done.stdout.split()[-1]
    return versions


# --- the command line ------------------------------------------------------------------------


def make_parser(
    description: str,
    *,
    install: str,
    made: str,
    counts: Sequence[tuple[str, int, str]],
    place: tuple[str, str, str, str],
) -> argparse.ArgumentParser:
    """The command line of a benchmark, its options in this order.

    --venv, the virtual environment with `install` in it; --clients and --seed of the notes `made`
    for the runs; one integer option per (flag, default, what it counts) in `counts`; the folder of
    the notes, `place` = (flag, what it is, when it is reused, its default); and --json-out.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path("/tmp/bench-venv"),
        help=f"virtual environment with {install} installed (default /tmp/bench-venv)",
    )
    parser.add_argument("--clients", type=int, default=500, help=f"clients in a new {made} (default 500)")
    parser.add_argument("--seed", type=int, default=1, help=f"seed of a new {made} (default 1)")
    for flag, default, counted in counts:
        parser.add_argument(flag, type=int, default=default, help=f"{counted} (default {default})")
    flag, what, reused_when, default_text = place
    parser.add_argument(
        flag, type=Path, default=None, help=f"{what}: reused when {reused_when}, else written there ({default_text})"
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also write the results here as JSON")
    return parser


def require_scripts(parser: argparse.ArgumentParser, venv: Path, scripts: Sequence[str], *, bench_extra: bool) -> None:
    """Stop with a usage error, and how to install ipt-notes, when the venv lacks one of `scripts`."""
    for script in scripts:
        if not (venv / "bin" / script).exists():
            with_extra = " with its bench extra" if bench_extra else ""
            source = "'/path/to/ipt-notes[bench]'" if bench_extra else "/path/to/ipt-notes"
            parser.error(
                f"{venv / 'bin' / script} is missing: install ipt-notes{with_extra} "
                f"(python3 -m venv {venv} && {venv}/bin/pip install {source})"
            )


# --- measures and ratios ---------------------------------------------------------------------


def fmt(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


@dataclass
class Measure:
    """The wall-clock times of one command; `key` names it in the JSON where the label does not."""

    label: str
    command: str
    times: list[float] = field(default_factory=list)
    key: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def row(self) -> tuple[str, str, str, str, str]:
        """Its row in a table of MEASURE_HEADER."""
        spread = f"{fmt(min(self.times))} - {fmt(max(self.times))}"
        return (self.label, str(len(self.times)), fmt(self.median), spread, "")

    def as_json(self) -> dict[str, Any]:
        return {"command": self.command, "runs": len(self.times), "median_s": self.median, "times_s": self.times}


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians, with its target as (operator, bound), "<=" or ">=", or None for information only."""

    name: str
    value: float
    target: tuple[str, float] | None = None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target
        return self.value <= bound if op == "<=" else self.value >= bound

    def row(self) -> tuple[str, str, str, str, str]:
        """Its row in a table of MEASURE_HEADER."""
        if self.target is None:
            return (self.name, "", "", "", f"{self.value:.2f} (for information)")
        op, bound = self.target
        shown = op.replace("<=", "≤").replace(">=", "≥")
        verdict = "met" if self.met else "**missed**"
        return (f"**{self.name}**", "", "", "", f"**{self.value:.2f}** (target {shown} {bound:g}: {verdict})")

    def as_json(self) -> dict[str, Any]:
        if self.target is None:
            return {"value": self.value}
        op, bound = self.target
        return {"value": self.value, "target": f"{op} {bound:g}", "met": self.met}


# --- the report ------------------------------------------------------------------------------


def build_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def measures_table(measures: Sequence[Measure], ratios: Sequence[Ratio]) -> str:
    """The main table: one row per measure, then one per ratio."""
    return build_table(MEASURE_HEADER, [m.row() for m in measures] + [r.row() for r in ratios])


def load() -> str:
    """The load averages over 1, 5 and 15 minutes, as uptime shows them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def count_commits(practice: Path, env: Mapping[str, str]) -> int:
    """The commits of every client repository of a practice, added up."""
    folders = sorted(p for p in (practice / "clients").iterdir() if (p / ".git").is_dir())
    return sum(int(git(folder, env, "rev-list", "--count", "HEAD")) for folder in folders)


def run_stamp() -> tuple[str, int | None]:
    """The date and time of the run, and how many processors it may use."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), nproc


def packages_line(versions: Mapping[str, str], packages: Sequence[str], tail: str = "") -> str:
    return "Packages: " + ", ".join(f"{name} {versions[name]}" for name in packages) + tail + "."


def verdict(ratios: Sequence[Ratio]) -> str:
    """One sentence: every target met, or which were missed."""
    missed = [ratio.name for ratio in ratios if ratio.met is False]
    if not missed:
        return "Every target is met."
    return "Targets missed: " + "; ".join(missed) + "."


def publish(
    header: Sequence[str],
    tables: Sequence[str],
    started: float,
    json_out: Path | None,
    payload: dict[str, Any],
    ratios: Sequence[Ratio] = (),
) -> None:
    """Print the report (header lines as a list, then the tables, then the verdict on the targets of
    `ratios`) and write it with `payload` to `json_out`."""
    report = "\n".join(f"- {line}" for line in header) + "\n\n" + "\n\n".join(tables) + "\n"
    if ratios:
        report += "\n" + verdict(ratios) + "\n"
    print(report)
    print(f"(the benchmark took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {**payload, "table": report}
        if ratios:
            payload["verdict"] = verdict(ratios)
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

"""What the ipt-notes benchmark scripts share: running commands, measures, ratios and the report.

bench_validate.py and bench_new_session.py import this module as a sibling (their own folder is
on sys.path). Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEASURE_HEADER = ("Measure", "Runs", "Median", "Spread (min-max)", "Ratio / target")


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


def run_stamp() -> tuple[str, int | None]:
    """The date and time of the run, and how many processors it may use."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), nproc


def packages_line(versions: Mapping[str, str], packages: Sequence[str], tail: str = "") -> str:
    return "Packages: " + ", ".join(f"{name} {versions[name]}" for name in packages) + tail + "."


def publish(
    header: Sequence[str], tables: Sequence[str], started: float, json_out: Path | None, payload: dict[str, Any]
) -> None:
    """Print the report (header lines as a list, then the tables) and write it with `payload` to `json_out`."""
    report = "\n".join(f"- {line}" for line in header) + "\n\n" + "\n\n".join(tables) + "\n"
    print(report)
    print(f"(the benchmark took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({**payload, "table": report}, indent=2) + "\n", encoding="utf-8")

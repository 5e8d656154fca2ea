#!/usr/bin/env python3
"""How fast `ipt-notes validate` is, against the floor, a generic validator, and bare Typer.

    /tmp/bench-venv/bin/python benchmarks/bench_validate.py [--venv /tmp/bench-venv] [--clients 500]
        [--repeats 5] [--peer-repeats 1] [--corpus DIR] [--json-out FILE]

The corpus is a practice of N clients (make_corpus.py --git), each a git repository of its own
whose history signed and committed every note. In one run it measures whole processes, wall
clock, and prints a Markdown table of medians and ratios (see benchmarks/README.md for what each
figure means and its target):

A      `ipt-notes validate`, run at the top of the practice: every client (must exit 0).
B      the floor: `floor_parse.py PRACTICE --ls-tree`, reading every notes file and parsing its
       YAML with libyaml, plus one `git ls-tree -r HEAD` per client, over two worker processes,
       checking nothing.
C      the peer: `check-jsonschema --schemafile KIND.json FILES...` for the front matter of
       every file, kind by kind, with the schemas `ipt-notes schema KIND` prints; summed.
one    one session note, inside its client's repository: `ipt-notes validate sessions/NN.md`
       against check-jsonschema on its front matter.
start  `ipt-notes --help` and `--version` against a minimal Typer app (minimal_typer_app.py).

Everything runs with the interpreter and console scripts of one virtual environment (--venv),
into which ipt-notes was installed with its `bench` extra, without the user's git settings.
Only the standard library is used here.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Sibling scripts, importable once HERE is on the path.
import common  # noqa: E402
import make_corpus  # noqa: E402
from common import BenchError, Measure, Ratio  # noqa: E402

TARGETS = {
    "A/B": ("<=", 2.2),
    "C/A": (">=", 20.0),
    "one note: ours/peer": ("<=", 0.4),
    "--help: ours/minimal": ("<=", 1.2),
    "--version: ours/minimal": ("<=", 1.2),
}
REPORTED_PACKAGES = ("ipt-notes", "typer", "click", "PyYAML", "jsonschema", "check-jsonschema")


# --- running things --------------------------------------------------------------------------


def _hyperfine() -> str | None:
    return shutil.which("hyperfine") or ("/usr/bin/hyperfine" if Path("/usr/bin/hyperfine").exists() else None)


def _time_commands(
    commands: dict[str, list[str]], runs: int, work: Path, env: dict[str, str], cwd: Path, rounds: int = 3
) -> dict[str, list[float]]:
    """Wall-clock times of short commands run in `cwd`, `runs` of each, in `rounds` interleaved rounds.

    hyperfine (-N, no shell) runs all of one command before the next, so on a shared machine a
    burst of load can land on one side of a comparison only; several rounds in alternating order
    spread it over both. Without hyperfine, a plain loop alternates every run.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    per_round = math.ceil(runs / rounds)
    tool = _hyperfine()
    names = list(commands)
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        if tool is None:
            for _ in range(per_round):
                for name in order:
                    elapsed, done = common.run(commands[name], cwd=cwd, env=env)
                    common.require_success(done, name)
                    times[name].append(elapsed)
            continue
        export = work / f"hyperfine-{os.getpid()}-{index}.json"
        argv = [tool, "-N", "--style", "none", "--warmup", "3", "--runs", str(per_round), "--export-json", str(export)]
        for name in order:
            argv += ["--command-name", name, shlex.join(commands[name])]
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        common.require_success(done, "hyperfine (one of the commands failed, or hyperfine itself)")
        for result in json.loads(export.read_text(encoding="utf-8"))["results"]:
            times[result["command"]].extend(result["times"])
        export.unlink()
    return times


# --- the corpus ------------------------------------------------------------------------------


def _corpus_files(corpus: Path) -> dict[str, list[Path]]:
    by_kind: dict[str, list[Path]] = {kind: [] for kind in make_corpus.KINDS}
    for current, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not make_corpus.skipped_dir(d))
        for name in sorted(files):
            path = Path(current) / name
            kind = make_corpus.kind_of(path.relative_to(corpus))
            if kind is not None:
                by_kind[kind].append(path)
    return by_kind


def prepare_corpus(
    venv: Path, corpus: Path, front: Path, clients: int, seed: int, env: dict[str, str]
) -> dict[str, object]:
    """The practice (built, or reused), and the front matter of its files for check-jsonschema."""
    facts = common.prepare_practice(venv, corpus, clients, seed, env=env)
    if facts["how"] == "built" and front.exists():
        shutil.rmtree(front)
    if not (front / "course_settings").is_dir():
        print(f"writing the front matter of every file to {front} ...", file=sys.stderr)
        make_corpus.export_front_matter(corpus, front)
    return facts


# --- the measurements ------------------------------------------------------------------------


def _checked_count(stderr: str) -> int | None:
    for line in stderr.splitlines():
        if line.startswith("checked "):
            return int(line.split()[1])
    return None


def measure_corpus(venv: Path, corpus: Path, repeats: int, env: dict[str, str]) -> tuple[Measure, Measure, int, int]:
    ours = [str(venv / "bin" / "ipt-notes"), "validate"]
    floor = [str(venv / "bin" / "python"), str(HERE / "floor_parse.py"), ".", "--ls-tree"]
    a = Measure("A: ipt-notes validate (the whole practice)", "cd PRACTICE && ipt-notes validate")
    b = Measure(
        "B: floor, read + CSafeLoader + git ls-tree per client, 2 processes",
        "cd PRACTICE && python benchmarks/floor_parse.py . --ls-tree",
    )
    hint = (
        " The generated notes should all be valid: the messages above (path:line:col, rule) show what "
        "benchmarks/make_corpus.py wrote wrongly."
    )
    # One untimed run of each warms the file cache and checks that both work.
    _, done = common.run(ours, cwd=corpus, env=env)
    common.require_success(done, "ipt-notes validate on the practice", hint)
    checked = _checked_count(done.stderr)
    _, done_floor = common.run(floor, cwd=corpus, env=env)
    common.require_success(done_floor, "floor_parse.py")
    parsed, trees = (int(word) for word in done_floor.stdout.split())
    if checked is not None and checked != parsed:
        print(f"warning: ipt-notes checked {checked} files, the floor parsed {parsed}", file=sys.stderr)
    for index in range(repeats):
        # Alternate the two so that a burst of load on the shared machine lands on both.
        for measure, argv in ((a, ours), (b, floor)) if index % 2 == 0 else ((b, floor), (a, ours)):
            elapsed, done = common.run(argv, cwd=corpus, env=env)
            common.require_success(done, measure.label, hint if measure is a else "")
            measure.times.append(elapsed)
        print(f"  repeat {index + 1}/{repeats}: A {a.times[-1]:.2f} s, B {b.times[-1]:.2f} s", file=sys.stderr)
    return a, b, parsed, trees


def _batches(paths: list[str], budget: int) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    used = 0
    for path in paths:
        cost = len(os.fsencode(path)) + 1 + 8  # the string, its NUL, and its pointer
        if batches[-1] and used + cost > budget:
            batches.append([])
            used = 0
        batches[-1].append(path)
        used += cost
    return batches


def measure_peer(venv: Path, front: Path, schemas: dict[str, Path], repeats: int) -> tuple[Measure, dict[str, int]]:
    tool = str(venv / "bin" / "check-jsonschema")
    env_size = sum(len(k) + len(v) + 2 + 8 for k, v in os.environ.items())
    budget = max(64 * 1024, min(os.sysconf("SC_ARG_MAX") // 2, 1024 * 1024) - env_size)
    plan: list[tuple[str, list[str]]] = []
    calls: dict[str, int] = {}
    for kind, schema in schemas.items():
        files = sorted(str(p.relative_to(front)) for p in (front / kind).glob("*.yaml"))
        if not files:
            continue
        batches = _batches(files, budget)
        calls[kind] = len(batches)
        plan.extend((kind, [tool, "--schemafile", str(schema), *batch]) for batch in batches)
    c = Measure("C: check-jsonschema, every kind (sum)", "check-jsonschema --schemafile KIND.json FILES...")
    _, done = common.run([tool, "--schemafile", str(schemas["config"]), "config/ipt-notes.yaml"], cwd=front)  # warm-up
    common.require_success(done, "check-jsonschema on ipt-notes.yaml")
    for index in range(repeats):
        total = 0.0
        for kind, argv in plan:
            elapsed, done = common.run(argv, cwd=front)
            common.require_success(done, f"check-jsonschema on the {kind} files")
            total += elapsed
        c.times.append(total)
        print(f"  peer repeat {index + 1}/{repeats}: C {total:.1f} s", file=sys.stderr)
    return c, calls


def pick_note(corpus: Path) -> Path:
    """A signed, attended middle-phase session note: the common case of a pre-commit hook."""
    for path in sorted((corpus / "clients").glob("*/sessions/[0-9][0-9].md")):
        head = make_corpus.front_matter(path.read_text(encoding="utf-8"))
        if all(f"\n{line}\n" in f"\n{head}" for line in ("phase: middle", "status: signed", "attendance: attended")):
            return path
    raise BenchError("the corpus has no signed, attended middle-phase session note")


# --- the report ------------------------------------------------------------------------------


def _versions(venv: Path) -> dict[str, str]:
    tool = _hyperfine()
    return common.query_versions(
        venv,
        REPORTED_PACKAGES,
        "import yaml\nout['libyaml'] = str(getattr(yaml, '__with_libyaml__', False))\n",
        tools={} if tool is None else {"hyperfine": [tool, "--version"]},
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(
        "Benchmark ipt-notes validate against its floor and a generic peer.",
        install="ipt-notes[bench]",
        made="practice",
        counts=[
            ("--repeats", 5, "timed runs of A and B"),
            ("--peer-repeats", 1, "timed runs of C, which is slow"),
            ("--runs", 30, "runs of each one-note and start-up command"),
        ],
        place=(
            "--corpus",
            "the practice",
            "it holds ipt-notes.yaml and as many clients",
            "default /tmp/ipt-notes-bench/practice-<clients>-seed<seed>, which bench_verify.py shares",
        ),
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.peer_repeats < 1 or args.runs < 20:
        parser.error("--repeats and --peer-repeats must be at least 1, --runs at least 20")

    venv = args.venv.resolve()
    common.require_scripts(parser, venv, ("python", "ipt-notes", "check-jsonschema"), bench_extra=True)
    corpus = (args.corpus or Path(f"/tmp/ipt-notes-bench/practice-{args.clients}-seed{args.seed}")).resolve()
    front = corpus.with_name(corpus.name + ".front-matter")
    env = common.bench_env()
    started = time.perf_counter()
    load_before = common.load()

    try:
        facts = prepare_corpus(venv, corpus, front, args.clients, args.seed, env)
        by_kind = _corpus_files(corpus)
        n_files = sum(len(v) for v in by_kind.values())
        n_bytes = sum(p.stat().st_size for v in by_kind.values() for p in v)
        n_clients = len(by_kind["client"])
        commits = common.count_commits(corpus, env)
        with tempfile.TemporaryDirectory(prefix="ipt-notes-bench-") as tmp:
            work = Path(tmp)
            schemas: dict[str, Path] = {}
            for kind in make_corpus.KINDS:
                _, done = common.run([str(venv / "bin" / "ipt-notes"), "schema", kind], env=env)
                common.require_success(done, f"ipt-notes schema {kind}")
                schemas[kind] = work / f"{kind}.schema.json"
                schemas[kind].write_text(done.stdout, encoding="utf-8")

            print("A and B: the whole practice ...", file=sys.stderr)
            a, b, parsed, trees = measure_corpus(venv, corpus, args.repeats, env)
            print("C: check-jsonschema on the whole practice (slow) ...", file=sys.stderr)
            c, calls = measure_peer(venv, front, schemas, args.peer_repeats)

            note = pick_note(corpus)
            client = note.parents[1]
            note_yaml = front / "session" / f"{client.name}-{note.stem}.yaml"
            print(f"one note: {note.relative_to(corpus)}, inside its client's repository ...", file=sys.stderr)
            one = _time_commands(
                {
                    "ours": [str(venv / "bin" / "ipt-notes"), "validate", str(note.relative_to(client))],
                    "peer": [
                        str(venv / "bin" / "check-jsonschema"),
                        "--schemafile",
                        str(schemas["session"]),
                        str(note_yaml),
                    ],
                },
                args.runs,
                work,
                env,
                client,
            )
            print("start-up ...", file=sys.stderr)
            python = str(venv / "bin" / "python")
            minimal = str(HERE / "minimal_typer_app.py")
            start = _time_commands(
                {
                    "ours --help": [str(venv / "bin" / "ipt-notes"), "--help"],
                    "minimal --help": [python, minimal, "--help"],
                    "ours --version": [str(venv / "bin" / "ipt-notes"), "--version"],
                    "minimal --version": [python, minimal, "--version"],
                },
                args.runs,
                work,
                env,
                client,
            )
    except BenchError as error:
        print(f"bench_validate: {error}", file=sys.stderr)
        return 1

    versions = _versions(venv)
    measures = [
        a,
        b,
        c,
        Measure(
            "One note: ipt-notes validate sessions/NN.md, in its client",
            "cd clients/ID && ipt-notes validate sessions/NN.md",
            one["ours"],
        ),
        Measure(
            "One note: check-jsonschema on its front matter",
            "check-jsonschema --schemafile session.json NOTE.yaml",
            one["peer"],
        ),
        Measure("ipt-notes --help", "ipt-notes --help", start["ours --help"]),
        Measure("minimal Typer app --help", "python benchmarks/minimal_typer_app.py --help", start["minimal --help"]),
        Measure("ipt-notes --version", "ipt-notes --version", start["ours --version"]),
        Measure(
            "minimal Typer app --version",
            "python benchmarks/minimal_typer_app.py --version",
            start["minimal --version"],
        ),
    ]
    ratios = [
        Ratio(name, value, TARGETS[name])
        for name, value in (
            ("A/B", a.median / b.median),
            ("C/A", c.median / a.median),
            ("one note: ours/peer", measures[3].median / measures[4].median),
            ("--help: ours/minimal", measures[5].median / measures[6].median),
            ("--version: ours/minimal", measures[7].median / measures[8].median),
        )
    ]
    today, nproc = common.run_stamp()
    built = f"built in {facts['build_s']:.0f} s" if facts["how"] == "built" else "reused"
    header = [
        f"Run {today}; nproc {nproc}; load average {load_before} at the start, {common.load()} at the end; "
        f"Python {versions['Python']} (libyaml: {versions['libyaml']}).",
        common.packages_line(
            versions, REPORTED_PACKAGES, f"; hyperfine {versions['hyperfine']}" if "hyperfine" in versions else ""
        ),
        f"Practice ({built}): {n_clients} clients, each a git repository of its own ({commits} commits in all, "
        f"every note drafted, then signed, and committed), {n_files} notes files "
        f"({len(by_kind['session'])} session notes), {n_bytes / 1e6:.1f} MB; the floor parsed {parsed} files "
        f"and listed {trees} trees.",
        f"A and B: {args.repeats} timed runs each, after one untimed run, alternating. "
        f"C: {args.peer_repeats} run(s) of {sum(calls.values())} check-jsonschema calls, one per kind. "
        f"One note and start-up: {args.runs}+ runs each (hyperfine -N, 3 warm-ups, 3 alternating rounds). "
        "Medians of wall-clock time.",
    ]
    payload = {
        "date": today,
        "nproc": nproc,
        "versions": versions,
        "corpus": {
            "path": str(corpus),
            "how": facts["how"],
            "build_s": facts.get("build_s"),
            "commits": commits,
            "floor_trees": trees,
            "clients": n_clients,
            "files": n_files,
            "bytes": n_bytes,
            "files_by_kind": {k: len(v) for k, v in by_kind.items()},
            "floor_parsed": parsed,
        },
        "repeats": args.repeats,
        "peer_repeats": args.peer_repeats,
        "peer_calls": calls,
        "runs": args.runs,
        "one_note": str(note.relative_to(corpus)),
        "measures": {m.label: m.as_json() for m in measures},
        "ratios": {r.name: r.as_json() for r in ratios},
    }
    common.publish(header, [common.measures_table(measures, ratios)], started, args.json_out, payload, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())

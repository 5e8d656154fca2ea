"""GitPython against the git command line, for the reads ipt-notes makes of many client repositories.

Whole-practice `validate` reads HEAD's tree of every client (to compare signed notes with their
committed versions), and `verify` reads every version of every note. This script times, over N
client repositories made from the example course, in one run:

- listing HEAD's blobs: one `git ls-tree -r HEAD` per client (what ipt-notes does), against
  GitPython's default object database (`GitCmdObjectDB`, which keeps `git cat-file` processes per
  repository) and against its pure-Python `GitDB` backend, which GitPython itself deprecates
  "due to security and performance issues";
- reading every blob at HEAD: `ls-tree` + one `git cat-file --batch` per client, against GitPython;
- importing GitPython, in a fresh interpreter.

Each figure is the median of `--rounds` rounds, in milliseconds per client. Run it with an
interpreter that has GitPython installed (the `bench` extra):

    python benchmarks/bench_gitpython.py --clients 100 --rounds 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from common import bench_env

EXAMPLE = Path(__file__).parents[1] / "tests" / "examples" / "valid" / "clients" / "C-0001"


def make_clients(folder: Path, count: int) -> list[Path]:
    clients = []
    for number in range(count):
        client = folder / f"C-{number:04d}"
        shutil.copytree(EXAMPLE, client)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "notes"]):
            subprocess.run(["git", *args], cwd=client, env=bench_env(), check=True)
        clients.append(client)
    return clients


def ls_tree(client: Path) -> dict[bytes, bytes]:
    out = subprocess.run(["git", "ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=client, capture_output=True).stdout
    return {entry.split(b"\t")[1]: entry.split()[2] for entry in out.split(b"\0") if entry}


def ls_tree_and_cat_file(client: Path) -> dict[bytes, bytes]:
    blobs = ls_tree(client)
    request = b"".join(blob + b"\n" for blob in blobs.values())
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=client, input=request, capture_output=True).stdout
    assert out.count(b" blob ") >= len(blobs)
    return blobs


def gitpython_tree(client: Path, *, pure: bool = False) -> dict[str, str]:
    from git import Repo
    from git.db import GitDB

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        repository = Repo(client, odbt=GitDB) if pure else Repo(client)
    try:
        return {item.path: item.hexsha for item in repository.head.commit.tree.traverse() if item.type == "blob"}
    finally:
        repository.close()


def gitpython_blobs(client: Path) -> dict[str, bytes]:
    from git import Repo

    repository = Repo(client)
    try:
        tree = repository.head.commit.tree
        return {item.path: item.data_stream.read() for item in tree.traverse() if item.type == "blob"}
    finally:
        repository.close()


def per_client_ms(read: Callable[[Path], object], clients: list[Path], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for client in clients:
            read(client)
        times.append((time.perf_counter() - start) * 1000 / len(clients))
    return statistics.median(times)


def import_ms(rounds: int) -> tuple[float, float]:
    """Median wall time of a fresh interpreter that imports git, and of one that imports nothing."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return (time.perf_counter() - start) * 1000

    bare = statistics.median(run("pass") for _ in range(rounds))
    with_git = statistics.median(run("import git") for _ in range(rounds))
    return with_git, bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clients = make_clients(Path(folder), options.clients)
        gitpython_tree(clients[0])  # the import is measured on its own, below
        rows = [
            ("HEAD's blobs: git ls-tree (ipt-notes)", per_client_ms(ls_tree, clients, options.rounds)),
            ("HEAD's blobs: GitPython, default GitCmdObjectDB", per_client_ms(gitpython_tree, clients, options.rounds)),
            (
                "HEAD's blobs: GitPython, deprecated pure-Python GitDB",
                per_client_ms(lambda c: gitpython_tree(c, pure=True), clients, options.rounds),
            ),
            (
                "every blob: ls-tree + cat-file --batch (ipt-notes)",
                per_client_ms(ls_tree_and_cat_file, clients, options.rounds),
            ),
            ("every blob: GitPython, default GitCmdObjectDB", per_client_ms(gitpython_blobs, clients, options.rounds)),
        ]
    with_git, bare = import_ms(options.rounds)
    print(f"| read ({options.clients} clients, median of {options.rounds} rounds) | ms per client |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.2f} |")
    print(f"| import git (fresh interpreter, minus a bare start: {bare:.0f} ms) | {with_git - bare:.0f} ms once |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

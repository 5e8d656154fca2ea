#!/usr/bin/env python3
"""The floor for `ipt-notes validate`: read and parse every notes file, and nothing more.

    python benchmarks/floor_parse.py PRACTICE [--jobs 2] [--ls-tree]

Every `.yaml` and `.md` file of the practice is read (git's folders and other hidden ones are
skipped); for a Markdown note only the front matter between the `---` lines is kept; each text is
parsed with PyYAML's libyaml loader (`yaml.CSafeLoader`). With --ls-tree, `git ls-tree -r HEAD`
also runs once in every client folder that is a git repository of its own, its output read
through a pipe: what validate cannot avoid to compare signed notes with their versions at HEAD.
The files and the clients are spread over a pool of worker processes in chunks, as `ipt-notes
validate` spreads a large run over the machine's cores. No schema is checked and no problem is
reported, so no validator of these files can be faster than this by much: it is the cost of
starting Python, walking the tree, parsing the YAML and, with --ls-tree, listing HEAD.

Prints the number of files parsed (and, with --ls-tree, of trees listed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from multiprocessing import get_context

import yaml

_SKIPPED_DIRS = {"private", "node_modules", "__pycache__"}


def _front_matter(text: str) -> str:
    """The YAML of "---\n<yaml>\n---\n<body>": the part between the first two fences."""
    if not text.startswith("---\n"):
        return text
    end = text.find("\n---", 3)
    return text[4 : end + 1] if end >= 0 else text[4:]


def _parse(paths: list[str]) -> int:
    parsed = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if path.endswith(".md"):
            text = _front_matter(text)
        yaml.load(text, Loader=yaml.CSafeLoader)
        parsed += 1
    return parsed


def _list_trees(folders: list[str]) -> int:
    argv = ["git", "ls-tree", "-r", "-z", "--full-tree", "HEAD"]
    for folder in folders:
        subprocess.run(argv, cwd=folder, capture_output=True, check=True)
    return len(folders)


def _chunk(task: tuple[str, list[str]]) -> tuple[int, int]:
    what, items = task
    return (_parse(items), 0) if what == "parse" else (0, _list_trees(items))


def _walk(root: str) -> tuple[list[str], list[str]]:
    """Every notes file under `root`, and every folder that is a git repository of its own."""
    found: list[str] = []
    repositories: list[str] = []
    for current, dirs, files in os.walk(root):
        if ".git" in dirs:
            repositories.append(current)
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        found.extend(f"{current}/{name}" for name in sorted(files) if name.endswith((".yaml", ".md")))
    return found, repositories


def _chunks(what: str, items: list[str], jobs: int) -> list[tuple[str, list[str]]]:
    size = max(1, len(items) // (jobs * 4))
    return [(what, items[i : i + size]) for i in range(0, len(items), size)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="the practice (or any folder of notes)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--ls-tree", action="store_true", help="also list HEAD's tree of every client repository")
    args = parser.parse_args()
    files, repositories = _walk(args.root)
    tasks = _chunks("parse", files, args.jobs)
    if args.ls_tree:
        tasks += _chunks("ls-tree", repositories, args.jobs)
    with get_context("fork").Pool(args.jobs) as pool:
        done = pool.map(_chunk, tasks, chunksize=1)
    parsed = sum(count for count, _ in done)
    print(parsed if not args.ls_tree else f"{parsed} {sum(trees for _, trees in done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

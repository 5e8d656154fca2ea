#!/usr/bin/env python3
"""The floor for `ipt-notes validate`: read and parse every notes file, and nothing more.

    python benchmarks/floor_parse.py NOTES_REPOSITORY [--jobs 2]

Every `.yaml` and `.md` file of the repository is read; for a Markdown note only the front matter
between the `---` lines is kept; each text is parsed with PyYAML's libyaml loader
(`yaml.CSafeLoader`). The files are spread over a pool of worker processes in chunks, as
`ipt-notes validate` spreads a large run over the machine's cores. No schema is checked and no
problem is reported, so no validator of these files can be faster than this by much: it is the
cost of starting Python, walking the tree and parsing the YAML.

Prints the number of files parsed.
"""

from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import get_context

import yaml

_SKIPPED_DIRS = {".git", "private", "node_modules", "__pycache__"}


def _front_matter(text: str) -> str:
    """The YAML of "---\n<yaml>\n---\n<body>": the part between the first two fences."""
    if not text.startswith("---\n"):
        return text
    end = text.find("\n---", 3)
    return text[4 : end + 1] if end >= 0 else text[4:]


def _parse_chunk(paths: list[str]) -> int:
    parsed = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if path.endswith(".md"):
            text = _front_matter(text)
        yaml.load(text, Loader=yaml.CSafeLoader)
        parsed += 1
    return parsed


def _notes_files(root: str) -> list[str]:
    found: list[str] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        found.extend(f"{current}/{name}" for name in sorted(files) if name.endswith((".yaml", ".md")))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="the notes repository")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    files = _notes_files(args.root)
    size = max(1, len(files) // (args.jobs * 4))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    with get_context("fork").Pool(args.jobs) as pool:
        parsed = sum(pool.map(_parse_chunk, chunks, chunksize=1))
    print(parsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

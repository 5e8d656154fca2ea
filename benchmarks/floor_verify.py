#!/usr/bin/env python3
"""The floor for a whole-practice `ipt-notes verify`: the git work an audit of every client cannot avoid.

    python benchmarks/floor_verify.py PRACTICE [--jobs 2]

In every client folder that is a git repository of its own, `git fsck --full` (every object read
and checked once) then `git log --name-status` (the whole history, with the files each commit
changed), their output read through a pipe and thrown away. The clients are spread over `--jobs`
lanes (threads that each take the next client and run its two git processes one after the
other), so that `--jobs` git processes run at once, as `ipt-notes verify` spreads the clients
over the machine's cores. Nothing is parsed and nothing is checked.

Prints the number of clients audited.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COMMANDS = (["git", "fsck", "--full"], ["git", "log", "--name-status"])


def _audit(folder: Path) -> int:
    for argv in COMMANDS:
        subprocess.run(argv, cwd=folder, capture_output=True, check=True)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("practice", type=Path, help="the practice")
    parser.add_argument("--jobs", type=int, default=2, help="git processes at once (default 2)")
    args = parser.parse_args()
    clients = sorted(p for p in (args.practice / "clients").iterdir() if (p / ".git").is_dir())
    with ThreadPoolExecutor(args.jobs) as pool:
        print(sum(pool.map(_audit, clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

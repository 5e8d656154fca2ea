"""Work spread over the machine's cores: one client per task, in worker processes.

Workers are forked, so they inherit what the parent has loaded (validators, schemas) instead of
importing it again. Unlike multiprocessing.Pool, the executor reports a worker that dies instead
of waiting for it forever.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["cores", "map_parallel"]

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run_batch(function: Callable[[T], R], batch: Sequence[T]) -> list[R]:
    return [function(item) for item in batch]


def map_parallel(function: Callable[[T], R], items: Sequence[T], *, jobs: int | None = None) -> list[R]:
    """`function` over every item, in order, on up to `jobs` processes (default: every core).

    Fewer than two items, or one core, run here, since a process costs more than it saves.
    """
    jobs = cores() if jobs is None else jobs
    if jobs <= 1 or len(items) < 2:
        return [function(item) for item in items]
    import functools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    size = max(1, len(items) // (jobs * 4))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    with ProcessPoolExecutor(max_workers=min(jobs, len(batches)), mp_context=context) as pool:
        results = pool.map(functools.partial(_run_batch, function), batches)
        return [result for batch in results for result in batch]

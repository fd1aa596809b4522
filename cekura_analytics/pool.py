"""Run a function over many items on a few threads, with a bounded number in flight."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_SENTINEL: Any = object()


def bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int,
    ordered: bool = False,
) -> Iterator[R]:
    """Apply ``fn`` over ``items`` on ``workers`` threads, at most ``window`` in flight.

    Results come as they complete (or in input order with ``ordered=True``), so memory stays
    flat; items are pulled from ``items`` on the caller's thread; the first error cancels
    what is queued and is raised.
    """
    it = iter(items)
    with ThreadPoolExecutor(min(window, workers), thread_name_prefix="cekura") as pool:
        pending: dict[Future[R], int] = {}
        seq = 0
        for item in it:
            pending[pool.submit(fn, item)] = seq
            seq += 1
            if len(pending) >= window:
                break
        buffered: dict[int, R] = {}
        next_out = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                idx = pending.pop(fut)
                try:
                    result = fut.result()
                except BaseException:
                    for other in pending:
                        other.cancel()
                    raise
                if ordered:
                    buffered[idx] = result
                else:
                    yield result
                item_next = next(it, _SENTINEL)
                if item_next is not _SENTINEL:
                    pending[pool.submit(fn, item_next)] = seq
                    seq += 1
            while ordered and next_out in buffered:
                yield buffered.pop(next_out)
                next_out += 1

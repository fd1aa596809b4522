"""Full runs -> the frames a sync commits, in this process or in a worker process.

Building rows is the CPU of an extract beyond the network: decoding each run's JSON,
validating it (pydantic builds every transcript turn and metric item) and making the rows,
about 0.6 ms a run against some 0.3 ms for its requests. Under one GIL none of it overlaps
the requests, so a large window hands it to a worker process (:class:`Builder`): the
request threads pass the bulk bodies undecoded, the worker returns the two frames and
what the sync needs of each run (id, status, listed timestamp is not needed: the listing
gave it), and the commits stay on the sync's thread, as before. Both ways run
:func:`build_runs`, so the tables are the same; a shape warning raised in the worker is
replayed in this process (one warning per field per sync, as before).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..api import models as m
from ..api.client import decode_json
from ..errors import ResponseError
from . import rows

#: a window with at least this many runs to fetch builds their rows in a worker process
#: (starting one costs about a second of imports)
PROCESS_MIN_RUNS = 5000


@dataclass
class Built:
    """The rows of a batch of full runs, and what the sync keeps of each run."""

    runs: pl.DataFrame
    run_metrics: pl.DataFrame
    #: (id, status) of each run, in order
    runs_seen: list[tuple[int | None, str | None]]
    #: shape notes (what, field, value) to replay on the sync's ShapeLog
    notes: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def ids(self) -> set[int]:
        """The distinct run ids of the batch."""
        return {i for i, _ in self.runs_seen if i is not None}


class _Recorder(m.ShapeLog):
    """A ShapeLog that records notes for the caller's log instead of warning itself."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, str, Any]] = []

    def note(self, what: str, field: str, value: Any) -> None:
        """Keep the note (the caller's ShapeLog counts and warns)."""
        self.notes.append((what, field, value))


def build_runs(raw: list[Any], what: str) -> Built:
    """Validate full runs (a JSON array's items) and make their rows."""
    shapes = _Recorder()
    runs = m.parse_items(m.Run, raw, what=what, shapes=shapes)
    runs_df, metrics_df = rows.run_frames(runs)
    return Built(runs_df, metrics_df, [(r.id, r.status) for r in runs], shapes.notes)


class NotAnArray(Exception):
    """A bulk body the worker could not read as a JSON array (read it again in-process)."""


def build_bodies(bodies: list[bytes], what: str) -> Built:
    """:func:`build_runs` over undecoded ``runs/bulk/`` bodies (the worker's entry)."""
    raw: list[Any] = []
    for body in bodies:
        try:
            items = decode_json(body, what)
        except (ValueError, ResponseError):
            raise NotAnArray from None
        if not isinstance(items, list):
            raise NotAnArray
        raw.extend(items)
    return build_runs(raw, what)


def merge(parts: list[Built]) -> Built:
    """One batch of several (a commit's pages)."""
    if len(parts) == 1:
        return parts[0]
    return Built(
        pl.concat([p.runs for p in parts]),
        pl.concat([p.run_metrics for p in parts]),
        [s for p in parts for s in p.runs_seen],
        [n for p in parts for n in p.notes],
    )


def empty() -> Built:
    """A batch without runs."""
    return build_runs([], "")


def _orphan_watch(parent: int) -> None:
    """In the worker: exit as soon as the sync's process is gone (killed with -9, say), so
    no worker outlives it (the pool's own pipes only tell a worker that is waiting)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


class Builder:
    """Builds rows in one worker process (started on first use, stopped by :meth:`close`)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def bodies(self, bodies: list[bytes], what: str) -> Built:
        """:func:`build_bodies` in the worker (raises :class:`NotAnArray` from there)."""
        if self._pool is None:
            # spawn: the sync's threads and delta-rs's runtime must not be forked
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_orphan_watch,
                initargs=(os.getpid(),),
            )
        return self._pool.submit(build_bodies, bodies, what).result()

    def close(self) -> None:
        """Stop the worker (work not yet started is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


__all__ = ["PROCESS_MIN_RUNS", "Builder", "Built", "NotAnArray", "build_runs", "merge"]

"""API → Delta tables: incremental, resumable, concurrent; nothing lost, nothing duplicated.

A sync works in a window ``[lower, upper]`` of run timestamps. ``upper`` is fixed when the
sync starts (runs arriving meanwhile fall outside it and wait for the next sync, so page
numbers do not drift); ``lower`` is the previous watermark minus a small overlap. List pages
are fetched concurrently once page 1 gives ``count``; each page's full runs come from
``runs/bulk/`` in batches of 100, and the page is committed with the sync state in the
same ``runs`` Delta commit (see :mod:`.store`).
A sync that dies resumes the same window and skips the pages it committed. Runs not yet
terminal are remembered and fetched again by id on later syncs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from tqdm.auto import tqdm

from . import models as m
from . import rows
from .client import MAX_PAGE_SIZE, CekuraClient
from .config import load_settings
from .errors import ConfigError
from .store import Store
from .tables import TERMINAL_STATUSES

OVERLAP = timedelta(hours=1)
RUNS_PATH = "/runs/"


@dataclass
class ExtractSummary:
    """What one ``extract`` call did."""

    data_dir: Path | str
    rows: dict[str, int]
    runs_fetched: int = 0
    runs_skipped: int = 0
    pending_refetched: int = 0
    pending_left: int = 0
    resumed: bool = False
    window: tuple[str | None, str] = (None, "")
    requests: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    batches_merged: int = 0
    runs_repaired: int = 0

    @property
    def total_requests(self) -> int:
        """All HTTP requests made."""
        return sum(self.requests.values())

    def __str__(self) -> str:
        lower, upper = self.window
        lines = [
            f"extracted into {self.data_dir} in {self.elapsed_s:.1f} s "
            f"({self.total_requests} requests{', resumed' if self.resumed else ''})",
            f"  window: {lower or 'beginning'} .. {upper}",
            f"  runs fetched: {self.runs_fetched}, already stored: {self.runs_skipped}, "
            f"re-fetched unfinished: {self.pending_refetched}, still unfinished: "
            f"{self.pending_left}",
        ]
        if self.runs_repaired:
            lines.append(f"  runs fetched again to repair damaged files: {self.runs_repaired}")
        for table, n in sorted(self.rows.items()):
            lines.append(f"  {table:<14} {n:>9,} rows")
        return "\n".join(lines)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_since(since: str | datetime | None) -> datetime | None:
    if since is None or isinstance(since, datetime):
        return since.astimezone(UTC) if isinstance(since, datetime) else None
    try:
        ts = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since {since!r} is not an ISO date: use e.g. 2026-06-01 or 2026-06-01T12:00Z"
        ) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _progress(total: int, quiet: bool, desc: str) -> Any:
    """A tqdm bar on a terminal or in a notebook; nothing when quiet or piped."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(total=total, desc=desc, unit="run", disable=quiet or not interactive)


class _RunSync:
    """One sync of the runs table (state lives in the store; this holds the loop)."""

    def __init__(self, client: CekuraClient, store: Store, page_size: int, quiet: bool):
        self.client, self.store, self.page_size, self.quiet = client, store, page_size, quiet
        self.fetched = self.skipped = self.batches_merged = 0
        self.pending_at_start = set(store.state.pending_run_ids)
        self.refreshed: set[int | None] = set()

    def fetch_full(self, ids: list[int]) -> list[m.Run]:
        """Full runs for ``ids`` (bulk, concurrent), validated."""
        raw = self.client.bulk_runs(ids)
        return list(m.parse(list[m.Run], raw, what="GET /runs/bulk/"))

    def commit(self, runs: list[m.Run], update: dict[str, Any]) -> None:
        """Write a batch and the state fields that describe it, as one commit."""
        pending = set(self.store.state.pending_run_ids)
        for r in runs:
            if r.id is None:
                continue
            if r.status in TERMINAL_STATUSES:
                pending.discard(r.id)
            else:
                pending.add(r.id)
        runs_df, metrics_df = rows.run_frames(runs)
        update = {**update, "pending_run_ids": sorted(pending)}
        self.store.upsert_runs(runs_df, metrics_df, update=update)
        self.refreshed |= {r.id for r in runs if r.id in self.pending_at_start}
        self.batches_merged += self.store.compact()  # only when small files piled up

    def run_window(
        self, scope: str, params: dict[str, Any], window: dict[str, Any], skip_stored: bool
    ) -> None:
        """Fetch every page of the window not yet committed, committing page by page."""
        st = self.store.state
        base = {**params, "timestamp__lte": window["upper"]}
        if window.get("lower"):
            base["timestamp__gte"] = window["lower"]
        first = self.client.get(RUNS_PATH, {**base, "page": 1, "page_size": self.page_size})
        count = int(first["count"])
        if window.get("count") not in (None, count):
            window["pages_done"] = []  # rows vanished inside the window: redo it (deduped)
        window["count"] = count
        done = set(window.get("pages_done", []))
        bar = _progress(count, self.quiet, "runs")
        bar.update(min(count, len(done) * self.page_size))

        pages = self.client.iter_pages_concurrently(
            RUNS_PATH, base, self.page_size, skip=done, first=first
        )

        def triage() -> Iterator[tuple[int, list[int], int]]:
            # Runs on this thread (map_concurrently pulls items here), so the lookup reads
            # the same snapshot object the commits update.
            for page_no, page in pages:
                listed = m.parse(list[m.RunList], page["results"], what="GET /runs/")
                ids = [r.id for r in listed if r.id is not None]
                keep = ids
                if skip_stored:
                    stored = self.store.stored_run_ids(ids) - set(st.pending_run_ids)
                    keep = [i for i in ids if i not in stored]
                yield page_no, keep, len(ids) - len(keep)

        def work(item: tuple[int, list[int], int]) -> tuple[int, list[m.Run], int]:
            page_no, keep, skipped = item
            return page_no, self.fetch_full(keep) if keep else [], skipped

        # Each page's bulk batches run concurrently on the client's slots; a few pages are
        # in flight at once; commits stay on this thread, one page at a time.
        for page_no, runs, skipped in self.client.map_concurrently(work, triage(), window=3):
            done.add(page_no)
            window["pages_done"] = sorted(done)
            self.commit(runs, {"in_progress": {**window, "scope": scope}})
            self.fetched += len(runs)
            self.skipped += skipped
            bar.update(len(runs) + skipped)
        bar.close()


def extract(
    data_dir: str | Path,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    since: str | datetime | None = None,
    full: bool = False,
    agent_id: int | None = None,
    project_id: int | None = None,
    quiet: bool = False,
    concurrency: int = 8,
    page_size: int = MAX_PAGE_SIZE,
    client: CekuraClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    repair: bool = False,
) -> ExtractSummary:
    """Sync runs (with evaluations and transcripts) and the reference tables into Delta
    tables; ``repair`` first takes unreadable data files out and fetches their runs again."""
    started = time.monotonic()
    lower_bound = _parse_since(since)
    own_client = client is None
    client = client or CekuraClient(load_settings(base_url, api_key), concurrency=concurrency)
    try:
        with Store(data_dir, lock=True) as store:
            repaired = _repair(client, store, page_size, quiet) if repair else 0
            summary = _sync(
                client, store, lower_bound, full, agent_id, project_id, quiet, page_size, now
            )
            summary.runs_repaired = repaired
    finally:
        if own_client:
            client.close()
    summary.requests = dict(client.requests_made)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _sync(
    client: CekuraClient,
    store: Store,
    since: datetime | None,
    full: bool,
    agent_id: int | None,
    project_id: int | None,
    quiet: bool,
    page_size: int,
    now: Callable[[], datetime],
) -> ExtractSummary:
    st = store.state
    params = {"agent_id": agent_id, "project_id": project_id}
    scope = ",".join(f"{k}={v}" for k, v in params.items() if v is not None) or "all"
    ip = st.in_progress
    resumed = bool(
        ip
        and ip.get("scope") == scope
        and ip.get("full") == full
        and ip.get("since") == (since and _iso(since))
    )
    if resumed:
        assert ip is not None
        window = {k: v for k, v in ip.items() if k != "scope"}
        page_size = int(window["page_size"])
    else:
        watermark = st.scopes.get(scope, {}).get("watermark")
        lower = since
        if watermark and not full:
            wm = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - OVERLAP
            lower = max(lower, wm) if lower else wm
        window = {
            "upper": _iso(now()),
            "lower": lower and _iso(lower),
            "page_size": page_size,
            "full": full,
            "since": since and _iso(since),
            "pages_done": [],
        }
        st.in_progress = {**window, "scope": scope}
        store.save_state()
    sync = _RunSync(client, store, page_size, quiet)
    sync.run_window(scope, params, window, skip_stored=not full)

    # Runs that were still running last time: fetch them again by id, whatever their age.
    pending = [
        i for i in st.pending_run_ids if i in sync.pending_at_start and i not in sync.refreshed
    ]
    refreshed = sync.fetch_full(pending) if pending else []
    gone = set(pending) - {r.id for r in refreshed}  # deleted upstream: stop asking
    st.pending_run_ids = [i for i in st.pending_run_ids if i not in gone]
    sync.commit(refreshed, {})

    for table, fetch in _REFERENCE.items():
        store.replace_table(table, fetch(client))
    merged = sync.batches_merged + store.compact()
    st.scopes[scope] = {"watermark": window["upper"], "synced_at": _iso(now())}
    st.in_progress = None
    st.last_sync = {"finished_at": _iso(now()), "scope": scope, "runs_fetched": sync.fetched}
    store.save_state()
    return ExtractSummary(
        data_dir=store.root,
        rows=store.row_counts(),
        runs_fetched=sync.fetched,
        runs_skipped=sync.skipped,
        pending_refetched=len(refreshed),
        pending_left=len(st.pending_run_ids),
        resumed=resumed,
        window=(window.get("lower"), window["upper"]),
        batches_merged=merged,
    )


def _repair(client: CekuraClient, store: Store, page_size: int, quiet: bool) -> int:
    """Take unreadable files out of their tables; fetch the runs they held again.

    Which runs: the Delta log's statistics of each damaged file give its run_id range and,
    for ``runs`` files, its timestamp range; the runs listed in that window within that id
    range (and, for ``run_metrics`` files, the stored runs in the id range) are fetched again
    by id and upserted. Reference tables are replaced by the sync that follows anyway.
    """
    from .upkeep import drop_damaged

    damage = drop_damaged(store)
    if not damage:
        return 0
    wanted: set[int] = set()
    in_ranges = pl.any_horizontal(
        [pl.col("run_id").is_between(lo, hi) for lo, hi in damage.run_ranges] or [pl.lit(False)]
    )
    wanted |= set(store.read("runs", columns=["run_id"]).filter(in_ranges)["run_id"].to_list())
    for t0, t1 in damage.time_ranges:
        # the log keeps timestamps to the millisecond: widen so the bounds' runs are listed
        slack = timedelta(seconds=1)
        params = {"timestamp__gte": _iso(t0 - slack), "timestamp__lte": _iso(t1 + slack)}
        for _, page in client.iter_pages_concurrently(RUNS_PATH, params, page_size):
            for r in m.parse(list[m.RunList], page["results"], what="GET /runs/"):
                if r.id is not None and any(lo <= r.id <= hi for lo, hi in damage.run_ranges):
                    wanted.add(r.id)
    sync = _RunSync(client, store, page_size, quiet)
    ids = sorted(wanted)
    for i in range(0, len(ids), page_size):  # one commit per page-sized batch
        sync.commit(sync.fetch_full(ids[i : i + page_size]), {})
    return len(ids)


def _paged(client: CekuraClient, path: str, model: Any) -> list[Any]:
    items: list[Any] = []
    pages = client.iter_pages_concurrently(path, None, MAX_PAGE_SIZE)
    for _, page in sorted(pages, key=lambda p: p[0]):
        items.extend(m.parse(list[model], page["results"], what=f"GET {path}"))
    return items


def _plain(client: CekuraClient, path: str, model: Any) -> list[Any]:
    return list(m.parse(list[model], client.get(path), what=f"GET {path}"))


def _dedupe(items: list[Any]) -> list[Any]:
    """Keep the last object per id: paging a table that changes can repeat an item."""
    return list({i.id: i for i in items}.values())


_REFERENCE: dict[str, Callable[[CekuraClient], Any]] = {
    "scenarios": lambda c: rows.frame(
        "scenarios",
        [rows.scenario_row(s) for s in _dedupe(_paged(c, "/scenarios/", m.ScenarioList))],
    ),
    "personalities": lambda c: rows.frame(
        "personalities",
        [rows.personality_row(p) for p in _dedupe(_plain(c, "/personalities/", m.Personality))],
    ),
    "metrics": lambda c: rows.frame(
        "metrics", [rows.metric_def_row(x) for x in _dedupe(_plain(c, "/metrics/", m.Metric))]
    ),
    "results": lambda c: rows.frame(
        "results", [rows.result_row(r) for r in _dedupe(_paged(c, "/results/", m.Result))]
    ),
    "agents": lambda c: rows.frame(
        "agents", [rows.agent_row(a) for a in _dedupe(_paged(c, "/aiagents/", m.Agent))]
    ),
}

"""API → Delta tables: incremental, resumable, concurrent; nothing lost, nothing duplicated.

A sync works in a window ``[lower, upper]`` of run timestamps. ``upper`` is fixed when the
sync starts and comes from the *server's* clock (the ``Date`` of its first answer), never
this machine's: a client clock hours ahead would otherwise set a watermark past runs not yet
made. Runs arriving meanwhile fall outside the window and wait for the next sync, so page
numbers do not drift. ``lower`` is the previous watermark minus a small overlap, which makes
a late clock or a run written late harmless. The watermark a completed window leaves is the
newest run timestamp it listed (never past ``upper``): the safer of the two bounds. A skew of
more than :data:`CLOCK_SKEW` between the clocks is warned about; a stored watermark ahead of
the server (left by an older version trusting a wrong clock) is pulled back, so a window is
never inverted.

List pages are fetched concurrently once page 1 gives ``count``; each page's full runs come
from ``runs/bulk/`` in batches of 100, and whole pages (about ``COMMIT_RUNS`` runs) are
committed with the sync state that lists them in the same ``runs`` Delta commit (see
:mod:`.store`). A sync that dies resumes the same window: it lists the window again and
fetches only what is not stored. Runs not yet terminal are remembered and fetched again by id
on later syncs.

Nothing is lost to paging: a window is complete when the *distinct* run ids listed cover the
server's ``count`` (:class:`~cekura_analytics.api.client.Listing`); ids repeated across pages,
runs inserted mid-sync or a ``next`` link past the planned pages make the window be walked
again. Walks that never settle (a server whose order of ties changes on every request) are
followed by a listing in time slices that each fit on one page (no page boundary, so
nothing to repeat or skip), whose missing ids are fetched by id. A window still short fails
naming the numbers, its watermark not advanced, so the next sync retries it.

Objects with a field of an unexpected type are kept (the raw value in ``extra_json``) and
warned about once per field per sync.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from tqdm.auto import tqdm

from ..api import models as m
from ..api.client import MAX_PAGE_SIZE, CekuraClient, Listing, origin
from ..config import load_settings
from ..defaults import EXTRACT_CONCURRENCY
from ..errors import CekuraError, ConfigError, StoreError
from ..scope import Scope, known_agents_text
from . import build, rows
from .maintenance import drop_damaged, open_writer
from .store import Store
from .tables import is_terminal

OVERLAP = timedelta(hours=1)
#: a difference between this machine's clock and the server's worth a warning
CLOCK_SKEW = timedelta(minutes=5)
#: Runs per commit during a sync (whole pages; a crash redoes at most this many).
COMMIT_RUNS = 1000
RUNS = "runs/"
log = logging.getLogger(__name__)


@dataclass
class ExtractSummary:
    """What one ``extract`` call did."""

    data_dir: Path | str
    rows: dict[str, int]
    runs_fetched: int = 0
    runs_listed: int = 0
    runs_repeated: int = 0
    runs_skipped: int = 0
    pending_refetched: int = 0
    pending_left: int = 0
    resumed: bool = False
    window: tuple[str | None, str] = (None, "")
    requests: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    batches_merged: int = 0
    runs_repaired: int = 0
    api_version: str | None = None
    #: ``"<endpoint>: <field>" -> values kept raw`` (unexpected types, warned once each)
    shapes: dict[str, int] = field(default_factory=dict)
    #: the API origin the data came from
    server: str | None = None
    #: ``--since`` reached before what the earlier syncs covered: the gap was listed too
    backfilled_from: str | None = None

    @property
    def total_requests(self) -> int:
        """All HTTP requests made."""
        return sum(self.requests.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain values (``extract --json``), the total of requests included."""
        out = asdict(self)
        out["data_dir"] = str(self.data_dir)
        out["total_requests"] = self.total_requests
        return out


def progress_bar(total: int, desc: str, unit: str, *, quiet: bool = False) -> Any:
    """The one progress bar: tqdm on a terminal or in a notebook, nothing when quiet or piped."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet or not interactive)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(ts: str | None) -> datetime | None:
    """An ISO timestamp from the state (``Z`` or an offset; naive means UTC)."""
    if not ts:
        return None
    out = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return out if out.tzinfo else out.replace(tzinfo=UTC)


class _RunSync:
    """One sync of the runs table (state lives in the store; this holds the loop)."""

    def __init__(
        self,
        client: CekuraClient,
        store: Store,
        page_size: int,
        quiet: bool,
        shapes: m.ShapeLog,
        commit_runs: int = COMMIT_RUNS,
    ):
        self.client, self.store, self.page_size, self.quiet = client, store, page_size, quiet
        self.commit_runs = commit_runs
        self.shapes = shapes
        self.fetched = self.skipped = self.batches_merged = 0
        #: run ids handed to a fetch in this sync: a run listed twice is fetched once
        self.claimed: set[int] = set()
        self.pending_at_start = set(store.state.pending_run_ids)
        self.refreshed: set[int | None] = set()
        #: the worker process that builds rows, for a large window (see run_window)
        self.builder: build.Builder | None = None

    def fetch_full(self, ids: list[int]) -> build.Built:
        """Full runs for ``ids`` (bulk, concurrent), validated, as the rows to commit."""
        what = f"GET {self.client.read_path('runs/bulk/')}"
        built = None
        if self.builder is not None and self.client.resolved_version:
            try:
                built = self.builder.bodies(self.client.bulk_bodies(ids), what)
            except build.NotAnArray:
                built = None  # read again here: retried, and the one-line error if it stays
        if built is None:
            built = build.build_runs(self.client.bulk_runs(ids), what)
        for what_, name, value in built.notes:
            self.shapes.note(what_, name, value)
        return built

    def commit(self, built: build.Built, update: dict[str, Any]) -> None:
        """Write a batch and the state fields that describe it, as one commit."""
        pending = set(self.store.state.pending_run_ids)
        for run_id, status in built.runs_seen:
            if run_id is None:
                continue
            if is_terminal(status):
                pending.discard(run_id)
            else:
                pending.add(run_id)
        update = {**update, "pending_run_ids": sorted(pending)}
        self.store.upsert_runs(built.runs, built.run_metrics, update=update)
        self.refreshed |= {i for i in built.ids if i in self.pending_at_start}
        self.batches_merged += self.store.compact()  # only when small files piled up

    def close(self) -> None:
        """Stop the row-building worker, if one was started."""
        if self.builder is not None:
            self.builder.close()
            self.builder = None

    def run_window(
        self, scope: str, params: dict[str, Any], window: dict[str, Any], skip_stored: bool
    ) -> Listing:
        """List the window until its distinct ids cover ``count``, fetching and committing
        (in batches of pages) every run not stored yet; raise when it stays short."""
        st = self.store.state
        upper = _parse(window["upper"])
        assert upper is not None
        base = {**params, "timestamp__lte": window["upper"]}
        if window.get("lower"):
            base["timestamp__gte"] = window["lower"]
        listing = self.client.listing(RUNS, base, self.page_size)
        first = listing.first()
        count = int(first["count"])
        if window.get("count") not in (None, count):
            window["pages_done"] = []  # rows came or went inside the window: all pages anew
        window["count"] = count
        done = set(window.get("pages_done", []))
        newest = [_parse(window.get("newest"))]
        bar = progress_bar(count, "runs", "run", quiet=self.quiet)
        if count >= build.PROCESS_MIN_RUNS and self.builder is None:
            self.builder = build.Builder()  # rows built beside the requests, not between
        what = f"GET {self.client.read_path(RUNS)}"

        def triage(pages: Any, record: bool) -> Iterator[tuple[int, list[int], int]]:
            # Runs on this thread (map_concurrently pulls items here), so the lookup reads
            # the same snapshot object the commits update. A page committed by an earlier
            # process, and every page of a re-walk, fetches only what is not stored.
            for page_no, page in pages:
                listed = m.parse_items(m.RunList, page["results"], what=what, shapes=self.shapes)
                for r in listed:
                    ts = r.timestamp
                    if ts is not None:
                        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
                        if ts <= upper and (newest[0] is None or ts > newest[0]):
                            newest[0] = ts
                ids = [r.id for r in listed if r.id is not None]
                keep = [i for i in ids if i not in self.claimed]
                if skip_stored or not record or page_no in done:
                    stored = self.store.stored_run_ids(keep) - set(st.pending_run_ids)
                    keep = [i for i in keep if i not in stored]
                keep = list(dict.fromkeys(keep))
                self.claimed.update(keep)
                yield page_no, keep, len(ids) - len(keep)

        def work(item: tuple[int, list[int], int]) -> tuple[int, build.Built, int]:
            page_no, keep, skipped = item
            return page_no, self.fetch_full(keep) if keep else build.empty(), skipped

        def run(pages: Any, record: bool) -> None:
            # Each page's bulk batches run concurrently on the client's slots; commits stay
            # on this thread, in batches of about `commit_runs` runs: a Delta commit costs
            # ~20 ms whatever its size, so one per 100-run page was a third of the sync. A
            # page counts as done only in the commit that holds its runs, so a crash redoes
            # at most one batch.
            batch: list[build.Built] = []
            batch_pages: list[int] = []

            def flush() -> None:
                if record:
                    done.update(batch_pages)
                    window["pages_done"] = sorted(done)
                window["newest"] = newest[0] and _iso(newest[0])
                self.commit(build.merge(batch), {"in_progress": {**window, "scope": scope}})
                batch.clear()
                batch_pages.clear()

            # As many pages in flight as request slots: a capped server sends 100-run pages,
            # one bulk request each, and 3 pages in flight left 5 of the 8 slots idle.
            try:
                for page_no, built, skipped in self.client.map_concurrently(
                    work, triage(pages, record), window=self.client.concurrency
                ):
                    batch.append(built)
                    batch_pages.append(page_no)
                    self.fetched += len(built.ids)
                    self.skipped += skipped
                    bar.update(len(built.runs_seen) + skipped)
                    if sum(len(b.runs_seen) for b in batch) >= self.commit_runs:
                        flush()
            except CekuraError as exc:
                # the server failed mid-window: keep the runs already fetched (the window
                # stays open all the same); a store that failed is not written to again
                if batch_pages and not isinstance(exc, StoreError):
                    flush()
                raise
            if batch_pages:
                flush()

        for walk, pages in enumerate(listing.passes(first, window=self.client.concurrency)):
            if walk:
                bar.total = (bar.total or 0) + count  # a re-walk lists the window again
            run(pages, record=walk == 0)
        if listing.short:  # walks that never settle: list by time, one page per slice
            log.warning(
                "%s: %d distinct runs of count=%d after %d walks; listing the window in time "
                "slices that each fit on one page",
                what,
                listing.distinct,
                listing.count,
                listing.walks,
            )
            run(listing.slices(_parse(window.get("lower")), upper), record=False)
        bar.close()
        listing.check()  # still short: the window stays open, its watermark unmoved
        window["newest"] = newest[0] and _iso(newest[0])
        return listing


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
    concurrency: int = EXTRACT_CONCURRENCY,
    page_size: int = MAX_PAGE_SIZE,
    commit_runs: int = COMMIT_RUNS,
    api_version: str = "auto",
    client: CekuraClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    repair: bool = False,
    force: bool = False,
) -> ExtractSummary:
    """Sync runs (with evaluations and transcripts) and the reference tables into Delta
    tables; ``repair`` first takes unreadable data files out and fetches their runs again.

    A ``since`` before what earlier syncs covered backfills the gap; one in the future, or an
    ``agent_id`` the server does not know, is a :class:`ConfigError`. The data dir records the
    server (origin) and the projects its data came from, and refuses another's unless
    ``force``.
    """
    started = time.monotonic()
    scope = Scope.of(since, agent_id)
    lower_bound, agent_id = scope.since, scope.agent_id
    if lower_bound is not None and lower_bound > now() + CLOCK_SKEW:
        raise ConfigError(
            f"--since {_iso(lower_bound)} is in the future (now {_iso(now())}): no run can be "
            "that new; give a date in the past"
        )
    own_client = client is None
    client = client or CekuraClient(
        load_settings(base_url, api_key), concurrency=concurrency, api_version=api_version
    )
    try:
        with open_writer(data_dir) as store:
            if client.api_version == "auto" and client.resolved_version is None:
                client.resolved_version = store.state.api_version  # what auto settled on
            repaired = _repair(client, store, page_size, quiet) if repair else 0
            summary = _sync(
                client,
                store,
                lower_bound,
                full,
                agent_id,
                project_id,
                quiet,
                page_size,
                now,
                commit_runs=commit_runs,
                force=force,
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
    commit_runs: int = COMMIT_RUNS,
    force: bool = False,
) -> ExtractSummary:
    st = store.state
    params = {"agent_id": agent_id, "project_id": project_id}
    scope = ",".join(f"{k}={v}" for k, v in params.items() if v is not None) or "all"
    shapes = m.ShapeLog()
    server = server_of(client.base_url)
    # agents first: whose data this is (server, projects) and whether --agent-id exists
    agents = _REFERENCE["agents"](client, shapes)
    projects = sorted({int(p) for p in agents["project_id"].drop_nulls().to_list()})
    _check_source(store, server, projects, force)
    if agent_id is not None:
        _check_agent(client, agents, agent_id, params)
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
        window = _new_window(client, st.scopes.get(scope, {}), params, since, full, now)
        window["page_size"] = page_size
        st.in_progress = {**window, "scope": scope}
        store.save_state()
    sync = _RunSync(client, store, page_size, quiet, shapes, commit_runs)
    try:
        listing = sync.run_window(scope, params, window, skip_stored=not full)
    finally:
        sync.close()

    # Runs that were still running last time: fetch them again by id, whatever their age.
    pending = [
        i for i in st.pending_run_ids if i in sync.pending_at_start and i not in sync.refreshed
    ]
    refreshed = sync.fetch_full(pending) if pending else build.empty()
    gone = set(pending) - refreshed.ids  # deleted upstream: stop asking
    st.pending_run_ids = [i for i in st.pending_run_ids if i not in gone]
    sync.commit(refreshed, {})

    for table, fetch in _REFERENCE.items():
        store.replace_table(table, agents if table == "agents" else fetch(client, shapes))
    merged = sync.batches_merged + store.compact()
    st.api_version = client.resolved_version
    st.server = server
    st.project_ids = sorted(set(st.project_ids) | set(projects))
    # the newest run listed (never past upper), else the watermark the window started from;
    # and how far back the syncs of this scope reach ("" = from the beginning)
    covered = _covered_from(st.scopes.get(scope, {}), window)
    st.scopes[scope] = {
        "watermark": window.get("newest"),
        "synced_at": _iso(now()),
        "covered_from": covered,
    }
    st.in_progress = None
    st.last_sync = {"finished_at": _iso(now()), "scope": scope, "runs_fetched": sync.fetched}
    store.save_state()
    return ExtractSummary(
        data_dir=store.root,
        rows=store.row_counts(),
        runs_fetched=sync.fetched,
        runs_listed=listing.distinct,
        runs_repeated=listing.repeats,
        runs_skipped=sync.skipped,
        pending_refetched=len(refreshed.runs_seen),
        pending_left=len(st.pending_run_ids),
        resumed=resumed,
        window=(window.get("lower"), window["upper"]),
        batches_merged=merged,
        api_version=client.resolved_version,
        shapes=dict(shapes.seen),
        server=server,
        backfilled_from=window.get("backfill"),
    )


def server_of(base_url: str) -> str:
    """A base URL's origin as the data dir records it: ``https://api.cekura.ai:443``."""
    scheme, host, port = origin(base_url)
    return f"{scheme}://{host}:{port}"


def _check_source(store: Store, server: str, projects: list[int], force: bool) -> None:
    """The data dir holds this server's (and these projects') data, or none yet; else a
    :class:`ConfigError` unless ``force``: two servers' runs merged silently are wrong answers."""
    st = store.state
    if force:
        return
    if st.server is not None and st.server != server:
        raise ConfigError(
            f"{store.uri} holds data from {st.server}, not {server}: use another --data-dir "
            "(one per server), or pass --force to add this server's runs to it"
        )
    if st.project_ids and projects and set(projects).isdisjoint(st.project_ids):
        raise ConfigError(
            f"{store.uri} holds project(s) {', '.join(map(str, st.project_ids))}, and this API "
            f"key reads project(s) {', '.join(map(str, projects))}: use another --data-dir, or "
            "pass --force to add them"
        )


def _check_agent(
    client: CekuraClient, agents: pl.DataFrame, agent_id: int, params: dict[str, Any]
) -> None:
    """An ``--agent-id`` the server knows (its agents, or at least one run); else a one-line
    :class:`ConfigError` listing its agents, before any run is fetched."""
    if agent_id in agents["agent_id"].to_list():
        return
    if int(client.read(RUNS, {**params, "page_size": 1}).get("count") or 0) > 0:
        return  # runs of an agent the agents list leaves out (deleted, another listing)
    listed = known_agents_text(agents.select("agent_id", "agent_name").rows())
    raise ConfigError(
        f"--agent-id {agent_id}: the server at {client.base_url} has no such agent; its "
        f"agents: {listed or 'none'}"
    )


def _covered_from(scope_state: dict[str, Any], window: dict[str, Any]) -> str | None:
    """How far back this scope's syncs reach after ``window``: ``""`` from the beginning,
    an ISO time, or None when unknown (data dirs of older releases, until a backfill)."""
    lower = window.get("lower") or ""
    if not scope_state:  # the first sync of this scope covers from its lower bound
        return lower
    before = scope_state.get("covered_from")
    reached_back = bool(window.get("backfill") or window.get("full"))
    if before is None:
        return lower if reached_back else None
    if before == "" or not reached_back:
        return before
    return min(before, lower) if lower else ""


def _new_window(
    client: CekuraClient,
    scope_state: dict[str, Any],
    params: dict[str, Any],
    since: datetime | None,
    full: bool,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """A new window: ``upper`` from the server's clock, ``lower`` from the watermark.

    One light list request (``page_size=1``) reads the server's ``Date``; without one, this
    machine's clock serves, with a warning. ``newest`` starts at the previous watermark (so
    a window that lists nothing newer leaves it where it was) and is pulled back to
    ``upper`` when a wrong clock once set it in the server's future.
    """
    client.server_date = None
    client.read(RUNS, {**params, "page_size": 1})
    local = now()
    server = client.server_date
    if server is None:
        log.warning("the server sent no Date header: this machine's clock bounds the sync")
        server = local
    elif abs(local - server) > CLOCK_SKEW:
        log.warning(
            "this machine's clock is %s %s the server's: the sync window follows the server "
            "(fix the clock; local times in reports may be off)",
            _span(abs(local - server)),
            "ahead of" if local > server else "behind",
        )
    # Date names a whole second: the server's clock is within [Date, Date + 1 s), so every
    # run that exists now is in the window; a run arriving later inside it shifts the
    # pages, which the identity check catches.
    upper = server.replace(microsecond=0) + timedelta(seconds=1)
    mark = _parse(scope_state.get("watermark"))
    if mark is not None and mark > upper:
        log.warning(
            "the stored watermark %s is after the server's clock %s (set under a wrong clock): "
            "re-reading from %s",
            _iso(mark),
            _iso(upper),
            _iso(upper - OVERLAP),
        )
        mark = upper
    if since is not None and since > upper:
        raise ConfigError(
            f"--since {_iso(since)} is after the server's clock ({_iso(upper)}): no run can be "
            "that new; give a date in the past"
        )
    lower, backfill = since, None
    if mark is not None and not full:
        covered = _parse(scope_state.get("covered_from") or None)
        reaches = scope_state.get("covered_from") == "" or (
            covered is not None and since is not None and covered <= since
        )
        if since is not None and not reaches:
            # earlier than the stored syncs reach (or unknown how far): list from --since;
            # the runs already stored are listed but not fetched again
            backfill = _iso(since)
        else:
            lower = max(lower, mark - OVERLAP) if lower else mark - OVERLAP
    return {
        "upper": _iso(upper),
        "lower": lower and _iso(lower),
        "newest": mark and _iso(mark),
        "full": full,
        "since": since and _iso(since),
        "backfill": backfill,
        "pages_done": [],
    }


def _span(delta: timedelta) -> str:
    """``"2.0 h"``, ``"7 min"``: a clock difference for a message."""
    minutes = delta.total_seconds() / 60
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"


def _repair(client: CekuraClient, store: Store, page_size: int, quiet: bool) -> int:
    """Take unreadable files out of their tables; fetch the runs they held again.

    Which runs: the Delta log's statistics of each damaged file give its run_id range and,
    for ``runs`` files, its timestamp range; the runs listed in that window within that id
    range (and, for ``run_metrics`` files, the stored runs in the id range) are fetched again
    by id and upserted. Reference tables are replaced by the sync that follows anyway.
    """

    damage = drop_damaged(store)
    if not damage:
        return 0
    wanted: set[int] = set()
    in_ranges = pl.any_horizontal(
        [pl.col("run_id").is_between(lo, hi) for lo, hi in damage.run_ranges] or [pl.lit(False)]
    )
    wanted |= set(store.read("runs", columns=["run_id"]).filter(in_ranges)["run_id"].to_list())
    shapes = m.ShapeLog()
    what = f"GET {client.read_path(RUNS)}"
    for t0, t1 in damage.time_ranges:
        # the log keeps timestamps to the millisecond: widen so the bounds' runs are listed
        slack = timedelta(seconds=1)
        params = {"timestamp__gte": _iso(t0 - slack), "timestamp__lte": _iso(t1 + slack)}
        listed = m.parse_items(
            m.RunList, client.fetch_all(RUNS, params, page_size), what=what, shapes=shapes
        )
        for r in listed:
            if r.id is not None and any(lo <= r.id <= hi for lo, hi in damage.run_ranges):
                wanted.add(r.id)
    sync = _RunSync(client, store, page_size, quiet, shapes)
    ids = sorted(wanted)
    for i in range(0, len(ids), page_size):  # one commit per page-sized batch
        sync.commit(sync.fetch_full(ids[i : i + page_size]), {})
    return len(ids)


def _paged(client: CekuraClient, resource: str, model: Any, shapes: m.ShapeLog) -> list[Any]:
    """Every object of a paginated collection (checked against its count), validated."""
    return _validated(client, resource, model, shapes, client.fetch_all(resource))


def _plain(client: CekuraClient, resource: str, model: Any, shapes: m.ShapeLog) -> list[Any]:
    """Every object of a collection answered as a bare array, validated."""
    return _validated(client, resource, model, shapes, client.read(resource))


def _validated(
    client: CekuraClient, resource: str, model: Any, shapes: m.ShapeLog, raw: Any
) -> list[Any]:
    """Validate as ``model``, or as ``model[version]`` when v1 and v2 answer differently."""
    path = client.read_path(resource)  # after the read: auto may have fallen back to v1
    if isinstance(model, dict):
        model = model[path.split("/")[2]]
    return m.parse_items(model, raw, what=f"GET {path}", shapes=shapes)


def _dedupe(items: list[Any]) -> list[Any]:
    """Keep the last object per id: paging a table that changes can repeat an item."""
    return list({i.id: i for i in items}.values())


_Fetch = Callable[[CekuraClient, m.ShapeLog], Any]
_REFERENCE: dict[str, _Fetch] = {
    "scenarios": lambda c, s: rows.frame(
        "scenarios",
        [rows.scenario_row(x) for x in _dedupe(_paged(c, "scenarios/", m.ScenarioList, s))],
    ),
    "personalities": lambda c, s: rows.frame(
        "personalities",
        [rows.personality_row(p) for p in _dedupe(_plain(c, "personalities/", m.Personality, s))],
    ),
    "metrics": lambda c, s: rows.frame(
        "metrics",
        [
            rows.metric_def_row(x)
            for x in _dedupe(_plain(c, "metrics/", {"v2": m.MetricV2, "v1": m.Metric}, s))
        ],
    ),
    "results": lambda c, s: rows.frame(
        "results", [rows.result_row(r) for r in _dedupe(_paged(c, "results/", m.Result, s))]
    ),
    "agents": lambda c, s: rows.frame(
        "agents",
        [
            rows.agent_row(a)
            for a in _dedupe(_paged(c, "aiagents/", {"v2": m.AgentV2, "v1": m.Agent}, s))
        ],
    ),
}

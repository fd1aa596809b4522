"""Seeded synthetic Cekura data: a compact per-run index plus full runs generated on demand.

Shape
-----
``MockData(seed, n_runs, now)`` holds one project (id 7), 3 agents (101 Brightsmile Dental
Receptionist, 102 Northwind Solar Sales, 103 Globex Order Support), each with 3-4 agent
versions (integer history-record ids, see ``catalog.AGENTS``), 12 personalities (201-212,
languages en/es/fr/de/hi/pt), 10 metrics (301-310, every ``eval_type``) and 150 scenarios
(1001-1150, 50 per agent, each agent covering every personality). Runs (ids from 1,
contiguous) span 180 days ending at ``now`` -- longer when needed so that at least 45 days
precede the July 2026 wire migration (:data:`MIGRATION`), as an account with months of
history would have; their timestamps strictly increase with the id,
so "newest first" is "id descending". Runs are grouped in results (ids from 50001) of 5-30
consecutive runs, one agent per result, carrying the agent version in force when the result
started. ~2.5 % of runs never connect (``failed``), ~0.5 % time out, ~0.2 % are cancelled;
only the last ``min(40, n/20)`` runs can be non-terminal (``/_mock/runs/complete`` ends them).

Every per-run attribute is a function of (seed, run id) through a counter-based 32-bit hash
evaluated column-wise in polars, so any run can be regenerated alone; the index keeps only
integers (~30 bytes a run: 1 M runs ~ 30 MB) and the full JSON is built on request.

A metric's pass probability starts at ``1 - fail`` where ``fail`` = the metric's base
failure rate (3-8 %) times the planted multipliers below (capped at 90 %); the flakiness
structure then moves it between sibling scenarios (same agent and personality) without
changing their mean: most scenario x metric x version cells always pass, some always fail,
the rest flip between repeats (:func:`catalog.pass_probability`, :mod:`flaky`). A run's
``success`` is
"completed and every metric of its scenario passed" (so ``expected_outcome.score`` is 100
exactly when ``success``). Numeric / continuous scores are drawn on the passing or failing
side of the metric threshold, so "passed" == the rubric condition holds.

Planted signal (what a correct analysis must find)
--------------------------------------------------
Strong (pass rate drops from ~92 % to ~50 %):
* language **hi** (Hindi) × **Instruction Following** (304): failure ×7.
* personalities **Angry British Female** (202) and **Impatient Spanish Male** (204) ×
  **Empathy** (306): failure ×6 (other personalities ~92 % pass, these two ~52 %).
* agent **101** version **4519** (in force from 61 % to 84 % of the span, i.e. roughly days
  110-151 of 180) × **Appointment Booked** (301): failure ×9 (~55 % pass); the next version
  **4588** fixes it (×0.8, ~96 %).
Moderate:
* agent **103** × **Response Latency** (305, passes when ``score lte 2500`` ms): failure ×3.
* personality **Busy Brazilian Commuter Female** (212, street noise) × **Infrastructure
  Issues** (303): failure ×5 (~85 % pass vs ~97 %).
Subtle: language **fr** × **Clarity** (307): failure ×1.6.
No other combination has a planted effect; everything else differs only by noise.

Flaky or stable (per scenario × metric × agent version)
-------------------------------------------------------
Siblings share one pass probability p; in a fixed per-metric order of difficulty they take 1
in turn until their total is n·p, one keeps the remainder, the rest take 0 (four siblings at
95 %: 1, 1, 1, 0.8). Stable cells therefore carry the failures of the low-p groups: Hindi ×
Instruction Following (two of four siblings always fail) and version 4519 × Appointment
Booked. **Response Latency** (305) and **Empathy** (306) are left spread -- every scenario
flips, so Angry British / Impatient Spanish × Empathy is a reliability problem (~52 % in
every scenario) where Hindi × Instruction Following is a fix to find. ``GET /_mock/flaky``.

Human reviews: see :mod:`reviews` (``GET /_mock/reviews``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from . import catalog as C

FIRST_RUN_ID = 1
FIRST_RESULT_ID = 50_001
SPAN = timedelta(days=180)
#: CEK-7539: binary metric items changed form on the wire (see :mod:`wire`)
MIGRATION = datetime(2026, 7, 10, tzinfo=UTC)
PRE_MIGRATION = timedelta(days=45)  # history kept before the migration, whatever ``now``
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
M32 = 0xFFFFFFFF

#: status codes stored in the index; codes < 4 are terminal (scaling_up is never generated)
STATUSES = ("completed", "failed", "timeout", "cancelled", "running", "in_progress",
            "evaluating", "in_queue", "pending", "scaling_up")  # fmt: skip
STATUS_CODE = {s: i for i, s in enumerate(STATUSES)}
COMPLETED, FAILED, TIMEOUT, CANCELLED, FIRST_OPEN = 0, 1, 2, 3, 4

# Hash salts, one per attribute, so attributes are independent of each other.
(S_RSIZE, S_RAGENT, S_RCRON, S_GAP_IN, S_GAP_OUT, S_SCEN, S_STATUS, S_OPEN, S_OPEN_KIND,
 S_METRIC) = range(1, 11)  # fmt: skip


def _h32(x: int) -> int:
    """lowbias32 integer hash (scalar twin of :func:`_h32_s`)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    return x ^ (x >> 16)


def _h32_s(x: pl.Series) -> pl.Series:
    """lowbias32 over a UInt64 series; products stay below 2**64, so no overflow."""
    x = x ^ (x // 65536)
    x = (x * 0x7FEB352D) & M32
    x = x ^ (x // 32768)
    x = (x * 0x846CA68B) & M32
    return x ^ (x // 65536)


def hash_key(seed: int, salt: int) -> int:
    """Per-(seed, attribute) key for :func:`hash_ids`."""
    return _h32((_h32(seed & M32) + salt * 0x9E3779B9) & M32)


def hash_ids(key: int, ids: pl.Series) -> pl.Series:
    """32-bit hash of every id under ``key`` (UInt64 values < 2**32)."""
    x = _h32_s((ids.cast(pl.UInt64) ^ key) & M32)
    return _h32_s((x + key) & M32)


def hash_one(key: int, i: int) -> int:
    """Scalar twin of :func:`hash_ids` for one id."""
    return _h32((_h32((i ^ key) & M32) + key) & M32)


def unit(h: pl.Series) -> pl.Series:
    """Map 32-bit hashes to floats in [0, 1)."""
    return h.cast(pl.Float64) / 4294967296.0


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch (exact, no float rounding)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(microseconds=1)


def iso(us: int) -> str:
    """DRF-style ISO 8601 text for an epoch-microsecond value (UTC, ``Z`` suffix)."""
    return (EPOCH + timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


@dataclass
class RunQuery:
    """Parsed run-list filters; ``None`` means "no constraint". Indices are catalogue indices."""

    ts_gte: int | None = None
    ts_lte: int | None = None
    agents: list[int] | None = None
    project_ok: bool = True
    results: list[int] | None = None
    statuses: list[int] | None = None
    success: bool | None = None
    ids: list[int] | None = None
    scenarios: list[int] | None = None
    personalities: list[int] | None = None


# Static lookup series: scenario index -> personality / metric mask, p(pass) tables per metric.
_NV = len(C.VERSIONS)
_SCEN_PERS = pl.Series([s.personality_idx for s in C.SCENARIOS], dtype=pl.Int8)
_SCEN_MASK = pl.Series([sum(1 << m for m in s.metric_idx) for s in C.SCENARIOS], dtype=pl.UInt16)
_PASS_P = [
    pl.Series(
        [C.pass_probability(mi, si, vi) for si in range(len(C.SCENARIOS)) for vi in range(_NV)]
    )
    for mi in range(len(C.METRICS))
]


class MockData:
    """The synthetic dataset: catalogue, per-run index (``runs``), results and arrivals."""

    def __init__(self, seed: int = 0, n_runs: int = 1000, now: datetime | None = None) -> None:
        if n_runs < 0:
            raise ValueError("n_runs must be >= 0")
        self.seed = seed
        self.n_runs = n_runs
        if now is None:
            now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.now_us = to_us(self.now)
        span = max(SPAN, self.now - MIGRATION + PRE_MIGRATION)
        self.t0_us = self.now_us - span // timedelta(microseconds=1)
        self.lock = threading.RLock()  # /_mock mutations vs readers in other threads
        self.version = 0  # bumped on every mutation (caches key on it)
        self._keys = {s: hash_key(seed, s) for s in range(1, 11)}
        self._metric_keys = [hash_key(seed, 1000 + mi) for mi in range(len(C.METRICS))]
        # agent index -> [(global version index, start µs)], oldest first
        self.version_starts: list[list[tuple[int, int]]] = [[] for _ in C.AGENTS]
        for gi, (ai, vid) in enumerate(C.VERSIONS):
            frac = dict(C.AGENTS[ai].versions)[vid]
            start = self.t0_us + int(frac * (self.now_us - self.t0_us))
            self.version_starts[ai].append((gi, start))
        self.runs, self.results = self._build(n_runs)

    # ------------------------------------------------------------------ building
    def _result_frame(self, r0: int, sizes: pl.Series, starts: pl.Series) -> pl.DataFrame:
        """Results ``r0..r0+len(sizes)-1``: id, first run row, size, agent, cronjob flag."""
        r = pl.int_range(r0, r0 + len(sizes), dtype=pl.UInt64, eager=True)
        u = unit(hash_ids(self._keys[S_RAGENT], r))
        cuts = [sum(a.weight for a in C.AGENTS[: i + 1]) for i in range(len(C.AGENTS))]
        agent = pl.select(
            pl.when(pl.lit(u) < cuts[0]).then(0).when(pl.lit(u) < cuts[1]).then(1).otherwise(2)
        ).to_series()
        return pl.DataFrame(
            {
                "id": (r + FIRST_RESULT_ID).cast(pl.Int64),
                "start": starts.cast(pl.Int64),
                "size": sizes.cast(pl.Int64),
                "agent": agent.cast(pl.Int8),
                "cron": (hash_ids(self._keys[S_RCRON], r) % 10) < 4,
            }
        )

    def _build(self, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Build the run index and the results table for ``n`` synthetic runs."""
        rmax = n // 5 + 2
        r = pl.int_range(0, rmax, dtype=pl.UInt64, eager=True)
        sizes = 5 + hash_ids(self._keys[S_RSIZE], r) % 26
        ends = sizes.cast(pl.Int64).cum_sum()
        nres = int((ends < n).sum()) + 1 if n else 0
        ends = ends.head(nres).clip(upper_bound=n)
        starts = ends.shift(1, fill_value=0)
        res = self._result_frame(0, ends - starts, starts)
        rows = pl.int_range(0, n, dtype=pl.UInt64, eager=True)
        ids = rows + FIRST_RUN_ID
        ridx = (starts.search_sorted(rows.cast(pl.Int64), side="right") - 1).cast(pl.Int64)
        first = rows.cast(pl.Int64) == starts.gather(ridx)
        # Gaps: 20-120 s between runs of a result, the rest of the 180 days spread over the
        # gaps between results; the last run lands exactly on `now`.
        inner = (20 + hash_ids(self._keys[S_GAP_IN], ids) % 100).cast(pl.Float64) * 1e6
        outer = (1 + hash_ids(self._keys[S_GAP_OUT], ids) % 1000).cast(pl.Float64)
        span = float(self.now_us - self.t0_us)
        inner_sum = float(inner.filter(~first).sum() or 0.0)
        shrink = min(1.0, span / 2 / inner_sum) if inner_sum else 1.0
        outer_sum = float(outer.filter(first).sum() or 1.0)
        scale = (span - inner_sum * shrink) / outer_sum
        gap = pl.select(
            pl.when(pl.lit(first)).then(pl.lit(outer) * scale).otherwise(pl.lit(inner) * shrink)
        ).to_series()
        gap = gap.floor().cast(pl.Int64).clip(lower_bound=1)
        cum = gap.cum_sum()
        ts = cum + (self.now_us - int(cum[-1])) if n else cum
        res = res.with_columns(ts=ts.gather(res["start"]) if n else pl.lit(0, pl.Int64))
        skel = pl.DataFrame(
            {
                "id": ids.cast(pl.Int64),
                "ts": ts,
                "result": res["id"].gather(ridx).cast(pl.Int32),
                "agent": res["agent"].gather(ridx),
                "rts": res["ts"].gather(ridx),
            }
        )
        runs = self._derive(skel)
        k = min(40, n // 20)  # only the newest runs can still be open
        tail = rows.cast(pl.Int64) >= n - k
        u_open = unit(hash_ids(self._keys[S_OPEN], runs["id"]))
        kind = (FIRST_OPEN + hash_ids(self._keys[S_OPEN_KIND], runs["id"]) % 5).cast(pl.Int8)
        is_open = tail & (u_open < 0.7)
        runs = runs.with_columns(
            status=pl.when(pl.lit(is_open)).then(pl.lit(kind)).otherwise(pl.col("final"))
        )
        return runs, res

    def _version_expr(self) -> pl.Expr:
        """Global version index in force at each run's result start (column ``rts``)."""
        chain: Any = None
        for ai, starts in enumerate(self.version_starts):
            for j, (gi, start) in reversed(list(enumerate(starts))):
                cond = pl.col("agent") == ai
                if j:  # the first version covers everything before the second one
                    cond = cond & (pl.col("rts") >= start)
                chain = pl.when(cond).then(gi) if chain is None else chain.when(cond).then(gi)
        return chain.otherwise(0).cast(pl.Int8)

    def _derive(self, skel: pl.DataFrame) -> pl.DataFrame:
        """Add scenario, personality, version, final status and metric pass bits to runs."""
        ids = skel["id"]
        scen = (skel["agent"].cast(pl.Int64) * C.SCENARIOS_PER_AGENT) + (
            hash_ids(self._keys[S_SCEN], ids) % C.SCENARIOS_PER_AGENT
        ).cast(pl.Int64)
        df = skel.with_columns(scen=scen.cast(pl.Int16)).with_columns(ver=self._version_expr())
        u = unit(hash_ids(self._keys[S_STATUS], ids))
        final = pl.select(
            pl.when(pl.lit(u) < 0.025).then(FAILED).when(pl.lit(u) < 0.030).then(TIMEOUT)
            .when(pl.lit(u) < 0.032).then(CANCELLED).otherwise(COMPLETED)
        ).to_series().cast(pl.Int8)  # fmt: skip
        cell = df["scen"].cast(pl.Int64) * _NV + df["ver"].cast(pl.Int64)
        bits = pl.Series([0] * len(ids), dtype=pl.UInt16)
        for mi, key in enumerate(self._metric_keys):
            passed = unit(hash_ids(key, ids)) < _PASS_P[mi].gather(cell)
            bits = bits | (passed.cast(pl.UInt16) * (1 << mi)).cast(pl.UInt16)
        mask = _SCEN_MASK.gather(df["scen"].cast(pl.Int64))
        return df.drop("rts").with_columns(
            pers=_SCEN_PERS.gather(df["scen"].cast(pl.Int64)),
            final=final,
            status=final,
            bits=bits,
            allpass=(bits & mask) == mask,
        )

    # ------------------------------------------------------------------ mutations
    def add_runs(self, k: int, status: str | None = None) -> list[int]:
        """``k`` new runs arrive now (wall clock, strictly increasing); returns their ids."""
        if k <= 0:
            return []
        with self.lock:
            n0 = self.runs.height
            r0 = self.results.height
            last_ts = int(self.runs["ts"][-1]) if n0 else self.t0_us
            base = max(to_us(datetime.now(UTC)), last_ts + 1)
            sizes = [min(30, k - i) for i in range(0, k, 30)]
            starts = [n0 + i for i in range(0, k, 30)]
            res = self._result_frame(r0, pl.Series(sizes), pl.Series(starts))
            ts = pl.Series([base + i for i in range(k)], dtype=pl.Int64)
            res = res.with_columns(ts=ts.gather(pl.Series(starts) - n0))
            ridx = pl.Series([i // 30 for i in range(k)])
            skel = pl.DataFrame(
                {
                    "id": pl.Series(
                        range(FIRST_RUN_ID + n0, FIRST_RUN_ID + n0 + k), dtype=pl.Int64
                    ),
                    "ts": ts,
                    "result": res["id"].gather(ridx).cast(pl.Int32),
                    "agent": res["agent"].gather(ridx),
                    "rts": res["ts"].gather(ridx),
                }
            )
            new = self._derive(skel)
            if status is not None:
                new = new.with_columns(status=pl.lit(STATUS_CODE[status], pl.Int8))
            self.runs = pl.concat([self.runs, new], how="vertical", rechunk=False)
            self.results = pl.concat([self.results, res], how="vertical", rechunk=False)
            if self.runs.n_chunks() > 64:  # arrivals come in small chunks; keep scans fast
                self.runs = self.runs.rechunk()
                self.results = self.results.rechunk()
            self.version += 1
            return new["id"].to_list()

    def complete_all(self) -> int:
        """Finish every non-terminal run (it takes its final status); returns how many."""
        with self.lock:
            n_open = int((self.runs["status"] >= FIRST_OPEN).sum())
            if n_open:
                self.runs = self.runs.with_columns(
                    status=pl.when(pl.col("status") >= FIRST_OPEN)
                    .then(pl.col("final"))
                    .otherwise(pl.col("status"))
                )
                self.version += 1
            return n_open

    # ------------------------------------------------------------------ lookups
    def row(self, run_id: int) -> dict[str, Any] | None:
        """The index row of one run, or None when unknown (ids are contiguous)."""
        i = run_id - FIRST_RUN_ID
        runs = self.runs
        if i < 0 or i >= runs.height:
            return None
        return runs.row(i, named=True)

    def rows(self, run_ids: list[int]) -> list[dict[str, Any]]:
        """Index rows of the known ids among ``run_ids``, in the order given."""
        runs = self.runs
        idx = [i - FIRST_RUN_ID for i in run_ids if 0 <= i - FIRST_RUN_ID < runs.height]
        return runs[idx].rows(named=True) if idx else []

    def result_row(self, result_id: int) -> dict[str, Any] | None:
        """The results-table row of one result, or None."""
        i = result_id - FIRST_RESULT_ID
        res = self.results
        return res.row(i, named=True) if 0 <= i < res.height else None

    def result_runs(self, result: dict[str, Any]) -> pl.DataFrame:
        """The index rows of a result's runs (a contiguous slice)."""
        return self.runs.slice(result["start"], result["size"])

    def filter_runs(self, q: RunQuery) -> pl.Series:
        """Ids (ascending) of the runs matching ``q``."""
        runs = self.runs
        if not q.project_ok:
            return pl.Series("id", [], dtype=pl.Int64)
        conds: list[pl.Expr] = []
        col = pl.col
        if q.ts_gte is not None:
            conds.append(col("ts") >= q.ts_gte)
        if q.ts_lte is not None:
            conds.append(col("ts") <= q.ts_lte)
        columns = {"agent": q.agents, "result": q.results, "status": q.statuses, "id": q.ids,
                   "scen": q.scenarios, "pers": q.personalities}  # fmt: skip
        for name, values in columns.items():
            if values is not None:
                conds.append(col(name).is_in(values))
        if q.success is not None:
            ok = (col("status") == COMPLETED) & col("allpass")
            conds.append(ok if q.success else ~ok)
        return runs.filter(*conds)["id"] if conds else runs["id"]

    def success_of(self, row: dict[str, Any]) -> bool:
        """Run-level verdict: completed and every metric of its scenario passed."""
        return bool(row["status"] == COMPLETED and row["allpass"])

    def passed_metrics(self, row: dict[str, Any]) -> dict[int, bool]:
        """Metric index -> passed, for the metrics of the run's scenario."""
        bits = row["bits"]
        return {mi: bool(bits >> mi & 1) for mi in C.SCENARIOS[row["scen"]].metric_idx}


def build_timed(seed: int, n_runs: int, now: datetime | None = None) -> tuple[MockData, float]:
    """Build a :class:`MockData` and return it with the seconds it took (for logs)."""
    t = time.perf_counter()
    data = MockData(seed, n_runs, now)
    return data, time.perf_counter() - t

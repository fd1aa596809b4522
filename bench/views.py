"""Views benchmark: 1 M runs × 10 metrics synthesised straight to Delta tables, each view
timed, and the same aggregations done in pandas on the same files.

The data follows the extractor's layout (``<dir>/<table>/``: a Delta table each, one commit
per run batch) and the schemas of ``cekura_analytics.lake.tables``: 4 binary,
3 numeric (2 with a rubric condition, 1 with a rules-file threshold), 1
continuous_qualitative (rules file), 2 enum metrics (rules-file pass-sets), 60 personalities
in 6 languages, 2,000 scenarios (10 % without a language: the personality's is used),
3 agents with 6 versions, 3 % of runs never connected (no metric rows).

Some runs carry a reviewer's verdict and a critical category (see :func:`reviews`), so the
review views and ``review_agreement`` have rows to work on.

Prints one line per view: DuckDB seconds (best of ``--repeat``, full materialisation), pandas
seconds for the same numbers (pass-rate views only), and the ratio. Then: ``connect()`` the
first time on freshly written data and again on the same snapshot (a cache kept per snapshot
shows as the difference), beside the time to list the snapshot's files; the slowest pass-rate
view (goal < 0.25 s at 1 M runs) beside a bare DuckDB scan of the same files (run_metrics
joined to runs, counted per metric: the floor); and ``gate``, ``flaky`` and
``review_agreement`` asked of the data dir, each opening its own connection as the CLI does
(goal < 1 s each). Each pass-rate view should be at least 10× pandas.

Usage: python bench/views.py [--runs 1000000] [--parts 20] [--repeat 5] [--dir DIR] [--no-pandas]
                             [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cekura_analytics as ca
from cekura_analytics.lake.tables import SCHEMAS
from cekura_analytics.warehouse.connection import connect, view_names
from cekura_analytics.warehouse.families import (
    METRIC_RESULTS,
    PASS_RATE_VIEWS,
    RATE_COLUMNS,
    output_columns,
)

N_METRICS = 10
EVAL_TYPES = ["binary"] * 4 + ["numeric"] * 3 + ["continuous_qualitative", "enum", "enum"]
METRIC_NAMES = [
    "Call Completed",
    "Greeting",
    "Identity Verified",
    "Transfer Handled",
    "Empathy",
    "Accuracy",
    "Politeness",
    "Conciseness",
    "Sentiment",
    "Resolution Type",
]
LANGUAGES = ["en", "es", "de", "fr", "hi", "pt"]
RULES = """
thresholds = { "Politeness" = 6, "Conciseness" = 5 }
[pass_values]
"Sentiment" = ["positive", "neutral"]
"Resolution Type" = ["resolved"]
"""


def _frame(table: str, cols: dict[str, object], n: int) -> pl.DataFrame:
    """A frame with exactly the table's schema: given columns cast, the rest null."""
    out = []
    for name, dtype in SCHEMAS[table].items():
        if name in cols:
            out.append(pl.Series(name, cols[name]).cast(dtype))
        else:
            out.append(pl.repeat(None, n, dtype=dtype, eager=True).alias(name))
    return pl.DataFrame(out)


def reviews(rng: np.random.Generator, connected: Any, success: Any) -> dict[str, object]:
    """The review columns of a batch of runs, so ``reviewed_results`` and ``review-agreement``
    do real work: reviewers look at 30 % of the failed runs and 5 % of the passed ones (of the
    runs that connected), their verdict (``evaluation_status``) differs from the judge's run
    verdict 15 % of the time, and each reviewed run has one critical category naming a random
    metric of it, marked ``wrongly_marked`` 30 % of the time (it counts where that metric
    failed). Unreviewed runs keep ``success`` / ``failure``."""
    n = len(connected)
    reviewed = connected & (rng.random(n) < np.where(success, 0.05, 0.30))
    verdict = success ^ (rng.random(n) < 0.15)
    metric = rng.integers(1, N_METRICS + 1, n)
    wrong = rng.random(n) < 0.3
    categories = [
        json.dumps([{"category_id": int(m), "category": METRIC_NAMES[m - 1],
                     "wrongly_marked": bool(w), "feedback": "", "priority": "critical"}])
        if r else None
        for r, m, w in zip(reviewed, metric, wrong, strict=True)
    ]  # fmt: skip
    judged = np.where(success, "success", "failure")
    return {
        "is_reviewed": reviewed,
        "evaluation_status": pl.Series(
            np.where(reviewed, np.where(verdict, "reviewed_success", "reviewed_failure"), judged)
        ).set(pl.Series(~connected), None),
        "critical_categories_json": pl.Series(categories, dtype=pl.String),
    }


def synthesise(root: Path, n_runs: int, parts: int, seed: int = 0) -> None:
    """Write the seven tables under ``root`` (``n_runs`` runs in ``parts`` run batches)."""
    rng = np.random.default_rng(seed)
    for t in SCHEMAS:
        (root / t).mkdir(parents=True, exist_ok=True)
    n_pers, n_scen = 60, 2000
    seq = 0

    def write(table: str, df: pl.DataFrame, s: int) -> None:
        df.write_delta(str(root / table), mode="append")

    pers_lang = np.array(LANGUAGES)[np.arange(n_pers) % len(LANGUAGES)]
    scen_pers = rng.integers(1, n_pers + 1, n_scen)
    scen_lang = np.where(rng.random(n_scen) < 0.9, pers_lang[scen_pers - 1], "")
    per = -(-n_runs // parts)
    t0 = pl.datetime(2025, 1, 1, time_zone="UTC")
    base_us = int(pl.select(t0.dt.epoch("us")).item())
    for p in range(parts):
        ids = np.arange(p * per, min(n_runs, (p + 1) * per), dtype=np.int64) + 1
        n = len(ids)
        scen = rng.integers(1, n_scen + 1, n)
        agent = rng.integers(1, 4, n)
        day = ids * 180 // n_runs  # runs spread over 180 days, versions change over time
        version = (agent - 1) * 2 + 1 + (day >= 120)
        connected = rng.random(n) >= 0.03
        success = connected & (rng.random(n) < 0.85)
        runs = _frame(
            "runs",
            {
                "run_id": ids,
                "result_id": ids // 50 + 1,
                "scenario_id": scen,
                "scenario_name": [f"Scenario {s}" for s in scen],
                "personality_id": scen_pers[scen - 1],
                "agent_id": agent,
                "agent_name": [f"Agent {a}" for a in agent],
                "agent_version": version.astype(str),
                "status": np.where(connected, "completed", "failed"),
                "success": success,
                "error_message": np.where(connected, "", "could not connect"),
                "duration_s": np.where(connected, rng.gamma(4.0, 40.0, n).astype(np.int64), -1),
                "timestamp": pl.Series(
                    base_us + day * 86_400_000_000 + rng.integers(0, 86_400_000_000, n)
                ).cast(pl.Datetime("us", "UTC")),
                **reviews(rng, connected, success),
            },
            n,
        ).with_columns(
            pl.col("error_message").replace("", None),
            pl.when(pl.col("duration_s") >= 0).then(pl.col("duration_s")).alias("duration_s"),
        )
        rid = np.repeat(ids[connected], N_METRICS)
        m = len(rid)
        mid = np.tile(np.arange(1, N_METRICS + 1), int(connected.sum()))
        kinds = np.array(EVAL_TYPES)[mid - 1]
        score = np.where(
            kinds == "binary", (rng.random(m) < 0.8).astype(float), rng.integers(0, 11, m)
        ).astype(float)
        enum_vals = np.array(["positive", "neutral", "negative", "resolved", "escalated"])
        rm = _frame(
            "run_metrics",
            {
                "run_id": rid,
                "metric_id": mid,
                "metric_name": np.array(METRIC_NAMES)[mid - 1],
                "metric_type": kinds,
                "score": np.where(kinds == "enum", np.nan, score),
                "value": np.where(kinds == "enum", enum_vals[rng.integers(0, 5, m)], ""),
                "rubric_passed": pl.select(
                    pl.when(pl.Series(mid) == 2).then(pl.Series(rng.random(m) < 0.7))
                ).to_series(),
                "rubric_conditions": np.where(np.isin(mid, [5, 6]), "score gte 5", ""),
            },
            m,
        ).with_columns(
            pl.col("score").fill_nan(None),
            pl.col("value", "rubric_conditions").replace("", None),
        )
        write("runs", runs, seq)
        write("run_metrics", rm, seq)
        seq += 1
    small = {
        "metrics": _frame(
            "metrics",
            {
                "metric_id": np.arange(1, N_METRICS + 1),
                "name": METRIC_NAMES,
                "eval_type": EVAL_TYPES,
            },
            N_METRICS,
        ),
        "personalities": _frame(
            "personalities",
            {
                "personality_id": np.arange(1, n_pers + 1),
                "name": [f"Caller {i}" for i in range(1, n_pers + 1)],
                "language": pers_lang,
            },
            n_pers,
        ),
        "scenarios": _frame(
            "scenarios",
            {
                "scenario_id": np.arange(1, n_scen + 1),
                "name": [f"Scenario {i}" for i in range(1, n_scen + 1)],
                "personality_id": scen_pers,
                "scenario_language": scen_lang,
            },
            n_scen,
        ).with_columns(pl.col("scenario_language").replace("", None)),
        "agents": _frame(
            "agents",
            {"agent_id": [1, 2, 3], "agent_name": ["Agent 1", "Agent 2", "Agent 3"]},
            3,
        ),
        "results": _frame(
            "results",
            {"result_id": np.arange(1, n_runs // 50 + 2)},
            n_runs // 50 + 1,
        ),
    }
    for table, df in small.items():
        write(table, df, seq)
        seq += 1
    (root / "cekura-analytics.toml").write_text(RULES)


# -- the same numbers in pandas ----------------------------------------------------------


def pandas_prepare(root: Path) -> Callable[[list[str]], Any]:
    """Read the parquet with pandas, decide pass/fail, and return a group-by function."""
    import pandas as pd

    def read(t: str, cols: list[str]) -> pd.DataFrame:
        files = DeltaTable(str(root / t)).file_uris()  # the committed snapshot's files
        return pd.concat([pd.read_parquet(f, columns=cols) for f in files])

    rm = read(
        "run_metrics",
        [
            "run_id",
            "metric_id",
            "metric_type",
            "score",
            "value",
            "rubric_passed",
            "rubric_conditions",
        ],
    )
    runs = read(
        "runs",
        ["run_id", "scenario_id", "personality_id", "agent_id", "agent_version", "timestamp"],
    )
    runs = runs.drop_duplicates("run_id", keep="last")
    metrics = read("metrics", ["metric_id", "name", "eval_type"]).rename(
        columns={"name": "metric_name"}
    )
    pers = read("personalities", ["personality_id", "name", "language"]).rename(
        columns={"name": "personality_name"}
    )
    scen = read("scenarios", ["scenario_id", "scenario_language"])
    thresholds = {"Politeness": 6.0, "Conciseness": 5.0}
    pass_sets = {"Sentiment": {"positive", "neutral"}, "Resolution Type": {"resolved"}}

    df = rm.merge(metrics, on="metric_id", how="left")
    et = df["eval_type"].fillna(df["metric_type"])
    cond = df["rubric_conditions"].str.extract(r"^\s*(?:score\s*)?(gte|gt|lte|lt|eq)\s*(-?[0-9.]+)")
    thr_c = pd.to_numeric(cond[1], errors="coerce")
    thr_r = df["metric_name"].map(thresholds)
    numeric = et.isin(["numeric", "continuous_qualitative"])
    passed = pd.Series(pd.NA, index=df.index, dtype="boolean")
    passed = passed.mask(numeric & thr_r.notna() & df["score"].notna(), df["score"] >= thr_r)
    passed = passed.mask(numeric & thr_c.notna() & df["score"].notna(), df["score"] >= thr_c)
    is_enum = (et == "enum") & df["value"].notna() & df["metric_name"].isin(list(pass_sets))
    pairs = {f"{m}\x1f{v}" for m, vs in pass_sets.items() for v in vs}
    in_set = (df["metric_name"] + "\x1f" + df["value"].fillna("")).isin(pairs)
    passed = passed.mask(is_enum, in_set)
    passed = passed.mask((et == "binary") & df["score"].notna(), df["score"] >= 1)
    passed = passed.mask(df["rubric_passed"].notna(), df["rubric_passed"].astype("boolean"))
    df["passed"] = passed
    df = df.merge(runs, on="run_id", how="inner").merge(pers, on="personality_id", how="left")
    df = df.merge(scen, on="scenario_id", how="left")
    df["scenario_language"] = df["scenario_language"].fillna(df["language"])
    df["day"] = df["timestamp"].dt.tz_convert("UTC").dt.date

    def group(keys: list[str]) -> pd.DataFrame:
        g = df.assign(
            ok=df["passed"].fillna(False).astype(int), ev=df["passed"].notna().astype(int)
        )
        out = g.groupby(keys, dropna=False).agg(
            n_evaluated=("ev", "sum"), n_passed=("ok", "sum"), n=("ev", "size")
        )
        return out.reset_index()

    return group


#: key and label columns of each metric pass-rate view, from the one map
PANDAS_KEYS = {
    name: output_columns(view.by)[: -len(RATE_COLUMNS)]
    for name, view in PASS_RATE_VIEWS.items()
    if view.source is METRIC_RESULTS
}


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(best wall seconds, CPU seconds of that run, result) over ``repeat`` runs."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out


def same_numbers(duck: pl.DataFrame, pandas_frame: Any, keys: list[str]) -> bool:
    """Do DuckDB and pandas agree on n_evaluated and n_passed for every group?"""
    pd_frame = pl.from_pandas(pandas_frame).select(*keys, "n_evaluated", "n_passed")
    pd_frame = pd_frame.with_columns(pl.col(k).cast(duck.schema[k]) for k in keys)
    a = duck.select(*keys, "n_evaluated", "n_passed").sort(keys, nulls_last=True)
    b = pd_frame.select(a.columns).sort(keys, nulls_last=True)
    return a.height == b.height and a.with_columns(pl.all().cast(pl.String)).equals(
        b.with_columns(pl.all().cast(pl.String))
    )


def list_snapshot(root: Path) -> dict[str, list[str]]:
    """Every table's data files in its latest Delta snapshot: what any reader must list."""
    return {t: DeltaTable(str(root / t)).file_uris() for t in SCHEMAS}


def bare_scan(root: Path) -> pl.DataFrame:
    """The floor under a pass-rate view: the snapshot's ``run_metrics`` files joined to its
    ``runs`` files on run_id and counted per metric, on a bare DuckDB connection (no views,
    no pass rule, no intervals), from listing the files to the frame."""
    files = list_snapshot(root)

    def scan(t: str) -> str:
        quoted = ("'" + f.replace("'", "''") + "'" for f in files[t])
        return "read_parquet([" + ", ".join(quoted) + "])"

    con = duckdb.connect()
    try:
        return con.sql(
            "select m.metric_id, count(*) as n, count(m.score) as n_scored,"
            " count_if(m.rubric_passed) as n_rubric_passed"
            f" from {scan('run_metrics')} as m join {scan('runs')} as r using (run_id)"
            " group by m.metric_id"
        ).pl()
    finally:
        con.close()


def timed_connect(root: Path) -> float:
    """Wall seconds of one ``connect()`` (the connection is closed after, untimed)."""
    t0 = time.perf_counter()
    con = connect(root)
    wall = time.perf_counter() - t0
    con.close()
    return wall


#: the public questions timed at full size, each asked of the data dir (so each opens and
#: closes its own connection, as the CLI command does): agent 1's previous vs latest version,
#: flakiness per metric, the judge against the reviewers per metric
QUESTIONS: dict[str, Callable[[Path], Any]] = {
    "gate": lambda root: ca.gate(root, 1),
    "flaky": lambda root: ca.flaky(root),
    "review_agreement": lambda root: ca.review_agreement(root),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--parts", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="reuse (or create and keep) data here")
    ap.add_argument("--no-pandas", action="store_true", help="time DuckDB only")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="cekura-bench-views-"))
    try:
        fresh = not (root / "runs").is_dir()
        if fresh:
            t0 = time.perf_counter()
            synthesise(root, args.runs, args.parts)
            print(
                f"synthesised {args.runs:,} runs × {N_METRICS} metrics in "
                f"{time.perf_counter() - t0:.1f} s under {root}"
            )
        # the first connect() on data no connection has read yet, then again on the same
        # snapshot (what a cache kept per snapshot would save shows as the difference)
        connect_first = timed_connect(root)
        connect_again = min(timed_connect(root) for _ in range(args.repeat))
        listing, _, _ = best_of(args.repeat, lambda: list_snapshot(root))
        floor, _, _ = best_of(args.repeat, lambda: bare_scan(root))
        con = connect(root)
        n_runs = con.sql("select count(*) from runs").fetchall()[0][0]
        n_rm = con.sql("select count(*) from metric_results").fetchall()[0][0]
        threads = con.sql("select current_setting('threads')").fetchall()[0][0]
        print(
            f"runs: {n_runs:,}; metric_results: {n_rm:,} rows; DuckDB {threads} threads; "
            f"{os.cpu_count()} CPUs"
        )
        # DuckDB first, while pandas has not yet filled the memory
        timed = {}
        for v in view_names():
            if v.startswith("stg_") or v in ("metric_results", "improve_jobs"):
                continue
            timed[v] = best_of(args.repeat, lambda v=v: con.sql(f"select * from {v}").pl())
        con.close()
        questions = {
            name: best_of(args.repeat, partial(ask, root))[0] for name, ask in QUESTIONS.items()
        }
        group = None
        t_load = 0.0
        if not args.no_pandas:
            t_load, _, group = best_of(1, lambda: pandas_prepare(root))
            print(f"pandas read + pass/fail + joins: {t_load:.2f} s (once; added to each view)")
        print(
            f"{'view':36s} {'rows':>6s} {'duckdb s':>9s} {'cpu s':>6s} "
            f"{'pandas s':>9s} {'ratio':>7s}  same numbers"
        )
        pandas_ratios: dict[str, float] = {}
        pandas_same = True
        for v, (t_duck, cpu, df) in timed.items():
            t_pd = ratio = same = ""
            if group is not None and v in PANDAS_KEYS:
                tp, _, frame = best_of(1, lambda v=v: group(PANDAS_KEYS[v]))
                pandas_ratios[v] = (tp + t_load) / t_duck
                t_pd = f"{tp + t_load:9.2f}"
                ratio = f"{pandas_ratios[v]:6.1f}x"
                agree = same_numbers(df, frame, PANDAS_KEYS[v])
                pandas_same &= agree
                same = "yes" if agree else "NO"
            print(f"{v:36s} {df.height:6d} {t_duck:9.3f} {cpu:6.2f} {t_pd:>9s} {ratio:>7s}  {same}")
        slowest = max((v for v in timed if v in PASS_RATE_VIEWS), key=lambda v: timed[v][0])
        print(
            f"\nconnect(): first on {'freshly written' if fresh else 'existing'} data "
            f"{connect_first:.3f} s, again {connect_again:.3f} s; listing the snapshot's files "
            f"{listing:.3f} s\nslowest pass-rate view {slowest}: {timed[slowest][0]:.3f} s "
            f"(goal < 0.25 s); bare scan (run_metrics joined to runs, per metric) {floor:.3f} s"
        )
        print(
            "asked of the data dir (each connects): "
            + ", ".join(f"{name} {wall:.3f} s" for name, wall in questions.items())
            + " (goal < 1 s each)"
        )
        if args.json:
            figures = {
                "runs": n_runs,
                "metric_rows": n_rm,
                "fresh": fresh,
                "connect_first_s": connect_first,
                "connect_again_s": connect_again,
                "list_snapshot_s": listing,
                "bare_scan_s": floor,
                "views_s": {v: t for v, (t, _, _) in timed.items()},
                "slowest_pass_rate_view": slowest,
                "slowest_pass_rate_s": timed[slowest][0],
                "questions_s": questions,
                "pandas_ratio_min": min(pandas_ratios.values(), default=None),
                "pandas_same": pandas_same if pandas_ratios else None,
            }
            args.json.write_text(json.dumps(figures))
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

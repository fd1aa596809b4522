"""The counted cells and the per-snapshot cache of the views: the same numbers as the
row-level SQL, never an answer from another snapshot or rules file, and a damaged or
unwritable cache costs only time."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from conftest import Planted
from factories import result, run, write_part
from polars.testing import assert_frame_equal

from cekura_analytics.analysis.flakiness import flaky
from cekura_analytics.analysis.rates import pass_rates
from cekura_analytics.warehouse import cache, connection
from cekura_analytics.warehouse.connection import PINNED, connect, fetch
from cekura_analytics.warehouse.connection import duckdb as write_duckdb
from cekura_analytics.warehouse.families import (
    METRIC_CELLS,
    METRIC_RESULTS,
    PASS_RATE_VIEWS,
    flaky_source,
    flaky_sql,
    metric_source,
    rates_sql,
)

#: every grouping the cells can answer, the views' and a few more
GROUPINGS = [
    *[v.by for v in PASS_RATE_VIEWS.values() if v.source == METRIC_RESULTS and "day" not in v.by],
    ("scenario",),
    ("agent",),
    ("metric", "scenario", "agent_version"),
    ("personality", "language", "agent_version"),
]


@pytest.fixture
def data(planted_4k: Planted, tmp_path: Path) -> Path:
    """A private copy of the 4,000-run mock (these tests write its cache and rules)."""
    d = tmp_path / "data"
    shutil.copytree(planted_4k.data_dir, d, ignore=shutil.ignore_patterns(cache.CACHE_DIR))
    return d


def _rates(d: Path, **kw: Any) -> dict[str, pl.DataFrame]:
    with connect(d, **kw) as con:
        return {v: con.sql(f"select * from {v}").pl() for v in PASS_RATE_VIEWS}


def test_time_groupings_and_timed_scopes_read_the_single_results() -> None:
    assert metric_source(("day", "metric")) == METRIC_RESULTS
    assert metric_source(("week",)) == METRIC_RESULTS
    assert metric_source(("metric",), timed=True) == METRIC_RESULTS
    assert metric_source(("result",)) == METRIC_RESULTS


@pytest.mark.parametrize("by", GROUPINGS, ids=["-".join(b) for b in GROUPINGS])
def test_cells_give_the_rates_of_the_single_results(planted_4k: Planted, by: Any) -> None:
    assert metric_source(by) == METRIC_CELLS
    with connect(planted_4k.data_dir) as con:
        cells = fetch(con, rates_sql(by, METRIC_CELLS))
        rows = fetch(con, rates_sql(by, METRIC_RESULTS))
    assert cells.height > 1 and cells["n_unknown"].sum() > 0
    assert_frame_equal(cells, rows)


def test_views_read_from_the_cache_answer_as_the_live_views(data: Path, tmp_path: Path) -> None:
    cold = _rates(data)
    assert [f.suffix for f in (data / cache.CACHE_DIR).iterdir()] == [".duckdb"]
    # a database file keeps live views over the files: no cache involved
    db = duckdb.connect(str(write_duckdb(data, tmp_path / "views.duckdb")), read_only=True)
    try:
        for view, frame in cold.items():
            assert_frame_equal(frame, db.sql(f"select * from {view}").pl())
    finally:
        db.close()
    for view, frame in _rates(data).items():  # and read back from the cache
        assert_frame_equal(frame, cold[view])


def test_a_warm_connection_defines_nothing(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _rates(data)

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the views were defined again")

    monkeypatch.setattr(connection._Build, "into", refuse)
    for view, frame in _rates(data).items():
        assert_frame_equal(frame, cold[view])
    with connect(data) as con:  # the connection's own schema stays writable
        con.execute("create table mine as select count(*) as n from metric_cells")
        n_cells = con.execute("select count(*) from metric_cells").fetchall()
        assert con.execute("select n from mine").fetchall() == n_cells
        for name in PINNED:
            assert con.execute(f"select count(*) from {name}").fetchall()[0][0] > 0


def test_connections_racing_on_a_cold_cache_all_answer(data: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: _rates(data)["pass_rates_by_metric"], range(4)))
    for frame in got[1:]:
        assert_frame_equal(frame, got[0])
    assert len(list((data / cache.CACHE_DIR).glob("views-*.duckdb"))) == 1
    assert not list((data / cache.CACHE_DIR).glob(".*"))


def test_new_rules_or_a_new_snapshot_never_read_an_old_cache(data: Path) -> None:
    before = _rates(data)["pass_rates_by_metric"]
    # another rules file: Empathy's scores without a rubric condition now need 6, not 4
    rules = data / "cekura-analytics.toml"
    text = rules.read_text()
    rules.write_text(text + "\n")  # same rules, other text: same answer
    assert_frame_equal(_rates(data)["pass_rates_by_metric"], before)
    strict = data / "strict.toml"
    strict.write_text(text.replace('"Empathy" = 4', '"Empathy" = 6'))
    after = _rates(data, rules=strict)["pass_rates_by_metric"]
    changed = after.join(before, on="metric_id").filter(
        pl.col("n_passed") != pl.col("n_passed_right")
    )
    assert changed["metric_name"].to_list() == ["Empathy"]
    assert_frame_equal(_rates(data)["pass_rates_by_metric"], before)  # its own file again
    # a new commit: new runs answer at once
    write_part(data, "run_metrics", [result(10**9, 1, metric_type="binary", score=0.0)])
    write_part(data, "runs", [run(10**9, scenario_id=10**9)])
    grown = _rates(data)["pass_rates_by_metric"]
    counted = pl.col("n_evaluated").sum() + pl.col("n_unknown").sum()
    assert grown.select(counted).item() == before.select(counted).item() + 1


@pytest.mark.parametrize("damage", ["garbage", "empty", "not a folder"])
def test_a_damaged_or_unwritable_cache_only_costs_time(data: Path, damage: str) -> None:
    want = _rates(data)
    folder = data / cache.CACHE_DIR
    if damage == "not a folder":
        shutil.rmtree(folder)
        folder.write_text("in the way")
    for f in folder.glob("*.duckdb") if folder.is_dir() else []:
        f.write_bytes(b"DUCK not a database" * 100 if damage == "garbage" else b"")
    for view, frame in _rates(data).items():
        assert_frame_equal(frame, want[view])
    if damage != "not a folder":  # rewritten, readable again
        assert all(f.stat().st_size > 10_000 for f in folder.glob("*.duckdb"))


def test_old_snapshots_files_are_pruned(data: Path) -> None:
    for i in range(cache.KEEP + 2):
        write_part(data, "runs", [run(10**9 + i)])
        _rates(data)
    kept = list((data / cache.CACHE_DIR).glob("views-*.duckdb"))
    assert len(kept) == cache.KEEP
    assert not list((data / cache.CACHE_DIR).glob(".*"))


@pytest.mark.parametrize("agent", [None, "first"])
def test_a_scope_without_a_start_reads_cells_with_the_same_numbers(
    planted_4k: Planted, agent: str | None
) -> None:
    agent_id = None
    if agent:
        agent_id = pass_rates(planted_4k.data_dir, by="agent")["agent_id"].min()
    by = ("metric", "personality")
    cells = pass_rates(planted_4k.data_dir, by=by, agent_id=agent_id)
    rows = pass_rates(planted_4k.data_dir, by=by, agent_id=agent_id, since="2000-01-01")
    assert_frame_equal(cells, rows)


@pytest.mark.parametrize("by", ["metric", "metric,agent_version"])
def test_flaky_shares_from_cells_equal_those_from_single_results(
    planted_4k: Planted, by: str
) -> None:
    assert flaky_source(by) == METRIC_CELLS and flaky_source(by, timed=True) == METRIC_RESULTS
    with connect(planted_4k.data_dir) as con:
        cells = fetch(con, flaky_sql(by, source=METRIC_CELLS))
        rows = fetch(con, flaky_sql(by, source=METRIC_RESULTS))
    assert cells["n_flaky"].sum() > 0
    assert_frame_equal(cells, rows)
    # the function: no start reads the cells, an early start the results: same numbers
    assert_frame_equal(
        flaky(planted_4k.data_dir, by), flaky(planted_4k.data_dir, by, since="2000-01-01")
    )

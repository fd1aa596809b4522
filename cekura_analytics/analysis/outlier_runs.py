"""Outlier runs: the runs worth a human look or an improve-prompt job.

The rules live in ``sql/50_outlier_runs.sql`` (the ``outlier_runs`` view); this module runs
that view with thresholds of your choice. A run is an outlier when

1. it failed a metric that usually passes for its scenario: the scenario × metric group
   passes at least ``min_group_pass_rate`` of at least ``min_group_results`` evaluated
   results (this run's included); the group's pass rate is added to the score;
2. a numeric or continuous_qualitative score is a low outlier for its metric: robust
   z = 0.6745 (score - median) / MAD <= -``score_z``; |z| / ``score_z`` is added;
3. its duration is a high outlier among terminal runs: robust z >= ``duration_z``;
   z / ``duration_z`` is added.

``reasons`` says which rule fired with the numbers behind it, ``failed_metrics`` lists every
metric the run failed.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import polars as pl

from ..defaults import OUTLIER_SETTINGS
from ..errors import ConfigError
from ..warehouse.connection import Source, fetch, opened


def _check(name: str, value: float, low: float, high: float | None = None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be a number {span}, got {value!r}")


def outliers(
    data_dir: Source,
    limit: int | None = 20,
    *,
    min_group_pass_rate: float = OUTLIER_SETTINGS["min_group_pass_rate"],
    min_group_results: int = int(OUTLIER_SETTINGS["min_group_results"]),
    score_z: float = OUTLIER_SETTINGS["score_z"],
    duration_z: float = OUTLIER_SETTINGS["duration_z"],
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> pl.DataFrame:
    """The top ``limit`` outlier runs (all with ``limit=None``), most surprising first.

    Columns: ``run_id, outlier_score, reasons`` (list of readable strings),
    ``failed_metrics`` (list of metric names).
    """
    _check("min_group_pass_rate", min_group_pass_rate, 0.0, 1.0)
    _check("min_group_results", min_group_results, 1)
    _check("score_z", score_z, 0.0)
    _check("duration_z", duration_z, 0.0)
    if score_z <= 0 or duration_z <= 0:
        raise ConfigError("score_z and duration_z must be greater than 0")
    if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
        raise ConfigError(f"limit must be 0 or more, got {limit!r}")

    with opened(data_dir, rules, as_of=as_of) as con:
        settings = {
            "min_group_pass_rate": float(min_group_pass_rate),
            "min_group_results": int(min_group_results),
            "score_z": float(score_z),
            "duration_z": float(duration_z),
        }
        for name, value in settings.items():  # what the outlier_settings view reads
            con.execute(f"set variable outlier_{name} = ?", [value])
        if limit is None:
            return fetch(con, "select * from outlier_runs")
        return fetch(con, "select * from outlier_runs limit $limit", {"limit": int(limit)})


__all__ = ["outliers"]

"""The release gate: did the candidate agent version make any metric worse than the baseline?

Per metric (or metric × language / personality cell): both pass rates with Wilson 95 %
intervals and n, the drop (baseline - candidate), a one-sided test of "the candidate is worse"
(Fisher exact where counts are small, a pooled z test otherwise: :func:`.stats.compare_counts`) and
Holm's correction across every tested cell. A cell **fails** when its drop is larger than
``max_drop`` and it is significant after the correction; a cell with fewer than ``min_n``
evaluated results on either side is **insufficient** (reported, untested, fails only with
``strict``). :class:`GateResult` is data; :mod:`cekura_analytics.present` renders it as text,
JUnit XML and a Markdown PR comment.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..defaults import ALPHA, GATE_BY, MAX_DROP, MIN_N
from ..errors import ConfigError, DataError
from ..warehouse.connection import Source, fetch, opened
from .stats import Comparison, compare_counts, holm

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"
#: ``--by`` values -> the extra dimension beside the metric: (key column, label column)
BY: dict[str, tuple[str, str] | None] = dict(
    zip(
        GATE_BY,
        (None, ("scenario_language", "scenario_language"), ("personality_id", "personality_name")),
        strict=True,
    )
)
EXIT_PASS, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Cell:
    """One gate cell: a metric (and dimension value), its comparison, Holm p and status."""

    metric_id: int
    metric_name: str
    dimension: str | None
    dimension_value: str | None
    cmp: Comparison
    p_holm: float | None
    status: str

    @property
    def name(self) -> str:
        """``Empathy`` or ``Empathy [personality: Angry British Female]``."""
        base = self.metric_name or f"metric {self.metric_id}"
        if self.dimension is None:
            return base
        return f"{base} [{self.dimension}: {self.dimension_value}]"

    @property
    def drop(self) -> float | None:
        """baseline - candidate (positive = worse)."""
        return None if self.cmp.change is None else -self.cmp.change


@dataclass
class GateResult:
    """The gate's verdict: its cells and the settings that decided them."""

    agent_id: int
    baseline: str
    candidate: str
    by: str
    max_drop: float
    alpha: float
    min_n: int
    strict: bool
    cells: list[Cell] = field(default_factory=list)

    @property
    def failures(self) -> list[Cell]:
        """Cells that regressed (drop > max_drop and significant after Holm)."""
        return [c for c in self.cells if c.status == FAIL]

    @property
    def insufficient(self) -> list[Cell]:
        """Cells with fewer than ``min_n`` results on a side (untested)."""
        return [c for c in self.cells if c.status == INSUFFICIENT]

    @property
    def passed(self) -> bool:
        """No regression (and, with ``strict``, no insufficient cell)."""
        return not self.failures and not (self.strict and self.insufficient)

    @property
    def exit_code(self) -> int:
        """0 pass, 1 regression (or insufficient data under ``strict``)."""
        return EXIT_PASS if self.passed else EXIT_REGRESSION

    def worst_first(self) -> list[Cell]:
        """Failures, then by drop (largest first), insufficient last."""
        rank = {FAIL: 0, PASS: 1, INSUFFICIENT: 2}
        return sorted(self.cells, key=lambda c: (rank[c.status], -(c.drop or -math.inf), c.name))

    def frame(self) -> pl.DataFrame:
        """One row per cell, worst first."""
        rows = []
        for c in self.worst_first():
            row = {"metric_id": c.metric_id, "metric_name": c.metric_name}
            row |= {"dimension": c.dimension, "dimension_value": c.dimension_value}
            row |= asdict(c.cmp) | {"drop": c.drop, "p_holm": c.p_holm, "status": c.status}
            rows.append(row)
        return pl.DataFrame(rows, infer_schema_length=None)


def version_history(con: Any, agent_id: int) -> pl.DataFrame:
    """The agent's versions in order of first result: ``agent_version, first_seen, n``."""
    return fetch(
        con,
        "select agent_version, min(timestamp) as first_seen, count(*) as n"
        " from metric_results where agent_id = $agent_id and agent_version is not null"
        " group by agent_version order by first_seen, agent_version",
        {"agent_id": agent_id},
    )


def pick_versions(
    versions: list[str], agent_id: int, baseline: str, candidate: str
) -> tuple[str, str]:
    """Resolve ``previous`` (baseline) and ``latest`` (candidate) against the agent's versions."""
    if not versions:
        raise DataError(f"no data: agent {agent_id} has no metric results with an agent version")
    for name, value, word in (
        ("--baseline", baseline, "previous"),
        ("--candidate", candidate, "latest"),
    ):
        if value != word and value not in versions:
            raise DataError(
                f"no data: agent {agent_id} has no results for version {value!r} ({name} takes "
                f"a version or {word!r}); its versions: {', '.join(versions)}"
            )
    cand = versions[-1] if candidate == "latest" else candidate
    if baseline != "previous":
        return baseline, cand
    earlier = versions[: versions.index(cand)]
    if not earlier:
        raise DataError(
            f"no data: version {cand!r} is agent {agent_id}'s first: give --baseline VERSION"
        )
    return earlier[-1], cand


def _counts(con: Any, agent_id: int, versions: tuple[str, str], by: str) -> pl.DataFrame:
    dim = BY[by]
    key = f", cast({dim[0]} as varchar) as dim_key" if dim else ", null as dim_key"
    label = f", cast(any_value({dim[1]}) as varchar) as dim_label" if dim else ""
    group = ", dim_key" if dim else ""
    return fetch(
        con,
        f"select metric_id, any_value(metric_name) as metric_name, agent_version{key}{label},"
        " count(passed) as n, count(*) filter (where passed) as k from metric_results"
        " where agent_id = $agent_id and agent_version in ($a, $b)"
        f" group by metric_id, agent_version{group}",
        {"agent_id": agent_id, "a": versions[0], "b": versions[1]},
    )


def _check_settings(by: str, max_drop: float, alpha: float, min_n: int) -> str:
    norm = ",".join(p.strip().lower() for p in by.split(",") if p.strip())
    if norm not in BY:
        raise ConfigError(f"--by {by!r}: use one of {', '.join(BY)}")
    if not 0 <= max_drop < 1:
        raise ConfigError(f"--max-drop {max_drop}: give a fraction in [0, 1), e.g. 0.05")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha}: give a probability in (0, 1), e.g. 0.05")
    if min_n < 1:
        raise ConfigError(f"--min-n {min_n}: give a positive number of results, e.g. 30")
    return norm


def gate(
    data_dir: Source,
    agent_id: int,
    *,
    baseline: str = "previous",
    candidate: str = "latest",
    max_drop: float = MAX_DROP,
    alpha: float = ALPHA,
    min_n: int = MIN_N,
    by: str = "metric",
    strict: bool = False,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> GateResult:
    """Compare two versions of an agent cell by cell and decide pass / regression (see module).

    ``as_of``: the tables as they stood at that version or time (``--as-of``).
    """
    by = _check_settings(by, max_drop, alpha, min_n)
    with opened(data_dir, rules, as_of=as_of) as con:
        history = version_history(con, int(agent_id))
        versions = [str(v) for v in history["agent_version"].to_list()] if history.height else []
        pair = pick_versions(versions, int(agent_id), str(baseline), str(candidate))
        counts = _counts(con, int(agent_id), pair, by)
    cells: dict[tuple[int, Any], dict[str, Any]] = {}
    for r in counts.iter_rows(named=True):
        cell = cells.setdefault(
            (r["metric_id"], r["dim_key"]), {"nb": 0, "kb": 0, "nc": 0, "kc": 0}
        )
        cell |= {"name": r["metric_name"], "label": r.get("dim_label") or r["dim_key"]}
        # a version compared with itself is both sides
        if r["agent_version"] == pair[0]:
            cell["nb"], cell["kb"] = int(r["n"]), int(r["k"])
        if r["agent_version"] == pair[1]:
            cell["nc"], cell["kc"] = int(r["n"]), int(r["k"])
    comparisons = {
        key: compare_counts(c["kb"], c["nb"], c["kc"], c["nc"], min_n) for key, c in cells.items()
    }
    tested = [key for key, cmp in comparisons.items() if cmp.p_worse is not None]
    adjusted = dict(zip(tested, holm([comparisons[k].p_worse or 1.0 for k in tested]), strict=True))
    dim = None if BY[by] is None else by.split(",")[1]
    out = []
    for key, cmp in comparisons.items():
        p_holm = adjusted.get(key)
        if p_holm is None:
            status = INSUFFICIENT
        elif (cmp.change or 0) < -max_drop and p_holm < alpha:
            status = FAIL
        else:
            status = PASS
        c = cells[key]
        value = None if dim is None else ("(none)" if c["label"] is None else str(c["label"]))
        out.append(Cell(key[0], c["name"], dim, value, cmp, p_holm, status))
    if not out:
        raise DataError(
            f"no data: agent {agent_id} has no evaluated metric results in {pair[0]!r} or "
            f"{pair[1]!r}"
        )
    return GateResult(int(agent_id), pair[0], pair[1], by, max_drop, alpha, min_n, strict, out)


__all__ = [
    "BY",
    "EXIT_BAD_INPUT",
    "EXIT_PASS",
    "EXIT_REGRESSION",
    "FAIL",
    "INSUFFICIENT",
    "PASS",
    "Cell",
    "GateResult",
    "gate",
    "pick_versions",
    "version_history",
]

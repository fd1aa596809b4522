"""The release gate: did the candidate agent version make any metric worse than the baseline?

The gate asks :func:`.versions.compare` (the one comparison, scenario by scenario, with Holm's
correction across the cells) and maps its verdicts to statuses: a cell **fails** when its
verdict is ``worse`` and its drop exceeds ``max_drop``; a cell the comparison could not test
(no scenario run on both versions, or fewer than ``min_n`` results on a side) is
**insufficient** (reported, untested, fails only with ``strict``); every other cell passes.
:class:`GateResult` is data; :mod:`cekura_analytics.present` renders it as text, JUnit XML and a
Markdown PR comment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from ..defaults import ALPHA, MAX_DROP, MIN_N
from ..warehouse.connection import Source
from .stats import INSUFFICIENT as NOT_TESTED
from .versions import LATEST, PREVIOUS, Cell, VersionComparison, compare

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"
EXIT_PASS, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


def status(cell: Cell) -> str:
    """A cell's gate status from its verdict (the comparison's ``fails_gate``)."""
    if cell.verdict.verdict == NOT_TESTED:
        return INSUFFICIENT
    return FAIL if cell.verdict.fails_gate else PASS


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict: the comparison it read, and each cell's status."""

    comparison: VersionComparison

    @property
    def agent_id(self) -> int:
        """The agent whose versions were compared."""
        return self.comparison.agent_id

    @property
    def baseline(self) -> str:
        """The baseline version's label."""
        return self.comparison.baseline

    @property
    def candidate(self) -> str:
        """The candidate version's label."""
        return self.comparison.candidate

    @property
    def settings(self) -> dict[str, object]:
        """What decided the cells: by, max_drop, alpha, min_n, strict."""
        c = self.comparison
        return {"by": c.by, "max_drop": c.max_drop, "alpha": c.alpha, "min_n": c.min_n,
                "strict": c.strict}  # fmt: skip

    @property
    def cells(self) -> list[Cell]:
        """Every compared cell."""
        return self.comparison.cells

    def status(self, cell: Cell) -> str:
        """``pass``, ``fail`` or ``insufficient``."""
        return status(cell)

    @property
    def failures(self) -> list[Cell]:
        """Cells that regressed (worse, and dropped more than max_drop)."""
        return [c for c in self.cells if status(c) == FAIL]

    @property
    def insufficient(self) -> list[Cell]:
        """Cells the comparison could not test."""
        return [c for c in self.cells if status(c) == INSUFFICIENT]

    @property
    def passed(self) -> bool:
        """No regression (and, with ``strict``, no insufficient cell)."""
        return not self.failures and not (self.comparison.strict and self.insufficient)

    @property
    def exit_code(self) -> int:
        """0 pass, 1 regression (or insufficient data under ``strict``)."""
        return EXIT_PASS if self.passed else EXIT_REGRESSION

    def worst_first(self) -> list[Cell]:
        """Failures, then by drop (largest first), insufficient last."""
        rank = {FAIL: 0, PASS: 1, INSUFFICIENT: 2}
        return sorted(self.cells, key=lambda c: (rank[status(c)], -(c.drop or -math.inf), c.name))

    def frame(self) -> pl.DataFrame:
        """The comparison's rows with the gate's ``status``, worst first."""
        df = self.comparison.frame()
        statuses = {(c.metric_id, c.dimension_value): status(c) for c in self.cells}
        return df.with_columns(
            status=pl.Series(
                [statuses[(m, v)] for m, v in df.select("metric_id", "dimension_value").rows()],
                dtype=pl.String,
            )
        )


def gate(
    data_dir: Source,
    agent_id: int,
    *,
    baseline: str | int = PREVIOUS,
    candidate: str | int = LATEST,
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
    return GateResult(
        compare(
            data_dir,
            int(agent_id),
            baseline=baseline,
            candidate=candidate,
            by=by,
            alpha=alpha,
            max_drop=max_drop,
            min_n=min_n,
            strict=strict,
            rules=rules,
            as_of=as_of,
        )
    )


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_PASS",
    "EXIT_REGRESSION",
    "FAIL",
    "INSUFFICIENT",
    "PASS",
    "GateResult",
    "gate",
    "status",
]

"""The release gate: did the candidate agent version make any metric worse than the baseline?

Per metric (or metric × language / personality cell): both pass rates with Wilson 95 %
intervals and n, the drop (baseline - candidate), a one-sided test of "the candidate is worse"
(Fisher exact where counts are small, a pooled z test otherwise: :func:`.stats.compare_counts`) and
Holm's correction across every tested cell. A cell **fails** when its drop is larger than
``max_drop`` and it is significant after the correction; a cell with fewer than ``min_n``
evaluated results on either side is **insufficient** (reported, untested, fails only with
``strict``). :class:`GateResult` renders text, JUnit XML and a Markdown PR comment.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import polars as pl

from ..errors import ConfigError, DataError
from ..present.markdown import md_escape
from ..warehouse.connection import connect, fetch
from ..warehouse.rate_views import pct
from .stats import Comparison, compare_counts, holm

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"
#: ``--by`` values -> the extra dimension beside the metric: (key column, label column)
BY: dict[str, tuple[str, str] | None] = {
    "metric": None,
    "metric,language": ("scenario_language", "scenario_language"),
    "metric,personality": ("personality_id", "personality_name"),
}
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
    """The gate's verdict: cells, settings; renders text, JUnit XML and Markdown."""

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

    def _message(self, c: Cell) -> str:
        k = c.cmp
        if c.status == INSUFFICIENT:
            return (
                f"insufficient data: n={k.n_baseline} ({self.baseline}) and n={k.n_candidate} "
                f"({self.candidate}); at least {self.min_n} per side are needed to test"
            )
        return (
            f"{pct(k.rate_baseline)} [{pct(k.ci_low_baseline)}, {pct(k.ci_high_baseline)}] "
            f"n={k.n_baseline} -> {pct(k.rate_candidate)} [{pct(k.ci_low_candidate)}, "
            f"{pct(k.ci_high_candidate)}] n={k.n_candidate}; drop {_pts(c.drop)} "
            f"(max {100 * self.max_drop:.1f} pts); {k.test} one-sided p={_p(k.p_worse)}, "
            f"Holm p={_p(c.p_holm)} (alpha {self.alpha:g})"
        )

    def headline(self) -> str:
        """One line: the verdict and the counts."""
        verdict = "PASS" if self.passed else "FAIL"
        n_tested = len(self.cells) - len(self.insufficient)
        why = ""
        if self.failures:
            why = f": {len(self.failures)} regressed"
        elif not self.passed:
            why = ": insufficient data under --strict"
        return (
            f"gate {verdict}{why} — agent {self.agent_id}, version {self.baseline} -> "
            f"{self.candidate}, {len(self.cells)} cells by {self.by} ({n_tested} tested, "
            f"{len(self.insufficient)} insufficient)"
        )

    def __str__(self) -> str:
        lines = [self.headline()]
        for c in self.worst_first():
            lines.append(f"  {c.status.upper():<12} {c.name}: {self._message(c)}")
        return "\n".join(lines)

    def junit(self) -> str:
        """JUnit XML: one testcase per cell; failure for a regression, skipped for too few."""
        suite = ET.Element(
            "testsuite",
            name=f"cekura-gate agent {self.agent_id} {self.baseline} -> {self.candidate}",
            tests=str(len(self.cells)),
            failures=str(len(self.failures)),
            errors="0",
            skipped=str(len(self.insufficient)),
        )
        props = ET.SubElement(suite, "properties")
        for name in ("agent_id", "baseline", "candidate", "by", "max_drop", "alpha", "min_n"):
            ET.SubElement(props, "property", name=name, value=str(getattr(self, name)))
        for c in self.worst_first():
            case = ET.SubElement(
                suite, "testcase", name=c.name, classname=f"cekura.gate.{self.by}", time="0"
            )
            if c.status == FAIL:
                failure = ET.SubElement(case, "failure", type="regression")
                failure.set("message", self._message(c))
                failure.text = self._message(c)
            elif c.status == INSUFFICIENT:
                ET.SubElement(case, "skipped", message=self._message(c))
            else:
                ET.SubElement(case, "system-out").text = self._message(c)
        root = ET.Element("testsuites", name="cekura-analytics gate")
        root.set("tests", str(len(self.cells)))
        root.set("failures", str(len(self.failures)))
        root.set("errors", "0")
        root.append(suite)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"

    def markdown(self) -> str:
        """A PR-comment table, worst first; cell text is escaped for Markdown tables."""
        head = f"### {'✅' if self.passed else '❌'} {md_escape(self.headline())}"
        lines = [
            head,
            "",
            f"A cell fails when the pass rate drops by more than {100 * self.max_drop:.1f} "
            f"points and the one-sided test is significant at α = {self.alpha:g} after Holm's "
            f"correction over the tested cells; cells with n < {self.min_n} on a side are not "
            "tested.",
            "",
            f"| status | cell | {md_escape(self.baseline)} | {md_escape(self.candidate)} "
            "| drop | test | p | Holm p |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in self.worst_first():
            k = c.cmp
            lines.append(
                f"| {c.status} | {md_escape(c.name)} | {_cell(k.rate_baseline, k.ci_low_baseline, k.ci_high_baseline, k.n_baseline)} "  # noqa: E501
                f"| {_cell(k.rate_candidate, k.ci_low_candidate, k.ci_high_candidate, k.n_candidate)} "  # noqa: E501
                f"| {_pts(c.drop)} | {k.test or '–'} | {_p(k.p_worse)} | {_p(c.p_holm)} |"
            )
        return "\n".join(lines) + "\n"

    def write(self, *, junit: str | Path | None = None, markdown: str | Path | None = None) -> None:
        """Write the JUnit XML and/or the Markdown comment to the given files."""
        for path, text in ((junit, self.junit), (markdown, self.markdown)):
            if path is None:
                continue
            target = Path(path)
            if target.is_dir():
                raise ConfigError(f"{path} is a directory: give a file name such as gate.xml")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text(), encoding="utf-8")


def _pts(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:+.1f} pts"


def _p(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def _cell(rate: float | None, lo: float | None, hi: float | None, n: int) -> str:
    return f"{pct(rate)} [{pct(lo)}, {pct(hi)}] n={n}"


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
    data_dir: str | Path,
    agent_id: int,
    *,
    baseline: str = "previous",
    candidate: str = "latest",
    max_drop: float = 0.05,
    alpha: float = 0.05,
    min_n: int = 30,
    by: str = "metric",
    strict: bool = False,
    rules: str | Path | None = None,
    as_of: str | int | datetime | None = None,
) -> GateResult:
    """Compare two versions of an agent cell by cell and decide pass / regression (see module).

    ``as_of``: the tables as they stood at that version or time (``--as-of``).
    """
    by = _check_settings(by, max_drop, alpha, min_n)
    con = connect(data_dir, rules, as_of=as_of)
    try:
        history = version_history(con, int(agent_id))
        versions = [str(v) for v in history["agent_version"].to_list()] if history.height else []
        pair = pick_versions(versions, int(agent_id), str(baseline), str(candidate))
        counts = _counts(con, int(agent_id), pair, by)
    finally:
        con.close()
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

"""When a metric result counts as passed: the rules file, the pass rule, Wilson intervals.

The SQL view ``metric_results`` (``sql/22_metric_results.sql``) applies the rule to every
``run_metrics`` row; :func:`decide` is the same rule for one row in Python (tests, twins).
For each row, in this order (``pass_rule`` names the step that decided):

1. the run's rubric gave a boolean ``passed`` for the metric -> that (``rubric``);
2. the metric item's own ``passed`` (canonical binary items since July 2026) -> that
   (``metric_passed``);
3. the metric's ``eval_type`` is ``binary`` -> ``score >= 1``: a boolean score as it is, 0/1,
   and the legacy 0/5 alike (``binary``; null score -> unknown);
4. ``numeric`` or ``continuous_qualitative`` -> the score against the rubric's condition
   (``score gte 5``; also ``gt``, ``lte``, ``lt``, ``eq``) (``conditions``), else
   ``score >= threshold`` from the rules file (``rules_threshold``); neither -> unknown;
5. ``enum`` -> the value is in the rules file's pass-set for the metric
   (``rules_pass_values``); none -> unknown.

``eval_type`` comes from the ``metrics`` table, falling back to ``run_metrics.eval_type``
(legacy names such as ``binary_workflow_adherence`` are normalised to ``binary``).

The rules file is TOML, ``<data-dir>/cekura-analytics.toml`` or ``--rules PATH``, keyed by
metric name or id (as a string)::

    thresholds = { "Empathy" = 4, "1234" = 0.7 }
    pass_values = { "Sentiment" = ["positive", "neutral"] }
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .tables import normalise_eval_type

#: the file looked for in the data dir when no ``--rules`` is given
RULES_FILE = "cekura-analytics.toml"
#: two-sided 95 % normal quantile
Z95 = 1.959964
_TOP_KEYS = ("thresholds", "pass_values")
_EXAMPLE = {
    "thresholds": 'thresholds = { "Empathy" = 4 }',
    "pass_values": 'pass_values = { "Sentiment" = ["positive", "neutral"] }',
}
_COND_RE = re.compile(
    r"^\s*(?:score\s*)?(gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$"
)
_SYMBOLS = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt", "==": "eq", "=": "eq"}


@dataclass(frozen=True)
class Rules:
    """The user's pass rules: thresholds and enum pass-sets keyed by metric name or id."""

    thresholds: dict[str, float] = field(default_factory=dict)
    pass_values: dict[str, list[str]] = field(default_factory=dict)
    source: Path | None = None

    def rows(self) -> list[tuple[str, int | None, float | None, list[str] | None]]:
        """``pass_rules`` table rows: key, key as an id (if an integer), threshold, pass-set."""
        out = []
        for key in sorted(set(self.thresholds) | set(self.pass_values)):
            as_id = int(key) if re.fullmatch(r"\s*-?\d+\s*", key) else None
            out.append((key, as_id, self.thresholds.get(key), self.pass_values.get(key)))
        return out

    def for_metric(self, metric_id: int | None, name: str | None) -> tuple[Any, Any]:
        """(threshold, pass_values) for a metric: a key equal to its id wins over its name."""
        threshold = pass_values = None
        for key in (str(metric_id) if metric_id is not None else None, name):
            if key is None:
                continue
            if threshold is None:
                threshold = self.thresholds.get(key)
            if pass_values is None:
                pass_values = self.pass_values.get(key)
        return threshold, pass_values


def rules_path(data_dir: str | Path, rules: str | Path | None = None) -> Path | None:
    """The rules file in effect: ``rules`` if given (must exist), else the data dir's, if any."""
    if rules is not None:
        path = Path(rules).expanduser()
        if not path.is_file():
            raise ConfigError(f"rules file {path} not found: check the --rules path")
        return path
    default = Path(data_dir).expanduser() / RULES_FILE
    return default if default.is_file() else None


def load_rules(path: str | Path | None) -> Rules:
    """Read and check a rules file (``None`` -> no rules); errors name the file and line."""
    if path is None:
        return Rules()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rules file {path}: cannot read it ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says e.g. "Invalid value (at line 3, column 14)"
        raise ConfigError(
            f"rules file {path}: invalid TOML: {exc}; expected e.g. {_EXAMPLE['thresholds']}"
        ) from None
    lines = text.splitlines()

    def fail(what: str, key: str, section: str | None = None) -> ConfigError:
        line = _find_line(lines, key, section)
        where = f" line {line}" if line else ""
        return ConfigError(f"rules file {path}{where}: {what}")

    for key in data:
        if key not in _TOP_KEYS:
            near = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"expected {' or '.join(_TOP_KEYS)}"
            raise fail(f"unknown key {key!r}: {hint}", key)
    thresholds: dict[str, float] = {}
    pass_values: dict[str, list[str]] = {}
    for section in _TOP_KEYS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise fail(
                f"{section} must be a table keyed by metric name or id, e.g. {_EXAMPLE[section]}",
                section,
            )
        for metric, val in table.items():
            if section == "thresholds":
                if isinstance(val, bool) or not isinstance(val, int | float) or math.isnan(val):
                    raise fail(
                        f"threshold for {metric!r} must be a number, got {val!r} "
                        f"(e.g. {_EXAMPLE['thresholds']})",
                        metric,
                        section,
                    )
                thresholds[metric] = float(val)
            else:
                ok = isinstance(val, list) and all(
                    isinstance(v, str | int | float) and not isinstance(v, bool) for v in val
                )
                if not ok:
                    raise fail(
                        f"pass_values for {metric!r} must be a list of values, got {val!r} "
                        f"(e.g. {_EXAMPLE['pass_values']})",
                        metric,
                        section,
                    )
                pass_values[metric] = [str(v) for v in val]
    return Rules(thresholds, pass_values, path)


def _find_line(lines: list[str], key: str, section: str | None) -> int | None:
    """1-based line where ``key`` is written (inside ``section`` when it has a header)."""
    pat = re.compile(r'(^|[\s{,."\'])' + re.escape(key) + r'(["\']?\s*=|["\']?\s*$|["\']?\s*\])')
    start = 0
    if section is not None:
        for i, line in enumerate(lines):
            if re.match(r"\s*\[\s*" + re.escape(section) + r"\s*\]", line):
                start = i
                break
    for i in range(start, len(lines)):
        if pat.search(lines[i]):
            return i + 1
    for i, line in enumerate(lines):
        if pat.search(line):
            return i + 1
    return None


def parse_condition(text: str | None) -> tuple[str, float] | None:
    """``'score gte 5'`` -> ``('gte', 5.0)``; also ``gt lte lt eq`` and ``>= > <= < ==``."""
    if text is None:
        return None
    m = _COND_RE.match(text.lower())
    if not m:
        return None
    return _SYMBOLS.get(m.group(1), m.group(1)), float(m.group(2))


def compare(score: float, op: str, threshold: float) -> bool:
    """``score <op> threshold`` for the condition operators."""
    return {
        "gte": score >= threshold,
        "gt": score > threshold,
        "lte": score <= threshold,
        "lt": score < threshold,
        "eq": score == threshold,
    }[op]


def decide(
    eval_type: str | None,
    score: float | None,
    value: str | None,
    rubric_passed: bool | None,
    rubric_conditions: str | None,
    threshold: float | None = None,
    pass_values: list[str] | None = None,
    metric_passed: bool | None = None,
) -> bool | None:
    """The pass rule for one result: True, False or None (unknown). See the module doc."""
    return decide_with_rule(
        eval_type,
        score,
        value,
        rubric_passed,
        rubric_conditions,
        threshold,
        pass_values,
        metric_passed,
    )[0]


def decide_with_rule(
    eval_type: str | None,
    score: float | None,
    value: str | None,
    rubric_passed: bool | None,
    rubric_conditions: str | None,
    threshold: float | None = None,
    pass_values: list[str] | None = None,
    metric_passed: bool | None = None,
) -> tuple[bool | None, str | None]:
    """The verdict and the step that decided it (``metric_results.pass_rule``), or None."""
    if rubric_passed is not None:
        return rubric_passed, "rubric"
    if metric_passed is not None:
        return metric_passed, "metric_passed"
    kind = normalise_eval_type(eval_type)
    if score is not None and kind == "binary":
        return score >= 1, "binary"  # 0/1, booleans and the legacy 0/5 alike
    if score is not None and kind in ("numeric", "continuous_qualitative"):
        cond = parse_condition(rubric_conditions)
        if cond is not None:
            return compare(score, *cond), "conditions"
        if threshold is not None:
            return score >= threshold, "rules_threshold"
    if kind == "enum" and value is not None and pass_values is not None:
        return value in pass_values, "rules_pass_values"
    return None, None


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for ``k`` successes out of ``n``; ``(None, None)`` when n = 0."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z test of p2 vs p1: ``(z, two-sided p-value)``.

    ``(None, None)`` when a side has no trials; ``(0.0, 1.0)`` when the pooled rate is 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


__all__ = [
    "RULES_FILE",
    "Z95",
    "Rules",
    "compare",
    "decide",
    "decide_with_rule",
    "load_rules",
    "normalise_eval_type",
    "parse_condition",
    "rules_path",
    "two_proportion_test",
    "wilson_interval",
]

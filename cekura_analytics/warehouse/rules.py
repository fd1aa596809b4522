"""The rules file: per-metric thresholds and enum pass-sets, read and checked once.

TOML, ``<data-dir>/cekura-analytics.toml`` or ``--rules PATH``, keyed by metric name or id
(as a string); errors name the file and the line::

    thresholds = { "Empathy" = 4, "1234" = 0.7 }
    pass_values = { "Sentiment" = ["positive", "neutral"] }

:mod:`cekura_analytics.passing` says when a score passes against them.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: the file looked for in the data dir when no ``--rules`` is given
RULES_FILE = "cekura-analytics.toml"
_TOP_KEYS = ("thresholds", "pass_values")
_EXAMPLE = {
    "thresholds": 'thresholds = { "Empathy" = 4 }',
    "pass_values": 'pass_values = { "Sentiment" = ["positive", "neutral"] }',
}


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


def unmatched_keys(rules: Rules, metrics: list[tuple[int | None, str | None]]) -> list[str]:
    """One line per rules-file key that names no metric of ``metrics`` (id, name), with the
    close matches: a misspelt name would otherwise leave its metric's results "unknown".
    Nothing when there are no metrics yet (nothing extracted to compare with)."""
    names = sorted({n for _, n in metrics if n})
    ids = {str(i) for i, _ in metrics if i is not None}
    if not names and not ids:
        return []
    where = rules.source or "the rules"
    out = []
    for key, as_id, *_ in rules.rows():
        if key in names or (as_id is not None and str(as_id) in ids):
            continue
        near = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(n) for n in near)}?" if near else "no close name"
        out.append(f"{where}: no metric is named {key!r} ({hint}); its rule applies to nothing")
    return out


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


__all__ = ["RULES_FILE", "Rules", "load_rules", "rules_path", "unmatched_keys"]

"""Wire-format variants of the live service, chosen by API version, era and run.

What varies, and why (``../shared/cekura-api/README.md``, "What the live service sends"):

* **Binary metric items.** Runs before the July 2026 migration (:data:`MIGRATION`, CEK-7539)
  carry the legacy form on v1 and v2 alike: ``type`` ``binary_workflow_adherence`` or
  ``binary_qualitative`` (fixed per metric) and ``score`` 0 or 5, no ``passed``. Runs after
  it carry, on v2 only, the canonical form: ``eval_type: "binary"`` and a boolean ``passed``
  on the item, with the legacy ``type``/``score`` pair beside it (the webhook page says it is
  still sent); v1 keeps the legacy form. The verdict is the same on every path.
* **Binary rubric rules** of runs after the migration read ``score eq true`` and carry
  ``passed`` (on ~80 %, like the other rules); older ones have no condition and no ``passed``.
* **agent_version.** v1 runs: the history-record id (int); v1 results: the same id as a
  string; v2 runs and results: ``{history_id, version_id, version_name}``. About 2 % of
  results (and their runs) ran against no recorded version: null everywhere.
* **Times.** About a quarter of runs stamp the transcript ``[0:05]`` / ``time: "0:05"``, the
  rest ``[00:05]`` / ``"00:05"``; a quarter (independently) send the duration ``M:SS``;
  calls of an hour or more send ``H:MM:SS``.
* **Counts** on v2 results are strings (the contract's SerializerMethodFields), integers on
  v1; ``success_rate`` is a percentage 0-100 on both, as every example shows.

Per-run choices come from a hash of (seed, run id), independent of the rendering streams.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl

from . import catalog as C
from .data import MIGRATION, MockData, hash_ids, hash_key, hash_one, to_us

MIGRATION_US = to_us(MIGRATION)
LEGACY_PASS_SCORE = 5
#: legacy item ``type`` of each binary metric (v1 metric lists show it as ``eval_type``)
LEGACY_BINARY = {301: "binary_workflow_adherence", 302: "binary_workflow_adherence",
                 303: "binary_qualitative", 310: "binary_qualitative"}  # fmt: skip
#: a binary rubric rule as written since the migration (rubric config docs: booleans, with
#: the legacy 5/0 still accepted); the entry's ``value`` stays the 0/5 score
BOOL_RULE: tuple[str, dict[str, Any]] = (
    "score eq true",
    {"operator": "and", "conditions": [{"field": "score", "op": "eq", "value": True}]},
)
S_STYLE, S_NO_VERSION = 21, 22  # hash salts (data.py uses 1-10 and 1000+)
API_VERSIONS = ("v1", "v2")


@cache
def _key(seed: int, salt: int) -> int:
    return hash_key(seed, salt)


def legacy_type(metric: C.Metric) -> str:
    """The legacy wire name of a metric's eval type (non-binary names never changed)."""
    if metric.eval_type != "binary":
        return metric.eval_type
    return LEGACY_BINARY.get(metric.id, "binary_workflow_adherence")


def canonical(api: str, ts_us: int) -> bool:
    """Whether binary items of a run stamped ``ts_us`` use the canonical form on ``api``."""
    return api == "v2" and ts_us >= MIGRATION_US


def binary_fields(metric: C.Metric, passed: bool, canonical_form: bool) -> dict[str, Any]:
    """The binary-specific keys of a metric item (legacy pair, plus the canonical pair)."""
    out: dict[str, Any] = {"type": legacy_type(metric),
                           "score": LEGACY_PASS_SCORE if passed else 0}  # fmt: skip
    if canonical_form:
        out.update(eval_type="binary", passed=passed)
    return out


def style(data: MockData, run_id: int) -> int:
    """Per-run style bits: bit 0 = ``M:SS`` transcript stamps, bit 1 = ``M:SS`` duration."""
    h = hash_one(_key(data.seed, S_STYLE), run_id)
    return int((h & 3) == 0) | (int((h >> 2 & 3) == 0) << 1)


def stamp(seconds: int, short: bool) -> str:
    """A transcript stamp: ``M:SS`` when ``short``, else ``MM:SS`` (minutes may exceed 59)."""
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if short
        else f"{seconds // 60:02d}:{seconds % 60:02d}"
    )


def duration(seconds: int, short: bool = False) -> str:
    """A call duration: ``H:MM:SS`` from an hour on, else ``M:SS`` or ``MM:SS``."""
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return stamp(seconds, short)


def duration_seconds(text: str) -> int:
    """Seconds of any :func:`duration` text."""
    secs = 0
    for part in text.split(":"):
        secs = secs * 60 + int(part)
    return secs


def has_version(data: MockData, result_id: int) -> bool:
    """False for the ~2 % of results that ran against no recorded agent version."""
    return hash_one(_key(data.seed, S_NO_VERSION), result_id) % 50 != 0


def versioned(data: MockData, result_ids: pl.Series) -> pl.Series:
    """:func:`has_version` of every result id in a series (vectorised twin)."""
    return hash_ids(_key(data.seed, S_NO_VERSION), result_ids) % 50 != 0


def agent_version(data: MockData, ver: int, result_id: int, api: str, kind: str) -> Any:
    """``agent_version`` of a run or result (``kind`` ``"run"`` / ``"result"``) on ``api``."""
    if not has_version(data, result_id):
        return None
    ai, history_id = C.VERSIONS[ver]
    if api == "v2":
        k = [vid for vid, _ in C.AGENTS[ai].versions].index(history_id) + 1
        return {"history_id": history_id, "version_id": k, "version_name": f"v{k}"}
    return str(history_id) if kind == "result" else history_id


def counts(values: dict[str, Any], api: str) -> dict[str, Any]:
    """Result run counts as ``api`` sends them (strings on v2)."""
    return {k: str(v) for k, v in values.items()} if api == "v2" else values

"""Crafted data dirs for the gate and improve-impact tests: exact pass counts per version.

``write_versions(d, {("v1", "Empathy"): (100, 95), ...})`` writes one run per result (agent 1)
with one metric each, ``k`` of ``n`` passing (``rubric_passed``), versions introduced in the
order given, one hour apart per version, committed through the store like the extractor's tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from factories import T0, frame, result, run

from cekura_analytics.lake.store import Store

#: metric names -> ids of the crafted catalogue
METRIC_IDS = {name: i for i, name in enumerate(
    ["Empathy", "Clarity", "Latency", "Booked", "Tone", "Policy", "Greeting", "Name", "Date",
     "Goodbye"], start=1)}  # fmt: skip
#: scenario per language / personality: 1 = en, "Calm"; 2 = es, "Angry"
SCENARIOS = [
    {"scenario_id": 1, "name": "Refund", "personality_id": 1, "scenario_language": "en"},
    {"scenario_id": 2, "name": "Booking", "personality_id": 2, "scenario_language": "es"},
]
PERSONALITIES = [
    {"personality_id": 1, "name": "Calm", "language": "en"},
    {"personality_id": 2, "name": "Angry", "language": "es"},
]
Counts = dict[tuple[str, str] | tuple[str, str, int], tuple[int, int]]


def version_start(index: int) -> datetime:
    """When the ``index``-th version (0-based, in the order given) is first seen."""
    return T0 + timedelta(hours=index)


def write_versions(data_dir: Path, counts: Counts, agent_id: int = 1) -> Path:
    """Runs and results for ``{(version, metric[, scenario]): (n, k)}``; returns ``data_dir``."""
    versions = list(dict.fromkeys(key[0] for key in counts))
    ids = dict(METRIC_IDS)  # names outside the catalogue get the next ids
    for key in counts:
        ids.setdefault(key[1], len(ids) + 1)
    runs, rms = [], []
    run_id = 0
    for key, (n, k) in counts.items():
        version, metric = key[0], key[1]
        scenario = key[2] if len(key) == 3 else 1
        start = version_start(versions.index(version))
        for i in range(n):
            run_id += 1
            when = start + timedelta(seconds=run_id)
            runs.append(run(run_id, agent_id=agent_id, agent_version=version, timestamp=when,
                            scenario_id=scenario, personality_id=scenario))  # fmt: skip
            rms.append(result(run_id, ids[metric], rubric_passed=i < k))
    metrics = [{"metric_id": i, "name": name, "eval_type": "binary"} for name, i in ids.items()]
    tables = {"runs": runs, "run_metrics": rms, "metrics": metrics, "scenarios": SCENARIOS,
              "personalities": PERSONALITIES}  # fmt: skip
    # committed through the store, as the extractor does, so a later ledger commit keeps them
    with Store(data_dir, lock=True) as store:
        for table, rows in tables.items():
            store.replace_table(table, frame(table, rows))
    return data_dir


def write_jobs(data_dir: Path, jobs: list[dict[str, Any]]) -> None:
    """Commit improve-job rows (``empty_row`` + the given fields) through the ledger."""
    from cekura_analytics.improve import ledger as lg

    with Store(data_dir, lock=True) as store:
        book = lg.Ledger(store)
        for fields in jobs:
            book.put(lg.empty_row() | {"kind": "prompt", "status": lg.COMPLETED} | fields)
        book.commit()


#: a clear regression of Empathy (95 % -> 70 %), small changes elsewhere
REGRESSION = {
    ("v1", "Empathy"): (100, 95),
    ("v1", "Clarity"): (100, 90),
    ("v1", "Latency"): (100, 90),
    ("v2", "Empathy"): (100, 70),
    ("v2", "Clarity"): (100, 88),
    ("v2", "Latency"): (100, 93),
}

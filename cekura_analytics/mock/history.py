"""The improve jobs the mock's team ran in the past, for ``improve impact`` to judge.

The mock's version history plants a fix (see :mod:`.data`): agent 101's version 4519 (``v3``
on v2 reads) fails Appointment Booked (301) nine times as often as usual, and the next
version, 4588 (``v4``), repairs it. Improve-prompt jobs live only in the client's ledger (the
API cannot list them), so a freshly extracted data dir has no record of what the team did
while 4519 was live. This module writes it: improve-prompt jobs on a few runs that failed the
planted metric, each finished an hour after its run and before the fixing version shipped,
answered the way the mock's improve endpoint answers (:func:`.jobs.improved_prompt`).
``improve impact`` then finds the version shipped after them, better on their targeted metric.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from . import catalog as C
from .jobs import improved_prompt

#: ledger ``message`` of the jobs written here, so nobody mistakes them for launched ones
MESSAGE = "recorded from the mock's history (not launched against the API)"


def planted_fixes() -> list[tuple[int, int, int, int, str]]:
    """(agent id, broken version, fixing version, metric id, metric name) the mock plants;
    versions as agent history-record ids."""
    out = []
    for (metric_idx, vid), factor in C.VERSION_FAIL.items():
        for agent in C.AGENTS:
            ids = [v for v, _ in agent.versions]
            if factor > 1 and vid in ids and ids.index(vid) + 1 < len(ids):
                metric = C.METRICS[metric_idx]
                out.append((agent.id, vid, ids[ids.index(vid) + 1], metric.id, metric.name))
    return out


def version_label(data_dir: str | Path, history_id: int) -> str | None:
    """The ``agent_version`` the views show for a history-record id (v1 reads: the id itself,
    v2 reads: its ``version_name`` such as ``v3``); None when no run used it."""
    from ..warehouse.connection import query

    found = query(
        data_dir,
        "select min(d.agent_version) from run_details as d"
        " join stg_runs as s on s.run_id = d.run_id where s.agent_version_id = $id",
        {"id": history_id},
    )
    return found.item()


def record_improve_history(data_dir: str | Path, *, jobs_per_fix: int = 3) -> list[str]:
    """Write the past improve-prompt jobs into ``data_dir``'s ledger; returns their job ids.

    ``data_dir`` must hold an extract of the mock. Jobs already in the ledger are kept as
    they are (the job id depends on the run and the prompt, so rerunning adds nothing).
    """
    from ..improve import ledger as lg
    from ..lake.maintenance import open_writer
    from ..warehouse.connection import query

    written: list[str] = []
    for agent_id, broken_id, fixed_id, metric_id, metric_name in planted_fixes():
        agent = C.AGENTS[C.AGENT_BY_ID[agent_id]]
        broken, fixed = version_label(data_dir, broken_id), version_label(data_dir, fixed_id)
        if broken is None or fixed is None:
            continue  # too few runs extracted to hold both versions
        runs = query(
            data_dir,
            "with fix as (select min(timestamp) as shipped_at from metric_results"
            " where agent_id = $agent and agent_version = $fixed)"
            " select m.run_id, m.timestamp from metric_results as m, fix"
            " where m.agent_id = $agent and m.agent_version = $broken and m.metric_id = $metric"
            " and not m.passed and m.timestamp < fix.shipped_at - interval 1 day"
            " order by m.timestamp desc limit $n",
            {"agent": agent_id, "fixed": fixed, "broken": broken, "metric": metric_id,
             "n": jobs_per_fix},
        )  # fmt: skip
        answer = improved_prompt(agent.prompt, [metric_name])
        sha = lg.sha256_text(agent.prompt)
        with open_writer(data_dir) as store:
            book = lg.Ledger(store)
            for run_id, at in runs.iter_rows():
                job_id = lg.make_job_id("prompt", run_id, sha)
                if book.get(job_id) is None:
                    row = lg.empty_row() | answer | {"job_id": job_id, "kind": "prompt"}
                    row |= {"run_id": run_id, "agent_id": agent_id, "prompt": agent.prompt}
                    row |= {"prompt_sha256": sha, "status": lg.COMPLETED, "attempts": 1}
                    row |= {"created_at": at, "launched_at": at, "message": MESSAGE}
                    row["finished_at"] = at + timedelta(hours=1)
                    book.put(row)
                written.append(job_id)
            book.commit()
    return written


__all__ = ["MESSAGE", "planted_fixes", "record_improve_history", "version_label"]

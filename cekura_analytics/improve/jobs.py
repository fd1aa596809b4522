"""Improve-prompt and improve-instructions jobs: launch once, persist, collect, show.

The jobs cost money and minutes, so the ledger (:mod:`cekura_analytics.ledger`) is the
single source of truth: a job already in it is never sent again unless asked
(``retry_failed`` / ``retry_uncertain``); the intent is committed before each POST and the
``progress_id`` right after, so a crash can at worst leave an explicit ``uncertain`` row;
:func:`collect` commits each answer the moment it arrives and gives up at a deadline,
leaving unfinished jobs open for the next call. Wire shapes: :mod:`cekura_analytics.jobs_wire`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..analysis.outlier_runs import outliers as find_outliers
from ..api import jobs_wire as wire
from ..api.client import CekuraClient
from ..config import load_settings
from ..defaults import JOB_CONCURRENCY
from ..errors import (
    ApiError,
    AuthError,
    CekuraError,
    ConfigError,
    ConnectError,
    DataError,
    JobError,
    NotFoundError,
    RateLimitedError,
)
from ..lake.maintenance import open_writer
from ..lake.store import Store
from ..lake.sync import progress_bar
from ..warehouse.connection import connect
from . import ledger as lg


@dataclass(frozen=True)
class _Spec:
    """One job to launch: its ledger row (identity columns filled) and its request body."""

    row: dict[str, Any]
    body: dict[str, Any]

    @property
    def job_id(self) -> str:
        """The ledger key."""
        return str(self.row["job_id"])


def _spec(kind: str, key: int, text: str, extra: str | None, body: Any, **ids: Any) -> _Spec:
    sha = lg.sha256_text(text) if extra is None else lg.sha256_text(text, extra)
    row = {**lg.empty_row(), **ids, "job_id": lg.make_job_id(kind, key, sha), "kind": kind}
    row.update(prompt_sha256=sha, prompt=text, extra_instructions=extra)
    return _Spec(row, body.model_dump(exclude_none=True))


def read_prompt(prompt: str | Path) -> str:
    """Prompt text from a :class:`Path` (a file) or a ``str`` (the text itself); never empty."""
    if isinstance(prompt, Path):
        try:
            prompt = prompt.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"prompt file {prompt} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"prompt file {prompt} is unreadable ({exc})") from None
    if not prompt.strip():
        raise ConfigError("the prompt is empty: give a file holding the agent's current prompt")
    return prompt


def _client(
    client: CekuraClient | None, base_url: str | None, api_key: str | None, n: int, version: str
) -> Any:
    return client or CekuraClient(
        load_settings(base_url, api_key), concurrency=n, api_version=version
    )


# -- launching -------------------------------------------------------------------------------
def improve_launch(
    data_dir: str | Path,
    run_ids: list[int] | None,
    prompt: str | Path,
    *,
    outliers: int | None = None,
    per_mode: int | None = None,
    top_modes: int = 5,
    concurrency: int = JOB_CONCURRENCY,
    retry_failed: bool = False,
    retry_uncertain: bool = False,
    base_url: str | None = None,
    api_key: str | None = None,
    api_version: str = "auto",
    client: CekuraClient | None = None,
) -> pl.DataFrame:
    """Launch one improve-prompt job per run (skipping those the ledger holds); rows + action.

    The runs are ``run_ids``, the top ``outliers`` runs of the ``outlier_runs`` view, or the
    ``per_mode`` most central runs of each of the ``top_modes`` largest failure modes (their
    mode is recorded in the ledger's ``mode_id``; see :func:`.failure_modes.representative_runs`).
    """
    text = read_prompt(prompt)  # a missing or empty prompt fails before anything else
    if sum(x is not None for x in (run_ids, outliers, per_mode)) != 1:
        raise ConfigError("pass exactly one of --run-ids 1,2, --outliers N or --per-mode N")
    mode_ids: dict[int, str] = {}
    if outliers is not None:
        run_ids = [int(r) for r in find_outliers(data_dir, limit=outliers)["run_id"]]
    elif per_mode is not None:
        from ..analysis.modes import representative_runs

        picked = representative_runs(data_dir, per_mode, top_modes=top_modes)
        run_ids, mode_ids = (
            picked["run_id"].to_list(),
            dict(picked.select("run_id", "mode_id").rows()),
        )
    ids = list(dict.fromkeys(int(r) for r in run_ids or []))
    if not ids:
        raise ConfigError("no run ids to launch: pass --run-ids 1,2 or --outliers N")
    where = _run_scenarios(data_dir, ids)
    failed = _failed_metrics(data_dir, ids)
    specs = []
    for rid in ids:
        body = wire.ImprovePromptRequest(
            prompt=text, run_ids=[rid], workflow_metric_ids=failed.get(rid) or None
        )
        scenario_id, agent_id = where.get(rid, (None, None))
        ids_: dict[str, Any] = {"run_id": rid, "scenario_id": scenario_id, "agent_id": agent_id}
        ids_["mode_id"] = mode_ids.get(rid)
        specs.append(_spec("prompt", rid, text, None, body, **ids_))
    opts = (concurrency, retry_failed, retry_uncertain, base_url, api_key, api_version, client)
    return _launch(data_dir, specs, *opts)


def improve_instructions(
    data_dir: str | Path,
    scenario_ids: list[int],
    extra_instructions: str,
    *,
    concurrency: int = JOB_CONCURRENCY,
    retry_failed: bool = False,
    retry_uncertain: bool = False,
    base_url: str | None = None,
    api_key: str | None = None,
    api_version: str = "auto",
    client: CekuraClient | None = None,
) -> pl.DataFrame:
    """Launch one improve-instructions job per extracted scenario; rows + action."""
    ids = list(dict.fromkeys(int(s) for s in scenario_ids))
    if not ids:
        raise ConfigError("no scenario ids to launch: pass --scenario-ids 1,2")
    if not extra_instructions.strip():
        raise ConfigError("extra instructions are empty: say what the scenario should change")
    scen = Store(data_dir).read("scenarios").filter(pl.col("scenario_id").is_in(ids))
    known = {r["scenario_id"]: r for r in scen.to_dicts()}
    missing = [s for s in ids if s not in known or known[s]["agent_id"] is None]
    if missing:
        raise DataError(
            f"scenario(s) {missing} are not in {data_dir} (or have no agent): run "
            "`cekura-analytics extract` first"
        )
    specs = []
    for sid in ids:
        cur, agent = known[sid]["instructions"] or "", int(known[sid]["agent_id"])
        body = wire.ImproveInstructionsRequest(
            agent=agent, extra_instructions=extra_instructions, current_instructions=cur
        )
        ids_ = {"scenario_id": sid, "agent_id": agent}
        specs.append(_spec("instructions", sid, cur, extra_instructions, body, **ids_))
    opts = (concurrency, retry_failed, retry_uncertain, base_url, api_key, api_version, client)
    return _launch(data_dir, specs, *opts)


def _run_scenarios(
    data_dir: str | Path, run_ids: list[int]
) -> dict[int, tuple[int | None, int | None]]:
    """(scenario_id, agent_id) of the runs the data dir holds (context for the ledger/view)."""
    df = (
        Store(data_dir)
        .read("runs", columns=["run_id", "scenario_id", "agent_id"])
        .filter(pl.col("run_id").is_in(run_ids))
    )
    return {r["run_id"]: (r["scenario_id"], r["agent_id"]) for r in df.to_dicts()}


def _failed_metrics(data_dir: str | Path, run_ids: list[int]) -> dict[int, list[int]]:
    """The metric ids each run failed (``metric_results``), so a job targets what failed."""
    try:
        con = connect(data_dir)
    except CekuraError:  # nothing extracted: the jobs go out without a target list
        return {}
    try:
        rows = con.execute(
            "select run_id, list(distinct metric_id order by metric_id) from metric_results "
            "where passed = false and run_id in (select unnest(?::bigint[])) group by run_id",
            [run_ids],
        ).fetchall()
    finally:
        con.close()
    return {int(r): list(m) for r, m in rows}


def _launch(
    data_dir: str | Path,
    specs: list[_Spec],
    concurrency: int,
    retry_failed: bool,
    retry_uncertain: bool,
    base_url: str | None,
    api_key: str | None,
    api_version: str,
    client: CekuraClient | None,
) -> pl.DataFrame:
    actions: dict[str, str] = {}
    with open_writer(data_dir) as store:
        ledger = lg.Ledger(store)
        ledger.reconcile()
        todo: list[_Spec] = []
        for s in specs:
            row = ledger.get(s.job_id)
            again = row is not None and (
                (row["status"] == lg.FAILED and retry_failed)
                or (row["status"] == lg.UNCERTAIN and retry_uncertain)
            )
            if row is None or again:
                todo.append(s)
                actions[s.job_id] = "relaunched" if again else "launched"
            else:
                actions[s.job_id] = f"kept ({row['status']})"
        if todo:
            # the client (and the key) is only needed when something is sent
            api = _client(client, base_url, api_key, concurrency, api_version)
            try:
                _send(api, ledger, todo, actions, concurrency)
            finally:
                if client is None:
                    api.close()
        out = ledger.frame(s.job_id for s in specs)
    return out.with_columns(action=pl.Series([actions[j] for j in out["job_id"]], dtype=pl.String))


def _send(
    api: CekuraClient, ledger: lg.Ledger, todo: list[_Spec], actions: dict[str, str], n: int
) -> None:
    """POST each job: intent committed just before, answer committed just after."""
    previous: dict[str, dict[str, Any] | None] = {}
    abort: list[CekuraError] = []

    def intents() -> Iterator[_Spec]:
        # runs on this thread, interleaved with the answers below (map_concurrently pulls
        # items here), so every commit stays single-threaded; window=n keeps "launching"
        # rows to the requests really in flight
        for s in todo:
            if abort:
                return
            old = ledger.get(s.job_id)
            previous[s.job_id] = dict(old) if old else None
            row = {**s.row, "status": lg.LAUNCHING, "created_at": lg.now()}
            row["attempts"] = (old["attempts"] or 0) + 1 if old else 1
            ledger.put(row)
            ledger.commit()
            yield s

    def post(s: _Spec) -> tuple[_Spec, wire.LaunchResponse | CekuraError]:
        path = wire.LAUNCH_PATHS[s.row["kind"]]
        try:
            return s, wire.parse_launch(api.post(path, s.body), path)
        except CekuraError as exc:
            return s, exc

    try:
        for s, got in api.map_concurrently(post, intents(), window=n):
            row = ledger.get(s.job_id)
            assert row is not None
            if isinstance(got, wire.LaunchResponse):
                row.update(status=lg.QUEUED, progress_id=got.progress_id, launched_at=lg.now())
                row["project_id"] = got.project_id
            elif _not_sent(got):
                # nothing was created: forget the intent so a plain rerun sends it
                prev = previous[s.job_id]
                if prev:
                    ledger.put(prev)
                else:
                    ledger.drop(s.job_id)
                actions[s.job_id] = f"not sent ({type(got).__name__})"
                abort.append(got)
            elif isinstance(got, ApiError) and got.status is not None and got.status < 500:
                # rejected (400 carries DRF field errors in the message): nothing was created
                row.update(status=lg.FAILED, error=str(got), message=lg.FAILED_MESSAGE)
                row["finished_at"] = lg.now()
            else:  # 5xx, timeout, bad answer: the job may exist
                row.update(status=lg.UNCERTAIN, error=str(got), message=lg.UNCERTAIN_MESSAGE)
            ledger.commit()
    finally:
        # interrupted (Ctrl-C in a notebook, an unexpected error): the requests in flight
        # may have created jobs whose answers are lost, so say so now, not next time
        ledger.reconcile()
    gone = [a for a in abort if isinstance(a, ApiError) and _endpoint_gone(a)]
    if gone:
        raise JobError(
            f"this server does not offer {gone[0].path} ({gone[0].status}; Cekura removed "
            "improve-prompt from its API in June 2026), so no job was "
            "launched or recorded; the outlier runs and their failed metrics are still in the "
            "outlier_runs view, for Cekura's agent-improvement flow"
        )
    if abort:
        raise JobError(
            f"{sum(a.startswith('not sent') for a in actions.values())} job(s) not "
            f"launched, nothing was sent for them; rerun launch: {abort[0]}"
        )


def _endpoint_gone(exc: CekuraError) -> bool:
    """True when the launch endpoint itself does not exist on this server (404/405)."""
    return isinstance(exc, ApiError) and exc.status in wire.ENDPOINT_GONE_STATUSES


def _not_sent(exc: CekuraError) -> bool:
    """True when the error proves the service created nothing (auth, rate limit, refused)."""
    if isinstance(exc, AuthError | RateLimitedError | NotFoundError) or _endpoint_gone(exc):
        return True
    text = str(exc)
    return isinstance(exc, ConnectError) and ("refused" in text or "unknown host" in text)


# -- collecting ------------------------------------------------------------------------------
def improve_collect(
    data_dir: str | Path,
    *,
    timeout: float = 600,
    poll: float = 2.0,
    max_poll: float = 30.0,
    job_ids: list[str] | None = None,
    concurrency: int = JOB_CONCURRENCY,
    quiet: bool = False,
    base_url: str | None = None,
    api_key: str | None = None,
    api_version: str = "auto",
    client: CekuraClient | None = None,
) -> pl.DataFrame:
    """Poll open jobs (backoff ``poll`` → ``max_poll``) until done or ``timeout``; their rows."""
    with open_writer(data_dir) as store:
        ledger = lg.Ledger(store)
        ledger.reconcile()
        wanted = set(job_ids) if job_ids is not None else None
        ids = [
            j
            for j, r in ledger.rows.items()
            if r["status"] in lg.OPEN and r["progress_id"] and (wanted is None or j in wanted)
        ]
        if not ids:
            return ledger.frame([])
        api = _client(client, base_url, api_key, concurrency, api_version)
        try:
            _poll_loop(api, ledger, ids, timeout, poll, max_poll, concurrency, quiet)
        finally:
            ledger.commit()  # poll counts and open statuses; answers were committed already
            if client is None:
                api.close()
        return ledger.frame(ids)


def _poll_loop(
    api: CekuraClient,
    ledger: lg.Ledger,
    ids: list[str],
    timeout: float,
    poll: float,
    max_poll: float,
    n: int,
    quiet: bool,
) -> None:
    start = time.monotonic()
    deadline = start + timeout
    due = dict.fromkeys(ids, start)
    interval = dict.fromkeys(ids, poll)
    bar = progress_bar(len(ids), "improve jobs", "job", quiet=quiet)

    def get(j: str) -> tuple[str, wire.ProgressResponse | CekuraError]:
        row = ledger.rows[j]
        path = wire.PROGRESS_PATHS[row["kind"]]
        try:
            body = api.get(path, {wire.PROGRESS_PARAM: row["progress_id"]})
            return j, wire.parse_progress(body, path)
        except CekuraError as exc:
            return j, exc

    try:
        while due and (now := time.monotonic()) < deadline:
            ready = [j for j, t in due.items() if t <= now]
            if not ready:
                time.sleep(max(0.0, min(min(due.values()), deadline) - now))
                continue
            for j, got in api.map_concurrently(get, ready, window=n):
                if lg.record_poll(ledger.rows[j], got):
                    del due[j]
                    ledger.commit()  # each answer is safe the moment it arrives
                    bar.update(1)
                else:
                    factor = 1.5 if isinstance(got, wire.ProgressResponse) else 2.0
                    interval[j] = min(interval[j] * factor, max_poll)
                    due[j] = time.monotonic() + interval[j]
    finally:
        bar.close()
    waited = time.monotonic() - start
    for j in due:
        row = ledger.rows[j]
        row["message"] = (
            f"still {row['status']} after {waited:.0f} s of polling "
            f"({row['polls']} polls); run `cekura-analytics improve collect` "
            "again later"
        )
    if due:
        lg.log.warning(
            "%d improve job(s) still open at the timeout; they stay in the ledger, "
            "run `cekura-analytics improve collect` again later",
            len(due),
        )


def improve_show(data_dir: str | Path, *, job_id: str | None = None) -> pl.DataFrame:
    """Finished jobs (or one job, any status): the submitted and the improved text side by side
    (``present.text.JobDiffs`` shows them as diffs)."""
    df = lg.read_ledger(data_dir).sort("job_id")
    if job_id is not None:
        df = df.filter(pl.col("job_id") == job_id)
        if df.is_empty():
            raise JobError(f"no improve job {job_id!r} in {data_dir}: see `improve show`")
    else:
        df = df.filter(pl.col("status").is_in(lg.FINISHED))
    return df

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
from ..scope import check_agent, known_agents_text
from ..warehouse.connection import fetch, opened
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
    agent_id: int | None = None,
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

    A prompt is one agent's, so the runs are of one agent (``agent_id``, else the only agent
    the runs or the data dir have) and a job learns from a failure, so runs that failed no
    metric are skipped. The runs are ``run_ids`` (each must be in the data dir: nothing is
    sent for an unknown id), or the top ``outliers`` runs of the ``outlier_runs`` view, or the
    ``per_mode`` most central runs of each of the ``top_modes`` largest failure modes (their
    mode goes into the ledger's ``mode_id``; see :func:`.failure_modes.representative_runs`),
    the last two among the runs of the agent's current version.
    """
    text = read_prompt(prompt)  # a missing or empty prompt fails before anything else
    if sum(x is not None for x in (run_ids, outliers, per_mode)) != 1:
        raise ConfigError("pass exactly one of --run-ids 1,2, --outliers N or --per-mode N")
    picked = _pick_runs(data_dir, run_ids, agent_id, outliers, per_mode, top_modes)
    specs = []
    for rid, (scenario_id, agent, failed, mode_id) in picked.items():
        body = wire.ImprovePromptRequest(prompt=text, run_ids=[rid], workflow_metric_ids=failed)
        ids_: dict[str, Any] = {"run_id": rid, "scenario_id": scenario_id, "agent_id": agent}
        ids_["mode_id"] = mode_id
        specs.append(_spec("prompt", rid, text, None, body, **ids_))
    opts = (concurrency, retry_failed, retry_uncertain, base_url, api_key, api_version, client)
    return _launch(data_dir, specs, *opts)


#: a picked run: scenario, agent, the metric ids it failed, the failure mode it stands for
_Picked = tuple[int | None, int | None, list[int], str | None]


def _pick_runs(
    data_dir: str | Path,
    run_ids: list[int] | None,
    agent_id: int | None,
    outliers: int | None,
    per_mode: int | None,
    top_modes: int,
) -> dict[int, _Picked]:
    """The runs to launch jobs for, checked against the data dir before anything is sent."""
    from ..analysis.versions import agent_versions

    with opened(data_dir) as con:
        check_agent(con, agent_id)
        facts = fetch(
            con,
            "select r.run_id, r.scenario_id, r.agent_id, r.agent_version,"
            " coalesce(list(distinct m.metric_id order by m.metric_id)"
            "   filter (where m.passed = false), []) as failed"
            " from run_details as r left join metric_results as m on m.run_id = r.run_id"
            " where $ids is null or list_contains($ids, r.run_id) group by all",
            {"ids": None if run_ids is None else [int(r) for r in run_ids]},
        )
        known = {r["run_id"]: r for r in facts.iter_rows(named=True)}
        if run_ids is not None:
            ids = list(dict.fromkeys(int(r) for r in run_ids))
            if not ids:
                raise ConfigError("no run ids to launch: pass --run-ids 1,2 or --outliers N")
            unknown = [r for r in ids if r not in known]
            if unknown:
                raise ConfigError(
                    f"run(s) {', '.join(map(str, unknown[:10]))} are not in {data_dir}: nothing "
                    "was sent; check the ids, or run `cekura-analytics extract` first"
                )
            agent = _one_agent(con, [known[r]["agent_id"] for r in ids], agent_id, "--run-ids name")
            wanted = [r for r in ids if known[r]["agent_id"] == agent]
            if len(wanted) < len(ids):
                other = [r for r in ids if r not in wanted]
                raise ConfigError(
                    f"run(s) {', '.join(map(str, other[:10]))} are not of agent {agent}: a prompt "
                    "is one agent's; launch them with that agent's prompt"
                )
            modes: dict[int, str] = {}
        else:
            agent = _one_agent(con, list(known_agents(con)), agent_id, "the data dir holds")
            versions = agent_versions(con, agent)
            current = versions["agent_version"][-1] if versions.height else None
            eligible = {
                r for r, f in known.items()
                if f["agent_id"] == agent and f["failed"]
                and (current is None or f["agent_version"] == current)
            }  # fmt: skip
            where = f"agent {agent}" + (f" version {current}" if current is not None else "")
            if outliers is not None:
                ranked = find_outliers(con, limit=None)["run_id"].to_list()
                wanted = [r for r in ranked if r in eligible][: max(0, outliers)]
                modes = {}
            else:
                from ..analysis.modes import representative_runs

                got = representative_runs(con, per_mode or 0, top_modes=top_modes, among=eligible)
                wanted = got["run_id"].to_list() if got.height else []
                modes = dict(got.select("run_id", "mode_id").rows()) if got.height else {}
            if not wanted:
                raise DataError(
                    f"no run of {where} (its current version) failed a metric among the "
                    f"{'outlier runs' if outliers is not None else 'failure modes'}: "
                    "nothing to improve"
                )
    out: dict[int, _Picked] = {}
    for rid in wanted:
        f = known[rid]
        if not f["failed"]:
            lg.log.warning(
                "skipped run %s: it failed no metric, so a job has nothing to learn from", rid
            )
            continue
        out[rid] = (f["scenario_id"], f["agent_id"], list(f["failed"]), modes.get(rid))
    if not out:
        raise ConfigError("none of the runs failed a metric: a job needs a failure to learn from")
    return out


def known_agents(con: Any) -> list[int]:
    """The agent ids the runs of a connection's snapshot name."""
    rows = con.execute("select distinct agent_id from run_details where agent_id is not null")
    return sorted(int(a) for (a,) in rows.fetchall())


def _one_agent(con: Any, agents: list[Any], agent_id: int | None, what: str) -> int:
    """``agent_id``, else the one agent of ``agents``; several: say a prompt is one agent's."""
    if agent_id is not None:
        return int(agent_id)
    distinct = sorted({int(a) for a in agents if a is not None})
    if len(distinct) == 1:
        return distinct[0]
    if not distinct:
        raise DataError("the runs name no agent: pass --agent-id")
    names = dict(con.execute("select agent_id, agent_name from stg_agents").fetchall())
    listed = known_agents_text([(a, names.get(a)) for a in distinct])
    raise ConfigError(
        f"{what} runs of several agents ({listed}): a prompt is one agent's, pass --agent-id"
    )


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
    lg.check_data_dir(data_dir)  # a typo must not create a dir and say "no open jobs"
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

"""Improve jobs against the mock over HTTP: launch once, crash-safe ledger, collect, show, view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
from click.testing import CliRunner
from conftest import MOCK_KEY

from cekura_analytics.api.jobs_wire import PROMPT_LAUNCH_PATH, PROMPT_PROGRESS_PATH
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError, JobError, StoreError
from cekura_analytics.improve import jobs as improve
from cekura_analytics.improve import ledger as lg
from cekura_analytics.lake.store import Store
from cekura_analytics.present.text import JobDiffs
from cekura_analytics.showcase import SAMPLE_PROMPT

KEY = MOCK_KEY  # the key the mock fixtures accept
V1 = "/test_framework/v1"
LAUNCH = V1 + PROMPT_LAUNCH_PATH
PROGRESS = V1 + PROMPT_PROGRESS_PATH
SAMPLE = SAMPLE_PROMPT
# the mock fails ~10 % of distinct inputs on purpose; tests that need it set the rates instead
JOBS_OK = {"job_hash_failures": False}
FAST: dict[str, Any] = {"timeout": 20, "poll": 0.02, "max_poll": 0.1, "quiet": True}


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def server(make_mock_server: Callable[..., Any], key_env: None) -> Callable[..., Any]:
    """A small mock whose jobs finish on the second poll and fail only when told to."""

    def make(**kw: Any) -> Any:
        return make_mock_server(**{"runs": 300, "job_polls_to_finish": 2, **JOBS_OK, **kw})

    return make


def faults(srv: Any, **changes: Any) -> None:
    """Change the mock's runtime knobs (``POST /_mock/faults``)."""
    requests.post(f"{srv.base_url}/_mock/faults", json=changes, timeout=10).raise_for_status()


def stats(srv: Any) -> dict[str, int]:
    """Requests per path, as ``GET /_mock/stats`` reports them."""
    body = requests.get(f"{srv.base_url}/_mock/stats", timeout=10).json()
    return {"total": body["total"], **body["paths"]}


def reset(srv: Any) -> None:
    requests.post(f"{srv.base_url}/_mock/stats/reset", timeout=10).raise_for_status()


def failing(srv: Any, d: Path, n: int) -> list[int]:
    """``n`` runs of one agent that failed a metric, extracted from ``srv`` into ``d`` (a job
    is launched only for runs the data dir holds and that failed something)."""
    from cekura_analytics.lake.sync import extract
    from cekura_analytics.warehouse.connection import query

    if not (d / "runs").is_dir():
        extract(d, base_url=srv.base_url, api_key=srv.config.api_key, quiet=True)
    got = query(
        d,
        "select run_id from metric_results where passed = false and agent_id = ("
        " select agent_id from run_details group by 1 order by count(*) desc, 1 limit 1)"
        " group by run_id order by run_id desc limit $n",
        {"n": n},
    )["run_id"].to_list()
    assert len(got) == n
    return got


def prompt_file(tmp_path: Path, text: str | None = None) -> Path:
    p = tmp_path / "prompt.txt"
    p.write_text(SAMPLE.read_text() if text is None else text)
    return p


def ledger(data_dir: Path) -> pl.DataFrame:
    """The committed ledger, read while another process may be committing (retry a race)."""
    for _ in range(50):
        try:
            return lg.read_ledger(data_dir)
        except (OSError, StoreError):  # a part replaced between listing and reading it
            time.sleep(0.01)
    return lg.read_ledger(data_dir)


def cli_args(srv: Any, data_dir: Path, *args: str) -> list[str]:
    return [*args, "--base-url", srv.base_url, "--data-dir", str(data_dir)]


def spawn(srv: Any, data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    """The real CLI in a child process (so it can be killed with SIGKILL)."""
    cmd = [sys.executable, "-m", "cekura_analytics", *cli_args(srv, data_dir, *args)]
    env = {**os.environ, "CEKURA_API_KEY": KEY}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- launching -------------------------------------------------------------------------------
def test_launch_twice_posts_once_per_run(server: Any, tmp_path: Path) -> None:
    srv = server()
    ids = failing(srv, tmp_path / "d", 3)
    pf = prompt_file(tmp_path)
    first = improve.improve_launch(tmp_path / "d", ids, pf, base_url=srv.base_url)
    assert first["status"].to_list() == ["queued"] * 3
    assert first["action"].to_list() == ["launched"] * 3
    assert first["progress_id"].n_unique() == 3
    second = improve.improve_launch(tmp_path / "d", ids, pf, base_url=srv.base_url)
    assert second["action"].to_list() == ["kept (queued)"] * 3
    assert stats(srv)[LAUNCH] == 3
    # a different prompt is a different job
    other = prompt_file(tmp_path, "You are a terse agent.\n")
    third = improve.improve_launch(tmp_path / "d", ids[:1], other, base_url=srv.base_url)
    assert third["action"].to_list() == ["launched"]
    assert stats(srv)[LAUNCH] == 4
    assert ledger(tmp_path / "d")["job_id"].n_unique() == 4


@pytest.mark.parametrize("content", [None, "", "  \n\t\n"], ids=["missing", "empty", "blank"])
@pytest.mark.parametrize("via", ["python", "cli"])
def test_bad_prompt_file_fails_before_any_request(
    server: Any, tmp_path: Path, content: str | None, via: str
) -> None:
    srv = server()
    ids = failing(srv, tmp_path / "d", 2)
    reset(srv)
    pf = tmp_path / "prompt.txt"
    if content is not None:
        pf.write_text(content)
    if via == "python":
        with pytest.raises(ConfigError, match="prompt"):
            improve.improve_launch(tmp_path / "d", ids, pf, base_url=srv.base_url)
    else:
        args = ["improve", "launch", "--run-ids", ",".join(map(str, ids)), "--prompt-file", str(pf)]
        result = CliRunner().invoke(cli, cli_args(srv, tmp_path / "d", *args))
        assert result.exit_code == 2
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "prompt" in lines[0]
    assert stats(srv)["total"] == 0
    assert ledger(tmp_path / "d").is_empty()


@pytest.mark.parametrize("limited", [LAUNCH, PROGRESS], ids=["launch", "collect"])
def test_rate_limits_are_retried(server: Any, tmp_path: Path, limited: str) -> None:
    srv = server(rate_limit_rps=2.0, fault_paths=[limited])
    ids, d = failing(srv, tmp_path / "d", 4), tmp_path / "d"
    pf = prompt_file(tmp_path)
    df = improve.improve_launch(d, ids, pf, base_url=srv.base_url, concurrency=4)
    assert df["status"].to_list() == ["queued"] * 4
    assert df["progress_id"].n_unique() == 4
    assert df["attempts"].to_list() == [1] * 4  # a 429 is retried by the client, not relaunched
    done = improve.improve_collect(
        d, base_url=srv.base_url, **{**FAST, "poll": 0.2, "max_poll": 0.5}
    )
    assert done["status"].to_list() == ["completed"] * 4
    seen = stats(srv)  # some requests met a 429 and were sent again after Retry-After
    if limited == LAUNCH:
        assert seen[LAUNCH] > 4
    else:
        assert seen[LAUNCH] == 4 and seen[PROGRESS] > 4 * 2


def test_server_error_on_launch_is_uncertain_until_asked(server: Any, tmp_path: Path) -> None:
    srv = server(fail_rate=1.0, fault_paths=[LAUNCH])
    ids, pf, d = failing(srv, tmp_path / "d", 2), prompt_file(tmp_path), tmp_path / "d"
    df = improve.improve_launch(d, ids, pf, base_url=srv.base_url)
    assert df["status"].to_list() == ["uncertain"] * 2
    assert all("--retry-uncertain" in m for m in df["message"])
    assert stats(srv)[LAUNCH] == 2  # a POST is never retried on 5xx: the job may exist
    faults(srv, fail_rate=0.0)
    again = improve.improve_launch(d, ids, pf, base_url=srv.base_url)
    assert again["action"].to_list() == ["kept (uncertain)"] * 2
    assert stats(srv)[LAUNCH] == 2
    retried = improve.improve_launch(d, ids, pf, base_url=srv.base_url, retry_uncertain=True)
    assert retried["status"].to_list() == ["queued"] * 2
    assert retried["attempts"].to_list() == [2, 2]
    assert stats(srv)[LAUNCH] == 4


def test_a_launching_row_left_by_a_crash_is_reconciled_not_resent(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    srv = server()
    ids, pf, d = failing(srv, tmp_path / "d", 1), prompt_file(tmp_path), tmp_path / "d"
    job_id = lg.make_job_id("prompt", ids[0], lg.sha256_text(pf.read_text()))
    with Store(d, lock=True) as store:  # what a process killed mid-POST leaves behind
        book = lg.Ledger(store)
        book.put({**lg.empty_row(), "job_id": job_id, "kind": "prompt", "run_id": ids[0],
                  "status": lg.LAUNCHING, "attempts": 1})  # fmt: skip
        book.commit()
    df = improve.improve_launch(d, ids, pf, base_url=srv.base_url)
    assert df["status"].to_list() == ["uncertain"]
    assert "uncertain" in caplog.text and "--retry-uncertain" in caplog.text
    assert stats(srv).get(LAUNCH, 0) == 0


def test_interrupted_launch_marks_the_request_in_flight_uncertain(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cekura_analytics.api.client import CekuraClient
    from cekura_analytics.config import load_settings

    srv = server()
    ids, pf, d = failing(srv, tmp_path / "d", 3), prompt_file(tmp_path), tmp_path / "d"
    client = CekuraClient(load_settings(srv.base_url), concurrency=1)
    sent: list[str] = []

    def post(path: str, body: dict[str, Any]) -> Any:
        if sent:  # Ctrl-C while the second request is in flight
            raise KeyboardInterrupt
        sent.append(path)
        return CekuraClient.post(client, path, body)

    monkeypatch.setattr(client, "post", post)
    with pytest.raises(KeyboardInterrupt):
        improve.improve_launch(d, ids, pf, client=client, concurrency=1)
    df = ledger(d).sort("created_at")
    assert df["status"].to_list() == ["queued", "uncertain"]  # the third was never started
    assert "--retry-uncertain" in df["message"][1]


def test_wrong_key_sends_nothing_and_leaves_no_row(server: Any, tmp_path: Path) -> None:
    srv = server()
    ids, pf, d = failing(srv, tmp_path / "d", 2), prompt_file(tmp_path), tmp_path / "d"
    with pytest.raises(JobError, match="401"):
        improve.improve_launch(d, ids, pf, base_url=srv.base_url, api_key="wrong-key")
    assert ledger(d).is_empty()  # nothing was created, so a plain rerun launches
    df = improve.improve_launch(d, ids, pf, base_url=srv.base_url)
    assert df["status"].to_list() == ["queued"] * 2


def test_rejected_launch_is_failed_with_the_api_message(server: Any, tmp_path: Path) -> None:
    """A run the data dir holds but the server does not know (a data dir of another server,
    or a run deleted since) is rejected with a 400: recorded as failed with the message."""
    ids, d = failing(server(), tmp_path / "d", 1), tmp_path / "d"
    smaller = server(runs=50)  # the same data, fewer runs: it does not know ids[0]
    df = improve.improve_launch(d, ids, prompt_file(tmp_path), base_url=smaller.base_url)
    assert df["status"].to_list() == ["failed"]
    assert "400" in df["error"][0] and "run_ids" in df["error"][0]
    assert df["progress_id"].null_count() == 1 and "--retry-failed" in df["message"][0]


def test_an_unknown_run_id_is_refused_before_anything_is_sent(server: Any, tmp_path: Path) -> None:
    srv, d = server(), tmp_path / "d"
    ids = failing(srv, d, 1)
    reset(srv)
    with pytest.raises(ConfigError, match=r"run\(s\) 987654321 are not in .*nothing was sent"):
        improve.improve_launch(d, [*ids, 987_654_321], SAMPLE, base_url=srv.base_url)
    args = ["improve", "launch", "--run-ids", "987654321", "--prompt-file", str(SAMPLE)]
    res = CliRunner().invoke(cli, cli_args(srv, d, *args))
    assert res.exit_code == 2 and res.output.startswith("error: run(s) 987654321 are not in")
    assert stats(srv)["total"] == 0 and ledger(d).is_empty()


def test_run_ids_of_several_or_another_agent_are_refused_before_anything_is_sent(
    server: Any, tmp_path: Path
) -> None:
    """A prompt is one agent's: --run-ids naming runs of two agents needs --agent-id, and runs
    of another agent than --agent-id are named; in both cases nothing is sent."""
    from cekura_analytics.warehouse.connection import query

    srv, d = server(), tmp_path / "d"
    mine = failing(srv, d, 1)
    agent = query(d, "select agent_id from runs where run_id = $r", {"r": mine[0]}).item()
    other = query(d, "select min(run_id) from runs where agent_id <> $a", {"a": agent}).item()
    reset(srv)
    with pytest.raises(
        ConfigError, match=r"^--run-ids name runs of several agents \(.*--agent-id$"
    ):
        improve.improve_launch(d, [*mine, other], SAMPLE, base_url=srv.base_url)
    args = ["improve", "launch", "--agent-id", str(agent), "--run-ids", f"{mine[0]},{other}"]
    res = CliRunner().invoke(cli, cli_args(srv, d, *args, "--prompt-file", str(SAMPLE)))
    assert res.exit_code == 2
    assert res.output.startswith(f"error: run(s) {other} are not of agent {agent}: a prompt is")
    assert stats(srv)["total"] == 0 and ledger(d).is_empty()


def test_runs_that_failed_no_metric_are_skipped(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from cekura_analytics.warehouse.connection import query

    srv, d = server(), tmp_path / "d"
    bad = failing(srv, d, 1)
    agent = query(d, "select agent_id from runs where run_id = $r", {"r": bad[0]}).item()
    clean = query(
        d,
        "select run_id from run_details where agent_id = $a and run_id not in ("
        " select run_id from metric_results where passed = false) order by run_id limit 1",
        {"a": agent},
    ).item()
    df = improve.improve_launch(d, [clean, *bad], SAMPLE, base_url=srv.base_url)
    assert df["run_id"].to_list() == bad and stats(srv)[LAUNCH] == 1
    assert f"skipped run {clean}: it failed no metric" in caplog.text
    with pytest.raises(ConfigError, match="none of the runs failed a metric"):
        improve.improve_launch(d, [clean], SAMPLE, base_url=srv.base_url)


def test_agent_id_picks_the_agents_current_version(server: Any, tmp_path: Path) -> None:
    """--outliers / --per-mode once mixed three agents' runs, all on old versions, under one
    agent's prompt: now they need --agent-id (several agents) and pick among the runs of its
    latest version that failed a metric."""
    from cekura_analytics.warehouse.connection import query

    srv, d = server(runs=600), tmp_path / "d"
    failing(srv, d, 1)  # extracted
    with pytest.raises(ConfigError, match=r"holds runs of several agents .*: a prompt is one"):
        improve.improve_launch(d, None, SAMPLE, outliers=3, base_url=srv.base_url)
    agents = query(d, "select agent_id from agents order by 1")["agent_id"].to_list()
    assert len(agents) > 1
    res = CliRunner().invoke(cli, cli_args(srv, d, "improve", "launch", "--agent-id",
                                           str(agents[0]), "--outliers", "3", "--prompt-file",
                                           str(SAMPLE)))  # fmt: skip
    assert res.exit_code == 0, res.output
    jobs = ledger(d)
    latest = query(
        d,
        "select agent_version from metric_results where agent_id = $a and agent_version is not"
        " null group by 1 order by min(timestamp) desc limit 1",
        {"a": agents[0]},
    ).item()
    picked = query(
        d,
        "select r.run_id, r.agent_id, r.agent_version, count(m.run_id) as n_failed"
        " from run_details r left join metric_results m on m.run_id = r.run_id and not m.passed"
        " where list_contains($ids, r.run_id) group by all",
        {"ids": jobs["run_id"].to_list()},
    )
    assert picked.height == jobs.height == 3
    assert set(picked["agent_id"]) == {agents[0]} and set(picked["agent_version"]) == {latest}
    assert picked["n_failed"].min() >= 1  # type: ignore[operator]
    outlier_order = query(d, "select run_id from outlier_runs")["run_id"].to_list()
    ranks = sorted(outlier_order.index(r) for r in jobs["run_id"])
    assert ranks == sorted(ranks)  # the most surprising eligible runs, in the view's order
    with pytest.raises(ConfigError, match="holds no agent 4242"):
        improve.improve_launch(d, None, SAMPLE, agent_id=4242, outliers=1, base_url=srv.base_url)


# -- collecting ------------------------------------------------------------------------------
def test_collect_stores_answers_and_show_renders_diffs(server: Any, tmp_path: Path) -> None:
    srv = server(api_key="sk-live-SECRET-4242")
    ids, d = failing(srv, tmp_path / "d", 3), tmp_path / "d"
    hostile = SAMPLE.read_text() + "\n<script>alert('x')</script>\n"
    pf = prompt_file(tmp_path, hostile)
    kw = {"base_url": srv.base_url, "api_key": "sk-live-SECRET-4242"}
    improve.improve_launch(d, ids, pf, **kw)
    df = improve.improve_collect(d, **FAST, **kw)
    assert df["status"].to_list() == ["completed"] * 3
    assert df["improved_prompt"].null_count() == 0 and df["finished_at"].null_count() == 0
    assert all(a != hostile for a in df["improved_prompt"])
    assert stats(srv)[PROGRESS] >= 3 * 2  # two polls each: queued, then completed
    # nothing left to do: a second collect sends nothing
    reset(srv)
    assert improve.improve_collect(d, **FAST, **kw).is_empty()
    assert stats(srv)["total"] == 0

    shown = JobDiffs(improve.improve_show(d))
    text = str(shown)
    assert text.count("--- prompt") == 3 and text.count("+++ improved prompt") == 3
    assert any(ln.startswith("+") and not ln.startswith("+++") for ln in text.splitlines())
    page = shown._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<details") == 3 and 'class="diff"' in page
    one = improve.improve_show(d, job_id=df["job_id"][0])
    assert one.height == 1
    with pytest.raises(JobError, match="no improve job"):
        improve.improve_show(d, job_id="prompt:0:nope")
    # the key goes in the request header only: never in the ledger, state or messages
    for f in d.rglob("*"):
        if f.is_file():
            assert b"SECRET-4242" not in f.read_bytes(), f


@pytest.mark.parametrize(
    ("knob", "status", "words"),
    [
        ("job_fail_rate", "failed", "--retry-failed"),
        ("job_empty_rate", "no_change", "nothing to improve"),
        ("job_stuck_rate", "open", "collect` again"),
    ],
    ids=["failed", "no-output", "stuck"],
)
def test_jobs_end_in_the_right_status(
    server: Any, tmp_path: Path, knob: str, status: str, words: str
) -> None:
    srv = server(**{knob: 1.0})
    ids, d = failing(srv, tmp_path / "d", 2), tmp_path / "d"
    improve.improve_launch(d, ids, prompt_file(tmp_path), base_url=srv.base_url)
    started = time.monotonic()
    df = improve.improve_collect(d, base_url=srv.base_url, **{**FAST, "timeout": 1.0})
    assert time.monotonic() - started < 5  # the deadline holds even for stuck jobs
    if status == "open":  # still open: the next collect polls it again
        assert set(df["status"]) <= lg.OPEN and df["finished_at"].null_count() == 2
        assert df["polls"].min() >= 2  # type: ignore[operator]
    else:
        assert df["status"].to_list() == [status] * 2
    assert all(words in m for m in df["message"])
    if status == "failed":
        assert df["error"].null_count() == 0
    on_disk = ledger(d).sort("job_id")
    assert on_disk.select("job_id", "status").equals(df.sort("job_id").select("job_id", "status"))


def test_retry_failed_relaunches(server: Any, tmp_path: Path) -> None:
    srv = server(job_fail_rate=1.0)
    ids, pf, d = failing(srv, tmp_path / "d", 2), prompt_file(tmp_path), tmp_path / "d"
    improve.improve_launch(d, ids, pf, base_url=srv.base_url)
    improve.improve_collect(d, base_url=srv.base_url, **FAST)
    faults(srv, job_fail_rate=0.0)
    assert (
        improve.improve_launch(d, ids, pf, base_url=srv.base_url)["action"].to_list()
        == ["kept (failed)"] * 2
    )
    df = improve.improve_launch(d, ids, pf, base_url=srv.base_url, retry_failed=True)
    assert df["action"].to_list() == ["relaunched"] * 2 and df["error"].null_count() == 2
    assert stats(srv)[LAUNCH] == 4
    assert (
        improve.improve_collect(d, base_url=srv.base_url, **FAST)["status"].to_list()
        == ["completed"] * 2
    )


# -- crashes ---------------------------------------------------------------------------------
def test_kill_during_launch_then_rerun(server: Any, tmp_path: Path) -> None:
    srv = server(latency_ms=150)
    ids, pf, d = failing(srv, tmp_path / "d", 8), prompt_file(tmp_path), tmp_path / "d"
    args = ["improve", "launch", "--run-ids", ",".join(map(str, ids)), "--prompt-file", str(pf)]
    proc = spawn(srv, d, *args, "--concurrency", "1")
    wait_for(lambda: (ledger(d)["status"] == "queued").sum() >= 2, "two launched jobs")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    posted_before = stats(srv)[LAUNCH]
    at_kill = ledger(d)
    launching = int((at_kill["status"] == "launching").sum())
    queued = int((at_kill["status"] == "queued").sum())
    assert at_kill.height < len(ids), "the launch finished before it was killed"
    assert launching <= 1 and queued + launching == at_kill.height  # one request in flight
    assert queued <= posted_before <= queued + launching

    faults(srv, latency_ms=0)
    rerun = CliRunner().invoke(cli, cli_args(srv, d, *args))
    assert rerun.exit_code == 0, rerun.output
    df = ledger(d)
    assert df.height == len(ids) and df["run_id"].n_unique() == len(ids)
    uncertain = df.filter(pl.col("status") == "uncertain")
    assert uncertain.height == launching  # the interrupted one, never resent silently
    assert (df["status"] == "queued").sum() == len(ids) - launching
    # only the runs the killed process never reached were sent
    assert stats(srv)[LAUNCH] - posted_before == len(ids) - at_kill.height
    assert df["progress_id"].drop_nulls().n_unique() == len(ids) - launching
    if uncertain.height:
        assert "--retry-uncertain" in rerun.output
        retry = CliRunner().invoke(cli, cli_args(srv, d, *args, "--retry-uncertain"))
        assert retry.exit_code == 0, retry.output
    done = improve.improve_collect(d, base_url=srv.base_url, **FAST)
    assert ledger(d)["status"].to_list() == ["completed"] * len(ids)
    assert done["improved_prompt"].null_count() == 0


def test_kill_during_collect_keeps_answers(server: Any, tmp_path: Path) -> None:
    srv = server()
    ids, d = failing(srv, tmp_path / "d", 8), tmp_path / "d"
    improve.improve_launch(d, ids, prompt_file(tmp_path), base_url=srv.base_url)
    faults(srv, latency_ms=150)  # polls one at a time, 150 ms each: answers trickle in
    proc = spawn(srv, d, "improve", "collect", "--poll", "0.01", "--concurrency", "1", "--quiet")

    def some_done() -> bool:
        n = (ledger(d)["status"] == "completed").sum()
        return bool(n >= 2)

    wait_for(some_done, "two collected answers")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = ledger(d).filter(pl.col("status") == "completed")
    assert 2 <= before.height < len(ids), "collect finished before it was killed"

    faults(srv, latency_ms=0)
    improve.improve_collect(d, base_url=srv.base_url, **FAST)
    after = ledger(d)
    assert after.height == len(ids) and after["status"].to_list() == ["completed"] * len(ids)
    cols = ["job_id", "progress_id", "improved_prompt", "summary_of_changes", "finished_at"]
    kept = after.join(before.select("job_id"), on="job_id").sort("job_id").select(cols)
    assert kept.equals(before.sort("job_id").select(cols))  # answers from before the kill kept
    assert stats(srv)[LAUNCH] == len(ids)  # and nothing was launched again


# -- CLI, instructions, view, demo -----------------------------------------------------------
def test_cli_launch_collect_show(server: Any, tmp_path: Path) -> None:
    srv = server()
    ids, pf, d = failing(srv, tmp_path / "d", 2), prompt_file(tmp_path), tmp_path / "d"
    run = CliRunner().invoke
    launch_args = ["improve", "launch", "--run-ids", ",".join(map(str, ids)), "--prompt-file"]
    out = run(cli, cli_args(srv, d, *launch_args, str(pf)))
    assert out.exit_code == 0 and "2 queued" in out.output, out.output
    out = run(cli, cli_args(srv, d, "improve", "collect", "--poll", "0.02", "--quiet"))
    assert out.exit_code == 0 and "2 completed" in out.output, out.output
    out = run(cli, ["improve", "show", "--data-dir", str(d)])
    assert out.exit_code == 0 and "+++ improved prompt" in out.output, out.output
    out = run(cli, cli_args(srv, d, *launch_args, str(pf), "--outliers", "3"))
    assert out.exit_code == 2 and "exactly one of" in out.output


@pytest.fixture
def extracted(server: Any, tmp_path: Path) -> tuple[Any, Path]:
    from cekura_analytics.lake.sync import extract

    srv = server()
    d = tmp_path / "d"
    extract(d, base_url=srv.base_url, quiet=True)
    return srv, d


def test_improve_instructions(extracted: tuple[Any, Path]) -> None:
    srv, d = extracted
    scen = Store(d).read("scenarios").sort("scenario_id").head(2)
    ids = scen["scenario_id"].to_list()
    df = improve.improve_instructions(
        d, ids, "Let the caller interrupt twice.", base_url=srv.base_url
    )
    assert df["kind"].to_list() == ["instructions"] * 2
    assert df["agent_id"].to_list() == scen["agent_id"].to_list()
    assert df["project_id"].null_count() == 0
    again = improve.improve_instructions(
        d, ids, "Let the caller interrupt twice.", base_url=srv.base_url
    )
    assert again["action"].to_list() == ["kept (queued)"] * 2
    done = improve.improve_collect(d, base_url=srv.base_url, **FAST)
    assert done["status"].to_list() == ["completed"] * 2
    assert done["improved_prompt"].null_count() == 0
    assert "improved instructions" in str(JobDiffs(improve.improve_show(d)))
    with pytest.raises(Exception, match="not in"):
        improve.improve_instructions(d, [987654], "x", base_url=srv.base_url)


def test_improve_jobs_view(extracted: tuple[Any, Path]) -> None:
    from cekura_analytics.warehouse import connection as views

    srv, d = extracted
    empty = views.query(d, "select * from improve_jobs")  # no ledger yet: empty, not an error
    assert empty.is_empty() and "failed_metrics" in empty.columns
    failing = (
        views.query(d, "select run_id from metric_results where passed = false group by run_id")
        .sort("run_id")["run_id"]
        .head(3)
        .to_list()
    )
    improve.improve_launch(d, failing, prompt_file(d.parent), base_url=srv.base_url)
    improve.improve_collect(d, base_url=srv.base_url, **FAST)
    df = views.query(
        d,
        "select run_id, status, failed_metrics, scenario_id, summary_of_changes "
        "from improve_jobs order by run_id",
    )
    assert df["run_id"].to_list() == failing
    assert df["status"].to_list() == ["completed"] * 3
    assert df["scenario_id"].null_count() == 0
    for r in df.iter_rows(named=True):
        # the mock's suggestion names the metrics the run failed; the view knows those it can
        # decide without a rules file, so every metric it lists must have been targeted
        targeted = r["summary_of_changes"]
        assert r["failed_metrics"] and all(m in targeted for m in r["failed_metrics"])
    # "which metrics did the suggestions target?"
    top = views.query(
        d,
        "select unnest(failed_metrics) as metric, count(*) as jobs from improve_jobs "
        "where status = 'completed' group by metric order by jobs desc, metric",
    )
    targets = Counter(m for r in df.iter_rows(named=True) if r["status"] == "completed"
                      for m in r["failed_metrics"])  # fmt: skip
    assert dict(top.iter_rows()) == dict(targets) and sum(targets.values()) >= len(df)


def test_launch_outliers_then_demo_improve(extracted: tuple[Any, Path]) -> None:
    from cekura_analytics.warehouse.connection import query

    srv, d = extracted
    busiest = query(d, "select agent_id from runs group by 1 order by count(*) desc, 1 limit 1")
    # a fresh process: `--outliers` imports the outlier rules from scratch
    args = ["--agent-id", str(busiest.item()), "--outliers", "2", "--prompt-file", str(SAMPLE)]
    proc = spawn(srv, d, "improve", "launch", *args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "2 queued" in out.decode()
    from cekura_analytics.showcase import improve_jobs

    text = improve_jobs(d, srv.base_url, KEY)
    n = text.count("- run ")  # up to 5: the eligible outliers of the agent's current version
    assert 2 <= n <= 5 and "completed" in text and "improve show" in text
    assert "failed metrics: none" not in text  # a job needs a failure to learn from
    assert stats(srv)[LAUNCH] == n  # the two launched from the CLI were not sent again


# -- today's service: the endpoint may be gone; a job targets the run's failed metrics ------
def test_launch_on_a_server_without_improve_prompt_records_nothing(
    server: Callable[..., Any], tmp_path: Path
) -> None:
    srv, d = server(improve_prompt_endpoints=False), tmp_path / "d"
    with pytest.raises(JobError) as err:
        improve.improve_launch(d, failing(srv, d, 2), SAMPLE, base_url=srv.base_url)
    message = str(err.value)
    assert "does not offer POST /test_framework/v1/runs/improve_prompt_bg/ (404" in message
    assert "outlier_runs" in message and "\n" not in message
    assert Store(d).read("improve_jobs").height == 0  # nothing recorded as launched


def test_launch_targets_the_runs_failed_metrics(server: Callable[..., Any], tmp_path: Path) -> None:
    from cekura_analytics import extract
    from cekura_analytics.warehouse.connection import connect

    srv = server()
    extract(tmp_path, base_url=srv.base_url, quiet=True)
    con = connect(tmp_path)
    failed = dict(
        con.sql(
            "select run_id, list(distinct metric_id order by metric_id) from metric_results "
            "where passed = false group by run_id order by run_id limit 3"
        ).fetchall()
    )
    con.close()
    sent: list[Any] = []
    client = improve.CekuraClient(improve.load_settings(srv.base_url, KEY))
    client.session.hooks["response"].append(
        lambda r, *a, **k: sent.append(r.request.body) if r.request.method == "POST" else None
    )
    improve.improve_launch(tmp_path, list(failed), SAMPLE, client=client)
    bodies = {b["run_ids"][0]: b for b in map(json.loads, sent)}
    assert {rid: b["workflow_metric_ids"] for rid, b in bodies.items()} == failed


def test_improve_show_on_a_missing_data_dir_is_an_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["improve", "show", "--data-dir", str(tmp_path / "typo")])
    assert res.exit_code == 2
    assert (
        res.output.strip()
        == f"error: data dir {tmp_path / 'typo'} does not exist: check --data-dir"
    )
    assert not (tmp_path / "typo").exists()
    empty = CliRunner().invoke(cli, ["improve", "show", "--data-dir", str(tmp_path)])
    assert empty.exit_code == 0 and "no finished improve jobs" in empty.output


def test_improve_collect_on_a_missing_data_dir_is_an_error(tmp_path: Path) -> None:
    """A typo once created the dir and said "no open improve jobs to collect", exit 0."""
    typo = tmp_path / "typo"
    res = CliRunner().invoke(cli, ["improve", "collect", "--data-dir", str(typo)])
    assert res.exit_code == 2
    assert res.output.strip() == f"error: data dir {typo} does not exist: check --data-dir"
    assert not typo.exists()
    with pytest.raises(ConfigError, match="does not exist: check --data-dir"):
        improve.improve_collect(typo)
    assert not typo.exists()

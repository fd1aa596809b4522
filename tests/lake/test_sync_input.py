"""What ``extract`` does with the user's input: a --since earlier than the stored syncs
reach backfills the gap; a future --since, an unknown --agent-id and another server's data
dir are one-line errors (exit 2) before anything is fetched; --json prints the summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import MOCK_KEY

from cekura_analytics import extract
from cekura_analytics.cli import cli
from cekura_analytics.errors import ConfigError
from cekura_analytics.lake.overview import status
from cekura_analytics.lake.store import Store
from cekura_analytics.mock import MockServer


def stored(d: Path) -> set[int]:
    return set(Store(d).read("runs", columns=["run_id"])["run_id"].to_list())


def server_ids(srv: MockServer, since: datetime | None = None) -> set[int]:
    """The run ids the mock holds at or after ``since``."""
    runs = srv.data.runs
    if since is not None:
        runs = runs.filter(runs["ts"] >= int(since.timestamp() * 1_000_000))
    return set(runs["id"].to_list())


def at_share(srv: MockServer, share: float) -> datetime:
    """The time before which ``share`` of the mock's runs lie (UTC, whole seconds)."""
    ts = srv.data.runs["ts"].sort()
    micros = int(ts[int(share * (len(ts) - 1))])
    return datetime.fromtimestamp(micros // 1_000_000, UTC)


def test_an_earlier_since_backfills_the_gap(
    mock_server: MockServer, key_env: None, tmp_path: Path
) -> None:
    """The issue's case: --since late, then --since earlier fetched only the new runs and
    left the table short; now the gap between the two is listed and fetched."""
    late, early = at_share(mock_server, 0.8), at_share(mock_server, 0.3)
    d = tmp_path / "d"
    first = extract(d, base_url=mock_server.base_url, since=late, quiet=True)
    assert stored(d) == server_ids(mock_server, late) and first.backfilled_from is None
    second = extract(d, base_url=mock_server.base_url, since=early, quiet=True)
    assert stored(d) == server_ids(mock_server, early)  # the gap [early, late) is there
    assert second.backfilled_from == early.isoformat().replace("+00:00", "Z")
    assert second.window[0] == second.backfilled_from  # listed from --since
    third = extract(d, base_url=mock_server.base_url, since=early, quiet=True)
    assert third.backfilled_from is None  # covered now: incremental from the watermark
    assert third.window[0] is not None and third.window[0] > late.isoformat()
    later = extract(d, base_url=mock_server.base_url, since=late, quiet=True)
    assert later.backfilled_from is None  # within what is covered
    everything = extract(d, base_url=mock_server.base_url, quiet=True)
    assert everything.backfilled_from is None  # no --since: incremental as ever


def test_a_future_since_is_an_error(mock_server: MockServer, key_env: None, tmp_path: Path) -> None:
    future = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    with pytest.raises(ConfigError, match="is in the future"):
        extract(tmp_path / "d", base_url=mock_server.base_url, since=future)
    res = CliRunner().invoke(
        cli, ["extract", "--data-dir", str(tmp_path / "d"), "--base-url",
              mock_server.base_url, "--since", future, "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 2 and res.output.startswith(f"error: --since {future}T00:00:00Z")
    assert res.output.count("\n") == 1 and not (tmp_path / "d").exists()


def test_an_unknown_agent_is_an_error_listing_the_known_ones(
    mock_server: MockServer, key_env: None, tmp_path: Path
) -> None:
    args = ["extract", "--data-dir", str(tmp_path / "d"), "--base-url", mock_server.base_url]
    res = CliRunner().invoke(cli, [*args, "--agent-id", "999", "--quiet"])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert line.startswith("error: --agent-id 999: the server at ") and "\n" not in line
    assert "has no such agent; its agents: 101 (" in line and "102 (" in line
    assert not stored(tmp_path / "d")  # no run fetched
    ok = CliRunner().invoke(cli, [*args, "--agent-id", "101", "--quiet"])
    assert ok.exit_code == 0, ok.output
    agents = Store(tmp_path / "d").read("runs", columns=["agent_id"])["agent_id"].unique()
    assert agents.to_list() == [101]


def test_a_data_dir_refuses_another_servers_data_unless_forced(
    make_mock_server: Callable[..., MockServer], key_env: None, tmp_path: Path
) -> None:
    """Extracting a second server into a data dir merged the two silently."""
    one, two = make_mock_server(runs=200), make_mock_server(runs=300, seed=3)
    d = tmp_path / "d"
    extract(d, base_url=one.base_url, quiet=True)
    recorded = status(d)
    assert recorded.server == f"http://127.0.0.1:{one.port}" and recorded.project_ids
    before = stored(d)
    with pytest.raises(ConfigError, match=r"holds data from http://127\.0\.0\.1:\d+, not") as e:
        extract(d, base_url=two.base_url, quiet=True)
    assert "--force" in str(e.value) and "\n" not in str(e.value)
    assert stored(d) == before
    res = CliRunner().invoke(
        cli, ["extract", "--data-dir", str(d), "--base-url", two.base_url, "--quiet"]
    )
    assert res.exit_code == 2 and "--force" in res.output
    forced = extract(d, base_url=two.base_url, quiet=True, force=True)
    assert forced.server == f"http://127.0.0.1:{two.port}" and status(d).server == forced.server
    again = extract(d, base_url=two.base_url, quiet=True)  # now its server: no --force needed
    assert again.server == forced.server


def test_extract_json(mock_server: MockServer, key_env: None, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["extract", "--data-dir", str(tmp_path / "d"), "--base-url",
              mock_server.base_url, "--quiet", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc: dict[str, Any] = json.loads(res.output)
    assert doc["runs_fetched"] == 600 and doc["rows"]["runs"] == 600
    assert doc["server"] == mock_server.base_url.replace("http://127.0.0.1", "http://127.0.0.1")
    assert doc["total_requests"] == sum(doc["requests"].values()) > 0
    assert MOCK_KEY not in res.output


def test_optimize_of_a_typo_creates_nothing(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["optimize", "--data-dir", str(tmp_path / "typo")])
    assert res.exit_code == 2
    assert (
        res.output.strip()
        == f"error: data dir {tmp_path / 'typo'} does not exist: check --data-dir"
    )
    assert not (tmp_path / "typo").exists()

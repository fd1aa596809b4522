"""The official ``cekura`` SDK (``cekura[sdk]``) reads the mock: every read call it offers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cekura  # a dev dependency: a missing SDK fails here rather than skipping
import pytest
from conftest import MOCK_KEY

from cekura_analytics.mock import MockServer

KEY = MOCK_KEY  # the key the mock fixtures accept


@pytest.fixture(params=["env", "constructor"])
def sdk(request: pytest.FixtureRequest, mock_server: MockServer, monkeypatch: Any) -> Any:
    """An SDK client pointed at the mock the SDK's two ways: CEKURA_API_URL or ``base_url``."""
    monkeypatch.delenv("CEKURA_API_URL", raising=False)
    if request.param == "env":
        monkeypatch.setenv("CEKURA_API_URL", mock_server.base_url)
        client = cekura.Cekura(api_key=KEY)
    else:
        client = cekura.Cekura(api_key=KEY, base_url=mock_server.base_url)
    assert client._http.base_url == mock_server.base_url
    return client


def every_page(call: Callable[..., dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Page a paginated SDK list call to the end; returns (count, items)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = call(page=page, page_size=100)
        items += body["results"]
        if not body["next"]:
            return body["count"], items
        page += 1


@pytest.mark.parametrize("name", ["runs", "results", "scenarios", "agents"])
def test_sdk_pages_every_list_to_the_end(sdk: Any, name: str) -> None:
    count, items = every_page(getattr(sdk, name).list)
    ids = [item["id"] for item in items]
    assert count == len(ids) == len(set(ids)) > 0
    if name == "agents":  # the SDK reads agents on v2
        assert all("name" in a and "telephony" in a for a in items)


def test_sdk_reads_one_of_everything(sdk: Any, mock_server: MockServer) -> None:
    run = sdk.runs.get(5)
    assert run["id"] == 5 and "transcript" in run
    bulk = sdk.runs.bulk(run_ids="5,6,7")
    assert [r["id"] for r in bulk] == [5, 6, 7] and bulk[0] == run
    assert [r["id"] for r in sdk.results.get_runs([8, 9])] == [8, 9]  # sends `ids=`
    result = sdk.results.get(run["result_id"])
    assert str(run["id"]) in result["runs"]
    agent = sdk.agents.get(101)
    assert agent["name"] == "Brightsmile Dental Receptionist" and agent["telephony"]["inbound"]
    metrics = sdk.metrics.list()
    assert sdk.metrics.get(metrics[0]["id"]) == metrics[0]
    people = sdk.personalities.list()
    assert len(people) == 12 and sdk.personalities.get(people[3]["id"]) == people[3]
    scenario = sdk.scenarios.get(1001)
    assert scenario["id"] == 1001 and scenario["instructions"]
    paths = mock_server.stats()["paths"]
    assert "/test_framework/v1/runs-external/bulk" in paths  # slashless, answered directly


def test_sdk_improves_scenario_instructions(make_mock_server: Any) -> None:
    srv = make_mock_server(runs=50, job_polls_to_finish=2, job_hash_failures=False)
    client = cekura.Cekura(api_key=KEY, base_url=srv.base_url)
    started = client.scenarios.improve_instructions(
        agent=101, extra_instructions="Ask twice for the price.", current_instructions="Call."
    )
    assert started["project_id"] == 7
    statuses = [
        client.scenarios.instructions_progress(progress_id=started["progress_id"]) for _ in range(2)
    ]
    assert [s["status"] for s in statuses] == ["queued", "completed"]
    assert statuses[-1]["output"]["instructions"].endswith("Ask twice for the price.")


def test_sdk_reads_a_capped_server_completely(make_mock_server: Any) -> None:
    srv = make_mock_server(runs=250, max_page_size=40)
    client = cekura.Cekura(api_key=KEY, base_url=srv.base_url)
    first = client.runs.list(page_size=100)
    assert len(first["results"]) == 40 and first["count"] == 250
    count, items = every_page(client.runs.list)
    assert count == len({r["id"] for r in items}) == 250

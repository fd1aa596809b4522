"""Shared fixtures: the mock Cekura API on 127.0.0.1 (see cekura_analytics.mock), and a
hostile proxy in front of it (see hostile.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hostile import HostileProxy, Hostility

from cekura_analytics.mock import MockServer

MOCK_KEY = "test-key"


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The mock's key in CEKURA_API_KEY, no base URL from the environment, and a working
    directory without a stray ``.env``."""
    monkeypatch.setenv("CEKURA_API_KEY", MOCK_KEY)
    for name in ("CEKURA_BASE_URL", "CEKURA_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def mock_server() -> Iterator[MockServer]:
    """A fresh small mock (600 runs, seed 0, key ``test-key``) for one test."""
    with MockServer(runs=600, seed=0, api_key=MOCK_KEY) as srv:
        yield srv


@pytest.fixture
def make_mock_server() -> Iterator[Callable[..., MockServer]]:
    """Factory: ``make_mock_server(runs=..., fail_rate=..., ...)`` -> a started server."""
    started: list[MockServer] = []

    def factory(**kwargs: Any) -> MockServer:
        kwargs.setdefault("runs", 600)
        kwargs.setdefault("api_key", MOCK_KEY)
        srv = MockServer(**kwargs).start()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


@pytest.fixture
def hostile_server(
    make_mock_server: Callable[..., MockServer],
) -> Iterator[Callable[..., HostileProxy]]:
    """Factory: ``hostile_server(Hostility(...), runs=300, ...)`` -> a started proxy in front
    of a new mock (``.mock``), with its "other host" (``.recorder``), which must never have
    seen the API key when the test ends."""
    started: list[HostileProxy] = []

    def factory(hostility: Hostility | None = None, **mock: Any) -> HostileProxy:
        mock.setdefault("runs", 300)
        srv = make_mock_server(**mock)
        proxy = HostileProxy(srv.base_url, hostility).start()
        proxy.mock = srv
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()
    # whatever the test did, the key never reached the "other host"
    assert [p.recorder.saw_key for p in started] == [0] * len(started)


@dataclass(frozen=True)
class Planted:
    """A mock extracted once, with the demo rules file, and its planted truth."""

    data_dir: Path
    flaky: list[dict[str, Any]]  # GET /_mock/flaky: every planted cell and what the runs realise
    reviews: dict[str, Any]  # GET /_mock/reviews: planted rates and realised counts


@pytest.fixture(scope="session")
def planted_4k(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """A 4,000-run mock (seed 0: the size at which every metric has >= 20 reviewed failures)
    extracted once per session, the demo rules file in its data dir, and its planted flaky
    cells and reviews (issue 18)."""
    import requests

    from cekura_analytics.lake.sync import extract
    from cekura_analytics.showcase import DEMO_RULES

    d = tmp_path_factory.mktemp("planted") / "data"
    with MockServer(runs=4000, seed=0, api_key=MOCK_KEY) as srv:
        extract(d, base_url=srv.base_url, api_key=MOCK_KEY, quiet=True)
        truth = {
            w: requests.get(f"{srv.base_url}/_mock/{w}", timeout=60) for w in ("flaky", "reviews")
        }
    shutil.copy(DEMO_RULES, d / "cekura-analytics.toml")
    for r in truth.values():
        r.raise_for_status()
    return Planted(d, truth["flaky"].json()["cells"], truth["reviews"].json())

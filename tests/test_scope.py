"""The scope (``--since``, ``--agent-id``): parsed once, the same error everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cekura_analytics import extract, flaky, review_agreement
from cekura_analytics.analysis.rates import pass_rates
from cekura_analytics.errors import ConfigError, DataError
from cekura_analytics.present.document import report as build_report
from cekura_analytics.scope import Scope, parse_when


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("2026-06-01", datetime(2026, 6, 1, tzinfo=UTC)),
        ("2026-06-01T12:00Z", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("2026-06-01T14:00+02:00", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        (date(2026, 6, 1), datetime(2026, 6, 1, tzinfo=UTC)),
        (datetime(2026, 6, 1, 12), datetime(2026, 6, 1, 12, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_parse_when(value: Any, want: datetime | None) -> None:
    assert parse_when(value) == want


def test_scope_params_are_what_the_sql_expects() -> None:
    scope = Scope.of("2026-06-01", "42")
    assert scope.params() == {"since": "2026-06-01T00:00:00+00:00", "agent_id": 42}
    assert str(scope) == "since 2026-06-01 00:00 UTC, agent 42"
    assert Scope.of().params() == {"since": None, "agent_id": None}


ENTRY_POINTS = {
    "extract": lambda d, **kw: extract(d, api_key="k", base_url="http://127.0.0.1:9", **kw),
    "pass_rates": lambda d, **kw: pass_rates(d, **kw),
    "build_report": lambda d, **kw: build_report(d, **kw),
    "flaky": lambda d, **kw: flaky(d, **kw),
    "review_agreement": lambda d, **kw: review_agreement(d, **kw),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "last tuesday"}, "--since 'last tuesday' is not an ISO date"),
        ({"agent_id": "abc"}, "--agent-id 'abc' is not an agent id"),
    ],
)
def test_the_same_bad_input_gives_the_same_error_everywhere(
    entry: str, kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        ENTRY_POINTS[entry](tmp_path, **kwargs)


@pytest.mark.parametrize(
    "command",
    [
        ["pass-rates"],
        ["gate"],
        ["compare-versions"],
        ["improve", "impact"],
        ["report", "--out", "r.html"],
    ],
    ids=" ".join,
)
def test_an_unknown_agent_id_is_an_error_listing_the_known_ones(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--agent-id 999`` answered "0 rows" with exit 0; now one line, exit 2, naming the
    agents the data dir holds (from the agents table and the runs)."""
    from click.testing import CliRunner
    from factories import result, run, write_tables

    from cekura_analytics.cli import cli

    monkeypatch.chdir(tmp_path)
    runs = [run(1, agent_id=7, agent_name="Dental"), run(2, agent_id=8, agent_version="2")]
    d = write_tables(
        tmp_path / "d",
        runs=runs,
        run_metrics=[result(1, 1, score=1.0), result(2, 1, score=1.0)],
        agents=[{"agent_id": 9, "agent_name": "Solar"}],
    )
    res = CliRunner().invoke(cli, [*command, "--data-dir", str(d), "--agent-id", "999"])
    assert res.exit_code == 2, res.output
    assert res.output.strip() == (
        "error: --agent-id 999: this data dir holds no agent 999; its agents: 7 (Dental), 8, "
        "9 (Solar)"
    )
    assert not (tmp_path / "r.html").exists()


def test_an_empty_report_scope_names_only_the_options_given(tmp_path: Path) -> None:
    """ "widen --since" was said with --as-of alone; now the hint names what was given."""
    from factories import T0, result, run, write_tables

    d = write_tables(tmp_path / "d", runs=[run(1)], run_metrics=[result(1, 1, score=1.0)])
    later = (T0 + timedelta(days=30)).date().isoformat()
    with pytest.raises(DataError, match=r"^no runs in scope: widen --since$"):
        build_report(d, tmp_path / "r.html", since=later)
    with pytest.raises(DataError, match=r"^no runs in scope: widen --since or check --agent-id$"):
        build_report(d, tmp_path / "r.html", since=later, agent_id=1)

"""The scope (``--since``, ``--agent-id``): parsed once, the same error everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cekura_analytics import extract, flaky, review_agreement
from cekura_analytics.analysis.rates import pass_rates
from cekura_analytics.errors import ConfigError
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

"""Values sent in more than one shape -> one typed value."""

from __future__ import annotations

from typing import Any

import pytest

from cekura_analytics.lake.normalize import duration_seconds, fraction


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("01:02", 62),
        ("1:02", 62),
        ("0:05", 5),
        ("1:02:03", 3723),
        ("00:00", 0),
        ("1:75", None),
        ("", None),
        ("n/a", None),
        (None, None),
        (62, 62),
    ],
)
def test_duration_forms(text: Any, seconds: int | None) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("rate", "k", "n", "want"),
    [
        (100, None, None, 1.0),  # the docs' results example
        (87.5, None, None, 0.875),
        (0.875, None, None, 0.875),
        (1.0, 1, 100, 0.01),  # 1 % written as 0-100: the counts say so
        (1.0, 10, 10, 1.0),
        (0.5, "5", "10", 0.5),  # counts sent as strings
        (None, 3, 4, None),
        ("n/a", None, None, None),
    ],
)
def test_success_rate_is_stored_as_a_fraction(rate: Any, k: Any, n: Any, want: Any) -> None:
    assert fraction(rate, k, n) == want

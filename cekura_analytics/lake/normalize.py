"""Values the API sends in more than one shape -> one typed value (pure functions).

Every form the live service has sent is read here, once (shared/cekura-api/README.md, "What
the live service sends"): ``agent_version`` as null, int, string or a history-record object
(a label and an id), ``"MM:SS"`` / ``"M:SS"`` / ``"H:MM:SS"`` durations, counts sent as
strings, ``success_rate`` on 0–1 or 0–100, ``explanation`` as a list or a string, and
free-form objects as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

# one encoder for every call: json.dumps with options builds a new one each time, and this
# runs for every metric item of every run
_ENCODER = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)


def to_json(value: Any) -> str | None:
    """JSON text for a free-form value (None stays None, empty containers too)."""
    if value is None or value == {} or value == []:
        return None
    return _ENCODER.encode(value)


def label(value: Any) -> str | None:
    """A readable label for a value of unknown shape (e.g. ``agent_version``)."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    if isinstance(value, dict):
        for key in ("version_name", "version", "name", "label", "version_id", "history_id", "id"):
            if value.get(key) not in (None, ""):
                return str(value[key])
    return to_json(value)


def version_id(value: Any) -> int | None:
    """The agent history record id of an ``agent_version`` (an int, digits, or an object)."""
    if isinstance(value, dict):
        for key in ("history_id", "id", "version_id"):
            found = to_int(value.get(key))
            if found is not None:
                return found
        return None
    return None if isinstance(value, list) else to_int(value)


def text(value: Any) -> str | None:
    """Explanation text from a list of strings or one string (empty -> None)."""
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value if v not in (None, ""))
    elif value is not None and not isinstance(value, str):
        value = to_json(value)
    return value or None


def fraction(rate: Any, successes: Any = None, total: Any = None) -> float | None:
    """A rate as 0–1, whether it was sent as 0–1 or 0–100.

    Above 1 it can only be a percentage; at or below 1 the counts decide when they are there
    (1.0 is 100 % or 1 %), else it is taken as a fraction.
    """
    if isinstance(rate, bool) or rate is None:
        return None
    try:
        value = float(rate)
    except (TypeError, ValueError):
        return None
    if value > 1:
        return value / 100
    k, n = to_int(successes), to_int(total)
    if k is not None and n:
        as_fraction, as_percent = abs(value - k / n), abs(value / 100 - k / n)
        return value / 100 if as_percent < as_fraction else value
    return value


def to_int(value: Any) -> int | None:
    """An integer from an int, a numeric string, or a list (its length); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, list):
        return len(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def to_bool(value: Any) -> bool | None:
    """A boolean from a bool or a ``"true"``/``"false"`` string."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


def to_str(value: Any) -> str | None:
    """Text as is; other values as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return to_json(value) if isinstance(value, dict | list) else str(value)


def duration_seconds(text: Any) -> int | None:
    """Seconds from ``"MM:SS"``, ``"M:SS"`` or ``"H:MM:SS"`` (or a number); else None."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return int(text)
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        parts = [int(p) for p in text.strip().split(":")]
    except ValueError:
        return None
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts) or any(p >= 60 for p in parts[1:]):
        return None
    total = 0
    for p in parts:
        total = total * 60 + p
    return total


def str_list(value: Any) -> list[str]:
    """A list of strings from a list (of strings or objects with ``name``) or one string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v.get("name", v.get("id"))) if isinstance(v, dict) else str(v) for v in value]
    return [str(value)]


def int_list(value: Any) -> list[int]:
    """A list of ints from a list of ints or of objects with ``id``."""
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        i = to_int(v.get("id") if isinstance(v, dict) else v)
        if i is not None:
            out.append(i)
    return out

"""pydantic models, one per API object, following ``openapi-subset.json`` field for field.

The field lists are generated (``_generated_models.py``, by ``tools/gen_models.py``) with the
README's wire-truth relaxations applied: every field optional and nullable, computed
read-only fields of undeclared type are ``Any``. Unknown fields are kept in ``model_extra``.
This module adds what the contract leaves implicit (rubric entries, pages) and parsers that
turn a validation failure into a one-line :class:`~cekura_analytics.errors.ResponseError`.
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ResponseError
from ._generated_models import (
    Agent,
    AgentV2,
    ApiModel,
    CriticalCategory,
    Evaluation,
    ImproveInstructionsResponse,
    Metric,
    MetricResult,
    MetricV2,
    Personality,
    PhoneNumber,
    Result,
    Run,
    RunList,
    Scenario,
    ScenarioList,
    TestProfile,
    TranscriptTurn,
)

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger("cekura_analytics.shapes")
#: the key under which an object's values of unexpected type are kept (lands in extra_json)
RAW_KEY = "_raw"


class RubricEntry(ApiModel):
    """One item of ``Run.rubric`` (documented by example only)."""

    metric_id: int | None = None
    metric_name: str | None = None
    value: Any = None
    explanation: Any = None
    passed: bool | None = None
    conditions: str | None = None
    expected_conditions: Any = None


class ShapeLog:
    """Fields that arrived in a type the contract does not allow: warned once per field.

    One instance lives for one sync; ``seen`` maps ``"<what>: <field>"`` to how many values
    were set aside (kept raw in the object's ``extra_json``).
    """

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def note(self, what: str, field: str, value: Any) -> None:
        """Count one unexpected value; the first one of a field logs a one-line warning."""
        key = f"{what}: {field}"
        with self._lock:
            first = key not in self.seen
            self.seen[key] = self.seen.get(key, 0) + 1
        if first:
            log.warning(
                "%s: field %r arrived as %s (%.60r), not the contract's type; the row is kept "
                "and the raw value is in its extra_json",
                what,
                field,
                type(value).__name__,
                value,
            )


def rubric_entries(run: Run) -> list[RubricEntry]:
    """The run's rubric as typed entries (``rubric`` is free-form in the contract)."""
    raw = run.rubric
    if not isinstance(raw, list):
        return []
    return [RubricEntry.model_validate(item) for item in raw if isinstance(item, dict)]


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    return adapter


def parse(model: Any, data: Any, *, what: str) -> Any:
    """Validate ``data`` as ``model`` (a class or ``list[cls]``); one-line error if it is not."""
    try:
        return _adapter(model).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ResponseError(
            f"{what}: field {loc!r} does not match the API contract ({first['msg']}); "
            "the API may have changed: please report it"
        ) from None


def parse_items(model: type[T], data: Any, *, what: str, shapes: ShapeLog) -> list[T]:
    """Validate a list of objects, keeping every object whatever its field types.

    The whole list is validated at once (the fast path); only when that fails is each object
    validated alone, and a value of an unexpected type is moved out of the way into the
    object's ``_raw`` extra field (so it lands in ``extra_json``) and noted in ``shapes``.
    Only a body that is not a list of objects is an error.
    """
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ResponseError(
            f"{what}: expected a JSON array of objects, got {type(data).__name__}; "
            "the API may have changed: please report it"
        )
    try:
        many: Any = list[model]  # type: ignore[valid-type]
        return list(_adapter(many).validate_python(data))
    except ValidationError:
        return [_parse_one(model, d, what, shapes) for d in data]


def _parse_one(model: type[T], item: dict[str, Any], what: str, shapes: ShapeLog) -> T:
    """One object, with each field that fails validation set aside (raw) until it passes."""
    adapter = _adapter(model)
    item = copy.deepcopy(item)
    raw: dict[str, Any] = {}
    for _ in range(200):  # each round sets aside one offending value (list indexes shift)
        try:
            obj = adapter.validate_python(item)
        except ValidationError as exc:
            path = list(exc.errors()[0]["loc"])
            value = _pop(item, path)
            if value is _MISSING:
                break
            field = ".".join(str(p) for p in path if not isinstance(p, int))
            raw[".".join(str(p) for p in path)] = value
            shapes.note(what, field, value)
            continue
        if raw and obj.model_extra is not None:
            obj.model_extra[RAW_KEY] = raw
        return obj
    raise ResponseError(f"{what}: an object could not be read at all; please report it")


_MISSING: Any = object()


def _pop(item: Any, path: list[Any]) -> Any:
    """Remove the value at ``path`` (keys and list indexes) and return it, if it is there."""
    for step in path[:-1]:
        try:
            item = item[step]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    last = path[-1] if path else None
    if isinstance(item, dict) and last in item:
        return item.pop(last)
    if isinstance(item, list) and isinstance(last, int) and last < len(item):
        return item.pop(last)
    return _MISSING


__all__ = [
    "RAW_KEY",
    "Agent",
    "AgentV2",
    "ApiModel",
    "CriticalCategory",
    "Evaluation",
    "ImproveInstructionsResponse",
    "Metric",
    "MetricResult",
    "MetricV2",
    "Personality",
    "PhoneNumber",
    "Result",
    "RubricEntry",
    "Run",
    "RunList",
    "Scenario",
    "ScenarioList",
    "ShapeLog",
    "TestProfile",
    "TranscriptTurn",
    "parse",
    "parse_items",
    "rubric_entries",
]

"""pydantic models, one per API object, following ``openapi-subset.json`` field for field.

The field lists are generated (``_generated_models.py``, by ``tools/gen_models.py``) with the
README's wire-truth relaxations applied: every field optional and nullable, computed
read-only fields of undeclared type are ``Any``. Unknown fields are kept in ``model_extra``.
This module adds what the contract leaves implicit (rubric entries, pages) and parsers that
turn a validation failure into a one-line :class:`~cekura_analytics.errors.ResponseError`.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._generated_models import (
    Agent,
    ApiModel,
    CriticalCategory,
    Evaluation,
    ImproveInstructionsResponse,
    Metric,
    MetricResult,
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
from .errors import ResponseError

T = TypeVar("T", bound=BaseModel)


class RubricEntry(ApiModel):
    """One item of ``Run.rubric`` (documented by example only)."""

    metric_id: int | None = None
    metric_name: str | None = None
    value: Any = None
    explanation: Any = None
    passed: bool | None = None
    conditions: str | None = None
    expected_conditions: Any = None


class Page(BaseModel, Generic[T]):
    """A Django-REST page: ``count``, absolute ``next``/``previous`` URLs, ``results``."""

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[T]


def rubric_entries(run: Run) -> list[RubricEntry]:
    """The run's rubric as typed entries (``rubric`` is free-form in the contract)."""
    raw = run.rubric
    if not isinstance(raw, list):
        return []
    return [RubricEntry.model_validate(item) for item in raw if isinstance(item, dict)]


_adapters: dict[Any, TypeAdapter[Any]] = {}


def parse(model: Any, data: Any, *, what: str) -> Any:
    """Validate ``data`` as ``model`` (a class or ``list[cls]``); one-line error if it is not."""
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ResponseError(
            f"{what}: field {loc!r} does not match the API contract ({first['msg']}); "
            "the API may have changed: please report it"
        ) from None


__all__ = [
    "Agent",
    "ApiModel",
    "CriticalCategory",
    "Evaluation",
    "ImproveInstructionsResponse",
    "Metric",
    "MetricResult",
    "Page",
    "Personality",
    "PhoneNumber",
    "Result",
    "RubricEntry",
    "Run",
    "RunList",
    "Scenario",
    "ScenarioList",
    "TestProfile",
    "TranscriptTurn",
    "parse",
    "rubric_entries",
]

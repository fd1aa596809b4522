"""Wire shapes of Cekura's background "improve" jobs, in one place.

The two job families are not in the OpenAPI subset: their shapes come from the docs pages
(``shared/seeds/000_*.txt``, ``004_*.txt``) and public client code, so everything the
toolkit assumes about them lives here and can be corrected against the live service
without touching :mod:`cekura_analytics.improve`:

- improve-prompt: ``POST runs/improve_prompt_bg/`` ``{"prompt", "run_ids": [id],
  "workflow_metric_ids"?, "category_ids"?}`` (the last documented body, 2025-03 to 2026-06) →
  ``{"progress_id"}``; ``GET runs/improve_prompt_progress/?progress_id=`` →
  ``{"status", "output": {"improved_prompt", "summary_of_changes"} | null, "error"}``.
- scenario instructions: ``POST scenarios/improve_instructions/``
  ``{"agent", "extra_instructions", "current_instructions"}`` → ``{"progress_id",
  "project_id"}``; ``GET scenarios/instructions-progress/?progress_id=`` → same envelope.

Cekura removed the improve-prompt pages from its docs on 2026-06-30 and, by a later docs
commit, the endpoints from its backend: a 404/405 on launch means "this server does not
offer it" (:data:`ENDPOINT_GONE_STATUSES`), which the launcher reports without recording a
job.

Models are lenient (extra keys allowed, ids as int or str) because the service is the
authority and a renamed key should degrade to "no output", not to a crash.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import ResponseError

PROMPT_LAUNCH_PATH = "/runs/improve_prompt_bg/"
PROMPT_PROGRESS_PATH = "/runs/improve_prompt_progress/"
INSTRUCTIONS_LAUNCH_PATH = "/scenarios/improve_instructions/"
INSTRUCTIONS_PROGRESS_PATH = "/scenarios/instructions-progress/"
PROGRESS_PARAM = "progress_id"

LAUNCH_PATHS: dict[str, str] = {
    "prompt": PROMPT_LAUNCH_PATH,
    "instructions": INSTRUCTIONS_LAUNCH_PATH,
}
PROGRESS_PATHS: dict[str, str] = {
    "prompt": PROMPT_PROGRESS_PATH,
    "instructions": INSTRUCTIONS_PROGRESS_PATH,
}

#: a launch answered with these: the server does not offer the endpoint at all
ENDPOINT_GONE_STATUSES = frozenset({404, 405})

#: server statuses, mapped onto the few the toolkit acts on
OPEN_WIRE_STATUSES = frozenset(
    {"queued", "pending", "processing", "in_progress", "running", "started"}
)
DONE_WIRE_STATUSES = frozenset({"completed", "complete", "success", "succeeded", "done"})
FAILED_WIRE_STATUSES = frozenset({"failed", "failure", "error", "errored", "timeout"})
CANCELLED_WIRE_STATUSES = frozenset({"cancelled", "canceled"})

# keys the improved text may arrive under (first match wins), per job family
_TEXT_KEYS: dict[str, tuple[str, ...]] = {
    "prompt": ("improved_prompt", "prompt"),
    "instructions": ("improved_instructions", "instructions", "improved_prompt"),
}
_SUMMARY_KEYS = ("summary_of_changes", "summary", "changes")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImprovePromptRequest(_Wire):
    """Body of ``POST runs/improve_prompt_bg/``: one run per job, aimed at its failed metrics."""

    prompt: str
    run_ids: list[int]
    workflow_metric_ids: list[int] | None = None
    category_ids: list[int] | None = None


class ImproveInstructionsRequest(_Wire):
    """Body of ``POST scenarios/improve_instructions/``."""

    agent: int
    extra_instructions: str
    current_instructions: str


class LaunchResponse(_Wire):
    """Answer of either launch POST (``project_id`` only from the instructions one)."""

    progress_id: str
    project_id: int | None = None

    @field_validator("progress_id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        # the service may send a UUID string or an integer; the ledger stores text
        if isinstance(v, int | str) and str(v).strip():
            return str(v)
        raise ValueError("progress_id is missing or empty")


class ProgressResponse(_Wire):
    """Answer of either progress GET."""

    status: str
    output: Any = None
    error: Any = None

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return str(v).strip().lower() if v is not None else v


class JobOutput(BaseModel):
    """The improved text and the summary, normalised across job families."""

    improved_text: str | None
    summary_of_changes: str | None


def parse_launch(body: Any, path: str) -> LaunchResponse:
    """Validate a launch answer or raise :class:`ResponseError` naming the endpoint."""
    try:
        return LaunchResponse.model_validate(body)
    except ValidationError as exc:
        raise ResponseError(f"POST {path}: unexpected answer ({_first_problem(exc)})") from None


def parse_progress(body: Any, path: str) -> ProgressResponse:
    """Validate a progress answer or raise :class:`ResponseError` naming the endpoint."""
    try:
        return ProgressResponse.model_validate(body)
    except ValidationError as exc:
        raise ResponseError(f"GET {path}: unexpected answer ({_first_problem(exc)})") from None


def job_output(kind: str, progress: ProgressResponse) -> JobOutput:
    """The improved text and summary of a completed job; both None when it has no output."""
    out = progress.output
    if isinstance(out, str):  # a bare string is the improved text itself
        return JobOutput(improved_text=out.strip() or None, summary_of_changes=None)
    if not isinstance(out, dict):
        return JobOutput(improved_text=None, summary_of_changes=None)
    text = next((out[k] for k in _TEXT_KEYS[kind] if isinstance(out.get(k), str)), None)
    summary = next((out[k] for k in _SUMMARY_KEYS if out.get(k) not in (None, "")), None)
    if isinstance(summary, list):  # some helpers answer a bullet list
        summary = "\n".join(f"- {s}" for s in summary)
    return JobOutput(
        improved_text=text if text and text.strip() else None,
        summary_of_changes=str(summary) if summary is not None else None,
    )


def error_text(progress: ProgressResponse) -> str | None:
    """The job's error as one string (the service may send a string, list or object)."""
    err = progress.error
    if err in (None, "", [], {}):
        return None
    if isinstance(err, list):
        return "; ".join(str(e) for e in err)
    if isinstance(err, dict):
        return str(err.get("detail") or err.get("message") or err)
    return str(err)


def _first_problem(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "body"
    return f"{where}: {e['msg']}"

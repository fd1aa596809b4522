"""Background "improve" jobs: improve-prompt from runs and improve-instructions for scenarios.

``POST runs/improve_prompt_bg/`` / ``POST scenarios/improve_instructions/`` create a job and
answer its ``progress_id``; ``GET runs/improve_prompt_progress/`` /
``GET scenarios/instructions-progress/`` answer ``{"status", "output", "error"}``. The
scenario paths are also served under the SDK's ``scenarios-external`` alias; every path with
or without its trailing slash. The improve-prompt body is the last documented one
(SchemaPostRunImprovePrompt): ``prompt`` and ``run_ids`` (at most 3) required,
``workflow_metric_ids`` and ``category_ids`` optional. With
``MockConfig.improve_prompt_endpoints`` off, ``runs/improve_prompt*`` answer 404, as the
service does since the backend removed them (docs commit 300523c0).

A job's fate is fixed when it is created: ~10 % of distinct inputs fail deterministically
(``sha256(kind, inputs) % 10 == 0``, so re-submitting the same inputs fails again, unless
``MockConfig.job_hash_failures`` is off), then ``job_fail_rate`` / ``job_stuck_rate`` /
``job_empty_rate`` draw from a seeded RNG. The first poll says ``queued``; a job finishes
on poll ``job_polls_to_finish`` (or, when ``job_seconds_to_finish`` is set, once that many
seconds have passed), showing ``processing`` on the second poll and ``in_progress`` after
(the statuses Cekura's own tools show); stuck jobs stay ``in_progress``.

Completed improve-prompt output is deterministic: the submitted prompt plus one guideline
line per targeted metric (``GUIDELINES``, in metric order) and a summary naming them. The
targets are the ``workflow_metric_ids`` when given, else the metrics the runs failed; with
none, the generic :data:`GENERIC_GUIDELINE`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import catalog as C
from .drf import NOT_FOUND, ApiError, json_response, route
from .state import MockState

V1 = "/test_framework/v1"
MAX_RUNS_PER_JOB = 3

GUIDELINES = {
    "Appointment Booked": "Confirm date, time and full name, then book the slot before "
    "ending the call.",
    "Call Transferred Correctly": "Transfer to a human only when the policy requires it, and "
    "say so before transferring.",
    "Infrastructure Issues": "If the line is silent for more than 5 seconds, check that the "
    "caller is still there.",
    "Instruction Following": "Follow every step of these instructions in order; never skip "
    "verification.",
    "Response Latency": "Keep answers short so you can respond within two seconds.",
    "Empathy": "Acknowledge the caller's feelings in one sentence before solving the problem.",
    "Clarity": "Use short sentences and repeat key details (dates, numbers) back to the caller.",
    "Pronunciation Quality": "Spell out names and numbers slowly when confirming them.",
    "Customer Sentiment": "End on a positive note: summarise what was done and thank the caller.",
    "Policy Compliance": "Never promise prices, refunds or outcomes the policy does not allow.",
}
GENERIC_GUIDELINE = "Before ending the call, confirm the caller's goal was met."
HASH_FAILURE = "The model could not produce a valid suggestion for these inputs."
RANDOM_FAILURE = "Upstream model error while generating the suggestion."


@dataclass
class Job:
    """One background job and its predetermined fate."""

    id: str
    kind: str  # "prompt" | "instructions"
    fate: str  # "ok" | "fail" | "stuck" | "empty"
    output: dict[str, Any] | None
    error: str | None = None
    created: float = field(default_factory=time.monotonic)
    polls: int = 0


def hash_fails(kind: str, inputs: Any) -> bool:
    """The deterministic failing share: about one input set in ten."""
    raw = json.dumps([kind, inputs], sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") % 10 == 0


def improved_prompt(prompt: str, failed: list[str]) -> dict[str, Any]:
    """The improve-prompt output for ``failed`` metric names (in metric order)."""
    lines = [GUIDELINES[name] for name in failed] or [GENERIC_GUIDELINE]
    text = prompt.rstrip() + "\n\n# Guidelines added after reviewing failed runs\n"
    text += "\n".join(f"- {line}" for line in lines) + "\n"
    if failed:
        summary = f"Added {len(failed)} guideline(s) for failed metrics: {'; '.join(failed)}."
    else:
        summary = "No metric failed; added a closing check."
    return {"improved_prompt": text, "summary_of_changes": summary}


def improved_instructions(current: str, extra: str) -> dict[str, Any]:
    """The improve-instructions output: current instructions plus the requested change."""
    base = current.strip() or "Play the scenario as described."
    return {"instructions": f"{base}\n\nAdditionally: {extra.strip().rstrip('.')}."}


class JobStore:
    """Jobs in memory; fates drawn from an RNG seeded by the mock's seed."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.rng = random.Random(state.config.seed * 7919 + 17)

    def create(self, kind: str, inputs: Any, output: dict[str, Any]) -> Job:
        """Create a job whose fate follows the hash rule, then the configured rates."""
        cfg = self.state.config
        with self.lock:
            job_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            u = self.rng.random()
            if cfg.job_hash_failures and hash_fails(kind, inputs):
                job = Job(job_id, kind, "fail", None, HASH_FAILURE)
            elif u < cfg.job_fail_rate:
                job = Job(job_id, kind, "fail", None, RANDOM_FAILURE)
            elif u < cfg.job_fail_rate + cfg.job_stuck_rate:
                job = Job(job_id, kind, "stuck", None)
            elif u < cfg.job_fail_rate + cfg.job_stuck_rate + cfg.job_empty_rate:
                job = Job(job_id, kind, "empty", None)
            else:
                job = Job(job_id, kind, "ok", output)
            self.jobs[job_id] = job
            return job

    def poll(self, job_id: str, kind: str) -> dict[str, Any] | None:
        """Advance a job by one poll and describe it; None when unknown (or other kind)."""
        cfg = self.state.config
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job.kind != kind:
                return None
            job.polls += 1
            if cfg.job_seconds_to_finish is not None:
                done = time.monotonic() - job.created >= cfg.job_seconds_to_finish
            else:
                done = job.polls >= cfg.job_polls_to_finish
            if job.fate == "stuck" or not done:
                status = {1: "queued", 2: "processing"}.get(job.polls, "in_progress")
                return {"status": status, "output": None, "error": None}
            if job.fate == "fail":
                return {"status": "failed", "output": None, "error": job.error}
            return {"status": "completed", "output": job.output, "error": None}


def _body(raw: bytes) -> dict[str, Any]:
    """The JSON request body as a dict (form bodies are not needed by any client)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, {"detail": "JSON parse error - Expecting value"}) from None
    if not isinstance(body, dict):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
    return body


def _required(body: dict[str, Any], *names: str) -> None:
    """DRF-style 400 listing every missing field."""
    missing = {n: ["This field is required."] for n in names if n not in body}
    if missing:
        raise ApiError(400, missing)


def _text(body: dict[str, Any], name: str, allow_blank: bool = False) -> str:
    """A string field (``This field may not be blank.`` like DRF's CharField)."""
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ApiError(400, {name: ["Not a valid string."]})
    if not allow_blank and not value.strip():
        raise ApiError(400, {name: ["This field may not be blank."]})
    return value


def _int_list(body: dict[str, Any], name: str) -> list[int]:
    """An optional list-of-integers field (DRF ListField(IntegerField) errors)."""
    value = body.get(name, [])
    if not isinstance(value, list):
        msg = f'Expected a list of items but got type "{type(value).__name__}".'
        raise ApiError(400, {name: [msg]})
    if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ApiError(400, {name: ["A valid integer is required."]})
    return value


def _prompt_job_inputs(st: MockState, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Validate an improve-prompt body; (inputs that fix the job's fate, target metrics)."""
    _required(body, "prompt", "run_ids")
    prompt = _text(body, "prompt")
    ids = body["run_ids"]
    if not isinstance(ids, list):
        msg = f'Expected a list of items but got type "{type(ids).__name__}".'
        raise ApiError(400, {"run_ids": [msg]})
    if not ids:
        raise ApiError(400, {"run_ids": ["This list may not be empty."]})
    if len(ids) > MAX_RUNS_PER_JOB:
        msg = f"Ensure this field has no more than {MAX_RUNS_PER_JOB} elements."
        raise ApiError(400, {"run_ids": [msg]})
    rows = []
    for rid in ids:
        row = st.data.row(rid) if isinstance(rid, int) and not isinstance(rid, bool) else None
        if row is None:
            raise ApiError(400, {"run_ids": [f'Invalid pk "{rid}" - object does not exist.']})
        rows.append(row)
    wanted = _int_list(body, "workflow_metric_ids")
    categories = _int_list(body, "category_ids")
    for mid in wanted:
        if mid not in C.METRIC_BY_ID:
            msg = f'Invalid pk "{mid}" - object does not exist.'
            raise ApiError(400, {"workflow_metric_ids": [msg]})
    if wanted:
        targets = sorted(C.METRIC_BY_ID[mid] for mid in set(wanted))
    else:
        targets = sorted(
            {mi for row in rows for mi, ok in st.data.passed_metrics(row).items() if not ok}
        )
    inputs = {"prompt": prompt, "run_ids": ids}
    if wanted or categories:  # older bodies keep their fate
        inputs |= {"workflow_metric_ids": wanted, "category_ids": categories}
    return inputs, [C.METRICS[mi].name for mi in targets]


def register(app: FastAPI, st: MockState) -> None:
    """Add the job endpoints (must come before the ``{id}`` detail routes)."""
    store = st.jobs = JobStore(st)
    scenarios = (f"{V1}/scenarios", f"{V1}/scenarios-external")

    def offered() -> None:
        if not st.config.improve_prompt_endpoints:
            raise ApiError(404, NOT_FOUND)

    @route(app, "POST", f"{V1}/runs/improve_prompt_bg/")
    async def improve_prompt_bg(request: Request) -> Response:
        offered()
        inputs, targets = _prompt_job_inputs(st, _body(await request.body()))
        job = store.create("prompt", inputs, improved_prompt(inputs["prompt"], targets))
        return json_response({"progress_id": job.id})

    @route(app, "GET", f"{V1}/runs/improve_prompt_progress/")
    async def improve_prompt_progress(request: Request) -> Response:
        offered()
        return _progress(request, store, "prompt")

    @route(app, "POST", *(f"{b}/improve_instructions/" for b in scenarios))
    async def improve_instructions(request: Request) -> Response:
        body = _body(await request.body())
        _required(body, "agent", "extra_instructions")
        agent = body["agent"]
        if isinstance(agent, bool) or not isinstance(agent, int):
            raise ApiError(400, {"agent": ["Incorrect type. Expected pk value."]})
        if agent not in C.AGENT_BY_ID:
            raise ApiError(400, {"agent": [f'Invalid pk "{agent}" - object does not exist.']})
        extra = _text(body, "extra_instructions")
        current = _text(body, "current_instructions", allow_blank=True)
        inputs = {"agent": agent, "extra": extra, "current": current}
        job = store.create("instructions", inputs, improved_instructions(current, extra))
        return json_response({"progress_id": job.id, "project_id": C.PROJECT_ID})

    @route(app, "GET", *(f"{b}/instructions-progress/" for b in scenarios))
    async def instructions_progress(request: Request) -> Response:
        return _progress(request, store, "instructions")


def _progress(request: Request, store: JobStore, kind: str) -> Response:
    """Answer a progress poll."""
    job_id = request.query_params.get("progress_id")
    if not job_id:
        raise ApiError(400, {"progress_id": ["This field is required."]})
    answer = store.poll(job_id, kind)
    if answer is None:
        raise ApiError(404, NOT_FOUND)
    return json_response(answer)

"""Runs as the service sends them: full ``Run`` and ``RunList`` dicts built from an index row,
for API version ``"v1"`` or ``"v2"`` (the differences are in :mod:`wire`).

Wire choices (the README's "looser than the service" rules, made concrete):
``RunList.metrics`` is a list of ``{id, name, type}`` (no scores); ``critical_categories`` is
a list of objects (one per failed metric, carrying the reviewer's ``wrongly_marked`` /
``feedback`` / ``priority`` on reviewed runs, whose ``evaluation_status`` is the reviewer's
verdict: :mod:`reviews`); ``expected_outcome`` is an object or null.
``evaluation.metrics[]`` carries ``score`` (legacy 0/5 for binary, see :mod:`wire`; int for
numeric, one-decimal float for continuous) and null ``enum``/``value`` -- or, for enum
metrics, ``score: null`` and ``enum == value`` = the chosen value; custom-code metrics
(Response Latency) send ``explanation: ""`` as the runs-bulk example does. ``rubric``
entries: ``conditions`` is ``"score gte 70"``-style (``lte`` for latency), ``"value in
positive,neutral"`` for enums, null for binary rules; ``passed`` is absent on binary entries
and on ~20 % of the others; runs in the oldest 10 % of the span have ``rubric: null``.
Never-connected / cancelled / open runs have no evaluation. ``transcript_object[]`` turns
carry ``timestamp`` (float seconds, the contract) and ``time``/``start_time``/``end_time``
(the documented examples).

Each run draws its details from three private ``random.Random`` streams seeded by
(seed, run id): *core* (call ids, duration, numbers), *eval* (scores, explanations) and *tx*
(transcript). Separate streams keep a field stable when another part changes (e.g. a run
that completes keeps its call id and duration).
"""

from __future__ import annotations

import random
import re
from functools import cache
from typing import Any

from . import catalog as C
from . import wire as W
from .data import COMPLETED, FAILED, STATUSES, TIMEOUT, MockData, iso
from .faults import json_bytes
from .modes import failed_explanation
from .reviews import Review, category_review, review_of

LEGACY_RUBRIC_FRACTION = 0.10  # runs in the oldest 10 % of the span predate rubrics: null
_NOT_CONNECTED = {"failed", "cancelled", "in_queue", "pending"}
_PARTIAL = {"running", "in_progress"}
_FAIL_REASONS = ("dial-failed", "sip-connection-error", "no-answer", "provider-unavailable")
_PUNCT = re.compile(r"[^\w\s]")


def mmss(seconds: int) -> str:
    """``MM:SS`` (minutes may exceed 59, as the service does for long calls)."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _stream(data: MockData, run_id: int, which: int) -> random.Random:
    """Random stream ``which`` (0 core, 1 eval, 2 transcript) of one run."""
    return random.Random(((data.seed & 0xFFFFFFFF) << 34) | (run_id << 2) | which)


def _full_duration(rng: random.Random) -> int:
    """Call length in seconds: log-normal around 2.5 min plus ~1 % long outliers (20-90 min)."""
    if rng.random() < 0.01:
        return rng.randint(1200, 5400)
    return max(25, min(900, int(rng.lognormvariate(5.0, 0.45))))


def _score(m: C.Metric, passed: bool, rng: random.Random) -> tuple[float | int | None, str | None]:
    """(score, enum value) for a metric result, on the passing or failing side of its rule."""
    if m.eval_type == "binary":
        return (W.LEGACY_PASS_SCORE if passed else 0), None
    if m.eval_type == "enum":
        if passed:
            return None, m.pass_values[0] if rng.random() < 0.65 else m.pass_values[-1]
        return None, rng.choice([v for v in m.enum_values if v not in m.pass_values])
    t, lo, hi = m.threshold, m.lo, m.hi
    if m.eval_type == "numeric":  # integer scores
        if m.op == "lte":
            return (
                rng.randint(int(lo), int(t)) if passed else rng.randint(int(t) + 1, int(hi))
            ), None
        return (rng.randint(int(t), int(hi)) if passed else rng.randint(int(lo), int(t) - 1)), None
    # continuous_qualitative: one decimal; failing draws stay below threshold after rounding
    return (round(rng.uniform(t, hi), 1) if passed else round(rng.uniform(lo, t - 0.06), 1)), None


def _condition(m: C.Metric) -> tuple[str | None, dict[str, Any] | None]:
    """The rubric ``conditions`` text and ``expected_conditions`` object of a metric."""
    if m.eval_type == "binary":
        return None, None  # binary rubric rules carry no condition: score 1/0 says it
    if m.eval_type == "enum":
        cond: dict[str, Any] = {"field": "value", "op": "in", "value": list(m.pass_values)}
        return f"value in {','.join(m.pass_values)}", {"operator": "and", "conditions": [cond]}
    thr = int(m.threshold) if float(m.threshold).is_integer() else m.threshold
    cond = {"field": "score", "op": m.op, "value": thr}
    return f"score {m.op} {thr}", {"operator": "and", "conditions": [cond]}


def _explanations(m: C.Metric) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(passing, failing) explanation sentences in the service's emoji style."""
    good = (f"✅ {m.name}: the agent met the expectation.",
            f"✅ {m.name}: handled as the instructions require.")  # fmt: skip
    bad = (f"❌ {m.name}: the agent fell short of the expectation.",
           f"❌ {m.name}: the caller had to repeat themselves before getting an answer.",
           f"❌ {m.name}: the agent ignored part of its instructions.")  # fmt: skip
    return good, bad


# Per-metric / per-scenario constants, computed once (rendering is on the hot path).
_COND = [_condition(m) for m in C.METRICS]
_EXPL = [_explanations(m) for m in C.METRICS]
_LIST_METRICS = [
    [{"id": C.METRICS[mi].id, "name": C.METRICS[mi].name, "type": C.METRICS[mi].eval_type}
     for mi in sc.metric_idx]
    for sc in C.SCENARIOS
]  # fmt: skip
_PROMPT_PART = [C.AGENTS[sc.agent_idx].prompt.splitlines()[1] for sc in C.SCENARIOS]
_CODE = [f"{m.id * 7919:08x}" for m in C.METRICS]  # as the metric list's field
_NORMALIZED: dict[str, str] = {}
_JUDGED = "The judgement is based on the full transcript."


def _normalized(text: str) -> str:
    """Lower-cased, punctuation-free text (cached: phrases come from a small bank)."""
    out = _NORMALIZED.get(text)
    if out is None:
        out = _NORMALIZED[text] = _PUNCT.sub("", text.lower()).strip()
    return out


def _critical(
    data: MockData, row: dict[str, Any], passed: dict[int, bool], dev_bits: int,
    review: Review | None,
) -> list[Any]:  # fmt: skip
    """Critical categories: one entry per failed metric (deviation 0.2-1.0 from 8 bits), with
    the reviewer's marks on a reviewed run (:mod:`reviews`)."""
    out = []
    for k, (mi, ok) in enumerate(passed.items()):
        if ok:
            continue
        wrong, feedback, priority = category_review(data, row["id"], mi, review)
        deviation = round(0.2 + (dev_bits >> 8 * k & 255) / 255 * 0.8, 2)
        out.append({"category_id": C.METRICS[mi].id, "category": C.METRICS[mi].name,
                    "deviation": deviation, "wrongly_marked": wrong, "feedback": feedback,
                    "priority": priority})  # fmt: skip
    return out


@cache
def _outcome(si: int, success: bool, score: int) -> dict[str, Any]:
    """The ``expected_outcome`` object (score 100 exactly when the run succeeded; shared)."""
    sc = C.SCENARIOS[si]
    return {
        "score": 100 if success else score,
        "explanation": [("✅ " if success else "❌ ") + sc.expected_outcome_prompt + "."],
        "outcome_alignments": [{"outcome": sc.expected_outcome_prompt,
                                "prompt_part": _PROMPT_PART[si], "aligned": success}],
    }  # fmt: skip


def evaluate(
    data: MockData, row: dict[str, Any], rng: random.Random, api: str = "v1"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Metric results and rubric (None for legacy runs) of an evaluated run."""
    metrics: list[dict[str, Any]] = []
    rubric: list[dict[str, Any]] = []
    canonical = W.canonical(api, row["ts"])
    for mi, ok in data.passed_metrics(row).items():
        m = C.METRICS[mi]
        score, value = _score(m, ok, rng)
        lines = [rng.choice(_EXPL[mi][0] if ok else _EXPL[mi][1])]
        if not ok:  # a planted failure mode's text (own stream: the draws above stay put)
            lines[0] = failed_explanation(data.seed, row["id"], m.id)
        if rng.random() < 0.3:
            lines.append(_JUDGED)
        # code metrics explain nothing: "" (a string) as in the runs-bulk docs example
        expl: list[str] | str = "" if m.kind == "custom_code" else lines
        item: dict[str, Any] = {
            "id": m.id,
            "name": m.name,
            "type": m.eval_type,
            "score": score,
            "enum": value,
            "value": value,
            "explanation": expl,
            "extra": {"percentiles": {"p50": score}} if m.op == "lte" else {},
            "vocera_defined_metric_code": _CODE[mi],
        }
        if m.function_name:
            item["function_name"] = m.function_name
        if m.eval_type == "binary":
            item.update(W.binary_fields(m, ok, canonical))
        metrics.append(item)
        entry: dict[str, Any] = {"metric_id": m.id, "metric_name": m.name,
                                 "value": value if value is not None else score,
                                 "explanation": expl}  # fmt: skip
        # `passed` is only on part of the entries: never on binary rules written before the
        # migration (no condition), missing on ~20 % of the others (older rubric format) --
        # clients must fall back to the rule. Binary rules written since compare the score
        # with a boolean (rubric config docs) although the entry's value stays 0/5.
        bool_rule = m.eval_type == "binary" and row["ts"] >= W.MIGRATION_US
        if (m.eval_type != "binary" or bool_rule) and rng.random() >= 0.2:
            entry["passed"] = ok
        entry["conditions"], entry["expected_conditions"] = W.BOOL_RULE if bool_rule else _COND[mi]
        rubric.append(entry)
    legacy = row["ts"] < data.t0_us + LEGACY_RUBRIC_FRACTION * (data.now_us - data.t0_us)
    return metrics, None if legacy else rubric


def _transcript(
    row: dict[str, Any], seconds: int, rng: random.Random, short: bool
) -> list[dict[str, Any]]:
    """Alternating turns spread over ``seconds``; inbound agents speak first."""
    sc = C.SCENARIOS[row["scen"]]
    agent = C.AGENTS[sc.agent_idx]
    main, tester = C.PHRASES[sc.language]
    greeting = main[0].format(a=agent.name)
    n = max(4, min(40, seconds // 14))
    turns: list[dict[str, Any]] = []
    t = 0
    for k in range(n):
        t = min(seconds, max(t + 1, k * seconds // n + rng.randint(0, 3)))
        agent_turn = (k % 2 == 0) == agent.inbound
        text = (greeting if k < 2 else rng.choice(main[1:])) if agent_turn else rng.choice(tester)
        start = round(t + rng.random() * 0.9, 2)
        end = round(start + 0.5 + len(text) / 16, 2)
        turns.append({"role": "Main Agent" if agent_turn else "Testing Agent", "content": text,
                      "timestamp": start, "time": W.stamp(t, short), "start_time": start,
                      "end_time": end, "normalized_content": _normalized(text),
                      "comparison_spans": []})  # fmt: skip
    return turns


def result_name(data: MockData, result_id: int) -> str:
    """Display name of a result (cronjob results are nightly regressions)."""
    res = data.result_row(result_id)
    if res is None:
        return f"Result {result_id}"
    day = iso(res["ts"])[:16].replace("T", " ")
    if res["cron"]:
        return f"Nightly regression {day[:10]}"
    return f"{C.AGENTS[res['agent']].name} · manual run {day}"


def _static(si: int) -> dict[str, Any]:
    """Fields of a run that depend only on its scenario (shared, read-only)."""
    sc = C.SCENARIOS[si]
    pers = C.PERSONALITIES[sc.personality_idx]
    agent = C.AGENTS[sc.agent_idx]
    return {
        "scenario": sc.id,
        "scenario_name": sc.name,
        "personality": pers.id,
        "personality_name": pers.name,
        "agent": agent.id,
        "agent_name": agent.name,
        "run_as_text": False,
        "agent_number": None,
        "run_type": None,
        "outbound_dial_window_opens_at": None,
        "outbound_dial_window_seconds": None,
        "outbound_dial_window_closes_at": None,
    }


_STATIC = [_static(si) for si in range(len(C.SCENARIOS))]
_LIST_STATIC = [
    {**_STATIC[si], "metrics": _LIST_METRICS[si],
     "test_profile_name": "Verified customer" if sc.test_profile else None}
    for si, sc in enumerate(C.SCENARIOS)
]  # fmt: skip
# The same fields pre-encoded (no braces): list pages splice them instead of re-encoding.
_LIST_STATIC_JSON = [json_bytes(d)[1:-1] for d in _LIST_STATIC]


def _common(data: MockData, row: dict[str, Any], full: bool, api: str) -> dict[str, Any]:
    """Per-run fields of ``Run`` / ``RunList``; ``full`` adds scenario fields and details."""
    core = _stream(data, row["id"], 0)
    status = STATUSES[row["status"]]
    sc = C.SCENARIOS[row["scen"]]
    agent = C.AGENTS[sc.agent_idx]
    call_id = f"call_{core.getrandbits(96):024x}"
    trace = f"{core.getrandbits(128):032x}" if core.random() < 0.6 else ""
    dur_full = _full_duration(core)
    delay_us = int(core.uniform(0.5, 8.0) * 1e6)
    ring = round(core.uniform(0.8, 6.0), 1)
    tester_number = f"+1415555{core.randrange(10000):04d}"
    core.random()  # the old review draw (reviews are drawn in reviews.py): later draws stay put
    reason = core.choice(_FAIL_REASONS)
    ended = core.choice(("customer-ended-call", "assistant-ended-call"))
    eo_score = core.choice((0, 25, 50, 75))
    dev_bits = core.getrandbits(8 * len(sc.metric_idx))  # one draw: 8 bits per metric
    if status in _NOT_CONNECTED:
        seconds = 0
    elif status == "timeout":
        seconds = 900
    elif status in _PARTIAL:
        seconds = max(5, dur_full * 2 // 5)
    else:
        seconds = dur_full
    style = W.style(data, row["id"])
    evaluated = row["status"] in (COMPLETED, TIMEOUT)
    success = data.success_of(row)
    passed = data.passed_metrics(row) if evaluated else {}
    review = review_of(data, row)
    ev_status = "success" if success else "failure"
    if review is not None:  # the reviewer's verdict; the metric items keep the judge's
        ev_status = "reviewed_success" if review.passed else "reviewed_failure"
    error = ""
    if row["status"] == FAILED:
        error = f"Call failed to connect: {reason}"
    elif status == "timeout":
        error = "Call exceeded the maximum duration of 900 seconds"
    elif status == "cancelled":
        error = "Run cancelled by user"
    end_reason = {"failed": reason, "timeout": "exceeded-max-duration", "cancelled": "cancelled",
                  "completed": ended}.get(status)  # fmt: skip
    metadata: dict[str, Any] = {}
    if status not in ("in_queue", "pending"):
        metadata = {"ended_reason": end_reason, "ringing_duration": ring,
                    "call_type": "inbound" if agent.inbound else "outbound"}  # fmt: skip
    d: dict[str, Any] = {
        "id": row["id"],
        "provider_call_id": call_id,
        "trace_id": trace,
        "agent_version": W.agent_version(data, row["ver"], row["result"], api, "run"),
        "result_id": row["result"],
        "duration": W.duration(seconds, bool(style & 2)),
        "status": status,
        "evaluation_status": ev_status,
        "expected_outcome": _outcome(row["scen"], success, eo_score) if evaluated else None,
        "success": success,
        "timestamp": iso(row["ts"]),
        "executed_at": None if status in ("in_queue", "pending") else iso(row["ts"] + delay_us),
        "metadata": metadata,
        "outbound_number": tester_number if agent.inbound else agent.contact_number,
        "inbound_number": agent.contact_number if agent.inbound else tester_number,
        "critical_categories": _critical(data, row, passed, dev_bits, review),
        "error_message": error,
    }
    if full:
        d.update(_STATIC[row["scen"]])
        metrics, rubric = (
            evaluate(data, row, _stream(data, row["id"], 1), api) if evaluated else (None, None)
        )
        connected = status not in _NOT_CONNECTED
        turns = (
            _transcript(row, seconds, _stream(data, row["id"], 2), bool(style & 1))
            if connected and seconds
            else []
        )
        if status in _PARTIAL:
            turns = turns[: max(1, len(turns) // 2)]
        d.update(
            scenario_type=sc.scenario_type,
            result_name=result_name(data, row["result"]),
            expected_outcome_prompt=sc.expected_outcome_prompt,
            evaluation={"metrics": metrics} if metrics is not None else None,
            rubric=rubric,
            transcript="\n".join(f"[{t['time']}] {t['role']}: {t['content']}" for t in turns),
            transcript_object=turns,
            voice_recording_url=f"https://storage.example.com/cekura-mock/{row['id']}.wav"
            if connected and status not in _PARTIAL
            else None,
            email_id=None,
            is_reviewed=review is not None,
            feedback=review.feedback if review is not None else "",
            scenario_instructions=sc.instructions,
            test_profile_data={
                "id": sc.test_profile,
                "name": "Verified customer",
                "information": dict(sc.information),
            }
            if sc.test_profile
            else None,
            generated_mock_tool_entries=[],
            mocked_tool_names=[],
            provider_call_details={"provider": agent.provider, "call_id": call_id}
            if connected
            else None,
            testing_channel_index=0 if connected else None,
        )
    return d


def run_full(data: MockData, row: dict[str, Any], api: str = "v1") -> dict[str, Any]:
    """The full ``Run`` object (detail and bulk endpoints) as ``api`` sends it."""
    return _common(data, row, True, api)


def run_list_item(data: MockData, row: dict[str, Any], api: str = "v1") -> dict[str, Any]:
    """The ``RunList`` object: no per-metric results, no transcript."""
    return {**_common(data, row, False, api), **_LIST_STATIC[row["scen"]]}


def run_list_item_json(data: MockData, row: dict[str, Any], api: str = "v1") -> bytes:
    """:func:`run_list_item` encoded, splicing the pre-encoded scenario fields (hot path)."""
    return (
        json_bytes(_common(data, row, False, api))[:-1]
        + b","
        + _LIST_STATIC_JSON[row["scen"]]
        + b"}"
    )

"""Planted failure modes: how each metric fails, in words (what ``failure-modes`` must find).

Every metric fails in 2-4 *modes* (e.g. "Appointment Booked" fails because the agent never
offers a time, books the wrong day, or the caller hangs up on hold). A failed result's mode is
a function of (seed, run id, metric) through the mock's counter hash, drawn with the mode
weights below; its explanation is one of the mode's paraphrased templates, with the slots
(day, time, name, number) filled from a per-result random stream and, as noise, an opening
phrase and a closing sentence shared by all modes. Passing results keep their old texts.

``GET /_mock/failure_modes`` lists the planted mode of every failed result (off the public
contract) so tests and the benchmark can score the recovered modes. Code metrics
(``kind="custom_code"``) send an empty explanation, so they have no planted mode there.
"""

from __future__ import annotations

import random
from typing import Any

from . import catalog as C
from .data import COMPLETED, TIMEOUT, MockData, hash_key, hash_one

#: metric id -> ((mode key, weight, paraphrased templates), ...); weights sum to 1
PLANTED: dict[int, tuple[tuple[str, float, tuple[str, ...]], ...]] = {
    301: (
        (
            "no-time-offered",
            0.5,
            (
                "The agent never offered the caller an available time slot.",
                "No time slot was offered to the caller at any point.",
                "Caller asked to book but the agent did not offer any time slot.",
                "The agent failed to offer a time slot; nothing was offered.",
            ),
        ),
        (
            "wrong-day",
            0.3,
            (
                "The agent booked the appointment on the wrong day ({day} instead of {day2}).",
                "Booked for the wrong day: {day2} although the caller asked for {day}.",
                "Wrong day booked: caller wanted {day}, the booking says {day2}.",
                "The appointment was booked on the wrong day, {day2} rather than {day}.",
            ),
        ),
        (
            "hangup-on-hold",
            0.2,
            (
                "The caller hung up while on hold for {n} minutes.",
                "Caller was left on hold too long and hung up.",
                "Long hold ({n} min): the caller hung up before the booking finished.",
                "The hold lasted so long that the caller hung up.",
            ),
        ),
    ),
    302: (
        (
            "wrong-department",
            0.6,
            (
                "The call was transferred to the wrong department ({team}).",
                "Agent transferred the caller to the wrong department ({team}) instead of billing.",
                "Transferred to {team}, which is the wrong department for this request.",
                "Wrong department: the call was transferred to {team}.",
            ),
        ),
        (
            "human-never-reached",
            0.4,
            (
                "The caller asked for a human {n} times but never reached one.",
                "A human was requested explicitly but the caller never reached a human.",
                "Agent kept the caller in the loop; the requested human was never reached.",
                "Despite repeated requests for a human, the caller never reached one.",
            ),
        ),
    ),
    303: (
        (
            "audio-dropout",
            0.5,
            (
                "Audio dropout for {n} seconds; the caller heard silence.",
                "Several audio dropouts left the caller hearing silence mid-sentence.",
                "Silence from audio dropouts of about {n} s interrupted the call.",
                "The line went to silence: audio dropout for {n} seconds.",
            ),
        ),
        (
            "echo-static",
            0.3,
            (
                "Strong echo and static made the agent's speech hard to hear.",
                "The agent's audio had an echo and static throughout.",
                "Echo plus static on the line degraded the agent's speech.",
                "Static and echo made parts of the call unintelligible.",
            ),
        ),
        (
            "tool-timeout",
            0.2,
            (
                "The calendar tool timed out after {n} seconds and the agent stalled.",
                "A backend tool timeout ({n} s) left the agent stalled.",
                "Tool request timed out; the agent stalled waiting for the backend.",
                "The agent stalled because the backend tool timed out.",
            ),
        ),
    ),
    304: (
        (
            "skipped-verification",
            0.5,
            (
                "The agent skipped identity verification and shared details without the postcode.",
                "Identity verification was skipped: no postcode or order number was requested.",
                "Verification skipped; the agent did not ask for the postcode.",
                "The agent skipped the identity verification before sharing details.",
            ),
        ),
        (
            "no-summary",
            0.3,
            (
                "The agent ended the call without a summary of the next steps.",
                "No summary of the next steps was given before ending.",
                "Call ended with no summary of the next steps.",
                "The instructions require a summary of next steps; none was given.",
            ),
        ),
        (
            "language-switch",
            0.2,
            (
                "The agent switched to English although the caller spoke {lang}.",
                "Caller spoke {lang} but the agent switched language to English.",
                "Language switch: replies switched to English, the caller used {lang}.",
                "The agent did not keep the caller's language ({lang}) and switched to English.",
            ),
        ),
    ),
    305: (
        (
            "slow-first-response",
            0.6,
            (
                "The first response took {ms} ms after the greeting.",
                "The agent's first response came late, {ms} ms after the greeting.",
                "Dead air after the greeting: the first response took {ms} ms.",
                "Long silence after the greeting before the first response ({ms} ms).",
            ),
        ),
        (
            "delay-after-lookup",
            0.4,
            (
                "Each order lookup added a {ms} ms delay.",
                "Replies after the order lookup came with a delay, median {ms} ms.",
                "Every order lookup in the system added delay ({ms} ms).",
                "Order lookup turns: a delay after each lookup in the system.",
            ),
        ),
    ),
    306: (
        (
            "dismissed-frustration",
            0.5,
            (
                "The agent dismissed the caller's frustration.",
                "Caller's frustration was dismissed; the agent showed no empathy.",
                "The agent dismissed the complaint and ignored the frustration.",
                "Dismissed frustration: the caller's frustration was brushed aside.",
            ),
        ),
        (
            "interrupted-caller",
            0.3,
            (
                "The agent interrupted the caller {n} times while they explained the problem.",
                "Caller was repeatedly interrupted mid-sentence by the agent.",
                "The agent interrupted the caller before they could finish.",
                "Frequent interruptions: the agent interrupted the caller {n} times.",
            ),
        ),
        (
            "scripted-apology",
            0.2,
            (
                "The apology sounded scripted and robotic, repeated word for word.",
                "A robotic, scripted apology was repeated {n} times.",
                "The agent repeated the same scripted apology, which felt robotic.",
                "Scripted, robotic apology instead of a genuine response.",
            ),
        ),
    ),
    307: (
        (
            "too-verbose",
            0.6,
            (
                "Answers were too long and verbose; the key point was buried.",
                "The agent gave long, verbose answers that buried the key point.",
                "Verbose answers of {n} sentences buried the key point.",
                "Too long: verbose answers buried the key point.",
            ),
        ),
        (
            "unexplained-jargon",
            0.4,
            (
                "The agent used internal jargon like {jargon} and never explained it.",
                "Unexplained jargon ({jargon}) confused the caller.",
                "Caller was confused by internal jargon such as {jargon}, unexplained.",
                "Internal jargon ({jargon}) was used and never explained.",
            ),
        ),
    ),
    308: (
        (
            "mispronounced-name",
            0.5,
            (
                "The agent mispronounced the caller's name {name} several times.",
                "Name mispronounced: the caller's name {name} was said wrongly.",
                "The caller's name ({name}) was repeatedly mispronounced.",
                "The mispronounced name {name} annoyed the caller.",
            ),
        ),
        (
            "garbled-digits",
            0.5,
            (
                "Phone and order number digits were read out garbled and too fast.",
                "The agent garbled the digits of the order number.",
                "Digits were read too fast and garbled; the caller could not note the number.",
                "Garbled digits: the caller asked to repeat the number.",
            ),
        ),
    ),
    309: (
        (
            "issue-unresolved",
            0.5,
            (
                "The caller left frustrated because the issue stayed unresolved.",
                "Issue unresolved at the end; the caller was unhappy.",
                "The issue was unresolved and the caller ended the call unhappy.",
                "Caller sentiment turned negative as the issue remained unresolved.",
            ),
        ),
        (
            "repeated-details",
            0.3,
            (
                "The caller had to repeat the same details {n} times and got annoyed.",
                "Repeated requests for the same details annoyed the caller.",
                "The same details were requested again; the caller had to repeat them.",
                "Annoyed caller: had to repeat their details {n} times.",
            ),
        ),
        (
            "callback-refused",
            0.2,
            (
                "The caller asked for a callback and the agent refused.",
                "Callback request refused; the caller became angry.",
                "Agent refused to arrange the callback the caller asked for.",
                "A callback was requested but refused, which upset the caller.",
            ),
        ),
    ),
    310: (
        (
            "promised-price",
            0.6,
            (
                "The agent promised a price of {n}00 EUR, which policy forbids.",
                "Policy breach: a specific price and savings were promised.",
                "Promised savings of {n}00 EUR and a price against policy.",
                "The agent promised a price and guaranteed savings, violating policy.",
            ),
        ),
        (
            "medical-advice",
            0.4,
            (
                "The agent gave medical advice about {symptom}, which is not allowed.",
                "Medical advice was given for {symptom} instead of offering an emergency slot.",
                "Policy violation: medical advice on treating {symptom} was given.",
                "The agent recommended a treatment for {symptom}: medical advice is forbidden.",
            ),
        ),
    ),
}

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_SLOTS = {
    "team": ("sales", "shipping", "technical support", "the front desk", "returns"),
    "lang": ("Spanish", "French", "German", "Hindi", "Portuguese"),
    "jargon": ("SLA", "RMA", "the T2 queue", "net metering", "a PO"),
    "name": ("Siobhan", "Nguyen", "Joaquín", "Aoife", "Wojciech", "Ngozi"),
    "symptom": ("a toothache", "gum swelling", "a cracked filling", "jaw pain"),
}
# Noise shared by every mode: an opening phrase and a closing sentence.
_OPENERS = ("", "", "Reviewing the call: ", "Overall, ", "From the transcript, ", "Note: ")
_CLOSERS = (
    "",
    "",
    "",
    "",
    "",
    " The caller sounded {mood}.",
    " Call reference {ref}.",
    " This happened around {time}.",
    " See turn {n} of the transcript.",
)
_MOODS = ("calm", "tired", "rushed", "polite", "curt")
_NAMES = {m.id: m.name for m in C.METRICS}
_EXPLAINED = [m.kind != "custom_code" for m in C.METRICS]  # code metrics explain nothing
_SALT = 2000  # hash salt for the mode draw (data.py uses 1-10 and 1000+metric index)


def metric_modes(metric_id: int) -> list[str]:
    """The planted mode keys of a metric, most frequent first."""
    return [key for key, _, _ in PLANTED[metric_id]]


def planted_mode(seed: int, run_id: int, metric_id: int) -> str:
    """The planted mode key of a failed result (a function of seed, run and metric)."""
    u = hash_one(hash_key(seed, _SALT + metric_id), run_id) / 4294967296.0
    acc = 0.0
    modes = PLANTED[metric_id]
    for key, weight, _ in modes:
        acc += weight
        if u < acc:
            return key
    return modes[-1][0]


def mode_text(metric_id: int, mode: str, rng: random.Random) -> str:
    """One explanation of ``mode``: a random paraphrase, slots filled, noise around it."""
    templates = next(t for key, _, t in PLANTED[metric_id] if key == mode)
    day, day2 = rng.sample(_DAYS, 2)
    fills: dict[str, Any] = {k: rng.choice(v) for k, v in _SLOTS.items()}
    fills |= {"day": day, "day2": day2, "n": rng.randint(2, 9), "ms": rng.randint(26, 90) * 100}
    fills |= {"mood": rng.choice(_MOODS), "ref": f"{rng.getrandbits(24):06x}"}
    fills["time"] = f"{rng.randint(8, 17)}:{rng.choice(('00', '15', '30', '45'))}"
    body = rng.choice(templates).format(**fills)
    opener = rng.choice(_OPENERS)
    if opener:
        body = body[0].lower() + body[1:]
    return opener + body + rng.choice(_CLOSERS).format(**fills)


def failed_explanation(seed: int, run_id: int, metric_id: int) -> str:
    """The explanation of a failed result, in the service's emoji style (deterministic)."""
    rng = random.Random(hash_one(hash_key(seed, _SALT + 100 + metric_id), run_id))
    text = mode_text(metric_id, planted_mode(seed, run_id, metric_id), rng)
    return f"❌ {_NAMES[metric_id]}: {text}"


def planted_failures(data: MockData) -> list[dict[str, Any]]:
    """``{run_id, metric_id, mode}`` for every failed result of an evaluated run, by run id."""
    out: list[dict[str, Any]] = []
    with data.lock:
        runs = data.runs.filter(data.runs["status"].is_in([COMPLETED, TIMEOUT]))
    for row in runs.select("id", "scen", "bits").iter_rows(named=True):
        for mi in C.SCENARIOS[row["scen"]].metric_idx:
            if not row["bits"] >> mi & 1 and _EXPLAINED[mi]:
                mid = C.METRICS[mi].id
                mode = planted_mode(data.seed, row["id"], mid)
                out.append({"run_id": row["id"], "metric_id": mid, "mode": mode})
    return out

"""The mock's fixed catalogue: agents (with version history), personalities, metrics,
scenarios, phrase banks and the planted failure multipliers.

The catalogue does not depend on the seed, so ids and names are stable across seeds and the
planted signal (documented in :mod:`cekura_analytics.mock.data`) can be referred to by name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

PROJECT_ID = 7
ORG_USER_ID = 42  # created_by / last_updated_by on catalogue objects


@dataclass(frozen=True)
class Agent:
    """An agent under test; ``versions`` are (history-record id, start as fraction of span)."""

    id: int
    name: str
    inbound: bool
    contact_number: str
    description: str
    provider: str
    llm_model: str
    prompt: str
    versions: tuple[tuple[int, float], ...]
    weight: float  # share of results run against this agent


@dataclass(frozen=True)
class Personality:
    """A simulated caller."""

    id: int
    name: str
    language: str
    accent: str
    gender: str
    background_noise: str = "office"
    interruption_level: str = "medium"
    speed: str = "normal"
    provider: str = "11labs"


@dataclass(frozen=True)
class Metric:
    """A metric definition plus how the mock draws its scores."""

    id: int
    name: str
    eval_type: str  # binary | numeric | continuous_qualitative | enum
    description: str
    base_fail: float
    op: str = "gte"  # rubric condition operator for numeric / continuous metrics
    threshold: float = 0.0
    lo: float = 0.0
    hi: float = 1.0
    enum_values: tuple[str, ...] = ()
    pass_values: tuple[str, ...] = ()
    function_name: str | None = None
    kind: str = "llm_judge"


@dataclass(frozen=True)
class Scenario:
    """An evaluator: what the simulated caller tries to do."""

    id: int
    name: str
    agent_idx: int
    personality_idx: int
    language: str
    scenario_type: str
    tags: tuple[str, ...]
    folder_path: str | None
    instructions: str
    expected_outcome_prompt: str
    metric_idx: tuple[int, ...]
    test_profile: int | None = None
    information: dict[str, str] = field(default_factory=dict)


_DENTAL_PROMPT = """You are Ava, the receptionist of Brightsmile Dental.
Greet the caller, find out what they need and book, move or cancel appointments.
Always confirm the date, time and the patient's full name before booking.
Never give medical advice; for pain or swelling offer the earliest emergency slot.
Transfer billing and insurance questions to the front desk."""

_SALES_PROMPT = """You are Leo, an outbound sales agent for Northwind Solar.
Introduce yourself, check the homeowner is the decision maker and qualify the lead
(roof type, monthly bill, postcode). Offer a free site survey.
If the caller asks for a human or is a business customer, transfer to a sales manager.
Never promise prices or savings figures."""

_SUPPORT_PROMPT = """You are Mia, the order support assistant of Globex.
Verify the customer with their order number and postcode before sharing any detail.
Help with order status, returns and refunds within policy (30 days, unused items).
Escalate damaged-item claims above 200 EUR to a supervisor.
Stay calm and empathetic; summarise the next steps before ending the call."""

AGENTS: tuple[Agent, ...] = (
    Agent(101, "Brightsmile Dental Receptionist", True, "+14155550101",
          "Inbound receptionist: bookings, reschedules, cancellations.", "vapi", "gpt-4o",
          _DENTAL_PROMPT, ((4410, 0.0), (4467, 0.28), (4519, 0.61), (4588, 0.84)), 0.45),
    Agent(102, "Northwind Solar Sales", False, "+14155550102",
          "Outbound lead qualification for solar installations.", "retell", "gpt-4.1",
          _SALES_PROMPT, ((4432, 0.0), (4490, 0.40), (4551, 0.77)), 0.30),
    Agent(103, "Globex Order Support", True, "+14155550103",
          "Inbound order status, returns and refunds.", "elevenlabs", "gpt-4o-mini",
          _SUPPORT_PROMPT, ((4421, 0.0), (4503, 0.35), (4560, 0.66), (4602, 0.90)), 0.25),
)  # fmt: skip

#: every (agent index, version id) in one flat list; runs store the index into it
VERSIONS: tuple[tuple[int, int], ...] = tuple(
    (ai, vid) for ai, agent in enumerate(AGENTS) for vid, _ in agent.versions
)

PERSONALITIES: tuple[Personality, ...] = (
    Personality(201, "Normal American Male", "en", "American", "male"),
    Personality(202, "Angry British Female", "en", "British", "female", interruption_level="high"),
    Personality(203, "Elderly Australian Male", "en", "Australian", "male", speed="slow"),
    Personality(204, "Impatient Spanish Male", "es", "Castilian", "male",
                interruption_level="high", speed="fast"),
    Personality(205, "Friendly Mexican Female", "es", "Mexican", "female"),
    Personality(206, "Confused French Male", "fr", "Parisian", "male", interruption_level="low"),
    Personality(207, "Calm Québécois Female", "fr", "Québécois", "female", provider="cartesia"),
    Personality(208, "Direct German Male", "de", "German", "male"),
    Personality(209, "Chatty Austrian Female", "de", "Austrian", "female"),
    Personality(210, "Polite Hindi Female", "hi", "Delhi", "female", provider="cartesia"),
    Personality(211, "Hurried Hindi Male", "hi", "Mumbai", "male", speed="fast"),
    Personality(212, "Busy Brazilian Commuter Female", "pt", "Brazilian", "female",
                background_noise="street"),
)  # fmt: skip

METRICS: tuple[Metric, ...] = (
    Metric(301, "Appointment Booked", "binary", "The agent booked the requested slot.", 0.05),
    Metric(302, "Call Transferred Correctly", "binary",
           "Transfers happen when, and only when, the policy asks for them.", 0.06),
    Metric(303, "Infrastructure Issues", "binary",
           "1 when the call had no infrastructure problem (no dead air, drops, echo).", 0.03,
           function_name="check_infrastructure_issues", kind="basic"),
    Metric(304, "Instruction Following", "numeric",
           "How closely the agent followed its instructions (0-100).", 0.07,
           threshold=70, lo=0, hi=100),
    Metric(305, "Response Latency", "numeric", "Median agent response latency in ms.", 0.06,
           op="lte", threshold=2500, lo=600, hi=6000, function_name="get_latency",
           kind="custom_code"),
    Metric(306, "Empathy", "continuous_qualitative",
           "Warmth and acknowledgement of the caller's feelings (0-5).", 0.08,
           threshold=4, lo=0.5, hi=5),
    Metric(307, "Clarity", "continuous_qualitative", "Clear, concise answers (0-5).", 0.05,
           threshold=3, lo=0.5, hi=5),
    Metric(308, "Pronunciation Quality", "continuous_qualitative",
           "Names, numbers and addresses pronounced correctly (0-5).", 0.05,
           threshold=3, lo=0.5, hi=5),
    Metric(309, "Customer Sentiment", "enum", "Caller sentiment at the end of the call.", 0.08,
           enum_values=("positive", "neutral", "negative"), pass_values=("positive", "neutral")),
    Metric(310, "Policy Compliance", "binary", "No promise or disclosure against policy.", 0.04),
)  # fmt: skip

METRIC_BY_ID = {m.id: i for i, m in enumerate(METRICS)}
AGENT_BY_ID = {a.id: i for i, a in enumerate(AGENTS)}
PERSONALITY_BY_ID = {p.id: i for i, p in enumerate(PERSONALITIES)}


def _mi(metric_id: int) -> int:
    """Index of a metric id in METRICS."""
    return METRIC_BY_ID[metric_id]


# Planted signal: multipliers on a metric's *failure* probability (capped at MAX_FAIL).
# Keyed by (metric index, attribute value). Documented in data.py's module docstring.
LANGUAGE_FAIL = {(_mi(304), "hi"): 7.0, (_mi(307), "fr"): 1.6}
PERSONALITY_FAIL = {(_mi(306), 202): 6.0, (_mi(306), 204): 6.0, (_mi(303), 212): 5.0}
VERSION_FAIL = {(_mi(301), 4519): 9.0, (_mi(301), 4588): 0.8}
AGENT_FAIL = {(_mi(305), 103): 3.0}
MAX_FAIL = 0.9

SCENARIO_THEMES: tuple[tuple[tuple[str, str, str, str], ...], ...] = (
    (  # (theme, folder, instruction, expected outcome) per agent
        ("Book a cleaning", "Scheduling.New", "Ask for a teeth cleaning next week, mornings only",
         "A cleaning is booked on a weekday morning next week and confirmed back"),
        ("Reschedule a filling", "Scheduling.Changes",
         "Move your filling appointment from Tuesday to Friday", "The appointment is moved"),
        ("Cancel appointment", "Scheduling.Changes", "Cancel your check-up and ask about fees",
         "The appointment is cancelled and the fee policy explained"),
        ("Emergency toothache", "Scheduling.Urgent", "Report strong pain and a swollen cheek",
         "The earliest emergency slot is offered without medical advice"),
        ("Insurance question", "Billing.Insurance", "Ask whether your insurance covers crowns",
         "The caller is transferred to the front desk"),
        ("New patient booking", "Scheduling.New", "Book a first visit for you and your child",
         "Two consecutive appointments are booked with both names confirmed"),
    ),
    (
        ("Qualified homeowner", "Sales.Outbound", "You own a house and pay 180 a month",
         "The lead is qualified and a site survey is offered"),
        ("Not the decision maker", "Sales.Outbound", "You rent the flat; the owner lives abroad",
         "The agent politely ends the call without pushing"),
        ("Asks for a human", "Sales.Escalation", "Insist on speaking to a real person",
         "The caller is transferred to a sales manager"),
        ("Price pressure", "Sales.Objections", "Demand an exact price and savings figure",
         "No price or savings promise is made; a survey is offered"),
        ("Business customer", "Sales.Escalation", "You call about solar for your warehouse",
         "The caller is transferred to a sales manager"),
        ("Callback later", "Sales.Inbound", "You are busy; ask to be called back tomorrow",
         "A callback is scheduled and confirmed"),
    ),
    (
        ("Where is my order", "Support.Orders", "Ask for the status of order A-10442",
         "The customer is verified and told the delivery date"),
        ("Return unused item", "Support.Returns", "Return shoes bought 12 days ago, unused",
         "A return label is issued within policy"),
        ("Late refund", "Support.Refunds", "Complain that a refund has not arrived after 3 weeks",
         "The refund is traced and a timeline is given"),
        ("Damaged TV claim", "Support.Returns", "Your 650 EUR TV arrived broken; be upset",
         "The claim is escalated to a supervisor"),
        ("Unverified caller", "Support.Account", "Refuse to give your postcode",
         "No order detail is shared before verification"),
        ("Change address", "Support.Account", "Change the delivery address of an open order",
         "The address is updated after verification"),
    ),
)  # fmt: skip

AGENT_METRICS = ((_mi(301),), (_mi(302),), (_mi(310),))
COMMON_METRICS = (_mi(303), _mi(304), _mi(306), _mi(309))
OPTIONAL_METRICS = (_mi(305), _mi(307), _mi(308))
TAG_POOL = ("smoke", "regression", "edge-case", "multilingual", "priority", "nightly")
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "hi": "Hindi",
    "pt": "Portuguese",
}  # fmt: skip
SCENARIOS_PER_AGENT = 50


def _build_scenarios() -> tuple[Scenario, ...]:
    """150 scenarios, 50 per agent, every agent covering every personality and language."""
    out: list[Scenario] = []
    rng = random.Random(20260801)  # fixed: the catalogue is the same for every seed
    types: tuple[str, ...] = ("instruction",) * 14 + ("real_world_smart",) * 3
    types += ("conditional_actions",) * 2 + ("real_world_fixed",)
    for ai in range(len(AGENTS)):
        themes = SCENARIO_THEMES[ai]
        for k in range(SCENARIOS_PER_AGENT):
            pi = (k + 5 * ai) % len(PERSONALITIES)
            pers = PERSONALITIES[pi]
            theme, folder, instr, outcome = themes[k % len(themes)]
            # theme and personality repeat together every 12 scenarios: number the repeats
            suffix = "" if k < len(PERSONALITIES) else f" #{k // len(PERSONALITIES) + 1}"
            extra = tuple(m for m in OPTIONAL_METRICS if rng.random() < 0.5)
            metrics = tuple(sorted(AGENT_METRICS[ai] + COMMON_METRICS + extra))
            tags = tuple(sorted(rng.sample(TAG_POOL, rng.randint(1, 3))))
            if pers.language != "en" and "multilingual" not in tags:
                tags = (*tags, "multilingual")
            lang_name = LANGUAGE_NAMES[pers.language]
            out.append(
                Scenario(
                    id=1001 + len(out),
                    name=f"{theme} · {pers.name}{suffix}"[:80],
                    agent_idx=ai,
                    personality_idx=pi,
                    language=pers.language,
                    scenario_type=types[rng.randrange(len(types))],
                    tags=tags,
                    folder_path=None if rng.random() < 0.06 else folder,
                    instructions=(
                        f"You are a caller speaking {lang_name} with {_article(pers.accent)} "
                        f"{pers.accent} accent. "
                        f"{instr}. Stay in character ({pers.name.lower()}) and end the call "
                        "politely once your goal is reached or clearly refused."
                    ),
                    expected_outcome_prompt=outcome,
                    metric_idx=metrics,
                    test_profile=901 if ai == 2 else None,
                    information={"user_name": rng.choice(_NAMES), "order_id": "A-10442"}
                    if ai == 2
                    else {"user_name": rng.choice(_NAMES)},
                )
            )
    return tuple(out)


def _article(word: str) -> str:
    """English indefinite article for ``word``."""
    return "an" if word[:1].upper() in "AEIOU" else "a"


_NAMES = ("Jordan Lee", "María García", "Amélie Dubois", "Lukas Bauer", "Priya Sharma",
          "João Silva", "Sam Taylor", "Carmen Ruiz")  # fmt: skip

SCENARIOS = _build_scenarios()
SCENARIO_BY_ID = {s.id: i for i, s in enumerate(SCENARIOS)}


def fail_probability(metric_idx: int, scenario_idx: int, version_idx: int) -> float:
    """Failure probability of one metric for a run of this scenario on this agent version."""
    sc = SCENARIOS[scenario_idx]
    ai, vid = VERSIONS[version_idx]
    p = METRICS[metric_idx].base_fail
    p *= LANGUAGE_FAIL.get((metric_idx, sc.language), 1.0)
    p *= PERSONALITY_FAIL.get((metric_idx, PERSONALITIES[sc.personality_idx].id), 1.0)
    p *= VERSION_FAIL.get((metric_idx, vid), 1.0)
    p *= AGENT_FAIL.get((metric_idx, AGENTS[ai].id), 1.0)
    return min(p, MAX_FAIL)


# Planted flakiness. A metric's pass probability is the same for every scenario of one agent
# and personality (siblings: the same theme, numbered #2, #3...), so it can be moved between
# siblings without moving any rate the planted signal above is read from. Water-filling does
# it: the siblings, in a fixed per-metric order of difficulty, take pass probability 1 in turn
# until their total equals n * p, one of them keeps the remainder and the rest take 0. A
# metric at 95 % over four siblings becomes 1, 1, 1 and 0.8 (three always pass, one flips);
# at 51 % (Hindi x Instruction Following) 1, 1, 0.04, 0 (two always fail): fixes to find.
# SPREAD_METRICS are left as they were, every scenario in between (a reliability problem):
# latency is measured per call and empathy is judged on how the simulated caller happens to
# behave, so each repeat of a scenario can go either way.
SPREAD_METRICS = (_mi(305), _mi(306))
_FLAKY_ORDER_SEED = 20260818  # fixed: the planted structure is the same for every seed


def _sibling_order() -> dict[tuple[int, int], tuple[int, int]]:
    """(metric index, scenario index) -> (rank of difficulty, siblings having the metric)."""
    groups: dict[tuple[int, int], list[int]] = {}
    for si, sc in enumerate(SCENARIOS):
        groups.setdefault((sc.agent_idx, sc.personality_idx), []).append(si)
    rng = random.Random(_FLAKY_ORDER_SEED)
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for _, members in sorted(groups.items()):
        for mi in range(len(METRICS)):
            having = [si for si in members if mi in SCENARIOS[si].metric_idx]
            rng.shuffle(having)  # the per-metric order of difficulty, easiest first
            for rank, si in enumerate(having):
                out[mi, si] = (rank, len(having))
    return out


_SIBLING_ORDER = _sibling_order()


def pass_probability(metric_idx: int, scenario_idx: int, version_idx: int) -> float:
    """Planted pass probability of one metric for a run of this scenario on this version:
    0 or 1 for a stable cell, in between for a flaky one (see the water-filling above)."""
    p = 1.0 - fail_probability(metric_idx, scenario_idx, version_idx)
    order = _SIBLING_ORDER.get((metric_idx, scenario_idx))
    if metric_idx in SPREAD_METRICS or order is None:
        return p
    rank, n = order
    # rounded so that a float residue such as 4e-16 is not mistaken for "in between"
    return round(min(1.0, max(0.0, n * p - rank)), 9)


# Phrase banks per language: (main agent lines, testing agent lines). {a} = agent name.
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Thank you for calling {a}, how can I help you today?", "Sure, let me check that.",
         "Could you confirm your full name, please?", "I have Thursday at 9:30 or Friday at 11.",
         "Got it. Is there anything else I can help with?", "One moment while I look that up.",
         "I understand, that sounds frustrating.", "You're all set. Have a great day!"),
        ("Hi, I'm calling about my appointment.", "Yes, that's right.",
         "Can you do anything earlier?", "It's Jordan Lee.", "Hmm, I'm not sure that works.",
         "Okay, Friday is fine.", "No, that's everything, thanks.", "Sorry, could you repeat?"),
    ),
    "es": (
        ("Gracias por llamar a {a}, ¿en qué puedo ayudarle?", "Claro, déjeme comprobarlo.",
         "¿Me confirma su nombre completo?", "Tengo el jueves a las 9:30.",
         "Entendido. ¿Algo más?", "Perfecto, queda confirmado. ¡Buen día!"),
        ("Hola, llamo por mi cita.", "Sí, exacto.", "¿No hay nada antes?", "Me llamo María García.",
         "Vale, el viernes me va bien.", "No, eso es todo, gracias."),
    ),
    "fr": (
        ("Merci d'avoir appelé {a}, comment puis-je vous aider ?", "Bien sûr, je vérifie.",
         "Pouvez-vous me confirmer votre nom ?", "J'ai jeudi à 9h30 ou vendredi à 11h.",
         "C'est noté. Autre chose ?", "Parfait, c'est confirmé. Bonne journée !"),
        ("Bonjour, j'appelle pour mon rendez-vous.", "Oui, c'est ça.", "Plus tôt, c'est possible ?",
         "Amélie Dubois.", "D'accord, vendredi me convient.", "Non, merci, c'est tout."),
    ),
    "de": (
        ("Danke für Ihren Anruf bei {a}, wie kann ich helfen?", "Gerne, ich sehe nach.",
         "Können Sie mir Ihren vollständigen Namen sagen?", "Ich habe Donnerstag um 9:30.",
         "Verstanden. Noch etwas?", "Alles erledigt. Schönen Tag noch!"),
        ("Hallo, ich rufe wegen meines Termins an.", "Ja, genau.", "Geht es auch früher?",
         "Lukas Bauer.", "Gut, Freitag passt.", "Nein, das war alles, danke."),
    ),
    "hi": (
        ("{a} को कॉल करने के लिए धन्यवाद, मैं आपकी क्या मदद कर सकती हूँ?", "ज़रूर, मैं देखती हूँ।",
         "कृपया अपना पूरा नाम बताइए।", "गुरुवार सुबह 9:30 का समय खाली है।",
         "ठीक है। कुछ और?", "हो गया। आपका दिन शुभ हो!"),
        ("नमस्ते, मैं अपनी अपॉइंटमेंट के बारे में कॉल कर रही हूँ।", "हाँ, सही है।",
         "क्या इससे पहले कुछ मिल सकता है?", "प्रिया शर्मा।", "ठीक है, शुक्रवार चलेगा।",
         "नहीं, बस इतना ही, धन्यवाद।"),
    ),
    "pt": (
        ("Obrigada por ligar para {a}, como posso ajudar?", "Claro, vou verificar.",
         "Pode confirmar o seu nome completo?", "Tenho quinta às 9h30.",
         "Certo. Mais alguma coisa?", "Pronto, está confirmado. Bom dia!"),
        ("Oi, estou ligando sobre minha consulta.", "Sim, isso mesmo.", "Tem algo mais cedo?",
         "João Silva.", "Tá bom, sexta serve.", "Não, é só isso, obrigada."),
    ),
}  # fmt: skip

"""The intent of a lead's message in its decision: one rule for one lead and a table, routing rules on intent
and a least probability (generated routing files x intents x tiers x triage: clinical triage always wins),
the spam queue, no intent without a message, and the routing file's checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from careleads.decisions import (
    IntentModel,
    decide,
    decide_columns,
    decide_many,
    default_intent_model,
    load_hard_rules,
    load_routing,
    parse_hard_rules,
    parse_routing,
    read_intents,
    validate_routing_text,
)
from careleads.errors import ConfigError
from careleads.synth import make_labelled_texts
from careleads.text import detect_urgent_symptoms
from test_triage import TRIGGERING

NOW = "2025-03-05 10:00"  # a Wednesday morning
TIERS = ("A", "B", "C", "D")
BLANKS: tuple[Any, ...] = (None, "", "   ", float("nan"), pd.NA)


@pytest.fixture(scope="module")
def model() -> IntentModel:
    """The default intent classifier, made once for the module."""
    return default_intent_model()


@pytest.fixture(scope="module")
def pool(model: IntentModel) -> pd.DataFrame:
    """Simulated messages of every intent with the intent and probability the classifier gives them."""
    frame = make_labelled_texts(1500, seed=5)[["text"]].drop_duplicates().reset_index(drop=True)
    labels, chances = read_intents(frame["text"].tolist(), model)
    frame["intent"], frame["p"] = labels, chances
    return frame


def _lead(lead_id: str, question: Any, **fields: Any) -> dict[str, Any]:
    """A complete, in-area, consenting patient lead asking to book (no hard rule but triage and intent)."""
    out: dict[str, Any] = {
        "lead_id": lead_id,
        "lead_type": "patient",
        "service_line": "cardiology",
        "region": "east",
        "source": "organic_search",
        "preferred_contact": "phone",
        "consent_marketing": True,
        "consent_sms": True,
        "inquiry_type": "scheduling",
        "phone": "555-0100",
        "email": "someone@example.org",
        "question": question,
    }
    out.update(fields)
    return out


def _score(lead_id: str, tier: str) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "probability": 0.3,
        "score": 30,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "",
        "scored_by": "model",
        "model_version": "m1",
    }


def _random_routing(rng: np.random.Generator, labels: list[str]) -> dict[str, Any]:
    """A routing file with random rules on tier, intent and the intent's least probability."""
    routes: dict[str, Any] = {
        f"r{k}": {"kind": "service", "queue": f"q{k}", "sla_hours": 10} for k in range(5)
    }
    routes["review"] = {"kind": "review", "queue": "q_review", "sla_hours": 10}
    routes["hold"] = {"kind": "hold", "queue": "q_hold"}
    routes["clinical_triage"] = {
        "kind": "clinical",
        "queue": "q_triage",
        "sla_hours": 1,
        "sla_clock": "calendar",
    }
    rules = []
    for _ in range(int(rng.integers(3, 9))):
        rule: dict[str, Any] = {"route": f"r{int(rng.integers(0, 5))}"}
        if rng.random() < 0.5:
            rule["tier"] = [str(t) for t in rng.choice(TIERS, int(rng.integers(1, 4)), replace=False)]
        if rng.random() < 0.8:
            named = (
                ["*"]
                if rng.random() < 0.15
                else list(rng.choice(labels, int(rng.integers(1, 3)), replace=False))
            )
            rule["intent"] = [str(n) for n in named]
            if rng.random() < 0.6:
                rule["intent_min_probability"] = float(rng.choice([0.3, 0.5, 0.7, 0.9, 0.95, 1.0]))
        rules.append(rule)
    return {
        "intent_field": "question",
        "default_route": "review",
        "blocked_route": "hold",
        "no_marketing_route": "review",
        "routes": routes,
        "rules": rules,
        "queues": {spec["queue"]: {"capacity": 10, "owners": ["reviewer"]} for spec in routes.values()},
    }


TRIAGE_ONLY = {
    "rules": [
        {
            "name": "urgent_clinical_symptoms",
            "description": "urgent symptoms",
            "when": {"field": "question", "urgent_symptoms": True},
            "effect": {"force_route": "clinical_triage"},
            "reason": "urgent symptoms",
        }
    ]
}


def _expected_route(data: dict[str, Any], tier: str, text: Any, intent: str | None, p: float) -> str:
    """The route a lead should get, worked out from the file as written: triage, else the first rule."""
    if isinstance(text, str) and detect_urgent_symptoms(text).triggered:
        return "clinical_triage"
    for rule in data["rules"]:
        if "tier" in rule and tier not in rule["tier"]:
            continue
        if "intent" in rule and not ("*" in rule["intent"] or intent in rule["intent"]):
            continue
        if "intent_min_probability" in rule and not (
            intent is not None and p >= rule["intent_min_probability"]
        ):
            continue
        return str(rule["route"])
    return str(data["default_route"])


@pytest.mark.parametrize("seed", range(6))
def test_generated_routing_on_intent_tier_and_triage_triage_always_wins(
    seed: int, model: IntentModel, pool: pd.DataFrame
) -> None:
    rng = np.random.default_rng(seed)
    labels = sorted({str(label) for label in pool["intent"].dropna()})
    data = _random_routing(rng, labels)
    routing, hard_rules = parse_routing(data, "generated.yaml"), parse_hard_rules(TRIAGE_ONLY, "triage.yaml")
    urgent = [text for text, _kind in TRIGGERING]
    leads, scores = [], []
    for k in range(80):
        pick = rng.random()
        if pick < 0.1:
            text = BLANKS[int(rng.integers(0, len(BLANKS)))]
        else:
            text = str(pool["text"].iloc[int(rng.integers(0, len(pool)))])
            if pick > 0.75:  # the message also describes urgent symptoms
                text = f"{text} {urgent[int(rng.integers(0, len(urgent)))]}"
        tier = TIERS[int(rng.integers(0, 4))]
        leads.append(_lead(f"L{k}", text))
        scores.append(_score(f"L{k}", tier))
    kwargs: dict[str, Any] = {"routing": routing, "hard_rules": hard_rules, "intent_model": model, "now": NOW}
    batch = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), **kwargs)
    many = decide_many(pd.DataFrame(leads), pd.DataFrame(scores), **kwargs)
    n_triage = n_by_intent = 0
    for i, (lead, scored) in enumerate(zip(leads, scores, strict=True)):
        one = decide(lead, scored, **kwargs)
        labels_one, chances_one = read_intents([lead["question"]], model)
        assert one.intent == labels_one[0] == many[i].intent
        p = float(chances_one[0])
        want = _expected_route(data, scored["tier"], lead["question"], one.intent, p)
        assert one.route.name == many[i].route.name == batch["route_name"].iloc[i] == want, (
            lead,
            data["rules"],
        )
        n_triage += want == "clinical_triage"
        n_by_intent += any("intent" in rule for rule in data["rules"]) and want not in ("clinical_triage",)
        if one.intent is None:
            assert one.intent_probability is None and pd.isna(batch["intent"].iloc[i])
        else:
            assert one.intent_probability == pytest.approx(p, abs=1e-12)
            assert batch["intent"].iloc[i] == one.intent
            assert batch["intent_probability"].iloc[i] == pytest.approx(one.intent_probability, abs=1e-12)
    assert n_triage > 0 and n_by_intent > 0  # both branches were met


def test_spam_goes_to_its_own_queue_never_contacted_unless_triage_fires(pool: pd.DataFrame) -> None:
    spam = pool.loc[(pool["intent"] == "spam") & (pool["p"] > 0.7), "text"].head(12).tolist()
    assert len(spam) >= 5, "the classifier should read some simulated spam as spam"
    urgent = [text for text, _kind in TRIGGERING]
    variants: list[dict[str, Any]] = [
        {},
        {"phone": None, "email": None},  # the contact rules would send it to data completion
        {"region": "outside_area"},  # the area rule would send an informational reply
        {"inquiry_type": "billing_existing"},
        {"consent_marketing": False, "consent_sms": False},
        {"lead_type": "clinician"},
    ]
    leads: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    triage: list[str] = []
    k = 0
    for text in spam:
        for variant in variants:
            for tier in TIERS:
                for urgent_too in (False, True):
                    question = f"{text} {urgent[k % len(urgent)]}" if urgent_too else text
                    leads.append(_lead(f"S{k}", question, **variant))
                    scores.append(_score(f"S{k}", tier))
                    triage.append(detect_urgent_symptoms(question).level)
                    k += 1
    batch = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), now=NOW)
    spam_queue = load_routing().route("spam_review")
    assert spam_queue.channels == () and spam_queue.kind == "review"
    n_spam_triaged = 0
    for i, (lead, scored) in enumerate(zip(leads, scores, strict=True)):
        one = decide(lead, scored, now=NOW)
        assert one.route.name == batch["route_name"].iloc[i]
        if triage[i] == "urgent":
            assert one.route.kind == "clinical" and one.review_required
            n_spam_triaged += one.intent == "spam"
        elif triage[i] == "possible":  # a possible emergency is read by a person first, never as spam
            assert one.route.name != "spam_review" and one.review_required
        elif one.intent == "spam" and (one.intent_probability or 0) > 0.7:
            assert one.route.name == "spam_review" and one.route.channels == ()
            assert one.review_required  # visible in the review queue, never dropped
            assert one.overrides[0].rule == "spam_message"
    assert n_spam_triaged > 0  # spam-looking messages with an emergency reached the triage line


@pytest.mark.parametrize("blank", BLANKS, ids=["none", "empty", "spaces", "nan", "na"])
def test_a_lead_without_a_message_gets_no_intent(blank: Any, model: IntentModel) -> None:
    lead, scored = _lead("L1", blank), _score("L1", "C")
    one = decide(lead, scored, now=NOW, intent_model=model)
    assert one.intent is None and one.intent_probability is None
    assert one.to_dict()["intent"] is None
    batch = decide_columns(
        pd.DataFrame([lead, _lead("L2", "Can I book a check-up next week?")]),
        pd.DataFrame([scored, _score("L2", "C")]),
        now=NOW,
        intent_model=model,
    )
    assert pd.isna(batch["intent"].iloc[0]) and np.isnan(batch["intent_probability"].iloc[0])
    assert batch["intent"].iloc[1] is not None and 0 < batch["intent_probability"].iloc[1] <= 1
    # a lead without the field at all, and a routing file that reads no intent
    alone = decide({k: v for k, v in lead.items() if k != "question"}, scored, now=NOW, intent_model=model)
    assert alone.intent is None
    off = parse_routing({**load_routing_data(), "intent_field": None, "rules": [{"route": "intake_review"}]})
    texted = decide(
        _lead("L3", "my bill is wrong"),
        _score("L3", "C"),
        routing=off,
        hard_rules=parse_hard_rules(TRIAGE_ONLY),
        now=NOW,
    )
    assert texted.intent is None


def load_routing_data() -> dict[str, Any]:
    """The shipped routing file as data (routes, queues and special routes), to build variants from."""
    import yaml

    from careleads.config import read_config_text

    text, _source = read_config_text(None, shipped="routing.yaml")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_intent_is_the_same_for_a_table_and_for_each_lead_alone(
    model: IntentModel, pool: pd.DataFrame
) -> None:
    texts: list[Any] = (
        pool["text"].head(200).tolist() + list(BLANKS) + pool["text"].head(5).tolist()
    )  # repeats
    labels, chances = read_intents(texts, model)
    for k, text in enumerate(texts):
        alone_label, alone_p = read_intents([text], model)
        assert alone_label[0] == labels[k]
        assert (np.isnan(alone_p[0]) and np.isnan(chances[k])) or alone_p[0] == pytest.approx(
            chances[k], abs=1e-12
        )
    present = [label for label in labels if label is not None]
    assert len(set(present)) >= 5 and all(label in [str(c) for c in model.classes_] for label in present)


def test_routing_file_checks_intent_conditions(model: IntentModel) -> None:
    base = "\n".join(
        [
            "default_route: r",
            "blocked_route: r",
            "no_marketing_route: r",
            "routes: {r: {kind: review, queue: q}}",
            "queues: {q: {capacity: 10, owners: [reviewer]}}",
        ]
    )
    for rule, message in [
        ("{intent: spam, intent_min_probability: 1.5, route: r}", "expected a probability above 0"),
        ("{intent: spam, intent_min_probability: 0, route: r}", "expected a probability above 0"),
        ("{intent: spam, intent_min_probability: true, route: r}", "expected a probability above 0"),
        ("{intent_min_probability: 0.5, route: r}", "needs 'intent'"),
        ("{intnet: spam, route: r}", "unknown key"),
    ]:
        problems = validate_routing_text(f"{base}\nrules:\n  - {rule}\n")
        assert any(message in p and ":7:" in p for p in problems), (rule, problems)
    off = validate_routing_text(f"{base}\nintent_field: null\nrules:\n  - {{intent: spam, route: r}}\n")
    assert any("intent_field is null" in p for p in off)
    # an intent the classifier never gives would never match: refused when deciding
    typo = parse_routing(
        {**load_routing_data(), "rules": [{"intent": "biling_existing", "route": "patient_accounts"}]},
        "mine.yaml",
    )
    with pytest.raises(
        ConfigError, match=r"mine.yaml: rules\[0\].intent: 'biling_existing' is not an intent"
    ):
        decide(_lead("L1", "hello"), _score("L1", "C"), routing=typo, now=NOW, intent_model=model)
    rules = load_hard_rules()
    bad = parse_hard_rules(
        {
            "rules": [
                {
                    "name": "x",
                    "description": "x",
                    "when": {"field": "intent", "in": ["spma"]},
                    "effect": {"force_route": "spam_review"},
                    "reason": "r",
                }
            ]
        },
        "rules.yaml",
    )
    with pytest.raises(ConfigError, match="rules.yaml: rule 'x': 'spma'"):
        decide_columns(
            pd.DataFrame([_lead("L1", "hello")]),
            pd.DataFrame([_score("L1", "C")]),
            hard_rules=bad,
            now=NOW,
            intent_model=model,
        )
    assert (
        rules.rules
    )  # the shipped rules name only intents the classifier gives (decided above without error)


def test_shipped_intent_routes_keep_hard_rules_and_triage_above_intent(pool: pd.DataFrame) -> None:
    routing = load_routing()
    intent_rules = [rule for rule in routing.rules if "intent" in rule.patterns]
    assert intent_rules and all(rule.intent_min_probability for rule in intent_rules)
    assert all(
        rule.route.kind not in ("nurture", "clinical") for rule in intent_rules
    )  # no marketing by intent
    confident = pool[pool["p"] >= 0.95]
    for label, route in [
        ("billing_existing", "patient_accounts"),
        ("insurance_pricing", "patient_accounts"),
        ("referral_request", "referral_coordination"),
        ("pre_visit_question", "care_navigation"),
    ]:
        texts = [
            text
            for text in confident.loc[confident["intent"] == label, "text"]
            if detect_urgent_symptoms(text).level == "none"  # a possible emergency is triage's, not intent's
        ][:3]
        assert texts, label
        for k, text in enumerate(texts):
            for tier in TIERS:
                assert decide(_lead("L1", text), _score("L1", tier), now=NOW).route.name == route
                # a hard rule above intent: no contact details -> data completion, whatever the intent
                gone = decide(_lead("L1", text, phone=None, email=None), _score("L1", tier), now=NOW)
                assert gone.route.name == "data_completion" and gone.intent == label
                urgent = f"{text} {TRIGGERING[k][0]}"
                assert decide(_lead("L1", urgent), _score("L1", tier), now=NOW).route.kind == "clinical"


def test_a_model_with_text_features_reads_intents_with_its_own_classifier(model: IntentModel) -> None:
    from dataclasses import replace

    from careleads.decisions import intent_model_for
    from careleads.dictionary import load_dictionary
    from careleads.features import FeatureSpec
    from careleads.scoring import rules_baseline
    from careleads.text import IntentClassifier, default_classifiers

    spec = FeatureSpec.from_table(load_dictionary().table("leads"))
    assert intent_model_for(rules_baseline(spec)) is model  # no text features: the default classifier
    texts = make_labelled_texts(400, seed=1)
    own = IntentClassifier().fit(texts["text"], texts["intent"])
    scorer = rules_baseline(replace(spec, text_classifiers=(own, default_classifiers()[1])))
    assert intent_model_for(scorer) is own

"""The safety-first decision policy: every text of a lead triaged (urgent, possible, none), do not contact.

Generated over every outreach route a lead can reach x triage level x where the text arrived x
do-not-contact, on the one-lead path (:func:`decide`) and the batch path (:func:`decide_columns` with an
events table), which must agree lead for lead.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from careleads.decisions import (
    TextFields,
    Triage,
    clean_spans,
    decide,
    decide_columns,
    decide_many,
    load_hard_rules,
    load_routing,
    parse_hard_rules,
    urgent_review,
)
from careleads.decisions._triage import text_levels
from careleads.dictionary import Dictionary, load_dictionary
from careleads.errors import ConfigError
from careleads.text import TriageResult, default_detector
from careleads.text.triage import LEVELS as LEVEL_OF
from test_triage import NOT_TRIGGERING, TRIGGERING

NOW = "2025-03-07 10:00"
URGENT_TEXTS = (
    "now I am getting crushing chest pain and feel faint",
    "I can't breathe since this morning",
    "my dad's face is drooping and his speech is slurred",
)
ROUTINE_TEXT = "Could I book a knee appointment next month?"
# The detector of today never answers "possible": a test double adds that verdict for one phrase, with the
# words' offsets, and leaves every other text to the real detector.
POSSIBLE_PHRASE = "heart is doing something strange"


def possible_detector(text: str) -> TriageResult:
    at = text.lower().find(POSSIBLE_PHRASE)
    if at >= 0:
        spans = ((at, at + len("heart")), (at + len("heart is doing "), at + len(POSSIBLE_PHRASE)))
        return TriageResult(False, possible=True, spans=spans)
    return default_detector().detect(text)


def text_of(level: str, k: int) -> str:
    if level == "urgent":
        return URGENT_TEXTS[k % len(URGENT_TEXTS)]
    if level == "possible":
        return f"Hello, since yesterday my {POSSIBLE_PHRASE}, is that normal?"
    return ROUTINE_TEXT


# A lead's fields and tier for each route the routing table and the hard rules can send it to
ROUTES: dict[str, tuple[dict[str, Any], str]] = {
    "call_priority": ({}, "A"),
    "call_standard": ({}, "B"),
    "email_follow_up": ({}, "C"),
    "nurture_only": ({}, "D"),
    "direct_reply": ({"consent_marketing": False}, "C"),
    "informational_reply": ({"region": "outside_area"}, "B"),
    "patient_services": ({"inquiry_type": "billing_existing"}, "B"),
    "data_completion": ({"phone": None, "email": None}, "C"),
    "bd_enterprise": ({"lead_type": "health_system"}, "A"),
    "bd_meeting": ({"lead_type": "clinician", "region": "north"}, "A"),
    "bd_partner_newsletter": ({"lead_type": "clinician"}, "D"),
}
WHERE = ("question", "call_notes", "event", "feedback")
LEVELS = ("none", "possible", "urgent")


def lead_of(route: str, level: str, where: str, dnc: bool, k: int) -> tuple[dict[str, Any], list[Any]]:
    """A lead meant for `route`, with a text of `level` arriving `where`, and its later texts."""
    changes, _tier = ROUTES[route]
    lead: dict[str, Any] = {
        "lead_id": f"L{k}",
        "lead_type": "patient",
        "service_line": "cardiology",
        "region": "north",
        "source": "web_search",
        "inquiry_type": "scheduling",
        "phone": "[present]",
        "email": "[present]",
        "consent_marketing": True,
        "consent_sms": True,
        "do_not_contact": dnc,
        "question": ROUTINE_TEXT,
        "call_notes": None,
    }
    lead.update(changes)
    later: list[Any] = [(f"event:{k}-0", "I looked at the prices")]
    text = text_of(level, k)
    if where in ("question", "call_notes"):
        lead[where] = text
    else:
        later.append((f"{where}:{k}", text))
    return lead, later


def score_of(lead: dict[str, Any], route: str) -> dict[str, Any]:
    tier = ROUTES[route][1]
    return {
        "lead_id": lead["lead_id"],
        "probability": 0.5,
        "score": 50,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "",
        "scored_by": "model",
        "model_version": "m1",
    }


CASES = list(itertools.product(ROUTES, LEVELS, WHERE, (False, True)))


def test_every_route_level_source_and_do_not_contact_one_lead_and_batch_agree() -> None:
    routing = load_routing()
    leads, scores, later_rows = [], [], []
    for k, (route, level, where, dnc) in enumerate(CASES):
        lead, later = lead_of(route, level, where, dnc, k)
        decision = decide(
            lead, score_of(lead, route), now=NOW, later_texts=later, urgent_detector=possible_detector
        )
        spec = routing.routes[decision.route.name]
        case = f"{route} {level} via {where}, do not contact {dnc}"
        held = [o.rule for o in decision.overrides]
        assert decision.triage.level == level, case
        if level == "urgent":  # safety beats everything, do not contact included
            assert decision.route.name == "clinical_triage", case
            assert held[0] == "urgent_clinical_symptoms", case
        elif level == "possible":
            assert decision.route.name == "triage_review", case
            assert held[0] == "possible_emergency", case
            assert "read by a human" in decision.overrides[0].reason, case
        elif dnc:
            assert decision.route.name == "hold_no_outreach", case
            assert decision.route.channels == () and decision.route.nurture_track is None, case
            assert not decision.review_required, case
            assert "no outreach of any kind" in decision.action, case
        else:
            assert decision.route.name == route, case
        if level != "none":
            assert not spec.marketing and not spec.nurture and spec.kind in ("clinical", "review"), case
            assert decision.review_required and decision.urgent_review, case
            assert routing.queues[spec.queue].owners, case  # a person works it
            source = where if where in ("question", "call_notes") else f"{where}:{k}"
            assert [f.source for f in decision.triage.findings] == [source], case
        else:
            assert not decision.urgent_review or spec.kind == "clinical", case
        assert ("do_not_contact" in held) is dnc, case
        leads.append(lead)
        scores.append(score_of(lead, route))
        later_rows += [{"lead_id": lead["lead_id"], "event_id": s, "message_text": t} for s, t in later]
    # the batch path: the same leads as a table, later texts as an events table
    frame = pd.DataFrame(leads)
    scored = pd.DataFrame(scores)
    events = pd.DataFrame(later_rows)
    columns = decide_columns(frame, scored, now=NOW, events=events, urgent_detector=possible_detector)
    many = decide_many(frame, scored, now=NOW, events=events, urgent_detector=possible_detector)
    for k, (route, level, where, dnc) in enumerate(CASES):
        one = decide(
            leads[k],
            scores[k],
            now=NOW,
            later_texts=lead_of(route, level, where, dnc, k)[1],
            urgent_detector=possible_detector,
        )
        assert columns["route_name"][k] == many[k].route.name == one.route.name, (route, level, where, dnc)
        assert columns["triage"][k] == many[k].triage.level == level
        assert bool(columns["urgent_review"][k]) is many[k].urgent_review is one.urgent_review
        assert columns["overrides"][k] == ";".join(o.rule for o in one.overrides)
        assert [f.source.removeprefix("event:") for f in many[k].triage.findings] == [
            f.source for f in one.triage.findings
        ]


@pytest.mark.parametrize("text", URGENT_TEXTS)
@pytest.mark.parametrize("n_leads", [1, 40, 300])  # one lead, a few, enough for the column-wise pre-filter
def test_a_later_urgent_message_reroutes_a_batch_lead_with_the_real_detector(text: str, n_leads: int) -> None:
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n_leads)],
            "question": pd.array([ROUTINE_TEXT] * n_leads, dtype="string"),
            "phone": "[present]",
            "consent_marketing": True,
        }
    )
    scored = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "probability": 0.05,
            "score": 5,
            "tier": "D",
            "action": "nurture",
            "reasons": "",
            "scored_by": "model",
            "model_version": "m1",
        }
    )
    last = f"L{n_leads - 1}"
    events = pd.DataFrame(
        {
            "lead_id": [last, last, "not-a-lead"],
            "event_id": ["E1", "E2", "E3"],
            "message_text": pd.array(["yes please book me in", text, text], dtype="string"),
        }
    )
    got = decide_columns(leads, scored, now=NOW, events=events)
    assert got["route_name"].iloc[-1] == "clinical_triage"
    assert got["triage"].iloc[-1] == "urgent" and bool(got["urgent_review"].iloc[-1])
    assert (got["route_name"].iloc[:-1] == "nurture_only").all()
    without = decide_columns(leads, scored, now=NOW)  # the old blind spot: the form question alone
    assert without["route_name"].iloc[-1] == "nurture_only"


def test_spans_are_cleaned_for_highlighting() -> None:
    assert clean_spans([(5, 9), (0, 3), (2, 4), (8, 12), (20, 30), (-1, 0)], 25) == (
        (0, 4),
        (5, 12),
        (20, 25),
    )
    assert Triage().to_dict() == {"level": "none", "findings": []}


@pytest.mark.parametrize(
    ("kind", "level", "urgent"),
    [
        ("clinical", "none", True),
        ("review", "possible", True),
        ("nurture", "urgent", True),
        ("intake", "none", False),
        ("review", None, False),
    ],
)
def test_urgent_review(kind: str, level: str | None, urgent: bool) -> None:
    assert urgent_review(kind, level) is urgent


def _rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "t", "version": "1", "rules": list(rules)}


def _rule(when: dict[str, Any], effect: Any) -> dict[str, Any]:
    return {"name": "r", "description": "d", "reason": "because", "when": when, "effect": effect}


@pytest.mark.parametrize(
    ("when", "effect", "message"),
    [
        ({"triage": "maybe"}, {"force_route": "triage_review"}, "expected urgent or possible"),
        ({"triage": []}, {"force_route": "triage_review"}, "expected urgent or possible"),
        ({"triage": "possible"}, {"force_route": "nurture_only"}, "must be read by a person"),
        ({"triage": "possible"}, {"force_route": "direct_reply"}, "must be read by a person"),
        ({"triage": "urgent"}, {"force_route": "triage_review"}, "kind 'clinical'"),
        ({"field": "question", "triage": ["urgent", "possible"]}, {"force_route": "triage_review"}, "kind"),
        ({"field": "do_not_contact", "equals": True}, "block_everything", "block_all_outreach"),
    ],
)
def test_rules_file_refuses_unsafe_triage_rules(when: dict[str, Any], effect: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_hard_rules(_rules(_rule(when, effect)), routing=load_routing())


def test_rules_file_reads_triage_tests_and_block_all_outreach() -> None:
    rules = parse_hard_rules(
        _rules(
            _rule({"triage": ["possible", "urgent"]}, {"force_route": "clinical_triage"}),
            {**_rule({"field": "do_not_contact", "equals": True}, "block_all_outreach"), "name": "dnc"},
        ),
        routing=load_routing(),
    )
    assert rules.rules[0].condition.to_dict() == {"triage": ["possible", "urgent"]}
    assert rules.rules[1].effect == "block_all_outreach"
    assert rules.safety_rules(load_routing()) == frozenset({"r"})
    shipped = load_hard_rules()
    assert {"urgent_clinical_symptoms", "possible_emergency"} <= shipped.safety_rules(load_routing())
    assert "do_not_contact" not in shipped.safety_rules(load_routing())


def _renamed(dictionary: Dictionary, table: str, names: dict[str, str]) -> Dictionary:
    spec = dictionary.table(table)
    fields = tuple(dataclasses.replace(f, name=names.get(f.name, f.name)) for f in spec.fields)
    tables = {**dictionary.tables, table: dataclasses.replace(spec, fields=fields)}
    return dataclasses.replace(dictionary, tables=tables)


@pytest.mark.parametrize("text", URGENT_TEXTS)
def test_the_dictionary_says_which_fields_hold_text(text: str) -> None:
    """A CRM whose form question and chat text are named otherwise: its text fields are triaged, its direct
    identifiers never are (they are not free text)."""
    shipped = load_dictionary()
    custom = _renamed(
        _renamed(shipped, "leads", {"question": "inquiry_body"}), "events", {"message_text": "body"}
    )
    fields = TextFields.of_dictionary(custom)
    assert "inquiry_body" in fields.leads and "body" in fields.events
    assert not {"full_name", "email", "phone"} & set(fields.leads)
    lead = {"lead_id": "L1", "phone": "[present]", "consent_marketing": True, "question": ROUTINE_TEXT}
    scored = score_of(lead, "nurture_only")
    assert decide({**lead, "inquiry_body": text}, scored, now=NOW, text_fields=fields).route.name == (
        "clinical_triage"
    )
    assert (
        decide({**lead, "full_name": text}, scored, now=NOW, text_fields=fields).route.name == "nurture_only"
    )
    events = pd.DataFrame({"lead_id": ["L1"], "event_id": ["E1"], "body": [text]})
    got = decide_columns(
        pd.DataFrame([lead]), pd.DataFrame([scored]), now=NOW, events=events, text_fields=fields
    )
    assert got["route_name"].tolist() == ["clinical_triage"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 50, 400])
def test_a_text_column_gets_the_level_of_each_text(seed: int, n: int) -> None:
    """The column-wise triage (repeated texts once, or each text through the pre-filter) gives each text the
    detector's own level: urgent, negated and ordinary phrasings, blanks and missing, few or many distinct."""
    rng = np.random.default_rng(seed)
    pool = [t for t, _ in TRIGGERING] + NOT_TRIGGERING + [ROUTINE_TEXT, "", "   ", None]
    picked = [pool[k] for k in rng.integers(0, len(pool), n)]
    if seed % 2:  # most texts their own
        picked = [t if t is None or not t.strip() else f"{t} #{i}" for i, t in enumerate(picked)]
    want = [LEVEL_OF[default_detector().detect(t).level] for t in picked]
    got = text_levels(pa.array(picked, type=pa.large_string()), None)
    assert got.tolist() == want
    assert text_levels(picked, None).tolist() == want


@pytest.mark.parametrize("level", ["urgent", "possible"])
@pytest.mark.parametrize(
    "clinic_rules",
    [
        [],  # a clinic's file with no rules at all
        [{**_rule({"field": "region", "equals": "outside_area"}, {"force_route": "informational_reply"})}],
        [{**_rule({"field": "do_not_contact", "equals": True}, "block_all_outreach"), "name": "dnc"}],
    ],
)
def test_a_clinic_file_without_triage_rules_still_never_markets_to_a_possible_emergency(
    level: str, clinic_rules: list[dict[str, Any]]
) -> None:
    """The shipped rules send triage levels to people; a clinic's own file may forget to. Whatever it says, a
    lead whose text may describe an emergency is never put on a nurture (marketing) route, and is reviewed at
    the top of the queue, in the one-lead and the batch path alike."""
    routing = load_routing()
    rules = parse_hard_rules(_rules(*clinic_rules), routing=routing)
    leads, scores = [], []
    for k in range(6):
        lead, later = lead_of("nurture_only", level, "question", False, k)
        leads.append(lead)
        scores.append(score_of(lead, "nurture_only"))
        one = decide(lead, scores[-1], now=NOW, hard_rules=rules, urgent_detector=possible_detector)
        spec = routing.routes[one.route.name]
        assert not spec.marketing and not spec.nurture, (level, one.route.name)
        assert one.route.nurture_track is None and one.review_required
        assert "may describe an emergency" in one.action or one.route.kind in ("clinical", "review")
    table = decide_columns(pd.DataFrame(leads), pd.DataFrame(scores), now=NOW, hard_rules=rules)
    assert not table["route_name"].isin([n for n, r in routing.routes.items() if r.marketing]).any()
    assert table["urgent_review"].all()
    plain, _ = lead_of("nurture_only", "none", "question", False, 99)
    quiet = decide(plain, score_of(plain, "nurture_only"), now=NOW, hard_rules=rules)
    assert quiet.route.name == "nurture_only"

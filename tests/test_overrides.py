from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from careleads.decisions import (
    HardRules,
    LeadFields,
    decide,
    is_missing_value,
    load_hard_rules,
    load_routing,
    parse_hard_rules,
    validate_rules_text,
)
from careleads.decisions._overrides import SHIPPED_HARD_RULES
from careleads.errors import ConfigError

NOW = "2025-03-05 10:00"  # a Wednesday morning


def make_lead(**fields: Any) -> dict[str, Any]:
    """A complete, in-area, consenting lead with a harmless question; `fields` replace any value."""
    lead: dict[str, Any] = {
        "lead_id": "L1",
        "lead_type": "patient",
        "service_line": "cardiology",
        "source": "organic_search",
        "region": "north",
        "distance_km": 12.0,
        "insurance": "commercial",
        "preferred_contact": "phone",
        "consent_marketing": True,
        "consent_sms": True,
        "do_not_profile": False,
        "inquiry_type": "scheduling",
        "intake_urgency": "routine",
        "question": "Can I book a heart check-up next week?",
        "phone": "(555) 010-2000",
        "email": "someone@example.org",
    }
    lead.update(fields)
    return lead


def make_score(lead_id: str = "L1", tier: str = "C", score: int = 30) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "probability": score / 100,
        "score": score,
        "tier": tier,
        "action": f"tier {tier} action",
        "reasons": "+ scheduling inquiry",
        "scored_by": "model",
        "model_version": "m-test",
    }


def rules_held(**fields: Any) -> list[str]:
    return [o.rule for o in decide(make_lead(**fields), make_score(), now=NOW).overrides]


def route_of(**fields: Any) -> str:
    return decide(make_lead(**fields), make_score(), now=NOW).route.name


def rule_yaml(rules: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"name": "test-rules", "version": 3, "rules": rules}, sort_keys=False)


def a_rule(name: str = "r", **changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": name,
        "description": "a test rule",
        "when": {"field": "region", "equals": "north"},
        "effect": "block_scoring_outreach",
        "reason": "because the test says so",
    }
    rule.update(changes)
    return rule


# --- the shipped rules, one test each ---------------------------------------------------------------------


def test_shipped_rules_load_and_validate() -> None:
    rules = load_hard_rules()
    assert [r.name for r in rules.rules] == [
        "urgent_clinical_symptoms",
        "possible_emergency",
        "do_not_contact",
        "spam_message",
        "spam_like",
        "incomplete_contact",
        "billing_existing_patient",
        "outside_service_area",
    ]
    assert all(r.reason and r.description for r in rules.rules)
    text = resources.files("careleads").joinpath(SHIPPED_HARD_RULES.removeprefix("careleads/"))
    assert validate_rules_text(text.read_text(encoding="utf-8")) == []


def test_urgent_clinical_symptoms_go_to_the_triage_line_never_sales() -> None:
    decision = decide(
        make_lead(question="My chest feels tight and I can't breathe since this morning"),
        make_score(tier="A", score=90),
        now=NOW,
    )
    assert decision.route.name == "clinical_triage"
    assert decision.route.kind == "clinical"
    assert decision.route.queue == "clinical_triage_line"
    assert decision.route.nurture_track is None
    assert [o.rule for o in decision.overrides] == ["urgent_clinical_symptoms"]
    assert decision.overrides[0].effect == "force_route"
    assert "triage" in decision.overrides[0].reason
    assert decision.review_required
    # a negated symptom is not urgent: the tier route stands
    assert route_of(question="No chest pain, I just want a routine check-up") == "email_follow_up"


def test_spam_like_goes_to_discard_review() -> None:
    held = rules_held(inquiry_type="other", phone=None, email="  ")
    assert held == ["spam_like", "incomplete_contact"]  # both recorded, the first forcing rule routes
    assert route_of(inquiry_type="other", phone=None, email="  ") == "discard_review"
    assert "spam_like" not in rules_held(inquiry_type="other", phone=None)  # an e-mail to reply to


def test_incomplete_contact_goes_to_data_completion_without_outreach() -> None:
    decision = decide(make_lead(phone=None, email=None), make_score(tier="A", score=95), now=NOW)
    assert [o.rule for o in decision.overrides] == ["incomplete_contact"]
    assert decision.route.name == "data_completion"
    assert decision.route.call_script is None  # no score-based call
    assert decision.route.channels == ()
    assert decision.action.startswith("override incomplete_contact")
    assert rules_held(phone=None) == []  # one way to reach the lead is enough


def test_billing_and_existing_patients_go_to_patient_services() -> None:
    assert rules_held(inquiry_type="billing_existing") == ["billing_existing_patient"]
    assert route_of(inquiry_type="billing_existing") == "patient_services"
    assert route_of(inquiry_type="insurance_pricing") == "email_follow_up"


def test_outside_the_service_area_gets_an_informational_reply_unless_telehealth() -> None:
    assert route_of(region="outside_area") == "informational_reply"
    assert route_of(region="north", distance_km=150.0) == "informational_reply"
    assert route_of(region="north", distance_km=99.0) == "email_follow_up"
    assert route_of(region="outside_area", source="telehealth_app") == "email_follow_up"
    assert route_of(region="outside_area", distance_km=None, source=None) == "informational_reply"


# --- precedence -------------------------------------------------------------------------------------------


def test_clinical_triage_wins_over_every_other_rule() -> None:
    decision = decide(
        make_lead(
            question="my dad's face is drooping and his speech is slurred",
            inquiry_type="billing_existing",
            region="outside_area",
        ),
        make_score(),
        now=NOW,
    )
    assert decision.route.name == "clinical_triage"
    assert [o.rule for o in decision.overrides] == [
        "urgent_clinical_symptoms",
        "billing_existing_patient",
        "outside_service_area",
    ]


def test_clinical_rules_come_first_even_when_listed_last() -> None:
    shipped = load_hard_rules()
    reordered = HardRules(shipped.name, shipped.version, tuple(reversed(shipped.rules)), shipped.source)
    lead = make_lead(question="I took too many pills and feel dizzy", phone=None, region="outside_area")
    decision = decide(lead, make_score(), hard_rules=reordered, now=NOW)
    assert decision.route.name == "clinical_triage"
    assert decision.overrides[0].rule == "urgent_clinical_symptoms"
    # without symptoms, file order decides among the other rules (reversed: outside area before contact)
    decision = decide(
        make_lead(phone=None, email=None, region="outside_area"), make_score(), hard_rules=reordered
    )
    assert decision.route.name == "informational_reply"


def test_a_rule_forcing_a_clinical_route_counts_as_clinical_triage() -> None:
    text = rule_yaml(
        [
            a_rule(
                "billing",
                when={"field": "inquiry_type", "equals": "billing_existing"},
                effect={"force_route": "patient_services"},
            ),
            a_rule(
                "urgent_flag",
                when={"field": "intake_urgency", "equals": "urgent"},
                effect={"force_route": "clinical_triage"},
            ),
        ]
    )
    rules = parse_hard_rules(yaml.safe_load(text), "t.yaml", routing=load_routing())
    lead = make_lead(inquiry_type="billing_existing", intake_urgency="urgent")
    assert decide(lead, make_score(), hard_rules=rules, now=NOW).route.name == "clinical_triage"


def test_block_only_rule_holds_outreach_without_review() -> None:
    text = rule_yaml([a_rule("low_score", when={"field": "score", "below": 20})])
    rules = parse_hard_rules(yaml.safe_load(text), "t.yaml", routing=load_routing())
    low = decide(make_lead(), make_score(tier="D", score=5), hard_rules=rules, now=NOW)
    assert low.route.name == "hold_no_outreach"
    assert low.route.channels == ()
    assert [(o.rule, o.effect) for o in low.overrides] == [("low_score", "block_scoring_outreach")]
    assert not low.review_required
    high = decide(make_lead(), make_score(tier="C", score=40), hard_rules=rules, now=NOW)
    assert high.overrides == () and high.route.name == "email_follow_up"


# --- conditions -------------------------------------------------------------------------------------------


# every kind of blank, number and flag a field may hold, in every column type a table may hold it in
BLANKS: list[Any] = [
    None,
    np.nan,
    pd.NA,
    pd.NaT,
    np.datetime64("NaT"),
    "",
    " ",
    "\t\n",
    "\x1f",
    "\xa0",
    "\u3000",
]
VALUES: list[Any] = ["x", " x ", "\u200b", 0, 0.0, -1.5, False, True, np.bool_(True), np.int64(7), "0"]
NUMBERS: list[tuple[Any, float]] = [
    ("12", 12.0),
    (" 12 ", 12.0),
    ("+1e3", 1000.0),
    (".5", 0.5),
    ("inf", np.inf),
    ("1_000", np.nan),  # text reads as a number only when it is a plain decimal
    ("\u0663", np.nan),  # a digit, but not an ASCII one
    ("0x10", np.nan),
    ("far", np.nan),
    (12, 12.0),
    (np.float32(2.5), 2.5),
    (True, 1.0),
]


def _columns(values: list[Any]) -> list[pd.Series]:
    """The same values in each column type they fit: objects, text, categories, numbers, booleans."""
    columns = [pd.Series(values, dtype=object)]
    present = [v for v in values if not is_missing_value(v)]
    if all(isinstance(v, str) for v in present):
        columns += [pd.Series(values, dtype="string"), pd.Series(values, dtype="category")]
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_) for v in present):
        columns.append(pd.Series([np.nan if is_missing_value(v) else v for v in values], dtype="float64"))
    if all(isinstance(v, bool | np.bool_) for v in present):
        columns.append(pd.Series([pd.NA if is_missing_value(v) else v for v in values], dtype="boolean"))
    return columns


def test_missing_numbers_and_flags_read_the_same_in_every_column_type_and_alone() -> None:
    groups = [
        BLANKS + ["x", " y "],
        BLANKS[:5] + [0.0, -1.5, 3.0],
        [None, pd.NA, True, False, np.bool_(True)],
    ]
    groups += [[v for v, _ in NUMBERS if isinstance(v, str)] + [None, " "], VALUES]
    groups += [[1, True, 1.0, np.int64(1), "1", np.True_]]  # equal as Python values, not as field values
    for values in groups:
        alone = [LeadFields.of_record({"f": v}) for v in values]
        missing = [bool(one.missing("f")[0]) for one in alone]
        numbers = [float(one.numbers("f")[0]) for one in alone]
        flags = [bool(one.flag("f")[0]) for one in alone]
        assert missing == [is_missing_value(v) for v in values], values
        for column in _columns(values):
            table = LeadFields.of_frame(pd.DataFrame({"f": column}))
            assert table.missing("f").tolist() == missing, (column.dtype, values)
            np.testing.assert_array_equal(table.numbers("f"), numbers, err_msg=str(column.dtype))
            assert table.flag("f").tolist() == flags, (column.dtype, values)
    ones = LeadFields.of_frame(pd.DataFrame({"f": pd.Series(groups[-1], dtype=object)}))
    assert ones.flag("f").tolist() == [False, True, False, False, False, True]  # only true is consent
    assert [is_missing_value(v) for v in BLANKS] == [True] * len(BLANKS)
    assert [is_missing_value(v) for v in VALUES] == [False] * len(VALUES)
    for value, number in NUMBERS:
        np.testing.assert_array_equal(
            LeadFields.of_record({"f": value}).numbers("f"), [number], err_msg=value
        )


def test_missing_means_none_nan_or_blank_text_and_absent_fields() -> None:
    # the data has no email column at all: it counts as missing, so incomplete_contact holds
    frame = pd.DataFrame({"phone": [None, "555"], "inquiry_type": ["scheduling", "scheduling"]})
    ordered, matrix = load_hard_rules().evaluate(frame)
    held = {r.name: matrix[i].tolist() for i, r in enumerate(ordered)}
    assert held["incomplete_contact"] == [True, False]
    assert held["outside_service_area"] == [False, False]
    assert rules_held(email=None, phone=" ") == ["incomplete_contact"]
    assert "incomplete_contact" in [
        o.rule for o in decide({"lead_id": "L1"}, make_score(), now=NOW).overrides
    ]


def test_tests_at_their_boundaries() -> None:
    text = rule_yaml(
        [
            a_rule("far", when={"field": "distance_km", "above": 100}),
            a_rule("near", when={"field": "distance_km", "below": 100}),
            a_rule("is_one", when={"field": "code", "equals": 1}),
            a_rule("in_list", when={"field": "code", "in": ["a", 2]}),
            a_rule("known", when={"field": "code", "missing": False}),
        ]
    )
    rules = parse_hard_rules(yaml.safe_load(text), "t.yaml")
    cases: list[tuple[Any, Any, list[str]]] = [
        (100.0, None, []),  # strictly above and below: the limit itself holds neither
        (100.5, 1, ["far", "is_one", "known"]),
        ("99", True, ["near", "is_one", "known"]),  # text that reads as a number; true equals 1
        ("ninety", "a", ["in_list", "known"]),
        (None, 2.0, ["in_list", "known"]),
        (np.nan, " ", []),  # blank text is missing: no equals, no in
    ]
    frame = pd.DataFrame({"distance_km": [c[0] for c in cases], "code": [c[1] for c in cases]}, dtype=object)
    ordered, matrix = rules.evaluate(frame)
    for i, (distance, code, expected) in enumerate(cases):
        assert [r.name for k, r in enumerate(ordered) if matrix[k, i]] == expected, (distance, code)
        _, one = rules.evaluate(LeadFields.of_record({"distance_km": distance, "code": code}))
        assert one[:, 0].tolist() == matrix[:, i].tolist()


def test_numbers_and_scoring_fields_in_conditions() -> None:
    text = rule_yaml(
        [
            a_rule(
                "far_and_low",
                when={
                    "all": [
                        {"field": "distance_km", "above": 50},
                        {"field": "probability", "below": 0.2},
                        {"not": {"field": "tier", "in": ["A"]}},
                    ]
                },
            )
        ]
    )
    rules = parse_hard_rules(yaml.safe_load(text), "t.yaml")
    frame = pd.DataFrame(
        {
            "distance_km": [60, 60, 60, 40, None],
            "probability": [0.1, 0.3, 0.1, 0.1, 0.1],
            "tier": ["C", "C", "A", "C", "C"],
        }
    )
    _, matrix = rules.evaluate(frame)
    assert matrix[0].tolist() == [True, False, False, False, False]


# --- YAML errors ------------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: a\n    when: {field: x, equals: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules\.yaml:4:1: not valid YAML"):
        load_hard_rules(path)
    assert validate_rules_text("rules: [") != []


def test_errors_name_the_file_the_rule_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        rule_yaml(
            [
                a_rule("bad_op", when={"field": "region", "like": "n*"}),
                a_rule("no_reason", reason=""),
                a_rule("bad_list", when={"any": [{"field": "region", "in": []}]}),
                a_rule("bad_number", when={"field": "distance_km", "above": "far"}),
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_hard_rules(path)
    message = str(info.value)
    at = re.escape(str(path)) + r":\d+: "  # the file and the line, then the rule's key
    assert re.search(at + r"rules\[0\]\.when\.like: unknown test", message)
    assert re.search(at + r"rules\[1\]\.reason: write it in plain words", message)
    assert re.search(at + r"rules\[2\]\.when\.any\[0\]\.in: expected a non-empty list", message)
    assert re.search(at + r"rules\[3\]\.when\.above: expected a number", message)
    assert len(message.splitlines()) == 4


def test_validate_rules_text_lists_every_problem_for_the_editor() -> None:
    text = rule_yaml(
        [
            a_rule("dup"),
            a_rule("dup"),
            a_rule("nowhere", effect={"force_route": "mars"}),
            a_rule("nameless_effect", effect="delete_lead"),
        ]
    )
    errors = validate_rules_text(text, where="editor")
    assert any("rules[1].name: the name 'dup' is used twice" in e for e in errors)
    assert any("rules[3].effect: expected 'block_scoring_outreach'" in e for e in errors)
    # unknown routes are checked once the rules themselves are valid
    errors = validate_rules_text(
        rule_yaml([a_rule("nowhere", effect={"force_route": "mars"})]), where="editor"
    )
    assert len(errors) == 1 and "rule 'nowhere' forces route 'mars', which is not in" in errors[0]
    assert validate_rules_text(rule_yaml([a_rule("fine")])) == []


def test_urgent_symptoms_may_only_force_a_clinical_route() -> None:
    text = rule_yaml(
        [
            a_rule(
                "triage_to_sales",
                when={"field": "question", "urgent_symptoms": True},
                effect={"force_route": "call_priority"},
            )
        ]
    )
    errors = validate_rules_text(text)
    assert len(errors) == 1 and "must go to a route of kind 'clinical'" in errors[0]
    with pytest.raises(ConfigError, match="triage_to_sales"):
        parse_hard_rules(yaml.safe_load(text), "x.yaml", routing=load_routing())
    nurture = rule_yaml([a_rule("to_nurture", effect={"force_route": "nurture_only"})])
    assert "cannot force a marketing (nurture) route" in validate_rules_text(nurture)[0]
    negative = rule_yaml([a_rule("not_false", when={"field": "question", "urgent_symptoms": False})])
    assert "wrap it in 'not'" in validate_rules_text(negative)[0]


def test_rule_errors_give_the_line_of_the_key(tmp_path: Path) -> None:
    text = (
        "name: mine\n"
        "rules:\n"
        "  - name: near\n"
        "    description: close by\n"
        "    when:\n"
        "      all:\n"
        "        - {field: region, equals: north}\n"
        "        - {field: distance_km, below: ten}\n"
        "    effect: block_scoring_outreach\n"
        "    reason: near enough\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    message = f"{path}:8: rules[0].when.all[1].below: expected a number, got 'ten'"
    with pytest.raises(ConfigError) as info:
        load_hard_rules(path)
    assert str(info.value) == message
    assert validate_rules_text(text, where=str(path)) == [message]


def test_the_same_rule_files_are_accepted_and_rejected() -> None:
    accepted: list[dict[str, Any]] = [
        a_rule("flag", effect={"block_scoring_outreach": True}),
        a_rule("both", effect={"force_route": "data_completion", "block_scoring_outreach": True}),
        a_rule(
            "nested",
            when={"not": {"any": [{"field": "x", "in": [1, "a", True]}, {"field": "y", "missing": True}]}},
        ),
    ]
    for rule in accepted:
        assert validate_rules_text(rule_yaml([rule])) == [], rule
    assert validate_rules_text("rules: []\nversion: 2\nname: null\n") == []
    rejected: list[tuple[Any, str]] = [
        ("rules: {a: 1}", "a list under 'rules'"),
        ("name: x", "a list under 'rules'"),
        (rule_yaml([a_rule("x", effect={"block_scoring_outreach": False})]), "rules[0].effect"),
        (rule_yaml([a_rule("x", effect={"force_route": ""})]), "expected a route name"),
        (rule_yaml([a_rule("x", effect={"go": "there"})]), "unknown effect"),
        (rule_yaml([a_rule("x", when={"not": None})]), "rules[0].when.not"),
        (rule_yaml([a_rule("x", when={"field": "a", "equals": [1]})]), "use 'missing'"),
        (rule_yaml([a_rule("x", when={"field": "a", "missing": "yes"})]), "expected true or false"),
        (rule_yaml([a_rule("x", when={"field": "a", "above": True})]), "expected a number"),
        (rule_yaml([a_rule("x", when={"field": " ", "equals": 1})]), "each test names a field"),
        (
            rule_yaml([a_rule("x", when={"all": [{"field": "a", "equals": 1}], "any": []})]),
            "must stand alone",
        ),
        (rule_yaml([a_rule("x", colour="red")]), "rules[0].colour: unknown key"),
        (rule_yaml([a_rule("x", description=3)]), "plain words"),
        (rule_yaml([{k: v for k, v in a_rule("x").items() if k != "when"}]), "every rule needs a condition"),
        (rule_yaml([a_rule(" ")]), "rules[0].name"),
        (
            rule_yaml([a_rule("x")]).replace("rules:", "colour: red\nrules:"),
            "<hard rules>:3: colour: unknown key",
        ),
    ]
    for text, message in rejected:
        problems = validate_rules_text(text)
        assert any(message in p for p in problems), (message, problems)

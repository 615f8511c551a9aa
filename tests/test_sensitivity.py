"""Sensitivity from column names and values: health conditions in many spellings, and no false alarms.

Every frame is generated here from general medical and marketing vocabulary; no file's column is copied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.dictionary import FieldType, Sensitivity, infer_dictionary, name_tokens
from careleads.dictionary._sensitivity import guess_sensitivity, health_term

N_ROWS = 120

HEALTH_NAMES = (
    "diabetis",
    "Diabetic",
    "hypertention_flag",
    "dx_code",
    "has_asthma",
    "hasAsthma",
    "on_meds",
    "Mental Health History",
    "smoker",
    "pregnant_yn",
    "ICD10",
    "primaryDiagnosis",
    "chronic_conditions",
    "alcohol_use",
    "opioidRx",
    "brca_result",
    "hiv_status",
    "depresion",
    "copd",
    "disability_type",
    "current_medications",
    "Heart Disease",
    "cancer history",
    "Prescription Drugs",
    "substance_abuse",
    "genetic_test",
    "Alzheimers",
    "epilepsy2",
)

LEAD_NAMES = (
    "source",
    "lead_source",
    "status",
    "lead_status",
    "stage",
    "funnel_stage",
    "campaign",
    "utm_campaign",
    "channel",
    "region",
    "country",
    "visits",
    "total_visits",
    "pages",
    "page_views_per_visit",
    "score",
    "lead_score",
    "specialty",
    "service_line",
    "department",
    "landing_page",
    "referrer",
    "device",
    "browser",
    "form_name",
    "time_on_site",
    "email_opens",
    "newsletter",
    "last_activity",
    "owner",
    "tags",
    "industry",
    "budget",
    "timeline",
    "medium",
    "content",
    "keyword",
    "conditions_accepted",
    "terms_and_conditions",
    "insurance_type",
    "appointment_type",
    "preferred_language",
    "contact_method",
    "usage",
    "stage_changes",
    "message_length",
    "care_interest",
    "program",
    "sessions",
    "clicks",
)

SPECIALTIES = (
    "Cardiology",
    "Oncology",
    "Orthopedics",
    "Dermatology",
    "Neurology",
    "Pediatrics",
    "Maternity",
    "Bariatric Surgery",
    "Behavioral Health",
    "Urology",
    "Primary Care",
    "Sports Medicine",
)


def _column(values: list[str] | tuple[str, ...], seed: int = 0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).choice(list(values), N_ROWS))


def _inferred(frame: pd.DataFrame) -> dict[str, tuple[Sensitivity, str]]:
    return {
        spec.aliases[0] if spec.aliases else spec.name: (spec.sensitivity, spec.sensitivity_reason)
        for spec in infer_dictionary(frame).table("data").fields
    }


def test_names_split_on_snake_camel_spaces_and_digits() -> None:
    assert name_tokens("hypertention_flag") == ["hypertention", "flag"]
    assert name_tokens("hasAsthma") == ["has", "asthma"]
    assert name_tokens("Mental Health History") == ["mental", "health", "history"]
    assert name_tokens("ICD10code") == ["icd", "10", "code"]
    assert name_tokens("opioidRx") == ["opioid", "rx"]


def test_misspelt_condition_words_are_read_as_the_condition() -> None:
    assert health_term("diabetis") == ("health condition", "diabetes")
    assert health_term("hypertention") == ("health condition", "hypertension")
    assert health_term("astma") == ("health condition", "asthma")
    assert health_term("smoker") is not None and health_term("smoker")[0] == "substance use"  # type: ignore[index]
    for word in ("source", "status", "stage", "campaign", "channel", "region", "country", "visits", "pages"):
        assert health_term(word) is None, word
    for word in ("score", "specialty", "service", "line", "cardiology", "oncology", "religion", "medium"):
        assert health_term(word) is None, word


@pytest.mark.parametrize("name", HEALTH_NAMES)
def test_health_named_columns_are_sensitive_with_a_reason(name: str) -> None:
    frame = pd.DataFrame({name: _column(["yes", "no"]), "visits": _column(["1", "2", "3"])})
    sensitivity, reason = _inferred(frame)[name]
    assert sensitivity is Sensitivity.SENSITIVE, (name, reason)
    assert f"name {name!r}" in reason and ("reads as" in reason or "mentions" in reason), reason


def test_the_reason_names_the_condition_a_misspelling_reads_as() -> None:
    frame = pd.DataFrame({"hypertention_flag": _column(["Y", "N"])})
    _, reason = _inferred(frame)["hypertention_flag"]
    assert reason == "health condition (name 'hypertention_flag' reads as 'hypertension')"


def test_ordinary_lead_scoring_names_stay_safe() -> None:
    frame = pd.DataFrame({name: _column(["a", "b", "c", "d"], seed=i) for i, name in enumerate(LEAD_NAMES)})
    found = _inferred(frame)
    flagged = {
        name: found[name]
        for name in LEAD_NAMES
        if found[name][0] not in (Sensitivity.SAFE, Sensitivity.QUASI_IDENTIFIER)
    }
    assert flagged == {}


def test_a_service_line_of_specialties_is_routing_not_a_condition() -> None:
    frame = pd.DataFrame(
        {
            "service_line": _column(SPECIALTIES),
            "Specialty": _column(SPECIALTIES, seed=1),
            "interest": _column(SPECIALTIES, seed=2),
        }
    )
    found = _inferred(frame)
    assert {name: sensitivity for name, (sensitivity, _) in found.items()} == {
        "service_line": Sensitivity.SAFE,
        "Specialty": Sensitivity.SAFE,
        "interest": Sensitivity.SAFE,
    }


def test_icd10_code_values_are_sensitive_whatever_the_name() -> None:
    codes = ["E11.9", "I10", "F32.1", "J45.909", "M54.5", "K21.9", "E78.5", "N39.0", "G43.909"]
    frame = pd.DataFrame({"code_a": _column(codes), "ref": _column(["C01", "C02", "C03", "C04"])})
    found = _inferred(frame)
    sensitivity, reason = found["code_a"]
    assert sensitivity is Sensitivity.SENSITIVE
    assert "ICD-10" in reason and "'code_a'" in reason
    assert found["ref"][0] is Sensitivity.SAFE  # campaign codes of one letter are not diagnoses


def test_condition_and_medication_values_are_sensitive() -> None:
    conditions = ["Type 2 diabetes", "Hypertension", "Asthma", "COPD", "Depression", "Arthritis"]
    medications = ["Metformin", "Lisinopril", "Atorvastatin", "Albuterol", "Sertraline", "Insulin glargine"]
    frame = pd.DataFrame(
        {
            "field_7": _column(conditions),
            "field_8": _column(medications),
            "field_9": _column(["Web", "Phone", "Referral", "Walk-in"]),
        }
    )
    found = _inferred(frame)
    assert found["field_7"][0] is Sensitivity.SENSITIVE and "health condition" in found["field_7"][1]
    assert found["field_8"][0] is Sensitivity.SENSITIVE and "medication" in found["field_8"][1]
    assert found["field_9"][0] is Sensitivity.SAFE


def test_age_and_sex_stay_sensitive_with_a_reason() -> None:
    frame = pd.DataFrame({"Age": _column(["34", "51", "67"]), "Sex": _column(["F", "M"])})
    found = _inferred(frame)
    assert found["Age"][0] is Sensitivity.SENSITIVE and "age" in found["Age"][1]
    assert found["Sex"][0] is Sensitivity.SENSITIVE and "sex" in found["Sex"][1]


def test_guess_sensitivity_on_its_own() -> None:
    guess = guess_sensitivity("smoker", "smoker", FieldType.BOOLEAN, pd.Series({"yes": 3, "no": 4}))
    assert guess.sensitivity is Sensitivity.SENSITIVE
    assert guess.reason == "substance use (name 'smoker' reads as 'smoking')"
    plain = guess_sensitivity("channel", "channel", FieldType.CATEGORY, pd.Series({"web": 3}))
    assert (plain.sensitivity, plain.reason) == (Sensitivity.SAFE, "")

"""Text and conversational features: point in time, redaction first, fast classification, opt-in use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.datasets import load_crm_folder
from careleads.decisions import decide_many
from careleads.demo import text_comparison
from careleads.errors import InputError
from careleads.features import FeatureSpec, Target, build_dataset, build_features, text_features
from careleads.features._text import class_probabilities
from careleads.models._training import train_model
from careleads.scoring import score_leads
from careleads.synth import generate
from careleads.synth._texts import make_labelled_texts
from careleads.text import IntentClassifier, UrgencyClassifier

Models = tuple[IntentClassifier, UrgencyClassifier]
T0 = pd.Timestamp("2025-03-03 09:00")


@pytest.fixture(scope="module")
def models() -> Models:
    texts = make_labelled_texts(1_500, seed=5)
    return (
        IntentClassifier(random_state=0).fit(texts["text"], texts["intent"]),
        UrgencyClassifier(random_state=0).fit(texts["text"], texts["urgency"]),
    )


def _leads(questions: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(len(questions))],
            "created_at": [T0] * len(questions),
            "question": questions,
        }
    )


def _events(rows: list[tuple[str, float, str, str]]) -> pd.DataFrame:
    """(lead_id, hours after T0, event_type, message_text)."""
    return pd.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(len(rows))],
            "lead_id": [r[0] for r in rows],
            "occurred_at": [T0 + pd.Timedelta(hours=r[1]) for r in rows],
            "event_type": [r[2] for r in rows],
            "page": [""] * len(rows),
            "message_text": [r[3] for r in rows],
        }
    )


def _as_of(leads: pd.DataFrame, hours: float = 24) -> pd.Series:
    return pd.Series(pd.to_datetime(leads["created_at"]) + pd.Timedelta(hours=hours), index=leads.index)


def test_messages_after_the_scoring_moment_do_not_change_any_feature(models: Models) -> None:
    leads = _leads(["Do you accept Aetna for a knee MRI?", None])
    before = [
        ("L0", 2, "chat_message", "hi, what does a visit cost without insurance?"),
        ("L0", 3, "intake_started", ""),
        ("L1", 5, "sms_message", "can I book a physical next month"),
    ]
    later = [
        ("L0", 30, "chat_message", "I NEED an appointment today, it is urgent, can I come in now"),
        ("L0", 31, "intake_completed", ""),
        ("L1", 40, "chat_message", "please cancel, wrong number"),
    ]
    first = text_features(leads, _events(before), _as_of(leads), classifiers=models)
    second = text_features(leads, _events(before + later), _as_of(leads), classifiers=models)
    pd.testing.assert_frame_equal(first, second)
    # a day later the same late messages do count
    after = text_features(leads, _events(before + later), _as_of(leads, 48), classifiers=models)
    assert after.loc[0, "n_messages"] == 2 and first.loc[0, "n_messages"] == 1
    assert after.loc[0, "intake_step_reached"] == 2 and first.loc[0, "intake_step_reached"] == 1
    assert after.loc[0, "message_urgency_max"] > first.loc[0, "message_urgency_max"]


def test_text_is_redacted_before_it_is_classified(models: Models) -> None:
    raw = "This is Maria Lopez, call me at (555) 123-4567 or maria.lopez@example.org to book a skin check"
    redacted = "This is [NAME], call me at [PHONE] or [EMAIL] to book a skin check"
    chat = "my number is 555-987-6543, can I get an appointment Friday"
    chat_redacted = "my number is [PHONE], can I get an appointment Friday"
    leads = _leads([raw])
    got = text_features(leads, _events([("L0", 1, "chat_message", chat)]), _as_of(leads), classifiers=models)
    expected = text_features(
        _leads([redacted]),
        _events([("L0", 1, "chat_message", chat_redacted)]),
        _as_of(leads),
        classifiers=models,
    )
    pd.testing.assert_frame_equal(got, expected)
    # the identifiers matter to the classifier, so the equality above is not an accident
    direct = models[0].predict_proba([raw])[0]
    assert not np.allclose(direct, got.filter(like="question_intent_p_").to_numpy()[0])


def test_question_intent_and_conversation_signals_say_what_the_lead_wrote(models: Models) -> None:
    leads = _leads(["I would like to book a dermatology appointment next week", "", None])
    events = _events(
        [
            ("L0", 1.0, "chat_message", "do you take Cigna"),
            ("L0", 3.0, "sms_message", "I'd like to schedule a visit for Tuesday"),
            ("L2", 2.0, "page_view", ""),
        ]
    )
    out = text_features(leads, events, _as_of(leads), classifiers=models)
    assert out.index.equals(leads.index)
    intents = out.filter(like="question_intent_p_")
    assert intents.loc[0].idxmax() == "question_intent_p_scheduling"
    assert intents.loc[[1, 2]].isna().all().all()  # no question: no probabilities
    assert out.loc[0, "last_message_intent"] == "scheduling"
    assert out.loc[0, "n_messages"] == 2 and out.loc[2, "n_messages"] == 0
    assert out.loc[0, "message_median_gap_minutes"] == pytest.approx(120.0)
    assert np.isnan(out.loc[2, "message_median_gap_minutes"])
    assert out.loc[0, "hours_since_last_message"] == pytest.approx(21.0)
    assert out["service_preference_captured"].tolist() == [1.0, 0.0, 0.0]
    assert pd.isna(out.loc[1, "last_message_intent"])


def test_reply_time_is_measured_from_staff_message_to_lead_reply_when_direction_is_known(
    models: Models,
) -> None:
    leads = _leads(["question"])
    events = _events(
        [
            ("L0", 1.0, "chat_message", "hello, how can we help?"),
            ("L0", 1.5, "chat_message", "I want an appointment"),
            ("L0", 2.0, "chat_message", "ok, which day?"),
            ("L0", 4.0, "chat_message", "friday"),
        ]
    )
    events["direction"] = ["outbound", "inbound", "outbound", "inbound"]
    out = text_features(leads, events, _as_of(leads), classifiers=models)
    assert out.loc[0, "message_median_gap_minutes"] == pytest.approx((30 + 120) / 2)


def test_shared_fast_vectors_give_exactly_the_classifier_probabilities(models: Models) -> None:
    texts = list(make_labelled_texts(400, seed=9)["text"]) + [
        "¿Aceptan Medicaid para una mamografía?",
        "",
        "x",
    ]
    fast = class_probabilities(models, texts)
    for model, got in zip(models, fast, strict=True):
        np.testing.assert_allclose(got, model.predict_proba(texts), rtol=0, atol=1e-12)


def test_bad_inputs_are_refused_with_what_to_do(models: Models) -> None:
    leads = _leads(["hi"])
    with pytest.raises(InputError, match="one as_of per lead"):
        text_features(leads, None, pd.Series([T0, T0]), classifiers=models)
    with pytest.raises(InputError, match="lead_id"):
        text_features(leads.rename(columns={"lead_id": "id"}), None, _as_of(leads), classifiers=models)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Timestamp]:
    folder = tmp_path_factory.mktemp("text_export")
    data = generate(3_000, seed=4, text_signals=True)
    data.write(folder)
    return folder, data.end


def test_text_features_are_opt_in_and_end_to_end_a_text_model_scores_and_routes(
    export: tuple[Path, pd.Timestamp], models: Models
) -> None:
    folder, end = export
    tables = load_crm_folder(folder)
    table = tables.dictionary.table("leads")
    plain = build_dataset(
        tables.leads, tables.events, tables.outcomes, target=Target(), table=table, data_end=end
    )
    assert not plain.spec.text and "question_intent_p_scheduling" not in plain.X
    dataset = build_dataset(
        tables.leads,
        tables.events,
        tables.outcomes,
        target=Target(),
        table=table,
        data_end=end,
        text=True,
        classifiers=models,
    )
    assert dataset.spec.text
    assert {"question_intent_p_spam", "n_messages", "intake_step_reached"} <= set(dataset.X.columns)
    assert list(dataset.X.columns[: len(plain.X.columns)]) == list(plain.X.columns)
    training = train_model(dataset, seed=0)
    assert "question_intent_p_scheduling" in training.model.features
    assert training.metrics["model"]["auc"] > 0.65
    comparison = text_comparison(train_model(plain, seed=0), training, n_boot=50)
    assert comparison["n"] == len(training.test_frame)
    assert comparison["auc_gain"] == pytest.approx(
        comparison["model + text"]["auc"] - comparison["model"]["auc"]
    )
    low, high = comparison["auc_gain_ci"]
    assert low <= high and "n_messages" in comparison["text_features"]
    leads = tables.leads.head(200)
    # the spec remembers the text option, so scoring builds the same features (with the default classifiers
    # unless told otherwise): check that build_features does, with our small classifiers
    X = build_features(
        leads,
        tables.events,
        pd.to_datetime(leads["created_at"]) + pd.Timedelta(hours=24),
        dataset.spec,
        classifiers=models,
    )
    assert "last_message_intent" in X
    no_text = build_features(
        leads, tables.events, pd.to_datetime(leads["created_at"]), FeatureSpec.from_table(table)
    )
    assert "n_messages" not in no_text
    scored = score_leads(training.model, leads, tables.events)
    assert scored["probability"].between(0, 1).all()
    decisions = decide_many(leads, scored, now="2025-03-07 10:00")
    assert len(decisions) == len(leads)
    triage = [d for d in decisions if d.route.name == "clinical_triage"]
    assert all(d.route.kind == "clinical" for d in triage)
    assert {d.route.kind for d in decisions} <= {"intake", "nurture", "service", "clinical", "review", "hold"}

"""Returning leads: the simulator's returns, finding them, their features with decay, and routing them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.datasets import load_crm_folder
from careleads.decisions import decide_many
from careleads.dictionary import load_dictionary
from careleads.errors import InputError
from careleads.features import FeatureSpec, Target
from careleads.models import train_model
from careleads.segments import (
    build_reengagement_dataset,
    evaluate_reengagement,
    find_returns,
    reengagement_features,
    score_returning,
)
from careleads.synth import SyntheticData, generate

T0 = pd.Timestamp("2025-01-06 09:00")


def _table(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """(lead_id, days after T0, event_type)."""
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "occurred_at": [T0 + pd.Timedelta(days=r[1]) for r in rows],
            "event_type": [r[2] for r in rows],
            "page": ["pricing" if r[2] == "page_view" else "" for r in rows],
        }
    )


LEADS = pd.DataFrame({"lead_id": ["A", "B", "C", "D"], "created_at": [T0] * 4})
EVENTS = _table(
    [
        ("A", 0.1, "page_view"),
        ("A", 10, "email_open"),
        ("A", 100, "page_view"),  # back after 90 quiet days
        ("A", 100.2, "intake_started"),
        ("A", 130, "page_view"),  # after the scoring moment
        ("B", 0.1, "page_view"),
        ("B", 40, "page_view"),  # never quiet long enough
        ("B", 80, "page_view"),
        ("C", 0.1, "page_view"),
        ("C", 200, "page_view"),  # back, but converted before
        ("D", 0.01, "page_view"),
    ]
)


def test_a_return_is_the_first_activity_after_a_quiet_period() -> None:
    outcomes = pd.DataFrame(
        {"lead_id": ["C"], "outcome": ["appointment_scheduled"], "occurred_at": [T0 + pd.Timedelta(days=20)]}
    )
    found = find_returns(LEADS, EVENTS, quiet_days=60, outcomes=outcomes)
    assert found["lead_id"].tolist() == ["A"]
    row = found.iloc[0]
    assert row["returned_at"] == T0 + pd.Timedelta(days=100)
    assert row["last_contact_at"] == T0 + pd.Timedelta(days=10)
    assert row["quiet_days"] == pytest.approx(90)
    assert row["as_of"] == row["returned_at"] + pd.Timedelta(hours=24)
    # without outcomes C counts; with a shorter quiet period B does too
    assert set(find_returns(LEADS, EVENTS, quiet_days=60)["lead_id"]) == {"A", "C"}
    assert set(find_returns(LEADS, EVENTS, quiet_days=35)["lead_id"]) == {"A", "B", "C"}
    with pytest.raises(InputError, match="quiet_days"):
        find_returns(LEADS, EVENTS, quiet_days=0)


def test_renewed_activity_counts_only_since_the_return_and_earlier_engagement_decays() -> None:
    table = load_dictionary().table("leads")
    spec = FeatureSpec.from_table(table)
    returns = find_returns(LEADS, EVENTS, quiet_days=60)
    X = reengagement_features(LEADS, EVENTS, returns, spec, half_life_days=14, text=False)
    a = X.loc[returns.index[returns["lead_id"] == "A"][0]]
    assert a["n_page_view"] == 1 and a["n_intake_started"] == 1 and a["n_email_open"] == 0
    assert a["prior_n_events"] == 2
    expected = 0.5 ** (100.9 / 14) + 0.5 ** (91 / 14)  # ages at the scoring moment, day 101
    assert a["prior_engagement_decayed"] == pytest.approx(expected)
    assert a["days_since_last_contact"] == pytest.approx(91)
    assert a["days_since_created"] == pytest.approx(101)
    # a longer half-life keeps more of the old engagement
    slow = reengagement_features(LEADS, EVENTS, returns, spec, half_life_days=60, text=False)
    assert slow.loc[a.name, "prior_engagement_decayed"] > a["prior_engagement_decayed"]
    with pytest.raises(InputError, match="returns lack"):
        reengagement_features(LEADS, EVENTS, returns.drop(columns="as_of"), spec, text=False)


def test_the_simulator_adds_returns_only_when_asked_and_keeps_first_windows_untouched() -> None:
    plain = generate(2_000, seed=5)
    assert plain.returns is None
    data = generate(2_000, seed=5, returning_share=0.4)
    pd.testing.assert_frame_equal(plain.leads, data.leads)
    pd.testing.assert_frame_equal(plain.truth, data.truth)
    returns = data.returns
    assert returns is not None and len(returns) > 100
    first_as_of = plain.truth.set_index("lead_id")["as_of"].reindex(returns["lead_id"])
    # returns begin 90 days or more after the first scoring moment: the first 90-day windows keep their truth
    assert (returns["returned_at"].to_numpy() >= (first_as_of + pd.Timedelta(days=90)).to_numpy()).all()
    assert returns["p_appointment_scheduled_30d"].between(0, 1).all()
    scheduled_first = set(plain.outcomes.loc[plain.outcomes["outcome"] == "appointment_scheduled", "lead_id"])
    assert not set(returns["lead_id"]) & scheduled_first
    assert len(data.events) > len(plain.events)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticData]:
    folder = tmp_path_factory.mktemp("returns_export")
    data = generate(8_000, seed=21, returning_share=0.6)
    data.write(folder)
    return folder, data


def test_end_to_end_returning_leads_are_rescored_and_routed(export: tuple[Path, SyntheticData]) -> None:
    folder, data = export
    tables = load_crm_folder(folder)
    table = tables.dictionary.table("leads")
    target = Target()
    dataset = build_reengagement_dataset(
        tables.leads,
        tables.events,
        tables.outcomes,
        table=table,
        target=target,
        data_end=data.end,
        text=False,
    )
    assert len(dataset) > 1_000 and dataset.usable.sum() > 500
    assert (dataset.X["days_since_last_contact"] >= 60).all()
    training = train_model(dataset, truth=data.returns, seed=0)
    new = train_model(tables.dataset(target, data_end=data.end), seed=0)
    figures = evaluate_reengagement(
        training, dataset, new.model, tables.leads, tables.events, truth=data.returns
    )
    assert figures["n"] == int(training.split.test.sum())
    assert 0.5 < figures["auc_renewed"] <= figures["auc_oracle"] + 0.05
    assert np.isfinite(figures["auc_as_new"])

    returns = find_returns(tables.leads, tables.events, outcomes=tables.outcomes).tail(150)
    scored = score_returning(training.model, tables.leads, tables.events, returns)
    assert len(scored) == 150 and scored["probability"].between(0, 1).all()
    assert (scored["quiet_days"] >= 60).all()
    no_profile = tables.leads.set_index("lead_id")["do_not_profile"].reindex(scored["lead_id"]).fillna(False)
    assert (scored.loc[no_profile.to_numpy(dtype=bool), "scored_by"] == "rules").all()
    decisions = decide_many(tables.leads, scored, now="2026-09-01 10:00")
    assert [d.lead_id for d in decisions] == scored["lead_id"].tolist()
    # tier A goes to a priority call, unless the message's intent has its own route (billing, referral, ...)
    by_tier = [d for d in decisions if not d.overrides and d.tier == "A" and d.intent in (None, "scheduling")]
    assert all(d.route.name.startswith("call_priority") for d in by_tier)
    assert all(d.route.queue for d in decisions)


def test_the_returning_lead_data_set_never_reads_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built at two different times, the same tables give the same data set, ending at their latest time."""
    table = load_dictionary().table("leads")
    no_events = EVENTS.iloc[:0]
    no_outcomes = pd.DataFrame(
        {
            "lead_id": pd.Series([], dtype="string"),
            "outcome": pd.Series([], dtype="string"),
            "occurred_at": pd.Series([], dtype="datetime64[ns]"),
        }
    )
    built = []
    for now in (pd.Timestamp("2031-05-01 12:00"), pd.Timestamp("2044-11-30 03:00")):

        def clock(cls: type, /, *args: object, now: pd.Timestamp = now, **kwargs: object) -> pd.Timestamp:  # noqa: ARG001
            return now

        for name in ("now", "today", "utcnow"):
            monkeypatch.setattr(pd.Timestamp, name, classmethod(clock))
        built.append(
            [
                build_reengagement_dataset(LEADS, events, no_outcomes, table=table, quiet_days=60, text=False)
                for events in (EVENTS, no_events)
            ]
        )
    (with_events, without), (again_with, again_without) = built
    for first, second in ((with_events, again_with), (without, again_without)):
        pd.testing.assert_frame_equal(first.X, second.X)
        pd.testing.assert_series_equal(first.y, second.y)
        assert first.data_end == second.data_end
    assert with_events.data_end == T0 + pd.Timedelta(days=200)  # the latest event
    assert without.data_end == T0 and len(without) == 0  # no events: the latest lead's creation

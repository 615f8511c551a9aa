"""Partnership (B2B) leads: simulator, dictionary tables, features, own model and routing to BD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.dictionary import load_dictionary
from careleads.errors import InputError
from careleads.features import FeatureSpec
from careleads.segments import (
    PARTNERSHIP_TARGET,
    SCOPE_SCRIPTS,
    load_partnership_folder,
    partnership_features,
    route_partnership,
    score_partnerships,
    train_partnership_model,
)
from careleads.synth import AS_OF_HOURS, TARGET_ROLES, PartnershipData, generate_partnerships


def test_the_generator_is_reproducible_and_writes_a_truth_per_lead() -> None:
    a, b = generate_partnerships(400, seed=2), generate_partnerships(400, seed=2)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert not a.leads.equals(generate_partnerships(400, seed=3).leads)
    assert a.truth["lead_id"].tolist() == a.leads["lead_id"].tolist()
    p = a.truth[["p_meeting_booked_30d", "p_meeting_booked_60d", "p_meeting_booked_90d"]]
    assert p.to_numpy().min() >= 0 and p.to_numpy().max() <= 1
    assert (p.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert set(a.outcomes["outcome"]) == {"meeting_booked"}
    created = pd.to_datetime(a.leads.set_index("lead_id")["created_at"])
    met = a.outcomes.set_index("lead_id")["occurred_at"]
    assert (met > created.reindex(met.index) + pd.Timedelta(hours=AS_OF_HOURS)).all()
    with pytest.raises(InputError, match="at least 100"):
        generate_partnerships(10)


def test_the_shipped_dictionary_describes_the_partnership_tables() -> None:
    dictionary = load_dictionary()
    table = dictionary.table("partnership_leads")
    assert (table.key, table.time_column) == ("lead_id", "created_at")
    spec = FeatureSpec.from_table(table)
    assert {"job_role", "partnership_scope", "topic_interest", "lead_type"} <= set(spec.categorical)
    assert "organisation" in spec.excluded and "stage" in spec.excluded and "owner" in spec.excluded
    events = dictionary.table("partnership_events").field("event_type")
    assert {"webinar_attended", "event_attended", "case_study_download"} <= set(events.values)


def test_job_role_match_depends_on_the_kind_of_organisation() -> None:
    spec = FeatureSpec.from_table(load_dictionary().table("partnership_leads"))
    t0 = pd.Timestamp("2025-02-03 10:00")
    leads = pd.DataFrame(
        {
            "lead_id": ["P1", "P2", "P3", "P4"],
            "created_at": [t0] * 4,
            "lead_type": ["health_system", "clinician", "practice", None],
            "job_role": ["executive", "executive", "practice_manager", "physician"],
        }
    )
    events = pd.DataFrame(
        {
            "lead_id": ["P1", "P1", "P2"],
            "occurred_at": [t0 + pd.Timedelta(hours=h) for h in (1, 30, 2)],
            "event_type": ["webinar_attended", "case_study_download", "case_study_download"],
            "page": ["", "", ""],
        }
    )
    X = partnership_features(leads, events, pd.Series([t0 + pd.Timedelta(hours=24)] * 4), spec)
    assert X["job_role_match"].iloc[:3].tolist() == [1.0, 0.0, 1.0] and np.isnan(X["job_role_match"].iloc[3])
    assert X["n_webinar_attended"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert X["n_case_study_download"].tolist() == [0.0, 1.0, 0.0, 0.0]  # the download at 30h comes later
    assert "executive" in TARGET_ROLES["health_system"]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PartnershipData]:
    folder = tmp_path_factory.mktemp("b2b")
    data = generate_partnerships(5_000, seed=7)
    data.write(folder)
    return folder, data


def test_end_to_end_partnership_leads_get_their_own_model_and_go_to_business_development(
    export: tuple[Path, PartnershipData],
) -> None:
    folder, data = export
    tables = load_partnership_folder(folder)
    assert all(r.summary.n_quarantined == 0 for r in tables.results.values())
    dataset = tables.dataset(data_end=data.end)
    assert dataset.target == PARTNERSHIP_TARGET and dataset.usable.sum() > 3_000
    training = train_partnership_model(dataset, truth=data.truth, seed=0)
    metrics = training.metrics
    assert metrics["model"]["auc"] > 0.7
    assert metrics["model"]["auc"] > metrics["oracle"]["auc"] - 0.05
    assert "job_role_match" in training.model.features

    leads = tables.leads.tail(400).reset_index(drop=True)
    leads.loc[0, ["phone", "email"]] = None  # nobody to write to: data completion, whatever the score
    scored = score_partnerships(training.model, leads, tables.events)
    decisions = route_partnership(leads, scored, now="2026-06-02 10:00")
    by_id = {d.lead_id: d for d in decisions}
    assert by_id[leads.loc[0, "lead_id"]].route.name == "data_completion"
    rows = leads.set_index("lead_id")
    meetings = [d for d in decisions if d.route.name in ("bd_meeting", "bd_enterprise") and not d.overrides]
    assert meetings, "some partnership leads must be worth a meeting"
    for d in meetings:
        lead = rows.loc[d.lead_id]
        assert d.route.call_script == SCOPE_SCRIPTS[lead["partnership_scope"]][0]
        if lead["lead_type"] == "health_system" or lead["region"] == "national":
            assert d.route.queue == "bd_enterprise"
        elif lead["region"] in ("north", "east"):
            assert d.route.queue == "bd_north_east"
        elif lead["region"] in ("south", "west"):
            assert d.route.queue == "bd_south_west"
        assert d.tier in ("A", "B", "C")
        # round-robin within the BD queue up to each owner's capacity; the rest wait
        assert (d.route.assignment == "assigned") == (d.route.owner is not None)
    assert any(d.route.owner is not None for d in meetings)
    # no partnership lead lands in a patient intake queue
    assert not {d.route.queue for d in decisions} & {
        "intake_priority",
        "intake_standard",
        "intake_behavioral",
    }
    low = [
        d for d in decisions if d.tier == "D" and not d.overrides and rows.loc[d.lead_id, "consent_marketing"]
    ]
    assert all(d.route.name == "bd_partner_newsletter" for d in low)


def test_a_partnership_folder_without_its_tables_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a folder"):
        load_partnership_folder(tmp_path / "missing")
    generate_partnerships(300, seed=1).write(tmp_path)
    (tmp_path / "partnership_events.csv").unlink()
    with pytest.raises(InputError, match=r"no partnership_events\.csv .*generate_partnerships"):
        load_partnership_folder(tmp_path)

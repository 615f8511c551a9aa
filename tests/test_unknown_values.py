"""Values the dictionary does not know are stored, flagged and scored as unknown, never refused; clinical
triage reads every text first, so a record that cannot be identified but may describe an emergency still
reaches a human."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from _service_support import (
    BACKENDS,
    LEAD,
    Service,
    make_settings,
    publish,
    start_service,
    trained_day_one_model,
)
from careleads.dictionary import FLAGS_KEY, FieldType, load_dictionary, validate_record
from careleads.store import AuditEntry, Lead, ReviewTask

DICTIONARY = load_dictionary()
LEADS = DICTIONARY.table("leads")
URGENT = "Since an hour I have crushing chest pain and can not breathe"
# fields a lead may carry whose values the dictionary checks (closed categories, yes/no, numbers), other than
# the lead's identity and time
CHECKED = [
    spec
    for spec in LEADS.fields
    if spec.name not in (LEADS.key, LEADS.time_column) and (spec.is_closed or spec.type is FieldType.NUMBER)
]


def _unseen_values(seed: int) -> list[str]:
    """Values no field of the shipped dictionary lists: random words, Unicode, padded, numbers as text."""
    rng = random.Random(seed)
    word = "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(5, 12)))
    return [
        f"zq{word}",
        f"  Zq {word.upper()}  ",
        "Kardiologie-Ambulanz Süd ✓",
        "心臓外科",
        f"\tzq\u00a0{word}\n",
        str(rng.randint(10_000, 99_999)),
        f"{rng.randint(500, 9_999)}.5",
    ]


CASES = [
    (spec.name, value)
    for k, spec in enumerate(CHECKED)
    for value in _unseen_values(k)
    # what the field's rule refuses (the number fields read numbers inside their range)
    if validate_record(
        {LEADS.key: "x", LEADS.time_column: "2025-01-01", spec.name: value}, DICTIONARY, "leads"
    )[1]
]


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _lead_without(field: str) -> dict[str, Any]:
    fields = {f.name for f in LEADS.fields if field in (f.name, *f.aliases)}
    return {k: v for k, v in LEAD.items() if k not in fields}


def test_the_generated_cases_cover_every_checked_field() -> None:
    assert {name for name, _ in CASES} == {spec.name for spec in CHECKED}
    assert len(CASES) >= 5 * len(CHECKED)


@pytest.mark.parametrize("scorer", ["rules", "model"])
def test_each_checked_field_with_an_unseen_value_is_stored_flagged_and_scored_as_unknown(
    tmp_path: Path, scorer: str
) -> None:
    for service in start_service(make_settings(tmp_path, BACKENDS[0])):
        if scorer == "model":
            publish(service.settings, trained_day_one_model())
        client, headers = service.client, service.headers("integration")
        baseline: dict[str, int] = {}
        for n, (field, value) in enumerate(CASES):
            # what an unreadable value must score: the same lead without the field, or with the field's
            # cautious value when the dictionary gives one (a consent is then read as refused)
            cautious = {spec.name: spec.unreadable_as for spec in CHECKED}.get(field)
            if field not in baseline:
                reference = {**_lead_without(field), "lead_id": f"P-{field}"}
                if cautious is not None:
                    reference[field] = cautious
                plain = client.post("/v1/leads", json=reference, headers=headers)
                assert plain.status_code == 201, plain.text
                baseline[field] = plain.json()["decision"]["score"]
            sent = {**_lead_without(field), "lead_id": f"U-{n}", field: value}
            answer = client.post("/v1/leads", json=sent, headers=headers)
            assert answer.status_code == 201, (field, value, answer.text)
            body = answer.json()
            flagged = [f for f in body["flagged_fields"] if f["field"] == field]
            assert len(flagged) == 1, (field, value, body["flagged_fields"])
            assert flagged[0]["action"] and flagged[0]["message"]
            assert body["decision"]["scored_by"].startswith(scorer[:4]) or field == "do_not_profile"
            assert body["decision"]["score"] == baseline[field], (field, value)
            with service.sessions() as session:
                lead = session.get(Lead, body["id"])
                assert lead is not None
                assert lead.fields[field] is cautious  # None: read as missing
                assert lead.fields[FLAGS_KEY][field]["value"] == value.strip()


def test_an_unknown_service_line_with_an_urgent_message_tops_the_triage_queue(service: Service) -> None:
    client, headers = service.client, service.headers("integration")
    for k in range(3):
        routine = {**LEAD, "lead_id": f"R{k}", "question": "Can I book a knee check next month?"}
        assert client.post("/v1/leads", json=routine, headers=headers).status_code == 201
    urgent = {**LEAD, "lead_id": "X1", "service_line": "Vascular Surgery Pop-up", "question": URGENT}
    answer = client.post("/v1/leads", json=urgent, headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [f["field"] for f in body["flagged_fields"]] == ["service_line"]
    assert body["decision"]["route"]["kind"] == "clinical"
    queue = client.get("/v1/review-queue", headers=service.headers("reviewer")).json()["data"]
    assert queue[0]["lead_id"] == body["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"service_line": "Ortho", "question": URGENT},  # no id at all
        {"lead_id": "", "question": URGENT, "phone": "555 0100"},  # a blank id
        {"Lead ID": "  ", "Your Question": URGENT},  # aliases, blank id
        {"lead_id": "B2", "created_at": "31/31/2031 99:99", "question": URGENT},  # an unreadable time
        {"lead_id": "B3", "question": URGENT, "utm": {"nested": True}},  # not a flat record
        [URGENT],  # not an object
        URGENT,  # a bare text
    ],
)
def test_a_record_that_cannot_be_identified_but_may_be_urgent_reaches_a_human(
    service: Service, body: Any
) -> None:
    client, headers = service.client, service.headers("integration")
    answer = client.post("/v1/leads", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert created["unidentified"] is True and created["external_id"].startswith("unidentified-")
    assert any(f["kind"] == "refused" for f in created["flagged_fields"])
    assert created["decision"]["route"]["kind"] == "clinical"
    with service.sessions() as session:
        task = session.scalar(select(ReviewTask).where(ReviewTask.lead_id == created["id"]))
        assert task is not None and task.status == "open"
    lead = client.get(f"/v1/leads/{created['id']}", headers=service.headers("admin")).json()
    assert "chest pain" in " ".join(str(t) for t in (lead["texts"] or {}).values())


def test_a_request_body_that_is_not_json_is_triaged_too(service: Service) -> None:
    headers = {**service.headers("integration"), "content-type": "application/json"}
    answer = service.client.post("/v1/leads", content=f"question: {URGENT}, no id".encode(), headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["decision"]["route"]["kind"] == "clinical"


@pytest.mark.parametrize(
    "body",
    [
        {"service_line": "Ortho", "question": "Can I book a knee check?"},
        {"lead_id": "", "question": "book me in please"},
        {"lead_id": "L" * 201, "question": "book me in please"},
        ["book me in please"],
    ],
)
def test_a_record_that_cannot_be_identified_and_is_not_alarming_is_refused(
    service: Service, body: Any
) -> None:
    answer = service.client.post("/v1/leads", json=body, headers=service.headers("integration"))
    assert answer.status_code == 422, answer.text
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_an_alarming_text_outside_the_triaged_field_is_carried_to_it(service: Service) -> None:
    sent = {**LEAD, "lead_id": "C1", "question": "", "chat_transcript": URGENT, "intake_urgency": URGENT}
    answer = service.client.post("/v1/leads", json=sent, headers=service.headers("integration"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["decision"]["route"]["kind"] == "clinical"


@pytest.mark.parametrize(
    ("field", "value", "to", "expected", "new_value"),
    [
        ("service_line", "Foot & Ankle Clinic", "orthopedics", "orthopedics", False),
        ("service_line", "Podiatry Pop-up", "Podiatry", "podiatry", True),
        ("source", "  Nextdoor Ads ", "paid social", "paid_social", False),
        ("consent_marketing", "Oui", "true", True, False),
    ],
)
def test_an_admin_maps_an_unknown_value_and_leads_are_read_with_it(
    service: Service, field: str, value: str, to: str, expected: Any, new_value: bool
) -> None:
    client, integration, admin = service.client, service.headers("integration"), service.headers("admin")
    stored = [
        client.post("/v1/leads", json={**LEAD, "lead_id": f"M{k}", field: v}, headers=integration).json()
        for k, v in enumerate([value, value.upper(), value])
    ]
    listed = client.get("/v1/admin/unknown-values", headers=admin).json()["data"]
    item = next(u for u in listed if u["field"] == field and u["value"] == value.strip())
    assert (
        item["mappable"] and item["n_leads"] == 2 and item["lead_ids"] == [stored[0]["id"], stored[2]["id"]]
    )
    assert "question" not in str(listed) and "maria" not in str(listed).lower()
    for role in ("integration", "analyst", "reviewer", "auditor"):
        refused = client.post(
            "/v1/admin/unknown-values/map",
            json={"field": field, "value": value, "to": to},
            headers=service.headers(role),
        )
        assert refused.status_code == 403, role
        assert client.get("/v1/admin/unknown-values", headers=service.headers(role)).status_code == 403
    mapped = client.post(
        "/v1/admin/unknown-values/map", json={"field": field, "value": value, "to": to}, headers=admin
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["to"] == str(expected).lower() and mapped.json()["new_value"] is new_value
    assert mapped.json()["n_renormalised"] == 3  # spellings are compared as the dictionary compares them
    with service.sessions() as session:
        for lead in stored:
            row = session.get(Lead, lead["id"])
            assert row is not None and row.fields[field] == expected and FLAGS_KEY not in row.fields
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "dictionary.map")).all()
        assert len(audit) == 1 and audit[0].actor == "admin-user"
    later = client.post("/v1/leads", json={**LEAD, "lead_id": "M-later", field: value}, headers=integration)
    assert later.status_code == 201 and later.json()["flagged_fields"] == []
    view = client.get(f"/v1/leads/{later.json()['id']}", headers=admin).json()
    assert view["fields"][field] == expected
    assert all(
        u["field"] != field for u in client.get("/v1/admin/unknown-values", headers=admin).json()["data"]
    )
    # the mapping is kept in the data directory: a service started afresh reads with it
    assert (service.settings.data_dir / "dictionary_extension.json").exists()


def test_mapping_a_field_that_cannot_be_mapped_is_refused(service: Service) -> None:
    admin = service.headers("admin")
    for body in (
        {"field": "distance_km", "value": "far", "to": "10"},
        {"field": "consent_sms", "value": "Oui", "to": "maybe"},
        {"field": "no_such_field", "value": "x", "to": "y"},
    ):
        answer = service.client.post("/v1/admin/unknown-values/map", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
    assert not (service.settings.data_dir / "dictionary_extension.json").exists()


def _batch_rows() -> list[dict[str, Any]]:
    routine = [
        {**LEAD, "lead_id": f"R{k}", "question": "Can I book a knee check next month?"} for k in range(4)
    ]
    return [
        *routine,
        {**LEAD, "lead_id": "X1", "service_line": "Vascular Surgery Pop-up", "question": URGENT},
        {**LEAD, "lead_id": "", "question": URGENT},  # cannot be identified, may be urgent: row 7
        {**LEAD, "lead_id": "", "question": "just browsing"},  # cannot be identified: row 8
    ]


def test_batch_scores_and_lists_unknown_values_and_reports_urgent_quarantined_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from careleads.engines import score_file
    from careleads.features import FeatureSpec
    from careleads.scoring import rules_baseline

    source = tmp_path / "leads.csv"
    pd.DataFrame(_batch_rows()).to_csv(source, index=False)
    model = rules_baseline(FeatureSpec.from_table(LEADS))
    with caplog.at_level("WARNING"):
        summary = score_file(source, model=model, out_path=tmp_path / "out.csv", compiled=False)
    assert (summary.n_read, summary.n_scored, summary.n_quarantined, summary.n_flagged) == (7, 5, 2, 1)
    decisions = pd.read_csv(tmp_path / "out.csv", dtype=str)
    urgent = decisions.set_index("lead_id").loc["X1"]
    assert urgent["route_kind"] == "clinical"
    flagged = pd.read_csv(summary.flagged_path, dtype=str)
    assert flagged[["_source", "_row", "_field", "_value"]].values.tolist() == [
        ["leads.csv", "6", "service_line", "Vascular Surgery Pop-up"]
    ]
    assert flagged["_action"].iloc[0]
    quarantine = pd.read_csv(summary.quarantine_path, dtype=str).set_index("_row")
    assert quarantine.loc["7", "_triage"] == "urgent" and quarantine.loc["8", "_triage"] == "none"
    assert summary.n_quarantined_alarming == 1
    assert any(note.startswith("URGENT") and "rows 7 (urgent)" in note for note in summary.notes)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "row 7 may describe an emergency" in logged and "chest" not in logged


def test_an_uploaded_batch_lists_flagged_values_and_alerts_on_urgent_quarantined_rows(
    service: Service,
) -> None:
    client, headers = service.client, service.headers("integration")
    buffer = io.BytesIO()
    pd.DataFrame(_batch_rows()).to_csv(buffer, index=False)
    posted = service.client.post(
        "/v1/batches", files={"file": ("leads.csv", buffer.getvalue())}, headers=headers
    )
    assert posted.status_code == 202, posted.text
    job = client.get(f"/v1/batches/{posted.json()['id']}", headers=headers).json()
    assert (job["n_rows"], job["n_scored"], job["n_quarantined"], job["n_flagged"]) == (7, 5, 2, 1)
    assert job["n_quarantined_alarming"] == 1 and "rows 7 (urgent)" in job["alerts"][0]
    decisions = pd.read_csv(
        io.StringIO(service.client.get(job["result_url"], headers=headers).text), dtype=str
    )
    assert decisions.set_index("lead_id").loc["X1", "route_kind"] == "clinical"
    flagged = pd.read_csv(
        io.StringIO(service.client.get(job["flagged_url"], headers=headers).text), dtype=str
    )
    assert flagged["_field"].tolist() == ["service_line"]
    quarantine = client.get(job["quarantine_url"], headers=headers).text
    assert "chest" not in quarantine and "urgent" in quarantine


def test_a_batch_run_reads_with_the_clinic_mappings(tmp_path: Path) -> None:
    from careleads.dictionary import add_mapping, save_extension
    from careleads.engines import score_file
    from careleads.features import FeatureSpec
    from careleads.scoring import rules_baseline
    from careleads.service.context import DICTIONARY_EXTENSION_FILE, clinic_dictionary

    settings = make_settings(tmp_path, BACKENDS[0])
    mapped = add_mapping(
        {}, DICTIONARY, table="leads", field="service_line", value="Vascular Surgery Pop-up", to="cardiology"
    )
    save_extension(mapped, settings.data_dir / DICTIONARY_EXTENSION_FILE)
    source = tmp_path / "leads.csv"
    pd.DataFrame(_batch_rows()).to_csv(source, index=False)
    model = rules_baseline(FeatureSpec.from_table(LEADS))
    summary = score_file(
        source,
        model=model,
        out_path=tmp_path / "out.csv",
        compiled=False,
        dictionary=clinic_dictionary(settings),
    )
    assert summary.n_flagged == 0 and summary.n_scored == 5


def test_a_flagged_value_is_stored_redacted_as_free_text_is(service: Service) -> None:
    name = str(LEAD["full_name"])
    sent = {**LEAD, "lead_id": "N1", "service_line": f"call {name} back"}
    answer = service.client.post("/v1/leads", json=sent, headers=service.headers("integration"))
    assert answer.status_code == 201, answer.text
    with service.sessions() as session:
        lead = session.get(Lead, answer.json()["id"])
        assert lead is not None
        stored = lead.fields[FLAGS_KEY]["service_line"]["value"]
    assert name.split()[0] not in stored and stored.startswith("call ")

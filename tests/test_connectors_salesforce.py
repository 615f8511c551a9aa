"""The Salesforce connector against a local stand-in (``_salesforce_server``), through simple-salesforce.

Pull: Lead records changed since the cursor become leads once each (by record id), Status values and
conversion become outcomes once. Write-back: score, tier, reasons, intent, route and OwnerId through Bulk API
2.0 upserts, through 429, 5xx, dropped connections and failed rows, every record written once. A dry run
writes nothing anywhere.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from _salesforce_server import (
    BASE_TIME,
    SESSION,
    Fault,
    SalesforceServer,
    SalesforceState,
    default_state,
)
from _service_support import BACKENDS, all_text, make_settings
from careleads.cli import _register, app
from careleads.connectors import (
    SalesforceApi,
    SalesforceAuthError,
    SalesforceError,
    SalesforceMapping,
    load_salesforce_mapping,
    pull_leads,
    write_lead_scores,
)
from careleads.errors import ConfigError
from careleads.service.context import ServiceContext
from careleads.settings import Settings
from careleads.store import CrmCursor, CrmRecord, Lead, Outcome, make_engine, make_sessionmaker, upgrade

OWNERS = ["amara", "ben", "chloe", "dev"]
QUERY = "/query"
INGEST = "/jobs/ingest"


def lead_fields(n: int) -> dict[str, Any]:
    """A synthetic Lead record's fields (made up, never a real person)."""
    return {
        "careleads_full_name__c": f"Test Person {n}",
        "Email": f"person{n}@example.org",
        "Phone": f"555-01{n % 100:02d}",
        "LeadSource": ["Doctor referral", "Paid search", "Organic search"][n % 3],
        "service_line__c": ["Ortho", "Cardiology", "Dermatology"][n % 3],
        "region__c": ["north", "south"][n % 2],
        "landing_page__c": "service_page",
        "insurance__c": "PPO",
        "preferred_contact__c": "phone",
        "inquiry_type__c": "scheduling",
        "intake_urgency__c": "soon",
        "marketing_consent__c": True,
        "sms_consent__c": False,
        "Status": "Open - Not Contacted",
    }


def record_id(n: int) -> str:
    return f"00Q{n:015d}"


@dataclass
class Org:
    server: SalesforceServer
    state: SalesforceState
    sessions: sessionmaker[Session]
    ctx: ServiceContext
    settings: Settings
    mapping: SalesforceMapping
    waits: list[float] = field(default_factory=list)

    def api(self, session_id: str = SESSION, max_attempts: int = 4) -> SalesforceApi:
        http = requests.Session()
        # trust the stand-in's authority (the environment's REQUESTS_CA_BUNDLE would win over `verify`)
        http.trust_env, http.verify = False, self.server.ca_file
        return SalesforceApi(
            instance_url=self.server.url,
            session_id=session_id,
            max_attempts=max_attempts,
            backoff_seconds=0.01,
            poll_seconds=0.01,
            sleep=self.waits.append,
            session=http,
        )

    def add_leads(self, n: int, start: int = 0) -> None:
        for i in range(start, start + n):
            self.state.add_lead(record_id(i), lead_fields(i), BASE_TIME + timedelta(minutes=i))

    def pull(self, **kwargs: Any) -> Any:
        api = kwargs.pop("api", None) or self.api()
        return pull_leads(sessions=self.sessions, ctx=self.ctx, api=api, mapping=self.mapping, **kwargs)

    def write(self, **kwargs: Any) -> Any:
        api = kwargs.pop("api", None) or self.api()
        return write_lead_scores(sessions=self.sessions, api=api, mapping=self.mapping, **kwargs)

    def count(self, model: Any) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def uploaded_rows(self) -> list[dict[str, str]]:
        return [row for text in self.state.uploads for row in csv.DictReader(io.StringIO(text))]


@contextmanager
def running_org(tmp_path: Path, backend: str) -> Iterator[Org]:
    settings = make_settings(tmp_path, backend, routing_file=None, analytics_flush_rows=1_000_000)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    ctx.bind(sessions)
    state = default_state()
    state.lead_fields.update(lead_fields(0))
    state.users = [
        {
            "Id": f"005{i:015d}",
            "Email": f"{name}@clinic.example",
            "Name": f"{name.title()} Owner",
            "IsActive": True,
        }
        for i, name in enumerate(OWNERS)
    ]
    server = SalesforceServer(state).start()
    try:
        yield Org(server, state, sessions, ctx, settings, load_salesforce_mapping())
    finally:
        server.stop()
        ctx.analytics.close()
        engine.dispose()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path, "sqlite") as running:
        yield running


@pytest.fixture(params=BACKENDS)
def any_org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path, request.param) as running:
        yield running


def test_the_shipped_mapping_reads_and_a_wrong_one_names_its_line(tmp_path: Path) -> None:
    mapping = load_salesforce_mapping()
    assert mapping.write_back["owner"] == "OwnerId" and mapping.external_id_field == "Id"
    assert mapping.outcomes.converted == "appointment_scheduled"
    wrong = tmp_path / "mapping.yaml"
    wrong.write_text(
        "name: x\nowners:\n  amara: not-an-email\nlead_fields:\n  email: Email FROM User --\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_salesforce_mapping(wrong)
    message = str(caught.value)
    assert "mapping.yaml:" in message and "e-mail" in message and "field API names" in message


N_BIG = 10_000


def test_ten_thousand_leads_synced_and_written_back_once_through_faults(org: Org) -> None:
    org.add_leads(N_BIG)
    # a 5xx and a dropped connection mid-way, a rate limit, then an outage longer than the retries
    org.state.faults.extend(
        [
            Fault(QUERY, 503, count=1, after=1),
            Fault(QUERY, 0, count=1),
            Fault(QUERY, 429, count=1, retry_after=2.0),
            Fault(QUERY, 500, count=6, after=1),
        ]
    )
    with pytest.raises(SalesforceError, match="kept failing"):
        org.pull(page_size=1000)
    assert 0 < org.count(CrmRecord) < N_BIG  # the pages before the outage are kept, with their cursor
    assert 2.0 in org.waits  # the 429's Retry-After
    org.pull(page_size=1000)  # goes on from the cursor
    assert org.count(CrmRecord) == org.count(Lead) == N_BIG
    with org.sessions() as session:
        ids = session.scalars(select(CrmRecord.record_id)).all()
    assert sorted(ids) == sorted(org.state.leads)  # none missing, none twice

    refused = {record_id(7), record_id(4321), record_id(9999)}
    org.state.refused_ids = set(refused)
    # a 5xx creating the second job, its upload dropped, then an outage creating the third job
    org.state.faults.extend(
        [
            Fault(INGEST, 503, count=1, after=1, method="POST"),
            Fault(INGEST, 0, count=1, method="PUT"),
            Fault(INGEST, 500, count=6, method="POST"),
        ]
    )
    with pytest.raises(SalesforceError, match="kept failing"):
        org.write(job_size=2500)
    assert sum(org.state.updates.values()) == 2 * 2500 - 2  # two jobs confirmed (but their refused rows)
    first = org.write(job_size=2500)
    assert first.n_failed == len(refused) == len(first.errors)
    assert {e.record_id for e in first.errors} == refused
    assert all(e.status == "FIELD_CUSTOM_VALIDATION_EXCEPTION" for e in first.errors)
    org.state.refused_ids = set()
    last = org.write(job_size=2500)
    assert (last.n_pending, last.n_written, last.n_failed) == (len(refused), len(refused), 0)
    assert org.state.updates.keys() == org.state.leads.keys()
    assert set(org.state.updates.values()) == {1}  # every score written exactly once

    assert org.write().n_pending == 0  # a rerun writes nothing
    again = org.pull(page_size=2000)
    assert (again.n_created, again.n_outcomes) == (0, 0) and org.count(Lead) == N_BIG


def test_the_cursor_moves_and_status_and_conversion_record_outcomes_once(any_org: Org) -> None:
    org = any_org
    org.add_leads(450)
    first = org.pull(page_size=200)
    assert (first.n_created, first.n_pages) == (450, 3) and first.cursor
    with org.sessions() as session:
        cursor = session.get(CrmCursor, "salesforce")
        assert cursor is not None and cursor.cursor == first.cursor
    org.state.touch(record_id(3), {"Status": "Appointment Attended"})
    org.state.touch(record_id(4), {"IsConverted": True})
    second = org.pull()
    assert (second.n_created, second.n_updated, second.n_outcomes) == (0, 2, 2)
    org.state.touch(record_id(4), {"Status": "Appointment Scheduled"})  # the outcome conversion recorded
    third = org.pull()
    assert third.n_outcomes == 0 and third.n_updated == 1
    with org.sessions() as session:
        outcomes = session.scalars(select(Outcome.outcome).order_by(Outcome.outcome)).all()
        external = session.scalars(select(Lead.external_id).order_by(Lead.id)).first()
    assert outcomes == ["appointment_attended", "appointment_scheduled"]
    assert external == f"salesforce-{record_id(0)}"
    assert org.count(Lead) == 450


def test_a_dry_run_writes_nothing_anywhere(org: Org) -> None:
    org.add_leads(25)
    org.pull()
    org.write()
    org.add_leads(5, start=25)
    org.state.touch(record_id(1), {"Status": "Appointment Attended"})
    before_store, before_org = all_text(org.sessions), repr(org.state.leads)
    n_requests = len(org.state.requests)
    pull = org.pull(dry_run=True)
    assert pull.n_created == 5 and pull.n_outcomes == 1
    assert pull.preview and {"record_id", "action", "outcome"} <= set(pull.preview[0])
    assert not any("@" in str(v) for row in pull.preview for v in row.values())  # no identifiers shown
    assert org.write(dry_run=True).n_pending == 0
    assert all_text(org.sessions) == before_store and repr(org.state.leads) == before_org
    assert all(method == "GET" for method, _path, _ in org.state.requests[n_requests:])


def test_the_dry_run_command_prints_counts_and_a_table(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    org.add_leads(12)
    for name, value in {
        "CARELEADS_DATA_DIR": str(org.settings.data_dir),
        "CARELEADS_DATABASE_URL": org.settings.database_url,
        "CARELEADS_SALESFORCE_SESSION_ID": SESSION,
        "CARELEADS_SALESFORCE_INSTANCE_URL": org.server.url,
        "REQUESTS_CA_BUNDLE": org.server.ca_file,
    }.items():
        monkeypatch.setenv(name, value)
    _register()
    result = CliRunner().invoke(app, ["sync", "salesforce", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "12 leads to create" in result.output and record_id(0)[:12] in result.output
    assert org.count(Lead) == 0 and org.count(CrmCursor) == 0
    assert {m for m, _p, _ in org.state.requests} == {"GET"}
    help_text = CliRunner().invoke(app, ["sync", "salesforce", "--help"]).output
    assert "--since" in help_text and "Example" in help_text


def test_write_back_sends_owner_ids_never_names(org: Org) -> None:
    org.add_leads(40)
    org.pull()
    report = org.write()
    assert report.n_written == 40 and report.n_batches == 1
    rows = org.uploaded_rows()
    user_ids = {u["Id"] for u in org.state.users}
    owners = [r["OwnerId"] for r in rows if r["OwnerId"]]
    assert owners and set(owners) <= user_ids  # Salesforce User Ids, never careleads names
    assert not any(name in r["OwnerId"].lower() for r in rows for name in OWNERS)
    first = rows[0]
    assert first["Id"] == record_id(0) and int(first["careleads_score__c"]) >= 0
    assert first["careleads_tier__c"] and first["careleads_route__c"]
    assert ":" in first["careleads_top_reasons__c"]  # a reason with its value
    assert org.state.leads[record_id(0)]["careleads_score__c"] == first["careleads_score__c"]


def test_failed_results_are_reported_one_by_one_and_retried_next_run(
    any_org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    org = any_org
    caplog.set_level("INFO", logger="careleads")
    org.add_leads(20)
    org.pull()
    org.state.refused_ids = {record_id(3), record_id(7)}
    report = org.write()
    assert report.n_written == 18 and report.n_failed == 2
    assert {e.record_id for e in report.errors} == {record_id(3), record_id(7)}
    assert all(e.lead_id is not None and "validation rule" in e.message for e in report.errors)
    assert "not written" in caplog.text  # logged by lead id; no record id, name or e-mail
    assert record_id(3) not in caplog.text and "@" not in caplog.text and "Test Person" not in caplog.text
    org.state.refused_ids = set()
    again = org.write()
    assert (again.n_pending, again.n_written) == (2, 2)
    assert set(org.state.updates.values()) == {1}


def test_an_expired_session_stops_at_once_and_says_what_to_do(org: Org) -> None:
    org.add_leads(3)
    org.state.expired_sessions = {"expired-session"}
    with pytest.raises(SalesforceAuthError, match="INVALID_SESSION_ID") as caught:
        org.pull(api=org.api(session_id="expired-session"))
    assert "CARELEADS_SALESFORCE_SESSION_ID" in str(caught.value)
    assert len(org.state.requests) == 1 and org.count(Lead) == 0
    with pytest.raises(SalesforceAuthError, match="no Salesforce credentials"):
        SalesforceApi()


def test_429_waits_retry_after_and_5xx_and_drops_back_off_doubling(org: Org) -> None:
    org.add_leads(2)
    org.state.faults.extend(
        [Fault(QUERY, 429, count=1, retry_after=3.0), Fault(QUERY, 500, count=1), Fault(QUERY, 0, count=1)]
    )
    org.pull()
    assert org.waits == [3.0, 0.01, 0.02]
    assert org.count(Lead) == 2


def test_a_failed_job_marks_nothing_and_says_why(org: Org) -> None:
    org.add_leads(5)
    org.pull()
    write_back = {**org.mapping.write_back, "tier": "careleads_grade__c"}  # a field the org does not have
    org.mapping = org.mapping.model_copy(update={"write_back": write_back})
    with pytest.raises(SalesforceError, match=r"ended Failed: .*careleads_grade__c") as caught:
        org.write()
    assert "results were not read" not in str(caught.value)
    assert org.write(dry_run=True).n_pending == 5 and not org.state.updates

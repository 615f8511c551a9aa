"""The HubSpot connector against a local stand-in (``_hubspot_server``), through the official client.

Pull: contacts changed since the cursor become leads once each (by record id), stages become outcomes once.
Write-back: score, tier, reasons, intent, route and owner id in batches of at most 100, through 429, 5xx and
per-record errors, every record written once. A dry run writes nothing anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from _hubspot_server import BASE_TIME, TOKEN, Fault, HubSpotServer, HubSpotState, default_state, iso
from _service_support import BACKENDS, all_text, make_settings
from careleads.cli import _register, app
from careleads.connectors import (
    HubSpotApi,
    HubSpotAuthError,
    HubSpotError,
    HubSpotMapping,
    load_hubspot_mapping,
    pull_contacts,
    write_scores,
)
from careleads.errors import ConfigError
from careleads.service.context import ServiceContext
from careleads.settings import Settings
from careleads.store import CrmCursor, CrmRecord, Lead, Outcome, make_engine, make_sessionmaker, upgrade

OWNERS = ["amara", "ben", "chloe", "dev"]
UPDATE = "/crm/v3/objects/contacts/batch/update"
SEARCH = "/crm/v3/objects/contacts/search"


def contact_properties(n: int) -> dict[str, Any]:
    """A synthetic contact's properties (made up, never a real person)."""
    return {
        "careleads_full_name": f"Test Person {n}",
        "email": f"person{n}@example.org",
        "phone": f"555-01{n % 100:02d}",
        "hs_analytics_source": ["Doctor referral", "Paid search", "Organic search"][n % 3],
        "service_line": ["Ortho", "Cardiology", "Dermatology"][n % 3],
        "region": ["north", "south"][n % 2],
        "landing_page": "service_page",
        "insurance": "PPO",
        "preferred_contact": "phone",
        "inquiry_type": "scheduling",
        "intake_urgency": "soon",
        "marketing_consent": "true",
        "sms_consent": "false",
        "createdate": iso(BASE_TIME + timedelta(minutes=n)),
        "lifecyclestage": "lead",
    }


@dataclass
class Hub:
    server: HubSpotServer
    state: HubSpotState
    sessions: sessionmaker[Session]
    ctx: ServiceContext
    settings: Settings
    mapping: HubSpotMapping
    waits: list[float] = field(default_factory=list)

    def api(self, token: str = TOKEN, max_attempts: int = 4) -> HubSpotApi:
        return HubSpotApi(
            access_token=token,
            base_url=self.server.url,
            max_attempts=max_attempts,
            backoff_seconds=0.01,
            sleep=self.waits.append,
        )

    def add_contacts(self, n: int, start: int = 0) -> None:
        for i in range(start, start + n):
            self.state.add_contact(str(1000 + i), contact_properties(i), self.state.tick())

    def pull(self, **kwargs: Any) -> Any:
        api = kwargs.pop("api", None) or self.api()
        return pull_contacts(sessions=self.sessions, ctx=self.ctx, api=api, mapping=self.mapping, **kwargs)

    def write(self, **kwargs: Any) -> Any:
        api = kwargs.pop("api", None) or self.api()
        return write_scores(sessions=self.sessions, api=api, mapping=self.mapping, **kwargs)

    def count(self, model: Any) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def running_hub(tmp_path: Path, backend: str) -> Iterator[Hub]:
    settings = make_settings(tmp_path, backend, routing_file=None, analytics_flush_rows=1_000_000)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    ctx.bind(sessions)
    state = default_state()
    state.owners = [
        {
            "id": str(70_000 + i),
            "email": f"{name}@clinic.example",
            "firstName": name.title(),
            "lastName": "Owner",
            "type": "PERSON",
            "userId": 90 + i,
            "createdAt": iso(BASE_TIME),
            "updatedAt": iso(BASE_TIME),
            "archived": False,
        }
        for i, name in enumerate(OWNERS)
    ]
    server = HubSpotServer(state).start()
    try:
        yield Hub(server, state, sessions, ctx, settings, load_hubspot_mapping())
    finally:
        server.stop()
        ctx.analytics.close()
        engine.dispose()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with running_hub(tmp_path, "sqlite") as running:
        yield running


@pytest.fixture(params=BACKENDS)
def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    with running_hub(tmp_path, request.param) as running:
        yield running


def test_the_shipped_mapping_reads_and_a_wrong_one_names_its_line(tmp_path: Path) -> None:
    mapping = load_hubspot_mapping()
    assert mapping.write_back["owner"] == "hubspot_owner_id"
    assert mapping.outcomes.values["customer"] == "appointment_attended"
    wrong = tmp_path / "mapping.yaml"
    wrong.write_text(
        "name: x\nowners:\n  amara: not-an-email\nwrite_back:\n  shoe_size: x\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_hubspot_mapping(wrong)
    assert "mapping.yaml:" in str(caught.value) and "e-mail" in str(caught.value)


N_BIG = 10_000


def test_ten_thousand_contacts_synced_and_written_back_once_through_faults(hub: Hub) -> None:
    hub.add_contacts(N_BIG)
    # server errors for a while mid-way, a rate limit, then an outage longer than the retries
    hub.state.faults.extend(
        [
            Fault(SEARCH, 503, count=3, after=N_BIG // 200 // 4),
            Fault(SEARCH, 429, count=1, retry_after=2.0, after=2),
            Fault(SEARCH, 500, count=6, after=N_BIG // 200 // 4),
        ]
    )
    with pytest.raises(HubSpotError, match="kept failing"):
        hub.pull(page_size=200)
    assert 0 < hub.count(CrmRecord) < N_BIG  # the pages before the outage are kept, with their cursor
    assert 2.0 in hub.waits  # the 429's Retry-After
    report = hub.pull(page_size=200)  # goes on from the cursor
    assert hub.count(CrmRecord) == hub.count(Lead) == N_BIG
    assert report.n_created + hub.count(CrmRecord) - report.n_created == N_BIG
    with hub.sessions() as session:
        ids = session.scalars(select(CrmRecord.record_id)).all()
    assert sorted(ids) == sorted(hub.state.contacts)  # none missing, none twice
    again = hub.pull(page_size=200)
    assert again.n_created == 0 and hub.count(Lead) == N_BIG

    n_batches = N_BIG // 100
    hub.state.faults.extend(
        [Fault(UPDATE, 502, count=3, after=n_batches // 3), Fault(UPDATE, 503, count=6, after=n_batches // 3)]
    )
    with pytest.raises(HubSpotError):
        hub.write()
    assert 0 < sum(hub.state.updates.values()) < N_BIG
    written = hub.write()
    assert written.n_failed == 0 and not written.errors
    assert hub.state.updates.keys() == hub.state.contacts.keys()
    assert set(hub.state.updates.values()) == {1}  # every record written exactly once
    batches = [body for method, path, body in hub.state.requests if path == UPDATE]
    assert max(len(body["inputs"]) for body in batches) == 100
    assert hub.write().n_pending == 0  # nothing left; a run now writes nothing


def test_the_cursor_moves_and_a_change_records_its_outcome_once(any_hub: Hub) -> None:
    hub = any_hub
    hub.add_contacts(30)
    first = hub.pull(page_size=10)
    assert (first.n_created, first.n_pages) == (30, 3) and first.cursor
    with hub.sessions() as session:
        cursor = session.get(CrmCursor, "hubspot")
        assert cursor is not None and cursor.cursor == first.cursor
    hub.state.touch("1003", {"lifecyclestage": "customer"})
    hub.state.touch("1004", {"lifecyclestage": "opportunity"})
    second = hub.pull(page_size=10)
    # the contacts at the cursor's very moment come again (GTE) and are found unchanged
    assert (second.n_created, second.n_updated, second.n_outcomes) == (0, 2, 2)
    hub.state.touch("1003", {"phone": "555-0199"})
    third = hub.pull()
    assert third.n_outcomes == 0 and third.n_updated == 1
    with hub.sessions() as session:
        outcomes = session.scalars(select(Outcome.outcome).order_by(Outcome.outcome)).all()
    assert outcomes == ["appointment_attended", "appointment_scheduled"]
    assert hub.count(Lead) == 30


def test_a_dry_run_writes_nothing_anywhere(hub: Hub) -> None:
    hub.add_contacts(25)
    hub.pull(page_size=10)
    hub.write()
    hub.add_contacts(5, start=25)
    hub.state.touch("1001", {"lifecyclestage": "customer"})
    before_store, before_hub = all_text(hub.sessions), repr(hub.state.contacts)
    n_requests = len(hub.state.requests)
    pull = hub.pull(dry_run=True, page_size=10)
    # unchanged: the contact at the cursor's moment; updated: 1001 and every contact the write-back touched
    assert pull.n_created == 5 and pull.n_outcomes == 1
    assert pull.preview and {"record_id", "action", "outcome"} <= set(pull.preview[0])
    assert not any("@" in str(v) for row in pull.preview for v in row.values())  # no identifiers shown
    assert hub.write(dry_run=True).n_pending == 0
    assert all_text(hub.sessions) == before_store and repr(hub.state.contacts) == before_hub
    assert all(method == "GET" or path == SEARCH for method, path, _ in hub.state.requests[n_requests:])


def test_the_dry_run_command_prints_counts_and_a_table(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add_contacts(12)
    for name, value in {
        "CARELEADS_DATA_DIR": str(hub.settings.data_dir),
        "CARELEADS_DATABASE_URL": hub.settings.database_url,
        "CARELEADS_HUBSPOT_TOKEN": TOKEN,
        "CARELEADS_HUBSPOT_BASE_URL": hub.server.url,
    }.items():
        monkeypatch.setenv(name, value)
    _register()
    result = CliRunner().invoke(app, ["sync", "hubspot", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "12 leads to create" in result.output and "1000" in result.output
    assert hub.count(Lead) == 0 and hub.count(CrmCursor) == 0
    assert not [p for m, p, _ in hub.state.requests if m == "POST" and p != SEARCH]


def test_write_back_sends_owner_ids_never_names_and_creates_its_properties(hub: Hub) -> None:
    hub.add_contacts(40)
    hub.pull()
    report = hub.write()
    assert report.n_written == 40
    assert {"careleads_score", "careleads_tier", "careleads_top_reasons"} <= set(hub.state.properties)
    assert (
        hub.state.properties["careleads_score"]["groupName"] == "careleads"
        and "careleads" in hub.state.groups
    )
    owner_ids = {o["id"] for o in hub.state.owners}
    sent = [
        item["properties"]
        for _m, path, body in hub.state.requests
        if path == UPDATE
        for item in body["inputs"]
    ]
    owners = [p["hubspot_owner_id"] for p in sent if "hubspot_owner_id" in p]
    assert owners and set(owners) <= owner_ids  # ids of HubSpot owners, never careleads names
    assert not any(name in str(p.get("hubspot_owner_id")) for p in sent for name in OWNERS)
    first = sent[0]
    assert int(first["careleads_score"]) >= 0 and first["careleads_tier"] and first["careleads_route"]
    assert ":" in first["careleads_top_reasons"]  # a reason with its value


def test_per_record_errors_are_reported_and_retried_next_run(
    any_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = any_hub
    caplog.set_level("INFO", logger="careleads")
    hub.add_contacts(20)
    hub.pull()
    hub.state.refused_ids = {"1003", "1007"}
    report = hub.write()
    assert report.n_written == 18 and report.n_failed == 2
    assert {(e.record_id, e.status) for e in report.errors} == {("1003", "error"), ("1007", "error")}
    assert all(e.lead_id is not None for e in report.errors)
    assert "not written" in caplog.text  # logged by lead id; no record id, name or e-mail
    assert "1003" not in caplog.text and "@" not in caplog.text and "Test Person" not in caplog.text
    hub.state.refused_ids = set()
    again = hub.write()
    assert (again.n_pending, again.n_written) == (2, 2)
    assert set(hub.state.updates.values()) == {1}


def test_an_expired_token_stops_at_once(hub: Hub) -> None:
    hub.add_contacts(3)
    hub.state.expired_tokens = {"expired-token"}
    with pytest.raises(HubSpotAuthError, match="expired or revoked"):
        hub.pull(api=hub.api(token="expired-token"))
    assert len(hub.state.requests) == 1 and hub.count(Lead) == 0
    with pytest.raises(HubSpotAuthError, match="CARELEADS_HUBSPOT_TOKEN"):
        hub.api(token="")


def test_429_waits_retry_after_and_5xx_backs_off_doubling(hub: Hub) -> None:
    hub.add_contacts(2)
    hub.state.faults.extend([Fault(SEARCH, 429, count=1, retry_after=3.0), Fault(SEARCH, 500, count=2)])
    hub.pull()
    assert hub.waits == [3.0, 0.01, 0.02]
    assert hub.count(Lead) == 2


def test_the_search_cap_restarts_the_query_from_the_last_change(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import _hubspot_server
    import careleads.connectors._sync as sync

    # HubSpot pages through at most 10,000 results a query; the same rule at 50 keeps the test small
    monkeypatch.setattr(_hubspot_server, "SEARCH_CAP", 50)
    monkeypatch.setattr(sync, "SEARCH_RESULTS_LIMIT", 50)
    hub.add_contacts(120)
    report = hub.pull(page_size=20)
    assert report.n_created == 120 and hub.count(Lead) == 120
    searches = [body for _m, path, body in hub.state.requests if path == SEARCH]
    assert sum(1 for body in searches if not body.get("after")) >= 3  # the query was asked again

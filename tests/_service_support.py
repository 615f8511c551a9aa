"""Shared helpers of the store and API tests: backends, a trained model, an app with one token per role.

Imported by the test modules (``from _service_support import ...``); pytest puts this folder on sys.path.
The store and API tests run on SQLite always and on PostgreSQL too when ``CARELEADS_DATABASE_URL`` points at
one (each test gets an empty ``public`` schema there).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from careleads.app import create_app
from careleads.config import read_config_text
from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import DAY_ONE_HOURS, Target
from careleads.models import LeadModel, ModelRegistry, train_model
from careleads.service.context import ServiceContext
from careleads.service.users import ROLES, create_token, create_user
from careleads.settings import Settings
from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade
from careleads.synth import SyntheticData, generate

PG_URL = os.environ.get("CARELEADS_DATABASE_URL", "")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL.startswith("postgresql"), reason="CARELEADS_DATABASE_URL is not a PostgreSQL URL"
            ),
        ],
    ),
]

LEAD: dict[str, Any] = {
    "lead_id": "CRM-1001",
    "created_at": "2025-03-04T10:00:00",
    "lead_type": "patient",
    "service_line": "Ortho",
    "source": "Doctor referral",
    "landing_page": "service_page",
    "region": "north",
    "insurance": "PPO",
    "preferred_contact": "phone",
    "consent_marketing": True,
    "consent_sms": False,
    "inquiry_type": "scheduling",
    "intake_urgency": "soon",
    "full_name": "Rosalind Quackenbush",
    "email": "rosalind.quackenbush@example.org",
    "phone": "(555) 246-8135",
    "question": "This is Rosalind Quackenbush, my knee hurts on stairs; call me at 555-246-8135 please",
    "age": 47,
    "sex": "F",
}
#: strings of LEAD that must never appear in clear outside the encrypted column (or after erasure, anywhere)
IDENTIFIERS: tuple[str, ...] = (
    "CRM-1001",
    "Rosalind",
    "Quackenbush",
    "rosalind.quackenbush@example.org",
    "246-8135",
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_pids(pid: int) -> set[int]:
    """The process ids of the children of process `pid` (from /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text(encoding="utf-8").split())
    return found


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie has ended; only its exit status waits to be read)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def reset_postgres(url: str) -> None:
    """Give the PostgreSQL database an empty public schema."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


#: the reviewer of the test apps (``start_service``): a member of every queue of :func:`reviewer_routing`
REVIEWER = "reviewer-user"


def reviewer_routing(folder: Path, members: tuple[str, ...] = (REVIEWER,)) -> Path:
    """The shipped routing with `members` added to every queue (reviewers see only the queues they work);
    written to `folder`/routing.yaml."""
    text, _source = read_config_text(None, shipped="routing.yaml")
    doc = yaml.safe_load(text)
    for queue in doc["queues"].values() if members else ():
        queue["members"] = list(members)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "routing.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def make_settings(tmp_path: Path, backend: str, **overrides: Any) -> Settings:
    """Settings for one test: files under `tmp_path`, the database of `backend` (empty), and the shipped
    routing with the test reviewer a member of every queue (``routing_file=None``: the shipped routing)."""
    data_dir = tmp_path / "data"
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "analytics_flush_rows": 1,
        # no writer thread beside the test's requests: FastAPI builds routes lazily inside
        # warnings.catch_warnings(), which is not thread-safe, and warnings are errors here
        "analytics_background": False,
        "database_url": f"sqlite:///{data_dir / 'careleads.db'}",
    }
    if backend == "postgres":
        reset_postgres(PG_URL)
        values["database_url"] = PG_URL
    if "routing_file" not in overrides:
        values["routing_file"] = reviewer_routing(tmp_path / "routing")
    values.update(overrides)
    return Settings(**values)


@dataclass
class Service:
    """A running app (TestClient), its context and session factory, and one token per role."""

    client: TestClient
    ctx: ServiceContext
    sessions: sessionmaker[Session]
    settings: Settings
    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def __repr__(self) -> str:  # short, for hypothesis's falsifying examples
        return f"Service({self.settings.database_url.split(':')[0]})"


def start_service(settings: Settings) -> Iterator[Service]:
    """Migrate, build the app, add one user and token per role; yields a Service (closes the client)."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    tokens: dict[str, str] = {}
    with session_scope(app.state.sessions) as session:
        for role in ROLES:
            create_user(session=session, name=f"{role}-user", role=role)
            tokens[role] = create_token(session=session, user_name=f"{role}-user")
    with TestClient(app) as client:
        yield Service(
            client=client, ctx=app.state.ctx, sessions=app.state.sessions, settings=settings, tokens=tokens
        )


_CACHE: dict[str, Any] = {}


def trained_model() -> LeadModel:
    """A small model (simulated 4,000 leads), trained once per test session."""
    if "model" not in _CACHE:
        data = generate(4000, seed=1)
        folder = Path(tempfile.mkdtemp(prefix="careleads-svc-model-"))
        data.write(folder)
        tables = load_crm_folder(folder)
        dataset = tables.dataset(Target(), data_end=data.end)
        # time_split compares asi8 with Timestamp.value: keep scoring moments in nanoseconds
        dataset = dataclasses.replace(dataset, as_of=dataset.as_of.astype("datetime64[ns]"))
        _CACHE["model"] = train_model(dataset, seed=0).model
        _CACHE["dataset"] = dataset
    model: LeadModel = _CACHE["model"]
    return model


def day_one_data() -> tuple[SyntheticData, CrmTables]:
    """The simulated export of the session's day-one model (4,000 leads, with the oracle) and its tables."""
    if "day_one_data" not in _CACHE:
        folder = Path(tempfile.mkdtemp(prefix="careleads-svc-day-one-"))
        data = generate(4000, seed=1)
        data.write(folder)
        _CACHE["day_one_data"] = (data, load_crm_folder(folder))
    found: tuple[SyntheticData, CrmTables] = _CACHE["day_one_data"]
    return found


def trained_day_one_model() -> LeadModel:
    """A day-one model (each lead at arrival, after its events, at 24 h), as `careleads train` builds it."""
    if "day_one_model" not in _CACHE:
        data, tables = day_one_data()
        dataset = tables.dataset(Target(), data_end=data.end, day_one_hours=DAY_ONE_HOURS)
        _CACHE["day_one_model"] = train_model(dataset, seed=0).model
    model: LeadModel = _CACHE["day_one_model"]
    return model


def training_dataset() -> Any:
    """The data set the session model was trained on (for retraining with feedback)."""
    trained_model()
    return _CACHE["dataset"]


def publish(settings: Settings, model: LeadModel) -> str:
    """Register and publish `model` in the settings' registry; returns its version."""
    registry = ModelRegistry(settings.registry_path())
    version = registry.register(model)
    registry.publish(version, actor="test")
    return version


def all_text(sessions: sessionmaker[Session]) -> str:
    """Every value of every table, as one text (to search for identifiers)."""
    from careleads.store import Base

    parts: list[str] = []
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()).all():
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


class Store:
    """A migrated store and a service context bound to it (``engine``, ``sessions``, ``ctx``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.ctx = ServiceContext.from_settings(settings)
        self.ctx.bind(self.sessions)

"""The operational store on SQLite and PostgreSQL: migrations, storage by sensitivity, idempotency, ledger,
transactions, users and tokens, feedback as training rows."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from _service_support import BACKENDS, IDENTIFIERS, LEAD, Store, all_text, make_settings
from careleads.errors import InputError, NotFoundError
from careleads.service.context import ServiceContext
from careleads.service.feedback import add_feedback, feedback_training_rows
from careleads.service.leads import LeadValidationError, create_lead, ledger, record_event, redact_known
from careleads.service.users import authenticate, create_token, create_user
from careleads.settings import Settings
from careleads.store import (
    ApiToken,
    Event,
    Lead,
    OutboxRecord,
    ScoreEntry,
    current_revision,
    head_revision,
    make_engine,
    make_sessionmaker,
    session_scope,
    upgrade,
)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store(make_settings(tmp_path, request.param))
    yield s
    s.engine.dispose()


def _event(n: int, kind: str = "page_view", **extra: str) -> dict[str, str]:
    return {"event_id": f"E{n}", "occurred_at": f"2025-03-04T1{n}:00:00", "event_type": kind, **extra}


def test_migrations_reach_head_and_are_idempotent(store: Store) -> None:
    assert current_revision(store.engine) == head_revision(store.engine) == "0013"
    assert upgrade(store.engine) == "0013"


def test_migrated_schema_matches_the_models(store: Store) -> None:
    # every table, column and index of the models (the assignment indexes of 0002 included) is migrated
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from careleads.store._models import Base

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_identifiers_are_encrypted_and_free_text_redacted(store: Store) -> None:
    with session_scope(store.sessions) as session:
        result = create_lead(session=session, ctx=store.ctx, lead_in=LEAD, actor="t", role="integration")
        lead_id = result.lead.id
    text = all_text(store.sessions)
    for value in ("Rosalind", "rosalind.quackenbush@example.org", "246-8135"):
        assert value not in text
    with store.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.identifier_fields == ["email", "full_name", "phone"]
        assert json.loads(store.ctx.cipher.decrypt(str(lead.identifiers)))["full_name"] == LEAD["full_name"]
        assert lead.texts is not None and "[PHONE]" in lead.texts["question"]
        assert lead.fields["service_line"] == "orthopedics"  # normalised by the dictionary
        assert "question" not in lead.fields and "full_name" not in lead.fields


def test_create_is_idempotent_on_the_external_id(store: Store) -> None:
    with session_scope(store.sessions) as session:
        first = create_lead(session=session, ctx=store.ctx, lead_in=LEAD, actor="t", role="integration")
    with session_scope(store.sessions) as session:
        again = create_lead(session=session, ctx=store.ctx, lead_in=LEAD, actor="t", role="integration")
    assert first.created and not again.created
    assert again.lead.id == first.lead.id and again.entry.id == first.entry.id
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxRecord)) == 1


def test_dictionary_rejections_name_each_field(store: Store) -> None:
    # an unreadable time and a missing id refuse the record (nothing alarming in its text); an out-of-range
    # distance alone would only be flagged
    bad = {**LEAD, "lead_id": None, "created_at": "yesterday", "distance_km": -4}
    with pytest.raises(LeadValidationError) as caught, session_scope(store.sessions) as session:
        create_lead(session=session, ctx=store.ctx, lead_in=bad, actor="t", role="integration")
    fields = {p["field"] for p in caught.value.problems}
    assert fields == {"created_at", "lead_id"}


def test_events_are_idempotent_and_the_ledger_grows_only_on_change(store: Store) -> None:
    with session_scope(store.sessions) as session:
        lead_id = create_lead(
            session=session, ctx=store.ctx, lead_in=LEAD, actor="t", role="integration"
        ).lead.id
    results = []
    for n, kind in enumerate(["call_request", "call_request", "email_open"], start=1):
        with session_scope(store.sessions) as session:
            results.append(
                record_event(
                    session=session,
                    ctx=store.ctx,
                    lead_id=lead_id,
                    event_in=_event(n, kind),
                    actor="t",
                    role="t",
                )
            )
    with session_scope(store.sessions) as session:
        repeat = record_event(
            session=session,
            ctx=store.ctx,
            lead_id=lead_id,
            event_in=_event(1, "call_request"),
            actor="t",
            role="t",
        )
    assert not repeat.event_created and not repeat.ledger_changed
    with store.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        entries = ledger(session=session, lead=lead)
        n_events = session.scalar(select(func.count()).select_from(Event))
        n_outbox = session.scalar(select(func.count()).select_from(OutboxRecord))
    assert n_events == 3
    assert len(entries) == 1 + sum(r.ledger_changed for r in results)
    assert n_outbox == len(entries)  # one write-back record per ledger entry
    # consecutive entries always differ in score, tier or route
    for before, after in zip(entries, entries[1:], strict=False):
        assert (before.score, before.tier, before.route["name"]) != (
            after.score,
            after.tier,
            after.route["name"],
        )


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError), session_scope(store.sessions) as session:
        create_lead(session=session, ctx=store.ctx, lead_in=LEAD, actor="t", role="integration")
        record_event(session=session, ctx=store.ctx, lead_id=99999, event_in=_event(1), actor="t", role="t")
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0
        assert session.scalar(select(func.count()).select_from(ScoreEntry)) == 0
    assert store.ctx.analytics.files() == []  # analytics rows are written only after a commit


def test_tokens_are_stored_hashed_and_authenticate(store: Store) -> None:
    with session_scope(store.sessions) as session:
        create_user(session=session, name="ana", role="analyst")
        token = create_token(session=session, user_name="ana")
    with session_scope(store.sessions) as session:
        user = authenticate(session=session, token=token)
        assert user is not None and user.role == "analyst"
        assert authenticate(session=session, token=token + "x") is None
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in all_text(store.sessions)
    assert len(stored) == 1 and len(stored[0]) == 64
    with pytest.raises(InputError, match="unknown role"), session_scope(store.sessions) as session:
        create_user(session=session, name="x", role="superuser")


def test_feedback_becomes_training_rows(store: Store) -> None:
    labels = ["scheduled", "not_a_fit", "unreachable", "follow_later"]
    ids = []
    for n, label in enumerate(labels):
        with session_scope(store.sessions) as session:
            lead_in = {**LEAD, "lead_id": f"F{n}"}
            lead_id = create_lead(
                session=session, ctx=store.ctx, lead_in=lead_in, actor="t", role="t"
            ).lead.id
            add_feedback(
                session=session,
                ctx=store.ctx,
                lead_id=lead_id,
                label=label,
                note=None,
                reviewer="r",
                role="reviewer",
            )
            ids.append(lead_id)
    with store.sessions() as session:
        X, y = feedback_training_rows(session=session)
    assert y.tolist() == [1, 0, 0]  # follow_later says nothing about conversion
    assert X["has_phone"].tolist() == [1.0, 1.0, 1.0]
    assert X["service_line"].tolist() == ["orthopedics"] * 3
    assert {"n_events", "hours_since_last_event"} <= set(X.columns)


def test_identifier_constants_cover_the_lead() -> None:
    # the erasure and privacy tests search for these: they must be in the lead
    flat = json.dumps(LEAD)
    assert all(value in flat for value in IDENTIFIERS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_analytics_written_in_the_background_lose_nothing_can_be_erased_and_are_decoded_by_the_writer(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row reaches a part but the erased lead's; the service's process only moves the stored rows'
    text to the writer process (which runs at a lower priority): decoding a batch there held the
    interpreter (and, on SQLite, the writer lock) while requests waited."""
    from careleads.service import analytics

    decoded: list[object] = []
    restored = analytics._restored
    monkeypatch.setattr(analytics, "_restored", lambda value: decoded.append(value) or restored(value))
    store = Store(make_settings(tmp_path, backend, analytics_flush_rows=2))
    store.ctx.analytics.background = True
    store.ctx.analytics.start()
    store.ctx.analytics.wait_started()  # the writer process is up and has imported its libraries
    try:
        writer = store.ctx.analytics._writer
        assert writer is not None  # and it yields the cores to the service's requests
        assert writer.submit(os.nice, 0).result() == min(os.nice(0) + analytics.WRITER_NICENESS, 19)
        keys = []
        for i in range(7):
            with session_scope(store.sessions) as session:
                lead = {**LEAD, "lead_id": f"BG-{i}"}
                result = create_lead(session=session, ctx=store.ctx, lead_in=lead, actor="t", role="t")
                keys.append(result.lead.pseudonym)
        with session_scope(store.sessions) as session:  # a part being written now is cleaned when settled
            erased = store.ctx.analytics.erase(session, keys[0])
        store.ctx.analytics.close()  # waits for the background writer, then writes the rest
        rows = store.ctx.analytics.read()
        assert erased == 1 and sorted(rows["lead_key"]) == sorted(keys[1:])
        assert store.ctx.analytics.waiting() == 0
        assert not list((store.settings.analytics_path() / "scores").glob("*.tmp"))
        assert decoded == [], "the service's process decoded outbox rows"
    finally:
        store.ctx.analytics.close()
        store.engine.dispose()


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_claimed_rows_text_decodes_to_the_row_that_was_stored(
    store: Store, tmp_path: Path, data: st.DataObject
) -> None:
    """Any row (times with and without offsets, dates, missing and non-finite numbers, nested lists, any
    text) read back as the table's JSON text by a drain is the row the store's JSON column gives back."""
    from sqlalchemy import delete

    from careleads.service.analytics import AnalyticsRow, AnalyticsWriter, decode_row, pending_row
    from careleads.store import AnalyticsPending

    instants = st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.none() | st.just(UTC)
    )
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
        | instants
        | st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
    )
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
    names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
    row = AnalyticsRow(
        lead_key=data.draw(st.text(alphabet="0123456789abcdef", min_size=8, max_size=64)),
        lead_fields=data.draw(st.dictionaries(names, values, max_size=6)),
        events=data.draw(st.lists(st.dictionaries(names, values, max_size=3), max_size=3)),
        as_of=data.draw(instants),
        outputs=data.draw(st.dictionaries(names, scalars, max_size=4)),
    )
    with session_scope(store.sessions) as session:  # one row in the table: this example's
        session.execute(delete(AnalyticsPending))
        session.add(pending_row(row, datetime(2025, 1, 1)))
    claimed = AnalyticsWriter(tmp_path, spec=store.ctx.analytics.spec)._claim(store.sessions)
    assert claimed is not None and len(claimed[1]) == 1
    with store.sessions() as session:
        stored = session.scalars(select(AnalyticsPending.row)).one()
    assert decode_row(*claimed[1][0]) == decode_row(row.lead_key, stored)


def test_a_leads_own_identifiers_are_redacted_from_its_texts_in_any_case() -> None:
    identifiers = {
        "full_name": "Rosalind O'Quack-Enbush",
        "email": "ro.q@example.org",
        "phone": "555 246 8135",
    }
    texts = [
        "ROSALIND here, write to RO.Q@EXAMPLE.ORG; o'quack-enbush is my name. Rosalinda is my aunt.",
        None,
        "nothing of hers",
    ]
    out = redact_known(texts, identifiers)
    assert out[1] is None and out[2] == "nothing of hers"
    assert "osalind here" not in str(out[0]) and "EXAMPLE" not in str(out[0]) and "enbush" not in str(out[0])
    assert "Rosalinda is my aunt" in str(out[0])  # whole words only
    assert str(out[0]).count("[EMAIL]") == 1 and str(out[0]).count("[NAME]") == 2


def _create_leads(settings: Settings, prefix: str, n: int) -> int:
    """Create `n` leads in this process (for the worker-process test)."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    for i in range(n):
        with session_scope(sessions) as session:
            lead = {**LEAD, "lead_id": f"{prefix}-{i}"}
            create_lead(session=session, ctx=ctx, lead_in=lead, actor=prefix, role="integration")
    engine.dispose()
    return n


def test_worker_processes_share_one_sqlite_file_without_losing_a_write(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from careleads.service.audit import verify_audit

    store = Store(make_settings(tmp_path, "sqlite"))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_create_leads, [store.settings] * 2, ["W1", "W2"], [25, 25]))
    assert done == [25, 25]
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 50
        assert session.scalar(select(func.count()).select_from(ScoreEntry)) == 50
        assert verify_audit(session=session).ok  # one chain, no entry chained twice
    assert Path(f"{store.settings.database_url.removeprefix('sqlite:///')}-writer.lock").exists()
    store.engine.dispose()


def test_a_failed_statement_never_carries_the_values_it_was_given(store: Store) -> None:
    """A database error's message (what a traceback in a log shows) names the statement, not the values:
    a lead's email or message must never reach a log through an error."""
    from sqlalchemy.exc import SQLAlchemyError

    secret = "maria.lopez@example.org"
    with pytest.raises(SQLAlchemyError) as raised, store.sessions() as session:
        session.execute(text("SELECT * FROM no_such_table WHERE email = :email"), {"email": secret})
    assert "no_such_table" in str(raised.value) and secret not in str(raised.value)


@pytest.mark.parametrize("ending", ["commit", "rollback", "error", "returned open"])
def test_the_writer_lock_is_held_until_the_database_has_ended_the_transaction(
    tmp_path: Path, ending: str
) -> None:
    """Another process may start writing only once SQLite has committed or rolled back: let in earlier, it
    finds SQLite's own lock taken and its busy handler sleeps with the lock idle. At the moment SQLAlchemy
    ends the transaction (its ``commit``/``rollback`` events, before the database does), the file lock
    between processes must still be held."""
    import fcntl
    import os

    from sqlalchemy import event

    from careleads.store import make_engine

    database = tmp_path / "e.db"
    engine = make_engine(f"sqlite:///{database}", lock_seconds=0.2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    seen: list[str] = []

    def at_end(_connection: object) -> None:
        other = os.open(f"{database}-writer.lock", os.O_RDWR)  # another process's view of the lock
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_UN)
            seen.append("free")
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(other)

    event.listen(engine, "commit", at_end)
    event.listen(engine, "rollback", at_end)
    if ending == "commit":
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    elif ending == "rollback":
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.rollback()
    elif ending == "error":
        with pytest.raises(ZeroDivisionError), engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            _ = 1 / 0
    else:  # closed with the transaction open: rolled back as it closes
        connection = engine.connect()
        connection.execute(text("INSERT INTO t VALUES (1)"))
        connection.close()
    assert seen == ["held"]
    with engine.begin() as connection:  # and it was let go afterwards: the next writer gets in
        connection.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()


@pytest.mark.parametrize("pages", [1_200, 3_000])
def test_a_commit_leaves_the_log_to_the_checkpoint_thread(tmp_path: Path, pages: int) -> None:
    """SQLite's own checkpoint ran inside the commit that filled the log (past 1,000 pages), holding the
    writer lock while it wrote the database file and synced it, and every other writer waited. The commit
    now leaves the database file as it was; the checkpoint thread copies the log afterwards, and an
    erasure's ``clear_wal`` still empties the log."""
    import os
    import time

    from careleads.store import _engine, clear_wal

    path = tmp_path / "log.db"
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    try:
        with session_scope(sessions) as session:
            session.execute(text("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB)"))
        with _engine._CHECKPOINTERS[engine].lock:  # the thread cannot copy the log now
            before = path.stat().st_size
            with session_scope(sessions) as session:  # a row a page
                rows = [{"body": os.urandom(3_000)} for _ in range(pages)]
                session.execute(text("INSERT INTO pages (body) VALUES (:body)"), rows)
            assert path.stat().st_size == before, "the commit wrote the log into the database file"
        deadline = time.monotonic() + 30
        while path.stat().st_size < pages * 3_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= pages * 3_000, "the checkpoint thread did not copy the log"
        assert clear_wal(engine) and Path(f"{path}-wal").stat().st_size == 0
    finally:
        engine.dispose()


def test_the_log_starts_over_while_writers_never_stop(tmp_path: Path) -> None:
    """A checkpoint that never stops a writer never copies the log to its end while writes go on, and such
    a log never starts over: under load it grew by hundreds of megabytes a minute. The thread's second,
    short pass with the writer lock held lets it start over."""
    import time

    from careleads.store import _engine

    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        session.execute(text("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB)"))
    written = 0
    stop = time.monotonic() + 4 * _engine.CHECKPOINT_SECONDS
    try:
        while time.monotonic() < stop:  # a writer that never pauses: the lock is free only between commits
            with session_scope(sessions) as session:
                session.execute(text("INSERT INTO pages (body) VALUES (randomblob(3000))"))
            written += 1
        _busy, log, _copied = _engine._CHECKPOINTERS[engine].checkpoint(engine, "PASSIVE")
        assert written > 3 * _engine._RESTART_PAGES, "too few writes to test"
        # each commit adds two pages or more: a log that never started over holds at least twice `written`
        assert log < written, f"the log holds {log} pages after {written} commits: it never started over"
    finally:
        engine.dispose()


def test_a_writer_lock_held_by_another_process_ends_the_wait_with_an_error(tmp_path: Path) -> None:
    import fcntl
    import os

    from sqlalchemy.exc import OperationalError

    from careleads.store import make_engine

    database = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{database}", lock_seconds=0.2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    # another open file description of the lock file stands for another careleads process holding it
    holder = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(OperationalError, match="locked for over 0.2 s"), engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    with engine.begin() as connection:  # free again: the lock and the connection were given back
        connection.execute(text("INSERT INTO t VALUES (2)"))
        assert connection.execute(text("SELECT x FROM t")).scalars().all() == [2]
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_leads_stored_before_0008_take_their_creator_from_the_audit_log(backend: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, backend)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine, "0005")
        with engine.begin() as connection:
            for n, actor in ((1, "crm-one"), (2, "crm-two")):
                connection.execute(
                    text(
                        "INSERT INTO leads (id, pseudonym, identifier_fields, fields, created_at, "
                        "received_at, erased) VALUES (:id, :p, '[]', '{}', :at, :at, false)"
                    ),
                    {"id": n, "p": f"p{n}", "at": "2025-03-04 10:00:00"},
                )
                connection.execute(
                    text(
                        "INSERT INTO audit_log (id, at, actor, role, action, subject, details, prev_hash, "
                        "hash) VALUES (:id, '2025-03-04T10:00:00', :actor, 'integration', 'lead.create', "
                        ":subject, '{}', '', '')"
                    ),
                    {"id": n, "actor": actor, "subject": f"lead:{n}"},
                )
        assert upgrade(engine, "0008") == "0008"
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, created_by FROM leads ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "crm-one"), (2, "crm-two")]
    finally:
        engine.dispose()


def test_a_part_interrupted_by_a_crash_or_an_erasure_is_finished_without_loss_repeat_or_erased_rows(
    store: Store,
) -> None:
    """The writer claims rows, writes their part, then deletes them: a crash between the write and the
    delete is finished by the next drain without writing the rows twice, and an erasure that lands while the
    part is being written leaves none of the lead's rows in it."""
    from careleads.service.analytics import AnalyticsWriter
    from careleads.service.erasure import erase_lead

    writer = store.ctx.analytics
    writer.flush_rows = 10**6  # the rows wait in the store
    ids = []
    for i in range(4):
        with session_scope(store.sessions) as session:
            result = create_lead(
                session=session, ctx=store.ctx, lead_in={**LEAD, "lead_id": f"P-{i}"}, actor="t", role="t"
            )
            ids.append((result.lead.id, result.lead.pseudonym))
    claimed = writer._claim(store.sessions)  # a drain claims the rows and writes their part ...
    assert claimed is not None and len(claimed[1]) == 4
    writer._write(*claimed)
    # ... and the process dies before it deletes them; the next process (its own writer) finishes the part
    restarted = AnalyticsWriter(writer.folder, spec=writer.spec)
    restarted.attach(store.sessions)
    assert restarted.flush() == 4 and restarted.waiting() == 0
    assert sorted(restarted.read()["lead_key"]) == sorted(key for _, key in ids)
    for i in range(4, 6):
        with session_scope(store.sessions) as session:
            result = create_lead(
                session=session, ctx=store.ctx, lead_in={**LEAD, "lead_id": f"P-{i}"}, actor="t", role="t"
            )
            ids.append((result.lead.id, result.lead.pseudonym))
    claimed = writer._claim(store.sessions)
    assert claimed is not None and len(claimed[1]) == 2
    with session_scope(store.sessions) as session:  # erased after the claim, before the part is on disk
        report = erase_lead(session=session, ctx=store.ctx, lead_id=ids[4][0], actor="t", role="admin")
    assert report.n_analytics_rows == 1
    writer._write(*claimed)  # the part, as claimed, holds the erased lead's row ...
    assert writer._settle(store.sessions, claimed[0], len(claimed[1])) == 1  # ... which settling removes
    keys = list(writer.read()["lead_key"])
    assert ids[4][1] not in keys and ids[5][1] in keys and len(keys) == 5


def test_a_drain_with_nothing_erased_does_not_read_its_part_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careleads.service.analytics import AnalyticsWriter

    writer = store.ctx.analytics
    writer.flush_rows = 10**6  # the rows wait in the store
    for i in range(3):
        with session_scope(store.sessions) as session:
            create_lead(
                session=session, ctx=store.ctx, lead_in={**LEAD, "lead_id": f"D-{i}"}, actor="t", role="t"
            )
    rewritten: list[Path] = []
    rewrite = AnalyticsWriter._rewrite
    monkeypatch.setattr(
        AnalyticsWriter,
        "_rewrite",
        staticmethod(lambda path, keep: rewritten.append(path) or rewrite(path, keep)),
    )
    assert writer.flush() == 3 and writer.waiting() == 0
    assert rewritten == [] and len(writer.read()) == 3


@pytest.mark.parametrize(("flush_rows", "arriving"), [(2, 1), (3, 2), (5, 1), (5, 4)])
def test_rows_that_arrive_while_a_part_is_written_wait_for_a_part_of_their_own_size(
    tmp_path: Path, flush_rows: int, arriving: int
) -> None:
    """A drain started by the commits writes parts of at least ``flush_rows`` rows: leads that arrive while
    it writes a part (fewer than ``flush_rows``) wait in the store for the next drain instead of becoming a
    part of their own, so a steady stream of leads never becomes a stream of tiny parts."""
    from careleads.service.analytics import AnalyticsWriter

    store = Store(make_settings(tmp_path, "sqlite", analytics_flush_rows=flush_rows))
    writer = store.ctx.analytics
    made = iter(range(1000))

    def create() -> None:
        with session_scope(store.sessions) as session:
            lead = {**LEAD, "lead_id": f"S-{next(made)}"}
            create_lead(session=session, ctx=store.ctx, lead_in=lead, actor="t", role="integration")

    write = AnalyticsWriter._write
    parts: list[int] = []

    def write_while_leads_arrive(self: AnalyticsWriter, name: str, rows: list[object]) -> None:
        parts.append(len(rows))
        if len(parts) == 1:
            for _ in range(arriving):  # other requests commit while the part is being written
                create()
        write(self, name, rows)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AnalyticsWriter, "_write", write_while_leads_arrive)
        for _ in range(flush_rows):
            create()
    assert parts == [flush_rows] and writer.waiting() == arriving
    assert writer.flush() == arriving and writer.waiting() == 0  # an explicit flush writes every row
    assert len(writer.read()) == flush_rows + arriving
    store.engine.dispose()

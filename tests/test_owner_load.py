"""Owners' open loads (``owner_loads``) equal the open review tasks they count, on SQLite and PostgreSQL:
after a generated mix of opens, closes, moves and erasures through the service, under concurrent writers
(also ones that change two owners' loads in opposite orders), after a rollback, when many leads are
assigned in one transaction, and when the migration fills them from the tasks already stored."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from _service_support import BACKENDS, Store, make_settings
from careleads.service.context import ServiceContext
from careleads.service.erasure import erase_lead
from careleads.service.feedback import add_feedback
from careleads.service.leads import create_lead, record_event
from careleads.service.route_choices import queue_fits
from careleads.store import (
    OPEN,
    Lead,
    OwnerLoad,
    ReviewTask,
    close_open_tasks,
    insert_row,
    make_engine,
    make_sessionmaker,
    open_loads,
    pending_loads,
    session_scope,
    shift_load,
    upgrade,
)
from careleads.synth import generate

URGENT = "Crushing chest pain spreading to my left arm since this morning"
START = datetime(2025, 3, 3, 9, 0)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store(make_settings(tmp_path, request.param))
    yield s
    s.engine.dispose()


@pytest.fixture(params=[p for p in BACKENDS if p.id == "postgres"])
def pg_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store(make_settings(tmp_path, request.param))
    yield s
    s.engine.dispose()


def true_loads(session: Session) -> dict[str, int]:
    """Open tasks per owner, counted from the tasks themselves."""
    rows = session.execute(select(ReviewTask.status, ReviewTask.owner)).all()
    return dict(Counter(owner for status, owner in rows if status == "open" and owner))


def kept_loads(session: Session) -> dict[str, int]:
    """The loads as kept in ``owner_loads`` (owners at zero left out)."""
    return {owner: n for owner, n in session.execute(select(OwnerLoad.owner, OwnerLoad.n_open)) if n}


def open_task(session: Session, lead_id: int) -> tuple[str, str | None] | None:
    """The lead's open task as ``(queue, owner)``; None when it has none."""
    row = session.execute(
        select(ReviewTask.queue, ReviewTask.owner).where(
            ReviewTask.lead_id == lead_id, ReviewTask.status == "open"
        )
    ).first()
    return None if row is None else (row[0], row[1])


def lead_inputs(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` simulated new leads; every fourth one's question may describe an emergency."""
    rows = generate(max(n, 100), seed=seed, bad_row_rate=0.0).leads.head(n).to_dict("records")
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        lead = {str(k): v for k, v in row.items() if isinstance(v, str) and v and k != "question"}
        lead["lead_id"] = f"L{seed}-{i}"
        if i % 4 == 3:
            lead["question"] = URGENT
        out.append(lead)
    return out


def reroute(ctx: ServiceContext, rng: random.Random, lead_type: Any) -> dict[str, Any]:
    """A reviewer's route change: a staffed queue that fits the lead, one of its owners or none."""
    queues = sorted(
        q
        for q, spec in ctx.routing.queues.items()
        if spec.owners and queue_fits(ctx=ctx, lead_type=lead_type, queue=q)
    )
    queue = rng.choice(queues)
    return {"queue": queue, "owner": rng.choice([None, *ctx.routing.queues[queue].owners])}


def one_step(store: Store, rng: random.Random, step: int, lead_id: int, kind: str) -> None:
    """One change of a lead through the service, in its own transaction."""
    now = START + timedelta(minutes=step)
    with session_scope(store.sessions) as session:
        if kind == "event":
            message = rng.choice([URGENT, None])
            event = {"event_id": f"E{step}", "occurred_at": now.isoformat(), "event_type": "email_open"}
            if message:
                event.update(event_type="email_reply", message_text=message)
            record_event(
                session=session,
                ctx=store.ctx,
                lead_id=lead_id,
                event_in=event,
                actor="t",
                role="integration",
                now=now,
            )
        elif kind in ("confirm", "reroute"):
            lead_type = session.get_one(Lead, lead_id).fields.get("lead_type")
            add_feedback(
                session=session,
                ctx=store.ctx,
                lead_id=lead_id,
                label=rng.choice(["scheduled", "not_a_fit", "wrong_route"]),
                note=rng.choice([None, None, URGENT]),  # an alarming note opens a task again
                reviewer="reviewer-user",
                role="reviewer",
                route_change=reroute(store.ctx, rng, lead_type) if kind == "reroute" else None,
                now=now,
            )
        else:
            erase_lead(
                session=session, ctx=store.ctx, actor="admin-user", role="admin", lead_id=lead_id, now=now
            )


def test_loads_equal_the_open_tasks_after_a_generated_mix(store: Store) -> None:
    rng = random.Random(23)
    leads = iter(lead_inputs(60, seed=4))
    live: list[int] = []
    seen: set[str] = set()
    for step in range(120):
        kind = (
            rng.choice(["create", "create", "event", "event", "confirm", "reroute", "erase"])
            if live
            else "create"
        )
        lead_id: int | None = None if kind == "create" else rng.choice(live)
        with session_scope(store.sessions) as session:
            before = None if lead_id is None else open_task(session, lead_id)
        if lead_id is None:
            with session_scope(store.sessions) as session:
                lead_id = create_lead(
                    session=session,
                    ctx=store.ctx,
                    lead_in=next(leads),
                    actor="t",
                    role="integration",
                    now=START + timedelta(minutes=step),
                ).lead.id
            live.append(lead_id)
        else:
            one_step(store, rng, step, lead_id, kind)
            if kind == "erase":
                live.remove(lead_id)
        with session_scope(store.sessions) as session:
            after = open_task(session, lead_id)
            assert kept_loads(session) == true_loads(session), (step, kind)
        if before is None and after is not None:
            seen.add("opened")
        elif before is not None and after is None:
            seen.add(f"closed by {kind}")
        elif before is not None and after is not None and before[1] != after[1]:
            seen.add(f"moved by {kind}")
    # the mix took every path that changes a task's state or owner
    assert {"opened", "closed by confirm", "closed by reroute", "closed by erase", "moved by event"} <= seen
    with session_scope(store.sessions) as session:
        loads = true_loads(session)
        assert sum(loads.values()) > 5
        assert open_loads(session, [*loads, "nobody"]) == loads


def test_loads_stay_exact_under_concurrent_writers_on_the_same_leads(store: Store) -> None:
    ids = []
    for lead in lead_inputs(12, seed=5):
        with session_scope(store.sessions) as session:
            ids.append(
                create_lead(
                    session=session, ctx=store.ctx, lead_in=lead, actor="t", role="integration"
                ).lead.id
            )
    failures: list[BaseException] = []
    n_done = Counter[str]()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(25):
            kind = rng.choice(["event", "event", "confirm", "reroute"])
            try:
                one_step(store, rng, seed * 1000 + i, rng.choice(ids), kind)
                n_done[kind] += 1
            except OperationalError:  # a lock wait or deadlock the database ended: the request is retried
                n_done["refused"] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert n_done["event"] + n_done["confirm"] + n_done["reroute"] > 80
    with session_scope(store.sessions) as session:
        assert kept_loads(session) == true_loads(session)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_fills_the_loads_from_the_tasks_already_stored(backend: str, tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path, backend).database_url)
    try:
        upgrade(engine, "0012")
        tasks = [
            ("ana", "open"),
            ("ana", "open"),
            ("ana", "done"),
            ("ben", "open"),
            (None, "open"),
            ("cy", "erased"),
        ]
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO leads (id, pseudonym, identifier_fields, fields, created_at, received_at, "
                    "erased) VALUES (1, 'p1', '[]', '{}', :at, :at, false)"
                ),
                {"at": "2025-03-04 10:00:00"},
            )
            for owner, status in tasks:
                connection.execute(
                    text(
                        "INSERT INTO review_tasks (lead_id, queue, owner, tier, tier_rank, urgent, status, "
                        "created_at) VALUES (1, 'q', :owner, 'A', 0, false, :status, :at)"
                    ),
                    {"owner": owner, "status": status, "at": "2025-03-04 10:00:00"},
                )
        assert upgrade(engine) == "0013"
        with Session(engine) as session:
            assert kept_loads(session) == true_loads(session) == {"ana": 2, "ben": 1}
    finally:
        engine.dispose()


def test_a_task_closed_while_another_request_moves_it_is_counted_once(store: Store) -> None:
    for lead in lead_inputs(20, seed=6):
        with session_scope(store.sessions) as session:
            created = create_lead(session=session, ctx=store.ctx, lead_in=lead, actor="t", role="integration")
            if created.entry.review_required and created.entry.route.get("kind") != "clinical":
                lead_id, owner = created.lead.id, created.entry.route.get("owner")
                break
    closing = store.sessions()  # a reviewer's feedback closes the task, not committed yet
    add_feedback(
        session=closing,
        ctx=store.ctx,
        lead_id=lead_id,
        label="scheduled",
        note=None,
        reviewer="reviewer-user",
        role="reviewer",
    )
    failures: list[BaseException] = []

    def move() -> None:  # meanwhile an alarming message re-routes the lead to clinical triage
        try:
            with session_scope(store.sessions) as session:
                event = {"event_id": "E1", "occurred_at": "2025-03-04T12:00:00", "event_type": "email_reply"}
                record_event(
                    session=session,
                    ctx=store.ctx,
                    lead_id=lead_id,
                    event_in={**event, "message_text": URGENT},
                    actor="t",
                    role="integration",
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    mover = threading.Thread(target=move)
    mover.start()
    mover.join(timeout=1.0)  # it waits for the feedback's transaction
    closing.commit()
    closing.close()
    mover.join()
    assert not failures
    with session_scope(store.sessions) as session:
        task = open_task(session, lead_id)
        assert task is not None and task[1] != owner  # a new task, in the clinical queue
        assert kept_loads(session) == true_loads(session)


def new_lead(session: Session, n: int) -> int:
    """A bare lead row (no score, no task); returns its id."""
    lead = Lead(pseudonym=f"p{n}", identifier_fields=[], fields={}, created_at=START, received_at=START)
    insert_row(session, lead)
    return lead.id


def open_task_for(session: Session, lead_id: int, owner: str) -> None:
    """Open a review task of `owner` on the lead and count it, as ``sync_review`` does."""
    task = ReviewTask(lead_id=lead_id, queue="q", owner=owner, tier="A", status=OPEN, created_at=START)
    insert_row(session, task)
    shift_load(session, before=None, after=(OPEN, owner))


def test_transactions_that_change_two_owners_in_opposite_orders_both_commit(pg_store: Store) -> None:
    # each lead's task is held by one owner; each transaction closes it (that owner's load goes down) and,
    # after both have done so, opens a task of the other owner (as feedback that re-opens a task does)
    with session_scope(pg_store.sessions) as session:
        leads = {"ana": new_lead(session, 1), "ben": new_lead(session, 2)}
        for owner, lead_id in leads.items():
            open_task_for(session, lead_id, owner)
    both_closed = threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    def move(first: str, then: str) -> None:
        try:
            with session_scope(pg_store.sessions) as session:
                assert close_open_tasks(session, lead_id=leads[first], status="done", now=START) == 1
                both_closed.wait()
                open_task_for(session, leads[first], then)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [
        threading.Thread(target=move, args=("ana", "ben")),
        threading.Thread(target=move, args=("ben", "ana")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures  # no deadlock: neither transaction was aborted
    with session_scope(pg_store.sessions) as session:
        assert kept_loads(session) == true_loads(session) == {"ana": 1, "ben": 1}


def test_an_open_transaction_holds_no_owner_row_until_it_commits(pg_store: Store) -> None:
    with session_scope(pg_store.sessions) as session:
        first, second = new_lead(session, 1), new_lead(session, 2)
        open_task_for(session, first, "ana")
    waiting = pg_store.sessions()  # opens a task of ana and keeps its transaction open
    other = make_engine(pg_store.settings.database_url, lock_seconds=1)
    try:
        open_task_for(waiting, first, "ana")
        with session_scope(make_sessionmaker(other)) as session:  # not kept waiting for the open transaction
            open_task_for(session, second, "ana")
        waiting.commit()
    finally:
        waiting.close()
        other.dispose()
    with session_scope(pg_store.sessions) as session:
        assert kept_loads(session) == true_loads(session) == {"ana": 3}


def test_a_rollback_drops_the_load_changes_it_gathered(store: Store) -> None:
    with session_scope(store.sessions) as session:
        lead_id = new_lead(session, 1)
        open_task_for(session, lead_id, "ana")
    session = store.sessions()
    try:
        close_open_tasks(session, lead_id=lead_id, status="done", now=START)
        open_task_for(session, lead_id, "ben")
        assert pending_loads(session) == {"ana": -1, "ben": 1}
        assert open_loads(session, ["ana", "ben"]) == {"ben": 1}  # the transaction sees its own changes
        session.rollback()
        assert pending_loads(session) == {}
        assert open_loads(session, ["ana", "ben"]) == {"ana": 1}
        # a savepoint rolled back drops only what was gathered inside it
        open_task_for(session, lead_id, "cy")
        savepoint = session.begin_nested()
        open_task_for(session, lead_id, "dee")
        savepoint.rollback()
        assert pending_loads(session) == {"cy": 1}
        savepoint = session.begin_nested()
        open_task_for(session, lead_id, "eve")
        savepoint.commit()
        session.commit()
        assert pending_loads(session) == {}
    finally:
        session.close()
    with session_scope(store.sessions) as session:
        assert kept_loads(session) == true_loads(session) == {"ana": 1, "cy": 1, "eve": 1}


def test_leads_created_in_one_transaction_are_spread_over_the_owners_within_capacity(store: Store) -> None:
    queue = store.ctx.routing.queues["clinical_triage_line"]
    capacity = sum(queue.capacity[owner] for owner in queue.owners)
    with session_scope(store.sessions) as session:
        for i, lead in enumerate(lead_inputs(capacity + 4, seed=7)):
            create_lead(
                session=session,
                ctx=store.ctx,
                lead_in={**lead, "lead_type": "patient", "question": URGENT},
                actor="t",
                role="integration",
                now=START + timedelta(minutes=i),
            )
    with session_scope(store.sessions) as session:
        tasks = session.execute(
            select(ReviewTask.owner).where(
                ReviewTask.queue == "clinical_triage_line", ReviewTask.status == OPEN
            )
        ).all()
        held = Counter[str | None](owner for (owner,) in tasks)
        full: dict[str | None, int] = {owner: queue.capacity[owner] for owner in queue.owners}
        assert held == {**full, None: 4}  # every owner filled to capacity, no further; the rest wait
        assert kept_loads(session) == true_loads(session)

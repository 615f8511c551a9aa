"""Owners' open load: how many open review tasks each owner holds (``owner_loads``).

The rule is defined here and nowhere else: a review task counts toward its owner's load while it is open
(:func:`holder`; :func:`recount` applies it to every task). Every statement that opens,
closes or moves a task records the change of load in its transaction, through :func:`shift_load` or
:func:`close_open_tasks`, so ``owner_loads`` equals the count of open tasks per owner once the transaction
commits, and picking an owner reads one row per owner of the queue however many tasks are open.

A transaction's changes of load are gathered in its Session (:func:`pending_loads`) and written once, when
the transaction commits: a ``before_commit`` listener on every Session flushes the ORM's pending rows
first and then applies one relative upsert per owner, the owners in sorted order, as the transaction's last
statement. A rollback (of the transaction or of a savepoint) drops the changes gathered in it with
the rows they count. :func:`open_loads` adds the transaction's gathered changes to the stored loads, so
several leads assigned in one transaction see each other.

Concurrent writers stay exact and cannot deadlock on these rows, on SQLite and PostgreSQL:

- a load changes by a relative increment (``n_open + delta``, one upsert, never read-modify-write);
- a task is closed by a conditional UPDATE that returns the owners of the rows it changed, and a task
  that is moved is read with ``FOR UPDATE`` first (which waits for a concurrent close and then no longer
  finds the task open), so each change of a task is counted exactly once;
- a transaction locks owners' rows only at its end, all in one order, and after them only the audit log's
  head row, which every transaction takes last (:mod:`careleads.service.audit`): two transactions wait for
  each other's rows only in that order, never in a cycle, and an owner's row is held only for the commit,
  not while the rest of a request runs.

On SQLite, transactions are serialised anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from careleads.store._gathered import Gathered
from careleads.store._models import OwnerLoad, ReviewTask

__all__ = [
    "OPEN",
    "close_open_tasks",
    "holder",
    "open_loads",
    "pending_loads",
    "recount",
    "shift_load",
]

#: the status of a review task that waits for a person (``done``, ``cancelled``, ``erased``: closed)
OPEN = "open"

TaskState = tuple[str | None, str | None]
"""A review task's ``(status, owner)``."""

#: the transaction's changes of load not written yet
_PENDING: Gathered[Counter[str]] = Gathered("owner_load", empty=Counter, copy=Counter)


def holder(status: str | None, owner: str | None) -> str | None:
    """The owner whose load a task with this `status` and `owner` counts toward: its owner while it is open.

    Examples
    --------
    >>> holder("open", "ana"), holder("done", "ana"), holder("open", None)
    ('ana', None, None)
    """
    return owner if status == OPEN and owner else None


def pending_loads(session: Session) -> Counter[str]:
    """The changes of load the session's transaction gathered and writes when it commits (a copy)."""
    return Counter(_PENDING.peek(session) or ())


def _gather(session: Session, deltas: Counter[str]) -> None:
    _PENDING.add_to(session).update(deltas)


@functools.cache
def _add_statement(table: Table, dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (owner) DO UPDATE SET n_open = n_open + delta``, one object per dialect."""
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = make(table).values(owner=bindparam("owner"), n_open=bindparam("delta"))
    return statement.on_conflict_do_update(
        index_elements=[table.c.owner], set_={"n_open": table.c.n_open + statement.excluded.n_open}
    )


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Write the transaction's changes of load as its last statements (a savepoint's commit: kept for later).

    The ORM's pending rows are flushed first, so no row lock is taken after the owners' rows; the owners
    go in sorted order, so two transactions lock the rows they share alike.
    """
    if session.in_nested_transaction() or not _PENDING.peek(session):
        return
    session.flush()
    pending = _PENDING.take(session) or Counter()
    changes = [{"owner": owner, "delta": n} for owner, n in sorted(pending.items()) if n]
    if changes:
        connection = session.connection()
        table = cast(Table, OwnerLoad.__table__)
        connection.execute(_add_statement(table, connection.dialect.name), changes)


def shift_load(session: Session, *, before: TaskState | None, after: TaskState | None) -> None:
    """Count a task's change from `before` to `after` (``(status, owner)``; None: no task) in the loads.

    Call it in the transaction that writes the change, once per change, with `before` read by a
    ``SELECT ... FOR UPDATE`` (``.with_for_update()``; SQLite ignores it: its transactions are serialised),
    so it is what the database holds until the change commits. The change is written when the transaction
    commits.
    """
    deltas: Counter[str] = Counter()
    old = holder(*before) if before is not None else None
    new = holder(*after) if after is not None else None
    if old is not None:
        deltas[old] -= 1
    if new is not None:
        deltas[new] += 1
    _gather(session, deltas)


def close_open_tasks(session: Session, *, lead_id: int, status: str, now: datetime) -> int:
    """Close the lead's open review tasks with `status` (``done``, ``erased``) and take them off their owners'
    loads (written when the transaction commits); returns how many were closed.

    One conditional UPDATE: a task another transaction closed first is not closed, nor counted, again.
    """
    closed = session.execute(
        update(ReviewTask)
        .where(ReviewTask.lead_id == lead_id, ReviewTask.status == OPEN)
        .values(status=status, closed_at=now)
        .returning(ReviewTask.owner)
    ).all()
    deltas: Counter[str] = Counter()
    for (owner,) in closed:
        old = holder(OPEN, owner)
        if old is not None:
            deltas[old] -= 1
    _gather(session, deltas)
    return len(closed)


_LOADS = select(OwnerLoad.owner, OwnerLoad.n_open).where(
    OwnerLoad.owner.in_(bindparam("owners", expanding=True))
)


def open_loads(session: Session, owners: Iterable[str]) -> dict[str, int]:
    """The open load of each of `owners` that holds a task (one primary-key lookup per owner), as the
    session's transaction sees it: the stored loads and the changes it gathered but has not written yet."""
    names = sorted(set(owners))
    if not names:
        return {}
    stored = session.connection().execute(_LOADS, {"owners": names})  # no autoflush: no row lock taken here
    loads = Counter({str(owner): int(n) for owner, n in stored})
    pending = _PENDING.peek(session)
    if pending:
        loads.update({owner: pending[owner] for owner in names if pending[owner]})
    return {owner: n for owner, n in sorted(loads.items()) if n}


def recount(connection: Connection) -> dict[str, int]:
    """Set every owner's load from the review tasks themselves, by :func:`holder` (the rule, not a copy of
    it in SQL); returns the loads written. For a store whose loads were never kept (migration 0013): the
    tasks are read in batches, two columns each."""
    loads: Counter[str] = Counter()
    read = select(ReviewTask.status, ReviewTask.owner).execution_options(yield_per=10_000)
    tasks = connection.execute(read)
    for status, owner in tasks:
        counted = holder(status, owner)
        if counted is not None:
            loads[counted] += 1
    connection.execute(delete(OwnerLoad))
    if loads:
        connection.execute(insert(OwnerLoad), [{"owner": o, "n_open": n} for o, n in sorted(loads.items())])
    return dict(sorted(loads.items()))

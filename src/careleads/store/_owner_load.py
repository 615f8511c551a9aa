"""Owners' open load: how many open review tasks each owner holds (``owner_loads``).

The rule is defined here and nowhere else: a review task counts toward its owner's load while it is open
(:func:`holder`; :data:`RECOUNT` is the same rule over the whole table). Every statement that opens,
closes or moves a task changes the load in the same transaction, through :func:`shift_load` or
:func:`close_open_tasks`, so ``owner_loads`` equals the count of open tasks per owner, and picking an owner
reads one row per owner of the queue however many tasks are open.

Concurrent writers stay exact on SQLite and PostgreSQL: a load changes by a relative increment (``n_open +
delta``, one upsert, never read-modify-write); a task is closed by a conditional UPDATE that returns the
owners of the rows it changed, and a task that is moved is read with ``FOR UPDATE`` first (which waits
for a concurrent close and then no longer finds the task open), so each change of a task is counted exactly
once. On SQLite, transactions are
serialised anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Executable, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from careleads.store._models import OwnerLoad, ReviewTask

__all__ = [
    "OPEN",
    "RECOUNT",
    "close_open_tasks",
    "holder",
    "open_loads",
    "shift_load",
]

#: the status of a review task that waits for a person (``done``, ``cancelled``, ``erased``: closed)
OPEN = "open"

TaskState = tuple[str | None, str | None]
"""A review task's ``(status, owner)``."""


def holder(status: str | None, owner: str | None) -> str | None:
    """The owner whose load a task with this `status` and `owner` counts toward: its owner while it is open.

    Examples
    --------
    >>> holder("open", "ana"), holder("done", "ana"), holder("open", None)
    ('ana', None, None)
    """
    return owner if status == OPEN and owner else None


@functools.cache
def _add_statement(table: Table, dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (owner) DO UPDATE SET n_open = n_open + delta``, one object per dialect."""
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = make(table).values(owner=bindparam("owner"), n_open=bindparam("delta"))
    return statement.on_conflict_do_update(
        index_elements=[table.c.owner], set_={"n_open": table.c.n_open + statement.excluded.n_open}
    )


def _apply(connection: Connection, deltas: Counter[str]) -> None:
    # owners in one order: two transactions that change the same owners' loads lock the rows alike
    changes = [{"owner": owner, "delta": n} for owner, n in sorted(deltas.items()) if n]
    if changes:
        table = cast(Table, OwnerLoad.__table__)
        connection.execute(_add_statement(table, connection.dialect.name), changes)


def shift_load(session: Session, *, before: TaskState | None, after: TaskState | None) -> None:
    """Count a task's change from `before` to `after` (``(status, owner)``; None: no task) in the loads.

    Call it in the transaction that writes the change, once per change, with `before` read by a
    ``SELECT ... FOR UPDATE`` (``.with_for_update()``; SQLite ignores it: its transactions are serialised),
    so it is what the database holds until the change commits.
    """
    deltas: Counter[str] = Counter()
    old = holder(*before) if before is not None else None
    new = holder(*after) if after is not None else None
    if old is not None:
        deltas[old] -= 1
    if new is not None:
        deltas[new] += 1
    _apply(session.connection(), deltas)


def close_open_tasks(session: Session, *, lead_id: int, status: str, now: datetime) -> int:
    """Close the lead's open review tasks with `status` (``done``, ``erased``) and take them off their owners'
    loads; returns how many were closed.

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
    _apply(session.connection(), deltas)
    return len(closed)


_LOADS = select(OwnerLoad.owner, OwnerLoad.n_open).where(
    OwnerLoad.owner.in_(bindparam("owners", expanding=True)), OwnerLoad.n_open != 0
)


def open_loads(connection: Connection, owners: Iterable[str]) -> dict[str, int]:
    """The open load of each of `owners` that holds a task (one primary-key lookup per owner)."""
    names = sorted(set(owners))
    if not names:
        return {}
    return {str(owner): int(n) for owner, n in connection.execute(_LOADS, {"owners": names})}


#: every owner's load set from the review tasks themselves: the same rule as :func:`holder`, over the table
RECOUNT: tuple[Executable, ...] = (
    delete(OwnerLoad),
    insert(OwnerLoad).from_select(
        ["owner", "n_open"],
        select(ReviewTask.owner, func.count())
        .where(ReviewTask.status == OPEN, ReviewTask.owner.is_not(None), ReviewTask.owner != "")
        .group_by(ReviewTask.owner),
    ),
)

"""What a Session's transaction gathers to write as it commits (the owners' loads, the audit entries).

A value gathered in a transaction belongs to it: a savepoint rolled back drops what was gathered since the
savepoint began, and the end of the transaction (its commit, whose ``before_commit`` listener writes the
value, or its rollback) drops the rest. The value lives in ``session.info``; a copy is kept at each
savepoint that begins while something is gathered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

__all__ = ["Gathered"]

T = TypeVar("T")


class Gathered(Generic[T]):
    """One kind of value gathered per transaction (see the module).

    Parameters
    ----------
    name : str
        Names the ``session.info`` keys (``careleads_<name>_pending`` and ``careleads_<name>_saved``).
    empty : callable
        A new empty value.
    copy : callable
        A copy of a value, kept at a savepoint and put back when the savepoint is rolled back.
    """

    def __init__(self, name: str, *, empty: Callable[[], T], copy: Callable[[T], T]) -> None:
        self._key = f"careleads_{name}_pending"
        self._saved = f"careleads_{name}_saved"
        self._empty, self._copy = empty, copy
        event.listen(Session, "after_transaction_create", self._mark_savepoint)
        event.listen(Session, "after_soft_rollback", self._undo_savepoint)
        event.listen(Session, "after_transaction_end", self._end)

    def add_to(self, session: Session) -> T:
        """The transaction's value, to add to; a transaction is begun when none is open, so that its rollback
        drops what is added."""
        if not session.in_transaction():
            session.begin()
        value: T = session.info.setdefault(self._key, self._empty())
        return value

    def peek(self, session: Session) -> T | None:
        """The value gathered so far (not a copy), or None."""
        value: T | None = session.info.get(self._key)
        return value

    def take(self, session: Session) -> T | None:
        """The value to write as the transaction commits (not when a savepoint commits: the value is the
        transaction's), no longer gathered; None when nothing was gathered."""
        value: T | None = session.info.pop(self._key, None)
        return value

    def _mark_savepoint(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested and session.info.get(self._key):
            session.info.setdefault(self._saved, {})[transaction] = self._copy(session.info[self._key])

    def _undo_savepoint(self, session: Session, previous_transaction: SessionTransaction) -> None:
        if previous_transaction.nested:
            saved: T | None = session.info.get(self._saved, {}).get(previous_transaction)
            session.info[self._key] = self._copy(saved) if saved is not None else self._empty()

    def _end(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # committed (written) or rolled back: nothing carries over
            session.info.pop(self._key, None)
            session.info.pop(self._saved, None)

"""What a transaction gathers to write as it commits: kept through savepoints it commits, dropped with a
savepoint or transaction rolled back, gone once the transaction ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from careleads.store import Gathered

NOTES: Gathered[list[str]] = Gathered("test_notes", empty=list, copy=list)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    written: list[list[str]] = []

    @event.listens_for(Session, "before_commit")
    def write(s: Session) -> None:  # as the store's listeners do: a savepoint's commit writes nothing
        if s.in_nested_transaction():
            return
        taken = NOTES.take(s)
        if taken:
            written.append(list(taken))

    with Session(engine) as s:
        s.info["written"] = written
        yield s
    event.remove(Session, "before_commit", write)
    engine.dispose()


def test_a_commit_takes_what_was_gathered_and_a_rollback_drops_it(session: Session) -> None:
    NOTES.add_to(session).append("first")  # no statement yet: the transaction begins here
    assert session.in_transaction()
    session.commit()
    assert session.info["written"] == [["first"]] and NOTES.peek(session) is None
    NOTES.add_to(session).append("dropped")
    session.rollback()
    assert NOTES.peek(session) is None
    session.commit()
    assert session.info["written"] == [["first"]]


def test_a_savepoint_rolled_back_drops_only_what_it_gathered(session: Session) -> None:
    session.execute(text("SELECT 1"))
    NOTES.add_to(session).append("kept")
    inner = session.begin_nested()
    NOTES.add_to(session).append("dropped")
    inner.rollback()
    committed = session.begin_nested()
    NOTES.add_to(session).append("also kept")
    committed.commit()  # the value waits for the transaction
    assert session.info["written"] == [] and NOTES.peek(session) == ["kept", "also kept"]
    session.commit()
    assert session.info["written"] == [["kept", "also kept"]]

"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from careleads.errors import ConfigError
from careleads.settings import private_folder

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler arbitrates between processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_SECONDS",
    "clear_wal",
    "current_revision",
    "head_revision",
    "insert_row",
    "make_engine",
    "make_sessionmaker",
    "session_scope",
    "upgrade",
]


def _sqlite_pragmas(lock_seconds: float) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the sqlite3 module, begin transactions, so SAVEPOINTs and rollbacks are exact
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run while one writer commits; NORMAL sync is durable at each checkpoint
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # deleted and overwritten content is zeroed, not left in free space where a file reader finds it
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_seconds * 1000)}")
        # the log is copied into the database by a thread of its own (_Checkpointer), not by a commit
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    return on_connect


_WRITER = "careleads_writer"
#: the longest wait for another transaction's lock when the caller does not say (``lock_seconds``)
LOCK_SECONDS = 30.0


class _WriterLock:
    """One SQLite writer at a time: a thread lock in this process, an ``flock`` between processes.

    The thread lock wakes the next waiter as soon as the holder lets go; the file lock is polled in sleeps
    of 0.2 to 2 ms, so a process hands the lock to its own next writer before another process sees it free.
    SQLite's own busy handler (still the last word, e.g. for a process that does not use careleads) polls in
    sleeps of 1, 2, 5, 10 ... up to 100 ms, and under load those sleeps left the cores idle while requests
    queued.
    """

    def __init__(self, database: str | None, seconds: float) -> None:
        self._seconds = seconds
        self._thread_lock = threading.Lock()
        self._path = Path(f"{database}-writer.lock") if database and database != ":memory:" else None
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> bool:
        """Take both locks within the wait; False (nothing held) when another transaction kept them."""
        deadline = time.monotonic() + self._seconds
        if not self._thread_lock.acquire(timeout=self._seconds):
            return False
        if self._path is not None and fcntl is not None:
            try:
                if self._fd is None or self._pid != os.getpid():  # not a descriptor inherited by fork
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                    weakref.finalize(self, os.close, self._fd)
                if not _flock_until(self._fd, deadline):
                    self._thread_lock.release()
                    return False
            except BaseException:
                self._thread_lock.release()
                raise
        return True

    def release(self) -> None:
        try:
            if self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


#: the least time between two copies of SQLite's write-ahead log into the database file (seconds)
CHECKPOINT_SECONDS = 1.0
#: a checkpoint thread with no commit to follow for this long ends (the next commit starts another)
_CHECKPOINT_IDLE_SECONDS = 60.0
#: a log this long (pages; SQLite's own checkpoint size) is copied to its end, so that it starts over
_RESTART_PAGES = 1000
logger = logging.getLogger(__name__)


class _Checkpointer:
    """Copies an SQLite file's write-ahead log into the database file, in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that fills the log past 1,000 pages, with the
    writer lock held: it writes the pages back and syncs the file while every other writer waits (stalls
    of a few hundred milliseconds under load). Here a commit only asks for a checkpoint; the thread runs
    one as ``PASSIVE`` (which never stops a writer) at most every :data:`CHECKPOINT_SECONDS`, copying
    whatever was committed by then. A log never copied to its end never starts over (it grew by hundreds
    of megabytes a minute under load): once it is :data:`_RESTART_PAGES` long, a second pass with the
    writer lock held copies the pages committed during the first, a short hold. The thread holds the
    engine weakly and ends when the engine is gone, disposed or idle.
    """

    def __init__(self, engine: Engine, writer: _WriterLock | None = None) -> None:
        self._engine = weakref.ref(engine)
        self._writer = writer
        self.lock = threading.Lock()  # one checkpoint of this engine at a time (see clear_wal)
        self._start_lock = threading.Lock()
        self._due = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def committed(self) -> None:
        """A transaction committed: ask for a checkpoint (asks are merged; at most one runs an interval)."""
        if self._due.is_set() and self._thread is not None and not self._stopped:
            return
        with self._start_lock:
            self._stopped = False
            self._due.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="careleads-checkpoint", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the thread (the engine is disposed); a later commit starts it again."""
        with self._start_lock:
            self._stopped = True
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait(timeout=_CHECKPOINT_IDLE_SECONDS)
            with self._start_lock:  # (a commit asks under this lock)
                if self._stopped or not self._due.is_set():  # disposed, or idle: the next commit starts one
                    self._thread = None
                    return
                self._due.clear()
            engine = self._engine()
            if engine is None:
                return
            try:
                self._copy(engine)
            except Exception:  # the log stays as it is; the next commit asks again
                logger.warning("store: copying the write-ahead log into the database failed", exc_info=True)
            del engine
            time.sleep(CHECKPOINT_SECONDS)  # commits meanwhile are copied by the next one

    def _copy(self, engine: Engine) -> None:
        _busy, pages, _copied = self.checkpoint(engine, "PASSIVE")  # the bulk: writers carry on
        if pages >= _RESTART_PAGES and self._writer is not None and self._writer.acquire():
            try:  # the pages committed meanwhile: the log is then copied whole, the next writer restarts it
                self.checkpoint(engine, "PASSIVE")
            finally:
                self._writer.release()

    def checkpoint(self, engine: Engine, mode: str) -> tuple[bool, int, int]:
        """Run ``wal_checkpoint(mode)`` on a connection of `engine`: whether the log was busy, its length
        and the pages copied (SQLite's answer)."""
        with self.lock:
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                busy, pages, copied = cursor.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                cursor.close()
                return bool(busy), int(pages), int(copied)
            finally:
                raw.close()


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()


def _flock_until(fd: int, deadline: float) -> bool:
    """Take the file lock before `deadline`: at once when free, else in sleeps of at most 2 ms (``flock``
    itself cannot time out; a holder commits in milliseconds, so a longer sleep would leave the lock idle)."""
    delay = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.002)


def _sqlite_transactions(engine: Engine, database: str | None, lock_seconds: float) -> None:
    """Serialise SQLite transactions (:class:`_WriterLock`), then take SQLite's write lock up front.

    ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails with "database is locked"
    when another writer committed in between; waiting is better. The lock is let go once the database has
    committed or rolled back, not when SQLAlchemy is about to (its ``commit`` event): a writer let in while
    the last commit is still being written finds SQLite's own lock taken, and SQLite's busy handler then
    sleeps a millisecond or more with the lock idle.
    """
    lock = _WriterLock(database, lock_seconds)
    checkpointer = None
    if database and database != ":memory:":
        checkpointer = _CHECKPOINTERS[engine] = _Checkpointer(engine, lock)
        event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())

    def begin(connection: Any) -> None:
        if not lock.acquire():
            raise OperationalError(
                "BEGIN IMMEDIATE", {}, TimeoutError(f"database is locked for over {lock_seconds:g} s")
            )
        connection.info[_WRITER] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(connection.connection)
            raise

    def release(dbapi_connection: Any) -> None:
        # the pool's connection (SQLAlchemy's, or the one the pool resets on return): its info is the
        # connection's; one made only to set the connection up has none and never held the lock
        try:
            info = dbapi_connection.info
        except (AttributeError, NotImplementedError):
            return
        if info.pop(_WRITER, False):
            lock.release()

    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def commit_then_release(dbapi_connection: Any) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            release(dbapi_connection)
        if checkpointer is not None:
            checkpointer.committed()

    def rollback_then_release(dbapi_connection: Any) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            release(dbapi_connection)

    event.listen(engine, "begin", begin)
    # this engine's own dialect: the statements SQLAlchemy runs to end a transaction, and the rollback of a
    # connection returned to the pool with its transaction open
    dialect.do_commit = commit_then_release  # type: ignore[method-assign]
    dialect.do_rollback = rollback_then_release  # type: ignore[method-assign]


def make_engine(url: str, *, echo: bool = False, lock_seconds: float = LOCK_SECONDS) -> Engine:
    """An engine for `url`; a SQLite file's folder is created and WAL mode switched on.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/careleads.db`` or ``postgresql+psycopg://user@host:5432/db``.
    echo : bool
        Log every SQL statement (debugging only).
    lock_seconds : float
        The longest a statement waits for a lock another transaction holds (SQLite's writer lock, a
        PostgreSQL row or table lock) before it fails with ``OperationalError`` (which the service answers
        with 503 and Retry-After). A wait never lasts for ever.

    Returns
    -------
    Engine

    Raises
    ------
    ConfigError
        If the URL cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"cannot read the database URL ({exc}); set CARELEADS_DATABASE_URL to e.g. "
            "sqlite:///careleads.db or postgresql+psycopg://USER@HOST:5432/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            database = Path(parsed.database)
            private_folder(database.parent)
            if not database.exists():  # an empty file is an empty database; SQLite gives its WAL this mode
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": lock_seconds},
            pool_size=8,
            hide_parameters=True,  # an error's message never carries a lead's values into a log
        )
        event.listen(engine, "connect", _sqlite_pragmas(lock_seconds))
        _sqlite_transactions(engine, parsed.database, lock_seconds)
        return engine
    return create_engine(
        parsed,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=lock_seconds,
        hide_parameters=True,
        connect_args={"options": f"-c lock_timeout={max(1, int(lock_seconds * 1000))}"},
    )


def clear_wal(engine: Engine) -> bool:
    """On SQLite, copy the write-ahead log into the database and empty it (``wal_checkpoint(TRUNCATE)``),
    so values just overwritten (an erasure, with ``secure_delete`` on) are in no file any more; True when
    the log is empty afterwards. Another database: nothing to do (True).

    Run it after the transaction that overwrote the values has committed. It waits, at most the engine's
    lock wait, for readers and writers of other connections to finish; False when one kept the log busy
    (the values then leave the log at the next checkpoint).
    """
    if engine.dialect.name != "sqlite":
        return True
    checkpointer = _CHECKPOINTERS.get(engine) or _Checkpointer(engine)
    busy, _pages, _copied = checkpointer.checkpoint(engine, "TRUNCATE")
    return not busy


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back (and re-raise) on any error."""
    session = factory()
    try:
        yield session
    except BaseException:
        end_session(session, commit=False)
        raise
    end_session(session, commit=True)


def end_session(session: Session, *, commit: bool) -> None:
    """End a :func:`session_scope` transaction: commit (a failed commit is rolled back and re-raised) or
    roll back, then close."""
    try:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        session.close()


_Row = TypeVar("_Row")


@functools.cache
def _insert_statement(table: Table, dialect: str, unless_exists: tuple[str, ...], *, returning: bool) -> Any:
    """One statement object per table and kind: SQLAlchemy then computes its cache key only once."""
    if unless_exists:
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        columns = [table.c[c] for c in unless_exists]
        statement: Any = make(table).on_conflict_do_nothing(index_elements=columns)
    else:
        statement = table.insert()
    if returning:
        (pk,) = table.primary_key.columns
        statement = statement.returning(pk)
    return statement


def insert_row(session: Session, row: _Row, *, unless_exists: Sequence[str] | None = None) -> _Row | None:
    """INSERT one new ORM object as a single Core statement, without the unit of work; sets its id.

    For rows written once per request and not changed in the same transaction (ledger entries, outbox
    records, audit entries, new leads): the object stays outside the session (transient), so nothing is
    flushed for it again. Every column the row should hold must be set on the object; unset columns take
    the database or column defaults.

    Parameters
    ----------
    session : Session
        The request's session; the statement runs in its transaction.
    row : ORM object
        A new, transient object of a mapped class.
    unless_exists : sequence of str, optional
        The columns of a unique constraint: when a row with the same values exists (or another transaction
        is inserting it), nothing is written and None is returned (``ON CONFLICT DO NOTHING``; on
        PostgreSQL this waits for the other transaction, so the existing row is then readable).

    Returns
    -------
    The same object with its primary key set, or None (see `unless_exists`).
    """
    mapper = inspect(type(row))
    table = cast(Table, mapper.local_table)
    values: dict[str, Any] = {}
    state = row.__dict__
    for column in table.columns:
        prop = mapper.get_property_by_column(column)
        if prop.key in state:
            values[column.key] = state[prop.key]
    (pk,) = table.primary_key.columns
    connection = session.connection()
    given_key = values.get(pk.key) is not None
    statement = _insert_statement(
        table, connection.dialect.name, tuple(unless_exists or ()), returning=not given_key
    )
    if given_key:
        result = connection.execute(statement, values)
        return row if result.rowcount else None
    key = connection.execute(statement, values).scalar_one_or_none()
    if key is None:
        return None
    setattr(row, mapper.get_property_by_column(pk).key, key)
    return row


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    location = resources.files("careleads.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str | None:
    """The newest migration shipped with this version of careleads."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply migrations up to `revision`; returns the revision the database is at afterwards.

    Raises
    ------
    ConfigError
        If the database cannot be reached; the message names the host or file, never a password.
    """
    from alembic import command

    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"cannot migrate the database at {where}: {exc.orig}; check that it is running and reachable"
        ) from None
    return current_revision(engine)


def has_tables(engine: Engine) -> bool:
    """Whether the database already holds the careleads tables."""
    return inspect(engine).has_table("leads")

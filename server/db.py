"""The database: one engine per process, sessions handed to services, migrations by Alembic."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import threading
import time
from pathlib import Path

from sqlalchemy import Column, Engine, Insert, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import models, textfold

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers work while one writer commits; FULL makes every commit durable on disk
    # before we answer 201; the busy timeout queues writers from several workers instead of failing.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    # SQLite's lower() folds ASCII letters only; Python's folds Vietnamese ones too ("Đ" -> "đ"), as
    # PostgreSQL's does, so a case-insensitive search behaves the same on both databases.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    dbapi_connection.create_function("translate", 3, textfold.translate, deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


# A pooled server connection idle this long is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as ``pool_pre_ping`` does it, but only for a connection
    that sat in the pool for ``PING_AFTER_IDLE_SECONDS``: a restarted or failed-over server, or a
    firewall's idle timeout, is found before a request uses the connection, and a busy process
    (a connection back in the pool a few milliseconds ago) does not pay a round trip per checkout
    (three per submission). A server lost in the middle of work fails that request; SQLAlchemy
    then replaces the pool's connections (its optimistic handling)."""
    dialect = engine.dialect

    def on_checkout(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool closes this connection and checks out a new one (up to three tries).
            raise DisconnectionError(f"the database connection was lost: {exc}") from exc

    def on_checkin(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


_NO_WAIT_FOR_DISK = text("SET LOCAL synchronous_commit TO OFF")


def _synchronous_again(dbapi_connection, record) -> None:
    """A connection back in the pool after ``Database.lazy_commit`` commits to disk again."""
    if record.info.pop("lazy_commit", False) and dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA synchronous=FULL")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "checkin", _synchronous_again)
        else:
            _ping_when_idle(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reads = self.engine
        if self.engine.dialect.name != "sqlite":
            reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._readers = sessionmaker(reads, expire_on_commit=False)
        if self.engine.dialect.name != "sqlite":
            self._write_lock = contextlib.nullcontext()
        else:
            file = self.engine.url.database
            on_disk = bool(file) and file != ":memory:" and not file.startswith("file:")
            self._write_lock = _WriteLock(Path(f"{file}.writelock") if on_disk else None)

    def session(self) -> Session:
        """A new session; the caller (a service) decides when it commits."""
        return self._sessions()

    def reader(self) -> Session:
        """A session that only reads, each statement on its own: on PostgreSQL without the BEGIN
        and ROLLBACK around them (two round trips a session; under READ COMMITTED each statement
        sees what was committed when it started either way). Never write in it: a write would
        be committed at once. On SQLite it is an ordinary session: its driver opens no
        transaction for reads, and a statement costs no round trip."""
        return self._readers()

    def write_lock(self):
        """Hold around a write transaction: serialises SQLite's writers, of every process."""
        return self._write_lock

    def lazy_commit(self, session: Session) -> None:
        """Let this transaction of ``session`` commit without waiting for the disk; call it first
        in the transaction. For work that is done again when lost: a job's claim, and a job's
        results, written with the deletion of the job row. A power cut may lose such a commit
        (never a process killed: the data is in the system's cache by then), and the job is due
        again; the database stays consistent, and the next synchronous commit (a submission's,
        a supervisor's) makes it durable with its own, as both databases write their log in
        order. An acknowledged submission's commit stays synchronous. SQLite: ``synchronous =
        NORMAL`` on the connection, set back to FULL when it returns to the pool; PostgreSQL:
        ``synchronous_commit`` off for the transaction."""
        if self.engine.dialect.name == "sqlite":
            connection = session.connection()
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.info["lazy_commit"] = True
        else:
            session.execute(_NO_WAIT_FOR_DISK)

    def initialised(self) -> bool:
        """Whether khudan's schema is there. An SQLite file that does not exist is not opened
        (opening would create it)."""
        url = self.engine.url
        file = url.database if url.get_backend_name() == "sqlite" else None
        if file and file != ":memory:" and not Path(file).is_file():
            return False
        try:
            return inspect(self.engine).has_table("alembic_version")
        except OperationalError:
            return False

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision."""
        with self.engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            from alembic import command  # here: a command that needs no upgrade starts faster

            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()
        if isinstance(self._write_lock, _WriteLock):
            self._write_lock.close()


class _WriteLock:
    """SQLite has one write lock per file, and a writer that finds it taken sleeps in steps of up
    to 100 ms (its busy handler), so under load writers wait far longer than the lock is held, and
    a writer whose snapshot went stale fails instead of waiting. Writers queue here instead: the
    threads of one process on a mutex, the processes (gunicorn's workers, ``khudan worker``) on an
    ``flock`` of a file beside the database, which the kernel hands to the next waiter as soon as
    it is released."""

    def __init__(self, path: Path | None):
        self._path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._mutex.acquire()
        if self._path is None:
            return
        try:
            if self._pid != os.getpid():  # opened per process: a fork must not share the lock
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def __exit__(self, *_exc) -> None:
        try:
            if self._path is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def close(self) -> None:
        """Close this process's lock file (``Database.dispose``); the next writer opens it again."""
        with self._mutex:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd, self._pid = None, 0


def serialise(session: Session, *key: object) -> None:
    """Wait, until this transaction ends, for any other transaction that took the same key.

    A check that looks for *another* submission must see it: PostgreSQL runs ingest transactions
    side by side, so two phones sending copies of one photo at once would each look before the
    other committed, and neither would be flagged. A transaction-scoped advisory lock makes the
    second wait and then see the first. SQLite already runs one writer at a time
    (``Database.write_lock``). (One household sent twice needs no lock: its facts' unique key
    makes the second transaction fail and be retried whole.)"""
    if session.get_bind().dialect.name != "postgresql":
        return
    name = "/".join(str(part) for part in key)
    # Held until the transaction ends: a second call in it (the next job of a batch) is a round
    # trip for nothing.
    session.connection()  # begins the transaction the lock is held for, if none has begun
    transaction = session.get_transaction()
    held = session.info.get("serialised")
    if held is None or held[0] is not transaction:
        held = session.info["serialised"] = (transaction, set())
    if name in held[1]:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": name})
    held[1].add(name)


def insert_new(session: Session, table: Table, *returning: Column) -> Insert:
    """An INSERT that leaves out rows whose key is taken (ON CONFLICT DO NOTHING), for the
    database ``session`` runs on; with ``returning`` columns it says which rows it wrote. Built
    once per database, table and columns."""
    return _insert_new(session.get_bind().dialect.name, table, returning)


@functools.cache
def _insert_new(dialect: str, table: Table, returning: tuple[Column, ...]) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing()
    return statement.returning(*returning) if returning else statement


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


metadata = models.Base.metadata

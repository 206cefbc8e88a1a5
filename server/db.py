"""The database: one engine per process, sessions handed to services, migrations by Alembic."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
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


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one write lock per file, and a writer that finds it taken sleeps in steps of
        # up to 100 ms. Threads of one process queue here instead, and wake as soon as it is free.
        self._write_lock = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def session(self) -> Session:
        """A new session; the caller (a service) decides when it commits."""
        return self._sessions()

    def write_lock(self):
        """Hold around a write transaction: serialises this process's SQLite writers."""
        return self._write_lock

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


def serialise(session: Session, *key: object) -> None:
    """Wait, until this transaction ends, for any other transaction that took the same key.

    A check that looks for *another* submission must see it: PostgreSQL runs ingest transactions
    side by side, so two phones sending copies of one photo at once would each look before the
    other committed, and neither would be flagged. A transaction-scoped advisory lock makes the
    second wait and then see the first. SQLite already runs one writer at a time
    (``Database.write_lock``). (One household sent twice needs no lock: its facts' unique key
    makes the second transaction fail and be retried whole.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": "/".join(str(part) for part in key)},
        )


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


metadata = models.Base.metadata

"""Database connections: on PostgreSQL one the server dropped while it sat in the pool is
replaced before a request uses it and a busy process does not ping the server on every checkout;
on both databases a session that only reads opens no transaction (on PostgreSQL: no BEGIN and
ROLLBACK round trips)."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from khudan import db as db_module
from khudan.db import Database
from khudan.models import User


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        # SQLite is a file opened in the process: there is no server to drop a connection.
        pytest.skip("needs a PostgreSQL server: set KHUDAN_DATABASE_URL (.ci/run does)")
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def pings(pg, monkeypatch):
    """How many times the dialect pinged the server."""
    count = []
    real = pg.engine.dialect.do_ping

    def counted(dbapi_connection):
        count.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(pg.engine.dialect, "do_ping", counted)
    return count


def backend_pid(database: Database) -> int:
    with database.session() as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def test_a_connection_used_a_moment_ago_is_not_pinged(pg, pings):
    for _ in range(20):
        with pg.session() as session:
            session.scalar(select(User.id).limit(1))
    assert pings == []


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(
    pg, pings, database, monkeypatch
):
    first = backend_pid(pg)
    with database.session() as admin:  # another connection ends it, as a server restart would
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.commit()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)

    second = backend_pid(pg)  # no error: the ping found it gone and the pool reconnected

    assert pings and second != first
    with pg.session() as session:
        assert session.scalar(text("SELECT 1")) == 1


def in_transaction_after_a_read(session) -> bool:
    """Whether the driver holds a transaction open after one SELECT in ``session``."""
    session.scalar(select(User.id).limit(1))
    driver = session.connection().connection.dbapi_connection
    if session.get_bind().dialect.name == "postgresql":
        return driver.info.transaction_status != TransactionStatus.IDLE
    return driver.in_transaction


def test_a_reader_runs_its_statements_without_a_transaction_around_them(db):
    """db.reader(): no BEGIN before its statements and no ROLLBACK after (two round trips a
    session on PostgreSQL, where an ordinary session opens a transaction; SQLite's driver opens
    none for reads either way)."""
    on_postgresql = db.engine.dialect.name == "postgresql"
    with db.reader() as session:
        assert not in_transaction_after_a_read(session)
    with db.session() as session:
        assert in_transaction_after_a_read(session) == on_postgresql
    with db.session() as session:  # the reader's setting went back to the pool with it
        assert in_transaction_after_a_read(session) == on_postgresql

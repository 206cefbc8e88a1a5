"""Pooled PostgreSQL connections: one the server dropped while it sat in the pool is replaced
before a request uses it, a busy process does not ping the server on every checkout, and a
session that only reads sends no BEGIN and ROLLBACK."""

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
        pytest.skip("PostgreSQL only: SQLite has no server to drop a pooled connection")
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


def test_a_reader_runs_its_statements_without_a_transaction_around_them(pg):
    """db.reader(): no BEGIN before its statements and no ROLLBACK after (two round trips a
    session that only reads), where an ordinary session opens a transaction."""

    def status_after_a_read(session) -> TransactionStatus:
        session.scalar(select(User.id).limit(1))
        return session.connection().connection.dbapi_connection.info.transaction_status

    with pg.reader() as session:
        assert status_after_a_read(session) == TransactionStatus.IDLE
    with pg.session() as session:
        assert status_after_a_read(session) == TransactionStatus.INTRANS
    with pg.session() as session:  # the reader's setting went back to the pool with it
        assert status_after_a_read(session) == TransactionStatus.INTRANS

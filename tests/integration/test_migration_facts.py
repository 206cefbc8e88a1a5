"""Migration 0006 on a database with facts: each fact gets its submission's approval and one column
per deprivation from its JSON, so reports count right after an upgrade without `facts rebuild`.

A migration needs an empty database to start from: a SQLite file of its own, or on PostgreSQL a
scratch database on the same server, dropped afterwards."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, select, text

from khudan.db import Database, alembic_config
from khudan.models import PovertyFact, SatisfactionFact
from khudan.models.facts import INDICATORS, LINKS
from khudan.services import facts


def upgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


@pytest.fixture
def empty_url(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"khudan_migration_{uuid.uuid4().hex[:8]}"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}"'))
    server.dispose()


def seed_submissions(c, states: dict[int, str], when: dt.datetime) -> None:
    """A poverty_review form, one version, and a submission with one version per id (its
    review state), written with plain SQL as the schema stood before the revision tested."""
    c.execute(text("INSERT INTO forms (id, form_id, state) VALUES (1, 'poverty_review', 'open')"))
    c.execute(
        text(
            "INSERT INTO form_versions (id, form_pk, version, title, xml, md5, fields, "
            "media_expected) VALUES (1, 1, '1', 'Rà soát', :xml, '', '[]', '[]')"
        ),
        {"xml": b"<h/>"},
    )
    for sid, state in states.items():
        c.execute(
            text(
                "INSERT INTO submissions (id, form_pk, instance_id, review_state, created_at) "
                "VALUES (:id, 1, :iid, :state, :when)"
            ),
            {"id": sid, "iid": f"uuid:{sid}", "state": state, "when": when},
        )
        c.execute(
            text(
                "INSERT INTO submission_versions (id, submission_id, form_pk, form_version_id,"
                " instance_id, xml, xml_sha256, created_at) VALUES (:id, :id, 1, 1, :iid, :xml,"
                " '', :when)"
            ),
            {"id": sid, "iid": f"uuid:{sid}", "xml": b"<data/>", "when": when},
        )


def test_0006_copies_approval_and_deprivations_of_existing_facts(empty_url):
    db = Database(empty_url)
    upgrade(db, "0005")
    when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    lacking = {"water": True, "sanitation": True, "telecom": False, "waste_treatment": None}
    with db.engine.begin() as c:
        seed_submissions(c, {1: "approved", 2: "received", 3: "approved"}, when)
        for sid, indicators in [(1, lacking), (2, lacking), (3, {})]:
            c.execute(
                text(
                    "INSERT INTO poverty_facts (id, submission_id, version_id, period, "
                    "household_key, household_code, submitted_at, area_kind, deprivation_count, "
                    "b2_score, indicators, standard_id, poverty_class) VALUES (:id, :id, :id, "
                    "'2026', :key, :key, :when, 'rural', 2, 20, :ind, 'nd07_2021', 'poor')"
                ),
                {"id": sid, "key": f"H{sid}", "ind": json.dumps(indicators), "when": when},
            )
        c.execute(
            text(
                "INSERT INTO satisfaction_facts (id, submission_id, version_id, period, "
                "household_key, household_code, submitted_at, criteria_set, satisfied, "
                "not_satisfied) VALUES (1, 3, 3, '2026', 'H3', 'H3', :when, 'qd318_2022', '[]', '[]')"
            ),
            {"when": when},
        )
    upgrade(db, "head")
    with db.session() as s:
        rows = {f.id: f for f in s.scalars(select(PovertyFact))}
        assert [rows[i].approved for i in (1, 2, 3)] == [True, False, True]
        for i in (1, 2):
            lacks = {name for name in INDICATORS if getattr(rows[i], f"lacks_{name}")}
            assert lacks == {"water", "sanitation"}
        assert not any(getattr(rows[3], f"lacks_{name}") for name in INDICATORS)
        assert s.scalar(select(SatisfactionFact.approved)) is True
    db.dispose()


def test_0018_links_the_periods_of_existing_facts_as_facts_link_does(empty_url):
    """A household poor in 2024, not poor in 2025 (approved), poor in 2026 out of its collector's
    scope; another only in 2026: the migration's links equal those services.facts.link keeps."""
    db = Database(empty_url)
    upgrade(db, "0017")
    when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    facts_of = [
        (1, "X/1", "2024", "poor", False, False),
        (2, "X/1", "2025", "not_poor", True, False),
        (3, "X/1", "2026", "poor", False, True),
        (4, "X/2", "2026", "near_poor", False, False),
        (5, "X/3", "2026-H1", "poor", False, False),
        (6, "X/3", "2025-H2", "near_poor", True, False),
    ]
    with db.engine.begin() as c:
        seed_submissions(c, dict.fromkeys((f[0] for f in facts_of), "received"), when)
        for sid, key, period, cls, approved, outside in facts_of:
            c.execute(
                text(
                    "INSERT INTO poverty_facts (id, submission_id, version_id, period, "
                    "household_key, household_code, submitted_at, area_kind, deprivation_count, "
                    "b2_score, indicators, standard_id, poverty_class, approved, out_of_scope) "
                    "VALUES (:id, :id, :id, :period, :key, :key, :when, 'rural', 0, 0, '{}', "
                    "'nd07_2021', :cls, :ok, :outside)"
                ),
                {
                    "id": sid,
                    "key": key,
                    "period": period,
                    "cls": cls,
                    "ok": approved,
                    "outside": outside,
                    "when": when,
                },
            )
    upgrade(db, "0018")

    def links(s) -> dict:
        return {
            f.id: tuple(getattr(f, name) for name in LINKS) for f in s.scalars(select(PovertyFact))
        }

    with db.session() as s:
        migrated = links(s)
        # 2026: poor before 2025? no: not poor in 2025 (approved), poor in 2024 (counted).
        assert migrated[3] == ("not_poor", True, True, True, False, False, False, False, False)
        assert migrated[1][7:] == (True, True)  # 2024 -> 2025, counted and approved
        assert migrated[2][7:] == (False, False)  # 2026 is out of scope, not approved
        assert migrated[4] == (None, False, False, False, False, False, False, False, False)
        assert migrated[5][:3] == ("near_poor", True, True)  # 2025-H2 before 2026-H1
        facts.link(s, {"X/1", "X/2", "X/3"})
        assert links(s) == migrated
    db.dispose()


def test_0021_and_0022_mark_what_is_stored_processed_and_place_it(empty_url):
    """Everything stored before the job queue was processed in its request: its versions and
    files count as processed, no job is made; each submission gets its first geopoint."""
    db = Database(empty_url)
    upgrade(db, "0020")
    when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    with db.engine.begin() as c:
        seed_submissions(c, {1: "received", 2: "approved"}, when)
        fields = [
            {"path": "/data/name", "type": "string"},
            {"path": "/data/place/location", "type": "geopoint"},
        ]
        c.execute(text("UPDATE form_versions SET fields = :f"), {"f": json.dumps(fields)})
        xml = b"<data><place><location>13.7721 109.2981 5.0 4.0</location></place></data>"
        c.execute(text("UPDATE submission_versions SET xml = :xml WHERE id = 1"), {"xml": xml})
        c.execute(text("UPDATE submissions SET current_version_id = id"))
        c.execute(
            text(
                "INSERT INTO blobs (id, sha256, md5, size, content_type, storage_key, created_at)"
                " VALUES (1, 'ab', 'cd', 3, 'image/jpeg', 'ab/ab/ab', :when)"
            ),
            {"when": when},
        )
        c.execute(
            text(
                "INSERT INTO attachments (id, version_id, name, blob_id, received_at) VALUES "
                "(1, 1, 'a.jpg', 1, :when), (2, 2, 'b.jpg', NULL, NULL)"
            ),
            {"when": when},
        )
    upgrade(db, "head")
    with db.engine.connect() as c:
        processed = c.execute(text("SELECT processed_at FROM submission_versions")).scalars()
        assert all(t is not None for t in processed)
        checked = dict(c.execute(text("SELECT name, checked_at FROM attachments")).all())
        assert checked["a.jpg"] is not None and checked["b.jpg"] is None  # b never arrived
        assert c.execute(text("SELECT count(*) FROM jobs")).scalar() == 0
        places = dict(
            (sid, (lat, lon))
            for sid, lat, lon in c.execute(text("SELECT id, latitude, longitude FROM submissions"))
        )
    assert places == {1: (13.7721, 109.2981), 2: (None, None)}
    db.dispose()

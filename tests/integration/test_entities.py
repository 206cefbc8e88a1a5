"""Entity lists through ODK Collect's eyes: a form's list is served as a CSV with its manifest
type, submissions create and update entities (on approval by default), offline chains are applied
in order, concurrent updates make a conflict, and a collector sees only their areas."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid

import pytest
from collect import CollectClient, flask_sender
from sqlalchemy import event, func, select, text

from khudan.models import Entity, EntityBacklog, EntityList, EntityVersion, Submission, User
from khudan.services import areas, entities, jobs, submissions

PASSWORD = "correct horse"

NS = 'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"'
T01, T02 = "21607.T01", "21607.T02"


@pytest.fixture
def world(db, registry, publish, make_user, client):
    """The visit form, two thôn of Xã Nhơn Châu, collector thu in T01 and hoa in T02, and a
    supervisor of the commune."""
    with db.session() as s:
        areas.import_areas(s, [{"commune_code": "21607", "code": "T02", "name": "Thôn Nam"}])
        s.commit()
    publish("visit")
    make_user("thu", "collector", areas=(T01,))
    make_user("hoa", "collector", areas=(T02,))
    make_user("lan", "supervisor", areas=("21607",))
    return {
        "thu": CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD),
        "hoa": CollectClient(flask_sender(client), "http://localhost", "hoa", PASSWORD),
    }


def visit_xml(
    entity_id: str,
    *,
    create: bool,
    code: str = "HN-01",
    head: str = "Nguyễn Văn An",
    area: str = T01,
    size: int | None = 4,
    base: str = "",
    trunk: str = "",
    branch: str = "",
    instance: str | None = None,
) -> bytes:
    instance = instance or f"uuid:{uuid.uuid4()}"
    size_el = f"<hh_size>{size}</hh_size>" if size is not None else "<hh_size/>"
    return (
        f'<data {NS} id="visit" version="1">'
        f"<hh>{'' if create else entity_id}</hh><new_id>{entity_id}</new_id>"
        f"<hh_code>{code}</hh_code><head>{head}</head><province>52</province>"
        f"<commune>21607</commune><area_code>{area}</area_code>{size_el}"
        f'<meta><entity dataset="households" create="{int(create)}" update="{int(not create)}"'
        f' baseVersion="{base}" trunkVersion="{trunk}" branchId="{branch}" id="{entity_id}">'
        f"<label>{code} - {head}</label></entity><instanceID>{instance}</instanceID></meta>"
        "</data>"
    ).encode()


def send(phone: CollectClient, xml: bytes) -> None:
    replies = phone.submit(xml)
    assert [r.status for r in replies] == [201], replies[-1].text


def approve_all(db) -> None:
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        for sub in s.scalars(select(Submission).order_by(Submission.id)):
            if sub.review_state != "approved":
                submissions.set_review_state(s, lan, sub, "approved", None)
        s.commit()


def approve(db, instance: str) -> None:
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        sub = s.scalar(select(Submission).where(Submission.instance_id == instance))
        submissions.set_review_state(s, lan, sub, "approved", None)
        s.commit()


def phone_list(phone: CollectClient) -> tuple[dict, list[dict]]:
    """What Collect does before going offline: form list, manifest, the list's CSV."""
    _reply, listed = phone.form_list()
    visit = next(f for f in listed if f["formID"] == "visit")
    reply, files = phone.manifest(visit["manifestUrl"])
    assert reply.status == 200
    entry = next(f for f in files if f["filename"] == "households.csv")
    body = phone.request("GET", entry["downloadUrl"])
    assert body.status == 200
    assert entry["hash"] == "md5:" + hashlib.md5(body.body).hexdigest()
    return entry, list(csv.DictReader(io.StringIO(body.text)))


def test_the_manifest_serves_the_list_as_an_entity_list_with_its_integrity_url(world):
    reply = world["thu"].request("GET", "http://localhost/forms/visit/manifest")
    assert b'<mediaFile type="approvalEntityList">' in reply.body
    assert b"<integrityUrl>http://localhost/datasets/households/integrity</integrityUrl>" in (
        reply.body
    )
    assert phone_list(world["thu"])[1] == []


def test_create_then_update_on_approval_and_the_phone_sees_each_version(world, db):
    thu = world["thu"]
    before, _ = phone_list(thu)
    hid = str(uuid.uuid4())
    created = f"uuid:{uuid.uuid4()}"
    send(thu, visit_xml(hid, create=True, instance=created))
    # The list waits for approval: nothing changes on receipt.
    same, rows = phone_list(thu)
    assert rows == [] and same["hash"] == before["hash"]
    approve(db, created)
    after, rows = phone_list(thu)
    assert after["hash"] != before["hash"]
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == hid and row["label"] == "HN-01 - Nguyễn Văn An"
    assert row["__version"] == "1" and row["hh_size"] == "4" and row["area_code"] == T01
    assert row["__search"] == "hn-01 - nguyen van an"
    assert list(row)[:3] == ["name", "label", "__version"]

    updated = f"uuid:{uuid.uuid4()}"
    send(
        thu,
        visit_xml(hid, create=False, head="Nguyễn Văn Bình", size=5, base="1", instance=updated),
    )
    approve(db, updated)
    _entry, rows = phone_list(thu)
    assert rows[0]["__version"] == "2" and rows[0]["hh_size"] == "5"
    assert rows[0]["label"] == "HN-01 - Nguyễn Văn Bình"
    with db.session() as s:
        history = s.scalars(select(EntityVersion).order_by(EntityVersion.version)).all()
        assert [(v.version, v.source, v.base_version) for v in history] == [
            (1, "submission", None),
            (2, "submission", 1),
        ]
        assert history[1].received["head"] == "Nguyễn Văn Bình"


def test_a_list_without_approval_changes_on_receipt(world, db):
    with db.session() as s:
        s.scalar(select(EntityList)).approval_required = False
        s.commit()
    thu = world["thu"]
    reply = thu.request("GET", "http://localhost/forms/visit/manifest")
    assert b'<mediaFile type="entityList">' in reply.body
    send(thu, visit_xml(str(uuid.uuid4()), create=True))
    assert len(phone_list(thu)[1]) == 1


def test_an_offline_chain_arriving_out_of_order_is_applied_in_order(world, db):
    """Created online (v1), then on a phone offline: two updates in one branch, sent in the
    wrong order. The second waits until the first is applied."""
    thu = world["thu"]
    hid = str(uuid.uuid4())
    send(thu, visit_xml(hid, create=True))
    approve_all(db)
    branch = str(uuid.uuid4())
    first = f"uuid:{uuid.uuid4()}"
    second = f"uuid:{uuid.uuid4()}"
    send(
        thu,
        visit_xml(
            hid,
            create=False,
            size=6,
            base="2",
            trunk="1",
            branch=branch,
            instance=second,
            head="Second",
        ),
    )
    approve(db, second)
    with db.session() as s:
        assert s.scalar(select(Entity.version)) == 1  # held
        assert s.scalar(select(EntityBacklog.branch_base_version)) == 2
    send(
        thu,
        visit_xml(
            hid,
            create=False,
            size=5,
            base="1",
            trunk="1",
            branch=branch,
            instance=first,
            head="First",
        ),
    )
    approve(db, first)
    with db.session() as s:
        entity = s.scalar(select(Entity))
        assert entity.version == 3 and entity.data["hh_size"] == "6"
        assert entity.label.endswith("Second") and entity.conflict is None
        assert s.scalar(select(EntityBacklog.id)) is None
        order = s.execute(
            select(EntityVersion.version, Submission.instance_id)
            .join(Submission, Submission.id == EntityVersion.submission_id)
            .order_by(EntityVersion.version)
        ).all()
        assert [i for _v, i in order][1:] == [first, second]


def test_an_offline_create_and_update_arriving_update_first(world, db):
    thu = world["thu"]
    hid = str(uuid.uuid4())
    branch = str(uuid.uuid4())
    update_id = f"uuid:{uuid.uuid4()}"
    send(thu, visit_xml(hid, create=False, size=7, base="1", branch=branch, instance=update_id))
    approve_all(db)
    with db.session() as s:
        assert s.scalar(select(Entity.id)) is None
    send(thu, visit_xml(hid, create=True, size=3))
    approve_all(db)
    with db.session() as s:
        entity = s.scalar(select(Entity))
        assert (entity.version, entity.data["hh_size"]) == (2, "7")


def test_two_phones_updating_one_version_make_one_conflict(world, db):
    thu = world["thu"]
    hid = str(uuid.uuid4())
    send(thu, visit_xml(hid, create=True))
    approve_all(db)
    other = CollectClient(thu.send, "http://localhost", "thu", PASSWORD)  # a second phone
    send(thu, visit_xml(hid, create=False, size=5, base="1", branch=str(uuid.uuid4()), trunk="1"))
    send(other, visit_xml(hid, create=False, size=8, base="1", branch=str(uuid.uuid4()), trunk="1"))
    approve_all(db)
    with db.session() as s:
        entity = s.scalar(select(Entity))
        assert entity.version == 3 and entity.conflict == "hard"
        last = s.scalar(select(EntityVersion).where(EntityVersion.version == 3))
        assert last.conflicting == ["hh_size"] and last.base_version == 1
        assert s.scalar(select(EntityVersion.conflicting).where(EntityVersion.version == 2)) is None


def test_a_collector_never_receives_another_areas_entities(world, db):
    send(world["thu"], visit_xml(str(uuid.uuid4()), create=True, area=T01, code="A-1"))
    send(world["hoa"], visit_xml(str(uuid.uuid4()), create=True, area=T02, code="B-1"))
    approve_all(db)
    assert [r["household_code"] for r in phone_list(world["thu"])[1]] == ["A-1"]
    assert [r["household_code"] for r in phone_list(world["hoa"])[1]] == ["B-1"]


def test_integrity_says_which_entities_are_gone(world, db):
    thu = world["thu"]
    hid = str(uuid.uuid4())
    send(thu, visit_xml(hid, create=True))
    approve_all(db)
    ghost = str(uuid.uuid4())
    reply = thu.request("GET", f"http://localhost/datasets/households/integrity?id={hid},{ghost}")
    assert reply.status == 200
    assert f'<entity id="{hid}">\n      <deleted>false</deleted>'.encode() in reply.body
    assert f'<entity id="{ghost}">\n      <deleted>true</deleted>'.encode() in reply.body


def test_an_update_of_an_unknown_entity_is_a_problem_not_a_loss(world, db):
    thu = world["thu"]
    send(thu, visit_xml(str(uuid.uuid4()), create=False, base="1"))
    approve_all(db)
    with db.session() as s:
        from khudan.models import SubmissionProblem

        rules = s.scalars(select(SubmissionProblem.rule)).all()
        assert "entity-not-found" in rules
        assert s.scalar(select(Submission.id)) is not None


def test_csv_import_creates_and_updates_within_the_importers_areas(world, db):
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        lst = entities.get_list(s, "households")
        data = (
            "label,household_code,head,province,commune,area_code\n"
            f"HN-1 - An,HN-1,An,52,21607,{T01}\n"
            f"HN-2 - Bình,HN-2,Bình,52,21607,{T02}\n"
            "X - Ngoài,X,Ngoài,52,21553,21553.K01\n"
            ",HN-3,,52,21607,21607.T01\n"
        ).encode()
        report = entities.import_csv(s, lst, data, lan)
        s.commit()
    assert (report.created, report.updated) == (2, 0)
    assert [line for line, _ in report.rejected] == [4, 5]
    assert [r["household_code"] for r in phone_list(world["thu"])[1]] == ["HN-1"]


def test_a_held_update_is_forced_after_the_wait(world, db):
    """The update before it never arrives (the phone was lost): after the wait it is applied on
    the latest version, and an update of an entity that never arrived creates it."""
    thu = world["thu"]
    hid = str(uuid.uuid4())
    send(thu, visit_xml(hid, create=True))
    approve_all(db)
    branch = str(uuid.uuid4())
    send(thu, visit_xml(hid, create=False, size=9, base="3", trunk="1", branch=branch))
    orphan = str(uuid.uuid4())
    send(thu, visit_xml(orphan, create=False, code="HN-02", size=2, base="2", branch=branch))
    approve_all(db)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EntityBacklog)) == 2
    ctx = jobs.Context.plain(db, None)
    assert jobs.force_held(ctx) == 0  # five days have not passed
    ctx = jobs.Context(db, None, ctx.policy, ctx.limits, backlog_wait=dt.timedelta(0))
    assert jobs.force_held(ctx) == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EntityBacklog)) == 0
        forced = s.scalar(select(Entity).where(Entity.uuid == hid))
        assert (forced.version, forced.data["hh_size"]) == (2, "9")
        created = s.scalar(select(Entity).where(Entity.uuid == orphan))
        assert created.version == 1 and created.data["hh_size"] == "2"


def _others(db, n: int, start: int) -> None:
    """``n`` households of thôn T02 (not thu's), imported by the commune's supervisor."""
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        rows = "".join(f"B-{i} - Hộ {i},B-{i},52,21607,{T02}\n" for i in range(start, start + n))
        data = ("label,household_code,province,commune,area_code\n" + rows).encode()
        assert entities.import_csv(s, entities.get_list(s, "households"), data, lan).created == n
        s.commit()


def test_a_phones_list_costs_the_same_whatever_other_areas_hold(world, db):
    """Statements and bytes for thu's manifest and list (thôn T01) do not change when thôn T02
    grows from 20 to 400 households, and the database reads T01's rows by index."""
    send(world["thu"], visit_xml(str(uuid.uuid4()), create=True, code="A-1"))
    approve_all(db)
    counted: list[str] = []

    def count(conn, cursor, statement, *args):
        counted.append(statement)

    def fetch() -> tuple[int, bytes]:
        counted.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            _entry, rows = phone_list(world["thu"])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(counted), repr(rows).encode()

    _others(db, 20, 0)
    small = fetch()
    _others(db, 380, 20)
    large = fetch()
    assert large == small
    if db.engine.dialect.name == "sqlite":
        with db.session() as s:
            lst = entities.get_list(s, "households")
            thu = s.scalar(select(User).where(User.username == "thu"))
            query = (
                select(Entity.uuid)
                .where(Entity.list_id == lst.id, entities.scope_clause(s, thu, lst))
                .compile(db.engine, compile_kwargs={"literal_binds": True})
            )
            plan = " ".join(str(r) for r in s.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        assert "ix_entities_list_area" in plan, plan


def test_a_new_household_with_a_listed_code_is_a_problem_not_a_copy(world, db):
    from khudan.models import SubmissionProblem

    thu = world["thu"]
    send(thu, visit_xml(str(uuid.uuid4()), create=True, code="HN-07"))
    approve_all(db)
    send(thu, visit_xml(str(uuid.uuid4()), create=True, code="hn-07", head="Someone else"))
    approve_all(db)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Entity)) == 1
        problem = s.scalar(
            select(SubmissionProblem).where(SubmissionProblem.rule == "entity-duplicate")
        )
        assert "HN-07" in problem.message_en.upper() and "already on the list" in problem.message_en


def test_approved_before_its_checks_ran_the_job_applies_it(world, db, settings, storage):
    """A supervisor approves a submission whose job has not run yet: the household changes when
    the job has the facts, not before and not never."""
    from khudan.app import create_app

    app = create_app(settings.but(process_inline=False, worker_threads=0), db=db)
    phone = CollectClient(flask_sender(app.test_client()), "http://localhost", "thu", PASSWORD)
    hid = str(uuid.uuid4())
    instance = f"uuid:{uuid.uuid4()}"
    send(phone, visit_xml(hid, create=True, instance=instance))
    approve(db, instance)
    with db.session() as s:
        assert s.scalar(select(Entity.id)) is None  # left to the job
    assert jobs.drain(jobs.Context.plain(db, storage)) == 1
    with db.session() as s:
        assert s.scalar(select(Entity.uuid)) == hid


def test_an_import_costs_what_the_file_holds_not_what_the_list_holds(world, db):
    """Re-importing three households reads three entities, whether thôn T02 holds 20 or 400."""
    counted: list[str] = []

    loaded: list[str] = []

    def count(conn, cursor, statement, parameters, *args):
        counted.append(statement)

    def read(target, context):
        loaded.append(target.uuid)

    def import_three() -> tuple[int, int]:
        """(statements, entities read into the session)."""
        with db.session() as s:
            lan = s.scalar(select(User).where(User.username == "lan"))
            lst = entities.get_list(s, "households")
            data = "".join(f"A-{i} - Hộ {i},A-{i},52,21607,{T01}\n" for i in range(3))
            counted.clear()
            loaded.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            event.listen(Entity, "load", read)
            try:
                entities.import_csv(
                    s,
                    lst,
                    ("label,household_code,province,commune,area_code\n" + data).encode(),
                    lan,
                )
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
                event.remove(Entity, "load", read)
            s.commit()
        return len(counted), len(loaded)

    import_three()  # the three exist from here on
    _others(db, 20, 0)
    small = import_three()
    _others(db, 380, 20)
    assert import_three() == small and small[1] == 3


def test_an_import_writes_its_new_households_together_and_a_later_line_makes_version_2(world, db):
    """The statements of an import that makes 10 households equal those of one that makes 200
    (two batched INSERTs, as SQLAlchemy runs them), and a later line of the file that changes a
    household made by an earlier line gives it a version 2 after its version 1."""
    statements: list = []

    def run_import(lines: list[str]) -> int:
        with db.session() as s:
            lan = s.scalar(select(User).where(User.username == "lan"))
            lst = entities.get_list(s, "households")
            data = "label,name,household_code,province,commune,area_code\n" + "".join(lines)
            statements.clear()
            record = lambda _conn, clause, *_a: statements.append(clause)  # noqa: E731
            event.listen(db.engine, "before_execute", record)
            try:
                report = entities.import_csv(s, lst, data.encode(), lan)
            finally:
                event.remove(db.engine, "before_execute", record)
            s.commit()
        assert report.rejected == []
        return len(statements)

    def lines(prefix: str, n: int) -> list[str]:
        return [f"{prefix}-{i} - Hộ {i},,{prefix}-{i},52,21607,{T01}\n" for i in range(n)]

    assert run_import(lines("B", 10)) == run_import(lines("C", 200))
    uuid = "6f1c7a52-0d8e-4b8a-9a41-6b1f3e2d9c10"
    run_import(
        [
            *lines("D", 3),
            f"D-9 - Hộ Chín,{uuid},D-9,52,21607,{T01}\n",
            f"D-9 - Hộ Chín (sửa),{uuid},D-9,52,21607,{T01}\n",
        ]
    )
    with db.session() as s:
        entity = s.scalars(select(Entity).where(Entity.uuid == uuid)).one()
        versions = s.scalars(
            select(EntityVersion)
            .where(EntityVersion.entity_id == entity.id)
            .order_by(EntityVersion.id)
        ).all()
        assert (entity.version, entity.label) == (2, "D-9 - Hộ Chín (sửa)")
        assert [(v.version, v.label, v.source) for v in versions] == [
            (1, "D-9 - Hộ Chín", "csv"),
            (2, "D-9 - Hộ Chín (sửa)", "csv"),
        ]
        assert s.scalar(select(func.count()).select_from(Entity)) == 10 + 200 + 4


def test_an_entity_id_that_is_no_uuid_is_named_in_plain_words(world, db):
    from khudan.models import SubmissionProblem

    send(world["thu"], visit_xml("not-a-uuid", create=True))
    approve_all(db)
    with db.session() as s:
        problem = s.scalar(select(SubmissionProblem).where(SubmissionProblem.rule == "entity-id"))
        assert problem.message_en == "The entity id is not a version 4 UUID."
        assert problem.message_vi == "Mã thực thể không phải UUID phiên bản 4."

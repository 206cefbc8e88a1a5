"""The work after the 201 (issue: accept in milliseconds, check in the background).

The request only makes a submission durable and writes its job; a worker does the photo work,
validation, domain checks and facts. These tests send real multipart POSTs (Collect's way, real
JPEGs, the shipped poverty_review form) to an app that does not process inline, then run the
workers: jobs are idempotent, survive a crash at any point, retry with back-off and are parked,
never dropped, when they keep failing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import re
import threading
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from collect import CollectClient, flask_sender
from factories import domain_sample, photo, poverty_household
from sqlalchemy import event, func, select, update
from stored import count

from khudan import photos as photo_lib
from khudan.app import create_app
from khudan.cli import main
from khudan.models import (
    Attachment,
    Blob,
    Job,
    JobState,
    PhotoMeta,
    PovertyFact,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
    UserArea,
)
from khudan.models.base import utcnow
from khudan.services import facts, forms, jobs, processing
from khudan.storage.base import derived_key

FORMS = Path(__file__).resolve().parents[2] / "forms"
PASSWORD = "correct horse"


@pytest.fixture
def queued_app(settings, db, storage, registry):
    """An app that leaves the work to workers, as `khudan serve` with `khudan worker` does."""
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    return create_app(settings.but(process_inline=False), db=db, storage=storage)


@pytest.fixture
def phone(queued_app, make_user) -> CollectClient:
    make_user("thu", "collector", areas=("52",))
    return CollectClient(
        flask_sender(queued_app.test_client()), "http://localhost", "thu", PASSWORD
    )


@pytest.fixture
def admin(queued_app, make_user) -> dict:
    """Bearer headers of an admin, for the API of ``queued_app``."""
    make_user("admin1", "admin")
    r = queued_app.test_client().post(
        "/api/v1/sessions", json={"username": "admin1", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {r.json['token']}"}


@pytest.fixture
def work(settings, db, storage) -> jobs.Context:
    return jobs.Context.of(settings, db, storage)


@contextlib.contextmanager
def recorded(db):
    """The statements sent to the database within the block, whitespace folded, upper case."""
    statements: list[str] = []

    def keep(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def household(n: int, photo_name: str | None = "house.jpg") -> bytes:
    """A poverty review of household NC-T01-<n>, with its own instanceID (and the photo)."""
    return poverty_household(
        f"NC-T01-{n:03d}", f"uuid:fa22d4b7-ce38-4004-900a-{n:012d}", photo_name
    )


def logged_in(app, username: str):
    """A client of ``app`` logged in to the pages as ``username``, through the log-in form."""
    client = app.test_client()
    html = client.get("/app/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    reply = client.post(
        "/app/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert reply.status_code == 302, reply.text
    return client


def problems(db, submission_id: int) -> list[tuple[str, str]]:
    with db.session() as s:
        return sorted(
            s.execute(
                select(SubmissionProblem.rule, SubmissionProblem.path)
                .join(SubmissionVersion, SubmissionVersion.id == SubmissionProblem.version_id)
                .where(SubmissionVersion.submission_id == submission_id)
            ).all()
        )


def only_submission(db) -> Submission:
    with db.session() as s:
        return s.scalars(select(Submission)).one()


def test_the_request_stores_and_queues_and_a_worker_does_the_rest(
    phone, db, storage, work, admin, queued_app
):
    picture = photo(1, size=(1280, 960))
    [reply] = phone.submit(household(1), {"house.jpg": picture})
    assert reply.status == 201
    # Stored and acknowledged: the submission, its file and one job; nothing derived yet.
    submission = only_submission(db)
    assert (count(db, Job), count(db, PhotoMeta), count(db, PovertyFact)) == (1, 0, 0)
    assert problems(db, submission.id) == []
    with db.session() as s:
        blob = s.scalars(select(Blob)).one()
        assert blob.content_type == "image/jpeg"  # by its name, until the worker looks
    assert not storage.exists(derived_key(blob.sha256, "320.jpg"))
    api = queued_app.test_client()
    headers = admin
    listed = api.get("/api/v1/submissions", headers=headers).json["items"]
    assert [(i["processing"], i["processing_error"]) for i in listed] == [(True, None)]
    page = api.get(f"/api/v1/submissions/{submission.id}", headers=headers).json
    assert page["processing"] is True

    assert jobs.drain(work) == 1
    assert count(db, Job) == 0
    with db.session() as s:
        version = s.get(SubmissionVersion, submission.current_version_id)
        assert version.processed_at is not None
        assert s.scalars(select(Attachment.checked_at)).one() is not None
        assert s.scalars(select(PovertyFact.household_code)).all() == ["NC-T01-001"]
        placed = s.get(Submission, submission.id)
        assert (placed.latitude, placed.longitude) == (13.7721, 109.2981)  # for the map page
        meta = s.scalars(select(PhotoMeta)).one()
        assert (meta.width, meta.height) == (1280, 960)
    assert storage.exists(derived_key(blob.sha256, "320.jpg"))
    listed = api.get("/api/v1/submissions", headers=headers).json["items"]
    assert [i["processing"] for i in listed] == [False]


def test_no_image_is_decoded_in_the_request(phone, db, work, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded in the request")

    monkeypatch.setattr(photo_lib, "inspect", refuse)
    [reply] = phone.submit(household(2), {"house.jpg": photo(2)})
    assert reply.status == 201
    monkeypatch.undo()
    assert jobs.drain(work) == 1 and count(db, PhotoMeta) == 1


def test_a_crash_before_the_commit_leaves_the_job_and_its_rerun_gives_the_same_result(
    phone, db, work, monkeypatch
):
    [_reply] = phone.submit(household(3), {"house.jpg": photo(3)})
    submission = only_submission(db)
    clean = _twin_result(phone, db, work)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(processing.photos, "check", crash)  # after the facts, before the commit
    assert jobs.drain(work) == 0
    with db.session() as s:
        job = s.scalars(select(Job)).one()
        assert (job.state, job.attempts, job.locked_until) == ("pending", 1, None)
        assert job.error == "RuntimeError: killed"
        assert job.run_after.replace(tzinfo=None) > utcnow().replace(tzinfo=None)  # back-off
        s.execute(update(Job).values(run_after=utcnow()))
        s.commit()
    assert count(db, PovertyFact) == 1  # only the twin's: the crashed run wrote nothing
    assert problems(db, submission.id) == []
    monkeypatch.undo()
    assert jobs.drain(work) == 1
    assert problems(db, submission.id) == clean
    assert count(db, PovertyFact) == 2


def _twin_result(phone, db, work) -> list:
    """Send a second household like the first, process it cleanly; its problems."""
    [reply] = phone.submit(household(4), {"house.jpg": photo(4)})
    assert reply.status == 201
    with db.session() as s:
        twin = s.scalar(select(Submission.id).order_by(Submission.id.desc()))
        job = s.scalar(
            select(Job.id).join(SubmissionVersion).where(SubmissionVersion.submission_id == twin)
        )
    claimed = jobs.claim(db, "test", job)
    assert jobs.run(work, claimed)
    return problems(db, twin)


def test_a_worker_killed_mid_job_holds_a_lease_that_runs_out(phone, db, work):
    phone.submit(household(5), {"house.jpg": photo(5)})
    first = jobs.claim(db, "worker-that-dies")
    assert first is not None and first.attempts == 1
    assert jobs.claim(db, "another") is None  # leased
    with db.session() as s:  # the dead worker's lease runs out
        s.execute(update(Job).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
        s.commit()
    again = jobs.claim(db, "another")
    assert (again.id, again.attempts) == (first.id, 2)
    assert jobs.run(work, again)
    assert count(db, Job) == 0 and count(db, PovertyFact) == 1


def test_a_worker_claims_a_few_jobs_at_once_oldest_first(phone, db, work):
    for n in range(5):
        assert [r.status for r in phone.submit(household(40 + n), None)] == [201]
    first = jobs.claim_many(db, "busy", limit=3)
    assert [job.attempts for job in first] == [1, 1, 1]
    assert [job.id for job in first] == sorted(job.id for job in first)
    rest = jobs.claim_many(db, "another", limit=3)
    assert len(rest) == 2 and not {j.id for j in rest} & {j.id for j in first}
    assert jobs.claim_many(db, "third") == []  # all leased
    pauses = []  # a worker thread lets its process's requests go first between two jobs
    assert jobs.run_many(work, first, lambda: pauses.append(count(db, Job))) == (3, [])
    assert pauses == [5, 5]  # before the second and the third: none written yet
    assert jobs.run_many(work, rest) == (2, [])
    assert count(db, Job) == 0 and count(db, PovertyFact) == 5


def test_jobs_run_together_give_what_they_give_one_by_one(phone, db, work):
    """Two reviews of one household and a third in one transaction: the duplicate is flagged
    on both, as when each job commits on its own."""
    first = poverty_household("NC-T01-060", "uuid:fa22d4b7-ce38-4004-900a-000000000060", None)
    again = poverty_household("NC-T01-060", "uuid:fa22d4b7-ce38-4004-900a-000000000160", None)
    other = poverty_household("NC-T01-061", "uuid:fa22d4b7-ce38-4004-900a-000000000061", None)
    for body in (first, again, other):
        assert [r.status for r in phone.submit(body, None)] == [201]
    claimed = jobs.claim_many(db, "w")
    assert len(claimed) == 3
    assert jobs.run_many(work, claimed) == (3, [])
    assert count(db, Job) == 0 and count(db, PovertyFact) == 2
    with db.session() as s:
        ids = s.scalars(select(Submission.id).order_by(Submission.id)).all()
    assert {rule for rule, _ in problems(db, ids[0])} == {"duplicate-household"}
    assert {rule for rule, _ in problems(db, ids[1])} == {"duplicate-household"}
    assert problems(db, ids[2]) == []


def test_jobs_run_together_share_the_statements_every_job_makes(phone, db, work):
    """Locking the versions, marking them processed, placing their submissions on the map and
    deleting the jobs is one statement for a batch, not one a job (a round trip each on
    PostgreSQL); each version still gets its own marker, place and facts."""
    for n in range(4):
        assert [r.status for r in phone.submit(household(90 + n, None), None)] == [201]
    claimed = jobs.claim_many(db, "w")
    assert len(claimed) == 4
    with recorded(db) as statements:
        assert jobs.run_many(work, claimed) == (4, [])

    def made(start: str) -> int:
        return sum(s.startswith(start) for s in statements)

    assert made("DELETE FROM JOBS") == 1
    assert made("UPDATE SUBMISSION_VERSIONS SET PROCESSED_AT") == 1
    assert made("UPDATE SUBMISSIONS SET LATITUDE") == 1
    assert sum(s.startswith("SELECT") and "FOR UPDATE" in s for s in statements) <= 1
    with db.session() as s:
        rows = s.execute(
            select(SubmissionVersion.processed_at, Submission.latitude).join(
                Submission, Submission.current_version_id == SubmissionVersion.id
            )
        ).all()
    assert len(rows) == 4 and all(done and lat == 13.7721 for done, lat in rows)
    assert count(db, Job) == 0 and count(db, PovertyFact) == 4


def test_a_batch_reads_the_rows_its_jobs_share_once(phone, db, work):
    """The form's media, the sender's areas, the commune's kind and the entity lists waiting for
    approval are read once for the four jobs of a batch (each a round trip on PostgreSQL), and
    read again by the next batch, which sees a change made in between; each job's version and
    unchecked files are read ahead for the four in one statement each."""
    for n in range(8):
        assert [r.status for r in phone.submit(household(100 + n, None), None)] == [201]

    def reads(statements: list[str]) -> dict[str, int]:
        shared = {
            "media": "FROM FORM_MEDIA",
            "areas": "FROM USERS LEFT OUTER JOIN USER_AREAS",
            "kind": "SELECT AREAS.KIND FROM AREAS",
            "lists": "FROM ENTITY_LISTS WHERE",
            "versions": "JOIN FORM_VERSIONS ON FORM_VERSIONS.ID = SUBMISSION_VERSIONS.FORM_VERSION_ID",
            "files": "FROM ATTACHMENTS JOIN BLOBS",
        }
        return {
            k: sum(s.startswith("SELECT") and v in s for s in statements) for k, v in shared.items()
        }

    once = {k: 1 for k in ("media", "areas", "kind", "lists", "versions", "files")}
    with recorded(db) as statements:
        assert jobs.run_many(work, jobs.claim_many(db, "w")) == (4, [])
    assert reads(statements) == once
    with db.session() as s:  # the collector loses the province: the next batch sees it
        s.execute(update(UserArea).values(area_code="01"))
        s.commit()
    with recorded(db) as statements:
        assert jobs.run_many(work, jobs.claim_many(db, "w")) == (4, [])
    assert reads(statements) == once
    with db.session() as s:
        ids = s.scalars(select(Submission.id).order_by(Submission.id)).all()
    assert [r for r, _ in problems(db, ids[0])] == []
    assert [r for r, _ in problems(db, ids[-1])] == ["out-of-scope"]


def test_a_batch_of_new_photos_is_kept_without_reading_it_back(phone, db, work):
    """Four households each with a new photo: the batch claims their files in one statement,
    writes each photo's metadata without first asking whether it exists (ON CONFLICT) nor
    reading it back for the checks, and leaves the blob's type alone when the bytes are what
    the name said; what it keeps is what a reading would find. A fifth household sending the
    first one's photo again is checked against the stored row: reused."""
    for n in range(4):
        files = {"house.jpg": photo(60 + n)}
        assert [r.status for r in phone.submit(household(60 + n), files)] == [201]
    with recorded(db) as statements:
        assert jobs.run_many(work, jobs.claim_many(db, "w")) == (4, [])

    def made(start: str, having: str = "") -> int:
        return sum(s.startswith(start) and having in s for s in statements)

    assert made("UPDATE ATTACHMENTS SET CHECKED_AT") == 1
    assert made("SELECT", "FROM ATTACHMENTS WHERE") == 0  # the claim returns what it marked
    assert made("SELECT", "FROM PHOTO_META WHERE") == 0  # neither asked first nor read back
    assert made("SELECT", "FROM BLOBS JOIN PHOTO_META") == 0  # known or not: read ahead
    assert made("INSERT INTO PHOTO_META") == 4
    assert made("UPDATE BLOBS SET CONTENT_TYPE") == 0
    postgres = db.engine.dialect.name == "postgresql"
    assert made("SELECT PG_ADVISORY_XACT_LOCK") == postgres  # held until the commit: once
    with db.session() as s:
        metas = s.scalars(select(PhotoMeta).order_by(PhotoMeta.blob_id)).all()
        assert [(m.kind, m.verdict, m.width, m.height) for m in metas] == [
            ("jpeg", "ok", 640, 480)
        ] * 4
        assert len({m.dhash for m in metas}) == 4
        types = s.scalars(select(Blob.content_type).join(PhotoMeta)).all()
        assert types == ["image/jpeg"] * 4
        assert s.scalar(select(func.count()).where(Attachment.checked_at.is_(None))) == 0
    assert [problems(db, i) for i in range(1, 5)] == [[]] * 4

    files = {"house.jpg": photo(60)}
    assert [r.status for r in phone.submit(household(64), files)] == [201]
    with recorded(db) as statements:
        assert jobs.drain(work) == 1
    assert made("SELECT PG_ADVISORY_XACT_LOCK") == postgres  # a new transaction waits again
    assert made("SELECT", "FROM PHOTO_META WHERE") == 1  # a known photo's row is read
    assert [rule for rule, _ in problems(db, 5)] == ["photo-reused"]
    assert [rule for rule, _ in problems(db, 1)] == ["photo-reused"]


def test_a_file_named_as_a_photo_that_is_none_gets_the_type_its_bytes_say(phone, db, work):
    """The request records a blob with the type its name suggests; the job, having looked at
    the bytes, corrects it once."""
    files = {"house.jpg": b"%PDF-1.4 not a picture at all" * 20}
    assert [r.status for r in phone.submit(household(70), files)] == [201]
    assert jobs.drain(work) == 1
    with db.session() as s:
        blob = s.scalars(select(Blob).join(PhotoMeta)).one()
        assert blob.content_type == "application/octet-stream"
    assert [rule for rule, _ in problems(db, 1)] == ["photo-not-image"]


def test_a_batch_reads_its_households_facts_in_one_statement(phone, db, work):
    """Four households: their facts (none yet) are read together, not one statement a job."""
    for n in range(4):
        assert [r.status for r in phone.submit(household(110 + n, None), None)] == [201]
    with recorded(db) as statements:
        assert jobs.run_many(work, jobs.claim_many(db, "w")) == (4, [])
    assert sum(s.startswith("SELECT") and "FROM POVERTY_FACTS" in s for s in statements) == 1
    assert count(db, PovertyFact) == 4


def test_one_household_twice_in_a_batch_sees_what_the_first_job_wrote(phone, db, work, caplog):
    """The facts read ahead for a batch are taken once: a second job of the same household (the
    next period, or the same period sent again) reads them as the first job left them, so the
    periods are linked and the later review wins, without the batch failing on the unique key."""
    body = household(120, None)
    sends = [
        body,
        body.replace(b"<period>2025<", b"<period>2026<").replace(b"900a-0000", b"900b-0000"),
        household(121, None),
        household(121, None)
        .replace(b"<income_per_capita>1200000<", b"<income_per_capita>5200000<")
        .replace(b"900a-0000", b"900c-0000"),
    ]
    for xml in sends:
        assert [r.status for r in phone.submit(xml, None)] == [201]
    claimed = jobs.claim_many(db, "w")
    assert len(claimed) == 4
    with caplog.at_level("INFO", logger="khudan.services.jobs"):
        assert jobs.run_many(work, claimed) == (4, [])
    assert "failed" not in caplog.text
    with db.session() as s:
        rows = s.execute(
            select(
                PovertyFact.household_code,
                PovertyFact.period,
                PovertyFact.poverty_class,
                PovertyFact.prev_class,
                PovertyFact.income_per_capita,
            ).order_by(PovertyFact.household_code, PovertyFact.period)
        ).all()
    first_class = rows[0].poverty_class
    assert [(r.household_code, r.period, r.prev_class) for r in rows] == [
        ("NC-T01-120", "2025", None),
        ("NC-T01-120", "2026", first_class),
        ("NC-T01-121", "2025", None),
    ]
    assert rows[2].income_per_capita == 5_200_000  # the later of the two reviews


def test_a_failing_job_among_others_is_retried_alone(phone, db, work, monkeypatch):
    for n in range(3):
        assert [r.status for r in phone.submit(household(70 + n, None), None)] == [201]
    claimed = jobs.claim_many(db, "w")
    bad = claimed[1]
    prepare = processing.prepare

    def failing(db_, storage, job_id, version_id, *args):
        if job_id == bad.id:
            raise OSError("storage unreachable")
        return prepare(db_, storage, job_id, version_id, *args)

    monkeypatch.setattr(processing, "prepare", failing)
    assert jobs.run_many(work, claimed) == (2, [])
    with db.session() as s:
        left = s.execute(select(Job.id, Job.attempts, Job.error, Job.locked_by)).all()
    assert left == [(bad.id, 1, "OSError: storage unreachable", None)]
    assert count(db, PovertyFact) == 2


def test_a_busy_worker_claims_its_next_jobs_with_the_writes_of_the_last(phone, db, work):
    """One turn of the write lock and one commit a batch: a worker that took the lock again to
    claim waited behind the other workers' writes."""
    for n in range(6):
        assert [r.status for r in phone.submit(household(80 + n, None), None)] == [201]
    first = jobs.claim_many(db, "w", limit=3)
    commits = []
    listener = lambda connection: commits.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        done, following = jobs.run_many(work, first, claim_for="w")
        assert (done, len(commits)) == (3, 1)  # the three written and the next claimed at once
        with db.session() as s:
            leased = s.execute(select(Job.id).where(Job.locked_by == "w")).scalars().all()
        assert sorted(leased) == [j.id for j in following] and len(following) == 3
        assert not {j.id for j in following} & {j.id for j in first}
        assert jobs.run_many(work, following, claim_for="w") == (3, [])  # nothing left to claim
    finally:
        event.remove(db.engine, "commit", listener)
    assert count(db, Job) == 0 and count(db, PovertyFact) == 6


def test_a_batch_that_fails_after_its_claim_takes_the_claim_with_it(phone, db, work, monkeypatch):
    for n in range(5):
        assert [r.status for r in phone.submit(household(90 + n, None), None)] == [201]
    claimed = jobs.claim_many(db, "w", limit=2)
    claim_in, failures = jobs.claim_in, [OSError("disk gone")]

    def claim_then_fail(session, *args, **kwargs):
        found = claim_in(session, *args, **kwargs)
        assert len(found) == 3  # claimed in the batch's transaction...
        if failures:
            raise failures.pop()  # ...which then fails (once)
        return found

    monkeypatch.setattr(jobs, "claim_in", claim_then_fail)
    # Each job then runs alone and is done, and the three jobs claimed with the batch's writes
    # were released with them: free for any worker, their attempts not counted.
    assert jobs.run_many(work, claimed, claim_for="w") == (2, [])
    assert not failures
    with db.session() as s:
        rows = s.execute(select(Job.locked_by, Job.attempts)).all()
    assert sorted(rows) == [(None, 0)] * 3


def test_a_job_that_keeps_failing_is_parked_shown_and_tried_again(
    phone, db, work, monkeypatch, admin, queued_app, settings
):
    phone.submit(household(6), {"house.jpg": photo(6)})
    monkeypatch.setattr(processing.photos, "prepare", _broken_storage)
    for _ in range(jobs.MAX_ATTEMPTS):
        with db.session() as s:
            s.execute(update(Job).values(run_after=utcnow()))
            s.commit()
        jobs.drain(work)
    with db.session() as s:
        job = s.scalars(select(Job)).one()
        assert (job.state, job.attempts) == (JobState.PARKED.value, jobs.MAX_ATTEMPTS)
    assert jobs.drain(work) == 0  # parked jobs are not claimed
    [item] = queued_app.test_client().get("/api/v1/submissions", headers=admin).json["items"]
    assert item["processing"] is True
    assert item["processing_error"] == "ValueError: storage unreachable"
    env = {
        "KHUDAN_DATABASE_URL": settings.database_url,
        "KHUDAN_MEDIA_ROOT": str(settings.media_root),
        "KHUDAN_INSTANCE_DIR": str(settings.instance_dir),
    }
    page = logged_in(queued_app, "admin1")
    text = page.get("/app/queue").text
    assert "ValueError: storage unreachable" in text and 'id="queue-parked"' in text
    status = CliRunner().invoke(main, ["status"], env=env)
    assert "0 job(s) waiting; 1 parked after repeated failures" in status.output
    assert "  parked: NC-T01-017 - Nguyễn Văn Hải: ValueError: storage unreachable" in status.output
    monkeypatch.undo()
    r = CliRunner().invoke(main, ["worker", "--retry-parked", "--drain"], env=env)
    assert r.exit_code == 0, r.output
    assert "1 parked job(s) will be tried again" in r.output and "1 job(s) done" in r.output
    assert count(db, Job) == 0 and count(db, PovertyFact) == 1
    audit = queued_app.test_client().get("/api/v1/audit?action=jobs.retry_parked", headers=admin)
    assert [(e["actor"], e["details"]) for e in audit.json["items"]] == [(None, {"jobs": 1})]


def test_the_queue_api_shows_what_waits_and_retries_the_parked(
    phone, db, work, monkeypatch, admin, queued_app, make_user
):
    phone.submit(household(9), {"house.jpg": photo(9)})
    monkeypatch.setattr(processing.photos, "prepare", _broken_storage)
    for _ in range(jobs.MAX_ATTEMPTS):  # parked after its last try
        with db.session() as s:
            s.execute(update(Job).values(run_after=utcnow()))
            s.commit()
        jobs.drain(work)
    phone.submit(household(10), {"house.jpg": photo(10)})  # waits, queued two hours ago
    with db.session() as s:
        s.execute(
            update(Job)
            .where(Job.state == JobState.PENDING.value)
            .values(created_at=utcnow() - dt.timedelta(hours=2, minutes=5))
        )
        s.commit()
    api = queued_app.test_client()

    queue = api.get("/api/v1/queue", headers=admin).json
    assert (queue["pending"], queue["parked"]) == (1, 1)
    assert 7500 <= queue["oldest_seconds"] < 7560
    [parked] = queue["parked_jobs"]
    assert parked["instance_id"] == "uuid:fa22d4b7-ce38-4004-900a-000000000009"
    assert parked["instance_name"] == "NC-T01-017 - Nguyễn Văn Hải"  # as the XML names it
    assert (parked["attempts"], parked["error"]) == (
        jobs.MAX_ATTEMPTS,
        "ValueError: storage unreachable",
    )
    page = logged_in(queued_app, "admin1").get("/app/queue").text
    assert "2 giờ 5 phút" in page and "ValueError: storage unreachable" in page

    make_user("lan", "supervisor", areas=("52",))
    supervisor = api.post("/api/v1/sessions", json={"username": "lan", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {supervisor.json['token']}"}
    assert api.get("/api/v1/queue", headers=bearer).status_code == 403
    assert api.post("/api/v1/queue/retry", headers=bearer).status_code == 403
    assert api.get("/api/v1/queue").status_code == 401

    monkeypatch.undo()  # the cause is fixed
    assert api.post("/api/v1/queue/retry", headers=admin).json == {"retried": 1}
    events = api.get("/api/v1/audit?action=jobs.retry_parked", headers=admin).json["items"]
    assert [(e["actor"], e["details"]) for e in events] == [("admin1", {"jobs": 1})]
    assert jobs.drain(work) == 2
    assert count(db, PovertyFact) == 2
    queue = api.get("/api/v1/queue", headers=admin).json
    assert queue == {"pending": 0, "oldest_seconds": None, "parked": 0, "parked_jobs": []}


def _broken_storage(*args, **kwargs):
    raise ValueError("storage unreachable")


def test_a_file_sent_later_gets_a_job_of_its_own_and_is_checked_once(phone, db, work):
    xml = household(7)
    assert [r.status for r in phone.submit(xml)] == [201]  # the photo is still missing
    assert jobs.drain(work) == 1
    assert [r.status for r in phone.submit(xml, {"house.jpg": photo(7)})] == [201]
    assert count(db, Job) == 1
    assert jobs.drain(work) == 1
    assert [r.status for r in phone.submit(xml, {"house.jpg": photo(7)})] == [201]
    assert count(db, Job) == 0  # nothing new: no job
    with db.session() as s:
        assert s.scalars(select(Attachment.checked_at)).one() is not None
        assert count(db, PhotoMeta) == 1 and count(db, PovertyFact) == 1


def test_a_file_arriving_while_a_job_runs_is_left_to_its_own_job(phone, db, work, monkeypatch):
    """The first job prepared without the photo; the resend that fills it in lands before that
    job writes: the first job must not mark the photo checked, or it is never inspected."""
    xml = household(8)
    assert [r.status for r in phone.submit(xml)] == [201]  # the photo is still missing
    [first] = jobs.claim_many(db, "w")
    work_of_first = processing.prepare(
        db, work.storage, first.id, first.version_id, work.policy, work.limits
    )
    assert [r.status for r in phone.submit(xml, {"house.jpg": photo(8)})] == [201]
    with db.write_lock(), db.session() as session:
        processing.write_all(session, [work_of_first])
        session.commit()
    with db.session() as s:
        assert s.scalars(select(Attachment.checked_at)).one() is None
    assert jobs.drain(work) == 1  # the resend's job
    with db.session() as s:
        assert s.scalars(select(Attachment.checked_at)).one() is not None
    assert count(db, PhotoMeta) == 1 and count(db, Job) == 0


def test_worker_threads_run_each_job_once(phone, db, work):
    n = 12
    for i in range(n):
        assert [r.status for r in phone.submit(household(100 + i), {"house.jpg": photo(i)})] == [
            201
        ]
    workers = jobs.Workers(work, threads=3).start()
    try:
        deadline = time.monotonic() + 60
        while count(db, Job) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        workers.stop()
    assert count(db, Job) == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PovertyFact)) == n
        unprocessed = select(func.count()).where(SubmissionVersion.processed_at.is_(None))
        assert s.scalar(unprocessed.select_from(SubmissionVersion)) == 0
        assert s.scalar(select(func.count()).select_from(PhotoMeta)) == n
        # No problem row was written twice.
        rows = s.execute(select(SubmissionProblem.version_id, SubmissionProblem.rule)).all()
        assert len(rows) == len(set(rows))


def test_worker_threads_carry_their_name_for_top_and_ps(work):
    """`top -H` and `ps -L` show which threads of an app process run the jobs (the benchmark
    reads their CPU by that name)."""

    def named() -> int:
        names = []
        for comm in Path("/proc/self/task").glob("*/comm"):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                names.append(comm.read_text().strip())
        return names.count(jobs.THREAD_NAME)

    before = named()
    workers = jobs.Workers(work, 2).start()
    try:
        deadline = time.monotonic() + 5
        while named() < before + 2:
            assert time.monotonic() < deadline, "the worker threads were not named"
            time.sleep(0.01)
    finally:
        workers.stop()


def test_worker_threads_let_the_requests_of_their_process_go_first(phone, db, work, monkeypatch):
    assert [r.status for r in phone.submit(household(9), {"house.jpg": photo(9)})] == [201]
    monkeypatch.setattr(jobs, "MAX_YIELD_SECONDS", 1.5)
    requests = jobs.Requests()
    inside, release = threading.Event(), threading.Event()

    def slow(environ, start_response):  # a request that takes its time
        inside.set()
        release.wait(30)
        return [b""]

    caller = threading.Thread(target=requests.middleware(slow), args=({}, None))
    caller.start()
    assert inside.wait(5)
    workers = jobs.Workers(work, threads=1, requests=requests).start()
    try:
        time.sleep(0.5)
        assert count(db, Job) == 1  # the job waits while the request runs ...
        deadline = time.monotonic() + 30
        while count(db, Job) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count(db, Job) == 0  # ... but not for ever: a steady load does not starve it
        assert requests.in_flight == 1
    finally:
        release.set()
        caller.join(5)
        workers.stop()
    assert count(db, PovertyFact) == 1


def test_serve_wakes_its_worker_threads_after_each_submission(
    settings, db, storage, registry, make_user
):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    app = create_app(settings.but(process_inline=False, worker_threads=1), db=db, storage=storage)
    make_user("thu", "collector", areas=("52",))
    phone = CollectClient(flask_sender(app.test_client()), "http://localhost", "thu", PASSWORD)
    try:
        done = threading.Event()
        assert [r.status for r in phone.submit(household(8), {"house.jpg": photo(8)})] == [201]
        deadline = time.monotonic() + 30
        while count(db, Job) and time.monotonic() < deadline:
            done.wait(0.02)
        assert count(db, Job) == 0 and count(db, PovertyFact) == 1
    finally:
        app.extensions["khudan"].queue.stop()


def test_reports_say_how_many_submissions_are_not_processed_yet(
    phone, db, work, admin, queued_app, make_user
):
    phone.submit(household(9), {"house.jpg": photo(9)})
    api = queued_app.test_client()
    report = api.get("/api/v1/reports/poverty?period=2025&area=21607", headers=admin).json
    assert report["unprocessed"] == 1
    moves = api.get("/api/v1/reports/poverty/transitions?period=2025", headers=admin).json
    assert moves["unprocessed"] == 1
    other = api.get("/api/v1/reports/poverty?period=2025&area=21553", headers=admin).json
    assert other["unprocessed"] == 0  # another commune
    family = api.get("/api/v1/reports/cultural-family?period=2025", headers=admin).json
    assert family["unprocessed"] == 0  # another kind of form
    make_user("lan", "supervisor", areas=("21607",))
    page = logged_in(queued_app, "lan")
    text = page.get("/app/results?kind=poverty&period=2025").text
    assert "1 phiếu trong phạm vi này đang được xử lý" in text
    dashboard = page.get("/app/?period=2025").text  # its figures, with a link to those waiting
    assert "1 phiếu trong phạm vi này đang được xử lý" in dashboard
    assert "processing=true" in dashboard
    jobs.drain(work)
    assert api.get("/api/v1/reports/poverty?period=2025", headers=admin).json["unprocessed"] == 0
    assert 'id="unprocessed"' not in page.get("/app/results?kind=poverty&period=2025").text
    assert 'id="unprocessed"' not in page.get("/app/?period=2025").text


def test_the_dashboard_counts_what_its_link_lists(phone, db, storage, work, queued_app, make_user):
    """The dashboard's "N phiếu … đang được xử lý" links to the review queue's processing filter:
    both count every form's submissions in flight, a satisfaction survey's among them."""
    forms.publish_xlsform(db, storage, FORMS / "satisfaction_survey.xlsx", validate=False)
    phone.submit(household(19))
    survey = domain_sample("sat.xml", **{"<period>2026</period>": "<period>2025</period>"})
    assert [r.status for r in phone.submit(survey)] == [201]
    make_user("lan", "supervisor", areas=("21607",))
    page = logged_in(queued_app, "lan")
    dashboard = page.get("/app/?period=2025").text
    assert "2 phiếu trong phạm vi này đang được xử lý" in dashboard
    link = re.search(r'id="unprocessed"><a href="([^"]+)"', dashboard).group(1)
    listed = page.get(link.replace("&amp;", "&")).text
    assert len(set(re.findall(r'href="/app/submissions/(\d+)\?', listed))) == 2
    jobs.drain(work)
    assert 'id="unprocessed"' not in page.get("/app/?period=2025").text


def test_submissions_still_being_processed_can_be_listed_apart(phone, db, work, admin, queued_app):
    """A supervisor about to approve "no problems" must be able to leave out those not checked."""
    phone.submit(household(11))
    phone.submit(household(12))
    [first, second] = jobs.claim_many(db, "w")
    assert jobs.run_many(work, [first]) == (1, [])  # one checked, the other still waits
    with db.session() as s:
        done, waiting = (
            s.scalar(
                select(SubmissionVersion.submission_id).where(
                    SubmissionVersion.id == job.version_id
                )
            )
            for job in (first, second)
        )
    api = queued_app.test_client()

    def listed(query: str) -> list[int]:
        r = api.get(f"/api/v1/submissions?{query}", headers=admin)
        assert r.status_code == 200, r.json
        return [item["id"] for item in r.json["items"]]

    assert listed("processing=true") == [waiting]
    assert listed("processing=false") == [done]
    assert sorted(listed("")) == sorted([done, waiting])
    pages = logged_in(queued_app, "admin1")
    page = pages.get("/app/review?review_state=&processing=true").text
    assert f"/app/submissions/{waiting}" in page and f"/app/submissions/{done}" not in page
    assert '<option value="true" selected>Đang xử lý</option>' in page
    # Its own page tells a reviewer that its checks are not done yet.
    assert 'id="review-processing"' in pages.get(f"/app/submissions/{waiting}").text
    assert 'id="review-processing"' not in pages.get(f"/app/submissions/{done}").text


def test_every_view_of_what_is_in_flight_agrees(phone, db, work, admin, queued_app):
    """One meaning of "still being processed" (``models.in_flight``) for the API, the review
    queue's filter, the reports and the exports: a later photo of a processed submission is in
    flight (its check may still find a reused photo); a version edited away is not (the edit's
    figures are in the report)."""
    late = household(15)
    assert [r.status for r in phone.submit(late)] == [201]  # the photo is still missing
    assert jobs.drain(work) == 1
    assert [r.status for r in phone.submit(late, {"house.jpg": photo(15)})] == [201]
    # Household 16, sent and then edited before a worker ran either: the edit's job runs first.
    assert [r.status for r in phone.submit(household(16))] == [201]
    previous = "uuid:fa22d4b7-ce38-4004-900a-000000000016"
    meta = {"<instanceID>": f"<deprecatedID>{previous}</deprecatedID><instanceID>"}
    edit = poverty_household("NC-T01-016", "uuid:fa22d4b7-ce38-4004-900a-000000000116", **meta)
    assert [r.status for r in phone.submit(edit, {"house.jpg": photo(16)})] == [201]
    with db.session() as s:
        ids = dict(s.execute(select(Submission.instance_id, Submission.id)).all())
        edited, late_one = ids[previous], ids["uuid:fa22d4b7-ce38-4004-900a-000000000015"]
        edit_job = s.scalar(
            select(Job.id)
            .join(Submission, Submission.current_version_id == Job.version_id)
            .where(Submission.id == edited)
        )
    assert jobs.run_many(work, jobs.claim_many(db, "w", job_id=edit_job)) == (1, [])
    assert count(db, Job) == 2  # the late photo's and the edited-away version's

    api = queued_app.test_client()

    def listed(query: str) -> dict[int, bool]:
        r = api.get(f"/api/v1/submissions?{query}", headers=admin)
        assert r.status_code == 200, r.json
        return {item["id"]: item["processing"] for item in r.json["items"]}

    assert listed("") == {late_one: True, edited: False}
    assert listed("processing=true") == {late_one: True}
    assert listed("processing=false") == {edited: False}
    report = api.get("/api/v1/reports/poverty?period=2025", headers=admin).json
    assert report["unprocessed"] == 1
    r = api.get("/api/v1/forms/poverty_review/submissions.csv", headers=admin)
    rows = csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig"), newline=""))
    processed = {row["instance_id"]: row["processed_at"] for row in rows}
    assert processed[previous].endswith("Z")
    assert processed["uuid:fa22d4b7-ce38-4004-900a-000000000015"] == ""
    assert jobs.drain(work) == 2
    assert listed("processing=true") == {}
    assert api.get("/api/v1/reports/poverty?period=2025", headers=admin).json["unprocessed"] == 0


def test_a_submission_approved_while_its_job_waited_counts_as_approved(
    phone, db, work, admin, queued_app
):
    """The facts keep a copy of "approved" for the reports' approved-only figures: a review
    approved before its checks ran must not be written as not approved by its job."""
    phone.submit(household(13))
    api = queued_app.test_client()
    [item] = api.get("/api/v1/submissions", headers=admin).json["items"]
    assert item["processing"] is True
    r = api.patch(
        f"/api/v1/submissions/{item['id']}", json={"review_state": "approved"}, headers=admin
    )
    assert r.status_code == 200, r.json
    assert jobs.drain(work) == 1
    with db.session() as s:
        assert s.scalars(select(PovertyFact.approved)).all() == [True]
    report = api.get("/api/v1/reports/poverty?period=2025&area=52&depth=0", headers=admin).json
    assert report["areas"][0]["approved"]["reviewed"] == 1

    def edit(n: int, of: int) -> None:
        """Edit ``of`` (household 13's previous version) as Collect sends it."""
        previous = f"uuid:fa22d4b7-ce38-4004-900a-{of:012d}"
        meta = {"<instanceID>": f"<deprecatedID>{previous}</deprecatedID><instanceID>"}
        xml = poverty_household("NC-T01-013", f"uuid:fa22d4b7-ce38-4004-900a-{n:012d}", **meta)
        assert [r.status for r in phone.submit(xml, {"house.jpg": photo(13)})] == [201]

    def fact_approved() -> list[bool]:
        with db.session() as s:
            return s.scalars(select(PovertyFact.approved)).all()

    edit(113, of=13)  # an edit is not approved, whatever its fact said before...
    assert jobs.drain(work) == 1 and fact_approved() == [False]
    edit(213, of=113)  # ...unless a reviewer approved it while its job waited
    r = api.patch(
        f"/api/v1/submissions/{item['id']}", json={"review_state": "approved"}, headers=admin
    )
    assert r.status_code == 200, r.json
    assert jobs.drain(work) == 1 and fact_approved() == [True]


def test_a_submission_rejected_while_its_job_waited_does_not_count(
    phone, db, work, admin, queued_app
):
    """A rejected submission stops counting at once: its job, run later, must not make it the
    household's figures."""
    phone.submit(household(14))
    api = queued_app.test_client()
    [item] = api.get("/api/v1/submissions", headers=admin).json["items"]
    change = {"review_state": "rejected", "comment": "Sai hộ"}
    r = api.patch(f"/api/v1/submissions/{item['id']}", json=change, headers=admin)
    assert r.status_code == 200, r.json
    assert jobs.drain(work) == 1
    report = api.get("/api/v1/reports/poverty?period=2025&area=52&depth=0", headers=admin).json
    assert report["areas"][0]["all"]["reviewed"] == 0

    # A household reviewed before: a second review rejected while its job waited leaves the
    # household's figures to the first.
    phone.submit(household(15))
    assert jobs.drain(work) == 1
    again = poverty_household("NC-T01-015", "uuid:fa22d4b7-ce38-4004-900a-000000000115")
    phone.submit(again)
    items = api.get("/api/v1/submissions?processing=true", headers=admin).json["items"]
    [second] = [i["id"] for i in items]
    r = api.patch(f"/api/v1/submissions/{second}", json=change, headers=admin)
    assert r.status_code == 200, r.json
    assert jobs.drain(work) == 1
    with db.session() as s:
        counted = s.execute(select(PovertyFact.household_key, PovertyFact.submission_id)).all()
        first = s.scalar(
            select(Submission.id).where(
                Submission.instance_id == "uuid:fa22d4b7-ce38-4004-900a-000000000015"
            )
        )
    assert counted == [("21607/NC-T01-015", first)]


def test_a_review_given_while_its_job_writes_waits_for_the_job(
    phone, db, work, admin, queued_app, monkeypatch
):
    """The job holds its submission from its first write to its commit: a review given in that
    time waits, then finds the facts the job wrote and sets their copy of "approved" (without
    the lock, on PostgreSQL, the review updated facts not written yet, and the job's commit then
    wrote them as not approved)."""
    phone.submit(household(16))
    with db.session() as s:
        submission_id = s.scalar(select(Submission.id))
    writing, release = threading.Event(), threading.Event()
    write = facts.Derived.write

    def slow_write(self, session):
        found = write(self, session)
        writing.set()
        assert release.wait(10)
        return found

    monkeypatch.setattr(facts.Derived, "write", slow_write)
    worker = threading.Thread(target=jobs.drain, args=(work,))
    worker.start()
    assert writing.wait(10)
    answers = []

    def approve() -> None:
        change = {"review_state": "approved"}
        client = queued_app.test_client()
        answers.append(
            client.patch(f"/api/v1/submissions/{submission_id}", json=change, headers=admin)
        )

    reviewer = threading.Thread(target=approve)
    reviewer.start()
    time.sleep(0.3)  # the review is under way (and waits for the job) before the job commits
    release.set()
    worker.join(10)
    reviewer.join(10)
    assert [r.status_code for r in answers] == [200]
    with db.session() as s:
        assert s.scalars(select(PovertyFact.approved)).all() == [True]


def test_batches_holding_two_submissions_in_crossing_order_do_not_deadlock(phone, db, work, caplog):
    """Two workers' batches can hold versions of the same two submissions, one the first
    submission's older version and the second's newer, the other the reverse. Each batch locks
    its submissions in the submissions' order, so one waits for the other (in the versions'
    order, on PostgreSQL, each took one submission and waited for the other's: a deadlock, one
    batch aborted and its jobs run again one by one)."""
    for n in (17, 18):
        assert [r.status for r in phone.submit(household(n))] == [201]
    for n in (17, 18):
        previous = f"uuid:fa22d4b7-ce38-4004-900a-{n:012d}"
        meta = {"<instanceID>": f"<deprecatedID>{previous}</deprecatedID><instanceID>"}
        xml = poverty_household(
            f"NC-T01-{n:03d}", f"uuid:fa22d4b7-ce38-4004-900a-{n + 100:012d}", **meta
        )
        assert [r.status for r in phone.submit(xml)] == [201]
    with db.session() as s:
        # v1 (of 17), v2 (of 18), v3 (17 edited), v4 (18 edited)
        v1, v2, v3, v4 = s.scalars(select(Job.version_id).order_by(Job.version_id)).all()
    claimed = {job.version_id: job for job in jobs.claim_many(db, "w")}
    caplog.set_level(logging.INFO)
    first, second = [claimed[v1], claimed[v4]], [claimed[v2], claimed[v3]]
    results = []

    def batch(claims) -> None:
        results.append(jobs.run_many(work, claims))

    # A review holds the fourth version's row: the first batch locks 17, then waits for it.
    with db.write_lock(), db.session() as holder:
        holder.execute(
            select(SubmissionVersion.id).where(SubmissionVersion.id == v4).with_for_update()
        )
        a = threading.Thread(target=batch, args=(first,))
        a.start()
        time.sleep(0.5)
        b = threading.Thread(target=batch, args=(second,))
        b.start()
        time.sleep(0.5)  # the second batch waits too: for 17 (its versions' order: 18 first)
        holder.commit()
    a.join(30)
    b.join(30)
    assert results == [(2, []), (2, [])]
    assert "together failed" not in caplog.text
    assert count(db, Job) == 0


def test_official_tables_note_the_submissions_still_being_processed(
    phone, db, work, admin, queued_app
):
    phone.submit(household(10), {"house.jpg": photo(10)})
    api = queued_app.test_client()
    url = "/api/v1/reports/official/ket-qua.json?period=2025&area=21607"
    note = "1 phiếu trong phạm vi này đang được xử lý, chưa có trong số liệu."
    assert note in api.get(url, headers=admin).json["notes"]
    family = "/api/v1/reports/official/gia-dinh-van-hoa.json?period=2025&area=21607"
    assert note not in api.get(family, headers=admin).json["notes"]
    jobs.drain(work)
    assert note not in api.get(url, headers=admin).json["notes"]


def test_a_claim_holds_the_lease_the_settings_give(phone, db, settings, storage):
    phone.submit(household(11), {"house.jpg": photo(11)})
    work = jobs.Context.of(settings.but(job_lease_seconds=5), db, storage)
    assert work.lease == dt.timedelta(seconds=5)
    before = utcnow()
    claimed = jobs.claim(db, "w", lease=work.lease)
    with db.session() as s:
        until = s.get(Job, claimed.id).locked_until
    until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
    assert dt.timedelta(seconds=4) < until - before < dt.timedelta(seconds=7)


def _waits_for_disk(connection) -> bool:
    """Whether a commit on this connection now would wait until it is on disk."""
    if connection.dialect.name == "sqlite":
        return connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    return connection.exec_driver_sql("SHOW synchronous_commit").scalar() != "off"


def test_a_jobs_commits_do_not_wait_for_the_disk_but_a_submissions_do(phone, db, work):
    """A job's claim and results are done again when a power cut loses them (the job is due
    again), so their commits need not wait for the disk; the submission's, which its 201
    acknowledges, must, and so must every commit after a job's on the same connections."""
    waits: list[bool] = []
    listener = lambda connection: waits.append(_waits_for_disk(connection))  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        assert [r.status for r in phone.submit(household(70), {"house.jpg": photo(70)})] == [201]
        at_submission, waits[:] = list(waits), []
        assert jobs.drain(work) == 1
        in_jobs, waits[:] = list(waits), []
    finally:
        event.remove(db.engine, "commit", listener)
    assert in_jobs and not any(in_jobs)  # the claim's and the results'
    if db.engine.dialect.name == "postgresql" and not any(at_submission):
        return  # a server that never waits (the test server runs with synchronous_commit off)
    assert at_submission and all(at_submission)
    # Connections the worker used are back in the pool waiting for the disk again.
    held = [db.engine.connect() for _ in range(db.engine.pool.size() + 1)]
    try:
        assert all(_waits_for_disk(c) for c in held)
    finally:
        for c in held:
            c.close()


def test_report_files_note_the_submissions_still_being_processed(
    phone, db, work, admin, queued_app
):
    phone.submit(household(12), {"house.jpg": photo(12)})
    api = queued_app.test_client()
    url = "/api/v1/reports/poverty.xlsx?period=2025&area=21607"
    note = "1 phiếu trong phạm vi này đang được xử lý, chưa có trong số liệu."

    def lines() -> list[str]:
        reply = api.get(url, headers=admin)
        sheet = openpyxl.load_workbook(io.BytesIO(reply.data), read_only=True).worksheets[0]
        return [row[0] for row in sheet.iter_rows(max_row=6, values_only=True) if row]

    found = lines()
    print("LINES", found)
    assert note in found
    jobs.drain(work)
    assert note not in lines()


def test_a_new_submission_its_version_and_its_job_are_written_together(phone, db, work):
    """The outbox in as few round trips as the database allows: on PostgreSQL the submission,
    its first version (its current one) and the version's job are one INSERT; SQLite, where
    a statement costs no round trip, writes them one by one. Either way the rows point at each
    other, the job runs, and the next submission gets its own."""
    phone.preflight()
    with recorded(db) as statements:
        assert [r.status for r in phone.submit(household(80, None))] == [201]
    writes = [s for s in statements if not s.startswith("SELECT")]
    tables = ("INTO SUBMISSIONS ", "INTO SUBMISSION_VERSIONS ", "INTO JOBS ")
    inserting = [w for w in writes if any(table in w for table in tables)]
    if db.engine.dialect.name == "postgresql":
        assert len(inserting) == 1, writes
        assert all(table in inserting[0] for table in tables)
        assert not any(w.startswith("UPDATE SUBMISSIONS ") for w in writes), writes
    else:
        assert len(inserting) == 3, writes
    assert [r.status for r in phone.submit(household(81, None))] == [201]
    with db.session() as s:
        rows = s.execute(
            select(Submission.id, Submission.current_version_id, SubmissionVersion.submission_id)
            .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
            .order_by(Submission.id)
        ).all()
        queued = s.scalars(select(Job.version_id).order_by(Job.version_id)).all()
    assert len(rows) == 2 and all(sid == owner for sid, _version, owner in rows)
    assert queued == [version for _sid, version, _owner in rows]
    assert jobs.drain(work) == 2
    assert count(db, PovertyFact) == 2

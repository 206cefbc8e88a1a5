"""What a worker does for one submission version after the 201: everything derived from it.

The request only made the version durable (``services.ingest``). Here, in this order, first
with reads only (the other workers can write meanwhile): the scope check, the facts worked out,
the files new to khudan inspected and thumbnailed, the answers validated against the form and
the domain rules; then, under the write lock, one transaction runs the duplicate-household check,
writes the facts and problems, checks the photos (EXIF, reuse), sets the review state and deletes
the job. Everything written is in that one transaction with the job's deletion,
so a worker killed at any point leaves the job to run again with the same result, and markers
(``processed_at`` on the version, ``checked_at`` on each file) make a second job for the same
version (a resend that filled in a file) do only what is left.

Results are judged by when the version was received, not by when the job runs, so a job run
again an hour later gives the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from ..db import Database
from ..domain import checks as domain_checks
from ..models import (
    Attachment,
    Blob,
    Form,
    FormVersion,
    Job,
    PhotoMeta,
    ReviewState,
    Submission,
    SubmissionVersion,
)
from ..models.base import utcnow
from ..storage import Storage
from ..storage.base import Stored
from ..xforms.answers import Answers, read_answers
from ..xforms.safexml import XmlLimits
from ..xforms.submission import read_submission
from ..xforms.validate import validate
from . import areas, batch_reads, checks, entity_updates, facts, form_cache, photos
from .submissions import recount_household

T = TypeVar("T")


def process_many(
    db: Database,
    storage: Storage,
    jobs: list[tuple[int, int]],
    policy: photos.Policy,
    limits: XmlLimits,
    pause: Callable[[], None] = lambda: None,
    then: Callable[[Session], T] | None = None,
) -> T | None:
    """Do the work of several jobs ((job id, version id), prepared one by one, ``pause()``
    between two) in one write transaction: one turn of the write lock and one commit for them
    all. If any fails, none is kept (the caller runs each alone then, so that only the failing
    one is retried). ``then(session)`` runs last in that transaction (a worker claims its next
    jobs there); its result is returned (None when no transaction was needed)."""
    with batch_reads.batch():  # the reference rows every job reads, read once
        if len(jobs) > 1:
            _read_ahead(db, [version_id for _, version_id in jobs])
        prepared = []
        for n, (job_id, version_id) in enumerate(jobs):
            if n:
                pause()
            prepared.append(prepare(db, storage, job_id, version_id, policy, limits))
        prepared = [work for work in prepared if work is not None]
        if not prepared:
            return None
        with db.write_lock(), db.session() as session:
            db.lazy_commit(session)  # lost to a power cut, the results go with the jobs' deletion
            write_all(session, prepared)
            following = then(session) if then is not None else None
            session.commit()
    return following


@dataclass(slots=True)
class Work:
    """A job's results worked out before the write lock, for :func:`write_all` to keep."""

    job_id: int
    version_id: int
    form_id: str
    md5: str  # the form version's
    answers: Answers
    issues: list
    derived: facts.Derived
    incoming: photos.Incoming
    point: tuple[float, float] | None
    files: tuple[str, ...]  # the names of the files inspected (unchecked when prepared)


def prepare(
    db: Database,
    storage: Storage,
    job_id: int,
    version_id: int,
    policy: photos.Policy,
    limits: XmlLimits,
) -> Work | None:
    """Everything of a job that only reads (the other workers can write meanwhile); None when
    its version is gone (the job is deleted then)."""
    with db.reader() as session:
        row = batch_reads.once(
            ("job version", version_id),
            lambda: session.connection().execute(_JOB_VERSION, {"version_id": version_id}).first(),
        )
        if row is None:  # deleted with its submission: nothing left to do
            _finish(db, job_id)
            return None
        xml, created_at, form_version_id, md5, form_id, submitter_id, submission_id = row
        schema = form_cache.schema(session, form_version_id, md5)
        media = _choice_media(session, storage, form_version_id, schema)
        files = batch_reads.once(
            ("unchecked files", version_id), lambda: _unchecked_files(session, version_id)
        )
        received = _aware(created_at)
        info = read_submission(xml, limits)
        answers = read_answers(info.root, schema.fields)
        outside = checks.scope(session, submitter_id, answers.place(), answers.paths)
        source = facts.Source(submission_id, version_id, created_at, out_of_scope=bool(outside))
        derived = facts.derive(session, form_id, answers, source)
    # The slow part: decode, EXIF, hashes, thumbnails of new files.
    incoming = photos.prepare(
        storage, dict(files), info.root, schema.fields, answers, policy, received
    )
    issues = _validate(info.root, schema.fields, media, answers, received) + outside
    point = photos.first_geopoint(info.root, schema.fields)  # where the map page puts it
    names = tuple(name for name, _ in files)
    return Work(job_id, version_id, form_id, md5, answers, issues, derived, incoming, point, names)


def write_all(session: Session, works: list[Work]) -> None:
    """Keep prepared jobs' results and delete the jobs, in ``session``'s transaction (the caller
    holds the write lock and commits). What every job writes alike (its version locked, marked
    processed, the submission's place, the job deleted) is one statement for them all: on
    PostgreSQL each statement is a round trip."""
    locked = _lock(session, [work.version_id for work in works])
    # Plain statements on the connection, and the session's copies set to match: changed objects
    # would be flushed by the ORM (and ORM-enabled DML would flush first and search the session),
    # a millisecond a job under the write lock the other workers wait for.
    connection = session.connection()
    now = utcnow()
    claimed = _claim_files(session, works, now)
    if len(works) > 1:
        facts.read_ahead(session, [work.derived for work in works])
    places, processed = [], []
    for work in works:
        version, submission = locked[work.version_id]
        current = submission.current_version_id == version.id
        has_problems = False
        if version.processed_at is None:  # a second job of the version does only what is left
            if current:
                has_problems = _derive(session, work, version, submission)
                latitude, longitude = work.point or (None, None)
                places.append(
                    {"submission_id": submission.id, "latitude": latitude, "longitude": longitude}
                )
                set_committed_value(submission, "latitude", latitude)
                set_committed_value(submission, "longitude", longitude)
            processed.append(version.id)
            set_committed_value(version, "processed_at", now)
        blob_ids = claimed.get(work.version_id, {})
        kept = photos.remember(session, work.incoming, blob_ids)
        has_problems |= photos.check(
            session, work.incoming, submission.id, work.version_id, blob_ids, kept
        )
        flag = has_problems and current
        if flag and connection.execute(_HAS_ISSUES, {"submission_id": submission.id}).rowcount:
            set_committed_value(submission, "review_state", ReviewState.HAS_ISSUES.value)
    if places:
        connection.execute(_PLACE, places)
    if processed:
        connection.execute(_PROCESSED, {"ids": processed, "now": now})
    connection.execute(_DELETE_JOBS, {"ids": [work.job_id for work in works]})


_VERSIONS, _FORM_VERSIONS = SubmissionVersion.__table__, FormVersion.__table__
# A job's statements, built once. What it reads first: only the columns it needs (a form version's row also holds
# its XForm, XLSForm and schema, which the schema cache already has).
_JOB_ROWS = (
    select(
        _VERSIONS.c.xml,
        _VERSIONS.c.created_at,
        _VERSIONS.c.form_version_id,
        _FORM_VERSIONS.c.md5,
        Form.__table__.c.form_id,
        _VERSIONS.c.submitter_id,
        _VERSIONS.c.submission_id,
    )
    .join(_FORM_VERSIONS, _FORM_VERSIONS.c.id == _VERSIONS.c.form_version_id)
    .join(Form.__table__, Form.__table__.c.id == _VERSIONS.c.form_pk)
)
_JOB_VERSION = _JOB_ROWS.where(_VERSIONS.c.id == bindparam("version_id"))
_JOB_VERSIONS = _JOB_ROWS.add_columns(_VERSIONS.c.id).where(  # the id last: read ahead
    _VERSIONS.c.id.in_(bindparam("version_ids", expanding=True))
)

# The versions with their submissions, in one round trip. The XML was read before the lock; only
# entity updates read it again (loaded then, if ever). The submissions are locked too: a review
# changing one waits for the job's commit (or the job reads the review's state), so the facts
# follow the review state a reviewer set while the job ran; and the job takes the submission
# before the facts, in the order a review does. Locked in the submissions' order, then the
# versions': two batches with versions of the same submissions wait for each other, where in
# the versions' order one could hold a submission's older version and the other's newer and each
# wait for the other's submission (a deadlock on PostgreSQL).
_LOCK_VERSIONS = (
    select(SubmissionVersion, Submission)
    .join(Submission, Submission.id == SubmissionVersion.submission_id)
    .options(defer(SubmissionVersion.xml))
    .where(SubmissionVersion.id.in_(bindparam("version_ids", expanding=True)))
    .order_by(Submission.id, SubmissionVersion.id)
    .with_for_update(of=(SubmissionVersion, Submission))
)
_SUBMISSIONS = Submission.__table__
_PLACE = (
    update(_SUBMISSIONS)
    .where(_SUBMISSIONS.c.id == bindparam("submission_id"))
    .values(latitude=bindparam("latitude"), longitude=bindparam("longitude"))
)
_PROCESSED = (
    update(_VERSIONS)
    .where(_VERSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(processed_at=bindparam("now"))
)
_HAS_ISSUES = (
    update(_SUBMISSIONS)
    .where(
        _SUBMISSIONS.c.id == bindparam("submission_id"),
        _SUBMISSIONS.c.review_state == ReviewState.RECEIVED.value,
    )
    .values(review_state=ReviewState.HAS_ISSUES.value)
)
_DELETE_JOBS = delete(Job.__table__).where(Job.__table__.c.id.in_(bindparam("ids", expanding=True)))
_UNCHECKED_FILES = (  # with what a photo's job needs to know of each before it looks
    select(
        Attachment.version_id,
        Attachment.name,
        Blob.storage_key,
        Blob.sha256,
        Blob.md5,
        Blob.size,
        Blob.content_type,
        PhotoMeta.blob_id.is_not(None).label("known"),
    )
    .join(Blob, Blob.id == Attachment.blob_id)
    .outerjoin(PhotoMeta, PhotoMeta.blob_id == Blob.id)
    .where(
        Attachment.version_id.in_(bindparam("version_ids", expanding=True)),
        Attachment.checked_at.is_(None),
    )
    .order_by(Attachment.version_id, Attachment.name)
)
_ATTACHMENTS = Attachment.__table__
_CLAIM_FILES = (
    update(_ATTACHMENTS)
    .where(
        tuple_(_ATTACHMENTS.c.version_id, _ATTACHMENTS.c.name).in_(
            bindparam("pairs", expanding=True)
        ),
        _ATTACHMENTS.c.blob_id.is_not(None),
        _ATTACHMENTS.c.checked_at.is_(None),
    )
    .values(checked_at=bindparam("now"))
    .returning(_ATTACHMENTS.c.version_id, _ATTACHMENTS.c.name, _ATTACHMENTS.c.blob_id)
)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands times back without their zone: they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _finish(db: Database, job_id: int) -> None:
    with db.write_lock(), db.session() as session:
        session.execute(delete(Job).where(Job.id == job_id))
        session.commit()


def _lock(
    session: Session, version_ids: list[int]
) -> dict[int, tuple[SubmissionVersion, Submission]]:
    """The versions, locked against a second worker on another job for one of them (PostgreSQL;
    SQLite's write lock already serialises), each with its submission. A version deleted since
    its job was prepared fails the batch (its job, run again, finds it gone)."""
    rows = session.execute(_LOCK_VERSIONS, {"version_ids": sorted(set(version_ids))}).all()
    locked = {version.id: (version, submission) for version, submission in rows}
    missing = set(version_ids) - locked.keys()
    if missing:
        raise LookupError(f"submission versions {sorted(missing)} are gone")
    return locked


def _read_ahead(db: Database, version_ids: list[int]) -> None:
    """What each job of a batch reads first (its version and its unchecked files), for all of
    them in two statements, kept for :func:`prepare` (``batch_reads``). A file that arrives
    later (a resend filling it in) is left to its own job, as when each job reads its own."""
    with db.reader() as session:
        connection = session.connection()
        params = {"version_ids": sorted(set(version_ids))}
        rows = {row.id: row[:-1] for row in connection.execute(_JOB_VERSIONS, params)}
        files: dict[int, list] = {version_id: [] for version_id in version_ids}
        for version_id, name, *file in connection.execute(_UNCHECKED_FILES, params):
            files[version_id].append((name, _unchecked(*file)))
    for version_id in version_ids:
        batch_reads.remember(("job version", version_id), rows.get(version_id))
        batch_reads.remember(("unchecked files", version_id), files[version_id])


def _unchecked_files(session: Session, version_id: int) -> list:
    """(name, photos.Unchecked) of the version's files not checked yet."""
    params = {"version_ids": [version_id]}
    rows = session.connection().execute(_UNCHECKED_FILES, params).all()
    return [(name, _unchecked(*file)) for _version_id, name, *file in rows]


def _unchecked(key, sha256, md5, size, content_type, known) -> photos.Unchecked:
    return photos.Unchecked(Stored(key, sha256, md5, size), content_type, bool(known))


def _claim_files(session: Session, works: list[Work], now: dt.datetime) -> dict[int, dict]:
    """Of the files the jobs inspected, those still unchecked (version id -> name -> blob id),
    marked checked in this transaction, in one statement for the batch: another job for a
    version, after this one commits, leaves them alone. A file that arrived since (a resend
    filling it in) is left to its own job, which inspects it."""
    pairs = [(work.version_id, name) for work in works for name in work.files]
    if not pairs:
        return {}
    claimed: dict[int, dict[str, int]] = {}
    for version_id, name, blob_id in session.connection().execute(
        _CLAIM_FILES, {"pairs": pairs, "now": now}
    ):
        claimed.setdefault(version_id, {})[name] = blob_id
    return claimed


def _choice_media(
    session: Session, storage: Storage, version_pk: int, schema: form_cache.FormSchema
) -> dict[str, bytes]:
    """The files choices are read from: the version's media, and the areas cascade as the whole
    registry (whether the area is the collector's own is the scope check's job)."""
    if not schema.choice_files:  # only forms whose choices come from files pay for reading them
        return {}

    def read() -> dict[str, bytes]:
        media = form_cache.media(session, storage, version_pk, schema.choice_files)
        if areas.AREAS_MEDIA in schema.choice_files:
            media[areas.AREAS_MEDIA] = areas.registry_csv(session)
        return media

    return batch_reads.once(("choice media", version_pk), read)


def _validate(root, fields: list[dict], media: dict, answers: Answers, received) -> list:
    """Every answer against the form and the domain rules, judged on the day it was filled."""
    today = photos.visit_time(answers, received).date()
    issues = validate(root, fields, media=media, today=today)
    return issues + domain_checks.check(answers.values, answers.repeats, answers.paths, issues)


def _derive(
    session: Session, work: Work, version: SubmissionVersion, submission: Submission
) -> bool:
    """Facts and problems of the submission's current version; True when a problem was found
    (a "not checked" note alone is not a problem)."""
    found = [
        *work.issues,
        *checks.duplicate_household(
            session,
            form_pk=version.form_pk,
            submission_id=version.submission_id,
            place=work.answers.place(),
            paths=work.answers.paths,
        ),
        *work.derived.write(session),
    ]
    # After the facts: the entities take the household's class from them.
    found += entity_updates.on_processed(session, version, work.md5)
    # The facts follow the review state as it is now, whatever happened while the job waited:
    # a rejected submission does not count (the household's facts come from its latest other
    # submission, or none); an edit is not approved, whatever the fact said before; a new or
    # edited submission that a reviewer approved while its job waited is.
    if submission.review_state == ReviewState.REJECTED.value:
        recount_household(session, submission)
    approved = submission.review_state == ReviewState.APPROVED.value
    if approved or version.deprecated_id:
        facts.set_approved(session, work.form_id, version.submission_id, approved)
    photos.add_problems(session, version.id, found)
    return any(getattr(p, "checked", True) for p in found)

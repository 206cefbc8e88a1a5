"""Receive one submission POST: new, resent, split over several POSTs, or an edit.

The decision tree follows ODK Central (``lib/resources/submissions.js``) with one difference: it
lives here, not in the HTTP route. Order of work, so that a 201 always means "kept":
1. read the XML and find the form version (nothing written yet);
2. stream the files the XML refers to into storage (fsynced, named by content);
3. one database transaction records the submission, its attachments and a job for the rest
   (a transactional outbox: the job exists exactly when the version does);
4. only after the commit does the caller answer 201.
Everything derived (photo inspection and thumbnails, validation, domain checks, facts, the review
state) is the job's, run by a worker after the 201 (``services.processing``, ``services.jobs``).
Duplicates are stopped by unique constraints, not by looking first: when two identical POSTs race,
the loser's insert fails, it retries, and finds the winner (as warehouse's ``db.py`` does).

The path of a new submission, by far the most common, is written with a handful of Core statements
so that SQLite's single write lock is held as briefly as possible (see bench/ingest.py).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import errors
from ..db import Database
from ..models import (
    Attachment,
    Form,
    FormState,
    FormVersion,
    ReviewState,
    Role,
    Submission,
    SubmissionVersion,
    User,
)
from ..models.base import utcnow
from ..storage import Storage
from ..xforms.answers import Answers, read_answers
from ..xforms.safexml import XmlLimits
from ..xforms.submission import SubmissionInfo, read_submission
from . import audit, blobs, facts, form_cache, jobs, submissions
from .scope import Scope

RETRIES = 5


@dataclass(frozen=True, slots=True)
class Upload:
    """One multipart file part: its field name is the file name the XML refers to."""

    name: str
    stream: BinaryIO
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """Who sent the POST, as recorded on the version."""

    user_id: int | None
    device_id: str | None = None
    user_agent: str | None = None


@dataclass(slots=True)
class Outcome:
    submission_id: int
    instance_id: str
    kind: str  # "created", "duplicate" or "edited"
    missing: list[str] = field(default_factory=list)
    attached: int = 0  # files this POST filled in
    queued: list[int] = field(default_factory=list)  # versions given a job by this POST


@dataclass(frozen=True, slots=True)
class _Incoming:
    """Everything about the POST that the transaction needs, worked out before it starts."""

    info: SubmissionInfo
    xml: bytes
    xml_sha: str
    form_pk: int
    form_version_id: int
    answers: Answers
    referenced: list[str]
    stored: dict  # file name -> (Stored, content type as its name says, until a job looks)
    client: Client


def ingest(
    db: Database,
    storage: Storage,
    xml: bytes,
    uploads: list[Upload],
    client: Client,
    limits: XmlLimits = XmlLimits(),  # noqa: B008 (frozen)
    before_commit: Callable[[Session], None] | None = None,
) -> Outcome:
    """Make a submission durable: its version, files and job in one transaction. ``before_commit``
    runs inside that transaction last (the OpenRosa blueprint records the Digest nonce count
    there); raising from it stores nothing."""
    info = read_submission(xml, limits)
    with db.reader() as session:
        form_pk, form_version_id, schema = _target(session, info)
    referenced = info.referenced_files(schema.binary_paths)
    answers = read_answers(info.root, schema.fields)  # the household's place, for its columns

    stored = {}
    for upload in uploads:
        if upload.name in referenced and upload.name not in stored:
            item = storage.put_stream(upload.stream)
            stored[upload.name] = (item, blobs.content_type_for(upload.name))
    incoming = _Incoming(
        info,
        xml,
        hashlib.sha256(xml).hexdigest(),
        form_pk,
        form_version_id,
        answers,
        referenced,
        stored,
        client,
    )
    for attempt in range(RETRIES):
        with db.write_lock(), db.session() as session:
            try:
                # A new submission, by far the most common POST, does not look for itself
                # first: when it is a resend, a unique constraint says so and the next attempt looks.
                outcome = _record(session, incoming, look_first=attempt > 0)
                if before_commit is not None:
                    before_commit(session)
                session.commit()
                return outcome
            except IntegrityError:
                # Another request stored the same submission first.
                session.rollback()
                if attempt == RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


_FORMS, _FORM_VERSIONS = Form.__table__, FormVersion.__table__
_TARGET = (
    select(_FORMS.c.id, _FORMS.c.state, _FORM_VERSIONS.c.id, _FORM_VERSIONS.c.md5)
    .join(_FORM_VERSIONS, _FORM_VERSIONS.c.form_pk == _FORMS.c.id)
    .where(
        _FORMS.c.form_id == bindparam("form_id"), _FORM_VERSIONS.c.version == bindparam("version")
    )
)


def _target(session: Session, info: SubmissionInfo) -> tuple[int, int, form_cache.FormSchema]:
    """(form pk, form version pk, its schema), or the Problem that stops the POST."""
    params = {"form_id": info.form_id, "version": info.version}
    row = session.connection().execute(_TARGET, params).first()
    if row is None:
        if session.scalar(select(Form.id).where(Form.form_id == info.form_id)) is None:
            raise errors.FORM_NOT_FOUND(form_id=info.form_id)
        raise errors.FORM_VERSION_NOT_FOUND(form_id=info.form_id, version=info.version)
    form_pk, state, version_pk, md5 = row
    if state == FormState.CLOSED:
        raise errors.FORM_CLOSED(form_id=info.form_id)
    return form_pk, version_pk, form_cache.schema(session, version_pk, md5)


def _record(session: Session, new: _Incoming, look_first: bool) -> Outcome:
    """The rows of the POST and a job for each version it gave work to (the outbox)."""
    info = new.info
    existing = _version_by_instance(session, new.form_pk, info.instance_id) if look_first else None
    if existing is not None:
        outcome = _record_resend(session, new, existing)
    else:
        # Blob rows first (the attachments name them): one INSERT each for bytes not seen before.
        blob_ids = {
            name: blobs.id_for(session, item, content_type)
            for name, (item, content_type) in new.stored.items()
        }
        if not info.deprecated_id:
            return _record_new(session, new, blob_ids)  # its job is written with its rows
        outcome = _record_edit(session, new, blob_ids)
    jobs.enqueue(session, outcome.queued)
    return outcome


def _record_new(session: Session, new: _Incoming, blob_ids: dict[str, int]) -> Outcome:
    """A new submission: its row, its first version (current), the version's job and its files.
    The unique (form, instance_id) constraint speaks here on a race."""
    info = new.info
    now = utcnow()
    params = {
        "form_pk": new.form_pk,
        "instance_id": info.instance_id,
        "submitter_id": new.client.user_id,
        "review_state": ReviewState.RECEIVED.value,
        "created_at": now,
        **new.answers.place(),
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One round trip instead of four: the rows refer to each other, which PostgreSQL
        # checks at the end of the statement.
        version = _version_params(new, now)
        statement = _insert_new(tuple(params), tuple(version))
        params.update(version, **jobs.due(now))
        submission_id, version_id = connection.execute(statement, params).one()
    else:
        submission_id = connection.execute(_INSERT_SUBMISSION, params).scalar_one()
        version_id = _insert_version(session, new, submission_id, now)
        connection.execute(
            _SET_CURRENT, {"submission_pk": submission_id, "current_version_id": version_id}
        )
        jobs.enqueue(session, [version_id])
    if new.referenced:
        connection.execute(
            _INSERT_ATTACHMENTS,
            [
                {
                    "version_id": version_id,
                    "name": name,
                    "blob_id": blob_ids.get(name),
                    "received_at": now if name in blob_ids else None,
                }
                for name in new.referenced
            ],
        )
    missing = [name for name in new.referenced if name not in blob_ids]
    return Outcome(submission_id, info.instance_id, "created", missing, len(blob_ids), [version_id])


def _insert_version(session: Session, new: _Incoming, submission_id: int, now) -> int:
    params = {"submission_id": submission_id, **_version_params(new, now)}
    return session.connection().execute(_INSERT_VERSION, params).scalar_one()


def _version_params(new: _Incoming, now) -> dict:
    info = new.info
    return {
        "form_pk": new.form_pk,
        "form_version_id": new.form_version_id,
        "instance_id": info.instance_id,
        "deprecated_id": info.deprecated_id,
        "instance_name": info.instance_name,
        "xml": new.xml,
        "xml_sha256": new.xml_sha,
        "submitter_id": new.client.user_id,
        "device_id": new.client.device_id,
        "user_agent": new.client.user_agent,
        "created_at": now,
    }


def _after_edit(session: Session, new: _Incoming, submission_id: int, before) -> None:
    """An edited submission is no longer approved (its new facts come from its job), and a
    household it no longer names (a corrected code, period or commune) must not keep counting
    the old version's fact."""
    facts.set_approved(session, new.info.form_id, submission_id, False)
    place = new.answers.place()
    moved = (place["period"], place["commune_code"], place["household_code"]) != tuple(before)
    if moved:
        submissions.recount_household_key(session, new.form_pk, new.info.form_id, *before)


def _record_resend(session: Session, new: _Incoming, existing: SubmissionVersion) -> Outcome:
    """The same instanceID again: identical XML fills in missing files, different XML is refused."""
    info = new.info
    if existing.xml_sha256 != new.xml_sha:
        if info.deprecated_id:
            edited = _version_by_instance(session, new.form_pk, info.deprecated_id)
            if edited is not None and edited.submission_id != existing.submission_id:
                raise errors.INSTANCE_ID_TAKEN(instance_id=info.instance_id)
        raise errors.XML_CONFLICT(instance_id=info.instance_id)
    attached = _fill(session, existing.id, new)
    missing = list(
        session.scalars(
            select(Attachment.name)
            .where(Attachment.version_id == existing.id, Attachment.blob_id.is_(None))
            .order_by(Attachment.name)
        )
    )
    queued = [existing.id] if attached else []  # the files it filled in are checked by a job
    return Outcome(existing.submission_id, info.instance_id, "duplicate", missing, attached, queued)


def _record_edit(session: Session, new: _Incoming, blob_ids: dict[str, int]) -> Outcome:
    """A new version replacing ``deprecatedID``; files not sent again are carried forward."""
    info = new.info
    old = _version_by_instance(session, new.form_pk, info.deprecated_id)
    if old is None:
        raise errors.EDIT_TARGET_NOT_FOUND(instance_id=info.deprecated_id)
    target = session.get(Submission, old.submission_id)
    if not may_edit(session, new.client.user_id, old.submitter_id, target):
        raise errors.EDIT_NOT_ALLOWED(instance_id=info.deprecated_id)
    now = utcnow()
    before = (target.period, target.commune_code, target.household_code)
    version_id = _insert_version(session, new, old.submission_id, now)
    # Switch the current version only if nobody else edited it meanwhile (compare-and-set).
    switched = session.execute(
        update(Submission)
        .where(Submission.id == old.submission_id, Submission.current_version_id == old.id)
        .values(
            current_version_id=version_id,
            review_state=ReviewState.EDITED.value,
            updated_at=now,
            **new.answers.place(),
        )
    ).rowcount
    if switched != 1:
        raise errors.EDIT_OUT_OF_DATE(instance_id=info.deprecated_id)
    _after_edit(session, new, old.submission_id, before)
    audit.record(
        session,
        new.client.user_id,
        "submission.edit",
        f"submission:{old.submission_id}",
        instance_id=info.instance_id,
        deprecated_id=info.deprecated_id,
    )
    inherited = {a.name: a.blob_id for a in old.attachments if a.blob_id is not None}
    rows = []
    for name in new.referenced:
        blob_id = blob_ids.get(name, inherited.get(name))
        rows.append(
            {
                "version_id": version_id,
                "name": name,
                "blob_id": blob_id,
                "received_at": now if blob_id else None,
            }
        )
    if rows:
        session.connection().execute(_INSERT_ATTACHMENTS, rows)
    missing = [r["name"] for r in rows if r["blob_id"] is None]
    return Outcome(
        old.submission_id, info.instance_id, "edited", missing, len(blob_ids), [version_id]
    )


def _fill(session: Session, version_id: int, new: _Incoming) -> int:
    """Fill empty attachment slots of a version from this POST; return how many were filled.

    A file that already arrived is never replaced: the first bytes are the evidence.
    """
    slots = {
        a.name: a
        for a in session.scalars(select(Attachment).where(Attachment.version_id == version_id))
    }
    filled = 0
    for name in new.referenced:
        slot = slots.get(name)
        if slot is None:
            slot = Attachment(version_id=version_id, name=name)
            session.add(slot)
        if slot.blob_id is None and name in new.stored:
            item, content_type = new.stored[name]
            slot.blob_id = blobs.id_for(session, item, content_type)
            slot.received_at = utcnow()
            filled += 1
    session.flush()
    return filled


def may_edit(
    session: Session, user_id: int | None, submitter_id: int | None, target: Submission
) -> bool:
    """Who may replace a submission with a new version: the submitter of the version being
    replaced, a collector whose areas contain the submission's area, or a supervisor or admin of
    that area. Designers only edit what they sent themselves."""
    if user_id is None:
        return False
    if user_id == submitter_id:
        return True
    user = session.get(User, user_id)
    if user is None or not user.enabled or user.role == Role.DESIGNER:
        return False
    return Scope.of(session, user).allows(
        target.province_code, target.commune_code, target.area_code
    )


def _version_by_instance(
    session: Session, form_pk: int, instance_id: str
) -> SubmissionVersion | None:
    # Most POSTs are new submissions: a bare id look-up, the whole row only when there is one.
    found = (
        session.connection()
        .execute(_VERSION_BY_INSTANCE, {"form_pk": form_pk, "instance_id": instance_id})
        .scalar()
    )
    return None if found is None else session.get(SubmissionVersion, found)


# The statements of the common path, built once: building them is a good part of their cost.
_SUBMISSIONS = Submission.__table__
_VERSIONS = SubmissionVersion.__table__
_INSERT_SUBMISSION = insert(_SUBMISSIONS).returning(_SUBMISSIONS.c.id)
_INSERT_VERSION = insert(_VERSIONS).returning(_VERSIONS.c.id)
# A plain INSERT: the ORM's bulk insert would flush the session and build its own statement.
_INSERT_ATTACHMENTS = insert(Attachment.__table__)
_SET_CURRENT = update(_SUBMISSIONS).where(_SUBMISSIONS.c.id == bindparam("submission_pk"))


@functools.cache
def _insert_new(submission_columns: tuple[str, ...], version_columns: tuple[str, ...]) -> Select:
    """PostgreSQL: a new submission, its first version as its current one, and the version's
    job, in one statement (data-modifying CTEs), for the columns :func:`_record_new` sets (built
    once). The version's id is drawn from its sequence first so that the submission can point at
    it."""

    def bound(table, names):
        return [bindparam(name, type_=table.c[name].type) for name in names]

    sequence = func.pg_get_serial_sequence(_VERSIONS.name, "id")
    drawn = select(func.nextval(sequence).label("id")).cte("drawn")
    added = (
        insert(_SUBMISSIONS)
        .from_select(
            [*submission_columns, "current_version_id"],
            select(*bound(_SUBMISSIONS, submission_columns), drawn.c.id),
        )
        .returning(_SUBMISSIONS.c.id, _SUBMISSIONS.c.current_version_id)
        .cte("added")
    )
    version = (
        insert(_VERSIONS)
        .from_select(
            ["id", "submission_id", *version_columns],
            select(added.c.current_version_id, added.c.id, *bound(_VERSIONS, version_columns)),
        )
        .returning(_VERSIONS.c.id)
        .cte("version")
    )
    job = jobs.enqueue_from(version.c.id).cte("job")
    return select(added.c.id, added.c.current_version_id).add_cte(version, job)


_VERSION_BY_INSTANCE = select(_VERSIONS.c.id).where(
    _VERSIONS.c.form_pk == bindparam("form_pk"),
    _VERSIONS.c.instance_id == bindparam("instance_id"),
)

"""Receive one submission POST: new, resent, split over several POSTs, or an edit.

The decision tree follows ODK Central (``lib/resources/submissions.js``) with one difference: it
lives here, not in the HTTP route. Order of work, so that a 201 always means "kept":
1. read the XML and find the form version (nothing written yet);
2. stream the files the XML refers to into storage (fsynced, named by content);
3. one database transaction records the submission and its attachments;
4. only after the commit does the caller answer 201.
Duplicates are stopped by unique constraints, not by looking first: when two identical POSTs race,
the loser's insert fails, it retries, and finds the winner (as warehouse's ``db.py`` does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import select, update
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
    Submission,
    SubmissionVersion,
)
from ..models.base import utcnow
from ..storage import Storage, Stored
from ..xforms.submission import SubmissionInfo, read_submission
from . import blobs

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


def ingest(
    db: Database, storage: Storage, xml: bytes, uploads: list[Upload], client: Client
) -> Outcome:
    info = read_submission(xml)
    with db.session() as session:
        form, form_version = _target(session, info)
        binary_paths = form_version.binary_paths
        form_pk, form_version_id = form.id, form_version.id
    referenced = info.referenced_files(binary_paths)

    stored: dict[str, tuple[Stored, str]] = {}
    for upload in uploads:
        if upload.name in referenced and upload.name not in stored:
            content_type = blobs.content_type_for(upload.name)
            stored[upload.name] = (storage.put_stream(upload.stream), content_type)

    xml_sha = hashlib.sha256(xml).hexdigest()
    for attempt in range(RETRIES):
        with db.session() as session:
            try:
                outcome = _record(
                    session,
                    info,
                    xml,
                    xml_sha,
                    form_pk,
                    form_version_id,
                    referenced,
                    stored,
                    client,
                )
                session.commit()
                return outcome
            except IntegrityError:
                # Another request stored the same submission (or the same file) first.
                session.rollback()
                if attempt == RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


def _target(session: Session, info: SubmissionInfo) -> tuple[Form, FormVersion]:
    form = session.scalar(select(Form).where(Form.form_id == info.form_id))
    if form is None:
        raise errors.FORM_NOT_FOUND(form_id=info.form_id)
    version = session.scalar(
        select(FormVersion).where(
            FormVersion.form_pk == form.id, FormVersion.version == info.version
        )
    )
    if version is None:
        raise errors.FORM_VERSION_NOT_FOUND(form_id=info.form_id, version=info.version)
    if form.state == FormState.CLOSED:
        raise errors.FORM_CLOSED(form_id=info.form_id)
    return form, version


def _record(
    session: Session,
    info: SubmissionInfo,
    xml: bytes,
    xml_sha: str,
    form_pk: int,
    form_version_id: int,
    referenced: list[str],
    stored: dict,
    client: Client,
) -> Outcome:
    existing = session.scalar(
        select(SubmissionVersion).where(
            SubmissionVersion.form_pk == form_pk, SubmissionVersion.instance_id == info.instance_id
        )
    )
    if existing is not None:
        if existing.xml_sha256 != xml_sha:
            if info.deprecated_id and _submission_of(session, form_pk, info.deprecated_id) not in (
                None,
                existing.submission_id,
            ):
                raise errors.INSTANCE_ID_TAKEN(instance_id=info.instance_id)
            raise errors.XML_CONFLICT(instance_id=info.instance_id)
        # A resend: keep what we have, fill in files that had not arrived.
        attached = _attach(session, existing, referenced, stored, inherited={})
        missing = _missing(session, existing)
        return Outcome(existing.submission_id, info.instance_id, "duplicate", missing, attached)

    version = SubmissionVersion(
        form_pk=form_pk,
        form_version_id=form_version_id,
        instance_id=info.instance_id,
        deprecated_id=info.deprecated_id,
        instance_name=info.instance_name,
        xml=xml,
        xml_sha256=xml_sha,
        submitter_id=client.user_id,
        device_id=client.device_id,
        user_agent=client.user_agent,
    )
    if info.deprecated_id:
        return _record_edit(session, info, version, form_pk, referenced, stored)

    submission = Submission(
        form_pk=form_pk,
        instance_id=info.instance_id,
        submitter_id=client.user_id,
        review_state=ReviewState.RECEIVED,
    )
    session.add(submission)
    session.flush()  # the unique (form, instance_id) constraint speaks here on a race
    version.submission_id = submission.id
    session.add(version)
    session.flush()
    submission.current_version_id = version.id
    attached = _attach(session, version, referenced, stored, inherited={})
    return Outcome(submission.id, info.instance_id, "created", _missing(session, version), attached)


def _record_edit(
    session: Session,
    info: SubmissionInfo,
    version: SubmissionVersion,
    form_pk: int,
    referenced: list[str],
    stored: dict,
) -> Outcome:
    old = session.scalar(
        select(SubmissionVersion).where(
            SubmissionVersion.form_pk == form_pk,
            SubmissionVersion.instance_id == info.deprecated_id,
        )
    )
    if old is None:
        raise errors.EDIT_TARGET_NOT_FOUND(instance_id=info.deprecated_id)
    version.submission_id = old.submission_id
    session.add(version)
    session.flush()
    # Switch the current version only if nobody else edited it meanwhile (compare-and-set).
    switched = session.execute(
        update(Submission)
        .where(Submission.id == old.submission_id, Submission.current_version_id == old.id)
        .values(current_version_id=version.id, review_state=ReviewState.EDITED, updated_at=utcnow())
    ).rowcount
    if switched != 1:
        raise errors.EDIT_OUT_OF_DATE(instance_id=info.deprecated_id)
    inherited = {a.name: a.blob_id for a in old.attachments if a.blob_id is not None}
    attached = _attach(session, version, referenced, stored, inherited=inherited)
    return Outcome(
        old.submission_id, info.instance_id, "edited", _missing(session, version), attached
    )


def _attach(
    session: Session,
    version: SubmissionVersion,
    referenced: list[str],
    stored: dict,
    inherited: dict[str, int],
) -> int:
    """Give each referenced file a row; fill it from this POST, else from the edited version.

    A file that already arrived is never replaced: the first bytes are the evidence. Returns how
    many files this POST filled in.
    """
    filled = 0
    rows = {
        a.name: a
        for a in session.scalars(select(Attachment).where(Attachment.version_id == version.id))
    }
    for name in referenced:
        row = rows.get(name)
        if row is None:
            row = Attachment(version_id=version.id, name=name)
            session.add(row)
        if row.blob_id is not None:
            continue
        if name in stored:
            item, content_type = stored[name]
            row.blob_id = blobs.row_for(session, item, content_type).id
            row.received_at = utcnow()
            filled += 1
        elif name in inherited:
            row.blob_id = inherited[name]
            row.received_at = utcnow()
    session.flush()
    return filled


def _missing(session: Session, version: SubmissionVersion) -> list[str]:
    return list(
        session.scalars(
            select(Attachment.name)
            .where(Attachment.version_id == version.id, Attachment.blob_id.is_(None))
            .order_by(Attachment.name)
        )
    )


def _submission_of(session: Session, form_pk: int, instance_id: str) -> int | None:
    return session.scalar(
        select(SubmissionVersion.submission_id).where(
            SubmissionVersion.form_pk == form_pk, SubmissionVersion.instance_id == instance_id
        )
    )

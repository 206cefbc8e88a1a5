"""The queries behind the Central subset: which submissions a user sees of a form, a page of the
OData feed with its count and its next-page token, and the Central views of submissions.

Every query starts from ``services.submissions.visible``, so the caller's role and areas apply to
every row, count and page, exactly as in the rest of khudan. Pages are keyset pages (newest first,
resumed after the last row's instanceID, as Central's ``$skiptoken`` does), so reading page 1,000
costs what reading page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from khudan.schemas.central import central_time

from .. import errors
from ..models import (
    Attachment,
    Comment,
    Form,
    FormVersion,
    ReviewState,
    Submission,
    SubmissionVersion,
    User,
)
from ..services.submissions import visible
from ..xforms.submission import read_submission
from . import odata

NO_OPTIONS = odata.Options()
BATCH = 200  # submissions read at a time while walking a repeat table


@dataclass(frozen=True, slots=True)
class FeedQuery:
    table: str
    where: ColumnElement[bool] | None = None
    top: int | None = None
    skip: int = 0
    token: dict | None = None
    count: bool = False
    count_only: bool = False  # .../Submissions/$count: the number as plain text
    options: odata.Options = NO_OPTIONS
    page_size: int = 1000
    instance_id: str | None = None  # Submissions('...') and what is below it
    parent_id: str | None = None  # ...('<row id>')/table: rows of that parent only


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict]
    count: int | None
    next_token: str | None


def encode_token(data: dict) -> str:
    """Central's skiptoken: ``01`` and the base64 of a JSON object."""
    return "01" + base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(raw: str) -> dict:
    try:
        if not raw.startswith("01"):
            raise ValueError(raw)
        data = json.loads(base64.b64decode(raw[2:], validate=True))
        if not isinstance(data, dict) or not isinstance(data.get("instanceId"), str):
            raise ValueError(raw)
        return data
    except (ValueError, binascii.Error):
        raise errors.ODATA_SKIPTOKEN_INVALID() from None


def of_form(session: Session, user: User, form: Form):
    return visible(session, user).where(Submission.form_pk == form.id)


def page(session: Session, user: User, form: Form, schema: odata.Schema, q: FeedQuery) -> Page:
    base = of_form(session, user, form)
    if q.where is not None:
        base = base.where(q.where)
    if q.instance_id is not None:
        base = base.where(Submission.instance_id == q.instance_id)
        if session.scalar(select(func.count()).select_from(base.subquery())) == 0:
            raise errors.NOT_FOUND(what=f"submission {q.instance_id} of form {form.form_id}")
    limit = q.page_size if q.top is None else min(q.top, q.page_size)
    if q.table == "Submissions":
        return _submissions_page(session, form, schema, base, q, limit)
    return _repeat_page(session, form, schema, base, q, limit)


def _resume_after(session: Session, form: Form, base, token: dict) -> int:
    """The id of the submission a token names; it must still be one the caller sees."""
    found = session.scalar(
        base.with_only_columns(Submission.id).where(Submission.instance_id == token["instanceId"])
    )
    if found is None:
        raise errors.ODATA_SKIPTOKEN_INVALID()
    return found


def _submissions_page(session, form, schema, base, q: FeedQuery, limit: int) -> Page:
    total = _count(session, base) if q.count else None
    query = base
    if q.token is not None:
        query = query.where(Submission.id < _resume_after(session, form, base, q.token))
    elif q.skip:
        query = query.offset(q.skip)
    subs = list(
        session.scalars(
            query.options(selectinload(Submission.current_version))
            .order_by(Submission.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(subs) > limit
    subs = subs[:limit]
    system = _system(session, subs)
    rows = []
    for s in subs:
        xml_root = read_submission(s.current_version.xml).root
        rows += odata.rows_of(schema, "Submissions", s.instance_id, xml_root, system[s.id])
    token = encode_token({"instanceId": subs[-1].instance_id}) if more and subs else None
    return Page([odata.render(r, q.options) for r in rows], total, token)


def _repeat_page(session, form, schema, base, q: FeedQuery, limit: int) -> Page:
    total = sum(1 for _ in _repeat_rows(session, schema, base, q, None)) if q.count else None
    start = None
    if q.token is not None:
        start = _resume_after(session, form, base, q.token)
    rows = _repeat_rows(session, schema, base, q, start)
    if q.token is not None:
        repeat_id = q.token.get("repeatId")
        for _instance, row in rows:
            if row["__id"] == repeat_id:
                break
        else:
            raise errors.ODATA_SKIPTOKEN_INVALID()
    elif q.skip:
        for _ in zip(range(q.skip), rows, strict=False):
            pass
    taken: list[tuple[str, dict]] = []
    more = False
    for item in rows:
        if len(taken) == limit:
            more = True
            break
        taken.append(item)
    token = None
    if more and taken:
        token = encode_token({"instanceId": taken[-1][0], "repeatId": taken[-1][1]["__id"]})
    return Page([odata.render(r, q.options) for _, r in taken], total, token)


def _repeat_rows(
    session, schema, base, q: FeedQuery, start: int | None
) -> Iterator[tuple[str, dict]]:
    """(submission instanceID, row) of a repeat table, newest submission first, read in
    batches so that memory does not grow with the number of submissions."""
    parent_key = schema.repeat_parent_id(q.table)
    upper = start
    while True:
        query = base.options(selectinload(Submission.current_version))
        if upper is not None:
            query = query.where(Submission.id <= upper)
        batch = list(session.scalars(query.order_by(Submission.id.desc()).limit(BATCH)))
        for s in batch:
            xml_root = read_submission(s.current_version.xml).root
            rows = odata.rows_of(schema, q.table, s.instance_id, xml_root, None)
            for row in rows:
                if q.parent_id is None or row[parent_key] == q.parent_id:
                    yield s.instance_id, row
        if len(batch) < BATCH:
            return
        upper = batch[-1].id - 1


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _system(session: Session, subs: list[Submission]) -> dict[int, dict]:
    """Central's ``__system`` object for each submission of a page: a few grouped queries for
    the whole page, none per row."""
    ids = [s.id for s in subs]
    current_versions = [s.current_version_id for s in subs]
    names = dict(
        session.execute(
            select(User.id, User.username).where(User.id.in_({s.submitter_id for s in subs}))
        ).all()
    )
    edits = dict(
        session.execute(
            select(SubmissionVersion.submission_id, func.count())
            .where(SubmissionVersion.submission_id.in_(ids))
            .group_by(SubmissionVersion.submission_id)
        ).all()
    )
    files = {
        version: (present or 0, expected)
        for version, present, expected in session.execute(
            select(
                Attachment.version_id,
                func.count(Attachment.blob_id),
                func.count(),
            )
            .where(Attachment.version_id.in_(current_versions))
            .group_by(Attachment.version_id)
        )
    }
    form_versions = _form_versions(session, current_versions)
    out = {}
    for s in subs:
        present, expected = files.get(s.current_version_id, (0, 0))
        out[s.id] = {
            "submissionDate": central_time(s.created_at),
            "updatedAt": central_time(s.updated_at),
            "deletedAt": None,
            "submitterId": None if s.submitter_id is None else str(s.submitter_id),
            "submitterName": names.get(s.submitter_id),
            "attachmentsPresent": present,
            "attachmentsExpected": expected,
            "status": None,
            "reviewState": central_review_state(s.review_state),
            "deviceId": s.current_version.device_id,
            "edits": edits.get(s.id, 1) - 1,
            "formVersion": form_versions.get(s.current_version_id),
        }
    return out


def _form_versions(session: Session, version_ids: list[int]) -> dict[int, str]:
    return dict(
        session.execute(
            select(SubmissionVersion.id, FormVersion.version)
            .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
            .where(SubmissionVersion.id.in_(version_ids))
        ).all()
    )


def central_review_state(state: str) -> str | None:
    """Central calls a submission nobody has reviewed yet null; khudan calls it received."""
    return None if state == ReviewState.RECEIVED.value else state


def form_stats(session: Session, user: User) -> dict[int, dict]:
    """Central's extended form metadata, per form, over the submissions ``user`` sees: how many,
    the newest, and how many wait in each review state. One grouped query for every form."""
    seen = visible(session, user).subquery()
    out: dict[int, dict] = {}
    for form_pk, state, n, newest in session.execute(
        select(
            seen.c.form_pk, seen.c.review_state, func.count(), func.max(seen.c.created_at)
        ).group_by(seen.c.form_pk, seen.c.review_state)
    ):
        stats = out.setdefault(
            form_pk,
            {
                "submissions": 0,
                "last": None,
                "states": {"received": 0, "hasIssues": 0, "edited": 0},
            },
        )
        stats["submissions"] += n
        stats["last"] = newest if stats["last"] is None else max(stats["last"], newest)
        if state in stats["states"]:
            stats["states"][state] += n
    return out


def creators(session: Session) -> dict[int, tuple[int, str]]:
    """Who published the first version of each form: (user id, username)."""
    out: dict[int, tuple[int, str]] = {}
    for form_pk, user_id, username in session.execute(
        select(FormVersion.form_pk, User.id, User.username)
        .join(User, User.id == FormVersion.published_by)
        .order_by(FormVersion.id)
    ):
        out.setdefault(form_pk, (user_id, username))
    return out


def fields_view(fields: list[dict], sanitized: bool) -> list[dict]:
    """Central's ``/fields``: each field's path below the instance root, its type (groups are
    ``structure``), and whether it is a file or a select_multiple; names as OData writes them
    when ``sanitized``."""
    out = []
    for f in fields:
        parts = f["path"].split("/")[2:]
        if sanitized:
            parts = [odata.sanitize(p) for p in parts]
        kind = {"group": "structure", "repeat": "repeat"}.get(f["kind"], f["type"])
        out.append(
            {
                "name": parts[-1],
                "path": "/" + "/".join(parts),
                "type": kind,
                "binary": True if f["type"] == "binary" else None,
                "selectMultiple": True if f.get("control") == "select" else None,
            }
        )
    return out


# REST views of submissions -----------------------------------------------------------------


def submission_by_instance(session: Session, user: User, form: Form, instance_id: str):
    row = session.scalar(
        of_form(session, user, form)
        .where(Submission.instance_id == instance_id)
        .options(selectinload(Submission.current_version))
    )
    if row is None:
        raise errors.NOT_FOUND(what=f"submission {instance_id} of form {form.form_id}")
    return row


def submissions(
    session: Session, user: User, form: Form, limit: int | None, offset: int
) -> tuple[list[dict], int]:
    """Central's submission list, newest first, and how many there are in all."""
    query = of_form(session, user, form)
    total = _count(session, query)
    query = query.options(selectinload(Submission.current_version)).order_by(Submission.id.desc())
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [submission_view(s) for s in session.scalars(query)], total


def submission_view(s: Submission) -> dict:
    version = s.current_version
    return {
        "instance_id": s.instance_id,
        # Central always has a submitter; 0 stands for an account that no longer exists.
        "submitter_id": s.submitter_id or 0,
        "device_id": version.device_id,
        "user_agent": version.user_agent,
        "review_state": central_review_state(s.review_state),
        "instance_name": version.instance_name,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "deleted_at": None,
        "current_version": version_view(version, True),
    }


def version_view(v: SubmissionVersion, current: bool) -> dict:
    return {
        "instance_id": v.instance_id,
        "instance_name": v.instance_name,
        "submitter_id": v.submitter_id,
        "device_id": v.device_id,
        "user_agent": v.user_agent,
        "created_at": v.created_at,
        "current": current,
    }


def versions(s: Submission) -> list[dict]:
    return [version_view(v, v.id == s.current_version_id) for v in reversed(s.versions)]


def attachments(session: Session, s: Submission) -> list[dict]:
    return [
        {"name": a.name, "exists": a.blob_id is not None}
        for a in session.scalars(
            select(Attachment)
            .where(Attachment.version_id == s.current_version_id)
            .order_by(Attachment.name)
        )
    ]


def comments(session: Session, s: Submission) -> list[dict]:
    """Newest first, as Central lists them."""
    return [
        {"body": c.body, "actor_id": c.author_id, "created_at": c.created_at}
        for c in session.scalars(
            select(Comment).where(Comment.submission_id == s.id).order_by(Comment.id.desc())
        )
    ]

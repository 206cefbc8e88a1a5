"""Reading and reviewing submissions: list with filters, detail, review state, comments.

Every query goes through the caller's Scope, so a supervisor never sees, counts or changes a row
outside their area subtrees; a collector sees only what they sent. A row out of scope is reported
as not found, so its existence does not leak.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased, defer, selectinload

from khudan.schemas.submissions import GROUP_SHOWN

from .. import errors
from ..models import (
    Attachment,
    Blob,
    Comment,
    Form,
    FormVersion,
    Job,
    JobState,
    PhotoMeta,
    PovertyFact,
    ReviewState,
    Role,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
    User,
    in_flight,
)
from ..models.base import utcnow
from ..textfold import fold, folded
from ..xforms.answers import read_answers
from ..xforms.safexml import local
from ..xforms.submission import read_submission
from . import audit, checks, entity_updates, facts
from .scope import Scope, area_clause

MAX_ID = 2**31 - 1  # ids are INTEGER: 32 bits on PostgreSQL, and a larger query parameter fails
NEEDS_COMMENT = frozenset({ReviewState.REJECTED, ReviewState.HAS_ISSUES})
SETTABLE = frozenset(
    {ReviewState.APPROVED, ReviewState.REJECTED, ReviewState.HAS_ISSUES, ReviewState.RECEIVED}
)
# A list page needs each row's form and current version's form version, not the XML.
_SUMMARY_LOADS = (
    selectinload(Submission.form),
    selectinload(Submission.current_version)
    .options(defer(SubmissionVersion.xml))
    .selectinload(SubmissionVersion.form_version),
)
SORTS = {
    "created_at": Submission.created_at,
    "updated_at": Submission.updated_at,
    "review_state": Submission.review_state,
    "id": Submission.id,
}


STATE_LABELS = {  # Vietnamese; pages translate them
    ReviewState.RECEIVED.value: "Mới nhận",
    ReviewState.EDITED.value: "Đã sửa",
    ReviewState.HAS_ISSUES.value: "Cần sửa",
    ReviewState.APPROVED.value: "Đã duyệt",
    ReviewState.REJECTED.value: "Bị từ chối",
}


@dataclass(frozen=True, slots=True)
class Filters:
    form_id: str | None = None
    version: str | None = None
    period: str | None = None
    area: str | None = None
    review_state: str | None = None
    review_states: tuple[str, ...] = ()  # any of these (the pages' "waiting for review")
    submitter: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    has_problems: bool | None = None
    processing: bool | None = None  # still being processed (``models.in_flight``)
    text: str | None = None  # in the instance name (household code and head) or the code
    sort: str = "-created_at"
    page: int = 1
    per_page: int = 50


def visible(session: Session, user: User):
    """A SELECT of the submissions this user may see (collectors: only their own)."""
    scope = Scope.of(session, user)
    query = select(Submission).where(scope.clause(Submission))
    if user.role == Role.COLLECTOR:
        query = query.where(Submission.submitter_id == user.id)
    return query


def list_submissions(session: Session, user: User, f: Filters) -> tuple[list[dict], int]:
    query = filtered(session, user, f)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    column = SORTS[f.sort.lstrip("-")]
    order = column.desc() if f.sort.startswith("-") else column.asc()
    rows = session.scalars(
        query.options(*_SUMMARY_LOADS)
        .order_by(order, Submission.id.desc())
        .offset((f.page - 1) * f.per_page)
        .limit(f.per_page)
    ).all()
    return summaries(session, rows), total


def filtered(session: Session, user: User, f: Filters):
    """A SELECT of the submissions ``user`` may see that match ``f`` (not paged or sorted): the
    review queue, the API list and the map page filter alike."""
    current = aliased(SubmissionVersion)
    query = visible(session, user).join(current, current.id == Submission.current_version_id)
    query = query.join(Form, Form.id == Submission.form_pk)
    if f.form_id:
        query = query.where(Form.form_id == f.form_id)
    if f.version is not None:
        query = query.join(FormVersion, FormVersion.id == current.form_version_id).where(
            FormVersion.version == f.version
        )
    if f.period:
        query = query.where(Submission.period == f.period)
    if f.area:
        query = query.where(area_clause(session, Submission, f.area))
    if f.review_state:
        query = query.where(Submission.review_state == f.review_state)
    if f.review_states:
        query = query.where(Submission.review_state.in_(f.review_states))
    if f.submitter:
        query = query.join(User, User.id == Submission.submitter_id).where(
            User.username == f.submitter
        )
    if f.since:
        query = query.where(Submission.created_at >= f.since)
    if f.until:
        query = query.where(Submission.created_at < f.until)
    if f.has_problems is not None:
        problem = exists().where(SubmissionProblem.version_id == Submission.current_version_id)
        query = query.where(problem if f.has_problems else ~problem)
    if f.processing is not None:
        waiting = in_flight(Submission.current_version_id)
        query = query.where(waiting if f.processing else ~waiting)
    if f.text:  # without marks and case: "hai" finds "Nguyễn Văn Hải"
        wanted = fold(f.text)
        query = query.where(
            or_(
                folded(current.instance_name).contains(wanted, autoescape=True),
                folded(Submission.household_code).contains(wanted, autoescape=True),
                Submission.instance_id.contains(f.text.strip(), autoescape=True),
            )
        )
    return query


def get_visible(session: Session, user: User, submission_id: int) -> Submission:
    row = None
    if 0 < submission_id <= MAX_ID:  # else the database refuses the parameter: a 500
        row = session.scalar(visible(session, user).where(Submission.id == submission_id))
    if row is None:
        raise errors.NOT_FOUND(what=f"submission {submission_id}")
    return row


def get_visible_by_instance(session: Session, user: User, instance_id: str) -> Submission:
    """The submission one of whose versions has this instanceID, if ``user`` may see it."""
    found = session.scalar(
        select(SubmissionVersion.submission_id)
        .where(SubmissionVersion.instance_id == instance_id[:255])
        .limit(1)
    )
    if found is None:
        raise errors.NOT_FOUND(what=f"submission {instance_id}")
    return get_visible(session, user, found)


def summary(session: Session, s: Submission) -> dict:
    return summaries(session, [s])[0]


def summaries(session: Session, rows: list[Submission]) -> list[dict]:
    """The list view of each row; problem counts and submitters are read in one query each (a
    page of the review queue is a handful of queries, not a few per row)."""
    versions = [s.current_version_id for s in rows]
    problems = dict(
        session.execute(
            select(SubmissionProblem.version_id, func.count())
            .where(SubmissionProblem.version_id.in_(versions))
            .group_by(SubmissionProblem.version_id)
        ).all()
    )
    ids = {s.submitter_id for s in rows} - {None}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    waiting = jobs_of(session, versions)
    return [
        _summary(s, problems.get(s.current_version_id, 0), names.get(s.submitter_id), waiting)
        for s in rows
    ]


MAX_COLUMNS = 6  # answer columns a queue page shows at once


def answer_columns(
    session: Session, ids: list[int], paths: list[str], choice_labels: dict, language: str
) -> dict[int, dict[str, str]]:
    """submission id -> {path: the answer as a person reads it} for the queue's chosen answer
    columns (top-level questions of one form): the current versions' XML in one query, a
    choice shown by its label in ``language`` (``choice_labels``: ``read_choice_labels``)."""
    if not ids or not paths:
        return {}
    rows = session.execute(
        select(Submission.id, SubmissionVersion.xml)
        .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
        .where(Submission.id.in_(ids))
    ).all()
    out = {}
    for sid, xml in rows:
        root = read_submission(xml).root
        values = {}
        for path in paths:
            raw = _answer(root, path)
            labels = choice_labels.get(path, {})
            values[path] = (
                " ".join(
                    (labels.get(v, {}).get(language) or labels.get(v, {}).get("vi") or v)
                    for v in raw.split()
                )
                if labels and raw
                else raw
            )
        out[sid] = values
    return out


def _answer(root, path: str) -> str:
    """The text at ``path`` (/data/group/name) of a submission's XML, "" when absent."""
    node = root
    for step in path.strip("/").split("/")[1:]:
        node = next((c for c in node if _local(c.tag) == step), None)
        if node is None:
            return ""
    return (node.text or "").strip()


def jobs_of(session: Session, version_ids: list[int]) -> dict[int, str | None]:
    """version id -> the error of its parked job, or None while its job waits or runs; versions
    with nothing left to do are absent."""
    found: dict[int, str | None] = {}
    for version_id, state, error in session.execute(
        select(Job.version_id, Job.state, Job.error).where(Job.version_id.in_(version_ids))
    ):
        if state == JobState.PARKED.value:
            found[version_id] = error or "?"
        else:
            found.setdefault(version_id, None)
    return found


def _summary(s: Submission, problems: int, submitter: str | None, waiting: dict) -> dict:
    """``waiting``: ``jobs_of`` the page's current versions."""
    version = s.current_version
    return {
        "id": s.id,
        "form_id": s.form.form_id,
        "form_version": version.form_version.version,
        "instance_id": s.instance_id,
        "current_instance_id": version.instance_id,
        "instance_name": version.instance_name,
        "review_state": s.review_state,
        "submitter": submitter,
        "device_id": version.device_id,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "period": s.period,
        "household_code": s.household_code,
        "province_code": s.province_code,
        "commune_code": s.commune_code,
        "area_code": s.area_code,
        "problem_count": problems,
        "processing": s.current_version_id in waiting,
        "processing_error": waiting.get(s.current_version_id),
    }


def detail(session: Session, s: Submission, attachment_url, reader: User) -> dict:
    """Everything a reviewer needs: answers nested as the form is, labels, files, history."""
    version = s.current_version
    fields = version.form_version.fields
    root = read_submission(version.xml).root
    out = summary(session, s)
    out["answers"] = nested_answers(root, {f["path"] for f in fields if f["kind"] == "repeat"})
    out["labels"] = {f["path"]: f["label"] for f in fields if f.get("label")}
    rows = session.execute(
        select(Attachment, Blob, PhotoMeta)
        .outerjoin(Blob, Blob.id == Attachment.blob_id)
        .outerjoin(PhotoMeta, PhotoMeta.blob_id == Attachment.blob_id)
        .where(Attachment.version_id == version.id)
        .order_by(Attachment.name)
    ).all()
    out["attachments"] = [
        {
            "name": a.name,
            "exists": blob is not None,
            "url": attachment_url(a.name),
            "content_type": blob.content_type if blob else None,
            "size": blob.size if blob else None,
            "md5": blob.md5 if blob else None,
            "photo": _photo(meta, attachment_url(a.name)) if meta is not None else None,
        }
        for a, blob, meta in rows
    ]
    out["problems"] = as_read_by(
        session,
        reader,
        session.scalars(
            select(SubmissionProblem)
            .where(SubmissionProblem.version_id == version.id)
            .order_by(SubmissionProblem.id)
        ).all(),
    )
    out["versions"] = [
        {
            "instance_id": v.instance_id,
            "deprecated_id": v.deprecated_id,
            "instance_name": v.instance_name,
            "created_at": v.created_at,
            "current": v.id == s.current_version_id,
            "device_id": v.device_id,
            "user_agent": v.user_agent,
        }
        for v in reversed(s.versions)
    ]
    out["comments"] = comments(session, s)
    out["same_household"] = same_household(session, s, reader)
    repeats = {f["path"] for f in fields if f["kind"] == "repeat"}
    out["edit_changes"] = edit_changes(s, out["labels"], repeats)
    return out


def edit_changes(s: Submission, labels: dict[str, str], repeats: set[str]) -> list[dict] | None:
    """For an edit, the answers that differ from the version it replaced: ``{path, label,
    before, after}`` in the form's order (a repeat member as ``/data/member[2]/m_name``; an
    answer added or removed has None on one side). None when the current version is no edit."""
    current = s.current_version
    if not current.deprecated_id:
        return None
    older = next((v for v in s.versions if v.instance_id == current.deprecated_id), None)
    if older is None:
        return None
    before = _leaves(read_submission(older.xml).root, repeats)
    after = _leaves(read_submission(current.xml).root, repeats)
    order = list(dict.fromkeys([*after, *before]))
    return [
        {
            "path": path,
            "label": labels.get(re.sub(r"\[\d+\]", "", path)),
            "before": before.get(path),
            "after": after.get(path),
        }
        for path in order
        if before.get(path) != after.get(path)
    ]


def _leaves(root, repeats: set[str]) -> dict[str, str]:
    """path -> text of every answer of a submission's XML, each repeat's members numbered from 1
    (``repeats``: the form's repeat paths), leaving out ``meta`` (instanceID and the like change
    with every edit)."""
    out: dict[str, str] = {}

    def walk(element, path: str, plain: str) -> None:
        children = list(element)
        if not children:
            out[path] = (element.text or "").strip()
            return
        seen: dict[str, int] = {}
        for child in children:
            name = _local(child.tag)
            if name == "meta" and plain.count("/") == 1:
                continue
            child_plain = f"{plain}/{name}"
            seen[name] = seen.get(name, 0) + 1
            step = f"{name}[{seen[name]}]" if child_plain in repeats else name
            walk(child, f"{path}/{step}", child_plain)

    top = f"/{_local(root.tag)}"
    walk(root, top, top)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def same_household(session: Session, s: Submission, reader: User) -> dict | None:
    """The other non-rejected submissions naming this one's household in its period, as far as
    the reader may open them: the duplicate-household group, shown on each member."""
    if not (s.period and s.commune_code and s.household_code):
        return None
    others = (
        visible(session, reader)
        .where(
            *checks.same_household(s.form_pk, s.period, s.commune_code, s.household_code),
            Submission.id != s.id,
            Submission.review_state != ReviewState.REJECTED.value,
        )
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(others))
    rows = session.execute(
        select(others.c.id, others.c.instance_id, others.c.review_state, others.c.created_at)
        .order_by(others.c.id)
        .limit(GROUP_SHOWN)
    ).all()
    return {"total": total, "submissions": [dict(r._mapping) for r in rows]}


def _photo(meta: PhotoMeta, url: str) -> dict:
    """What the photo checks read from a file: a readable image has thumbnails (320 and 1280 px
    on the long side), its size as seen, and the EXIF time and place where the phone wrote them."""
    readable = meta.kind is not None and meta.width is not None
    return {
        "verdict": meta.verdict,
        "detail": meta.detail,
        "width": meta.width,
        "height": meta.height,
        "taken_at": meta.taken_at,
        "taken_offset": meta.taken_offset,
        "latitude": meta.latitude,
        "longitude": meta.longitude,
        "thumbnails": {size: f"{url}?size={size}" for size in ("320", "1280")} if readable else {},
    }


def problems_of(session: Session, submission_ids: list[int], reader: User) -> dict[int, list[dict]]:
    """The problems found in the current version of each submission, in the order found, as
    ``reader`` may see them (two queries for a whole page)."""
    rows = session.execute(
        select(Submission.id, SubmissionProblem)
        .join(SubmissionProblem, SubmissionProblem.version_id == Submission.current_version_id)
        .where(Submission.id.in_(submission_ids))
        .order_by(SubmissionProblem.id)
    ).all()
    shown = iter(as_read_by(session, reader, [problem for _id, problem in rows]))
    out: dict[int, list[dict]] = {i: [] for i in submission_ids}
    for submission_id, _problem in rows:
        out[submission_id].append(next(shown))
    return out


# What a reader is told of a problem about another submission outside their areas: that it exists.
_ELSEWHERE = {
    checks.DUPLICATE: (
        "Hộ này cũng có trong một bài nộp khác ngoài địa bàn của bạn: có thể bị trùng; "
        "hãy báo giám sát viên cấp trên kiểm tra.",
        "This household is also in another submission outside your areas: a possible "
        "duplicate; ask a supervisor above you to check.",
    ),
    "photo-reused": (
        "Một ảnh của bài nộp này trùng với ảnh trong một bài nộp khác ngoài địa bàn của bạn.",
        "A photo of this submission is the same as one in another submission outside your areas.",
    ),
}


def as_read_by(session: Session, reader: User, problems: list[SubmissionProblem]) -> list[dict]:
    """Problems for one reader: one about another submission names it (id, instanceID, file)
    only when the reader may open that submission; otherwise it says one exists elsewhere."""
    related = {p.related_submission_id for p in problems if p.related_submission_id}
    visible: set[int] = set()
    if related:
        scope = Scope.of(session, reader)
        visible = {
            pk
            for pk, province, commune, area in session.execute(
                select(
                    Submission.id,
                    Submission.province_code,
                    Submission.commune_code,
                    Submission.area_code,
                ).where(Submission.id.in_(related))
            )
            if scope.allows(province, commune, area)
        }
    out = []
    for p in problems:
        other = p.related_submission_id
        hidden = other is not None and other not in visible
        vi, en = _ELSEWHERE.get(p.rule, _ELSEWHERE["photo-reused"]) if hidden else (None, None)
        out.append(
            {
                "path": p.path,
                "rule": p.rule,
                "value": None if hidden else p.value,
                "message_vi": vi or p.message_vi,
                "message_en": en or p.message_en,
                "related_submission_id": None if hidden else other,
            }
        )
    return out


def nested_answers(root, repeat_paths: set[str]) -> dict:
    """Groups as objects, repeats as arrays, answers as strings (as the XML holds them)."""

    def walk(element, path: str) -> dict:
        out: dict = {}
        for node in element:
            if not isinstance(node.tag, str):
                continue
            name = local(node.tag)
            node_path = f"{path}/{name}"
            if node_path in repeat_paths:
                out.setdefault(name, []).append(walk(node, node_path))
            elif len(node):
                out[name] = walk(node, node_path)
            else:
                out[name] = (node.text or "").strip()
        return out

    return walk(root, f"/{local(root.tag)}")


def comments(session: Session, s: Submission) -> list[dict]:
    rows = session.execute(
        select(Comment, User.username)
        .outerjoin(User, User.id == Comment.author_id)
        .where(Comment.submission_id == s.id)
        .order_by(Comment.id)
    ).all()
    return [
        {"id": c.id, "body": c.body, "author": name, "created_at": c.created_at} for c, name in rows
    ]


def add_comment(session: Session, user: User, s: Submission, body: str) -> Comment:
    comment = Comment(submission_id=s.id, author_id=user.id, body=body.strip())
    session.add(comment)
    audit.record(session, user.id, "submission.comment", f"submission:{s.id}")
    session.flush()
    return comment


def review_many(
    session: Session, user: User, ids: list[int], state: str, comment: str | None
) -> int:
    """One review state on a selection, all or nothing (NOT_FOUND names the first id the user
    may not see; nothing is changed then); returns how many were set. Not committed."""
    rows = [get_visible(session, user, i) for i in dict.fromkeys(ids)]
    for row in rows:
        set_review_state(session, user, row, state, comment)
    return len(rows)


def set_review_state(
    session: Session, user: User, s: Submission, state: str, comment: str | None
) -> None:
    """Change the review state; rejecting or flagging needs a comment, given here or written by
    the same reviewer since the last change (ODK Central's clients comment and change the state
    in two requests). A rejection (or its undoing)
    changes which submission counts for the household, so its facts are recomputed."""
    new = ReviewState(state)
    if (
        new in NEEDS_COMMENT
        and not (comment or "").strip()
        and not commented_since_review(session, user, s)
    ):
        raise errors.COMMENT_REQUIRED(state=new.value)
    old = ReviewState(s.review_state)
    if comment and comment.strip():
        add_comment(session, user, s, comment)
    if old == new:
        return
    s.review_state = new.value
    s.updated_at = utcnow()
    audit.record(
        session,
        user.id,
        "submission.review",
        f"submission:{s.id}",
        **{"from": old.value, "to": new.value},
    )
    if ReviewState.APPROVED in (old, new):
        facts.set_approved(session, s.form.form_id, s.id, new == ReviewState.APPROVED)
    if new == ReviewState.APPROVED:
        entity_updates.on_approved(session, s)
    if ReviewState.REJECTED in (old, new):
        session.flush()
        recount_household(session, s)


def commented_since_review(session: Session, user: User, s: Submission) -> bool:
    """Has ``user`` commented on ``s`` since its state or answers last changed?"""
    since = s.updated_at or s.created_at
    return bool(
        session.scalar(
            select(
                exists().where(
                    Comment.submission_id == s.id,
                    Comment.author_id == user.id,
                    Comment.created_at >= since,
                )
            )
        )
    )


def recount_household(session: Session, s: Submission) -> None:
    """Make the household's facts come from its latest non-rejected submission (or none)."""
    recount_household_key(
        session, s.form_pk, s.form.form_id, s.period, s.commune_code, s.household_code
    )


def recount_household_key(
    session: Session,
    form_pk: int,
    form_id: str,
    period: str | None,
    commune_code: str | None,
    household_code: str | None,
) -> None:
    """The same for a household named by its key: also after an edit moved a submission away
    from it, when the household's fact may come from another submission or from none."""
    if not (period and household_code and form_id in facts.DOMAIN_OF_FORM):
        return
    model = facts.model_for(form_id)
    key = f"{commune_code}/{household_code}"
    for row in session.scalars(
        select(model).where(model.period == period, model.household_key == key)
    ):
        session.delete(row)
    session.flush()
    latest = session.scalar(
        select(Submission)
        .where(
            Submission.form_pk == form_pk,
            Submission.period == period,
            Submission.commune_code == commune_code,
            Submission.household_code == household_code,
            Submission.review_state != ReviewState.REJECTED.value,
        )
        .order_by(Submission.current_version_id.desc())
        .limit(1)
    )
    if latest is None:
        if model is PovertyFact:
            facts.link(session, {key})  # the periods around the one now gone
        return
    version = latest.current_version
    answers = read_answers(read_submission(version.xml).root, version.form_version.fields)
    facts.record(
        session,
        latest.form.form_id,
        answers,
        facts.Source(
            latest.id,
            version.id,
            version.created_at,
            latest.review_state == ReviewState.APPROVED.value,
        ),
    )

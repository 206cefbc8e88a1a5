"""Entities from submissions: a worker applies a processed submission's entities to the lists
that change on receipt, a review applies them to those that change on approval.

The rules follow the ODK XForms Entities spec and ODK Central (getodk/central-backend
``lib/model/query/entities.js``): create, update, upsert; ``baseVersion`` for an update made
offline; ``branchId``/``trunkVersion`` to order a chain of offline updates, holding one whose
predecessor has not arrived (``entity_backlog``) and forcing it after
``KHUDAN_ENTITY_BACKLOG_DAYS``; a soft conflict when an update starts from an older version, hard
when it changes a property another update changed. One difference, said in the README: a list that
requires approval applies updates on approval too (Central gates only creation), because a
household's class must not change on a review nobody has checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from ..domain.checks import Issue
from ..models import (
    Entity,
    EntityBacklog,
    EntityList,
    EntityVersion,
    Form,
    FormVersion,
    Submission,
    SubmissionVersion,
    User,
)
from ..models.base import utcnow
from ..xforms import entities as declared
from ..xforms.safexml import parse_stored
from . import batch_reads, entities

PATH = "/meta/entity"


class EntityProblem(Exception):
    """Why one sent entity could not be applied (Central's 404.8, 409.3, 400.2 ...)."""

    def __init__(self, kind: str, vi: str, en: str):
        super().__init__(en)
        self.kind, self.vi, self.en = kind, vi, en


# --- from submissions -------------------------------------------------------------------------


_DECLARED: dict[tuple[int, str], tuple] = {}  # (form version id, md5) -> its declarations


def declarations_of(session: Session, form_version_id: int, md5: str | None = None) -> tuple:
    """The entity declarations of a form version, read from its XForm once per process (a
    version's XForm never changes; the MD5 in the key guards against a reused id). A job
    that has read the version's MD5 already passes it."""
    if md5 is None:
        md5 = session.scalar(select(FormVersion.md5).where(FormVersion.id == form_version_id))
    key = (form_version_id, md5 or "")
    found = _DECLARED.get(key)
    if found is None:
        xml = session.scalar(select(FormVersion.xml).where(FormVersion.id == form_version_id))
        found = tuple(declared.declarations(xml)) if xml and b"entities" in xml else ()
        if len(_DECLARED) > 256:
            _DECLARED.clear()
        _DECLARED[key] = found
    return found


_LISTS = EntityList.__table__
_WAITING = select(_LISTS.c.name).where(
    _LISTS.c.name.in_(bindparam("names", expanding=True)), _LISTS.c.approval_required.is_(True)
)


def on_processed(session: Session, version: SubmissionVersion, md5: str) -> list[Issue]:
    """Apply the submission's entities to the lists that do not wait for approval (and to those
    that do, when it was approved while its job waited); ``md5`` is the form version's."""
    submission = session.get(Submission, version.submission_id)  # the job's, already loaded
    approved = submission is not None and submission.review_state == "approved"
    return _apply(session, version.submission_id, approved=approved, md5=md5)


def on_approved(session: Session, submission: Submission) -> list[Issue]:
    """Apply the submission's entities to the lists that wait for approval; a submission still
    being processed is left to its job, which has the facts the lists take their class from."""
    current = session.get(SubmissionVersion, submission.current_version_id)
    if current is None or current.processed_at is None:
        return []
    issues = _apply(session, submission.id, approved=True)
    if issues and submission.current_version_id:
        from . import photos  # the problems table's writer

        photos.add_problems(session, submission.current_version_id, issues)
    return issues


def _apply(
    session: Session,
    submission_id: int,
    *,
    approved: bool,
    force: bool = False,
    md5: str | None = None,
):
    """Apply the submission's entities to the lists due: all of them when ``approved``, else
    those that change on receipt. An entity a submission already changed is left alone.
    ``md5``: the current version's form version's, when the caller has it."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.current_version_id is None:
        return []
    version = session.get(SubmissionVersion, submission.current_version_id)
    decls = declarations_of(session, version.form_version_id, md5)
    if not decls:
        return []
    names = {d.list_name for d in decls}
    if not approved:  # a plain read: no flush, no objects (a job's write asks it every time)
        waiting = batch_reads.once(
            ("lists waiting", frozenset(names)),
            lambda: session.connection().execute(_WAITING, {"names": list(names)}).all(),
        )
        if len(waiting) == len(names):
            return []  # nothing to do now (the usual case on processing): the XML is not read
    named = {
        lst.name: lst
        for lst in session.scalars(select(EntityList).where(EntityList.name.in_(names)))
    }
    form_id = session.scalar(select(Form.form_id).where(Form.id == submission.form_pk))
    root = parse_stored(version.xml)
    issues = []
    for item in declared.sent(root, list(decls)):
        lst = named.get(item.list_name) or session.scalar(
            select(EntityList).where(EntityList.name == item.list_name)
        )
        if lst is None:
            issues.append(
                _issue(
                    EntityProblem(
                        "list",
                        f"Không có danh sách thực thể {item.list_name}.",
                        f"There is no entity list {item.list_name}.",
                    )
                )
            )
            continue
        if lst.approval_required and not approved:  # waits for a supervisor
            continue
        try:
            _apply_one(session, lst, item, submission, version, form_id, force=force)
        except EntityProblem as problem:
            issues.append(_issue(problem, item.uuid))
    return issues


def _issue(problem: EntityProblem, uuid: str | None = None) -> Issue:
    return Issue(PATH, "entity-" + problem.kind, uuid, problem.vi, problem.en)


def _apply_one(
    session: Session,
    lst: EntityList,
    item: declared.Sent,
    submission: Submission,
    version: SubmissionVersion,
    form_id: str,
    *,
    force: bool = False,
) -> None:
    match = entities.UUID.match(item.uuid or "")
    if not match:
        raise EntityProblem(
            "id",
            "Mã thực thể không phải UUID phiên bản 4.",
            "The entity id is not a version 4 UUID.",
        )
    item.uuid = match.group(1).lower()
    done = session.scalar(
        select(EntityVersion.id)
        .join(Entity, Entity.id == EntityVersion.entity_id)
        .where(EntityVersion.submission_id == submission.id, Entity.uuid == item.uuid)
    )
    if done is not None:  # a submission changes an entity once (Central: never again on edits)
        return
    held = session.scalar(
        select(EntityBacklog.id).where(
            EntityBacklog.submission_id == submission.id, EntityBacklog.entity_uuid == item.uuid
        )
    )
    if held is not None and not force:
        return
    item.data.update(_derived(session, lst, form_id, submission.id))
    unknown = sorted(set(item.data) - set(lst.properties or []))
    for name in unknown:
        item.data.pop(name)
    entity = None
    if item.update:
        try:
            entity = _update(session, lst, item, submission, version, force=force)
        except EntityProblem as problem:
            if problem.kind in ("not-found", "base-missing") and (item.create or force):
                if force and not (item.label or "").strip():  # as Central does
                    item.label = "auto generated"
                entity = _create(session, lst, item, submission, version)
            else:
                raise
    elif item.create:
        entity = _create(session, lst, item, submission, version)
    if entity is not None:
        _release_next(session, entity)


def _create(session, lst, item, submission, version) -> Entity:
    if (
        session.scalar(select(Entity.id).where(Entity.list_id == lst.id, Entity.uuid == item.uuid))
        is not None
    ):
        raise EntityProblem(
            "exists",
            f"Thực thể {item.uuid} đã có trong danh sách {lst.name}.",
            f"Entity {item.uuid} already exists in list {lst.name}.",
        )
    label = (item.label or "").strip()
    if not label:
        raise EntityProblem(
            "label", "Thực thể mới cần có nhãn (label).", "A new entity needs a label."
        )
    probe = Entity(data=dict(item.data))
    entities.place(probe)
    twin = (
        session.scalar(
            select(Entity.label).where(
                Entity.list_id == lst.id,
                Entity.household_key == probe.household_key,
                Entity.deleted_at.is_(None),
            )
        )
        if probe.household_key
        else None
    )
    if twin is not None:  # "a new household" that is on the list: a collector's slip
        raise EntityProblem(
            "duplicate",
            f"Hộ mã {item.data.get('household_code')} đã có trong danh sách ({twin}); phiếu "
            "không thêm hộ mới. Nếu đúng là hộ đó, sửa hộ trong danh sách cho khớp phiếu.",
            f"Household {item.data.get('household_code')} is already on the list ({twin}); "
            "no new household was added. If it is that household, correct it on the list.",
        )
    return entities.insert(
        session,
        lst,
        item.uuid,
        label,
        item.data,
        "submission",
        submission.submitter_id,
        submission_id=submission.id,
        version_id=version.id,
        branch_id=item.branch_id,
        branch_base_version=_int(item.base_version) if item.branch_id else None,
    )


def _update(session, lst, item, submission, version, *, force=False) -> Entity | None:
    entity = session.scalars(
        select(Entity).where(Entity.list_id == lst.id, Entity.uuid == item.uuid).with_for_update()
    ).one_or_none()
    if entity is None:
        if item.branch_id and not force and not item.create:
            _hold(session, lst, item, submission)  # an offline create may still arrive
            return None
        raise EntityProblem(
            "not-found",
            f"Không tìm thấy thực thể {item.uuid} trong danh sách {lst.name}.",
            f"Entity {item.uuid} was not found in list {lst.name}.",
        )
    if entity.deleted_at is not None:
        raise EntityProblem(
            "deleted", f"Thực thể {item.uuid} đã bị xóa.", f"Entity {item.uuid} was deleted."
        )
    base_version = _int(item.base_version)
    trunk = _int(item.trunk_version)
    if base_version is None:
        raise EntityProblem(
            "base-missing",
            "Bản cập nhật không cho biết phiên bản gốc (baseVersion).",
            "The update does not say which version it started from (baseVersion).",
        )
    if item.branch_id is None:
        base = _def(session, entity.id, version=base_version)
    elif base_version == 1:
        base = _def(session, entity.id, version=1)
    elif base_version == trunk:
        base = _def(session, entity.id, version=base_version)
    else:
        base = _def(
            session, entity.id, branch_id=item.branch_id, branch_base_version=base_version - 1
        )
    if base is None:
        if item.branch_id and not force:
            _hold(session, lst, item, submission)
            return None
        if not force:
            raise EntityProblem(
                "version",
                f"Thực thể {item.uuid} không có phiên bản {base_version}.",
                f"Entity {item.uuid} has no version {base_version}.",
            )
        base = _def(session, entity.id, version=entity.version)
    if trunk is not None and trunk > entity.version:
        raise EntityProblem(
            "version",
            f"Thực thể {item.uuid} chưa có phiên bản {trunk}.",
            f"Entity {item.uuid} has no version {trunk} yet.",
        )
    current = _def(session, entity.id, version=entity.version)
    conflict = entity.conflict
    conflicting = None
    if base.version != current.version:
        changed = {k: v for k, v in current.data.items() if base.data.get(k) != v}
        if current.label != base.label:
            changed["label"] = current.label
        sent = dict(item.data)
        if item.label:
            sent["label"] = item.label
        conflicting = sorted(k for k, v in sent.items() if k in changed and changed[k] != v)
        if conflict != "hard":
            conflict = "hard" if conflicting else "soft"
    elif (
        item.branch_id
        and _interrupted(session, entity.id, item.branch_id, trunk)
        and (conflict != "hard")
    ):
        conflict = "soft"
    entity.data = {**(entity.data or {}), **item.data}
    if item.label:
        entity.label = item.label[: entities.MAX_LABEL]
    entity.version += 1
    entity.conflict = conflict
    entity.updated_at = utcnow()
    entities.place(entity)
    entities.add_version(
        session,
        entity,
        item.data,
        "submission",
        submission.submitter_id,
        submission_id=submission.id,
        version_id=version.id,
        base_version=base.version,
        trunk_version=trunk,
        branch_id=item.branch_id,
        branch_base_version=base_version if item.branch_id else None,
        conflicting=conflicting,
    )
    return entity


def _def(session: Session, entity_id: int, **where) -> EntityVersion | None:
    return session.scalars(
        select(EntityVersion)
        .filter_by(entity_id=entity_id, **where)
        .order_by(EntityVersion.version)
        .limit(1)
    ).first()


def _interrupted(session: Session, entity_id: int, branch_id: str, trunk: int | None) -> bool:
    """Another branch (or an online update) wrote a version after this branch's trunk."""
    return (
        session.scalar(
            select(EntityVersion.id)
            .where(
                EntityVersion.entity_id == entity_id,
                or_(EntityVersion.branch_id.is_(None), EntityVersion.branch_id != branch_id),
                EntityVersion.version > (trunk or 1),
            )
            .limit(1)
        )
        is not None
    )


def _hold(session: Session, lst: EntityList, item: declared.Sent, submission: Submission):
    exists = session.scalar(
        select(EntityBacklog.id).where(
            EntityBacklog.submission_id == submission.id, EntityBacklog.entity_uuid == item.uuid
        )
    )
    if exists is None:
        session.add(
            EntityBacklog(
                list_id=lst.id,
                entity_uuid=item.uuid,
                branch_id=item.branch_id,
                branch_base_version=_int(item.base_version) or 0,
                submission_id=submission.id,
            )
        )
        session.flush()


def _release_next(session: Session, entity: Entity) -> None:
    """Apply the held updates that now follow the entity's last version in their branch."""
    while True:
        last = _def(session, entity.id, version=entity.version)
        following = (last.branch_base_version or 0) + 1
        where = (  # after a create or an online update: a chain that started offline from 1
            [EntityBacklog.entity_uuid == entity.uuid, EntityBacklog.branch_base_version == 1]
            if last.branch_id is None or last.version == 1
            else [
                EntityBacklog.branch_id == last.branch_id,
                EntityBacklog.branch_base_version == following,
            ]
        )
        held = session.scalars(select(EntityBacklog).where(*where).limit(1)).first()
        if held is None:
            return
        submission_id = held.submission_id
        session.delete(held)
        session.flush()
        before = entity.version
        _apply(session, submission_id, approved=True)  # it was due when it was held
        session.refresh(entity)
        if entity.version == before:
            return


def process_backlog(session: Session, older_than: dt.timedelta) -> int:
    """Force the updates held longer than ``older_than``: applied on the latest version (or as a
    create when the entity never arrived), oldest branch position first, as Central does after
    five days. Returns how many were forced."""
    cutoff = utcnow() - older_than
    rows = session.scalars(
        select(EntityBacklog)
        .where(EntityBacklog.held_at <= cutoff)
        .order_by(EntityBacklog.branch_id, EntityBacklog.branch_base_version)
        .with_for_update(skip_locked=True)  # another process forcing at the same time
    ).all()
    for held in rows:
        submission_id = held.submission_id
        session.delete(held)
        session.flush()
        issues = _apply(session, submission_id, approved=True, force=True)
        current = session.scalar(
            select(Submission.current_version_id).where(Submission.id == submission_id)
        )
        if issues and current:
            from . import photos

            photos.add_problems(session, current, issues)
    return len(rows)


def _derived(session: Session, lst: EntityList, form_id: str, submission_id: int) -> dict:
    """The list's properties the server fills from the submission's facts (class, period...)."""
    model, columns = entities.DERIVED.get(form_id, (None, {}))
    wanted = {p: c for p, c in columns.items() if p in (lst.properties or [])}
    if model is None or not wanted:
        return {}
    row = session.execute(
        select(*(getattr(model, c) for c in wanted.values())).where(
            model.submission_id == submission_id
        )
    ).first()
    if row is None:
        return {}
    return {p: _text(v) for p, v in zip(wanted, row, strict=True) if v is not None}


def _text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise EntityProblem(
            "version",
            f"Phiên bản {value!r} không phải số nguyên.",
            f"Version {value!r} is not an integer.",
        ) from None


@dataclass(frozen=True, slots=True)
class Link:
    """An entity a submission names, for its page: what it did or will do to it."""

    list_name: str
    uuid: str
    label: str | None  # None: not on the list (yet)
    state: str  # applied, waiting-approval, held, not-applied
    version: int | None  # the version this submission made


def of_submission(session: Session, user: User, submission: Submission) -> list[Link]:
    """The entities a submission creates or updates and where each stands, for readers who may
    see them."""
    if submission.current_version_id is None:
        return []
    version = session.get(SubmissionVersion, submission.current_version_id)
    decls = declarations_of(session, version.form_version_id)
    if not decls:
        return []
    made = dict(
        session.execute(
            select(Entity.uuid, EntityVersion.version)
            .join(EntityVersion, EntityVersion.entity_id == Entity.id)
            .where(EntityVersion.submission_id == submission.id)
        ).all()
    )
    held = set(
        session.scalars(
            select(EntityBacklog.entity_uuid).where(EntityBacklog.submission_id == submission.id)
        )
    )
    out = []
    for item in declared.sent(parse_stored(version.xml), list(decls)):
        match = entities.UUID.match(item.uuid or "")
        if not match:
            continue
        uuid = match.group(1).lower()
        lst = session.scalar(select(EntityList).where(EntityList.name == item.list_name))
        if lst is None:
            continue
        entity = session.scalars(
            entities.visible(session, user, lst).where(Entity.uuid == uuid)
        ).first()
        if uuid in made:
            state = "applied"
        elif uuid in held:
            state = "held"
        elif lst.approval_required and submission.review_state != "approved":
            state = "waiting-approval"
        else:
            state = "not-applied"
        out.append(Link(lst.name, uuid, entity.label if entity else None, state, made.get(uuid)))
    return out

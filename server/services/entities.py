"""Entity lists: made by the forms that declare them, changed by submissions (on processing or on
approval, per list), by CSV import and the API, and served to each phone as ``<list>.csv`` holding
only the entities of the collector's areas.

The rules for applying a submission follow the ODK XForms Entities spec and ODK Central
(getodk/central-backend ``lib/model/query/entities.js``): create, update, upsert; ``baseVersion``
for an update made offline; ``branchId``/``trunkVersion`` to order a chain of offline updates,
holding one whose predecessor has not arrived (``entity_backlog``) and forcing it after
``KHUDAN_ENTITY_BACKLOG_DAYS``; a soft conflict when an update starts from an older version, hard
when it changes a property another update changed. One difference, said in the README: a list that
requires approval applies updates on approval too (Central gates only creation), because a
household's class must not change on a review nobody has checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from .. import errors
from ..domain.checks import Issue
from ..models import (
    Area,
    CulturalFamilyFact,
    Entity,
    EntityBacklog,
    EntityList,
    EntityVersion,
    Form,
    FormVersion,
    PovertyFact,
    Submission,
    SubmissionVersion,
    User,
)
from ..models.base import utcnow
from ..textfold import fold
from ..xforms import entities as declared
from ..xforms.safexml import parse_stored
from .scope import Scope

UUID = re.compile(
    r"^(?:uuid:)?([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$", re.I
)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")  # an XML name without dots or colons
# Properties that say where an entity belongs: the columns scoping reads.
PLACE = {"province": "province_code", "commune": "commune_code", "area_code": "area_code"}
# Properties khudan fills from the submission's facts, not from the form: the official class is
# computed on the server with the period's standard, never on the phone.
DERIVED = {
    "poverty_review": (
        PovertyFact,
        {
            "poverty_class": "poverty_class",
            "period": "period",
            "b1_score": "b1_score",
            "b2_score": "b2_score",
            "deprivation_count": "deprivation_count",
            "household_size": "household_size",
        },
    ),
    "cultural_family": (CulturalFamilyFact, {"cf_period": "period", "cf_earned": "earned"}),
}
PATH = "/meta/entity"
MAX_LABEL = 1000


class EntityProblem(Exception):
    """Why one sent entity could not be applied (Central's 404.8, 409.3, 400.2 ...)."""

    def __init__(self, kind: str, vi: str, en: str):
        super().__init__(en)
        self.kind, self.vi, self.en = kind, vi, en


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


# --- lists ------------------------------------------------------------------------------------


def register(session: Session, form_id: str, xml: bytes) -> list[str]:
    """Create the lists a form declares, add the properties it saves to and those khudan derives
    for it (``DERIVED``), at publish. Returns the names of the lists."""
    names = []
    derived = list(DERIVED.get(form_id, (None, {}))[1])
    for d in declared.declarations(xml):
        if not NAME.match(d.list_name):
            raise errors.XFORM_INVALID(
                reason=f"entity list name {d.list_name!r}: letters, digits, _ and - only"
            )
        add_properties(session, ensure_list(session, d.list_name), [*d.properties, *derived])
        names.append(d.list_name)
    return names


def ensure_list(session: Session, name: str) -> EntityList:
    found = session.scalar(select(EntityList).where(EntityList.name == name))
    if found is None:
        found = EntityList(name=name, properties=[], approval_required=True)
        session.add(found)
        session.flush()
    return found


def add_properties(session: Session, lst: EntityList, names: Iterable[str]) -> None:
    have = list(lst.properties or [])
    for name in names:
        if name in ("name", "label") or name.startswith("__") or not NAME.match(name):
            raise errors.ENTITY_PROPERTY_INVALID(name=name)
        if name not in have:
            have.append(name)
    if have != (lst.properties or []):
        lst.properties = have


def get_list(session: Session, name: str) -> EntityList:
    found = session.scalar(select(EntityList).where(EntityList.name == name))
    if found is None:
        raise errors.NOT_FOUND(what=f"entity list {name}")
    return found


def lists(session: Session) -> list[EntityList]:
    return list(session.scalars(select(EntityList).order_by(EntityList.name)))


def media_lists(session: Session, expected: Iterable[str]) -> dict[str, EntityList]:
    """The form media files served from entity lists: ``households.csv`` -> its list."""
    names = {f[:-4]: f for f in expected if f.endswith(".csv")}
    if not names:
        return {}
    found = session.scalars(select(EntityList).where(EntityList.name.in_(names)))
    return {names[lst.name]: lst for lst in found}


# --- to phones ----------------------------------------------------------------------------------


def scope_clause(session: Session, user: User, lst: EntityList):
    """The entities a user may see: those of their areas; in a list whose entities have no
    place (no province, commune or area_code property), all. One index range per area."""
    if not PLACE.keys() & set(lst.properties or []):
        return true()
    return Scope.of(session, user).clause(Entity)


def csv_for(session: Session, lst: EntityList, user: User) -> bytes:
    """The list as ODK Central serves it to a form (``name,label,__version,<properties>``) plus
    ``__search`` (the label without marks, for a search that ignores diacritics), holding only
    the entities of ``user``'s areas, in a fixed order so the MD5 changes only with the
    content."""
    props = list(lst.properties or [])
    rows = session.execute(
        select(Entity.uuid, Entity.label, Entity.version, Entity.data)
        .where(
            Entity.list_id == lst.id, Entity.deleted_at.is_(None), scope_clause(session, user, lst)
        )
        .order_by(Entity.label, Entity.uuid)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", "__version", *props, "__search"])
    for uuid, label, version, data in rows:
        data = data or {}
        writer.writerow([uuid, label, version, *(data.get(p, "") for p in props), fold(label)])
    return out.getvalue().encode("utf-8")


def integrity(session: Session, lst: EntityList, ids: list[str]) -> list[tuple[str, bool]]:
    """(uuid, deleted) for the ids a phone asks about; an unknown id is reported deleted, as
    Central does for purged ones, so the phone drops it."""
    ids = [i.strip().lower() for i in ids if i.strip()][:5000]
    rows = dict(
        session.execute(
            select(Entity.uuid, Entity.deleted_at).where(
                Entity.list_id == lst.id, Entity.uuid.in_(ids)
            )
        ).all()
    )
    return [(i, i not in rows or rows[i] is not None) for i in dict.fromkeys(ids)]


# --- from submissions -------------------------------------------------------------------------


_DECLARED: dict[tuple[int, str], tuple] = {}  # (form version id, md5) -> its declarations


def declarations_of(session: Session, form_version_id: int) -> tuple:
    """The entity declarations of a form version, read from its XForm once per process (a
    version's XForm never changes; the MD5 in the key guards against a reused id)."""
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


def on_processed(session: Session, version: SubmissionVersion) -> list[Issue]:
    """Apply the submission's entities to the lists that do not wait for approval."""
    return _apply(session, version.submission_id, approved=False)


def on_approved(session: Session, submission: Submission) -> list[Issue]:
    """Apply the submission's entities to the lists that wait for approval."""
    issues = _apply(session, submission.id, approved=True)
    if issues and submission.current_version_id:
        from . import photos  # the problems table's writer

        photos.add_problems(session, submission.current_version_id, issues)
    return issues


def _apply(session: Session, submission_id: int, *, approved: bool, force: bool = False):
    submission = session.get(Submission, submission_id)
    if submission is None or submission.current_version_id is None:
        return []
    version = session.get(SubmissionVersion, submission.current_version_id)
    decls = declarations_of(session, version.form_version_id)
    if not decls:
        return []
    named = {
        lst.name: lst
        for lst in session.scalars(
            select(EntityList).where(EntityList.name.in_({d.list_name for d in decls}))
        )
    }
    if all(lst.approval_required != approved for lst in named.values()) and len(named) == len(
        {d.list_name for d in decls}
    ):
        return []  # nothing to do now (the usual case on processing): the XML is not read
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
        if lst.approval_required != approved:
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
    match = UUID.match(item.uuid or "")
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
        _release_next(session, lst, entity)


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
    _place(probe)
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
    entity = Entity(
        list_id=lst.id,
        uuid=item.uuid,
        label=label[:MAX_LABEL],
        data=dict(item.data),
        version=1,
        creator_id=submission.submitter_id,
        updated_at=None,
    )
    _place(entity)
    session.add(entity)
    session.flush()
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=1,
            label=entity.label,
            data=dict(entity.data),
            received=dict(item.data),
            source="submission",
            submission_id=submission.id,
            version_id=version.id,
            branch_id=item.branch_id,
            branch_base_version=_int(item.base_version) if item.branch_id else None,
            user_id=submission.submitter_id,
        )
    )
    return entity


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
        entity.label = item.label[:MAX_LABEL]
    entity.version += 1
    entity.conflict = conflict
    entity.updated_at = utcnow()
    _place(entity)
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=entity.version,
            label=entity.label,
            data=dict(entity.data),
            received=dict(item.data),
            source="submission",
            submission_id=submission.id,
            version_id=version.id,
            base_version=base.version,
            trunk_version=trunk,
            branch_id=item.branch_id,
            branch_base_version=base_version if item.branch_id else None,
            conflicting=conflicting,
            user_id=submission.submitter_id,
        )
    )
    session.flush()
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


def _release_next(session: Session, lst: EntityList, entity: Entity) -> None:
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
        _apply(session, submission_id, approved=lst.approval_required)
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
        lst = session.get(EntityList, held.list_id)
        submission_id = held.submission_id
        session.delete(held)
        session.flush()
        issues = _apply(session, submission_id, approved=lst.approval_required, force=True)
        current = session.scalar(
            select(Submission.current_version_id).where(Submission.id == submission_id)
        )
        if issues and current:
            from . import photos

            photos.add_problems(session, current, issues)
    return len(rows)


def _derived(session: Session, lst: EntityList, form_id: str, submission_id: int) -> dict:
    """The list's properties the server fills from the submission's facts (class, period...)."""
    model, columns = DERIVED.get(form_id, (None, {}))
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


def _place(entity: Entity) -> None:
    data = entity.data or {}
    for prop, column in PLACE.items():
        if prop in data:
            setattr(entity, column, (data.get(prop) or None))
    code = str(data.get("household_code") or "").strip().upper()
    entity.household_key = f"{entity.commune_code or ''}/{code}" if code else None
    parts = [entity.label or "", *(str(v) for v in data.values())]
    entity.search = fold(" ".join(parts))[:2000]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise EntityProblem(
            "version",
            f"Phiên bản {value!r} không phải số nguyên.",
            f"Version {value!r} is not an integer.",
        ) from None


# --- by people: CSV import, API, conflicts ----------------------------------------------------


def import_csv(
    session: Session, lst: EntityList, data: bytes, user: User, *, add_properties_: bool = True
) -> ImportReport:
    """Create or update entities from a CSV (the commune's list of last year): a ``label``
    column, an optional ``name`` (uuid: update that entity; empty: the entity with the same
    household code in the commune, or the same label in the area, else a new one), and one
    column per property. Unknown columns become properties when ``add_properties_``. A row outside the
    importer's areas or naming an unknown area is rejected with its line number."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = [c for c in (reader.fieldnames or []) if c not in ("name", "label", "__version")]
    if "label" not in (reader.fieldnames or []):
        raise errors.ENTITY_CSV_INVALID(reason="no label column")
    skip = {c for c in columns if c.startswith("__")}
    columns = [c for c in columns if c not in skip]
    if add_properties_:
        add_properties(session, lst, columns)
    else:
        unknown = [c for c in columns if c not in (lst.properties or [])]
        if unknown:
            raise errors.ENTITY_CSV_INVALID(reason="unknown columns: " + ", ".join(unknown))
    scope = Scope.of(session, user)
    known_areas = _area_index(session)
    report = ImportReport()
    existing = {e.uuid: e for e in session.scalars(select(Entity).where(Entity.list_id == lst.id))}
    by_key = {_natural_key(e.label, e.data or {}): e for e in existing.values()}
    for line, row in enumerate(reader, start=2):
        label = (row.get("label") or "").strip()
        values = {c: (row.get(c) or "").strip() for c in columns}
        reason = _place_problem(values, known_areas, scope)
        if not label:
            reason = "empty label"
        raw_id = (row.get("name") or "").strip()
        if raw_id and not UUID.match(raw_id):
            reason = f"name {raw_id!r} is not a version 4 UUID"
        if reason:
            report.rejected.append((line, reason))
            continue
        if raw_id:
            uuid = UUID.match(raw_id).group(1).lower()
            entity = existing.get(uuid)
        else:  # the same household imported again is the same entity, not a second one
            entity = by_key.get(_natural_key(label, values))
            uuid = entity.uuid if entity is not None else str(uuidlib.uuid4())
        if entity is None:
            entity = Entity(
                list_id=lst.id,
                uuid=uuid,
                label=label[:MAX_LABEL],
                data=values,
                version=1,
                creator_id=user.id,
            )
            _place(entity)
            session.add(entity)
            session.flush()
            existing[uuid] = entity
            by_key[_natural_key(label, values)] = entity
            _version_row(session, entity, values, "csv", user.id)
            report.created += 1
        elif entity.label == label and all(
            (entity.data or {}).get(k) == v for k, v in values.items()
        ):
            report.unchanged += 1
        else:
            update(session, entity, label, values, user, source="csv")
            report.updated += 1
    return report


def _natural_key(label: str, data: dict) -> tuple:
    """What names an entity when a CSV row has no id: a household code within its commune,
    else the label within its area."""
    place = data.get("area_code") or data.get("commune") or data.get("province") or ""
    if data.get("household_code"):
        return ("code", data.get("commune") or place, data["household_code"].strip().upper())
    return ("label", place, fold(label))


def _area_index(session: Session) -> dict[str, tuple[str | None, str]]:
    return {
        code: (parent, level)
        for code, parent, level in session.execute(select(Area.code, Area.parent_code, Area.level))
    }


def _place_problem(values: dict, known: dict, scope: Scope) -> str | None:
    province, commune, area = (values.get(p) or None for p in PLACE)
    for prop, code in (("province", province), ("commune", commune), ("area_code", area)):
        if code and code not in known:
            return f"unknown {prop} {code}"
    if area and commune and known[area][0] != commune:
        return f"area {area} is not in commune {commune}"
    if any((province, commune, area)) and not scope.allows(province, commune, area):
        return "outside your areas"
    if not any((province, commune, area)) and not scope.everything:
        return "no area: only an admin may add an entity without one"
    return None


def create(
    session: Session, lst: EntityList, label: str, data: dict, user: User, uuid: str | None = None
) -> Entity:
    """A new entity from the API."""
    unknown = sorted(set(data) - set(lst.properties or []))
    if unknown:
        raise errors.ENTITY_PROPERTY_UNKNOWN(names=", ".join(unknown), list=lst.name)
    if not label.strip():
        raise errors.ENTITY_LABEL_REQUIRED()
    if uuid is not None and not UUID.match(uuid):
        raise errors.ENTITY_ID_INVALID(value=uuid)
    uuid = UUID.match(uuid).group(1).lower() if uuid else str(uuidlib.uuid4())
    if session.scalar(select(Entity.id).where(Entity.list_id == lst.id, Entity.uuid == uuid)):
        raise errors.ENTITY_EXISTS(uuid=uuid)
    reason = _place_problem(data, _area_index(session), Scope.of(session, user))
    if reason:
        raise errors.ENTITY_PLACE_INVALID(reason=reason)
    entity = Entity(
        list_id=lst.id,
        uuid=uuid,
        label=label.strip()[:MAX_LABEL],
        data=dict(data),
        version=1,
        creator_id=user.id,
    )
    _place(entity)
    session.add(entity)
    session.flush()
    _version_row(session, entity, dict(data), "api", user.id)
    return entity


def update(
    session: Session,
    entity: Entity,
    label: str | None,
    data: dict,
    user: User,
    *,
    source: str = "api",
    base_version: int | None = None,
    resolve: bool = False,
) -> Entity:
    """A new version from a person (API, CSV, conflict resolution). ``base_version``, when given,
    must be the current one (409 otherwise: someone changed it meanwhile)."""
    lst = session.get(EntityList, entity.list_id)
    unknown = sorted(set(data) - set(lst.properties or []))
    if unknown:
        raise errors.ENTITY_PROPERTY_UNKNOWN(names=", ".join(unknown), list=lst.name)
    if base_version is not None and base_version != entity.version:
        raise errors.ENTITY_VERSION_CONFLICT(current=entity.version, sent=base_version)
    merged = {**(entity.data or {}), **data}
    reason = _place_problem(merged, _area_index(session), Scope.of(session, user))
    if reason and any(p in data for p in PLACE):
        raise errors.ENTITY_PLACE_INVALID(reason=reason)
    entity.data = merged
    if label is not None and label.strip():
        entity.label = label.strip()[:MAX_LABEL]
    entity.version += 1
    entity.updated_at = utcnow()
    if resolve:
        entity.conflict = None
    _place(entity)
    session.flush()
    _version_row(
        session,
        entity,
        dict(data),
        "resolve" if resolve else source,
        user.id,
        base_version=entity.version - 1,
    )
    return entity


def resolve(session: Session, entity: Entity, user: User) -> None:
    """Mark a conflict as seen and settled without a new version (Central's "mark as resolved")."""
    entity.conflict = None
    entity.updated_at = utcnow()


def soft_delete(session: Session, entity: Entity) -> None:
    entity.deleted_at = utcnow()
    entity.updated_at = entity.deleted_at


def _version_row(session, entity, received, source, user_id, base_version=None) -> None:
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=entity.version,
            label=entity.label,
            data=dict(entity.data),
            received=received,
            source=source,
            base_version=base_version,
            user_id=user_id,
        )
    )
    session.flush()


# --- reading ----------------------------------------------------------------------------------


def visible(session: Session, user: User, lst: EntityList):
    """A SELECT of the list's live entities the user may see."""
    return select(Entity).where(
        Entity.list_id == lst.id, Entity.deleted_at.is_(None), scope_clause(session, user, lst)
    )


def get_visible(session: Session, user: User, lst: EntityList, uuid: str) -> Entity:
    found = session.scalars(visible(session, user, lst).where(Entity.uuid == uuid.lower())).first()
    if found is None:
        raise errors.NOT_FOUND(what=f"entity {uuid}")
    return found


def search(
    session: Session,
    user: User,
    lst: EntityList,
    *,
    q: str = "",
    area: str | None = None,
    conflict_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[Entity]]:
    from .scope import area_clause

    query = visible(session, user, lst)
    for word in fold(q).split():
        query = query.where(Entity.search.contains(word, autoescape=True))
    if area:
        query = query.where(area_clause(session, Entity, area))
    if conflict_only:
        query = query.where(Entity.conflict.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Entity.label, Entity.uuid).limit(limit).offset(offset)
    ).all()
    return total, list(rows)


def history(session: Session, entity: Entity) -> list[EntityVersion]:
    return list(
        session.scalars(
            select(EntityVersion)
            .where(EntityVersion.entity_id == entity.id)
            .order_by(EntityVersion.version.desc())
        )
    )


def held_count(session: Session, lst: EntityList | None = None) -> int:
    """Offline updates waiting for their predecessor (in one list, or in all)."""
    query = select(func.count()).select_from(EntityBacklog)
    if lst is not None:
        query = query.where(EntityBacklog.list_id == lst.id)
    return session.scalar(query) or 0


def summary(session: Session, user: User, lst: EntityList) -> tuple[int, int]:
    """(entities, conflicts) of the list that ``user`` may see."""
    base = visible(session, user, lst).subquery()
    total, conflicts = session.execute(select(func.count(), func.count(base.c.conflict))).one()
    return total or 0, conflicts or 0


def export_csv(session: Session, user: User, lst: EntityList, dialect: str = "standard"):
    """The list as a spreadsheet reads it (UTF-8 with BOM, formulas defused): id, label,
    version, properties, place, conflict and times in Vietnam time; only the user's areas."""
    from ..formulas import csv_writer
    from ..web.formats import when

    props = list(lst.properties or [])
    out = io.StringIO()
    writer = csv_writer(out, dialect=dialect)
    out.write("\ufeff")
    writer.writerow(
        ["name", "label", "__version", *props, "__conflict", "__createdAt", "__updatedAt"]
    )
    query = visible(session, user, lst).order_by(Entity.label, Entity.uuid)
    for entity in session.scalars(query).yield_per(1000):
        data = entity.data or {}
        writer.writerow(
            [
                entity.uuid,
                entity.label,
                entity.version,
                *(data.get(p, "") for p in props),
                entity.conflict or "",
                when(entity.created_at),
                when(entity.updated_at) if entity.updated_at else "",
            ]
        )
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True, slots=True)
class Review:
    """One review of a household in a period, from the facts (what the reports count)."""

    form_id: str
    period: str
    submission_id: int
    outcome: str  # the class ("poor") or "earned" / "not_earned"
    approved: bool
    submitted_at: dt.datetime
    entity_version: int | None  # the version of the household this review made, if any


def reviews(session: Session, user: User, entity: Entity) -> list[Review]:
    """The household's reviews across periods the user may see: those whose submissions changed
    this entity, and those with its household code in its commune (made before the list)."""
    made = dict(
        session.execute(
            select(EntityVersion.submission_id, EntityVersion.version).where(
                EntityVersion.entity_id == entity.id, EntityVersion.submission_id.is_not(None)
            )
        ).all()
    )
    data = entity.data or {}
    key = (
        f"{entity.commune_code}/{data['household_code']}"
        if entity.commune_code and data.get("household_code")
        else None
    )
    scope = Scope.of(session, user)
    out = []
    for form_id, (model, outcome) in (
        ("poverty_review", (PovertyFact, PovertyFact.poverty_class)),
        ("cultural_family", (CulturalFamilyFact, CulturalFamilyFact.earned)),
    ):
        mine = model.submission_id.in_(list(made)) if made else None
        same = model.household_key == key if key else None
        parts = [c for c in (mine, same) if c is not None]
        if not parts:
            continue
        rows = session.execute(
            select(model.period, model.submission_id, outcome, model.approved, model.submitted_at)
            .where(or_(*parts), scope.clause(model))
            .order_by(model.period.desc(), model.submitted_at.desc())
        )
        for period, sid, value, approved, submitted_at in rows:
            if isinstance(value, bool):
                value = "earned" if value else "not_earned"
            out.append(Review(form_id, period, sid, value, approved, submitted_at, made.get(sid)))
    return sorted(out, key=lambda r: (r.period, r.submitted_at), reverse=True)


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
        match = UUID.match(item.uuid or "")
        if not match:
            continue
        uuid = match.group(1).lower()
        lst = session.scalar(select(EntityList).where(EntityList.name == item.list_name))
        if lst is None:
            continue
        entity = session.scalars(visible(session, user, lst).where(Entity.uuid == uuid)).first()
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

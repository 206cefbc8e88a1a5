"""Entity lists: made by the forms that declare them, filled by CSV imports, the API and the
submissions (``services.entity_updates``), and served to each phone as ``<list>.csv`` holding only
the entities of the collector's areas.
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
from ..models import (
    Area,
    CulturalFamilyFact,
    Entity,
    EntityBacklog,
    EntityList,
    EntityVersion,
    PovertyFact,
    User,
)
from ..models.base import utcnow
from ..textfold import fold
from ..xforms import entities as declared
from . import audit
from .scope import Scope, area_clause

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
MAX_LABEL = 1000


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
    for d in declared.declarations(xml):
        if not NAME.match(d.list_name):
            raise errors.XFORM_INVALID(
                reason=f"entity list name {d.list_name!r}: letters, digits, _ and - only"
            )
        add_properties(session, ensure_list(session, d.list_name), declared_properties(form_id, d))
        names.append(d.list_name)
    return names


def create_list(session: Session, name: str, approval_required: bool) -> EntityList:
    """A new, empty list (Central's ``POST /datasets``); forms fill it once they declare it."""
    if not NAME.match(name or ""):
        raise errors.ENTITY_LIST_NAME_INVALID(name=name)
    if session.scalar(select(EntityList.id).where(EntityList.name == name)):
        raise errors.ENTITY_LIST_EXISTS(name=name)
    lst = EntityList(name=name, properties=[], approval_required=approval_required)
    session.add(lst)
    session.flush()
    return lst


def add_property(session: Session, lst: EntityList, name: str) -> None:
    """One new property (Central's ``POST /datasets/<name>/properties``); 409 if it is there."""
    if name in (lst.properties or []):
        raise errors.ENTITY_PROPERTY_EXISTS(name=name, list=lst.name)
    add_properties(session, lst, [name])


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
    return _list_csv(
        props,
        (
            [uuid, label, version, *((data or {}).get(p, "") for p in props), fold(label)]
            for uuid, label, version, data in rows
        ),
    )


def empty_csv(properties: Iterable[str]) -> bytes:
    """A list's file without entities: its columns only (a form that reads it still opens)."""
    return _list_csv(list(properties), ())


def declared_properties(form_id: str, declaration: declared.Declaration) -> list[str]:
    """The properties a list gets when the form that declares it is published (``register``)."""
    return list(dict.fromkeys([*declaration.properties, *DERIVED.get(form_id, (None, {}))[1]]))


def _list_csv(properties: list[str], rows: Iterable[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", "__version", *properties, "__search"])
    writer.writerows(rows)
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


def place(entity: Entity) -> None:
    """Set the place columns, the household key and the search text from the values."""
    data = entity.data or {}
    for prop, column in PLACE.items():
        if prop in data:
            setattr(entity, column, (data.get(prop) or None))
    code = str(data.get("household_code") or "").strip().upper()
    entity.household_key = f"{entity.commune_code or ''}/{code}" if code else None
    parts = [entity.label or "", *(str(v) for v in data.values())]
    entity.search = fold(" ".join(parts))[:2000]


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
    rows = []
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
        else:
            uuid = UUID.match(raw_id).group(1).lower() if raw_id else None
            rows.append((label, values, uuid))
    # Only the entities the file names are read (by id, household key or label): an import costs
    # what the file holds, not what the list holds.
    found = _named(session, lst, rows)
    existing = {e.uuid: e for e in found}
    by_key = {_natural_key(e.label, e.data or {}): e for e in found}
    new: dict[str, tuple[Entity, dict]] = {}  # made by this file, written together
    for label, values, uuid in rows:
        if uuid is not None:
            entity = existing.get(uuid)
        else:  # the same household imported again is the same entity, not a second one
            entity = by_key.get(_natural_key(label, values))
            uuid = entity.uuid if entity is not None else str(uuidlib.uuid4())
        if entity is None:
            entity = _entity(lst, uuid, label, values, user.id)
            new[uuid] = (entity, values)
            existing[uuid] = entity
            by_key[_natural_key(label, values)] = entity
            report.created += 1
        elif entity.label == label and all(
            (entity.data or {}).get(k) == v for k, v in values.items()
        ):
            report.unchanged += 1
        else:
            if entity.uuid in new:  # a later line of the file changes it: its version 1 first
                _write_new(session, new, "csv", user)
            update(session, entity, label, values, user, source="csv", place_checked=True)
            report.updated += 1
    _write_new(session, new, "csv", user)
    return report


def _write_new(
    session: Session, new: dict[str, tuple[Entity, dict]], source: str, user: User
) -> None:
    """New entities (uuid -> the entity and the values it was sent) and their first versions, as
    two batched INSERTs, not a flush an entity; ``new`` is emptied."""
    if not new:
        return
    session.add_all(entity for entity, _ in new.values())
    session.flush()
    session.add_all(_version_row(e, values, source, user.id) for e, values in new.values())
    session.flush()
    new.clear()


def seed_from_facts(
    session: Session, lst: EntityList, period: str, user: User, *, approved_only: bool = False
) -> ImportReport:
    """The households reviewed in ``period`` (their poverty facts, the ones the reports count),
    as entities of ``lst``: a deployment that reviewed last year in khudan gets its list without
    a spreadsheet. A household already on the list (same code in its commune) is updated with the
    period's class and size when the period is newer than the one it holds; none is duplicated.
    Only the user's areas; ``approved_only``: only approved reviews."""
    from ..models import PovertyFact
    from ..models.facts import counted

    needed = [
        "household_code",
        "head_name",
        "province",
        "commune",
        "area_code",
        "household_size",
        "poverty_class",
        "period",
        "b1_score",
        "b2_score",
        "deprivation_count",
    ]
    add_properties(session, lst, needed)
    scope = Scope.of(session, user)
    query = select(PovertyFact).where(
        PovertyFact.period == period, counted(PovertyFact), scope.clause(PovertyFact)
    )
    if approved_only:
        query = query.where(PovertyFact.approved.is_(True))
    facts = session.scalars(query.order_by(PovertyFact.household_key)).all()
    keys = sorted({f"{f.commune_code or ''}/{f.household_code.strip().upper()}" for f in facts})
    listed = {}
    for i in range(0, len(keys), 500):  # only the households this period names, by index
        for e in session.scalars(
            select(Entity).where(
                Entity.list_id == lst.id,
                Entity.household_key.in_(keys[i : i + 500]),
                Entity.deleted_at.is_(None),
            )
        ):
            listed[e.household_key] = e
    report = ImportReport()
    new: dict[str, tuple[Entity, dict]] = {}  # written together (see _write_new)
    for fact in facts:
        values = {
            "household_code": fact.household_code,
            "head_name": fact.head_name or "",
            "province": fact.province_code or "",
            "commune": fact.commune_code or "",
            "area_code": fact.area_code or "",
            "household_size": "" if fact.household_size is None else str(fact.household_size),
            "poverty_class": fact.poverty_class,
            "period": fact.period,
            "b1_score": "" if fact.b1_score is None else str(fact.b1_score),
            "b2_score": str(fact.b2_score),
            "deprivation_count": str(fact.deprivation_count),
        }
        label = f"{fact.household_code} - {fact.head_name or ''}".strip(" -")
        probe = Entity(data=values, label=label)
        place(probe)
        entity = listed.get(probe.household_key)
        if entity is None:
            entity = _entity(lst, str(uuidlib.uuid4()), label, values, user.id)
            new[entity.uuid] = (entity, values)
            listed[entity.household_key] = entity
            report.created += 1
        elif str((entity.data or {}).get("period") or "") >= period:
            report.unchanged += 1
        else:
            if entity.uuid in new:  # made from another fact of this period: version 1 first
                _write_new(session, new, "facts", user)
            update(session, entity, None, values, user, source="facts")
            report.updated += 1
    _write_new(session, new, "facts", user)
    audit.record(
        session,
        user.id,
        "entity.seed",
        f"entity_list:{lst.name}",
        period=period,
        created=report.created,
        updated=report.updated,
    )
    return report


def import_file(session: Session, lst: EntityList, data: bytes, user: User) -> ImportReport:
    """``import_csv`` for a file a person sent (page, API, command line), logged in the audit log
    as ``entity.import``; a file that is not UTF-8 is ``422.31``."""
    try:
        report = import_csv(session, lst, data, user)
    except UnicodeDecodeError:
        raise errors.ENTITY_CSV_INVALID(reason="not UTF-8") from None
    audit.record(
        session,
        user.id,
        "entity.import",
        f"entity_list:{lst.name}",
        created=report.created,
        updated=report.updated,
        rejected=len(report.rejected),
    )
    return report


def remove(session: Session, user: User, lst: EntityList, uuid: str) -> Entity:
    """Delete an entity the user may see (kept, gone from lists and phones), logged as
    ``entity.delete``."""
    entity = get_visible(session, user, lst, uuid)
    soft_delete(session, entity)
    audit.record(session, user.id, "entity.delete", f"entity:{entity.uuid}", list=lst.name)
    return entity


def _natural_key(label: str, data: dict) -> tuple:
    """What names an entity when a CSV row has no id: its household key (code within the
    commune, as ``place`` writes it), else its label within its area."""
    probe = Entity(label=label, data=data)
    place(probe)
    if probe.household_key:
        return ("code", probe.household_key)
    return ("label", probe.area_code or probe.commune_code or probe.province_code, label)


def _named(session: Session, lst: EntityList, rows: list) -> list[Entity]:
    """The list's entities that rows ``(label, values, uuid)`` name, read in chunks by index."""
    uuids, keys, labels = set(), set(), set()
    for label, values, uuid in rows:
        if uuid is not None:
            uuids.add(uuid)
            continue
        key = _natural_key(label, values)
        (keys if key[0] == "code" else labels).add(key[-1] if key[0] == "code" else label)
    found: dict[int, Entity] = {}
    for column, wanted in (
        (Entity.uuid, uuids),
        (Entity.household_key, keys),
        (Entity.label, labels),
    ):
        wanted = sorted(wanted)
        for i in range(0, len(wanted), 500):
            for e in session.scalars(
                select(Entity).where(Entity.list_id == lst.id, column.in_(wanted[i : i + 500]))
            ):
                found[e.id] = e
    return list(found.values())


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
    entity = _new(lst, label, data, user, uuid, _area_index(session), Scope.of(session, user))
    if _existing(session, lst, [entity.uuid]):
        raise errors.ENTITY_EXISTS(uuid=entity.uuid)
    _write_new(session, {entity.uuid: (entity, data)}, "api", user)
    return entity


MAX_BULK = 10_000  # entities in one request; more is a job for the CSV import
_IN_CHUNK = 500  # uuids looked up in one statement


def create_many(session: Session, lst: EntityList, items: list[dict], user: User) -> int:
    """Entities from one request (pyodk's ``create_many`` and ``merge``): each item a ``label``,
    ``data`` and an optional ``uuid``, checked as :func:`create` checks one. All or none: the
    first item that cannot be made raises ``422.36`` naming it, and the caller's transaction is
    rolled back. Returns how many were made.

    Checked first, then written together: which uuids the list has already is asked
    ``_IN_CHUNK`` at a time, and the rows go in as two batched INSERTs (entities, then their first
    versions), not three statements an entity (3.7 ms an entity on PostgreSQL, 1.6 on SQLite)."""
    if not items or len(items) > MAX_BULK:
        raise errors.ENTITY_BULK_SIZE(count=len(items), most=MAX_BULK)
    known, scope = _area_index(session), Scope.of(session, user)
    new: dict[str, tuple[Entity, dict]] = {}
    index: dict[str, int] = {}  # uuid -> its item's number
    failed: tuple[int, errors.Problem] | None = None
    for n, item in enumerate(items, start=1):
        data = item.get("data") or {}
        try:
            entity = _new(lst, item.get("label", ""), data, user, item.get("uuid"), known, scope)
            if entity.uuid in index:  # twice in one request: the second finds the first
                raise errors.ENTITY_EXISTS(uuid=entity.uuid)
        except errors.Problem as problem:
            failed = (n, problem)
            break
        index[entity.uuid] = n
        new[entity.uuid] = (entity, data)
    existing = _existing(session, lst, list(index))  # of the items before any that failed
    if existing:
        uuid = min(existing, key=index.__getitem__)
        failed = (index[uuid], errors.ENTITY_EXISTS(uuid=uuid))
    if failed:
        n, problem = failed
        raise errors.ENTITY_BULK_INVALID(
            index=n, total=len(items), vi=problem.message_vi, en=problem.message_en
        )
    _write_new(session, new, "api", user)
    return len(items)


def _existing(session: Session, lst: EntityList, uuids: list[str]) -> set[str]:
    """Which of ``uuids`` the list has already (deleted ones too: a uuid is never used twice)."""
    found: set[str] = set()
    for start in range(0, len(uuids), _IN_CHUNK):
        chunk = uuids[start : start + _IN_CHUNK]
        found.update(
            session.scalars(
                select(Entity.uuid).where(Entity.list_id == lst.id, Entity.uuid.in_(chunk))
            )
        )
    return found


def _new(
    lst: EntityList,
    label: str,
    data: dict,
    user: User,
    uuid: str | None,
    known: dict,
    scope: Scope,
) -> Entity:
    """A checked new entity (version 1), not added to a session yet; the caller asks whether
    its uuid is taken."""
    unknown = sorted(set(data) - set(lst.properties or []))
    if unknown:
        raise errors.ENTITY_PROPERTY_UNKNOWN(names=", ".join(unknown), list=lst.name)
    if not label.strip():
        raise errors.ENTITY_LABEL_REQUIRED()
    if uuid is not None and not UUID.match(uuid):
        raise errors.ENTITY_ID_INVALID(value=uuid)
    uuid = UUID.match(uuid).group(1).lower() if uuid else str(uuidlib.uuid4())
    reason = _place_problem(data, known, scope)
    if reason:
        raise errors.ENTITY_PLACE_INVALID(reason=reason)
    return _entity(lst, uuid, label.strip(), data, user.id)


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
    place_checked: bool = False,
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
    if not place_checked and any(p in data for p in PLACE):
        reason = _place_problem(merged, _area_index(session), Scope.of(session, user))
        if reason:
            raise errors.ENTITY_PLACE_INVALID(reason=reason)
    entity.data = merged
    if label is not None and label.strip():
        entity.label = label.strip()[:MAX_LABEL]
    entity.version += 1
    entity.updated_at = utcnow()
    if resolve:
        entity.conflict = None
    place(entity)
    session.flush()
    add_version(
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


def insert(
    session: Session,
    lst: EntityList,
    uuid: str,
    label: str,
    data: dict,
    source: str,
    user_id: int | None,
    **more,
) -> Entity:
    """A new entity (version 1) and its first version row, written at once (a submission's, one
    at a time); the API, CSV imports and a period's facts write theirs together (``_write_new``).
    ``more`` as in ``add_version``."""
    entity = _entity(lst, uuid, label, data, user_id)
    session.add(entity)
    session.flush()
    add_version(session, entity, data, source, user_id, **more)
    return entity


def _entity(lst: EntityList, uuid: str, label: str, data: dict, user_id: int | None) -> Entity:
    """A new entity (version 1) with its place columns set, not in a session yet."""
    entity = Entity(
        list_id=lst.id,
        uuid=uuid,
        label=label[:MAX_LABEL],
        data=dict(data),
        version=1,
        creator_id=user_id,
    )
    place(entity)
    return entity


def add_version(
    session: Session, entity: Entity, received: dict, source: str, user_id: int | None, **more
) -> None:
    """Record the entity's current state as its version ``entity.version``: what the source sent
    (``received``), and ``more`` (the submission, base version, branch, conflicting properties)."""
    session.add(_version_row(entity, received, source, user_id, **more))
    session.flush()


def _version_row(
    entity: Entity, received: dict, source: str, user_id: int | None, **more
) -> EntityVersion:
    """The version row of the entity as it is now (version 1 when it was just made)."""
    return EntityVersion(
        entity_id=entity.id,
        version=entity.version,
        label=entity.label,
        data=dict(entity.data),
        received=dict(received),
        source=source,
        user_id=user_id,
        **more,
    )


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

"""The area registry: official provinces and communes, residential areas imported per commune, and
the ``areas.csv`` each collector's phone receives as form media, limited to that collector's areas."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.orm import Session

from .. import errors
from ..messages import _
from ..models import Area, Role, User
from ..textfold import fold, folded
from . import batch_reads
from .scope import UNSCOPED_ROLES

OFFICIAL_CSV = Path(__file__).resolve().parent.parent / "data" / "vn_admin_units_2025.csv"
AREAS_MEDIA = "areas.csv"  # the media file name the shipped forms' cascades read
_LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "area": 3}
LEVELS = tuple(_LEVEL_ORDER)
MAX_HOUSEHOLDS = 10_000_000  # more households than this in one area is a typing mistake
MAX_NAME = Area.name.type.length or 255  # the columns' sizes (PostgreSQL enforces them)
MAX_KIND = Area.kind.type.length or 32


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def load_official(session: Session, path: Path = OFFICIAL_CSV) -> ImportReport:
    """Load or refresh provinces and communes from the official list (codes never change meaning)."""
    report = ImportReport()
    existing = {
        a.code: a
        for a in session.scalars(select(Area).where(Area.level.in_(("province", "commune"))))
    }
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    wanted: dict[str, dict] = {}
    for row in rows:
        wanted.setdefault(
            row["province_code"],
            {
                "name": row["province_name"],
                "full_name": row["province_full_name"],
                "level": "province",
                "kind": None,
                "parent_code": None,
            },
        )
        wanted[row["unit_code"]] = {
            "name": row["unit_name"],
            "full_name": row["unit_full_name"],
            "level": "commune",
            "kind": row["unit_type"],
            "parent_code": row["province_code"],
        }
    new_rows: dict[str, list[dict]] = {"province": [], "commune": []}
    for code, values in wanted.items():
        if code in existing:
            _upsert(session, existing[code], code, values, report)
        else:
            new_rows[values["level"]].append({"code": code, **values})
    session.flush()
    # A fresh registry is 3,400 rows: one multi-row INSERT per level (provinces first, as the
    # communes name them) instead of an ORM object each, ten times faster.
    for rows_of_level in new_rows.values():
        if rows_of_level:
            session.execute(insert(Area), rows_of_level)
            report.added += len(rows_of_level)
    _registry_changed(session)
    return report


CSV_COLUMNS = ("commune_code", "code", "name")  # then optionally kind, households_total


def read_csv(data: bytes) -> list[dict]:
    """The rows of an uploaded CSV file (UTF-8, with or without a byte-order mark); a 422 on the
    ``file`` field when it is not UTF-8 or its header lacks a required column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_invalid("The file is not UTF-8 text; save the CSV as UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise _file_invalid(
            f"The header line lacks {', '.join(missing)}; "
            "expected commune_code,code,name[,kind,households_total]."
        )
    return list(reader)


def _file_invalid(message: str) -> errors.Problem:
    return errors.FIELDS_INVALID(fields="file", errors={"file": [message]})


@dataclass(frozen=True, slots=True)
class AreaChange:
    """One row that would add or change an area: its values, and for a change the old values of
    the columns that differ."""

    line: int
    code: str
    values: dict
    before: dict | None = None  # None: a new area


@dataclass(slots=True)
class ImportPlan:
    """What importing some rows would do, computed without writing anything."""

    added: list[AreaChange] = field(default_factory=list)
    updated: list[AreaChange] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    def report(self) -> ImportReport:
        return ImportReport(len(self.added), len(self.updated), self.unchanged, list(self.rejected))

    def digest(self) -> str:
        """A fingerprint of the changes, so that applying can check it still does what was shown."""
        changes = [
            (c.code, sorted(c.values.items()), sorted((c.before or {}).items()))
            for c in (*self.added, *self.updated)
        ]
        shown = (len(self.added), changes, self.unchanged, self.rejected)
        return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


def plan_import(
    session: Session, rows: Iterable[Mapping[str, str]], first_line: int = 2
) -> ImportPlan:
    """What ``import_areas`` would do with these rows, reading the registry but writing nothing.

    Rows are ``commune_code, code, name[, kind, households_total]``. A row is rejected (with its
    reason) rather than guessed at; the others still count. Rejections name the row's line: from 2
    in a CSV file, whose line 1 is the header. A code given twice is rejected the second time.
    """
    plan = ImportPlan()
    communes = set(session.scalars(select(Area.code).where(Area.level == "commune")))
    existing = {a.code: a for a in session.scalars(select(Area).where(Area.level == "area"))}
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=first_line):
        checked = _check_row(row, communes)
        if isinstance(checked, str):
            plan.rejected.append((line, checked))
            continue
        code, values = checked
        if code in seen:
            plan.rejected.append(
                (line, _("mã {code} đã có ở dòng {line}", code=repr(code), line=seen[code]))
            )
            continue
        seen[code] = line
        row_now = existing.get(code)
        if row_now is None:
            plan.added.append(AreaChange(line, code, values))
            continue
        before = {k: getattr(row_now, k) for k, v in values.items() if getattr(row_now, k) != v}
        if before:
            plan.updated.append(AreaChange(line, code, values, before))
        else:
            plan.unchanged += 1
    return plan


def apply_import(session: Session, plan: ImportPlan) -> ImportReport:
    """Write a plan from ``plan_import`` (in the caller's transaction)."""
    for change in plan.added:
        session.add(Area(code=change.code, **change.values))
    for change in plan.updated:
        row = session.get(Area, change.code)  # in the identity map after plan_import
        for k, v in change.values.items():
            setattr(row, k, v)
    session.flush()
    _registry_changed(session)
    return plan.report()


def import_areas(
    session: Session, rows: Iterable[Mapping[str, str]], first_line: int = 2
) -> ImportReport:
    """Import residential areas: ``apply_import(plan_import(...))`` (see ``plan_import``)."""
    return apply_import(session, plan_import(session, rows, first_line))


def _check_row(row: Mapping[str, str], communes: set[str]) -> tuple[str, dict] | str:
    """``(code, values)`` for a valid row, else the reason it is rejected."""
    with_nul = sorted(str(k) for k, v in row.items() if isinstance(v, str) and "\x00" in v)
    if with_nul:  # PostgreSQL text cannot hold it
        return _("{columns}: có ký tự NUL", columns=", ".join(with_nul))
    commune = (row.get("commune_code") or "").strip()
    local = (row.get("code") or "").strip()
    name = (row.get("name") or "").strip()
    if commune not in communes:
        return _("không có mã xã {code}", code=repr(commune))
    plain = local.replace("-", "").replace("_", "")
    # ASCII only: codes end up in URLs and download file names (HTTP headers are latin-1).
    if not local or not (plain.isascii() and plain.isalnum()) or len(local) > 40:
        return _("mã {code} phải có 1-40 chữ cái ASCII, chữ số, - hoặc _", code=repr(local))
    if not name:
        return _("tên trống")
    if len(name) > MAX_NAME:
        return _("tên dài hơn {n} ký tự", n=MAX_NAME)
    total = (row.get("households_total") or "").strip()
    # isdigit() alone would let "²" or "٣" through to int()
    if total and not (total.isascii() and total.isdigit()):
        return _("households_total {value} không phải số nguyên", value=repr(total))
    if total and int(total) > MAX_HOUSEHOLDS:
        most = format(MAX_HOUSEHOLDS, ",").replace(",", ".")
        return _("households_total {value} lớn hơn {n} hộ", value=total, n=most)
    kind = (row.get("kind") or "").strip() or None
    if kind is not None and len(kind) > MAX_KIND:
        return _("kind dài hơn {n} ký tự", n=MAX_KIND)
    values = {
        "name": name,
        "full_name": name,
        "level": "area",
        "kind": kind,
        "parent_code": commune,
        "households_total": int(total) if total else None,
    }
    return f"{commune}.{local}", values


def subtrees_and_ancestors(parent_of: Mapping[str, str | None], roots: Iterable[str]) -> set[str]:
    """The codes in the subtrees under ``roots`` and on the way up from each root to its province.

    This is what a supervisor or collector scoped to ``roots`` may see of the registry: their areas
    with everything below, and the nodes above them so a tree or a cascade can reach them. Roots
    missing from the registry are ignored.
    """
    children: dict[str | None, list[str]] = {}
    for code, parent in parent_of.items():
        children.setdefault(parent, []).append(code)
    keep: set[str] = set()
    for code in roots:
        if code not in parent_of:
            continue
        stack = [code]
        while stack:  # the subtree
            current = stack.pop()
            keep.add(current)
            stack.extend(children.get(current, []))
        parent = parent_of[code]
        while parent:  # and the way up to its province
            keep.add(parent)
            parent = parent_of.get(parent)
    return keep


def visible_codes(session: Session, user: User) -> set[str] | None:
    """The area codes a user may see through the API; None means all (admins and designers).

    Others see their subtrees and the ancestors leading to them, the rule ``areas_csv`` applies to
    a phone's list; with no areas assigned, they see none.
    """
    if user.role in UNSCOPED_ROLES:
        return None
    parent_of = dict(session.execute(select(Area.code, Area.parent_code)).all())
    return subtrees_and_ancestors(parent_of, user.area_codes)


@dataclass(frozen=True, slots=True)
class AreaPage:
    items: list[Area]
    children: dict[str, int]  # code -> how many children the user may see
    total: int


def search(
    session: Session,
    user: User,
    *,
    parent: str | None = None,
    level: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 100,
) -> AreaPage:
    """The areas a user may see, in code order, one page at a time.

    ``parent`` lists a node's children. Without ``parent``, ``level`` or ``q`` the list is the top
    of the tree (provinces); ``level`` or ``q`` alone search the whole tree. ``q`` is a part of the
    name, in any case and with or without Vietnamese marks.
    """
    visible = visible_codes(session, user)
    query = select(Area)
    if parent is not None:
        query = query.where(Area.parent_code == parent)
    elif level is None and not q:
        query = query.where(Area.parent_code.is_(None))
    if level is not None:
        query = query.where(Area.level == level)
    if q:
        # Without marks and case: "nhon chau" finds "Nhơn Châu" (khudan.textfold).
        query = query.where(folded(Area.name).contains(fold(q), autoescape=True))
    if visible is not None:
        query = query.where(Area.code.in_(visible))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(
        session.scalars(query.order_by(Area.code).offset((page - 1) * per_page).limit(per_page))
    )
    return AreaPage(items, _children_counts(session, [a.code for a in items], visible), total)


def get_area(session: Session, user: User, code: str) -> tuple[Area, int]:
    """One area and how many children the user may see; 404 if unknown or outside their scope
    (the same answer, so a scope does not reveal what exists beyond it)."""
    visible = visible_codes(session, user)
    area = session.get(Area, code)
    if area is None or (visible is not None and code not in visible):
        raise errors.NOT_FOUND(what=f"area {code}")
    return area, _children_counts(session, [code], visible).get(code, 0)


def set_households_total(session: Session, code: str, total: int | None) -> tuple[Area, int | None]:
    """Set (or clear, with None) an area's number of households; returns the area and the old value."""
    area = session.get(Area, code)
    if area is None:
        raise errors.NOT_FOUND(what=f"area {code}")
    old, area.households_total = area.households_total, total
    session.flush()
    return area, old


def unknown_codes(session: Session, codes: Iterable[str]) -> list[str]:
    """The codes not in the registry, in the order given. While the registry is empty (before
    ``khudan areas load-official``) nothing can be checked, so none is unknown."""
    codes = list(dict.fromkeys(codes))
    if not codes or session.scalar(select(Area.code).limit(1)) is None:
        return []
    known = set(session.scalars(select(Area.code).where(Area.code.in_(codes))))
    return [c for c in codes if c not in known]


def _children_counts(
    session: Session, codes: list[str], visible: set[str] | None
) -> dict[str, int]:
    if not codes:
        return {}
    query = (
        select(Area.parent_code, func.count())
        .where(Area.parent_code.in_(codes))
        .group_by(Area.parent_code)
    )
    if visible is not None:
        query = query.where(Area.code.in_(visible))
    return dict(session.execute(query).all())


def areas_csv(session: Session, user: User) -> bytes:
    """The cascade list for a user's phone: name,label,level,parent,kind.

    It holds the user's area subtrees and the provinces and communes above them, nothing else. An
    admin with no areas sees all; anyone else with no areas sees none. Rows are in a fixed order so
    the file's MD5 changes only when the registry does. It is read by ODK Collect, not by a
    spreadsheet, so names are written as registered (``khudan.formulas`` is for files people open).
    """
    areas = {a.code: a for a in session.scalars(select(Area))}
    parent_of = {code: a.parent_code for code, a in areas.items()}
    scopes = user.area_codes
    if not scopes and user.role == Role.ADMIN:
        scopes = [code for code, parent in parent_of.items() if parent is None]
    keep = subtrees_and_ancestors(parent_of, scopes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", "level", "parent", "kind"])
    for code in sorted(keep, key=lambda c: (_LEVEL_ORDER.get(areas[c].level, 9), c)):
        a = areas[code]
        writer.writerow([a.code, a.full_name, a.level, a.parent_code or "", a.kind or ""])
    return out.getvalue().encode("utf-8")


def generated_media(session: Session, expected: list[str], username: str) -> dict[str, bytes]:
    """Form media khudan writes itself for this user (today: ``areas.csv``); it wins over an
    uploaded file of the same name, because the registry is the truth."""
    if AREAS_MEDIA not in expected:
        return {}
    user = session.scalar(select(User).where(User.username == username))
    key = (_registry_key(session), user.role, tuple(user.area_codes))
    made = _USER_CSV.get(key)
    if made is None:  # every form download and manifest asks: build it once per registry
        if len(_USER_CSV) > 1000:
            _USER_CSV.clear()
        made = _USER_CSV[key] = areas_csv(session, user)
    return {AREAS_MEDIA: made}


_USER_CSV: dict[tuple, bytes] = {}


def commune_type(session: Session, commune_code: str | None) -> str | None:
    """A commune's kind (xa, phuong, dac_khu), None for a code that is not a commune. Asked
    once a poverty review (a job): a statement built once, run on the connection (the ORM's
    way took four times as long)."""
    if not commune_code:
        return None
    return batch_reads.once(
        ("commune kind", commune_code),
        lambda: session.connection().execute(_COMMUNE_KIND, {"code": commune_code}).scalar(),
    )


_AREAS = Area.__table__
_COMMUNE_KIND = select(_AREAS.c.kind).where(
    _AREAS.c.code == bindparam("code"), _AREAS.c.level == "commune"
)


def _upsert(
    session: Session, row: Area | None, code: str, values: dict, report: ImportReport
) -> None:
    if row is None:
        session.add(Area(code=code, **values))
        report.added += 1
    elif any(getattr(row, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(row, k, v)
        report.updated += 1
    else:
        report.unchanged += 1


_REGISTRY_CSV: dict[tuple, bytes] = {}
# What changes when the registry does (its size, code range, names, kinds and parents).
_REGISTRY_KEY = select(
    func.count(),
    func.min(Area.code),
    func.max(Area.code),
    func.sum(func.length(Area.full_name)),
    func.sum(func.length(Area.kind)),
    func.count(Area.parent_code),
)
REGISTRY_RECHECK_SECONDS = 2.0
_CHECKED: dict[str, object] = {}  # "key": the registry key last read, "at": when (monotonic)


def _registry_key(session: Session) -> tuple:
    """The registry's key: one small aggregate query (a scan of the 3,400 rows, about 1 ms)."""
    return tuple(session.execute(_REGISTRY_KEY).one())


def _registry_changed(session: Session) -> None:
    """This process changes the registry: its checks read the key again at once, and again
    after the commit (a check in between would have read the registry as it was)."""
    _CHECKED.clear()
    event.listen(session, "after_commit", lambda _session: _CHECKED.clear(), once=True)


def registry_csv(session: Session) -> bytes:
    """The whole registry as the cascade file (what an admin's phone gets), for checking answers.

    Kept per process and rebuilt when the registry changes. The key is read at most every
    ``REGISTRY_RECHECK_SECONDS`` (each job would otherwise pay for the scan), and at once after
    this process changed the registry: a change made by another process is seen by this one's
    checks within that time.
    """
    key, at = _CHECKED.get("key"), _CHECKED.get("at", 0.0)
    now = time.monotonic()
    if key is None or now - at > REGISTRY_RECHECK_SECONDS:
        key = _registry_key(session)
        _CHECKED.update(key=key, at=now)
    if key not in _REGISTRY_CSV:
        _REGISTRY_CSV.clear()
        admin = User(username="", role=Role.ADMIN)
        _REGISTRY_CSV[key] = areas_csv(session, admin)
    return _REGISTRY_CSV[key]

"""The area registry: official provinces and communes, residential areas imported per commune, and
the ``areas.csv`` each collector's phone receives as form media, limited to that collector's areas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Area, Role, User

OFFICIAL_CSV = Path(__file__).resolve().parent.parent / "data" / "vn_admin_units_2025.csv"
AREAS_MEDIA = "areas.csv"  # the media file name the shipped forms' cascades read
_LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "area": 3}


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
    for code, values in wanted.items():  # provinces come first, so parents exist before children
        _upsert(session, existing.get(code), code, values, report)
    session.flush()
    return report


def import_areas(session: Session, rows: Iterable[Mapping[str, str]]) -> ImportReport:
    """Residential areas from CSV rows ``commune_code, code, name[, kind, households_total]``.

    A row is rejected (with its reason) rather than guessed at; the others are still imported.
    """
    report = ImportReport()
    communes = set(session.scalars(select(Area.code).where(Area.level == "commune")))
    existing = {a.code: a for a in session.scalars(select(Area).where(Area.level == "area"))}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        commune = (row.get("commune_code") or "").strip()
        local = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if commune not in communes:
            report.rejected.append((line, f"unknown commune code {commune!r}"))
            continue
        if not local or not local.replace("-", "").replace("_", "").isalnum() or len(local) > 40:
            report.rejected.append((line, f"code {local!r} must be 1-40 letters, digits, - or _"))
            continue
        if not name:
            report.rejected.append((line, "name is empty"))
            continue
        total = (row.get("households_total") or "").strip()
        if total and not total.isdigit():
            report.rejected.append((line, f"households_total {total!r} is not a whole number"))
            continue
        code = f"{commune}.{local}"
        kind = (row.get("kind") or "").strip() or None
        values = {
            "name": name,
            "full_name": name,
            "level": "area",
            "kind": kind,
            "parent_code": commune,
            "households_total": int(total) if total else None,
        }
        _upsert(session, existing.get(code), code, values, report)
    session.flush()
    return report


def areas_csv(session: Session, user: User) -> bytes:
    """The cascade list for a user's phone: name,label,level,parent,kind.

    It holds the user's area subtrees and the provinces and communes above them, nothing else. An
    admin with no areas sees all; anyone else with no areas sees none. Rows are in a fixed order so
    the file's MD5 changes only when the registry does.
    """
    areas = {a.code: a for a in session.scalars(select(Area))}
    children: dict[str | None, list[str]] = {}
    for a in areas.values():
        children.setdefault(a.parent_code, []).append(a.code)
    scopes = [c for c in user.area_codes if c in areas]
    if not user.area_codes and user.role == Role.ADMIN:
        scopes = children.get(None, [])
    keep: set[str] = set()
    for code in scopes:
        stack = [code]
        while stack:  # the subtree
            current = stack.pop()
            keep.add(current)
            stack.extend(children.get(current, []))
        parent = areas[code].parent_code
        while parent:  # and the way up to its province
            keep.add(parent)
            parent = areas[parent].parent_code
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
    return {AREAS_MEDIA: areas_csv(session, user)}


def commune_type(session: Session, commune_code: str | None) -> str | None:
    if not commune_code:
        return None
    return session.scalar(
        select(Area.kind).where(Area.code == commune_code, Area.level == "commune")
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

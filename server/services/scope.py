"""Who sees which rows: a supervisor or collector sees only their area subtrees (row-level, as
KoboToolbox does), admins and designers see everything."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from ..models import Area, Role, User, UserArea

UNSCOPED_ROLES = frozenset({Role.ADMIN, Role.DESIGNER})


@dataclass(frozen=True, slots=True)
class Scope:
    everything: bool
    provinces: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()

    @classmethod
    def of(cls, session: Session, user: User) -> Scope:
        if user.role in UNSCOPED_ROLES:
            return cls(everything=True)
        codes = [a.area_code for a in user.areas]
        levels = dict(
            session.execute(select(Area.code, Area.level).where(Area.code.in_(codes))).all()
        )
        return cls._assigned((code, levels.get(code)) for code in codes)

    @classmethod
    def of_user_id(cls, session: Session, user_id: int) -> tuple[str, Scope] | None:
        """(username, scope) of a user by id in one statement (a job checks each submission's
        sender); None for a user no longer stored."""
        rows = session.connection().execute(_USER_AREAS, {"user_id": user_id}).all()
        if not rows:
            return None
        username, role = rows[0].username, rows[0].role
        if role in UNSCOPED_ROLES:
            return username, cls(everything=True)
        return username, cls._assigned(
            (r.area_code, r.level) for r in rows if r.area_code is not None
        )

    @classmethod
    def _assigned(cls, levels: Iterable[tuple[str, str | None]]) -> Scope:
        """The scope of assigned area codes, each with its level (None: not in the registry)."""
        by_level: dict[str | None, set[str]] = {}
        for code, level in levels:
            by_level.setdefault(level, set()).add(code)
        pick = lambda level: frozenset(by_level.get(level, ()))  # noqa: E731
        return cls(False, pick("province"), pick("commune"), pick("area"))

    def clause(self, model) -> ColumnElement[bool]:
        """A WHERE clause for any model with province_code, commune_code and area_code columns."""
        if self.everything:
            return true()
        parts = []
        if self.provinces:
            parts.append(model.province_code.in_(self.provinces))
        if self.communes:
            parts.append(model.commune_code.in_(self.communes))
        if self.areas:
            parts.append(model.area_code.in_(self.areas))
        return or_(*parts) if parts else false()

    def allows(self, province: str | None, commune: str | None, area: str | None) -> bool:
        return self.everything or (
            (province is not None and province in self.provinces)
            or (commune is not None and commune in self.communes)
            or (area is not None and area in self.areas)
        )


_USER_AREAS = (
    select(User.username, User.role, UserArea.area_code, Area.level)
    .outerjoin(UserArea, UserArea.user_id == User.id)
    .outerjoin(Area, Area.code == UserArea.area_code)
    .where(User.id == bindparam("user_id"))
)


def area_clause(session: Session, model, code: str) -> ColumnElement[bool]:
    """Rows of ``model`` (with province_code, commune_code, area_code) inside area ``code``'s
    subtree: the column to compare follows the area's level."""
    level = session.scalar(select(Area.level).where(Area.code == code))
    if level == "district":  # rows name no district: those of its communes
        return model.commune_code.in_(select(Area.code).where(Area.parent_code == code))
    column = {"province": model.province_code, "commune": model.commune_code}.get(
        level, model.area_code
    )
    return column == code

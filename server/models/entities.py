"""Entity lists (ODK Entities): records such as households, made and changed by submissions, CSV
imports and the API, and served to phones as a CSV the forms choose from.

Every change is a new ``EntityVersion`` (who, which submission, what changed); the ``Entity`` row
holds the current one. An offline update that arrives before its predecessor waits in
``entity_backlog`` (ODK XForms Entities spec 2024.1: ``branchId``, ``trunkVersion``,
``baseVersion``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class EntityList(Base):
    __tablename__ = "entity_lists"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)  # served as "<name>.csv"
    # Property names in the order they were declared (the CSV's columns after name, label,
    # __version).
    properties: Mapped[list] = mapped_column(JSON, default=list)
    # True: a submission changes an entity only when a supervisor approves it (Central's
    # "approval required"; khudan applies it to updates too). False: when it is processed.
    approval_required: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[created_at]


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (
        UniqueConstraint("list_id", "uuid"),
        # A collector's list: one index range per assigned area (see services.entities).
        Index("ix_entities_list_area", "list_id", "area_code"),
        Index("ix_entities_list_commune", "list_id", "commune_code"),
        Index("ix_entities_list_province", "list_id", "province_code"),
        Index("ix_entities_list_key", "list_id", "household_key"),
    )

    id: Mapped[intpk]
    list_id: Mapped[int] = mapped_column(ForeignKey("entity_lists.id", ondelete="CASCADE"))
    uuid: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    # Where the entity belongs (its province, commune, area_code properties), for scoping.
    province_code: Mapped[str | None] = mapped_column(String(64))
    commune_code: Mapped[str | None] = mapped_column(String(64))
    area_code: Mapped[str | None] = mapped_column(String(64))
    # "<commune>/<HOUSEHOLD CODE>" when the entity has a household_code: the facts' key, so a
    # second "new" household with a code already listed is caught.
    household_key: Mapped[str | None] = mapped_column(String(200))
    # The label and the values, folded (lower case, no diacritics), for search on the pages.
    search: Mapped[str] = mapped_column(String(2000), default="")
    # "soft": an update was made from an older version but changed nothing another update
    # changed; "hard": it did. Cleared when a supervisor resolves it.
    conflict: Mapped[str | None] = mapped_column(String(8))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]


class EntityVersion(Base):
    __tablename__ = "entity_versions"
    __table_args__ = (UniqueConstraint("entity_id", "version"),)

    id: Mapped[intpk]
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    version: Mapped[int]
    label: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict] = mapped_column(JSON)
    # What the source sent (an update may send a few properties only).
    received: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16))  # submission, csv, api, resolve
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), index=True
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_versions.id", ondelete="SET NULL")
    )
    base_version: Mapped[int | None]
    trunk_version: Mapped[int | None]
    branch_id: Mapped[str | None] = mapped_column(String(36))
    branch_base_version: Mapped[int | None]
    conflicting: Mapped[list | None] = mapped_column(JSON)  # properties changed on both sides
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]


class EntityBacklog(Base):
    """An offline update held until the update before it in its branch arrives (or it is forced
    after ``KHUDAN_ENTITY_BACKLOG_DAYS``)."""

    __tablename__ = "entity_backlog"
    __table_args__ = (
        UniqueConstraint("submission_id", "entity_uuid"),
        Index("ix_entity_backlog_branch", "branch_id", "branch_base_version"),
    )

    id: Mapped[intpk]
    list_id: Mapped[int] = mapped_column(ForeignKey("entity_lists.id", ondelete="CASCADE"))
    entity_uuid: Mapped[str] = mapped_column(String(36), index=True)
    branch_id: Mapped[str] = mapped_column(String(36))
    branch_base_version: Mapped[int]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    held_at: Mapped[created_at]

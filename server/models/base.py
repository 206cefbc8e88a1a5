"""The declarative base, the shared column types and the naming convention for constraints.

A naming convention makes Alembic migrations reproducible on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

from sqlalchemy import DateTime, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict] = {
        dt.datetime: DateTime(timezone=True),
        str: String(255),
    }


intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(default=utcnow, server_default=func.now())]

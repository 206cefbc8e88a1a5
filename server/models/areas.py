"""The area tree: province > (district, before 1 July 2025) > commune > residential area (thôn, tổ dân
phố). Levels are data, not columns, so the district level of older records can be added back."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Area(Base):
    __tablename__ = "areas"
    __table_args__ = (Index("ix_areas_parent_code", "parent_code"),)

    # Official codes where they exist ("52" Gia Lai, "21553" Phường Quy Nhơn Bắc); residential areas
    # have none, so theirs is "<commune code>.<local code>" (e.g. "21553.TDP01").
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    full_name: Mapped[str]
    level: Mapped[str] = mapped_column(String(16))  # province, district, commune, area
    # Commune type: xa, phuong, dac_khu (it decides urban or rural); area type: thon, to_dan_pho...
    kind: Mapped[str | None] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    # The denominator of official rates, where the commune has reported it.
    households_total: Mapped[int | None]

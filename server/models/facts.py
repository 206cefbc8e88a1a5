"""Per-household facts derived from submissions of the domain forms, one row per (period, household).

The latest non-rejected submission of a household in a period is the one whose facts are kept;
reports count these rows (GROUP BY area), never the raw XML.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk


class _FactColumns:
    """Where a fact came from and where it is counted."""

    # Indexed: a review changes the facts of one submission.
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    period: Mapped[str] = mapped_column(String(16))  # "2026", or a half-year "2026-H1"
    household_key: Mapped[str] = mapped_column(String(200))  # "<commune code>/<household code>"
    household_code: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str | None] = mapped_column(String(64))
    commune_code: Mapped[str | None] = mapped_column(String(64))
    area_code: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime]
    # Whether that submission is approved: kept here (set on review) so reports need no join.
    approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Sent by a collector for an area outside their assignment: counted in no figure until a
    # supervisor of that area approves it (``COUNTED_WHERE``).
    out_of_scope: Mapped[bool] = mapped_column(default=False, server_default=false())


# The indicators of every poverty standard (rules/poverty_*.toml), each with a lacks_<id> column.
INDICATORS = (
    "employment",
    "dependants",
    "nutrition",
    "health_insurance",
    "adult_education",
    "child_schooling",
    "housing_quality",
    "housing_area",
    "water",
    "sanitation",
    "telecom",
    "information",
    "waste_treatment",
)
# Covering indexes: the report's two GROUP BYs read an index, never the wide rows; the second
# holds only the poor and near-poor (a query must spell its WHERE the same way to use it).
PLACE = ("province_code", "commune_code", "area_code")
COUNTED = (
    *PLACE,
    "area_kind",
    "ethnic_minority",
    "poverty_class",
    "local_class",
    "approved",
    "out_of_scope",
    "household_size",  # persons (nhân khẩu) summed from the index too
)
DEPRIVED = (
    *PLACE,
    "approved",
    "poverty_class",
    "out_of_scope",
    *(f"lacks_{i}" for i in INDICATORS),
)
DEPRIVED_CLASSES = ("poor", "near_poor")
DEPRIVED_WHERE = "poverty_class IN ('poor', 'near_poor')"
# What tables (8)-(11) read of the poor and near-poor, from a covering index of its own.
TRAITS = (
    *PLACE,
    "poverty_class",
    "approved",
    "ethnicity",
    "out_of_scope",
    "household_size",
    "ethnic_minority",
    "no_labour_capacity",
    "meritorious",
    "social_assistance",
    "causes",
    "support",
)
# What the village-meeting list reads after (period, area_code, poverty_class DESC).
LISTED = (
    "household_code",
    "province_code",
    "commune_code",
    "approved",
    "out_of_scope",
    "head_name",
    "b1_score",
    "b2_score",
    "deprivation_count",
    *(f"lacks_{i}" for i in INDICATORS),
)
# The facts a transitions table reads: poor or near-poor now or in the previous period.
LINKS = (
    "prev_class",
    "prev_counted",
    "prev_approved",
    "earlier_poor",
    "earlier_near",
    "earlier_poor_approved",
    "earlier_near_approved",
    "next_counted",
    "next_approved",
)
MOVED = (*PLACE, "poverty_class", "approved", "out_of_scope", *LINKS)
MOVED_WHERE = "poverty_class IN ('poor', 'near_poor') OR prev_class IN ('poor', 'near_poor')"


class PovertyFact(_FactColumns, Base):
    __tablename__ = "poverty_facts"
    __table_args__ = (
        UniqueConstraint("period", "household_key"),
        Index("ix_poverty_facts_area", "period", "area_code"),
        Index("ix_poverty_facts_counted", "period", *COUNTED),
        Index(
            "ix_poverty_facts_deprived",
            "period",
            *DEPRIVED,
            sqlite_where=text(DEPRIVED_WHERE),
            postgresql_where=text(DEPRIVED_WHERE),
        ),
        Index(
            "ix_poverty_facts_moved",
            "period",
            *MOVED,
            sqlite_where=text(MOVED_WHERE),
            postgresql_where=text(MOVED_WHERE),
        ),
        Index(
            "ix_poverty_facts_traits",
            "period",
            *TRAITS,
            sqlite_where=text(DEPRIVED_WHERE),
            postgresql_where=text(DEPRIVED_WHERE),
        ),
        Index("ix_poverty_facts_household", "household_key", "period"),
        # The village-meeting list (table 12), covered: per thôn, the poor ("poor" >
        # "near_poor") first, then by household code.
        Index(
            "ix_poverty_facts_list",
            "period",
            "area_code",
            text("poverty_class DESC"),
            *LISTED,
            sqlite_where=text(DEPRIVED_WHERE),
            postgresql_where=text(DEPRIVED_WHERE),
        ),
    )

    id: Mapped[intpk]
    review_kind: Mapped[str | None] = mapped_column(String(32))
    head_name: Mapped[str | None]
    area_kind: Mapped[str] = mapped_column(String(8))  # urban or rural, from the commune's type
    ethnic_minority: Mapped[bool | None]
    household_size: Mapped[int | None]
    income_per_capita: Mapped[int | None]
    b1_score: Mapped[int | None]
    deprivation_count: Mapped[int]
    b2_score: Mapped[int]
    # indicator id -> deprived (after the collector's justified overrides); null = not assessed.
    indicators: Mapped[dict] = mapped_column(JSON)
    standard_id: Mapped[str] = mapped_column(String(64))
    poverty_class: Mapped[str] = mapped_column(String(16))
    local_standard_id: Mapped[str | None] = mapped_column(String(64))
    local_class: Mapped[str | None] = mapped_column(String(16))
    # The same deprivations as columns (true: lacking), so that reports count them in SQL.
    lacks_employment: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_dependants: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_nutrition: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_health_insurance: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_adult_education: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_child_schooling: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_housing_quality: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_housing_area: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_water: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_sanitation: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_telecom: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_information: Mapped[bool] = mapped_column(default=False, server_default=false())
    lacks_waste_treatment: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What tables (8)-(11) count (domain/characteristics.py); null: not known (a fact recorded
    # before these were kept, until 'khudan facts rebuild', or a form that does not ask).
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    no_labour_capacity: Mapped[bool | None]
    meritorious: Mapped[bool | None]
    social_assistance: Mapped[bool | None]
    causes: Mapped[str | None] = mapped_column(String(400))  # chosen codes, space-separated
    support: Mapped[str | None] = mapped_column(String(400))
    # The same household in the periods around this one (services/facts.link keeps them), so the
    # transitions tables read one period's rows instead of pairing every household's periods:
    # its class in the previous period and whether that fact counted / was approved; whether it
    # was poor or near-poor in any period before that (counted; approved); whether a counted /
    # approved fact follows in the next period.
    prev_class: Mapped[str | None] = mapped_column(String(16))
    prev_counted: Mapped[bool] = mapped_column(default=False, server_default=false())
    prev_approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    earlier_poor: Mapped[bool] = mapped_column(default=False, server_default=false())
    earlier_near: Mapped[bool] = mapped_column(default=False, server_default=false())
    earlier_poor_approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    earlier_near_approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    next_counted: Mapped[bool] = mapped_column(default=False, server_default=false())
    next_approved: Mapped[bool] = mapped_column(default=False, server_default=false())


class CulturalFamilyFact(_FactColumns, Base):
    __tablename__ = "cultural_family_facts"
    __table_args__ = (
        UniqueConstraint("period", "household_key"),
        Index("ix_cultural_family_facts_area", "period", "area_code"),
    )

    id: Mapped[intpk]
    head_name: Mapped[str | None]
    earned: Mapped[bool]
    failed: Mapped[list] = mapped_column(JSON)
    disqualified_by: Mapped[list] = mapped_column(JSON)
    meeting_result: Mapped[str | None] = mapped_column(String(32))


class SatisfactionFact(_FactColumns, Base):
    __tablename__ = "satisfaction_facts"
    __table_args__ = (
        UniqueConstraint("period", "household_key"),
        Index("ix_satisfaction_facts_area", "period", "area_code"),
    )

    id: Mapped[intpk]
    criteria_set: Mapped[str] = mapped_column(String(32))
    satisfied: Mapped[list] = mapped_column(JSON)
    not_satisfied: Mapped[list] = mapped_column(JSON)
    agree: Mapped[bool | None]


def counted(model) -> ColumnElement[bool]:
    """The facts a figure counts: all but those out of their collector's scope and not approved."""
    return or_(model.out_of_scope.is_(False), model.approved.is_(True))

"""poverty facts link each household's periods, so transitions read one period's rows

Adds the link columns (prev_class ... next_approved), an index on (household_key, period) to
keep them, and a partial covering index of the facts a transitions table reads; fills the links
of the facts already stored. Also a covering index of the poor and near-poor in the order
of the village-meeting list (table 12).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:40:00.000000
"""

import re
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PLACE = ("province_code", "commune_code", "area_code")
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
DEPRIVED_WHERE = "poverty_class IN ('poor', 'near_poor')"
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
MOVED_WHERE = "poverty_class IN ('poor', 'near_poor') OR prev_class IN ('poor', 'near_poor')"


def _previous(period):
    match = re.fullmatch(r"(\d{4})(?:-H([12]))?", period or "")
    if not match:
        return None
    year, half = int(match.group(1)), match.group(2)
    if half is None:
        return str(year - 1)
    return f"{year}-H1" if half == "2" else f"{year - 1}-H2"


def _kind(period):
    return "half" if "-H" in (period or "") else "year"


def upgrade() -> None:
    with op.batch_alter_table("poverty_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_class", sa.String(length=16), nullable=True))
        for name in LINKS[1:]:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch_op.create_index(
            "ix_poverty_facts_household", ["household_key", "period"], unique=False
        )
    _fill()
    with op.batch_alter_table("poverty_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_poverty_facts_moved",
            ["period", *PLACE, "poverty_class", "approved", "out_of_scope", *LINKS],
            unique=False,
            sqlite_where=sa.text(MOVED_WHERE),
            postgresql_where=sa.text(MOVED_WHERE),
        )
        batch_op.create_index(
            "ix_poverty_facts_list",
            ["period", "area_code", sa.text("poverty_class DESC"), *LISTED],
            unique=False,
            sqlite_where=sa.text(DEPRIVED_WHERE),
            postgresql_where=sa.text(DEPRIVED_WHERE),
        )


def _fill() -> None:
    """The links of the facts already stored, household by household (the rule of
    services/facts.link, written out here so that this revision does not change with the code)."""
    bind = op.get_bind()
    for rows in _chunks(bind):
        _fill_rows(bind, rows)


def _chunks(bind, size: int = 50_000):
    """The facts in household order, a list of whole households at a time (not all in memory)."""
    query = sa.text(
        "SELECT id, household_key, period, poverty_class, approved, out_of_scope "
        "FROM poverty_facts WHERE household_key > :after ORDER BY household_key, period "
        "LIMIT :size"
    )
    after = ""
    while True:
        rows = bind.execute(query, {"after": after, "size": size}).all()
        if len(rows) < size:
            if rows:
                yield rows
            return
        last = rows[-1].household_key
        whole = [r for r in rows if r.household_key != last]
        if not whole:  # one household filling a chunk: not with a few periods each
            whole = rows
        yield whole
        after = whole[-1].household_key


def _fill_rows(bind, rows) -> None:
    facts = sa.table(
        "poverty_facts",
        sa.column("id"),
        *(sa.column(name) for name in LINKS),
    )
    update = (
        facts.update()
        .where(facts.c.id == sa.bindparam("_id"))
        .values({name: sa.bindparam(f"_{name}") for name in LINKS})
    )
    batch = []
    for _key, group in groupby(rows, key=lambda r: r.household_key):
        mine = list(group)
        by_period = {r.period: r for r in mine}
        for row in mine:
            before_period = _previous(row.period)
            before = by_period.get(before_period) if before_period else None
            after = next((r for r in mine if _previous(r.period) == row.period), None)
            earlier = [
                r
                for r in mine
                if before_period
                and _kind(r.period) == _kind(row.period)
                and r.period < before_period
            ]

            def counts(r):
                return bool(not r.out_of_scope or r.approved)

            values = {
                "prev_class": before.poverty_class if before else None,
                "prev_counted": bool(before and counts(before)),
                "prev_approved": bool(before and before.approved),
                "earlier_poor": any(r.poverty_class == "poor" and counts(r) for r in earlier),
                "earlier_near": any(r.poverty_class == "near_poor" and counts(r) for r in earlier),
                "earlier_poor_approved": any(
                    r.poverty_class == "poor" and r.approved for r in earlier
                ),
                "earlier_near_approved": any(
                    r.poverty_class == "near_poor" and r.approved for r in earlier
                ),
                "next_counted": bool(after and counts(after)),
                "next_approved": bool(after and after.approved),
            }
            if values["prev_class"] or any(values.values()):
                batch.append({"_id": row.id, **{f"_{k}": v for k, v in values.items()}})
            if len(batch) >= 5000:
                bind.execute(update, batch)
                batch = []
    if batch:
        bind.execute(update, batch)


def downgrade() -> None:
    with op.batch_alter_table("poverty_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_poverty_facts_list")
        batch_op.drop_index("ix_poverty_facts_moved")
        batch_op.drop_index("ix_poverty_facts_household")
        for name in reversed(LINKS):
            batch_op.drop_column(name)

"""an index on a household's submissions in a period, so a duplicate-household check is a seek

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 03:00:00.000000
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submissions_household",
            ["form_pk", "period", "commune_code", "household_code"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_household")

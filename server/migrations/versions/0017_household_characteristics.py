"""poverty facts keep what tables (8)-(11) count: ethnicity, target groups, causes, support

A partial covering index of the poor and near-poor holds what those tables read. Facts
recorded before this revision have these columns empty until `khudan facts rebuild`.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 02:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

COLUMNS = (
    ('ethnicity', sa.String(length=32)),
    ('no_labour_capacity', sa.Boolean()),
    ('meritorious', sa.Boolean()),
    ('social_assistance', sa.Boolean()),
    ('causes', sa.String(length=400)),
    ('support', sa.String(length=400)),
)


PLACE = ('province_code', 'commune_code', 'area_code')
TRAITS = (
    *PLACE, 'poverty_class', 'approved', 'ethnicity', 'out_of_scope', 'household_size',
    'ethnic_minority', 'no_labour_capacity', 'meritorious', 'social_assistance', 'causes',
    'support',
)
DEPRIVED_WHERE = "poverty_class IN ('poor', 'near_poor')"


def upgrade() -> None:
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_poverty_facts_traits',
            ['period', *TRAITS],
            unique=False,
            sqlite_where=sa.text(DEPRIVED_WHERE),
            postgresql_where=sa.text(DEPRIVED_WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_poverty_facts_traits')
        for name, _kind in reversed(COLUMNS):
            batch_op.drop_column(name)

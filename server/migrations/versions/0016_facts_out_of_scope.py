"""facts of an out-of-scope submission count in no figure until approved; persons in the index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

FACTS = ('poverty_facts', 'cultural_family_facts', 'satisfaction_facts')
INDICATORS = (
    'employment', 'dependants', 'nutrition', 'health_insurance', 'adult_education',
    'child_schooling', 'housing_quality', 'housing_area', 'water', 'sanitation', 'telecom',
    'information', 'waste_treatment',
)
PLACE = ('province_code', 'commune_code', 'area_code')
DEPRIVED_WHERE = "poverty_class IN ('poor', 'near_poor')"


def _indexes(batch_op, flag: tuple) -> None:
    counted = (
        *PLACE, 'area_kind', 'ethnic_minority', 'poverty_class', 'local_class', 'approved', *flag
    )
    deprived = (*PLACE, 'approved', 'poverty_class', *flag[:1], *(f'lacks_{i}' for i in INDICATORS))
    batch_op.create_index('ix_poverty_facts_counted', ['period', *counted], unique=False)
    batch_op.create_index(
        'ix_poverty_facts_deprived',
        ['period', *deprived],
        unique=False,
        sqlite_where=sa.text(DEPRIVED_WHERE),
        postgresql_where=sa.text(DEPRIVED_WHERE),
    )


def upgrade() -> None:
    for table in FACTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('out_of_scope', sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        # The flag of facts already kept: their version has an out-of-scope problem.
        op.execute(
            f"UPDATE {table} SET out_of_scope = true WHERE version_id IN "
            "(SELECT version_id FROM submission_problems WHERE rule = 'out-of-scope')"
        )
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_poverty_facts_deprived')
        batch_op.drop_index('ix_poverty_facts_counted')
        _indexes(batch_op, ('out_of_scope', 'household_size'))


def downgrade() -> None:
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_poverty_facts_deprived')
        batch_op.drop_index('ix_poverty_facts_counted')
        _indexes(batch_op, ())
    for table in FACTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('out_of_scope')

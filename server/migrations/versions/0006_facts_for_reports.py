"""facts for reports: approval copied from the submission, deprivations as columns, covering indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FACTS = ('poverty_facts', 'cultural_family_facts', 'satisfaction_facts')
INDICATORS = (
    'employment', 'dependants', 'nutrition', 'health_insurance', 'adult_education',
    'child_schooling', 'housing_quality', 'housing_area', 'water', 'sanitation', 'telecom',
    'information', 'waste_treatment',
)
PLACE = ('province_code', 'commune_code', 'area_code')
COUNTED = (*PLACE, 'area_kind', 'ethnic_minority', 'poverty_class', 'local_class', 'approved')
DEPRIVED = (*PLACE, 'approved', 'poverty_class', *(f'lacks_{i}' for i in INDICATORS))
DEPRIVED_WHERE = "poverty_class IN ('poor', 'near_poor')"  # the poor and near-poor only
BATCH = 5000


def upgrade() -> None:
    for table in FACTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('approved', sa.Boolean(), server_default=sa.false(), nullable=False))
            batch_op.create_index(batch_op.f(f'ix_{table}_submission_id'), ['submission_id'], unique=False)
        op.execute(
            f"UPDATE {table} SET approved = true WHERE submission_id IN "
            "(SELECT id FROM submissions WHERE review_state = 'approved')"
        )
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        for indicator in INDICATORS:
            batch_op.add_column(sa.Column(f'lacks_{indicator}', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Existing facts: the indicators their JSON marks as lacking.
    bind = op.get_bind()
    facts = sa.table(
        'poverty_facts',
        sa.column('id', sa.Integer),
        sa.column('indicators', sa.JSON),
        *(sa.column(f'lacks_{i}', sa.Boolean) for i in INDICATORS),
    )
    update = (
        facts.update()
        .where(facts.c.id == sa.bindparam('fact_id'))
        .values({f'lacks_{i}': sa.bindparam(f'lacks_{i}') for i in INDICATORS})
    )
    last = 0
    while True:
        batch = bind.execute(
            sa.select(facts.c.id, facts.c.indicators).where(facts.c.id > last).order_by(facts.c.id).limit(BATCH)
        ).all()
        if not batch:
            break
        lacking = [
            {'fact_id': fact_id, **{f'lacks_{i}': bool((indicators or {}).get(i)) for i in INDICATORS}}
            for fact_id, indicators in batch
            if any((indicators or {}).values())
        ]
        if lacking:
            bind.execute(update, lacking)
        last = batch[-1][0]

    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.create_index('ix_poverty_facts_counted', ['period', *COUNTED], unique=False)
        batch_op.create_index(
            'ix_poverty_facts_deprived', ['period', *DEPRIVED], unique=False,
            sqlite_where=sa.text(DEPRIVED_WHERE), postgresql_where=sa.text(DEPRIVED_WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table('poverty_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_poverty_facts_deprived')
        batch_op.drop_index('ix_poverty_facts_counted')
        for indicator in INDICATORS:
            batch_op.drop_column(f'lacks_{indicator}')
    for table in FACTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_submission_id'))
            batch_op.drop_column('approved')

"""login throttles per address and name, Digest nonce counts, the related submission of a problem

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:15:55.979914
"""

import re

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'digest_nonces',
        sa.Column('nonce', sa.String(length=128), nullable=False),
        sa.Column('highest_nc', sa.BigInteger(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('nonce', name=op.f('pk_digest_nonces')),
    )
    with op.batch_alter_table('digest_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_nonces_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'login_throttles',
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=150), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_allowed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('address', 'username', name=op.f('pk_login_throttles')),
    )
    with op.batch_alter_table('submission_problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('related_submission_id', sa.Integer(), nullable=True))

    # Problems found before: the other submission is named in the value (an instanceID for a
    # duplicate household, "submission <id>: <file>" for a reused photo).
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE submission_problems SET related_submission_id = "
            "(SELECT MIN(s.id) FROM submissions s WHERE s.instance_id = submission_problems.value) "
            "WHERE rule = 'duplicate-household'"
        )
    )
    rows = conn.execute(
        sa.text("SELECT id, value FROM submission_problems WHERE rule = 'photo-reused'")
    ).all()
    for pk, value in rows:
        found = re.match(r"submission (\d+):", value or "")
        if found:
            conn.execute(
                sa.text("UPDATE submission_problems SET related_submission_id = :s WHERE id = :i"),
                {"s": int(found.group(1)), "i": pk},
            )


def downgrade() -> None:
    with op.batch_alter_table('submission_problems', schema=None) as batch_op:
        batch_op.drop_column('related_submission_id')
    op.drop_table('login_throttles')
    with op.batch_alter_table('digest_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_nonces_expires_at'))
    op.drop_table('digest_nonces')

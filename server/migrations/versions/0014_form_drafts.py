"""form drafts, their media, and the test submissions sent to them

Revision ID: 0014
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'form_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form_id', sa.String(length=255), nullable=False),
        sa.Column('version', sa.String(length=255), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('md5', sa.String(length=32), nullable=False),
        sa.Column('xlsx', sa.LargeBinary(), nullable=True),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('media_expected', sa.JSON(), nullable=False),
        sa.Column('findings', sa.JSON(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_form_drafts_created_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_drafts')),
        sa.UniqueConstraint('form_id', name=op.f('uq_form_drafts_form_id')),
        sa.UniqueConstraint('token', name=op.f('uq_form_drafts_token')),
    )
    op.create_table(
        'form_draft_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('blob_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], name=op.f('fk_form_draft_media_blob_id_blobs')),
        sa.ForeignKeyConstraint(['draft_id'], ['form_drafts.id'], name=op.f('fk_form_draft_media_draft_id_form_drafts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_draft_media')),
        sa.UniqueConstraint('draft_id', 'filename', name=op.f('uq_form_draft_media_draft_id')),
    )
    op.create_table(
        'draft_test_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=255), nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('device_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['draft_id'], ['form_drafts.id'], name=op.f('fk_draft_test_submissions_draft_id_form_drafts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_test_submissions')),
        sa.UniqueConstraint('draft_id', 'instance_id', name=op.f('uq_draft_test_submissions_draft_id')),
    )
    op.create_index(op.f('ix_draft_test_submissions_draft_id'), 'draft_test_submissions', ['draft_id'])
    op.create_table(
        'draft_test_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('blob_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], name=op.f('fk_draft_test_attachments_blob_id_blobs')),
        sa.ForeignKeyConstraint(['submission_id'], ['draft_test_submissions.id'], name=op.f('fk_draft_test_attachments_submission_id_draft_test_submissions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_test_attachments')),
        sa.UniqueConstraint('submission_id', 'name', name=op.f('uq_draft_test_attachments_submission_id')),
    )


def downgrade() -> None:
    op.drop_table('draft_test_attachments')
    op.drop_index(op.f('ix_draft_test_submissions_draft_id'), table_name='draft_test_submissions')
    op.drop_table('draft_test_submissions')
    op.drop_table('form_draft_media')
    op.drop_table('form_drafts')

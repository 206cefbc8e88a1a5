"""entity lists (ODK Entities): lists, entities, their versions, and offline updates held for
their predecessor

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 06:42:17.494687
"""

import sqlalchemy as sa
from alembic import op


revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_entity_lists_name")),
    )
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=64), nullable=True),
        sa.Column("commune_code", sa.String(length=64), nullable=True),
        sa.Column("area_code", sa.String(length=64), nullable=True),
        sa.Column("household_key", sa.String(length=200), nullable=True),
        sa.Column("search", sa.String(length=2000), nullable=False),
        sa.Column("conflict", sa.String(length=8), nullable=True),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_entities_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["entity_lists.id"],
            name=op.f("fk_entities_list_id_entity_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("list_id", "uuid", name=op.f("uq_entities_list_id_uuid")),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index("ix_entities_list_area", ["list_id", "area_code"], unique=False)
        batch_op.create_index("ix_entities_list_commune", ["list_id", "commune_code"], unique=False)
        batch_op.create_index(
            "ix_entities_list_province", ["list_id", "province_code"], unique=False
        )
        batch_op.create_index("ix_entities_list_key", ["list_id", "household_key"], unique=False)


    op.create_table(
        "entity_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("entity_uuid", sa.String(length=36), nullable=False),
        sa.Column("branch_id", sa.String(length=36), nullable=False),
        sa.Column("branch_base_version", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column(
            "held_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["entity_lists.id"],
            name=op.f("fk_entity_backlog_list_id_entity_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_entity_backlog_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_backlog")),
        sa.UniqueConstraint(
            "submission_id", "entity_uuid", name=op.f("uq_entity_backlog_submission_id_entity_uuid")
        ),
    )
    with op.batch_alter_table("entity_backlog", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entity_backlog_branch", ["branch_id", "branch_base_version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_entity_backlog_entity_uuid"), ["entity_uuid"], unique=False
        )

    op.create_table(
        "entity_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("trunk_version", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.String(length=36), nullable=True),
        sa.Column("branch_base_version", sa.Integer(), nullable=True),
        sa.Column("conflicting", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entities.id"],
            name=op.f("fk_entity_versions_entity_id_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_entity_versions_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_entity_versions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["submission_versions.id"],
            name=op.f("fk_entity_versions_version_id_submission_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_versions")),
        sa.UniqueConstraint(
            "entity_id", "version", name=op.f("uq_entity_versions_entity_id_version")
        ),
    )
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entity_versions_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_versions_submission_id"))

    op.drop_table("entity_versions")
    with op.batch_alter_table("entity_backlog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_backlog_entity_uuid"))
        batch_op.drop_index("ix_entity_backlog_branch")

    op.drop_table("entity_backlog")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index("ix_entities_list_key")
        batch_op.drop_index("ix_entities_list_province")
        batch_op.drop_index("ix_entities_list_commune")
        batch_op.drop_index("ix_entities_list_area")

    op.drop_table("entities")
    op.drop_table("entity_lists")

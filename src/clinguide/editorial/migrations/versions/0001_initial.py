"""Initial editorial store: users, proposals, reviews, content versions, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('author', 'reviewer', 'editor')", name="ck_users_role"),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.String(120), nullable=False),
        sa.Column("yaml_text", sa.Text, nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("base_version_id", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'under-review', 'approved', 'rejected', 'retired')",
            name="ck_proposals_state",
        ),
    )
    op.create_index("ix_proposals_item", "proposals", ["kind", "item_id"])
    op.create_index("ix_proposals_state", "proposals", ["state"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("proposal_id", "reviewer_id", name="uq_reviews_once_per_reviewer"),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name="ck_reviews_decision"),
    )
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.String(120), nullable=False),
        sa.Column("yaml_text", sa.Text, nullable=False),
        sa.Column("approved_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(250), nullable=False),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=True),
        sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_content_versions_item", "content_versions", ["kind", "item_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("actor_name", sa.String(120), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=True),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("item_id", sa.String(120), nullable=True),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_audit_proposal", "audit_log", ["proposal_id"])
    op.create_index("ix_audit_item", "audit_log", ["kind", "item_id"])

    # The audit log and the content history are append-only, enforced by the database itself.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in ("audit_log", "content_versions"):
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION clinguide_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in ("audit_log", "content_versions"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION clinguide_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in ("audit_log", "content_versions", "reviews", "proposals", "users"):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS clinguide_append_only()")

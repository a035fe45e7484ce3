"""Expiring, revocable editorial tokens and server-side web sessions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Tokens issued before this revision get an expiry 90 days from the upgrade (the default
lifetime), so nobody is locked out by the upgrade itself and no token stays valid forever.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_expires_at", TS, nullable=True))
        batch.add_column(sa.Column("token_revoked_at", TS, nullable=True))
        batch.add_column(sa.Column("token_issued_at", TS, nullable=True))
    users = sa.table(
        "users",
        sa.column("token_expires_at", TS),
        sa.column("token_issued_at", TS),
        sa.column("created_at", TS),
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    op.execute(users.update().values(token_expires_at=expires, token_issued_at=users.c.created_at))
    op.create_table(
        "web_sessions",
        # SHA-256 of the opaque session id the browser holds; the id itself is never stored
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(30), nullable=True),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user", "web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_issued_at")
        batch.drop_column("token_revoked_at")
        batch.drop_column("token_expires_at")

"""Alembic environment: uses the connection clinguide hands over, or CLINGUIDE_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from clinguide.editorial.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # run by hand with the alembic command
    from clinguide.editorial.db import get_engine
    from clinguide.settings import get_settings

    with get_engine(get_settings().database_url).begin() as conn:
        _run(conn)

"""Alembic environment: runs on the connection handed over by `peerscreen.screening.
migrations` (in the caller's transaction), never from a URL in a config file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()

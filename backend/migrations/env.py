"""Alembic environment: migrations run on a connection handed over by the backend."""

from __future__ import annotations

from alembic import context

from backend.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("backend migrations run from backend.store.engine.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment. Runs with the connection handed in by :mod:`bot.adapters.migrate`."""

from __future__ import annotations

from alembic import context

from bot.adapters.orm import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - `alembic` CLI use; the app always passes a connection
    raise RuntimeError("run migrations with `python -m bot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

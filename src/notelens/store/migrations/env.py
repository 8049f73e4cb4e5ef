"""Alembic's environment for NoteLens: run on the connection `migrate.py` hands over (it
holds the upgrade lock and the transaction); configured in code, no alembic.ini needed."""

from __future__ import annotations

from alembic import context

from notelens.store.migrate import context_options

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through `notelens db upgrade` (notelens.store.migrate).")
context.configure(**context_options(connection))
with context.begin_transaction():
    context.run_migrations()

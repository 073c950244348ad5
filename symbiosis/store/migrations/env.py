"""Alembic environment: runs on the connection handed over by :mod:`symbiosis.store.db`."""

from alembic import context

from symbiosis.store.models import Base

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

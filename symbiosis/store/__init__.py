"""Durable store: SQLAlchemy 2 models, Alembic migrations and table-level I/O."""

from symbiosis.store.db import Store, open_store

__all__ = ["Store", "open_store"]

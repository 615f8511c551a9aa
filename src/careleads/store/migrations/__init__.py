"""Alembic migrations of the operational store (applied by `careleads db upgrade`)."""

"""The service's database: one SQLAlchemy engine, its schema migrated by Alembic, and the decision log.

Later layers (the grants ledger) add their tables here, as new migrations in `migrations/versions/`.
"""

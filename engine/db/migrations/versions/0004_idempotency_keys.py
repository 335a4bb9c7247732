"""Idempotency keys of grant requests: the request's hash and the whole response, kept for ever.

Revision ID: 0004_idempotency_keys
Revises: 0003_ledger
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_idempotency_keys"
down_revision = "0003_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(80), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")

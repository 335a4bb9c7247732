"""Sessions of the web pages that were signed out: a session cookie is signed, not stored, so signing out records
its id here until the cookie would have expired, and a page read with it asks the reader to sign in again.

Revision ID: 0006_signed_out_sessions
Revises: 0005_idempotency_per_caller
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_signed_out_sessions"
down_revision = "0005_idempotency_per_caller"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signed_out_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signed_out_sessions")

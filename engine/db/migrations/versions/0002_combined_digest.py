"""The decision log: each row also keeps the combined digest of every version and schema the decision used.

Revision ID: 0002_combined_digest
Revises: 0001_decisions
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_combined_digest"
down_revision = "0001_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: rows logged before this revision have none, and a claim no version decided has none
    op.add_column("decisions", sa.Column("combined_digest", sa.String(80), nullable=True))
    op.create_index("ix_decisions_combined_digest", "decisions", ["combined_digest"])


def downgrade() -> None:
    op.drop_index("ix_decisions_combined_digest", "decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("combined_digest")

"""The grants ledger: grants and their revocations, each written once (no UPDATE, no DELETE).

Revision ID: 0003_ledger
Revises: 0002_combined_digest
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ledger"
down_revision = "0002_combined_digest"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")

WRITE_ONCE = "the grants ledger keeps every row as written: a grant is revoked by a revocation, never changed"


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("grant_id", sa.String(36), nullable=False, unique=True),
        sa.Column("book", sa.String(200), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("recorded_by_role", sa.String(32), nullable=False),
        sa.Column("recorded_by_token", sa.String(64), nullable=True),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=True),
        sa.Column("policy_digest", sa.String(80), nullable=True),
        sa.Column("claim_id", sa.String(200), nullable=True),
        sa.Column("decision_id", sa.String(36), nullable=True),
        sa.Column("amount", sa.String(64), nullable=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
    )
    op.create_index("ix_grants_book_person", "grants", ["book", "person"])
    op.create_table(
        "grant_revocations",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("grant_id", sa.String(36), nullable=False, unique=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by_role", sa.String(32), nullable=False),
        sa.Column("revoked_by_token", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    write_once("grants")
    write_once("grant_revocations")


def write_once(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION {table}_write_once() RETURNS trigger AS $$
                       BEGIN RAISE EXCEPTION '{WRITE_ONCE}'; END $$ LANGUAGE plpgsql""")
        op.execute(f"CREATE TRIGGER {table}_write_once BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_write_once()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{WRITE_ONCE}'); END")


def downgrade() -> None:
    for table in ("grant_revocations", "grants"):
        op.drop_table(table)
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP FUNCTION {table}_write_once()")

"""The decision log: one row per decision, never updated or deleted.

Revision ID: 0001_decisions
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_decisions"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")

APPEND_ONLY = "the decision log is append-only: a decision is never updated or deleted"


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(36), nullable=False, unique=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engine_version", sa.String(64), nullable=False),
        sa.Column("caller_role", sa.String(32), nullable=False),
        sa.Column("caller_token", sa.String(64), nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(100), nullable=True),
        sa.Column("policy_digest", sa.String(80), nullable=True),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("claim_id", sa.String(200), nullable=True),
        sa.Column("decision_date", sa.Date, nullable=True),
        sa.Column("known_on", sa.Date, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=True),
        sa.Column("amount", sa.String(64), nullable=True),
        sa.Column("claim", sa.Text, nullable=False),
        sa.Column("claim_digest", sa.String(80), nullable=False),
        sa.Column("masked", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    for column in ("decided_at", "policy_id", "claim_id", "outcome"):
        op.create_index(f"ix_decisions_{column}", "decisions", [column])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION decisions_append_only() RETURNS trigger AS $$
                       BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions "
                   "FOR EACH ROW EXECUTE FUNCTION decisions_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER decisions_no_{action.lower()} BEFORE {action} ON decisions "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def downgrade() -> None:
    op.drop_table("decisions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION decisions_append_only()")

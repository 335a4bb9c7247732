"""The tables, as SQLAlchemy Core sees them. Their history is in migrations/versions/: a change here needs
a migration there (tests compare the two)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

# SQLite numbers rows itself only for INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for a log that grows.
_SEQ = BigInteger().with_variant(Integer, "sqlite")

# One row per decision, written once: triggers refuse UPDATE and DELETE (see the first migration).
# JSON columns are text written by engine.db.jsontext, so exact decimals stay exact on every database.
decisions = Table(
    "decisions", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("decision_id", String(36), nullable=False, unique=True),
    Column("decided_at", DateTime(timezone=True), nullable=False, index=True),
    Column("engine_version", String(64), nullable=False),
    Column("caller_role", String(32), nullable=False),
    Column("caller_token", String(64), nullable=True),  # a token's id, never the token
    Column("request", Text, nullable=False),  # JSON: the policy as asked for, as_of, known_on, explain
    Column("policy_id", String(200), nullable=False, index=True),
    Column("policy_version", String(100), nullable=True),
    Column("policy_digest", String(80), nullable=True),
    Column("versions", Text, nullable=False),  # JSON: every version the decision used, with digest and role
    # the one digest of every version and input schema the decision used (as its result carries it)
    Column("combined_digest", String(80), nullable=True, index=True),
    Column("claim_id", String(200), nullable=True, index=True),
    Column("decision_date", Date, nullable=True),
    Column("known_on", Date, nullable=True),
    Column("outcome", String(16), nullable=False, index=True),
    Column("eligible", Boolean, nullable=True),
    Column("amount", String(64), nullable=True),
    Column("claim", Text, nullable=False),  # JSON: the claim as received, less what masking took out
    Column("claim_digest", String(80), nullable=False),
    Column("masked", Text, nullable=False),  # JSON: which personal fields were masked or hashed, and how
    Column("result", Text, nullable=False),  # JSON: the decision as answered, without decision_id
)

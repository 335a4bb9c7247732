"""The tables, as SQLAlchemy Core sees them. Their history is in migrations/versions/: a change here needs
a migration there (tests compare the two)."""
from __future__ import annotations

from sqlalchemy import (
                        BigInteger,
                        Boolean,
                        Column,
                        Date,
                        DateTime,
                        Index,
                        Integer,
                        MetaData,
                        PrimaryKeyConstraint,
                        String,
                        Table,
                        Text,
)

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

# The grants ledger (engine/ledger): grants and their revocations are written once and never changed (triggers,
# as for decisions); a revocation is a row of its own. `book` is the ledger a policy counts grants in, `person`
# the value of the fact its `ledger:` section names.
grants = Table(
    "grants", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("grant_id", String(36), nullable=False, unique=True),
    Column("book", String(200), nullable=False),
    Column("person", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("origin", String(16), nullable=False),  # service | cli | import
    Column("recorded_by_role", String(32), nullable=False),
    Column("recorded_by_token", String(64), nullable=True),
    Column("policy_id", String(200), nullable=False),
    Column("policy_version", String(100), nullable=True),
    Column("policy_digest", String(80), nullable=True),
    Column("claim_id", String(200), nullable=True),
    Column("decision_id", String(36), nullable=True),  # the logged decision that granted it (none for imports)
    Column("amount", String(64), nullable=True),
    Column("record", Text, nullable=False),  # JSON: the fields the policy's ledger.record projects
    Column("idempotency_key", String(200), nullable=True),
    Index("ix_grants_book_person", "book", "person"),
)

grant_revocations = Table(
    "grant_revocations", metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("grant_id", String(36), nullable=False, unique=True),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by_role", String(32), nullable=False),
    Column("revoked_by_token", String(64), nullable=True),
    Column("reason", Text, nullable=False),
)

# An Idempotency-Key of one caller (the token's id, `local` without a token; `unknown`, which is no caller, for a
# key written before migration 0005 whose caller was not found), the hash of the request it came with and the
# whole response given: the same caller, key and request again get that response, written in the transaction
# that recorded (or refused) the grant.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("caller_token", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(80), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("caller_token", "key", name="idempotency_keys_per_caller"),
)

# A web session signed out before its cookie expired (engine.web.session): kept until then, then pruned. The one
# table whose rows are deleted: a session id is no record of anything done.
signed_out_sessions = Table(
    "signed_out_sessions", metadata,
    Column("session_id", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

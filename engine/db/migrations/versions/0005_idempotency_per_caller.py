"""Idempotency keys per caller: the key table's primary key becomes (caller_token, key), so two callers (bearer
tokens) sending the same Idempotency-Key get each their own answer, and never the other's.

Rows written before this revision kept no caller, but the answer they hold was logged with its caller: the
migration gives each row the caller of the decision its answer names (`decisions.caller_token`, `local` when it
had no token), else the token that recorded the grant of that key (`grants.recorded_by_token`). A row whose
caller cannot be found gets `unknown`, which no caller is: such a key answers nobody again, and the request it
came with is decided anew (docs/ledger.md).

Revision ID: 0005_idempotency_per_caller
Revises: 0004_idempotency_keys
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0005_idempotency_per_caller"
down_revision = "0004_idempotency_keys"
branch_labels = None
depends_on = None

LOCAL = "local"  # engine.ledger.book.LOCAL_CALLER, as it is at this revision
UNKNOWN = "unknown"
PAGE = 500  # rows copied at a time: an answer is a whole decision, and keys are kept for ever

_ROW = ("request_hash", "status", "response", "created_at")
_decisions = sa.table("decisions", sa.column("decision_id"), sa.column("caller_token"))
_grants = sa.table("grants", sa.column("idempotency_key"), sa.column("recorded_by_token"))


def _keys(name: str, per_caller: bool) -> sa.TableClause:
    return sa.table(name, *([sa.column("caller_token")] if per_caller else []), sa.column("key"),
                    *(sa.column(c) for c in _ROW))


def _create(name: str, per_caller: bool, primary_key: str) -> None:
    key = [sa.Column("caller_token", sa.String(64), nullable=False)] if per_caller else []
    op.create_table(
        name, *key,
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(80), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*(["caller_token"] if per_caller else []), "key", name=primary_key),
    )


def _decision_of(response: str) -> str | None:
    try:
        decision = json.loads(response).get("decision")
    except (ValueError, AttributeError):
        return None
    found = decision.get("decision_id") if isinstance(decision, dict) else None
    return found if isinstance(found, str) else None


def _owners(bind, rows) -> list[str]:
    """The caller of each old row: its logged decision's, else its grant's recorder, else UNKNOWN."""
    wanted = {row.key: _decision_of(row.response) for row in rows}
    by_decision = dict(bind.execute(sa.select(_decisions.c.decision_id, _decisions.c.caller_token).where(
        _decisions.c.decision_id.in_(sorted({d for d in wanted.values() if d})))).all())
    by_grant = dict(bind.execute(sa.select(_grants.c.idempotency_key, _grants.c.recorded_by_token).where(
        _grants.c.idempotency_key.in_(list(wanted)))).all())
    owners = []
    for row in rows:
        decision = wanted[row.key]
        if decision in by_decision:
            owners.append(by_decision[decision] or LOCAL)
        elif row.key in by_grant:
            owners.append(by_grant[row.key] or LOCAL)
        else:
            owners.append(UNKNOWN)
    return owners


def upgrade() -> None:
    # A new table, the rows copied, the old one dropped: the same steps on SQLite (which cannot change a primary
    # key in place) and PostgreSQL, in the one transaction of the migration.
    bind = op.get_bind()
    _create("idempotency_keys_0005", per_caller=True, primary_key="idempotency_keys_per_caller")
    old, new = _keys("idempotency_keys", per_caller=False), _keys("idempotency_keys_0005", per_caller=True)
    after = None
    while True:
        query = sa.select(old).order_by(old.c.key).limit(PAGE)
        rows = bind.execute(query if after is None else query.where(old.c.key > after)).all()
        if not rows:
            break
        bind.execute(sa.insert(new), [{"caller_token": owner, "key": row.key} | {c: getattr(row, c) for c in _ROW}
                                      for row, owner in zip(rows, _owners(bind, rows), strict=True)])
        after = rows[-1].key
    op.drop_table("idempotency_keys")
    op.rename_table("idempotency_keys_0005", "idempotency_keys")


def downgrade() -> None:
    # One row per key again: of the same key sent by several callers, the first one's.
    _create("idempotency_keys_0004", per_caller=False, primary_key="idempotency_keys_pkey")
    op.execute("INSERT INTO idempotency_keys_0004 (key, request_hash, status, response, created_at) "
               "SELECT key, request_hash, status, response, created_at FROM idempotency_keys k WHERE NOT EXISTS "
               "(SELECT 1 FROM idempotency_keys o WHERE o.key = k.key AND (o.created_at < k.created_at OR "
               "(o.created_at = k.created_at AND o.caller_token < k.caller_token)))")
    op.drop_table("idempotency_keys")
    op.rename_table("idempotency_keys_0004", "idempotency_keys")

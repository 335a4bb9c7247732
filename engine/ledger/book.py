"""The ledger's tables: grants, revocations and idempotency keys, and the transaction that serialises one
person's grants.

Every grant of one person in one book is decided and written inside `Ledger.person()`: on PostgreSQL a
transaction holding an advisory lock on (book, person), so two grants of the same person wait for each
other while other people's go on; on SQLite a `BEGIN IMMEDIATE` transaction, which takes the database's
write lock before anything is read. What is read in it (the person's grants, an idempotency key) cannot
change before it commits, and what it writes commits whole or not at all.
"""
from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.engine import Connection, Engine

from engine.core.records import dataclass
from engine.db import jsontext
from engine.db.database import connect, immediate
from engine.db.tables import grant_revocations, grants, idempotency_keys


@dataclass
class Grant:
    grant_id: str
    seq: int
    book: str
    person: str
    recorded_at: str
    origin: str
    recorded_by: dict
    policy: dict
    claim_id: str | None
    decision_id: str | None
    amount: str | None
    record: dict
    idempotency_key: str | None = None
    revoked: dict | None = None  # {at, by, reason} once revoked

    def to_json(self) -> dict:
        return {"grant_id": self.grant_id, "seq": self.seq, "book": self.book, "person": self.person,
                "recorded_at": self.recorded_at, "origin": self.origin, "recorded_by": self.recorded_by,
                "policy": self.policy, "claim_id": self.claim_id, "decision_id": self.decision_id,
                "amount": self.amount, "record": self.record, "revoked": self.revoked}


@dataclass
class Remembered:
    """What an Idempotency-Key was first answered with."""

    request_hash: str
    status: int
    response: str  # the body, as sent


def _utc(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def lock_key(book: str, person: str) -> int:
    """A 64-bit advisory-lock key for (book, person); two people sharing one only wait for each other."""
    digest = hashlib.sha256(f"{book}\0{person}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# Whose Idempotency-Key it is: the caller's token id; LOCAL_CALLER without a token (loopback without a tokens
# file, the command line). Migration 0005 gave the keys written before it the caller of their logged answer.
LOCAL_CALLER = "local"


def key_owner(token_id: str | None) -> str:
    return token_id or LOCAL_CALLER


def _with_revocations():
    """Grants, each with its revocation's columns (None when it stands)."""
    return select(grants, grant_revocations.c.revoked_at, grant_revocations.c.revoked_by_role,
                  grant_revocations.c.revoked_by_token, grant_revocations.c.reason) \
        .select_from(grants.outerjoin(grant_revocations, grants.c.grant_id == grant_revocations.c.grant_id))


class Ledger:
    def __init__(self, url: str, reader: Engine | None = None):
        self.url = url
        self.reader = reader or connect(url)  # reads, and every write that needs no person's lock
        self.sqlite = self.reader.dialect.name == "sqlite"
        if self.sqlite:
            # Its own engine: the driver leaves transactions to us, and each one begins IMMEDIATE (the write
            # lock first), so what is read in it cannot change before it commits.
            self.writer = immediate(url)
        else:
            self.writer = self.reader

    def close(self) -> None:
        if self.writer is not self.reader:
            self.writer.dispose()

    @contextlib.contextmanager
    def person(self, book: str, person: str) -> Iterator[Connection]:
        """A transaction in which no other grant of this person can be decided or written."""
        with self.writer.begin() as connection:
            if not self.sqlite:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(book, person)})
            yield connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction of writes that decide nothing about a person (revocations, imports)."""
        with self.writer.begin() as connection:
            yield connection

    # -- reading ------------------------------------------------------------------------------------

    def grants_of(self, connection: Connection | None, book: str | None, person: str) -> list[Grant]:
        """A person's grants in recording order, revoked ones too (marked); every book when book is None."""
        query = _with_revocations().where(grants.c.person == person).order_by(grants.c.seq)
        if book is not None:
            query = query.where(grants.c.book == book)
        return self._rows(connection, query)

    def grants_of_people(self, people: set[tuple[str, str]]) -> dict[tuple[str, str], list[Grant]]:
        """The grants of each (book, person), in recording order, revoked ones too (marked): one query."""
        if not people:
            return {}
        pairs = tuple_(grants.c.book, grants.c.person).in_(sorted(people))
        query = _with_revocations().where(pairs).order_by(grants.c.seq)
        out: dict[tuple[str, str], list[Grant]] = {}
        for found in self._rows(None, query):
            out.setdefault((found.book, found.person), []).append(found)
        return out

    def grant(self, grant_id: str, connection: Connection | None = None) -> Grant | None:
        query = _with_revocations().where(grants.c.grant_id == grant_id)
        found = self._rows(connection, query)
        return found[0] if found else None

    def every_grant(self, book: str | None = None, after: int | None = None, limit: int | None = None) -> list[Grant]:
        query = _with_revocations().order_by(grants.c.seq)
        if book is not None:
            query = query.where(grants.c.book == book)
        if after is not None:
            query = query.where(grants.c.seq > after)
        if limit is not None:
            query = query.limit(limit)
        return self._rows(None, query)

    def books(self) -> list[str]:
        """Every book that holds a grant, by name."""
        with self.reader.connect() as own:
            return list(own.execute(select(grants.c.book).distinct().order_by(grants.c.book)).scalars())

    def _rows(self, connection: Connection | None, query) -> list[Grant]:
        if connection is None:
            with self.reader.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = connection.execute(query).all()
        return [_grant(row._mapping) for row in rows]

    def remembered(self, connection: Connection | None, caller: str, key: str) -> Remembered | None:
        """The answer remembered for this caller's key: another caller's same key is not this caller's."""
        query = select(idempotency_keys).where(idempotency_keys.c.caller_token == caller,
                                               idempotency_keys.c.key == key)
        if connection is None:
            with self.reader.connect() as own:
                row = own.execute(query).first()
        else:
            row = connection.execute(query).first()
        return Remembered(row.request_hash, row.status, row.response) if row else None

    # -- writing ------------------------------------------------------------------------------------

    def add(self, connection: Connection, *, book: str, person: str, origin: str, role: str, token: str | None,
            policy: dict, claim_id: str | None, decision_id: str | None, amount: str | None, record: dict,
            key: str | None = None, at: datetime | None = None, grant_id: str | None = None) -> Grant:
        at = at or datetime.now(UTC)
        row = {"grant_id": grant_id or str(uuid.uuid4()), "book": book, "person": person, "recorded_at": at,
               "origin": origin, "recorded_by_role": role, "recorded_by_token": token,
               "policy_id": policy.get("id") or "", "policy_version": policy.get("version"),
               "policy_digest": policy.get("digest"), "claim_id": claim_id, "decision_id": decision_id,
               "amount": amount, "record": jsontext.dumps(record), "idempotency_key": key}
        seq = connection.execute(insert(grants).returning(grants.c.seq), row).scalar_one()
        return _grant(row | {"seq": seq, "revoked_at": None})

    def remember(self, connection: Connection, caller: str, key: str, request_hash: str, status: int,
                 response: str) -> None:
        connection.execute(insert(idempotency_keys), {"caller_token": caller, "key": key, "request_hash": request_hash,
                                                      "status": status, "response": response,
                                                      "created_at": datetime.now(UTC)})

    def revoke(self, connection: Connection, grant_id: str, reason: str, role: str, token: str | None,
               at: datetime | None = None) -> None:
        connection.execute(insert(grant_revocations), {"grant_id": grant_id, "revoked_at": at or datetime.now(UTC),
                                                       "revoked_by_role": role, "revoked_by_token": token,
                                                       "reason": reason})


def _grant(row) -> Grant:
    revoked = None
    if row.get("revoked_at") is not None:
        revoked = {"at": _utc(row["revoked_at"]), "by": {"role": row["revoked_by_role"],
                                                          "token": row["revoked_by_token"]},
                   "reason": row["reason"]}
    record = row["record"]
    return Grant(
        grant_id=row["grant_id"], seq=row["seq"], book=row["book"], person=row["person"],
        recorded_at=_utc(row["recorded_at"]), origin=row["origin"],
        recorded_by={"role": row["recorded_by_role"], "token": row["recorded_by_token"]},
        policy={"id": row["policy_id"], "version": row["policy_version"], "digest": row["policy_digest"]},
        claim_id=row["claim_id"], decision_id=row["decision_id"], amount=row["amount"],
        record=orjson.loads(record) if isinstance(record, str) else record,
        idempotency_key=row.get("idempotency_key"), revoked=revoked)

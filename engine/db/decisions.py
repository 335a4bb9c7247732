"""The decision log: rows appended by one writer thread that commits many requests' rows at once, and
read back by decision id or by a filter.

A caller is answered only after its rows are committed (`append` waits for the commit); when the commit
fails, every caller of that group gets LogUnavailable and no decision goes out unlogged.
"""
from __future__ import annotations

import concurrent.futures
import queue
import threading
from datetime import UTC, date, datetime, time, timedelta

import orjson
from sqlalchemy import Text, insert, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from engine.core.i18n import msg
from engine.db.database import reason, shown
from engine.db.tables import decisions

GROUP_ROWS = 2048  # rows committed together at most: what arrived while the last commit was running


class LogUnavailable(Exception):
    """The row could not be committed: the decision must not be given."""


def _settle(future: concurrent.futures.Future, error: Exception | None) -> None:
    """The caller told; one that stopped waiting (cancelled its future) must not stop the writer."""
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except concurrent.futures.InvalidStateError:
        pass


class DecisionLog:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.failures = 0  # commits that failed, for /metrics
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first write: readers need none
        self._starting = threading.Lock()

    # -- writing ------------------------------------------------------------------------------------

    def submit(self, rows: list[dict]) -> concurrent.futures.Future:
        """Queue rows for the next commit; the future is done when they are committed (or failed)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        if self._writer is None:
            with self._starting:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_forever, name="decision-log-writer",
                                                    daemon=True)
                    self._writer.start()
        self._queue.put((rows, future))
        return future

    def append(self, rows: list[dict]) -> None:
        """Commit rows, waiting for it. Raises LogUnavailable."""
        self.submit(rows).result()

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=30)

    def _write_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            count = len(item[0])
            while count < GROUP_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(item)
                count += len(item[0])
            self._commit(group)

    def _commit(self, group: list) -> None:
        rows = [row for rows, _ in group for row in rows]
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(decisions), rows)
        except SQLAlchemyError as exc:
            self.failures += 1
            error = LogUnavailable(msg("the decision log ({url}) cannot be written: {reason}",
                                       url=shown(str(self.engine.url)), reason=reason(exc)))
            for _, future in group:
                _settle(future, error)
            return
        except BaseException as exc:  # never leave a caller waiting for ever
            self.failures += 1
            for _, future in group:
                _settle(future, LogUnavailable(msg("the decision log cannot be written: {kind}: {reason}",
                                                   kind=type(exc).__name__, reason=str(exc))))
            return
        for _, future in group:
            _settle(future, None)

    # -- reading ------------------------------------------------------------------------------------

    def get(self, decision_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(*_READ).where(decisions.c.decision_id == decision_id)).first()
        return record(row._mapping) if row else None

    def search(self, claim_id: str | None = None, policy: str | None = None, since: date | None = None,
               until: date | None = None, after: int | None = None, limit: int = 100) -> list[dict]:
        """Records in the order they were logged. `since`/`until` are days (UTC) the decisions were made,
        both included; `after` is the `seq` of the last record of the previous page."""
        query = select(*_READ).order_by(decisions.c.seq).limit(limit)
        if claim_id is not None:
            query = query.where(decisions.c.claim_id == claim_id)
        if policy is not None:
            pid, _, version = policy.partition("@")
            query = query.where(decisions.c.policy_id == pid)
            if version:
                query = query.where(decisions.c.policy_version == version)
        if since is not None:
            query = query.where(decisions.c.decided_at >= datetime.combine(since, time(), UTC))
        if until is not None and until < date.max:  # the last day there is bounds nothing
            query = query.where(decisions.c.decided_at < datetime.combine(until + timedelta(days=1), time(),
                                                                            UTC))
        if after is not None:
            query = query.where(decisions.c.seq > after)
        with self.engine.connect() as connection:
            return [record(row._mapping) for row in connection.execute(query)]


# What a record is read from: the columns it shows, the time as the database gives it (SQLite: its text, read below),
# so that one row whose values were damaged in the database (it is append-only only while its triggers stand) is
# shown as unreadable, and the others still read, instead of the whole page failing in the driver.
_SHOWN = ("decision_id", "seq", "engine_version", "caller_role", "caller_token", "request", "policy_id",
          "policy_version", "policy_digest", "versions", "combined_digest", "claim_id", "outcome", "claim",
          "claim_digest", "masked", "result")
_READ = [decisions.c[name] for name in _SHOWN] + [type_coerce(decisions.c.decided_at, Text).label("decided_at")]


def record(row) -> dict:
    """A row as the API and `policy verify --database` show it. A value that cannot be read (JSON that is not, a
    time that is none) is null, and `unreadable` says which."""
    damaged: list[str] = []

    def parsed(name: str):
        try:
            return orjson.loads(row[name])
        except (orjson.JSONDecodeError, TypeError):
            damaged.append(name)
            return None

    decided_at = row["decided_at"]
    if isinstance(decided_at, str):  # SQLite keeps the text it was given
        try:
            decided_at = datetime.fromisoformat(decided_at)
        except ValueError:
            decided_at = None
    if isinstance(decided_at, datetime):
        if decided_at.tzinfo is None:  # SQLite keeps no zone: every time in the log is written in UTC
            decided_at = decided_at.replace(tzinfo=UTC)
        decided_at = decided_at.isoformat()
    else:
        damaged.append("decided_at")
        decided_at = None
    found = {
        "decision_id": row["decision_id"],
        "seq": row["seq"],
        "decided_at": decided_at,
        "engine_version": row["engine_version"],
        "caller": {"role": row["caller_role"], "token": row["caller_token"]},
        "request": parsed("request"),
        "policy": {"id": row["policy_id"], "version": row["policy_version"], "digest": row["policy_digest"]},
        "versions": parsed("versions"),
        "combined_digest": row["combined_digest"],
        "claim_id": row["claim_id"],
        "outcome": row["outcome"],
        "claim": row["claim"] if isinstance(row["claim"], str) else None,  # JSON text, read with the claim reader
        "claim_digest": row["claim_digest"],
        "masked": parsed("masked"),
        "result": parsed("result"),
    }
    if found["claim"] is None:
        damaged.append("claim")
    if damaged:
        found["unreadable"] = msg("the log's {columns} of this decision cannot be read (changed in the database?)",
                                  columns=", ".join(sorted(damaged)))
    return found

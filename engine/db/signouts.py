"""Signed-out web sessions (table `signed_out_sessions`): what makes a signed session cookie stop working before it
expires, on every worker of the service, since they share the database."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.db.tables import signed_out_sessions


class SignedOut:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, session_id: str, expires_at: datetime) -> None:
        """Record a session as signed out until it would have expired; forget those past that."""
        with self.engine.begin() as connection:
            connection.execute(delete(signed_out_sessions).where(signed_out_sessions.c.expires_at < datetime.now(UTC)))
            try:
                with connection.begin_nested():
                    connection.execute(insert(signed_out_sessions).values(session_id=session_id,
                                                                          expires_at=expires_at))
            except IntegrityError:  # signed out twice (two tabs): once is enough
                pass

    def __contains__(self, session_id: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.execute(select(signed_out_sessions.c.session_id)
                                       .where(signed_out_sessions.c.session_id == session_id)).first()
        return found is not None

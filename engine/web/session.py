"""Who is reading a page: a browser signs in once with its bearer token and keeps a signed session cookie.

The cookie holds the token's id (never the token), when it expires and a random nonce, signed with the
service's session key (HMAC-SHA256); the roles are looked up again on every request, so a token removed
from the tokens file stops its sessions at the next start. Signing out records the session's nonce in the
service's database until the cookie would have expired (engine.db.signouts), so a copied or kept cookie stops
working at once, on every worker. Without a tokens file every reader of a
loopback service has every role, as every API caller has, and the cookie only carries the CSRF secret.
Forms carry a CSRF token derived from the cookie, so another site cannot post in the reader's name.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from engine.core.records import dataclass
from engine.db.signouts import SignedOut
from engine.service.auth import LOCAL, Caller, Tokens, token_id


class SessionsUnknown(Exception):
    """Whether a session was signed out cannot be read: the database is down."""


COOKIE = "policy_session"
LIFETIME = 8 * 3600  # a working day; then the reader signs in again
ANONYMOUS = "-"


@dataclass(frozen=True)
class Session:
    value: str  # the cookie as sent
    who: str  # a token id, or ANONYMOUS
    nonce: str = ""  # the session's own id: what signing out records
    expires: int = 0  # when the cookie stops working (seconds since the epoch)


class Sessions:
    def __init__(self, key: bytes, tokens: Tokens | None, signed_out: SignedOut | None = None):
        self.key = key
        self.tokens = tokens
        self.by_id = {token_id(t): roles for t, roles in tokens.by_token.items()} if tokens else {}
        self.signed_out = signed_out  # the sessions signed out before they expired (in the service's database)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, who: str = ANONYMOUS) -> Session:
        expires, nonce = int(time.time()) + LIFETIME, secrets.token_hex(16)
        payload = f"{who}.{expires}.{nonce}"
        return Session(f"{payload}.{self._sign(payload)}", who, nonce, expires)

    def read(self, value: str | None) -> Session | None:
        """The session a cookie holds, or None when it is forged, expired or unreadable."""
        if not value or value.count(".") != 3:
            return None
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        who, expires, nonce = payload.split(".")
        if not expires.isdigit() or int(expires) < time.time():
            return None
        return Session(value, who, nonce, int(expires))

    def caller(self, session: Session | None) -> Caller | None:
        """Who a session is signed in as, or None: not signed in, its token removed, or signed out. Raises
        SessionsUnknown when whether it was signed out cannot be read (the database is down)."""
        if self.tokens is None:
            return LOCAL
        if session is None or session.who not in self.by_id:
            return None
        if self.signed_out is not None:
            try:
                if session.nonce in self.signed_out:
                    return None
            except SQLAlchemyError as exc:
                raise SessionsUnknown(exc) from None
        roles = self.by_id[session.who]
        return Caller(next(iter(sorted(roles))), roles, session.who)

    def sign_in(self, token: str) -> Session | None:
        """A session for a known token (None for an unknown one)."""
        if self.tokens is None:
            return self.issue()
        found = self.tokens.caller(f"Bearer {token.strip()}")
        return self.issue(found.token_id) if found and found.token_id else None

    def sign_out(self, session: Session | None) -> None:
        """End a signed-in session before its cookie expires: on every worker, since they share the database."""
        if session is None or session.who == ANONYMOUS or self.signed_out is None:
            return
        try:
            self.signed_out.add(session.nonce, datetime.fromtimestamp(session.expires, UTC))
        except SQLAlchemyError as exc:
            raise SessionsUnknown(exc) from None

    def csrf(self, session: Session) -> str:
        return self._sign("csrf:" + session.value)

    def csrf_ok(self, session: Session | None, sent: str | None) -> bool:
        return session is not None and bool(sent) and hmac.compare_digest(self.csrf(session), sent or "")

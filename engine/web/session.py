"""Who is reading a page: a browser signs in once with its bearer token and keeps a signed session cookie.

The cookie holds the token's id (never the token), when it expires and a random nonce, signed with the
service's session key (HMAC-SHA256); the roles are looked up again on every request, so a token removed
from the tokens file stops its sessions at the next start. Without a tokens file every reader of a
loopback service has every role, as every API caller has, and the cookie only carries the CSRF secret.
Forms carry a CSRF token derived from the cookie, so another site cannot post in the reader's name.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from engine.core.records import dataclass
from engine.service.auth import LOCAL, Caller, Tokens, token_id

COOKIE = "policy_session"
LIFETIME = 8 * 3600  # a working day; then the reader signs in again
ANONYMOUS = "-"


@dataclass(frozen=True)
class Session:
    value: str  # the cookie as sent
    who: str  # a token id, or ANONYMOUS


class Sessions:
    def __init__(self, key: bytes, tokens: Tokens | None):
        self.key = key
        self.tokens = tokens
        self.by_id = {token_id(t): roles for t, roles in tokens.by_token.items()} if tokens else {}

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, who: str = ANONYMOUS) -> Session:
        payload = f"{who}.{int(time.time()) + LIFETIME}.{secrets.token_hex(8)}"
        return Session(f"{payload}.{self._sign(payload)}", who)

    def read(self, value: str | None) -> Session | None:
        """The session a cookie holds, or None when it is forged, expired or unreadable."""
        if not value or value.count(".") != 3:
            return None
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        who, expires, _nonce = payload.split(".")
        if not expires.isdigit() or int(expires) < time.time():
            return None
        return Session(value, who)

    def caller(self, session: Session | None) -> Caller | None:
        if self.tokens is None:
            return LOCAL
        if session is None or session.who not in self.by_id:
            return None
        roles = self.by_id[session.who]
        return Caller(next(iter(sorted(roles))), roles, session.who)

    def sign_in(self, token: str) -> Session | None:
        """A session for a known token (None for an unknown one)."""
        if self.tokens is None:
            return self.issue()
        found = self.tokens.caller(f"Bearer {token.strip()}")
        return self.issue(found.token_id) if found and found.token_id else None

    def csrf(self, session: Session) -> str:
        return self._sign("csrf:" + session.value)

    def csrf_ok(self, session: Session | None, sent: str | None) -> bool:
        return session is not None and bool(sent) and hmac.compare_digest(self.csrf(session), sent or "")

"""Who is calling: bearer tokens mapped to roles by a YAML file, or, with no token file, anyone on loopback.

The tokens file maps each token to a role or a list of roles:

    s3cr3t-for-the-case-system: developer
    another-long-random-token: [auditor, officer]

A token is known in the log only by its id: the first 12 hex digits of its sha256.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import date
from pathlib import Path

import yaml

from engine.core.i18n import msg
from engine.core.records import dataclass

ROLES = ("developer", "officer", "auditor", "admin")
MIN_TOKEN_LENGTH = 16


class TokensError(ValueError):
    pass


@dataclass(frozen=True)
class Caller:
    role: str  # the role recorded in the log: the one the endpoint needed, or "local" without tokens
    roles: frozenset
    token_id: str | None

    def may(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


LOCAL = Caller("local", frozenset(ROLES), None)


def loopback_name(host: str) -> bool:
    """Whether a host name or address is this machine's loopback: `localhost`, 127.0.0.0/8, ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class _RepeatedToken(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice: a token listed twice would silently keep only its last
    roles (the first, say `developer`, lost without a word)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise _RepeatedToken(seen[key], key_node.start_mark.line + 1)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


@dataclass
class Tokens:
    by_token: dict  # token -> frozenset of roles

    @classmethod
    def load(cls, path: Path) -> Tokens:
        try:
            data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - safe
        except _RepeatedToken as exc:
            raise TokensError(msg("{path}: a token is given twice (lines {first} and {second}): say each token's "
                                  "roles once, as a list if it has several", path=str(path), first=exc.args[0],
                                  second=exc.args[1])) from None
        except OSError as exc:
            raise TokensError(msg("cannot read the tokens file {path}: {reason}", path=str(path),
                                  reason=exc.strerror)) from None
        except yaml.YAMLError as exc:
            raise TokensError(msg("the tokens file {path} is not YAML: {reason}", path=str(path),
                                  reason=str(exc))) from None
        if not isinstance(data, dict) or not data:
            raise TokensError(msg("the tokens file {path} must map each token to a role ({roles})", path=str(path),
                                  roles=", ".join(ROLES)))
        by_token = {}
        for token, roles in data.items():
            shown = f"{str(token)[:4]}…"  # a secret: never printed whole, whatever YAML read it as
            if not isinstance(token, str):
                kind = msg("a boolean") if isinstance(token, bool) else msg("a number") \
                    if isinstance(token, int | float) else msg("a date") if isinstance(token, date) else msg("no text")
                raise TokensError(msg("{path}: token {token} is read by YAML as {kind}, not text: quote it",
                                      path=str(path), token=shown, kind=kind))
            if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or " " in token:
                raise TokensError(msg("{path}: token {token} must be text of at least {count} characters, "
                                      "without spaces", path=str(path), token=shown, count=MIN_TOKEN_LENGTH))
            roles = [roles] if isinstance(roles, str) else roles
            if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
                raise TokensError(msg("{path}: token {token} has role {role}; roles are {roles}", path=str(path),
                                      token=shown, role=repr(data[token]), roles=", ".join(ROLES)))
            by_token[token] = frozenset(roles)
        return cls(by_token)

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller a header `Authorization: Bearer TOKEN` names, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        token = token.strip()
        for known, roles in self.by_token.items():  # compare every token in constant time
            if hmac.compare_digest(known.encode(), token.encode()):
                return Caller(next(iter(sorted(roles))), roles, token_id(known))
        return None

"""Every answer that is not a result: one shape, {"error": {"code", "message", ...}}, with its HTTP status.

The message is in the language the request asks for with its Accept-Language header: 简体中文 when it prefers
Chinese (`zh`, `zh-CN`, `zh-Hans`, …) to English, else English, as `policy --lang zh|en` chooses for the command
line. The code, the `location` and everything else in the body are the same in every language.
"""
from __future__ import annotations

import orjson
from starlette.responses import Response

from engine.core.i18n import Message, msg, speaking, tr


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, **self.details)


def error_json(code: str, message: str, **details) -> dict:
    """The error object of a body or of a batch's line, its message in the request's language."""
    shown = tr(message) if isinstance(message, Message) else message
    return {"code": code, "message": shown} | {k: v for k, v in details.items() if v is not None}


def error_response(status: int, code: str, message: str, headers: dict | None = None, **details) -> Response:
    body = {"error": error_json(code, message, **details)}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def bad_request(location: str, message: str) -> ServiceError:
    """A malformed request: 422 naming the part of it that is wrong (`location`; `field`, its older name, too)."""
    return ServiceError(422, "request.invalid", msg("{what}: {message}", what=location, message=message),
                        location=location, field=location)


def policy_filter(location: str, value: str | None) -> str | None:
    """A query's `policy=ID` or `ID@VERSION`, or None when not given; empty, or a pin left empty (`ID@`), is 422
    (it would otherwise match nothing, or everything, without saying so)."""
    if value is None:
        return None
    if not value.strip():
        raise bad_request(location, msg("give a policy, ID or ID@VERSION, or leave {name} out", name=location))
    if value.endswith("@"):
        raise bad_request(location, msg("{value} names no version after its @ (write ID or ID@VERSION)",
                                        value=repr(value)))
    if value.startswith("@"):
        raise bad_request(location, msg("{value} names no policy before its @ (write ID or ID@VERSION)",
                                        value=repr(value)))
    return value


def said(exc: BaseException) -> str:
    """What an exception says: the msg() it was raised with when it was (so it is shown in the request's language)."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


# Starlette's words for a request no route answers
ROUTE_WORDS = {"Not Found": msg("no such route"), "Method Not Allowed": msg("this route does not take that method")}


def language_of(accept_language: str | None) -> str:
    """zh when an Accept-Language header prefers Chinese to English (by its q values; the first of equals), else en:
    no header, `*`, or only other languages is English."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-", 1)[0].lower()
        if primary in ("zh", "en") and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else "en"


class SpokenLanguage:
    """An ASGI middleware: everything a request's answer says is made and shown in the language its
    Accept-Language asks for (engine.core.i18n.speaking, for this request only). The web pages choose their own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"accept-language"),
                      None)
        with speaking(language_of(header)):
            await self.app(scope, receive, send)


ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "What went wrong, the same in every language."},
            "message": {"type": "string",
                        "description": "What went wrong in words: 简体中文 when the request's Accept-Language prefers "
                                       "Chinese, else English."},
            "location": {"type": "string",
                         "description": "The part of the request that is wrong (422, 413): a field of the body, a "
                                        "query parameter, a header, or `body`."},
            "field": {"type": "string", "deprecated": True,
                      "description": "Deprecated: the same as `location` (422, 413), kept for clients written "
                                     "before it."},
            "diagnostics": {"type": "array", "items": {"type": "object"},
                            "description": "The errors of the policy files (as `policy check --format json`)."},
            "retry": {"type": "boolean", "description": "True when the same request may succeed later (503)."},
        }}},
}

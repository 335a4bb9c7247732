"""Every answer that is not a result: one shape, {"error": {"code", "message", ...}}, with its HTTP status."""
from __future__ import annotations

import orjson
from starlette.responses import Response

from engine.core.i18n import msg


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, **self.details)


def error_response(status: int, code: str, message: str, headers: dict | None = None, **details) -> Response:
    body = {"error": {"code": code, "message": message} | {k: v for k, v in details.items() if v is not None}}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def bad_request(field: str, message: str) -> ServiceError:
    """A malformed request: 422 naming the field."""
    return ServiceError(422, "request.invalid", msg("{what}: {message}", what=field, message=message), field=field)


ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"type": "string", "description": "The part of the request that is malformed (422)."},
            "diagnostics": {"type": "array", "items": {"type": "object"},
                            "description": "The errors of the policy files (as `policy check --format json`)."},
        }}},
}

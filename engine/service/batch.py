"""JSON Lines in, JSON Lines out, streamed both ways: claims are decided, logged and answered group by
group as they arrive; a client that goes away stops the work at the next group.

The status line waits for the first group: when its rows cannot be logged the answer is a plain 503.
After that, a failure ends the stream with one line {"error": ...} in place of the claims not decided.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from starlette.responses import Response

from engine.claims.reader import BOM, RawClaim, read_lines
from engine.core.limits import LIMITS
from engine.service.errors import ServiceError, error_json

GROUP = 128  # claims decided and committed together at most


class BatchResponse(Response):
    """An ASGI response that reads the request body itself, line by line, as it comes."""

    media_type = "application/x-ndjson"

    def __init__(self, decide_lines: Callable[[list[RawClaim]], Awaitable[bytes]]):
        super().__init__(media_type=self.media_type)
        self.decide_lines = decide_lines

    async def __call__(self, scope, receive, send) -> None:
        started = False
        gone: asyncio.Future | None = None  # once the body is read: completes when the client disconnects

        async def emit(data: bytes) -> None:
            nonlocal started
            if not started:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/x-ndjson")]})
                started = True
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})

        try:
            async for raws in self._groups(receive):
                if raws is None:  # the body is complete: from now on, watch for the client leaving
                    gone = asyncio.ensure_future(receive())
                    continue
                if gone is not None and gone.done():
                    return
                try:
                    data = await self.decide_lines(raws)
                except ServiceError as exc:
                    if not started:
                        await exc.response()(scope, receive, send)
                        return
                    await emit(orjson.dumps({"error": error_json(exc.code, exc.message, **exc.details)}) + b"\n")
                    break
                await emit(data)
            await emit(b"")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if gone is not None:
                gone.cancel()

    async def _groups(self, receive):
        """Groups of at most GROUP claims as lines arrive; None once the body has been read; stops when the
        client disconnects while sending."""
        tail = b""
        number = 0
        more = True
        at_start = True  # a byte order mark the body starts with is no part of its first line
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            more = message.get("more_body", False)
            data = tail + message.get("body", b"")
            if at_start:
                if more and len(data) < len(BOM):
                    tail = data  # too little yet to tell
                    continue
                data, at_start = data.removeprefix(BOM), False
            pieces = data.split(b"\n")
            tail = pieces.pop()
            ended = True  # every piece had its line feed
            if not more and tail:
                pieces.append(tail)
                tail = b""
                ended = False
            # a line longer than the limit keeps only enough bytes to be known as too long
            lines = [piece[:LIMITS.claim_line_bytes + 1] for piece in pieces]
            tail = tail[:LIMITS.claim_line_bytes + 1]
            raws = list(read_lines(lines, "<request>", number + 1, last_ended=ended))
            number += len(lines)
            if not more:
                yield None
            for start in range(0, len(raws), GROUP):
                yield raws[start:start + GROUP]

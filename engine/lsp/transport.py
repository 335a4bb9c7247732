"""The language server's stdio loop, in place of pygls' own: the framing and the protocol's rules are kept here, so
that no message an editor (or a broken one) sends goes unanswered or stops the server.

pygls' loop reads a body of whatever length the header says (a huge Content-Length ran out of memory), gives no
answer to a body that is not JSON, to a request whose params do not fit its method, or to a request after
`shutdown`, and answers one sent before `initialize` with a traceback. Here each of them gets the JSON-RPC error
the specification names, and the messages themselves are handled by pygls as before."""
from __future__ import annotations

import json
import logging
from typing import BinaryIO

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter

from engine.core.i18n import tr
from engine.core.limits import LIMITS

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, SERVER_NOT_INITIALIZED = \
    -32700, -32600, -32601, -32602, -32002
_HEADER_LINE_BYTES = 1024
_HEADER_LINES = 32

logger = logging.getLogger("engine.lsp")


def message_limit() -> int:
    """The longest message taken: a policy file at its limit, with every character escaped as JSON may escape it."""
    return 8 * LIMITS.policy_file_bytes + (1 << 20)


class _Stream:
    """Standard input read as frames: a block of header lines, then a body of the length the headers give."""

    def __init__(self, stdin: BinaryIO):
        self.stdin = stdin
        self.pending: bytes | None = None  # a header line found while looking for the next message

    def _line(self) -> bytes:
        if self.pending is not None:
            line, self.pending = self.pending, None
            return line
        return self.stdin.readline(_HEADER_LINE_BYTES)

    def headers(self) -> dict[str, str] | None:
        """The next block of headers (names in lower case), or None at the end of input."""
        found: dict[str, str] = {}
        for _ in range(_HEADER_LINES):
            line = self._line()
            if not line:
                return None
            if not line.strip():
                if found:
                    return found
                continue  # blank lines between messages
            name, colon, value = line.decode("latin-1").partition(":")
            if colon:
                found[name.strip().lower()] = value.strip()
        return found  # a block too long to be headers: answered as one without a length

    def body(self, size: int) -> bytes | None:
        data = self.stdin.read(size)
        return data if data is not None and len(data) == size else None

    def resync(self) -> bool:
        """Read on to the next message's headers (`Content-Length:`), past a body that was not taken or has no
        length. False when input ends first."""
        while True:
            line = self.stdin.readline(_HEADER_LINE_BYTES)
            if not line:
                return False
            at = line.lower().find(b"content-length:")
            if at >= 0:  # also where a body with no line end of its own ran into the next message's headers
                self.pending = line[at:]
                return True


def serve(server, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer messages until `exit` or the end of input; the exit code the specification gives: 0 after `shutdown`,
    else 1."""
    protocol = server.protocol
    writer = StdoutWriter(stdout)
    protocol.set_writer(writer)
    stream = _Stream(stdin)
    initialized = shut_down = False

    def error(msg_id, code: int, message: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}).encode()
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        logger.warning("%s", message)

    while (headers := stream.headers()) is not None:
        length = headers.get("content-length", "")
        if not length.isdigit():
            refused = tr("a message needs a Content-Length header giving its length in bytes")
        elif int(length) > message_limit():
            refused = tr("a message of {size} bytes is longer than the {limit} bytes taken", size=length,
                         limit=message_limit())
        else:
            refused = None
        if refused is not None:
            error(None, INVALID_REQUEST, refused)
            if not stream.resync():
                break
            continue
        body = stream.body(int(length))
        if body is None:  # input ended inside the body
            break
        try:
            data = json.loads(body)
        except ValueError as exc:  # not UTF-8, or not JSON
            error(None, PARSE_ERROR, tr("the message is not JSON: {reason}", reason=str(exc)))
            continue
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            error(data.get("id") if isinstance(data, dict) else None, INVALID_REQUEST,
                  tr('a message is a JSON object with "jsonrpc": "2.0"'))
            continue
        method, msg_id = data.get("method"), data.get("id")
        if ("method" in data and not isinstance(method, str)) or ("method" not in data and "result" not in data
                                                                  and "error" not in data):
            # neither a request, a notification nor a response: answered, so that no caller waits for ever
            error(msg_id, INVALID_REQUEST, tr('a message has a "method" (a text), or is a response with "result" or '
                                              '"error"'))
            continue
        request = "id" in data and isinstance(method, str)
        if request and not _known(protocol, str(method)):
            error(msg_id, METHOD_NOT_FOUND, tr("the server has no method {method}", method=method))
            continue
        if request and initialized and method == lsp.INITIALIZE:
            error(msg_id, INVALID_REQUEST, tr("the server is initialized already: initialize is sent once"))
            continue
        if request and not initialized and method != lsp.INITIALIZE:
            error(msg_id, SERVER_NOT_INITIALIZED, tr("the server is not initialized: send initialize first"))
            continue
        if shut_down and method != lsp.EXIT:
            if request:
                error(msg_id, INVALID_REQUEST, tr("the server is shutting down: only exit is taken now"))
            continue
        try:
            message = protocol.structure_message(data)
        except JsonRpcException:
            if request:
                error(msg_id, INVALID_PARAMS, tr("the params of {method} are not what it takes", method=method))
            continue
        try:
            protocol.handle_message(message)
        except SystemExit as exc:  # `exit`: pygls ends the process with the code the specification gives
            return exc.code if isinstance(exc.code, int) else 0
        if request and method == lsp.INITIALIZE:
            initialized = True
        elif request and method == lsp.SHUTDOWN:
            shut_down = True
    return 0 if shut_down else 1  # input ended without `exit`


def _known(protocol, method: str) -> bool:
    """Whether the server has a handler for `method` (a request for any other is MethodNotFound, said here in the
    chosen language before its params are looked at)."""
    features = protocol.fm
    return method in features.builtin_features or method in features.features

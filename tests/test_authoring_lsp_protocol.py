"""`policy lsp` as the protocol has it, byte by byte over stdio: every request answered (the JSON-RPC error the
specification names for a broken message, a request before initialize or after shutdown), no traceback sent, the
exit code of `exit`, and positions in the UTF-16 units the server announces."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pygls.uris import from_fs_path

from tests.authoring_demo import POLICY, write_store

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # each test starts a server process


class Editor:
    """A client that writes frames as they come, answers nothing, and reads every message the server sends."""

    def __init__(self, policies: Path):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--policies", str(policies), "lsp"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.received: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.process.stdout
        while True:
            headers = {}
            while (line := out.readline()).strip():
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            if not headers:
                self.received.put(None)
                return
            self.received.put(json.loads(out.read(int(headers["content-length"]))))

    def raw(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode()
        self.raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params=None) -> int:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def answer(self, msg_id, timeout: float = 60) -> dict:
        """The response to `msg_id` (None: an error about a message that had no id), skipping notifications."""
        while True:
            message = self.received.get(timeout=timeout)
            assert message is not None, "the server closed its output"
            if "method" not in message and message.get("id") == msg_id:
                return message

    def diagnostics(self, timeout: float = 60) -> list:
        while True:
            message = self.received.get(timeout=timeout)
            assert message is not None, "the server closed its output"
            if message.get("method") == "textDocument/publishDiagnostics":
                return message["params"]["diagnostics"]

    def initialize(self) -> dict:
        result = self.answer(self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}))
        self.send({"method": "initialized", "params": {}})
        return result["result"]

    def finish(self) -> tuple[int, str]:
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        return code, self.process.stderr.read().decode()


def test_every_broken_message_is_answered_and_the_server_keeps_serving(tmp_path):
    editor = Editor(write_store(tmp_path))
    early = editor.answer(editor.request("textDocument/hover", {
        "textDocument": {"uri": "file:///x.yaml"}, "position": {"line": 0, "character": 0}}))
    assert early["error"]["code"] == -32002  # ServerNotInitialized
    editor.initialize()
    editor.raw(b"Content-Length: 99999999999\r\n\r\n{}")  # a length no editor sends: refused, never allocated
    assert editor.answer(None)["error"]["code"] == -32600
    editor.raw(b"Content-Length: 10\r\n\r\n{not json}")
    assert editor.answer(None)["error"]["code"] == -32700
    editor.raw(b"X-No-Length: 1\r\n\r\n{}")
    assert "Content-Length" in editor.answer(None)["error"]["message"]
    editor.send({"id": 90, "method": "textDocument/hover", "params": "not an object"})
    assert editor.answer(90)["error"]["code"] == -32602
    editor.raw(b"Content-Length: 2\r\n\r\n[]")
    assert editor.answer(None)["error"]["code"] == -32600
    # an unknown method is MethodNotFound, params or not; a message that is nothing is answered; one initialize
    for params in ({}, None):
        editor.send({"id": 91, "method": "foo/bar"} | ({"params": params} if params is not None else {}))
        unknown = editor.answer(91)["error"]
        assert unknown == {"code": -32601, "message": "the server has no method foo/bar"}
    editor.send({"id": 92, "method": 1})
    assert editor.answer(92)["error"]["code"] == -32600
    editor.send({})
    assert editor.answer(None)["error"]["code"] == -32600
    again = editor.answer(editor.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}))
    assert again["error"]["code"] == -32600 and "initialize is sent once" in again["error"]["message"]
    never_opened = editor.answer(editor.request("textDocument/hover", {
        "textDocument": {"uri": from_fs_path(str(tmp_path / "gone.yaml"))}, "position": {"line": 0, "character": 0}}))
    assert never_opened["result"] is None and "error" not in never_opened  # not read from disk, no traceback
    assert editor.answer(editor.request("shutdown"))["result"] is None
    late = editor.answer(editor.request("textDocument/hover", {
        "textDocument": {"uri": "file:///x.yaml"}, "position": {"line": 0, "character": 0}}))
    assert late["error"]["code"] == -32600
    editor.send({"method": "exit"})
    code, stderr = editor.finish()
    assert code == 0 and "Traceback" not in stderr


def test_exit_without_shutdown_is_exit_code_1(tmp_path):
    editor = Editor(write_store(tmp_path))
    editor.initialize()
    editor.send({"method": "exit"})
    assert editor.finish()[0] == 1


def test_positions_count_utf16_units_both_ways_and_closing_clears_diagnostics(tmp_path):
    """A character beyond the Basic Multilingual Plane (𠮷, in names of people and places) is two UTF-16 units: the
    columns after it on its line are counted so, in diagnostics sent and in positions received."""
    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    text = POLICY.replace("    expr: person.age >= 18", '    expr: not ("𠮷𠮷" == "x") and person.agee >= 18', 1)
    assert text != POLICY
    line = next(i for i, row in enumerate(text.split("\n")) if "person.agee" in row)
    row = text.split("\n")[line]
    editor = Editor(policies)
    assert editor.initialize()["capabilities"]["positionEncoding"] == "utf-16"
    uri = from_fs_path(str(path))
    editor.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "yaml", "version": 1, "text": text}}})
    found = [d for d in editor.diagnostics() if d["range"]["start"]["line"] == line]
    expected = len(row[:row.index("person.agee")].encode("utf-16-le")) // 2
    assert [d["range"]["start"]["character"] for d in found] == [expected], found
    assert expected == row.index("person.agee") + 2
    hover = editor.answer(editor.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": expected + 1}}))
    assert "person" in hover["result"]["contents"]["value"]
    editor.send({"method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}})
    assert editor.diagnostics() == []
    editor.answer(editor.request("shutdown"))
    editor.send({"method": "exit"})
    assert editor.finish()[0] == 0


def test_an_unsaved_new_file_is_checked_where_its_policy_and_version_put_it(tmp_path):
    """An officer's new document, not saved yet (`untitled:`): its errors while writing it, as the service's check
    of a draft gives them, the version placed by its own `policy:` and `version:`."""
    policies = write_store(tmp_path)
    text = POLICY.replace("    expr: person.age >= 18", "    expr: person.agee >= 18", 1)
    assert text != POLICY
    line = next(i for i, row in enumerate(text.split("\n")) if "person.agee" in row)
    editor = Editor(policies)
    editor.initialize()
    editor.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "untitled:Untitled-1", "languageId": "yaml", "version": 1, "text": text}}})
    found = editor.diagnostics()
    assert [(d["code"], d["range"]["start"]["line"]) for d in found] == [("name.field", line)], found
    editor.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "untitled:Untitled-2", "languageId": "yaml", "version": 1, "text": POLICY}}})
    assert editor.diagnostics() == []  # the same version as the store's, unchanged: nothing to say
    # a new version, no file of which is on disk yet: checked as the service checks such a draft
    later = text.replace('version: "2024-01-01"', 'version: "2099-01-01"').replace("from: 2024-01-01",
                                                                                "from: 2099-01-01")
    assert later != text
    editor.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "untitled:Untitled-3", "languageId": "yaml", "version": 1, "text": later}}})
    assert "name.field" in [d["code"] for d in editor.diagnostics()]
    editor.answer(editor.request("shutdown"))
    editor.send({"method": "exit"})
    assert editor.finish()[0] == 0

"""The language server (pygls) over stdio: each open policy file is checked as `policy check` checks it, on
every change, and hover, completion, go-to-definition and find-references answer from the same checked
namespace. The stdio loop is engine.lsp.transport's.

Positions: the engine counts columns in characters (code points); the protocol in the units the client and server
agreed on at initialize (UTF-16 unless both take another), so every position is converted where it crosses, with
the line it is on (a character beyond the Basic Multilingual Plane, 𠮷, is two UTF-16 units)."""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from engine.core.diagnostics import text_lines
from engine.core.i18n import tr
from engine.lsp.analysis import Analysis
from engine.lsp.transport import serve

_KINDS = {"fact": lsp.CompletionItemKind.Field, "definition": lsp.CompletionItemKind.Variable,
          "function": lsp.CompletionItemKind.Function, "table": lsp.CompletionItemKind.Struct,
          "alias": lsp.CompletionItemKind.Module, "builtin": lsp.CompletionItemKind.Function,
          "keyword": lsp.CompletionItemKind.Keyword, "clause": lsp.CompletionItemKind.EnumMember,
          "column": lsp.CompletionItemKind.Property}
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}

logger = logging.getLogger("engine.lsp")


class PolicyServer(LanguageServer):
    def __init__(self, policies: Path, schemas: Path | None):
        super().__init__("policy-lsp", "1")
        self.policies = Path(policies)
        self.schemas = Path(schemas) if schemas else None

    def analysis(self, uri: str) -> Analysis | None:
        """The open document at `uri`, checked; None for one the editor has not opened (nothing is read from disk
        in its place) or that is no policy file."""
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        path = to_fs_path(uri)
        if path is None and uri.startswith("untitled:") and document.language_id == "yaml":
            # a new file not saved yet: checked where its own policy: and version: put it, as the service's
            # check of a draft is, so that an officer sees the errors while writing it
            from engine.audit.listing import draft_place

            path = str(self.policies / draft_place(document.source.encode("utf-8", "replace")))
        if path is None or not path.endswith((".yaml", ".yml")) or path.endswith(".cases.yaml"):
            return None
        return Analysis(self.policies, self.schemas, Path(path), document.source)

    def report_server_error(self, error: Exception, source) -> None:
        """One line in the server's log, never a message box: the request itself was answered with the error."""
        logger.warning("%s: %s", type(error).__name__, error)

    # -- positions: the engine's characters ↔ the protocol's units -------------------------------------

    def units(self, line: str, characters: int) -> int:
        return self.workspace.position_codec.client_num_units(line[:max(characters, 0)])

    def characters(self, line: str, units: int) -> int:
        count = 0
        for index, char in enumerate(line):
            if count >= units:
                return index
            count += self.workspace.position_codec.client_num_units(char)
        return len(line)

    def position(self, lines: list[str], row: int, characters: int) -> lsp.Position:
        return lsp.Position(row, self.units(lines[row] if 0 <= row < len(lines) else "", characters))

    def at(self, analysis: Analysis, position: lsp.Position) -> tuple[int, int]:
        """The 0-based line and character of a position the client sent."""
        line = analysis.lines[position.line] if 0 <= position.line < len(analysis.lines) else ""
        return position.line, self.characters(line, position.character)

    def lines_of(self, file: str) -> list[str]:
        """The lines of a file a location points into: the editor's text when it is open, else the file's."""
        path = Path(file).resolve()
        document = self.workspace.text_documents.get(unquote(from_fs_path(str(path)) or ""))
        if document is not None:
            return text_lines(document.source)
        try:
            return text_lines(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            return []


def _word_end(text: str, column: int) -> int:
    """The end of the word that starts at 0-based `column` (at least one character on)."""
    end = column
    while end < len(text) and (text[end].isalnum() or text[end] in "_."):
        end += 1
    return max(end, column + 1)


def _range(ls: PolicyServer, lines: list[str], line: int, column: int, length: int = 0) -> lsp.Range:
    """From the engine's 1-based line and column to the end of the word there (or `length` characters)."""
    row, col = max(line - 1, 0), max(column - 1, 0)
    text = lines[row] if row < len(lines) else ""
    end = col + length if length else _word_end(text, col)
    return lsp.Range(ls.position(lines, row, col), ls.position(lines, row, end))


def _answering(default):
    """A feature that answers `default` where the engine fails, logged in one line: the editor is never sent a
    Python traceback."""
    def wrap(handler):
        @functools.wraps(handler)
        def run(ls, params):
            try:
                return handler(ls, params)
            except Exception as exc:  # a bug in the engine: the editor keeps working, the log says what it was
                logger.warning("%s failed: %s: %s", handler.__name__, type(exc).__name__, exc)
                return default
        return run
    return wrap


def make_server(policies: Path, schemas: Path | None) -> PolicyServer:
    server = PolicyServer(policies, schemas)

    def location(ls: PolicyServer, file: str, line: int, column: int, length: int = 0) -> lsp.Location:
        lines = ls.lines_of(file)
        return lsp.Location(uri=from_fs_path(str(Path(file).resolve())), range=_range(ls, lines, line, column, length))

    def publish(ls: PolicyServer, uri: str) -> None:
        analysis = ls.analysis(uri)
        if analysis is None:
            return
        diagnostics = []
        for d in analysis.diagnostics():
            message = tr(d.message) + (tr(" (clause {clause})", clause=d.clause) if d.clause else "")
            message += "\n" + tr("hint: {hint}", hint=tr(d.hint)) if d.hint else ""
            related = [lsp.DiagnosticRelatedInformation(
                location=location(ls, n.location.file, n.location.line, n.location.column),
                message=tr(n.message)) for n in d.notes]
            diagnostics.append(lsp.Diagnostic(range=_range(ls, analysis.lines, d.location.line, d.location.column),
                                              message=message, severity=_SEVERITY.get(d.severity),
                                              code=d.code, source="policy", related_information=related or None))
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @_answering(None)
    def did_open(ls: PolicyServer, params: lsp.DidOpenTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @_answering(None)
    def did_change(ls: PolicyServer, params: lsp.DidChangeTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @_answering(None)
    def did_save(ls: PolicyServer, params: lsp.DidSaveTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @_answering(None)
    def did_close(ls: PolicyServer, params: lsp.DidCloseTextDocumentParams):
        # the file's diagnostics go with it: `policy check` reports the file as it is on disk
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                           diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @_answering(None)
    def hover(ls: PolicyServer, params: lsp.HoverParams):
        analysis = ls.analysis(params.text_document.uri)
        text = analysis.hover(*ls.at(analysis, params.position)) if analysis else None
        if not text:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", "[", " "]))
    @_answering(lsp.CompletionList(is_incomplete=False, items=[]))
    def completion(ls: PolicyServer, params: lsp.CompletionParams):
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        items = [lsp.CompletionItem(label=c.label, kind=_KINDS.get(c.kind), detail=c.detail or None,
                                    documentation=c.documentation or None, sort_text=f"{i:05d}")
                 for i, c in enumerate(analysis.completions(*ls.at(analysis, params.position)))]
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @_answering(None)
    def definition(ls: PolicyServer, params: lsp.DefinitionParams):
        analysis = ls.analysis(params.text_document.uri)
        place = analysis.definition(*ls.at(analysis, params.position)) if analysis else None
        if place is None:
            return None
        found = location(ls, place.file, place.line, place.column)
        return lsp.Location(uri=found.uri, range=lsp.Range(found.range.start, found.range.start))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @_answering([])
    def references(ls: PolicyServer, params: lsp.ReferenceParams):
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return []
        line, character = ls.at(analysis, params.position)
        places = analysis.references(line, character, params.context.include_declaration)
        return [location(ls, p.file, p.line, p.column, max(p.length, 1)) for p in places]

    return server


def run(policies: Path, schemas: Path | None) -> int:
    """The server on this process's standard input and output, until `exit`; its exit code. Its log (one line per
    refused message or failed request) goes to standard error, which editors show as the server's output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("policy lsp: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logging.getLogger("pygls").setLevel(logging.CRITICAL)  # its tracebacks are for pygls' own debugging
    return serve(make_server(policies, schemas), sys.stdin.buffer, sys.stdout.buffer)

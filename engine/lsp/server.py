"""The language server (pygls) over stdio: each open policy file is checked as `policy check` checks it, on
every change, and hover, completion, go-to-definition and find-references answer from the same checked
namespace."""
from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from engine.core.i18n import tr
from engine.lsp.analysis import Analysis

_KINDS = {"fact": lsp.CompletionItemKind.Field, "definition": lsp.CompletionItemKind.Variable,
          "function": lsp.CompletionItemKind.Function, "table": lsp.CompletionItemKind.Struct,
          "alias": lsp.CompletionItemKind.Module, "builtin": lsp.CompletionItemKind.Function,
          "keyword": lsp.CompletionItemKind.Keyword, "clause": lsp.CompletionItemKind.EnumMember,
          "column": lsp.CompletionItemKind.Property}
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


class PolicyServer(LanguageServer):
    def __init__(self, policies: Path, schemas: Path | None):
        super().__init__("policy-lsp", "1")
        self.policies = Path(policies)
        self.schemas = Path(schemas) if schemas else None

    def analysis(self, uri: str) -> Analysis | None:
        document = self.workspace.get_text_document(uri)
        path = to_fs_path(uri)
        if path is None or not path.endswith((".yaml", ".yml")) or path.endswith(".cases.yaml"):
            return None
        return Analysis(self.policies, self.schemas, Path(path), document.source)


def _range(lines: list[str], line: int, column: int) -> lsp.Range:
    """From the 1-based line and column to the end of the word there (at least one character)."""
    row, col = max(line - 1, 0), max(column - 1, 0)
    text = lines[row] if row < len(lines) else ""
    end = col
    while end < len(text) and (text[end].isalnum() or text[end] in "_."):
        end += 1
    return lsp.Range(lsp.Position(row, col), lsp.Position(row, max(end, col + 1)))


def _note_range(note) -> lsp.Range:
    """The range of a note's word, on its own line of its own file."""
    one_line = _range([note.source_line or ""], 1, note.location.column)
    row = max(note.location.line - 1, 0)
    return lsp.Range(lsp.Position(row, one_line.start.character), lsp.Position(row, one_line.end.character))


def make_server(policies: Path, schemas: Path | None) -> PolicyServer:
    server = PolicyServer(policies, schemas)

    def publish(ls: PolicyServer, uri: str) -> None:
        analysis = ls.analysis(uri)
        if analysis is None:
            return
        diagnostics = []
        for d in analysis.diagnostics():
            message = tr(d.message) + (tr(" (clause {clause})", clause=d.clause) if d.clause else "")
            message += "\n" + tr("hint: {hint}", hint=tr(d.hint)) if d.hint else ""
            related = [lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=from_fs_path(str(Path(n.location.file).resolve())),
                                      range=_note_range(n)),
                message=tr(n.message)) for n in d.notes]
            diagnostics.append(lsp.Diagnostic(range=_range(analysis.lines, d.location.line, d.location.column),
                                              message=message, severity=_SEVERITY.get(d.severity),
                                              code=d.code, source="policy", related_information=related or None))
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PolicyServer, params: lsp.DidOpenTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PolicyServer, params: lsp.DidChangeTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PolicyServer, params: lsp.DidSaveTextDocumentParams):
        publish(ls, params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: PolicyServer, params: lsp.HoverParams):
        analysis = ls.analysis(params.text_document.uri)
        text = analysis.hover(params.position.line, params.position.character) if analysis else None
        if not text:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", "[", " "]))
    def completion(ls: PolicyServer, params: lsp.CompletionParams):
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        items = [lsp.CompletionItem(label=c.label, kind=_KINDS.get(c.kind), detail=c.detail or None,
                                    documentation=c.documentation or None, sort_text=f"{i:05d}")
                 for i, c in enumerate(analysis.completions(params.position.line, params.position.character))]
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: PolicyServer, params: lsp.DefinitionParams):
        analysis = ls.analysis(params.text_document.uri)
        place = analysis.definition(params.position.line, params.position.character) if analysis else None
        if place is None:
            return None
        position = lsp.Position(max(place.line - 1, 0), max(place.column - 1, 0))
        return lsp.Location(uri=from_fs_path(str(Path(place.file).resolve())), range=lsp.Range(position, position))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls: PolicyServer, params: lsp.ReferenceParams):
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return []
        places = analysis.references(params.position.line, params.position.character,
                                     params.context.include_declaration)
        return [lsp.Location(uri=from_fs_path(str(Path(p.file).resolve())), range=lsp.Range(
            lsp.Position(max(p.line - 1, 0), max(p.column - 1, 0)),
            lsp.Position(max(p.line - 1, 0), max(p.column - 1, 0) + max(p.length, 1)))) for p in places]

    return server

"""`policy lsp` through pygls' own client, over stdio as an editor runs it: initialize, open a document,
receive check's diagnostics, change it, hover, complete, go to definition, find references."""
from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from tests.authoring_demo import CASES, POLICY, write_store

ROOT = Path(__file__).resolve().parent.parent


def _position(text: str, needle: str, offset: int = 0) -> lsp.Position:
    for row, line in enumerate(text.split("\n")):
        if needle in line:
            return lsp.Position(row, line.index(needle) + offset)
    raise AssertionError(needle)


@contextlib.asynccontextmanager
async def _editor(policies: Path):
    """`policy lsp` started as an editor starts it, initialized: yields the client, the queue of diagnostics it is
    sent and the server's capabilities; shuts the server down afterwards."""
    client = LanguageClient("policy-test", "1")
    published: asyncio.Queue = asyncio.Queue()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(params: lsp.PublishDiagnosticsParams):
        published.put_nowait(params)

    await client.start_io(sys.executable, str(ROOT / "cli.py"), "--policies", str(policies), "lsp")
    try:
        result = await asyncio.wait_for(client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=from_fs_path(str(policies.parent)))), 60)
        client.initialized(lsp.InitializedParams())
        yield client, published, result.capabilities
        await asyncio.wait_for(client.shutdown_async(None), 60)
        client.exit(None)
    finally:
        await client.stop()


async def _session(policies: Path, path: Path) -> dict:
    received: dict = {}
    async with _editor(policies) as (client, published, capabilities):
        received["capabilities"] = capabilities
        uri = from_fs_path(str(path))
        broken = POLICY.replace("require: adult", "require: adlut")
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=broken)))
        received["open"] = await asyncio.wait_for(published.get(), 60)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text=POLICY)]))
        received["fixed"] = await asyncio.wait_for(published.get(), 60)
        document = lsp.TextDocumentIdentifier(uri=uri)
        received["hover_definition"] = await client.text_document_hover_async(
            lsp.HoverParams(document, _position(POLICY, "require: adult", 10)))
        received["hover_fact"] = await client.text_document_hover_async(
            lsp.HoverParams(document, _position(POLICY, "expr: person.age", 14)))
        received["hover_clause"] = await client.text_document_hover_async(
            lsp.HoverParams(document, _position(POLICY, "clause: 二", 8)))
        received["complete_fact"] = await client.text_document_completion_async(
            lsp.CompletionParams(document, _position(POLICY, "expr: person.age", 13)))
        received["complete_clause"] = await client.text_document_completion_async(
            lsp.CompletionParams(document, _position(POLICY, "    clause: 一", 12)))
        received["definition"] = await client.text_document_definition_async(
            lsp.DefinitionParams(document, _position(POLICY, "require: adult", 10)))
    return received


@pytest.mark.slow
def test_language_server_diagnoses_hovers_completes_and_finds_definitions(tmp_path):
    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    got = asyncio.run(_session(policies, path))
    assert got["capabilities"].hover_provider and got["capabilities"].completion_provider
    [problem] = got["open"].diagnostics
    assert problem.code == "name.unknown" and "unknown name 'adlut'" in problem.message
    assert "did you mean 'adult'?" in problem.message and "(clause 一)" in problem.message
    row = next(i for i, line in enumerate(POLICY.split("\n")) if "require: adult" in line)
    assert problem.range.start == lsp.Position(row, POLICY.split("\n")[row].index("adult"))
    assert problem.severity == lsp.DiagnosticSeverity.Error
    assert not got["fixed"].diagnostics
    hover = got["hover_definition"].contents.value
    assert "definition `adult`: `bool`" in hover and "person.age >= 18" in hover and "年满十八周岁。" in hover
    assert "fact `person.age`: `int`" in got["hover_fact"].contents.value
    assert "Age in whole years." in got["hover_fact"].contents.value
    assert "补贴标准见附表。" in got["hover_clause"].contents.value
    labels = [item.label for item in got["complete_fact"].items]
    assert labels == ["age", "level"]
    clauses = [item.label for item in got["complete_clause"].items]
    assert clauses == ["一", "二", "三"]  # in document order
    definition = got["definition"]
    target = definition[0] if isinstance(definition, list) else definition
    assert target.uri == from_fs_path(str(path.resolve()))
    assert target.range.start.line == next(i for i, line in enumerate(POLICY.split("\n")) if line == "  adult:")


CITY = """\
policy: demo/city
version: "2024-06-01"
title: 示例市补贴
effective: {from: 2024-06-01}
issued_on: 2024-05-01
source:
  number: 示例市〔2024〕1号
  title: 转发示例补贴通知
  issuers: [示例市局]
  clauses: {一: 年满十八周岁的按附表补贴。}
extends: demo/grant
outputs:
  city_amount:
    clause: 一
    expr: if adult and person.age < 60 then amounts[person.level].amount else 0
"""



async def _across_extends(policies: Path, city: Path) -> dict:
    """An editor on the city file, which extends the grant policy: go to definition and find references cross files."""
    received: dict = {}
    async with _editor(policies) as (client, published, capabilities):
        received["capabilities"] = capabilities
        uri = from_fs_path(str(city))
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=CITY)))
        received["open"] = await asyncio.wait_for(published.get(), 60)
        document = lsp.TextDocumentIdentifier(uri=uri)
        at_adult = _position(CITY, "expr: if adult", 9)
        received["definition"] = await asyncio.wait_for(client.text_document_definition_async(
            lsp.DefinitionParams(document, at_adult)), 60)
        received["table_definition"] = await asyncio.wait_for(client.text_document_definition_async(
            lsp.DefinitionParams(document, _position(CITY, "amounts[person.level]", 2))), 60)
        received["references"] = await asyncio.wait_for(client.text_document_references_async(lsp.ReferenceParams(
            context=lsp.ReferenceContext(include_declaration=True), text_document=document, position=at_adult)), 60)
        received["references_only_uses"] = await asyncio.wait_for(client.text_document_references_async(
            lsp.ReferenceParams(context=lsp.ReferenceContext(include_declaration=False), text_document=document,
                                position=at_adult)), 60)
    return received


def _places(locations) -> set:
    """(file name, 0-based line, the text the range covers) of each location an LSP answer gives."""
    out = set()
    for location in locations:
        path = Path(location.uri.removeprefix("file://"))
        line = path.read_text(encoding="utf-8").split("\n")[location.range.start.line]
        start, end = location.range.start, location.range.end
        out.add((path.name, start.line, line[start.character:end.character]))
    return out


@pytest.mark.slow
def test_language_server_goes_to_definitions_and_finds_references_across_extends(tmp_path):
    policies = write_store(tmp_path)
    grant = policies / "demo" / "grant" / "2024-01-01.yaml"
    city = policies / "demo" / "city" / "2024-06-01.yaml"
    city.parent.mkdir()
    city.write_text(CITY, encoding="utf-8")
    got = asyncio.run(_across_extends(policies, city))
    assert got["capabilities"].references_provider and got["capabilities"].definition_provider
    assert not got["open"].diagnostics
    # go to definition from the city file lands in the file it extends
    definition = got["definition"]
    target = definition[0] if isinstance(definition, list) else definition
    assert target.uri == from_fs_path(str(grant.resolve()))
    assert target.range.start.line == _line(POLICY, "  adult:")
    table = got["table_definition"]
    table = table[0] if isinstance(table, list) else table
    assert table.uri == from_fs_path(str(grant.resolve())) and table.range.start.line == _line(POLICY, "  amounts:")
    # references: the definition, its use in the grant's rule, and the use in the city's output
    uses = {(grant.name, _line(POLICY, "require: adult"), "adult"), (city.name, _line(CITY, "expr: if adult"), "adult")}
    assert _places(got["references"]) == uses | {(grant.name, _line(POLICY, "  adult:"), "adult")}
    assert _places(got["references_only_uses"]) == uses


def _found(places) -> set:
    """(file name, 0-based line, the word at the place) of each place found."""
    out = set()
    for p in places:
        line = Path(p.file).read_text(encoding="utf-8").split("\n")[p.line - 1]
        out.add((Path(p.file).name, p.line - 1, line[p.column - 1:p.column - 1 + p.length]))
    return out


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def test_references_across_extends(tmp_path, monkeypatch):
    """What the server answers textDocument/references with (engine/lsp/analysis.py; the server only wraps it)."""
    from engine.lsp.analysis import Analysis
    from engine.lsp.server import make_server

    assert make_server(tmp_path, None) is not None  # the references feature registers
    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    city = policies / "demo" / "city" / "2024-06-01.yaml"
    city.parent.mkdir()
    city.write_text(CITY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    analysis = Analysis(policies, None, path, POLICY)
    got = {name: analysis.references(position.line, position.character) for name, position in {
        "definition": _position(POLICY, "require: adult", 10),
        "column": _position(POLICY, "expr: amounts[person.level].amount", 32),
        "fact": _position(POLICY, "expr: person.age", 14),
        "rule": _position(POLICY, "- id: is_adult", 7),
        "table_key": _position(POLICY, "  amounts:", 3),
    }.items()}
    grant, town = path.name, city.name
    city_line = _line(CITY, "expr: if adult")
    assert _found(got["definition"]) == {(grant, _line(POLICY, "  adult:"), "adult"),
                                         (grant, _line(POLICY, "require: adult"), "adult"),
                                         (town, city_line, "adult")}
    assert _found(got["column"]) == {(grant, _line(POLICY, "columns: {level"), "amount"),
                                     (grant, _line(POLICY, "expr: amounts[person.level].amount"), "amount"),
                                     (grant, _line(POLICY, "amount: amounts[person.level].amount"), "amount"),
                                     (town, city_line, "amount")}
    assert _found(got["fact"]) == {(grant, _line(POLICY, "expr: person.age"), "age"), (town, city_line, "age")}
    assert _found(got["rule"]) == {(grant, _line(POLICY, "- id: is_adult"), "is_adult"),
                                   ("2024-01-01.cases.yaml", _line(CASES, "failed_rules: [is_adult]"), "is_adult")}
    table = _found(got["table_key"])
    assert (grant, _line(POLICY, "  amounts:"), "amounts") in table
    assert (grant, _line(POLICY, "require: person.level in amounts"), "amounts") in table
    assert (town, city_line, "amounts") in table


def test_after_a_pasted_line_separator_the_server_finds_what_the_editor_shows(tmp_path, monkeypatch):
    """A U+2028 in a quoted title ends a line for YAML, not in the editor (nor in the protocol): the definition of
    a name and the text under the cursor are found on the editor's lines."""
    from engine.lsp.analysis import Analysis

    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    text = POLICY.replace("title: 示例补贴\n", 'title: "示例\u2028补贴"\n', 1)
    assert text != POLICY
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    analysis = Analysis(policies, None, path, text)
    use = _position(text, "require: adult", 10)
    assert analysis.hover(use.line, use.character)
    found = analysis.definition(use.line, use.character)
    assert (found.line - 1, found.column - 1) == (_line(text, "  adult:"), 2)


def test_an_error_this_file_causes_in_another_is_shown_in_this_one(tmp_path, monkeypatch):
    """Edited to the day another version takes effect: the overlap is reported at the later file, with a note
    here; the editor of this file shows it, at the note's place, with the error's own place as related."""
    from engine.lsp.analysis import Analysis

    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    later = path.with_name("2024-07-01.yaml")
    later.write_text(POLICY.replace('version: "2024-01-01"', 'version: "2024-07-01"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    [shown] = [d for d in Analysis(policies, None, path, POLICY).diagnostics() if d.code == "version.overlap"]
    assert shown.location.file.endswith("2024-01-01.yaml")
    assert shown.location.line == _line(POLICY, "from: 2024-01-01") + 1
    assert [n.location.file.endswith("2024-07-01.yaml") for n in shown.notes] == [True]


def test_hover_and_definition_of_a_clause_of_the_document_amended(tmp_path, monkeypatch):
    """An amendment citing the earlier notice's clause (by its id, or written out with the document's number) shows
    that clause's text, and goes to where the earlier file writes it."""
    from engine.lsp.analysis import Analysis
    from tests.test_policy_composition import PARENT, expert_schema, make_store, replacing_adult

    parent = PARENT.replace("    一: First clause.\n", "    一: First clause.\n    三: Third clause.\n") \
        .replace("  - id: adult\n    clause: 一", "  - id: adult\n    clause: [一, 三]")
    text = replacing_adult('[三, "N-1 一"]')
    root = make_store(tmp_path, {"p/parent/1.yaml": parent, "p/parent/2.yaml": text}, expert_schema())
    monkeypatch.chdir(tmp_path)
    analysis = Analysis(root, root.parent / "schemas", root / "p/parent/2.yaml", text)
    row = text.split("\n").index('    clause: [三, "N-1 一"]')
    line = text.split("\n")[row]
    assert analysis.hover(row, line.index("三")) == "**三** (N-1)\n\nThird clause."
    assert analysis.hover(row, line.index("N-1 一") + 4) == "**一** (N-1)\n\nFirst clause."
    place = analysis.definition(row, line.index("三"))
    assert place is not None and place.file.endswith("1.yaml") and place.line == parent.split("\n").index(
        "    三: Third clause.") + 1

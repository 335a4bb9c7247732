"""Generated code is built from the checked tree only: officer text never changes its structure.

(a) A policy whose names, strings, messages, descriptions, table cells and fact names hold quotes,
    backslashes, newlines, bidi controls, `__import__`, triple quotes and `#` compiles to a module with
    exactly the structure (Python's syntax tree, constants aside) of the same policy written with plain
    words; so does the claim converter of a schema with such keys.
(b) Random expressions decide the same through generated code as through the closure compiler, with and
    without explanation (test_language_properties checks both against its reference interpreter).
"""
from __future__ import annotations

import ast
import functools
import json
import re
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.api import Engine
from engine.claims import convert
from engine.decide.program import Program
from engine.language.codegen import Generated
from engine.language.syntax import Literal, is_name, to_source
from engine.language.types import DATE, INT, STRING, Field, ListOf, Record
from tests.placing import policy_path
from tests.test_language_properties import SETTINGS, any_typed, claims, engine_for, to_json_claim

HOSTILE = ['"', "'", '"""', "'''", "\\", "\n", "\r", "#", "__import__('os').system('x')", "\u202e", "\u2066",
           "\x00", "\t", "{", "}", "${x}", "%s", "):\n    pass\n"]
# control characters come from HOSTILE, written as JSON escapes (a YAML file may not hold them raw)
TEXT = st.lists(st.sampled_from(HOSTILE) | st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
                                                   min_size=1, max_size=4), min_size=1, max_size=6).map("".join)
# names the language accepts: letters, digits and underscores, including __import__ and other scripts
NAME = st.sampled_from(["__import__", "_", "__builtins__", "exec", "eval", "f", "env", "tr", "MISSING", "d1",
                        "Decimal", "申请人", "在金华", "ſ", "ℌ"]).filter(is_name)


def _policy(names: list[str], texts: list[str], field: str) -> str:
    """One policy using every kind of officer text; `names` are definition names, `texts` strings."""
    first, second = names
    literal = [to_source(Literal(t, "string")) for t in texts]
    definitions = {
        first: {"clause": "c", "description": texts[0], "expr": literal[0]},
        second: {"clause": "c", "params": {"x": "string"}, "expr": f"x == {literal[1]} or x == {first}"},
    }
    rules = [{"id": "r1", "clause": "c", "require": f"{second}({field}) and has(t[{literal[2]}])",
              "message": {"pass": texts[1], "fail": texts[2]}},
             {"id": "r2", "clause": "c", "when": f"{field} != {literal[0]}",
              "require": f"count(i in items where i == {literal[1]}) >= 0", "message": {"pass": "p", "fail": texts[0]}}]
    tables = {"t": {"clause": "c", "description": texts[1], "key": ["k"], "columns": {"k": "string", "v": "string"},
                    "rows": [[texts[2], texts[0]], ["k", texts[1]]]}}
    return json.dumps({
        "policy": "test/hostile", "version": "1", "title": texts[0], "effective": {"from": "1900-01-01"},
        "issued_on": "1900-01-01", "source": {"number": texts[1], "title": texts[2], "issuers": [texts[0]],
                                              "clauses": {"c": texts[1]}},
        "input": {"schema": "t.schema.json"}, "tables": tables, "definitions": definitions, "rules": rules,
        "outputs": {"o": {"clause": "c", "description": texts[2], "expr": f"t[{field}].v ?? {literal[2]}"}},
        "notes": [{"id": "n1", "clause": "c", "text": texts[0], "when": f"{second}({literal[0]})"}],
    }, ensure_ascii=False)  # YAML reads JSON; \\u escapes carry the control characters


def _schema(field: str) -> dict:
    return {"x-claim-id": "id", "x-decision-date": "on", "type": "object", "required": ["id", "on", field],
            "properties": {"id": {"type": "string"}, "on": {"type": "string", "format": "date"},
                           field: {"type": "string"}, "items": {"type": "array", "items": {"type": "string"}}}}


def _module(names: list[str], texts: list[str], field: str, explain: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "policies").mkdir()
        (folder / "schemas").mkdir()
        (folder / "schemas" / "t.schema.json").write_text(json.dumps(_schema(field)), encoding="utf-8")
        text = _policy(names, texts, field)
        policy_path(folder / "policies", text).write_text(text, encoding="utf-8")
        engine = Engine.load(folder / "policies", folder / "schemas")
        problems = [d.render() for d in engine.check() if d.severity == "error"]
        assert problems == []
        version = engine.store.versions("test/hostile")[0]
        checked = engine._check_linked(engine.linked(version, date(2000, 1, 1)))
        linked = checked.linked
        module = Generated(checked, explain)
        expressions = [e for r in linked.rules for e in (r.when, r.require) if e is not None]
        expressions += [o.expr for o in linked.outputs.values()] + [n.when for n in linked.notes if n.when]
        for i, expression in enumerate(expressions):
            module.add(i, expression.tree, linked)
        module.build()  # compiles and runs: a syntax the structure did not foresee would fail here
        return module.generator.source()


def _structure(source: str) -> str:
    """The module's syntax tree with every constant replaced by its type: what the code does, not its data."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = type(node.value).__name__
    return ast.dump(tree, include_attributes=False)


@functools.cache
def _plain(explain: bool) -> str:
    """The module of a policy with plain names and texts (built when first compared: collecting costs nothing)."""
    return _module(["a", "b"], ["x", "y", "z"], "s", explain)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # an example takes a policy load: no slow shrinking
@given(names=st.lists(NAME, min_size=3, max_size=3, unique=True), texts=st.lists(TEXT, min_size=3, max_size=3),
       explain=st.booleans())
def test_officer_text_never_changes_the_structure_of_generated_code(names, texts, explain):
    source = _module(names[:2], texts, names[2], explain)
    assert _structure(source) == _structure(_plain(explain))
    assert _identifiers(source) <= _identifiers(_plain(explain)) | {
        name for name in _identifiers(source) if MADE_UP.fullmatch(name)}


MADE_UP = re.compile(r"[a-zA-Z]{1,2}[0-9]+(_run)?")  # the generator's counters: e3, d12, t40, m7_run, ...


def _identifiers(source: str) -> set[str]:
    """Every name the module reads, writes, defines or takes as a parameter."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
    return found


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(TEXT, min_size=3, max_size=3, unique=True))
def test_schema_keys_never_change_the_structure_of_the_claim_converter(keys):
    def record(names):
        return Record("r", (Field(names[0], DATE), Field(names[1], ListOf(Record("i", (Field(names[2], INT),)))),
                            Field(names[2], STRING, optional=True)))

    def structure(names):
        writer = convert._Writer()
        writer.record(record(names))
        return _structure(writer.source())

    assert structure(keys) == structure(["a", "b", "c"])
    facts = convert.generate(record(keys), str)({keys[0]: "2024-02-29", keys[1]: [{keys[2]: 80.0}]})
    assert facts == {keys[0]: date(2024, 2, 29), keys[1]: [{keys[2]: 80}]}


@settings(**{**SETTINGS, "max_examples": 100})
@given(trees=st.lists(any_typed(), min_size=1, max_size=3), facts=st.lists(claims(), min_size=1, max_size=3),
       explain=st.booleans())
def test_generated_code_decides_as_the_closure_compiler(trees, facts, explain):
    with tempfile.TemporaryDirectory() as tmp:
        engine = engine_for(Path(tmp), [to_source(tree) for _, tree in trees])
        version = engine.store.versions("test/policy")[0]
        checked = engine._check_linked(engine.linked(version, date(2000, 1, 1)))
        generated, closures = Program(checked, explain), Program(checked, explain, generated=False)
        assert (generated.backend, closures.backend) == ("generated", "closures")
        reader = engine.evaluator("test/policy")._reader(version)
        for claim in facts:
            data, error = reader.facts(reader_raw(to_json_claim(claim)))
            assert error is None
            a = generated.decide(data, data["on"], "c")
            b = closures.decide(data, data["on"], "c")
            assert a.to_json() == b.to_json()
            assert [r.reads for r in a.rules] == [r.reads for r in b.rules]


def reader_raw(data):
    from engine.claims.reader import RawClaim

    return RawClaim(data, "<claim>")

"""Random hostile input never lets an exception escape (issue 7).

- text → engine.language.syntax.parse: an Expr, or DiagnosticError;
- bytes or text → engine.policies.yamlsource.read_yaml: a Document, or DiagnosticError;
- any JSON value as a claim → Evaluator.evaluate: a Decision or a ClaimError, which can be written out;
- JSON Lines bytes → engine.claims.reader.read_claims + Evaluator.evaluate_raw: one result per claim, in order.

Tests marked xfail(strict=True, reason="bug: ...") pin engine bugs that the properties found; until they are
fixed the properties left out the inputs that trigger them; they are all included now.
"""
from __future__ import annotations

import copy
import io
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.api import Engine
from engine.claims.reader import read_claims
from engine.core.diagnostics import DiagnosticError
from engine.decide import batch
from engine.decide.results import ClaimError, Decision
from engine.language.syntax import Expr, parse
from engine.policies.yamlsource import Document, read_yaml

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
GOOD = json.loads((ROOT / "tests" / "hostile" / "claims" / "good.json").read_text(encoding="utf-8"))

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=1)
def evaluator():
    return Engine.load(ROOT / "policies", ROOT / "schemas").evaluator(POLICY)


def writable(result) -> None:
    """The result must be a Decision or ClaimError that both output formats can write."""
    assert isinstance(result, (Decision, ClaimError)), type(result)
    for fmt in (batch.OutputFormat("json"), batch.OutputFormat("json", summary=True), batch.OutputFormat("text")):
        batch.render(result, fmt)


# -------------------------------------------------------------------------------------------------
# The expression parser

TOKENS = ["(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "??", "==", "!=", "<", "<=", ">", ">=", "and", "or",
          "not", "in", "if", "then", "else", "any", "all", "count", "filter", "sum", "for", "where", "true", "false",
          "null", "x", "history", "applicant.birth_date", "在金华", "1", "0",
          "99999999999999999999999999999999999999999",
          "1.5", "2024-02-29", "2023-02-29", "9999-99-99", '"s"', "'t'", '"\\u12"', '"\\q"', '"', "'", "#", "\n",
          " ", "\t", "\x00", "\ud7ff", "é", "_", "$", "`", "\\"]


@settings(max_examples=300, **SETTINGS)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)))
@example("(" * 5000 + "1" + ")" * 5000)
@example("[" * 5000 + "]" * 5000)
@example("-" * 10_000 + "1")
@example("not " * 3000 + "true")
@example("x" + ".y" * 6000)
@example("f" + "(1)" * 5000)
@example("1" * 100_000)
@example("(" * 30_000)
def test_parse_gives_a_tree_or_a_diagnostic(text):
    try:
        tree = parse(text)
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.message for d in exc.diagnostics)
    else:
        assert isinstance(tree, Expr)


# -------------------------------------------------------------------------------------------------
# The YAML reader


def _without_known_bugs(text: str) -> str:
    return text  # control characters, bad explicit tags and lone surrogates are all refused cleanly now

YAML_TOKENS = ["a", "b", ":", ": ", "- ", "? ", "[", "]", "{", "}", ",", "&x", "*x", "&y", "*y", "!!str ", "!!int ",
               "!!python/object/apply:os.system ", "!tag ", "<<: ", "|", ">", "'", '"', "#", "\n", "  ", "    ",
               "---", "...", "%YAML 1.1\n", "~", "null", "1e3", "0x1F", "0o17", "1_000", ".inf", ".nan", "190:20:30",
               "2023-02-29", "yes", "no", "on", "金华", "\t", "\\", "%", "@", "`"]


def _yaml_text():
    return st.one_of(st.text(max_size=300), st.lists(st.sampled_from(YAML_TOKENS), max_size=80).map("".join))


def _read(data):
    try:
        doc = read_yaml(data, "random.yaml")
    except DiagnosticError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.location.file == "random.yaml" and d.message
        return
    assert isinstance(doc, Document)
    json.dumps(doc.value, default=str)  # plain data only


@settings(max_examples=300, **SETTINGS)
@given(_yaml_text())
@example("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
@example("[" * 10_000 + "]" * 10_000)
@example("- " * 3000 + "x")
def test_read_yaml_text_gives_a_document_or_a_diagnostic(text):
    text = _without_known_bugs(text)
    _read(text)
    _read(text.encode("utf-8"))


@settings(max_examples=200, **SETTINGS)
@given(st.binary(max_size=300))
@example(b"\xef\xbb\xbfa: 1\n")
@example(b"a: \xff\n")
@example(b"\xfe\xff\x00a")
@example(b"\r\r'")  # YAML counts a lone CR as a line break: the error's line was past the lines split at "\n"
@example(b"a: 1\r\n\x85b: [")
def test_read_yaml_bytes_gives_a_document_or_a_diagnostic(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        data = _without_known_bugs(text).encode("utf-8")
    _read(data)


@pytest.mark.parametrize("text", ["!!int", "a: !!int", "a: !!int '-'", "a: !!bool", "a: !!bool ''", "a: !!int '+'"])
def test_read_yaml_refuses_unconvertible_tagged_values_cleanly(text):
    with pytest.raises(DiagnosticError) as caught:
        read_yaml(text, "random.yaml")
    assert caught.value.diagnostics[0].location.file == "random.yaml"


@pytest.mark.parametrize("text", ["a: \x00", "a: \x07", "a: 1\nb: \x1b[31m", "\ufffe", "a: '\x7f'"])
def test_read_yaml_refuses_control_characters_cleanly(text):
    with pytest.raises(DiagnosticError) as caught:
        read_yaml(text, "random.yaml")
    assert caught.value.diagnostics[0].location.file == "random.yaml"


# -------------------------------------------------------------------------------------------------
# Claims

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(["2024-06-15", "2023-02-29", "330702", "2-02-10-15", "junior", "male"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


PATHS = [p for p in _paths(GOOD) if p]


@st.composite
def mutated_claims(draw):
    """The good claim with one to three facts replaced by random JSON, or removed."""
    claim = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = claim
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced the parent
    return claim


@settings(max_examples=200, **SETTINGS)
@given(st.one_of(JSON, mutated_claims()))
@example(GOOD)
@example(dict(GOOD, history=[]))
@example(dict(GOOD, applied_on="9999-12-31"))
@example(dict(GOOD, applied_on="0001-01-01"))
@example(dict(GOOD, training=dict(GOOD["training"], hours=80.0)))
@example(dict(GOOD, applicant=dict(GOOD["applicant"], sex="female", female_retirement_base=55.0)))
def test_any_json_claim_is_decided_or_refused(claim):
    writable(evaluator().evaluate(claim))


def _line(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")  # big integers too, unlike orjson


LINES = st.one_of(
    st.builds(_line, JSON), st.builds(_line, mutated_claims()), st.just(_line(GOOD)), st.binary(max_size=40),
    st.sampled_from([b"", b"   ", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b"[" * 2000 + b"]" * 2000,
                     b'{"claim_id": "\\ud800"}', b"{}" * 3, b"\x00"]))


@settings(max_examples=150, **SETTINGS)
@given(st.lists(LINES, max_size=12))
def test_json_lines_give_one_result_per_claim(lines):
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    data = b"".join(line + b"\n" for line in lines)
    claims = sum(1 for line in lines if line.strip())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "claims.jsonl"
        path.write_bytes(data)
        results = [evaluator().evaluate_raw(raw) for raw in read_claims([str(path)])]
    assert len(results) == claims
    numbers = [number for number, line in enumerate(lines, 1) if line.strip()]
    for number, result in zip(numbers, results, strict=True):
        writable(result)
        if isinstance(result, ClaimError) and result.location:  # the line, and the column where JSON broke off
            assert re.fullmatch(re.escape(f"{path}:{number}") + r"(:[0-9]+)?", result.location), result.location


# Standard input that does not start with a JSON object is read as one document (JSON, else YAML); PyYAML's
# scanner is quadratic in flow nesting, so the very deep line is left out here to keep the test fast.
STDIN_LINES = st.one_of(
    st.builds(_line, JSON), st.builds(_line, mutated_claims()), st.just(_line(GOOD)), st.binary(max_size=40),
    st.sampled_from([b"", b"   ", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b"[" * 200 + b"]" * 200,
                     b"{}" * 3, b"a: [1, 2]", b"- x"]))


def _stdin_without_known_bugs(line: bytes) -> bytes:
    # Characters PyYAML refuses and lone surrogates stay in: both are refused cleanly now.
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return line
    return text.encode("utf-8", errors="surrogatepass")


@settings(max_examples=100, **SETTINGS)
@given(st.lists(STDIN_LINES, min_size=1, max_size=8))
def test_json_lines_on_standard_input(lines):
    lines = [_stdin_without_known_bugs(line.replace(b"\n", b" ").replace(b"\r", b" ")) for line in lines]
    data = b"".join(line + b"\n" for line in lines)
    results = [evaluator().evaluate_raw(raw) for raw in read_claims(["-"], stdin=io.BytesIO(data))]
    for result in results:
        writable(result)
    first = lines[0].strip()
    if first.startswith(b"{") and first.endswith(b"}") and _is_json(first):  # streamed as JSON Lines
        assert len(results) == sum(1 for line in lines if line.strip())


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)  # as engine.claims decides
    except orjson.JSONDecodeError:
        return False
    return True

"""JSON Lines read alike in every layout a producer writes, at full speed, with the same strictness.

The same fictional claims (tests/fixtures/claims.jsonl) are written compactly, with Python's default
separators, as JavaScript's JSON.stringify writes them, with keys in reverse order, with \\uXXXX escapes
and with CRLF line ends: every layout gives byte-identical output lines, none of them goes through the
strict (slow) reader, and a repeated key or an inexact number is refused in each of them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import Engine
from engine.claims import reader
from engine.claims.reader import read_claims
from engine.decide import batch

FIXTURES = Path(__file__).parent / "fixtures"
POLICY = "jinhua/digital-engineer-subsidy"
CLAIMS = [json.loads(line) for line in (FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()]


def _reversed_keys(value):
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


LAYOUTS = {
    "compact": lambda c: json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n",
    "python default separators": lambda c: json.dumps(c, ensure_ascii=False) + "\n",
    # JSON.stringify: compact, non-ASCII as it is, "/" unescaped, control characters as \n or \u00XX
    "JSON.stringify": lambda c: json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n",
    "keys in reverse order": lambda c: json.dumps(_reversed_keys(c), ensure_ascii=False) + "\n",
    "\\uXXXX escapes": lambda c: json.dumps(c, ensure_ascii=True) + "\n",
    "CRLF": lambda c: json.dumps(c, ensure_ascii=False) + "\r\n",
    "spaces around colons": lambda c: json.dumps(c, ensure_ascii=False, separators=(" , ", " : ")) + "\n",
}


def _engine() -> Engine:
    return Engine.load(FIXTURES / "store", FIXTURES / "schemas")


def _decide(path: Path, summary: bool) -> bytes:
    evaluator = _engine().evaluator(POLICY, explain=not summary, outputs=not summary)
    out: list[bytes] = []
    batch.run(evaluator, read_claims([str(path)]), out.append, fmt=batch.OutputFormat("json", summary))
    return b"".join(out)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "claims.jsonl"  # one path for every layout: an error names the file and line
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("summary", [True, False])
def test_every_layout_gives_identical_output_lines(tmp_path, summary, monkeypatch):
    def strict(text):  # a well-formed line never needs the strict reader, whatever its layout
        raise AssertionError(f"the strict reader was used for {text[:60]!r}")

    expected = _decide(_write(tmp_path, "".join(LAYOUTS["compact"](c) for c in CLAIMS)), summary)
    assert expected.count(b"\n") == len(CLAIMS)
    monkeypatch.setattr(reader, "_strict_json", strict)
    for name, layout in LAYOUTS.items():
        got = _decide(_write(tmp_path, "".join(layout(c) for c in CLAIMS)), summary)
        assert got == expected, name


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_still_refuses_repeated_keys_and_inexact_numbers(tmp_path, layout):
    claim = dict(CLAIMS[0])
    line = LAYOUTS[layout](claim)
    sep = line[line.index('"claim_id"') + len('"claim_id"'):line.index(json.dumps(claim["claim_id"]))]
    repeated = line.replace('"claim_id"', f'"claim_id"{sep}"X",\t"claim_id"', 1)
    hours = json.dumps(claim["training"]["hours"])
    inexact = line.replace(f'"hours"{sep}{hours}', f'"hours"{sep}{hours}.000000000000000000000001', 1)
    escaped_colon = line.replace('"claim_id"', f'"claim_id"{sep}"a\\u003ab",\t"claim_id"', 1)
    assert repeated != line and inexact != line
    results = [json.loads(x) for x in _decide(_write(tmp_path, repeated + inexact + escaped_colon),
                                              True).splitlines()]
    assert [r["error"]["code"] for r in results] == ["claim.duplicate_key", "claim.invalid", "claim.duplicate_key"]
    assert "expected a whole number" in results[1]["error"]["message"]


def _nested(depth: int, width: int = 1, leaf=1):
    """A value `depth` levels deep (the value itself is level 1), alternating records and lists."""
    value = leaf
    for level in range(depth - 1):
        value = {"k": value, "b": "x"} if level % 2 else [value] * width
    return value


@pytest.mark.parametrize("depth", [30, 31, 32, 33, 34, 40])
@pytest.mark.parametrize("leaf", [1, {}, [], {"x": None}])
def test_a_long_line_is_judged_as_the_walk_of_every_value_judges_it(depth, leaf):
    """The line check walks only lists and records where the bytes rule out too many values: same answer."""
    import orjson

    from engine.core.i18n import msg

    for value in (_nested(depth, leaf=leaf), [_nested(depth, leaf=leaf), *[{"g": i} for i in range(200)]],
                  {"h": [{"d": "2024-01-01", "n": i} for i in range(5000)]}):
        line = orjson.dumps(value)
        assert reader._line_problem(line, value) == reader._shape_problem(value, msg("the line"))

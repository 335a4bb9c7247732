"""The caches a warm start reads (issue 12): the same decisions from an empty cache, a filled one, no cache, and
a cache whose every file was replaced by garbage or cut short (a corrupt or foreign file is ignored)."""
from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.api import Engine
from engine.core import codecache
from engine.policies.cache import load_store

FIXTURES = Path(__file__).parent / "fixtures"
STORE, SCHEMAS = FIXTURES / "store", FIXTURES / "schemas"
POLICY = "jinhua/digital-engineer-subsidy"
CLAIMS = [json.loads(line) for line in (FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()]


def _decisions() -> list:
    """Every fixture claim decided by a freshly loaded store, in full and as a summary, as JSON."""
    codecache._SEEN.clear()  # what this process compiled before must not stand in for the cache files
    engine = Engine(load_store(STORE, SCHEMAS))
    full = engine.evaluator(POLICY, explain=True)
    summary = engine.evaluator(POLICY, explain=False, outputs=False)
    return [(full.evaluate(c).to_json(), summary.evaluate(c).to_json()) for c in CLAIMS]


def _spoil(folder: Path, how) -> int:
    files = [p for p in folder.iterdir() if p.is_file()]
    for path in files:
        path.write_bytes(how(path.read_bytes()))
    return len(files)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POLICY_CACHE", "1")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(folder))
    codecache._SEEN.clear()
    return folder


def test_an_empty_a_filled_and_no_cache_decide_alike(cache, monkeypatch):
    cold = _decisions()
    kinds = {p.name.split("-")[0] for p in cache.iterdir()} - {"parser"}  # built once per process: maybe before
    assert kinds == {"store", "engine", "code"}, kinds  # the store, the engine's digest, compiled programs
    assert _decisions() == cold
    monkeypatch.setenv("POLICY_CACHE", "0")
    assert _decisions() == cold


@pytest.mark.parametrize("how", [
    pytest.param(lambda data: b"\x00garbage" * 9, id="garbage"),
    pytest.param(lambda data: data[:len(data) // 2], id="cut-short"),
    pytest.param(lambda data: data[:32] + b"\xff" * 40, id="right-name-wrong-body"),
    pytest.param(lambda data: b"", id="empty"),
])
def test_a_corrupt_cache_is_ignored(cache, how):
    cold = _decisions()
    assert _spoil(cache, how) >= 3
    assert _decisions() == cold
    assert _decisions() == cold  # and what replaced the spoilt files is good


def test_compiled_code_is_used_only_for_its_own_source(cache):
    source = "def f():\n    return 1\n"
    first = codecache.compiled(source, "<claim converter>")
    codecache._SEEN.clear()
    other = codecache.compiled(source.replace("1", "2"), "<claim converter>")
    codecache._SEEN.clear()
    again = codecache.compiled(source, "<claim converter>")
    assert first.co_consts != other.co_consts and again.co_consts == first.co_consts
    assert len(list(cache.glob("code-*.marshal"))) == 2
    namespace: dict = {}
    exec(again, namespace)  # the test's own source, compiled by the cache
    assert namespace["f"]() == 1


def test_a_cache_file_others_can_write_is_not_read(cache):
    source = "def f():\n    return 1\n"
    codecache.compiled(source, "<claim converter>")
    (path,) = cache.glob("code-*.marshal")
    data = path.read_bytes()
    path.write_bytes(data[:32] + marshal.dumps(compile("def f():\n    return 666\n", "<claim converter>", "exec")))
    path.chmod(0o666)
    codecache._SEEN.clear()
    namespace: dict = {}
    exec(codecache.compiled(source, "<claim converter>"), namespace)
    assert namespace["f"]() == 1


def test_the_command_decides_alike_with_a_cold_a_warm_and_a_spoilt_cache(tmp_path):
    folder = tmp_path / "cache"
    env = {**os.environ, "POLICY_CACHE": "1", "POLICY_CACHE_DIR": str(folder)}
    args = [sys.executable, "-m", "engine.cli.main", "--policies", str(STORE), "--schemas", str(SCHEMAS),
            "evaluate", str(FIXTURES / "claims.jsonl"), "--policy", POLICY, "--format", "json", "-q"]

    def run() -> bytes:
        done = subprocess.run(args, env=env, capture_output=True, timeout=120)
        assert done.returncode in (0, 2, 3, 4), done.stderr
        assert not done.stderr, done.stderr
        return done.stdout

    cold = run()
    assert run() == cold
    _spoil(folder, lambda data: data[:7])
    assert run() == cold


def _copy_store(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "store"
    shutil.copytree(STORE, root)
    return root


def test_a_changed_policy_file_is_read_again_from_a_warm_cache(cache, tmp_path):
    """The store cache is keyed by every policy file's content: an edit is read, never the remembered store."""
    root = _copy_store(tmp_path)
    path = root / "jinhua/digital-engineer-subsidy/2024-05-01.yaml"
    claim = CLAIMS[0]

    def message() -> str:
        codecache._SEEN.clear()
        decision = Engine(load_store(root, SCHEMAS)).evaluator(POLICY, explain=True).evaluate(claim).to_json()
        return next(r["message"] for r in decision["rules"] if r["id"] == "not_public_staff")

    before = message()
    assert message() == before  # from the cache now
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"pass: {before}", "pass: CHANGED"), encoding="utf-8")
    assert message() == "CHANGED"
    assert len(list(cache.glob("store-*.pickle"))) == 2


def test_positions_in_a_cached_store_are_those_of_the_file(cache, tmp_path):
    """What the store keeps of a scalar for positions (not PyYAML's node) points where a fresh read points."""
    from engine.api import PolicyInvalid

    root = _copy_store(tmp_path)
    path = root / "jinhua/digital-engineer-subsidy/2024-05-01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "require: not applicant.public_staff", 'require: "not applicant.public_stafff"'), encoding="utf-8")

    def problems() -> list:
        with pytest.raises(PolicyInvalid) as raised:
            Engine(load_store(root, SCHEMAS)).evaluator(POLICY, explain=True).evaluate(CLAIMS[0])
        return [(d.code, d.location.line, d.location.column, d.source_line) for d in raised.value.diagnostics]

    cold = problems()
    assert any(line > 1 and column > 1 for _, line, column, _ in cold), cold
    assert problems() == cold  # read back from the cache
    assert len(list(cache.glob("store-*.pickle"))) == 1


def test_the_engine_digest_covers_every_source_and_grammar_file():
    from engine.policies import cache as store_cache

    package = store_cache._ENGINE
    expected = sorted(package.rglob("*.py")) + sorted(package.rglob("*.lark")) + [store_cache.SCHEMA_FILE]
    assert store_cache._engine_files() == [str(path) for path in expected]


EXPRESSIONS = ["a + b * 2 >= 16", '年龄 >= 16 and 户籍 in ["金华"]', "sum(x.金额 for x in 记录)",
               "count(x in 记录 where x.年份 == 2024)", 'if a then date("2024-02-29") else b ?? c']


@pytest.fixture
def fresh_parser():
    from engine.language import syntax

    syntax._parser.cache_clear()
    yield syntax
    syntax._parser.cache_clear()


BAD_EXPRESSIONS = ["a +", "age >= １６", "count(x in y : z)", "a = b", "sum(x for x in)"]


def _spans(tree) -> list:
    """Every node's kind and place in the text (places take no part in a tree's equality or repr)."""
    import dataclasses

    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if dataclasses.is_dataclass(node):
            found.append((type(node).__name__, node.span))
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "span")
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return found


def _trees(syntax) -> list:
    """What parsing says of good and bad expressions, with a parser built or read anew."""
    from engine.core.diagnostics import DiagnosticError

    syntax._parser.cache_clear()
    syntax._tree_of.cache_clear()
    said = [(repr(tree), _spans(tree)) for tree in map(syntax.parse, EXPRESSIONS)]
    for text in BAD_EXPRESSIONS:
        with pytest.raises(DiagnosticError) as raised:
            syntax.parse(text)
        said.append([(d.code, d.message, d.location.column) for d in raised.value.diagnostics])
    return said


def test_the_parser_is_built_once_and_then_read_from_the_cache(cache, fresh_parser, monkeypatch):
    built = _trees(fresh_parser)
    (path,) = cache.glob("parser-*.lark")
    monkeypatch.setattr(fresh_parser, "_identifier_classes", lambda: pytest.fail("built again, not read"))
    assert _trees(fresh_parser) == built


@pytest.mark.parametrize("how", [
    pytest.param(lambda data: data[:60] + b"\x80garbage", id="right-name-wrong-body"),
    pytest.param(lambda data: data[:len(data) // 2], id="cut-short"),
    pytest.param(lambda data: b"parser-" + b"0" * 40 + b".lark" + data[52:], id="another-name"),
])
def test_a_spoilt_parser_file_is_ignored_and_replaced(cache, fresh_parser, monkeypatch, how):
    built = _trees(fresh_parser)
    (path,) = cache.glob("parser-*.lark")
    path.write_bytes(how(path.read_bytes()))
    assert _trees(fresh_parser) == built
    monkeypatch.setattr(fresh_parser, "_identifier_classes", lambda: pytest.fail("not replaced by a good file"))
    assert _trees(fresh_parser) == built


def test_no_parser_file_without_the_cache(cache, fresh_parser, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE", "0")
    _trees(fresh_parser)
    assert not cache.exists() or not list(cache.glob("parser-*"))

"""engine.core.records.dataclass (issue 12, cold start): the classes are dataclasses.dataclass's own, with the
methods dataclasses generates compiled once and kept in the cache folder. A kept text is used only for that very
text; a changed class, another interpreter's file, or a corrupt or foreign file is compiled afresh."""
from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.core import records

OPTIONS = [{}, {"frozen": True}, {"frozen": True, "order": True}, {"eq": False}, {"slots": True}]


def _make(decorator, options: dict, extra: str = ""):
    namespace: dict = {"field": dataclasses.field}
    source = ("class Point:\n    x: int\n    y: str = 'a'\n    z: list = field(default_factory=list)\n"
              f"    {extra or 'pass'}\n")
    exec(source, namespace)
    return decorator(**options)(namespace["Point"])


def _methods(cls) -> dict:
    out = {}
    for name, value in vars(cls).items():
        code = getattr(value, "__code__", None)
        if code is not None:
            out[name] = (code.co_code, code.co_consts, code.co_names, code.co_varnames, code.co_filename,
                         code.co_flags, value.__qualname__)
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE", "1")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(records, "_codes", None)
    monkeypatch.setattr(records, "_used", set())
    monkeypatch.setattr(records, "_new", True)  # no handler at exit: the tests save when they mean to
    return tmp_path / "cache"


def _fresh(monkeypatch) -> None:
    """As a new process: nothing read yet."""
    monkeypatch.setattr(records, "_codes", None)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_a_class_from_an_empty_and_from_a_filled_cache_is_the_dataclass_of_the_standard_library(cache, monkeypatch,
                                                                                                options):
    plain = _make(dataclasses.dataclass, options)
    cold = _make(records.dataclass, options)
    records._save()
    _fresh(monkeypatch)
    compiled = []
    monkeypatch.setattr(records, "compile", lambda *a, **k: compiled.append(a) or compile(*a, **k), raising=False)
    warm = _make(records.dataclass, options)
    assert compiled == []  # every method from the file
    assert _methods(plain) == _methods(cold) == _methods(warm)
    assert dataclasses.fields(warm) == dataclasses.fields(warm)
    assert [f.name for f in dataclasses.fields(warm)] == [f.name for f in dataclasses.fields(plain)]
    a, b = warm(1), plain(1)
    assert repr(a).replace("Point", "") == repr(b).replace("Point", "") and a.z == [] and a.z is not warm(1).z
    assert (a == warm(1)) == (b == plain(1))
    if options.get("frozen"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.x = 2
    assert (warm.__hash__ is None) == (plain.__hash__ is None)
    assert "exec" not in vars(dataclasses)  # the stand-in is taken away again


def test_a_changed_class_is_compiled_afresh(cache, monkeypatch):
    _make(records.dataclass, {})
    records._save()
    _fresh(monkeypatch)
    compiled = []
    monkeypatch.setattr(records, "compile", lambda *a, **k: compiled.append(a[0]) or compile(*a, **k), raising=False)
    changed = _make(records.dataclass, {}, extra="w: float = 1.5")
    assert any("w" in text for text in compiled)
    assert changed(1).w == 1.5 and "w=1.5" in repr(changed(1))


@pytest.mark.parametrize("how", [
    pytest.param(lambda data: b"\x00garbage" * 9, id="garbage"),
    pytest.param(lambda data: data[:len(data) // 2], id="cut-short"),
    pytest.param(lambda data: data.replace(b"policy-engine dataclass methods 1", b"policy-engine dataclass methods 0"),
                 id="another-tag"),
    pytest.param(lambda data: records._TAG + marshal.dumps({"x": 1}), id="foreign"),
    pytest.param(lambda data: records._TAG + marshal.dumps([1, 2]), id="not-a-mapping"),
])
def test_a_corrupt_or_foreign_file_is_ignored(cache, monkeypatch, how):
    plain = _make(dataclasses.dataclass, {"frozen": True})
    _make(records.dataclass, {"frozen": True})
    records._save()
    (path,) = cache.glob("dataclass-*.marshal")
    path.write_bytes(how(path.read_bytes()))
    _fresh(monkeypatch)
    again = _make(records.dataclass, {"frozen": True})
    assert _methods(again) == _methods(plain)


def test_no_cache_compiles_everything(cache, monkeypatch):
    _make(records.dataclass, {})
    records._save()
    monkeypatch.setenv("POLICY_CACHE", "0")
    _fresh(monkeypatch)
    compiled = []
    monkeypatch.setattr(records, "compile", lambda *a, **k: compiled.append(a) or compile(*a, **k), raising=False)
    _make(records.dataclass, {})
    assert compiled


def test_a_second_process_compiles_none_of_the_engines_dataclass_methods(tmp_path):
    probe = ("import engine.cli.main, engine.api, engine.decide.batch, engine.policies.cache\n"
             "from engine.core import records\nprint(int(records._new))")
    env = {**os.environ, "POLICY_CACHE": "1", "POLICY_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                           cwd=Path(__file__).parent.parent).stdout.strip() for _ in range(2)]
    assert runs == ["1", "0"]  # the first compiled and kept them, the second compiled nothing

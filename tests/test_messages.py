"""Messages in 简体中文 and English: every message template has a Chinese translation with the same
placeholders, the compiled catalogue matches its source, and the language follows --lang or the locale
while error codes stay the same."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.core.i18n import LOCALE_DIR, set_language

babel = pytest.importorskip("babel", reason="Babel extracts and compiles the catalogues (pip install babel)")
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.mofile import read_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"msg": None, "tr": None, "plural": (2, 3)}  # as `./dev messages` extracts them
# as engine/locale/babel.cfg maps them: the Python source, and the web pages' templates (tr() only)
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "policy.po"
MO = PO.with_suffix(".mo")


def _templates() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "engine"), METHODS, OPTIONS,
                                                                       keywords=KEYWORDS, comment_tags=()):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _po():
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh")


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    catalogue = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in _po() if m.id}
    untranslated = []
    for template in sorted(_templates(), key=str):
        entry = catalogue.get(template)
        strings = () if entry is None else (entry.string,) if isinstance(entry.string, str) else entry.string
        if entry is None or entry.fuzzy or not all(strings):
            untranslated.append(template)
            continue
        wanted = set(re.findall(r"{(\w+)}", template if isinstance(template, str) else " ".join(template)))
        for text in strings:
            assert set(re.findall(r"{(\w+)}", text)) == wanted, (template, text)
    assert not untranslated, f"messages without a translation (run ./dev messages, then translate): {untranslated}"


def test_the_compiled_catalogue_matches_its_source():
    def entries(catalogue) -> dict:
        return {_key(m.id): _key(m.string) for m in catalogue if m.id and not m.fuzzy}

    with MO.open("rb") as handle:
        compiled = entries(read_mo(handle))
    source = entries(_po())
    assert compiled == source, "policy.mo is stale: run ./dev messages"


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def run(capsys, *args, env: dict | None = None, monkeypatch=None):
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    set_language(None)
    return code, out, err


BAD = "rules:\n  - id: a\n    clause: 一\n      require: x\n"


def test_lang_zh_speaks_chinese_and_keeps_the_code(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("POLICY_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    code, out, err = run(capsys, "check", str(bad), "--lang", "zh")
    assert code == 1
    assert "错误[yaml.syntax]: 这一行比上面的键（第 3 行的 clause:）多缩进了 2 个空格" in out
    assert "提示：与 clause: 对齐（4 个空格）" in out
    assert "1 个错误，0 个警告" in err
    code, out, err = run(capsys, "--lang", "en", "check", str(bad))
    assert "error[yaml.syntax]: this line is indented 2 spaces more than the key above it" in out
    assert "1 error, 0 warnings" in err


def test_a_chinese_locale_chooses_chinese_unless_lang_says_otherwise(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("POLICY_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    code, out, _ = run(capsys, "check", str(bad))
    assert "错误[yaml.syntax]" in out
    code, out, _ = run(capsys, "check", str(bad), "--lang", "en")
    assert "error[yaml.syntax]" in out


def test_json_keeps_codes_and_gives_the_chosen_language(capsys, tmp_path, monkeypatch):
    import json

    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    _, out, _ = run(capsys, "check", str(bad), "--format", "json", "--lang", "zh")
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["code"] == "yaml.syntax" and line["message"].startswith("这一行比上面的键")

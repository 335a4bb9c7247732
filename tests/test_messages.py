"""Messages in 简体中文 and English: every message template has a Chinese translation with the same
placeholders, the compiled catalogue matches its source, and the language follows --lang or the locale
while error codes stay the same."""
from __future__ import annotations

import ast
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


# -- every message the user sees is translatable -----------------------------------------------------------------

_WORDY = re.compile(r"\b[A-Za-z]{2,}\b")
_CODE = re.compile(r"^[a-z]+\.[a-z_]+$")
# Where a message goes (the call's name → the position of its message argument); `message=`, `hint=` and `help=`
# (a command line's help text) anywhere.
_SINKS = {"Diagnostic": 1, "error": 1, "at": 1, "fail": 1, "_fail": 1, "diagnostic": 1, "Note": 0, "note_at": 0,
          "usage": 0, "UsageError": 0, "ClickException": 0, "ClaimError": 2, "_Unparsable": 1, "_DuplicateKey": 0,
          "LinkError": 1, "EvaluationFault": 0, "echo": 0}


def _plain_text(node) -> bool:
    """Whether an expression is (or is built from) literal English text rather than msg()/tr()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return len(_WORDY.findall(node.value)) >= 2  # words, not an identifier or a prefix such as "policy: "
    if isinstance(node, ast.JoinedStr):
        return len(_WORDY.findall("".join(v.value for v in node.values if isinstance(v, ast.Constant)))) >= 2
    if isinstance(node, ast.BinOp):
        return _plain_text(node.left) or _plain_text(node.right)
    if isinstance(node, ast.IfExp):
        return _plain_text(node.body) or _plain_text(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _plain_text(node.func.value)
    return False


def _untranslatable(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        messages = []
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in _SINKS and len(node.args) > _SINKS[name]:
                messages.append(node.args[_SINKS[name]])
            messages += [k.value for k in node.keywords if k.arg in ("message", "hint", "help")]
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[0], ast.Constant) \
                and isinstance(node.elts[0].value, str) and _CODE.match(node.elts[0].value):
            messages.append(node.elts[1])  # (code, message), as readers return a problem
        found += [f"{path.relative_to(ROOT)}:{m.lineno}: {ast.unparse(m)[:100]}" for m in messages if _plain_text(m)]
    return found


def test_every_message_the_user_sees_goes_through_the_catalogue():
    """A diagnostic, hint, claim error or command-line message written as plain text (a literal or an f-string)
    cannot be translated: write msg("... {name} ...", name=...) (or tr(...) where it is shown) instead."""
    found = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        found += _untranslatable(path)
    assert not found, "messages that cannot be translated (wrap them in msg()/tr()):\n" + "\n".join(found)


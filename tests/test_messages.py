"""Messages in 简体中文 and English: every message template has a Chinese translation with the same
placeholders, the compiled catalogue matches its source, and the language follows --lang or the locale
while error codes stay the same."""
from __future__ import annotations

import ast
import builtins
import collections
import re
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.core.i18n import LOCALE_DIR, set_language

babel = pytest.importorskip("babel", reason="Babel extracts and compiles the catalogues (pip install babel)")
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.mofile import read_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402
from enginesource import engine_files, findings  # noqa: E402

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
_NAMES = re.compile(r"[\w<>.@/-]+(, [\w<>.@/-]+)+")  # `bool, int, list<T>`: a list of names, not words
_CODE = re.compile(r"^[a-z]+\.[a-z_]+$")
# Text that is not words for a reader: SQL, markup, comments of a generated file, code of the language
_NOT_WORDS = re.compile(r"^\s*(<|#|(SELECT|INSERT|CREATE|DROP|PRAGMA|BEGIN|UPDATE|DELETE|ALTER)\b)|[\w\x00]\(|\[\d")
# Where a message goes (the call's name → the position of its message argument); `message=`, `hint=` and `help=`
# (a command line's help text) anywhere.
_SINKS = {"Diagnostic": 1, "error": 1, "at": 1, "fail": 1, "_fail": 1, "diagnostic": 1, "Note": 0, "note_at": 0,
          "usage": 0, "UsageError": 0, "ClickException": 0, "ClaimError": 2, "_Unparsable": 1, "_DuplicateKey": 0,
          "LinkError": 1, "EvaluationFault": 0, "echo": 0, "ServiceError": 2, "bad_request": 1, "error_response": 2}
# Where text is gathered to be shown later (the method → the position of the text; -1: every argument)
_GATHERING = {"append": -1, "extend": -1, "insert": 1, "join": 0, "write": 0, "add": 0}
_TRANSLATING = {"msg", "tr", "plural", "joined", "translated"}
_LOGGING = {"log", "logger", "logging", "warnings"}  # a log is read by whoever runs the service, in English
# Exceptions the engine raises and catches itself, never shown: a value missing in the columnar engine (the row is
# decided per claim), a schema the columnar reader does not take (the per-claim reader takes it), a program Python
# cannot compile (the closures decide instead)
_SIGNALS = {"MissingValue", "_Unsupported", "NotGenerated"}
# Exceptions of Python's own are a programmer's (a bug, a wrong argument to engine.api), not an officer's
_PYTHONS = {name for name, value in vars(builtins).items()
            if isinstance(value, type) and issubclass(value, BaseException)}
# The database's migrations (SQL, and what a trigger refuses with)
_GENERATORS = ("engine/db/migrations/",)
# A line of Python that the engine generates (its programs, its claim converters): a statement, an assignment, a
# test of None
_PYTHON = re.compile(r"^[\s\x00]*(if|elif|else|except|for|return|try|raise|while|with|def)\b|^\s*[\w.\[\]\x00, ]+ = "
                     r"|\bis (not )?(None|ABSENT|MISSING)\)?$")
# A comment on the text's line or the line above may say why the text is the same in every language (the language's
# own words, JSON values, labels CI tools or Prometheus read, the OpenAPI document): `# ... in every language ...`
_KEPT = "in every language"


def _call_name(node) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)


def _literal_text(node) -> str | None:
    """The words of a literal or an f-string (its placeholders as \\x00), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "\x00" for v in node.values)
    return None


def _pieces(node):
    """The literal texts an expression is built from: joined, formatted, chosen between, gathered in a list,
    tuple, set or dict (its values: a dict's keys are names), or made by a comprehension."""
    text = _literal_text(node)
    if text is not None:
        yield node, text
    elif isinstance(node, ast.BinOp):
        yield from _pieces(node.left)
        yield from _pieces(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _pieces(node.body)
        yield from _pieces(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _pieces(value)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _pieces(element)
    elif isinstance(node, ast.Starred):
        yield from _pieces(node.value)
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and key.value in ("description", "title", "summary")):  # schemas'
                yield from _pieces(value)
    elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        yield from _pieces(node.elt)
    elif isinstance(node, ast.DictComp):
        yield from _pieces(node.value)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        yield from _pieces(node.func.value)
        for argument in node.args if node.func.attr == "join" else ():
            yield from _pieces(argument)


def _words(text: str) -> bool:
    """Whether literal text is English words for a reader: two words or more with a space between, rather than
    an identifier, a code such as `claim.parquet`, a prefix such as "policy: ", a list of names, SQL or markup."""
    if _NOT_WORDS.search(text) or _PYTHON.search(text):
        return False
    return not _NAMES.fullmatch(text) and any(len(_WORDY.findall(part)) >= 2 and re.search(r"\w\W*\s+\W*\w", part)
                                              for part in text.split("\x00"))


def _where_text_goes(nodes):
    """The expressions whose text reaches a reader: a sink's message, text gathered into a list or joined, a value
    kept in a variable or returned (to be shown later), the message of an exception of the engine's own, and the
    message of a (code, message) problem as readers return one."""
    for node in nodes:
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _SINKS and len(node.args) > _SINKS[name]:
                yield node.args[_SINKS[name]]
            yield from (k.value for k in node.keywords if k.arg in ("message", "hint", "help"))
            if isinstance(node.func, ast.Attribute) and name in _GATHERING:
                at = _GATHERING[name]
                yield from node.args if at < 0 else node.args[at:at + 1]
                if name == "join":
                    yield node.func.value
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Yield)) \
                and node.value is not None:
            yield node.value
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args \
                and _call_name(node.exc) not in _PYTHONS | _SIGNALS:
            yield from node.exc.args  # SchemaTypeError(path, message): the message need not come first
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[0], ast.Constant) \
                and isinstance(node.elts[0].value, str) and _CODE.match(node.elts[0].value):
            yield node.elts[1]  # (code, message), as readers return a problem


def _untranslatable(source: str, name: str) -> list[str]:
    lines = source.splitlines()
    tree = ast.parse(source)
    exempt = set()  # inside msg()/tr()/plural(), a log call, or the text of __repr__/__str__ (a value as code)
    statement = {}  # node -> the lines of the simple statement it is in
    # One walk that carries both down the tree (a walk per node was quadratic), breadth first as ast.walk goes:
    # the searches below go through the nodes it lists, not through walks of their own.
    nodes = []
    pending = collections.deque([(tree, None, False)])
    while pending:
        node, lines_of, exempted = pending.popleft()
        nodes.append(node)
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            lines_of = (node.lineno, node.end_lineno)
        if isinstance(node, ast.Call) and (_call_name(node) in _TRANSLATING or (
                isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id in _LOGGING)) \
                or isinstance(node, ast.FunctionDef) and node.name in ("__repr__", "__str__"):
            exempted = True
        if lines_of is not None:
            statement[id(node)] = lines_of
        if exempted:
            exempt.add(id(node))
        pending.extend((child, lines_of, exempted) for child in ast.iter_child_nodes(node))
    found, seen = [], set()
    for node in nodes:
        if not (isinstance(node, ast.Call) and _call_name(node) in _TRANSLATING):
            continue
        if node.args and isinstance(node.args[0], ast.JoinedStr) \
                and any(isinstance(v, ast.FormattedValue) for v in node.args[0].values):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:100]}")  # msg(f"... {x} ..."): filled in before
        if _call_name(node) == "msg":  # tr() or plural() in a msg()'s arguments: a language chosen when it was made
            found += [f"{name}:{inner.lineno}: {ast.unparse(inner)[:100]}" for argument in node.keywords
                      for inner in ast.walk(argument.value)
                      if isinstance(inner, ast.Call) and _call_name(inner) in ("tr", "plural")]
    for call in nodes:  # Diagnostic(code, str(exc)): the exception's msg() made plain English
        if isinstance(call, ast.Call) and _call_name(call) in _SINKS and len(call.args) > _SINKS[_call_name(call)]:
            shown = call.args[_SINKS[_call_name(call)]]
            while isinstance(shown, ast.Call) and getattr(shown.func, "attr", None) == "replace":
                shown = shown.func.value
            if isinstance(shown, ast.Call) and _call_name(shown) == "str" and shown.args \
                    and isinstance(shown.args[0], ast.Name) and shown.args[0].id in ("exc", "error", "err"):
                found.append(f"{name}:{call.lineno}: {ast.unparse(call)[:100]}")
    for expression in _where_text_goes(nodes):
        for node, text in _pieces(expression):
            first, last = statement.get(id(node), (node.lineno, node.end_lineno))
            if id(node) in exempt or id(node) in seen or not _words(text) \
                    or any(_KEPT in line for line in lines[max(first - 2, 0):last]):
                continue
            seen.add(id(node))
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:100]}")
    return found


def test_every_message_the_user_sees_goes_through_the_catalogue(pytestconfig):
    """A diagnostic, hint, claim error or command-line message written as plain text (a literal or an f-string)
    cannot be translated: write msg("... {name} ...", name=...) (or tr(...) where it is shown) instead. That holds
    for text gathered first and shown later too: appended to a list of lines, joined, kept in a variable or a
    table, returned, or raised in an exception of the engine's own."""
    paths = [path for path in engine_files() if not path.relative_to(ROOT).as_posix().startswith(_GENERATORS)]
    found = [line for lines in findings(pytestconfig, __file__, _untranslatable, paths).values() for line in lines]
    assert not found, "messages that cannot be translated (wrap them in msg()/tr()):\n" + "\n".join(found)


@pytest.mark.parametrize("code, found", [
    ('lines.append(f"{n} claims were not decided")', True),
    ('lines.append(f"    {n} claims were not decided")', True),
    ('lines.append("  rules whose outcome changed:")', True),
    ('parts = ["in force", "now"]\nclick.echo(", ".join(parts))', True),
    ('label = "the decision amount"', True),
    ('say(" and ".join(["first words", "then more"]))', True),
    ('raise DatabaseError(f"cannot use the database {url}")', True),
    ('out = {"status": "not run yet"}', True),
    ('lines.append(msg("{n} claims were not decided", n=n))', False),
    ('lines.append(msg(f"{n} claims were not decided"))', True),
    ('echo(tr("decided on {day}", day=f"{year}-{month}"))', False),
    ('error(msg("takes {arguments}", arguments=plural(n, "{count} argument", "{count} arguments")))', True),
    ('echo(tr("takes {arguments}", arguments=plural(n, "{count} argument", "{count} arguments")))', False),
    ('raise ValueError("unknown language, a bug")', False),
    ('log.warning("reload refused: %d errors", n)', False),
    ('names = "bool, int, decimal, list<T>"', False),
    ('code = "claim.parquet"', False),
    ('prefix = "policy: "', False),
    ('cursor.execute("PRAGMA journal_mode=WAL")', False),
    ('tag = "<svg class=\\"chart\\" role=\\"img\\">"', False),
    ('form = "sum(g.amount for g in history)"', False),
    ('lines.append(f"    if {value} is not None:")', False),
    ('lines.append("    return value")', False),
    ('lines.append(f"{result} = {value} is not None")', False),
    ('return f"({probe} is not None)"', False),
    ('where = "(the whole document)"', True),
    ('reason = "the file is not readable"', True),
    ('def f():\n    """A docstring of several words."""', False),
    ('if op in ("in", "not in"): pass', False),
    ('{"description": "Where the log keeps it."}', False),
    ('label = "not run"  # for CI tools: the same in every language', False),
    ("# the operators of the language, the same in every language\nOPS = {\"not_member\": \"not in\"}", False),
    ('raise MissingValue("no row")', False),
    ('found.append(Diagnostic(exc.code, str(exc).replace("that date", day), where))', True),
    ('found.append(Diagnostic(exc.code, exc.message, where))', False),
])
def test_the_search_for_untranslated_text_finds_words_and_leaves_names(code, found):
    assert bool(_untranslatable(code, "probe.py")) == found, _untranslatable(code, "probe.py")

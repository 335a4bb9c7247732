"""Parse stage: expression text → syntax tree, with positions mapped back to the policy file.

`parse(source)` returns an `Expr`; any problem raises `DiagnosticError` whose diagnostics say line,
column, what was found and what was expected, with the line and a caret. `to_source(expr)` prints a
tree back as text that parses to the same tree.
"""
from __future__ import annotations

import bisect
import io
import re
import sys
import unicodedata
from dataclasses import field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from engine.core import cachefiles
from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, line_starts, text_lines
from engine.core.i18n import joined, msg
from engine.core.isodate import parse_date
from engine.core.limits import LIMITS
from engine.core.records import dataclass

# ---------------------------------------------------------------------------------------------
# Limits. Expressions come from many officers; these bound what parsing and checking may cost.


@dataclass(frozen=True)
class LanguageLimits:
    max_length: int = LIMITS.expression_length
    max_depth: int = LIMITS.expression_depth
    max_nodes: int = LIMITS.expression_nodes
    max_digits: int = LIMITS.number_digits


class _LimitsInForce(LanguageLimits):
    """The limits of an expression in force (engine.core.limits.LIMITS) whenever one is parsed."""

    def __init__(self) -> None:
        pass

    max_length = property(lambda self: LIMITS.expression_length)
    max_depth = property(lambda self: LIMITS.expression_depth)
    max_nodes = property(lambda self: LIMITS.expression_nodes)
    max_digits = property(lambda self: LIMITS.number_digits)


DEFAULT_LIMITS: LanguageLimits = _LimitsInForce()

# ---------------------------------------------------------------------------------------------
# Syntax tree. `span` is (start, end) in the expression text; it takes no part in equality.

Span = tuple


@dataclass(frozen=True)
class Expr:
    span: Span = field(default=(0, 0), compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Literal(Expr):
    value: int | Decimal | str | bool | date | None
    kind: str  # int | decimal | string | bool | date | null


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class Attr(Expr):
    obj: Expr
    name: str


@dataclass(frozen=True)
class Index(Expr):
    obj: Expr
    keys: tuple


@dataclass(frozen=True)
class Call(Expr):
    func: Expr
    args: tuple


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # not | -
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class If(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True)
class ListLit(Expr):
    items: tuple


@dataclass(frozen=True)
class Comprehension(Expr):
    kind: str  # any | all | count | sum | filter
    var: str
    source: Expr
    body: Expr


def children(node: Expr) -> tuple:
    if isinstance(node, Attr):
        return (node.obj,)
    if isinstance(node, Index):
        return (node.obj, *node.keys)
    if isinstance(node, Call):
        return (node.func, *node.args)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, If):
        return (node.cond, node.then, node.orelse)
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, Comprehension):
        return (node.source, node.body)
    return ()


def dotted(node: Expr) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        base = dotted(node.obj)
        return f"{base}.{node.name}" if base else None
    return None


# ---------------------------------------------------------------------------------------------
# Source text and where each character of it sits in the file.


class SourceText:
    """An expression's text and the file position of each of its characters."""

    def __init__(self, text: str, file: str = "", file_text: str | None = None,
                 offsets: list[int] | None = None, line: int = 1, column: int = 1):
        self.text = text
        self.file = file
        self._file_text = file_text
        self._offsets = offsets  # char index in text -> char index in file_text
        self._line = line
        self._column = column
        self._line_starts: list[int] | None = None

    @classmethod
    def from_yaml_scalar(cls, file: str, file_text: str, node) -> SourceText:
        """Map a YAML scalar's value onto the raw text it came from (quotes, escapes, block indents, folding)."""
        start = node.start_mark.index
        raw = file_text[start:node.end_mark.index]
        value = node.value
        offsets: list[int] = []
        i = 0
        j = 1 if node.style in ("'", '"') else 0  # past the opening quote
        while i < len(value):
            if j >= len(raw):
                offsets.append(start + max(len(raw) - 1, 0))
                i += 1
            elif node.style == '"' and raw[j] == "\\" and j + 1 < len(raw) and raw[j + 1] != "\n":
                offsets.append(start + j + 1)  # one escape stands for one character: point at \"'s quote
                i += 1
                j += 2 + {"x": 2, "u": 4, "U": 8}.get(raw[j + 1], 0)
            elif node.style == "'" and raw[j] == "'" and raw[j + 1:j + 2] == "'":
                offsets.append(start + j)
                i += 1
                j += 2
            elif raw[j] == value[i]:
                offsets.append(start + j)
                i += 1
                j += 1
            elif value[i] in " \n":  # a folded line break: the value has a character the raw text does not
                offsets.append(start + j)
                i += 1
            else:  # block indicators, indentation and escaped line breaks exist only in the raw text
                j += 1
        return cls(value, file, file_text, offsets)

    def _file_lines(self) -> list[int]:
        if self._line_starts is None:
            text = self._file_text if self._file_text is not None else self.text
            self._line_starts = line_starts(text)
        return self._line_starts

    def location(self, offset: int) -> Location:
        if self._offsets is not None and self._file_text is not None:
            if not self._offsets:
                index = 0
            else:
                index = self._offsets[min(max(offset, 0), len(self._offsets) - 1)]
                if offset >= len(self._offsets):
                    index += 1
            starts = self._file_lines()
            line = bisect.bisect_right(starts, index)
            return Location(self.file, line, index - starts[line - 1] + 1)
        starts = self._file_lines()
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(starts, offset)
        column = offset - starts[line - 1] + 1
        if line == 1:
            column += self._column - 1
        return Location(self.file, line + self._line - 1, column)

    def source_line(self, location: Location) -> str | None:
        text = self._file_text if self._file_text is not None else self.text
        lines = text_lines(text)  # as locations count lines (LF, CRLF, CR; not U+2028 or form feeds)
        index = location.line - (self._line - 1 if self._file_text is None else 0)
        if self._file_text is None and location.line == self._line:
            return " " * (self._column - 1) + lines[0] if lines else ""
        return lines[index - 1] if 0 < index <= len(lines) else None

    def diagnostic(self, code: str, message: str, offset: int, hint: str | None = None,
                   clause: str | None = None, severity: str = "error") -> Diagnostic:
        loc = self.location(offset)
        return Diagnostic(code, message, loc, clause=clause, severity=severity,
                          source_line=self.source_line(loc), hint=hint)


# ---------------------------------------------------------------------------------------------
# Parsing.

KEYWORDS = frozenset({"and", "or", "not", "in", "if", "then", "else", "true", "false", "null", "any", "all", "count",
                      "filter", "sum", "for", "where"})

# The full-width forms of ASCII (U+FF01-FF5E) and the punctuation a Chinese input method types in their
# place. They are never part of a name, so that `在本市（r）` or `age >= １６` is reported with the ASCII to write.
_FULL_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {
    "\u3000": " ", "、": ",", "。": ".", "“": '"', "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]", "《": "<",
    "》": ">"}


@lru_cache(maxsize=1)
def _identifier_classes() -> tuple[str, str]:
    """Regex classes of the characters str.isidentifier() accepts first in a name, and after the first.

    Python's `re` has no \\p{XID_Start}, so the characters are listed. They lie in Unicode planes 0-3 and
    in plane 14 (variation selectors); the other planes are unassigned or private use. Listing them (a
    tenth of a second) is remembered: a process that builds the parser again (its cache file spoilt) lists once."""
    first, rest = [], []
    for code in (*range(0x40000), *range(0xE0000, 0xE1000)):
        ch = chr(code)
        if ch in _FULL_WIDTH:
            continue
        if ch.isidentifier():
            first.append(code)
        if ("a" + ch).isidentifier():
            rest.append(code)
    return _character_class(first), _character_class(rest)


def _character_class(codes: list[int]) -> str:
    parts, start = [], 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[i - 1] + 1:
            low, high = codes[start], codes[i - 1]
            parts.append(f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}")
            start = i
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=1)
def _parser():
    """The expression parser. Listing the identifier characters and building the LALR tables cost a process
    about 100 ms, so the built parser is remembered in the cache folder (engine/core/cachefiles.py), named by a
    digest of what it is built from: the grammar, this module (which lists the characters), the Lark version
    and the Python version (whose Unicode tables decide the characters). A file that does not load is ignored
    and the parser is built again."""
    import lark  # imported on first parse: a start from the cache parses nothing

    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    path = _parser_file(grammar, lark.__version__)
    if path is not None:
        data = cachefiles.read_private(path)
        if data is not None and data[:_DIGEST] == path.name.encode():
            try:
                return lark.Lark.load(io.BytesIO(data[_DIGEST:]))
            except Exception:  # noqa: BLE001 - a corrupt or foreign file is ignored, whatever it raises
                pass
    first, rest = _identifier_classes()
    grammar = grammar.replace(r"\p{XID_Start}", first).replace(r"\p{XID_Continue}", rest)
    parser = lark.Lark(grammar, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=True)
    if path is not None:
        def dump(handle) -> None:
            handle.write(path.name.encode())
            parser.save(handle)

        cachefiles.write(path, dump, "parser-*.lark")
    return parser


_DIGEST = len("parser-") + 40 + len(".lark")  # a cache file starts with its own name: a renamed file is ignored


def _parser_file(grammar: str, lark_version: str) -> Path | None:
    if not cachefiles.enabled():
        return None
    import hashlib  # only when parsing: importing it (OpenSSL) costs a start from the cache

    made_of = "\0".join([grammar, Path(__file__).read_text(encoding="utf-8"), lark_version, sys.version])
    digest = hashlib.sha256(made_of.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return cachefiles.cache_dir() / f"parser-{digest}.lark"


def is_name(text: str) -> bool:
    """Whether `text` can be written as a name in an expression and be read back unchanged."""
    return (text.isidentifier() and text not in KEYWORDS and unicodedata.normalize("NFC", text) == text
            and not any(ch in _FULL_WIDTH for ch in text) and deceptive_name(text) is None)


_WORDS = {
    "NAME": msg("a name"), "INT": msg("a whole number"), "DECIMAL": msg("a decimal number"), "DATE": msg("a date"),
    "STRING": msg("a quoted string"), "COMPARE": msg("a comparison (==, !=, <, <=, >, >=)"),
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "DOT": "'.'",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "$END": msg("the end"),
}
# Terminals that can begin a value: where the parser expects one of these, a value is missing.
_VALUE_START = {"NAME", "INT", "DECIMAL", "DATE", "STRING", "LPAR", "LSQB", "MINUS", "TRUE", "FALSE", "NULL",
                "ANY", "ALL", "COUNT", "FILTER", "SUM", "NOT", "IF"}
_COMPREHENSIONS = {"ANY", "ALL", "COUNT", "FILTER", "SUM"}
# Forms that can begin a value only at the loosest level: `a + if …` and `a == not b` need brackets (the language's
# own words, the same in every language).
_NEEDS_PARENTHESES = {"IF": ("if … then … else …", "[1] + (if flag then [] else [2])"),
                      "NOT": ("not …", "a == (not b)")}


def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    terminal = next((t for t in _parser().terminals if t.name == name), None)
    if terminal is not None and terminal.pattern.type == "str":
        return f"'{terminal.pattern.value}'"
    return name.lower()


def _expected_words(expected) -> str:
    if "NAME" in expected and "INT" not in expected:  # after '.', or the variable of a comprehension
        return msg("a name")
    words = sorted({_describe_terminal(n) for n in expected})
    if len(words) <= 8:
        return joined(words)
    if {"NAME", "INT", "STRING"} & set(expected):
        return msg("an expression (a name, a number, a string, a date or '(')")
    return msg("an operator, a closing bracket or the end")


# Characters a name may hold that show as nothing: Hangul fillers (letters to Python) and the like.
_INVISIBLE_IN_NAMES = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u180b", "\u180c", "\u180d", "\u180e"}
_LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")
_SCRIPT_WORDS = {"LATIN": msg("Latin"), "CYRILLIC": msg("Cyrillic"), "GREEK": msg("Greek"),
                 "ARMENIAN": msg("Armenian"), "CHEROKEE": msg("Cherokee"), "COPTIC": msg("Coptic")}


def deceptive_name(name: str) -> str | None:
    """Why a name could read as another to an auditor, or None: an invisible character in it, or letters of two
    alphabets that share look-alike letters (Cyrillic а for Latin a). Chinese beside Latin is fine."""
    for ch in name:
        if ch in _INVISIBLE_IN_NAMES:
            return msg("the name {name} holds U+{code:04X} ({character}), which shows as nothing", name=repr(name),
                       code=ord(ch), character=unicodedata.name(ch, "unnamed"))
    scripts = []
    for ch in name:
        if ch.isalpha():
            script = unicodedata.name(ch, "").split(" ", 1)[0]
            if script in _LOOKALIKE_SCRIPTS and script not in scripts:
                scripts.append(script)
    if len(scripts) > 1:
        odd = next(ch for ch in name if ch.isalpha() and unicodedata.name(ch, "").startswith(scripts[1]))
        return msg("the name {name} mixes {first} and {second} letters ({odd} is U+{code:04X} {character}): it may "
                   "read as another name", name=repr(name), first=_SCRIPT_WORDS[scripts[0]],
                   second=_SCRIPT_WORDS[scripts[1]], odd=repr(odd), code=ord(odd), character=unicodedata.name(odd, ""))
    return None


# The parser's trees of recent short expressions: a policy's expressions are parsed again on every reload (the
# language server on each keystroke, `check --watch` on each save, every version that repeats its parent's rules),
# and parsing is most of reading a policy. The tree holds no position but within its text, so one tree serves
# every file that has the text; size and count are bounded so that hostile files cannot grow it.
_REMEMBERED_LENGTH = 500


@lru_cache(maxsize=2048)
def _tree_of(text: str):
    return _parser().parse(text)


def parse(source: SourceText | str, limits: LanguageLimits = DEFAULT_LIMITS) -> Expr:
    if isinstance(source, str):
        source = SourceText(source)
    text = source.text
    if len(text) > limits.max_length:
        raise DiagnosticError([source.diagnostic(
            "syntax.too_long", msg("the expression is {length} characters long; the limit is {limit}",
                                   length=len(text), limit=limits.max_length), 0)])
    if not text.strip():
        raise DiagnosticError([source.diagnostic("syntax.empty", msg("the expression is empty"), 0)])
    from lark.exceptions import UnexpectedInput

    try:
        tree = _tree_of(text) if len(text) <= _REMEMBERED_LENGTH else _parser().parse(text)
    except UnexpectedInput as exc:
        raise DiagnosticError([_syntax_diagnostic(source, exc)]) from None
    # the values in force now, as plain fields: the builder looks at them for every node
    fixed = LanguageLimits(limits.max_length, limits.max_depth, limits.max_nodes, limits.max_digits)
    return _Builder(source, fixed).build(tree)


# -- what a parse error says -----------------------------------------------------------------------

_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_OPERATOR_CHARACTERS = "<>=!&|"
# What an officer most likely meant by a symbol the language does not have.
_OPERATOR_FIXES = {"=": "==", "===": "==", "=>": ">=", "=<": "<=", "<>": "!=", "><": "!=", "=!": "!=", "!==": "!=",
                   "!": "not", "&": "and", "&&": "and", "|": "or", "||": "or", "≥": ">=", "≤": "<=", "≠": "!=",
                   "×": "*", "÷": "/", "−": "-"}
_OPERATOR_MEANINGS = {"==": msg("equal to"), "!=": msg("not equal to"), ">=": msg("at least"), "<=": msg("at most")}
_WHERE_HINT = msg("a condition in any(), all(), count() or filter() follows 'where': count(g in history where ...)")
_CHARACTER_HINTS = {":": _WHERE_HINT, "\xa0": msg("this is a non-breaking space: write an ordinary space")}
# Characters the language uses; a full-width form of any other ASCII character has no ASCII fix.
_LANGUAGE_CHARACTERS = set("()[],.+-*/<>=!?'\"#_ ") | set("0123456789") | set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _syntax_diagnostic(source: SourceText, exc) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF

    if isinstance(exc, UnexpectedCharacters):  # what the parser could take here, not every terminal there is
        assert exc.pos_in_stream is not None  # lark always places an unexpected character
        return _character_diagnostic(source, exc.pos_in_stream, set(exc.state.parse_conf.states[exc.state.position]))
    if isinstance(exc, UnexpectedEOF) or exc.token.type == "$END":
        last = _token_before(source.text, len(source.text))
        if last is not None and last.type in _COMPREHENSIONS:
            return _keyword_as_name(source, last)
        return source.diagnostic(
            "syntax.incomplete", msg("the expression ends too early; expected {words}",
                                     words=_expected_words(exc.expected)),
            len(source.text.rstrip()))
    return _token_diagnostic(source, exc.token, set(exc.expected))


CHINESE_WORDS = {"且": "and", "并且": "and", "而且": "and", "和": "and", "或": "or", "或者": "or", "非": "not",
                  "不": "not", "等于": "==", "不等于": "!=", "大于": ">", "小于": "<", "属于": "in", "包含": "in"}


def _token_diagnostic(source: SourceText, token, expected: set) -> Diagnostic:
    text, at, word = source.text, token.start_pos, str(token)
    if token.type == "COMPARE":
        start, symbol = _operator_run(text, at)
        if symbol not in _COMPARISONS:
            return _operator_diagnostic(source, start, symbol)
    previous = _token_before(text, at)
    if previous is not None and previous.type in _COMPREHENSIONS and expected == {"LPAR"}:
        return _keyword_as_name(source, previous)
    value_expected = "INT" in expected
    if value_expected and token.type in _NEEDS_PARENTHESES:
        form, example = _NEEDS_PARENTHESES[token.type]
        return source.diagnostic("syntax.parentheses", msg("'{form}' needs parentheses here", form=form), at,
                                 hint=msg("inside a larger expression write ({form}), as in {example}", form=form,
                                          example=example))
    if value_expected and token.type not in _VALUE_START:
        where = msg("between '{before}' and '{after}'", before=str(previous), after=word) if previous is not None \
            else msg("before '{after}'", after=word)
        hint = msg("'{word}' is a word of the language, so it cannot be a name", word=word) if word in KEYWORDS \
            else None
        return source.diagnostic("syntax.missing", msg("a value is missing {where}", where=where), at, hint=hint)
    if expected == {"NAME"} and word in KEYWORDS:
        return source.diagnostic("syntax.keyword", msg("'{word}' is a word of the language, not a name", word=word), at)
    hint = (msg("comparisons do not chain: join them with 'and', as in a <= b and b <= c")
            if token.type == "COMPARE" else None)
    if word in CHINESE_WORDS:  # the officer wrote the notice's word for an operator of the language
        hint = msg("the language writes {word} as {operator}", word=repr(word), operator=CHINESE_WORDS[word])
    elif previous is not None and str(previous) in CHINESE_WORDS:  # `非 x`: the word read as a name, x unexpected
        hint = msg("the language writes {word} as {operator}", word=repr(str(previous)),
                   operator=CHINESE_WORDS[str(previous)])
    elif word == "," and previous is not None and previous.type == "INT" and re.match(r",\d{3}(?!\d)", text[at:]):
        # `1,000`: a thousands separator, which no number of the language has
        number = re.match(r"\d+(?:,\d{3})+(?:\.\d+)?", text[previous.start_pos:])
        written = number.group() if number else str(previous) + text[at:at + 4]
        hint = msg("a number is written without thousands separators: {number}", number=written.replace(",", ""))
    elif previous is not None and previous.type == "INT" and re.match(r"\d{4}年", text[previous.start_pos:]):
        day = re.match(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text[previous.start_pos:])  # `2024年2月3日`
        hint = msg("a date is written YYYY-MM-DD: {date}", date=f"{day[1]}-{int(day[2]):02d}-{int(day[3]):02d}") \
            if day else msg("a date is written YYYY-MM-DD, as 2024-05-01")
    return source.diagnostic(
        "syntax.unexpected", msg("unexpected {word}; expected {words}", word=repr(word),
                                 words=_expected_words(expected)), at, hint=hint)


def _keyword_as_name(source: SourceText, token) -> Diagnostic:
    """`count + 1`: a word that begins a comprehension, written as if it were a definition's name."""
    form = "sum(g.amount for g in history)" if token.type == "SUM" else f"{token}(g in history where ...)"
    return source.diagnostic("syntax.keyword", msg("'{word}' is a word of the language, not a name", word=str(token)),
                             token.start_pos, hint=msg("'{word}' begins {form}; give your definition another name",
                                                       word=str(token), form=form))


def _token_before(text: str, offset: int):
    """The last token before `offset`, or None when there is none."""
    from lark.exceptions import UnexpectedInput

    last = None
    try:
        for last in _parser().lex(text[:offset]):  # noqa: B007 - the loop keeps the last token
            pass
    except UnexpectedInput:  # the text before a token always lexes; this is only a guard
        return None
    return last


def _operator_run(text: str, offset: int) -> tuple[int, str]:
    """The run of operator characters around `offset`: its start and its text (`=>` in `n => 1`)."""
    start = offset
    while start > 0 and text[start - 1] in _OPERATOR_CHARACTERS:
        start -= 1
    end = offset
    while end < len(text) and text[end] in _OPERATOR_CHARACTERS:
        end += 1
    return start, text[start:end]


def _operator_diagnostic(source: SourceText, offset: int, symbol: str) -> Diagnostic:
    fix = _OPERATOR_FIXES.get(symbol)
    if fix is None:
        hint = msg("the comparisons are ==, !=, <, <=, >, >=")
    else:
        meaning = _OPERATOR_MEANINGS.get(fix)
        hint = msg("write '{fix}' for '{meaning}'", fix=fix, meaning=meaning) if meaning \
            else msg("write '{fix}'", fix=fix)
    return source.diagnostic("syntax.operator", msg("'{symbol}' is not an operator of the language", symbol=symbol),
                             offset, hint=hint)


def _character_diagnostic(source: SourceText, offset: int, allowed) -> Diagnostic:
    text = source.text
    found = text[offset]
    if found in _FULL_WIDTH:
        return _full_width_diagnostic(source, offset)
    if found in _OPERATOR_CHARACTERS:
        return _operator_diagnostic(source, *_operator_run(text, offset))
    if found in _OPERATOR_FIXES:  # ≥ ≤ ≠ × ÷ −
        return _operator_diagnostic(source, offset, found)
    if found in "\"'":
        return source.diagnostic(
            "syntax.string", msg("this string has no closing {quote}", quote=found), offset,
            hint=msg("a string ends with the quote it began with, {quote}, on the same line", quote=found))
    return source.diagnostic(
        "syntax.character", msg("unexpected character {character}; expected {words}", character=_show(found),
                                words=_expected_words(allowed)), offset,
        hint=_CHARACTER_HINTS.get(found))


def _full_width_diagnostic(source: SourceText, offset: int) -> Diagnostic:
    text = source.text
    if text[offset] == "\u3000":
        return source.diagnostic("syntax.full_width", msg("full-width space (U+3000): write an ordinary space instead"),
                                 offset, hint=_IME_HINT)
    end = offset
    while end < len(text) and text[end] in _FULL_WIDTH and text[end] != "\u3000":
        end += 1
    found = text[offset:end]
    ascii_text = "".join(_FULL_WIDTH[ch] for ch in found)
    # `！=` needs only its '!' replaced; a lone `＝` or `＆` needs the operator it stands for.
    joined = text[offset - 1:offset] in _OPERATOR_CHARACTERS or text[end:end + 1] in _OPERATOR_CHARACTERS
    fix = ascii_text if joined else _OPERATOR_FIXES.get(ascii_text, ascii_text)
    if not set(fix) <= _LANGUAGE_CHARACTERS:  # `：`: the ASCII `:` is no use either
        return source.diagnostic("syntax.full_width", msg("full-width {found}: the language has no {ascii}",
                                                          found=repr(found), ascii=repr(ascii_text)),
                                 offset, hint=_CHARACTER_HINTS.get(ascii_text, _IME_HINT))
    return source.diagnostic("syntax.full_width", msg("full-width {found}: write {fix} instead", found=repr(found),
                                                      fix=repr(fix)), offset, hint=_IME_HINT)


_IME_HINT = msg("a Chinese input method in full-width (全角) mode typed it; write expressions in half-width (半角)")


def _show(ch: str) -> str:
    """A character as an officer can read it in a message: quoted, or by its Unicode name when invisible."""
    if ch.isprintable() and not unicodedata.category(ch).startswith(("M", "Z")):
        return repr(ch)
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte standard input could not decode, kept by surrogateescape
        return msg("0x{byte}, a byte that is not UTF-8", byte=f"{ord(ch) - 0xDC00:02X}")
    name = unicodedata.name(ch, "")
    if not name:  # control characters have no name of their own
        return msg("U+{code} (a control character)", code=f"{ord(ch):04X}")
    return f"U+{ord(ch):04X} ({name.lower()})"


# -- from the parser's tree to Expr -----------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE_RX = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")

# the language's own words, the same in every language
_BINARY = {"or_op": "or", "and_op": "and", "member": "in", "not_member": "not in", "default": "??",
           "add": "+", "sub": "-", "mul": "*", "div": "/"}
# Parentheses, comments and blanks between an operand and the operator after it.
_GAP_RX = re.compile(r"(?:\s|\)|#[^\n]*)*")


class _Builder:
    """Turns the parser's tree into an Expr, and enforces the size and depth limits on it.

    Iterative, so that a deep expression cannot exhaust Python's stack before the depth limit says no."""

    def __init__(self, source: SourceText, limits: LanguageLimits):
        self.source = source
        self.limits = limits
        self.count = 0

    def fail(self, code: str, message: str, offset: int, hint: str | None = None):
        raise DiagnosticError([self.source.diagnostic(code, message, offset, hint=hint)])

    def build(self, root) -> Expr:
        from lark import Tree

        done: dict[int, object] = {}  # id(tree) -> its Expr (or tuple of Expr, for arguments)
        stack = [(root, False)]
        while stack:
            tree, ready = stack.pop()
            if not ready:
                stack.append((tree, True))
                stack.extend((c, False) for c in reversed(tree.children) if isinstance(c, Tree))
                continue
            parts = [done.pop(id(c)) if isinstance(c, Tree) else c for c in tree.children]
            done[id(tree)] = self.node(tree, parts)
        expr = done[id(root)]
        assert isinstance(expr, Expr)  # the grammar's start rule is an expression
        self.check_depth(expr)
        return expr

    def node(self, t, c: list):
        if t.data == "arguments":
            return tuple(c)
        if t.data == "quantifier":
            return str(c[0])
        if t.data == "field":
            return self.identifier(c[0])
        self.count += 1
        if self.count > self.limits.max_nodes:
            self.fail("syntax.too_large", msg("the expression has more than {limit} parts",
                                              limit=self.limits.max_nodes), 0,
                      hint=msg("split it into named definitions"))
        span = (t.meta.start_pos, t.meta.end_pos) if not t.meta.empty else (0, 0)
        kind = t.data
        if kind in _BINARY:
            return Binary(_BINARY[kind], c[0], c[1], span=span)
        if kind == "compare":
            return Binary(str(c[1]), c[0], c[2], span=span)
        if kind == "not_op":
            return Unary("not", c[0], span=span)
        if kind == "neg":
            return Unary("-", c[0], span=span)
        if kind == "if_expr":
            return If(c[0], c[1], c[2], span=span)
        if kind == "attr":
            return Attr(c[0], c[1], span=span)
        if kind == "index":
            return Index(c[0], c[1], span=span)
        if kind == "call":
            return Call(c[0], c[1] or (), span=span)
        if kind == "list":
            return ListLit(c[0] or (), span=span)
        if kind == "comprehension":
            return Comprehension(c[0], self.identifier(c[1]), c[2], c[3], span=span)
        if kind == "sum_of":
            return Comprehension("sum", self.identifier(c[1]), c[2], c[0], span=span)
        if kind in ("true", "false"):
            return Literal(kind == "true", "bool", span=span)
        if kind == "null":
            return Literal(None, "null", span=span)
        if kind in ("date", "decimal", "int", "string", "name"):
            return self.token(c[0], kind)
        raise AssertionError(f"grammar rule without a tree builder: {kind}")  # pragma: no cover

    def identifier(self, tok) -> str:
        # Two spellings of one visible name (é as one character, or e and a combining accent) are one name.
        name = unicodedata.normalize("NFC", str(tok))
        problem = deceptive_name(name)
        if problem is not None:  # Trojan Source (CVE-2021-42574): auditors read names as they look
            self.fail("syntax.confusable", problem, getattr(tok, "start_pos", 0),
                      hint=msg("write the name in one script, with no invisible characters"))
        return name

    def token(self, tok, kind: str) -> Expr:
        text = str(tok)
        span = (tok.start_pos, tok.end_pos)
        if kind == "name":
            return Name(self.identifier(tok), span=span)
        if kind in ("int", "decimal"):
            if sum(ch.isdigit() for ch in text) > self.limits.max_digits:
                self.fail("syntax.number_too_large",
                          msg("the number has more than {limit} digits", limit=self.limits.max_digits),
                          tok.start_pos)
            if re.match(r"0[0-9]", text):
                self.fail("syntax.number", msg("{text} is not a number: a number does not start with 0", text=text),
                          tok.start_pos, hint=msg("write {number}; a date is written in full, as 2024-05-01",
                                                  number=re.sub(r"^0+(?=[0-9])", "", text)))
            if kind == "int":
                return Literal(int(text), "int", span=span)
            return Literal(Decimal(text), "decimal", span=span)
        if kind == "date":
            try:
                return Literal(parse_date(text), "date", span=span)
            except ValueError:
                self.fail("syntax.date", msg("{text} is not a calendar date", text=text), tok.start_pos)
        if kind == "string":
            return Literal(self.unquote(text, tok.start_pos), "string", span=span)
        raise AssertionError(f"token without a builder: {tok.type}")  # pragma: no cover

    def check_depth(self, root: Expr) -> None:
        """Refuse nesting deeper than the limit, saying what the deepest part is made of and where.

        The measure is the syntax tree's height, which is how deep checking and evaluating recurse: each
        operator, call, field, lookup, list, `if` and comprehension is one level (a + b + c is two, one per
        '+'), and parentheses are none."""
        height: dict[int, int] = {}
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if ready:
                height[id(node)] = max((height[id(c)] + 1 for c in children(node)), default=0)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in children(node))
        if height[id(root)] <= self.limits.max_depth:
            return
        path = [root]
        while children(path[-1]):
            path.append(max(children(path[-1]), key=lambda c: height[id(c)]))
        levels = [_level_name(node) for node in path[:-1]]
        counts = sorted(((levels.count(name), name) for name in dict.fromkeys(levels)), key=lambda p: -p[0])
        made_of = joined([msg("{count} {name}", count=n, name=name) for n, name in counts[:3]]
                         + (["…"] if len(counts) > 3 else []))
        self.fail("syntax.too_deep",
                  msg("the expression nests deeper than {limit} levels: {count} here ({made_of})",
                      limit=self.limits.max_depth, count=len(levels), made_of=made_of),
                  self.operator_offset(path[self.limits.max_depth]),
                  hint=msg("each operator, call, field, lookup and list counts one level (a + b + c is two) and "
                           "parentheses count none; give part of it a name under definitions and use the name here"))

    def operator_offset(self, node: Expr) -> int:
        """Where a node's own symbol is: after its left operand for `a + b`, `a.b`, `a[k]`, `f(x)`; else its start."""
        if isinstance(node, (Binary, Attr, Index, Call)):
            first = (node.left if isinstance(node, Binary)
                     else node.obj if isinstance(node, (Attr, Index)) else node.func)
            gap = _GAP_RX.match(self.source.text, first.span[1])
            return gap.end() if gap else first.span[1]
        return node.span[0]

    def unquote(self, text: str, offset: int) -> str:
        def replace(m: re.Match) -> str:
            esc = m.group(1)
            if esc[0] == "u" and len(esc) == 5:
                if 0xD800 <= int(esc[1:], 16) <= 0xDFFF:  # half of a UTF-16 pair: no output could hold it
                    self.fail("syntax.escape", msg("\\{esc} is half of a UTF-16 pair (a lone surrogate), not a "
                                                   "character", esc=esc), offset + 1 + m.start(),
                              hint=msg("write the character itself"))
                return chr(int(esc[1:], 16))
            if esc in _ESCAPES:
                return _ESCAPES[esc]
            self.fail("syntax.escape", msg("unknown escape \\{escape} in a string", escape=esc), offset + 1 + m.start(),
                      hint=msg("write \\\\ for a backslash"))
            return ""  # pragma: no cover

        return _ESCAPE_RX.sub(replace, text[1:-1])


def _level_name(node: Expr) -> str:
    if isinstance(node, (Binary, Unary)):
        return f"'{node.op}'"
    if isinstance(node, Comprehension):
        return f"{node.kind}()"
    return {Attr: "'.'", Index: msg("lookup [...]"), Call: msg("call"), ListLit: msg("list [...]"),
            If: "'if'"}[type(node)]


# ---------------------------------------------------------------------------------------------
# Printing. Parenthesises exactly where the grammar needs it, so print → parse is the identity.

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
               "in": 4, "not in": 4, "??": 5, "+": 6, "-": 6, "*": 7, "/": 7}
_NEG, _POSTFIX, _ATOM = 8, 9, 10


def _precedence(node: Expr) -> int:
    if isinstance(node, If):
        return 0
    if isinstance(node, Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, Unary):
        return 3 if node.op == "not" else _NEG
    if isinstance(node, (Attr, Index, Call)):
        return _POSTFIX
    if isinstance(node, Literal) and isinstance(node.value, (int, Decimal)) and node.value < 0:
        return _NEG
    return _ATOM


def to_source(node: Expr) -> str:
    def wrap(child: Expr, minimum: int) -> str:
        text = to_source(child)
        return f"({text})" if _precedence(child) < minimum else text

    if isinstance(node, Literal):
        return _literal(node)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        return f"{wrap(node.obj, _POSTFIX)}.{node.name}"
    if isinstance(node, Index):
        return f"{wrap(node.obj, _POSTFIX)}[{', '.join(to_source(k) for k in node.keys)}]"
    if isinstance(node, Call):
        return f"{wrap(node.func, _POSTFIX)}({', '.join(to_source(a) for a in node.args)})"
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {wrap(node.operand, 3)}"
        return f"-{wrap(node.operand, _NEG)}"
    if isinstance(node, Binary):
        p = _PRECEDENCE[node.op]
        if p == 4:  # comparisons do not chain
            return f"{wrap(node.left, 5)} {node.op} {wrap(node.right, 5)}"
        if node.op == "??":  # right-associative
            return f"{wrap(node.left, 6)} ?? {wrap(node.right, 5)}"
        return f"{wrap(node.left, p)} {node.op} {wrap(node.right, p + 1)}"
    if isinstance(node, If):
        return f"if {to_source(node.cond)} then {to_source(node.then)} else {to_source(node.orelse)}"
    if isinstance(node, ListLit):
        return f"[{', '.join(to_source(i) for i in node.items)}]"
    if isinstance(node, Comprehension):
        if node.kind == "sum":
            return f"sum({to_source(node.body)} for {node.var} in {to_source(node.source)})"
        return f"{node.kind}({node.var} in {to_source(node.source)} where {to_source(node.body)})"
    raise TypeError(f"not an expression: {node!r}")


def _literal(node: Literal) -> str:
    if node.kind == "bool":
        return "true" if node.value else "false"
    if node.kind == "null":
        return "null"
    if isinstance(node.value, date):
        return node.value.isoformat()
    if isinstance(node.value, str):
        escaped = node.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        escaped = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\r]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
        return f'"{escaped}"'
    if node.kind == "decimal":
        text = format(node.value, "f")
        return text if "." in text else text + ".0"
    return str(node.value)

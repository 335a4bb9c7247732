"""Parse stage: expression text → syntax tree, with positions mapped back to the policy file.

`parse(source)` returns an `Expr`; any problem raises `DiagnosticError` whose diagnostics say line,
column, what was found and what was expected, with the line and a caret. `to_source(expr)` prints a
tree back as text that parses to the same tree.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from .diagnostics import Diagnostic, DiagnosticError, Location
from .isodate import parse_date
from .limits import LIMITS

# ---------------------------------------------------------------------------------------------
# Limits. Expressions come from many officers; these bound what parsing and checking may cost.


@dataclass(frozen=True)
class LanguageLimits:
    max_length: int = LIMITS.expression_length
    max_depth: int = LIMITS.expression_depth
    max_nodes: int = LIMITS.expression_nodes
    max_digits: int = LIMITS.number_digits


DEFAULT_LIMITS = LanguageLimits()

# ---------------------------------------------------------------------------------------------
# Syntax tree. `span` is (start, end) in the expression text; it takes no part in equality.

Span = tuple


@dataclass(frozen=True)
class Expr:
    span: Span = field(default=(0, 0), compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Literal(Expr):
    value: object
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
    def from_yaml_scalar(cls, file: str, file_text: str, node) -> "SourceText":
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
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
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
        lines = text.split("\n")  # lines count "\n" only, as locations do (not U+2028 or form feeds)
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


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark  # imported on first parse: a start from the cache parses nothing

    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


_WORDS = {
    "NAME": "a name", "INT": "a whole number", "DECIMAL": "a decimal number", "DATE": "a date",
    "STRING": "a quoted string", "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "DOT": "'.'",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "$END": "the end",
    "__ANON_0": "'??'",
}


def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    terminal = next((t for t in _parser().terminals if t.name == name), None)
    if terminal is not None and terminal.pattern.type == "str":
        return f"'{terminal.pattern.value}'"
    return name.lower()


def _expected_words(expected) -> str:
    words = sorted({_describe_terminal(n) for n in expected})
    if len(words) <= 8:
        return ", ".join(words)
    if {"NAME", "INT", "STRING"} & set(expected):
        return "an expression (a name, a number, a string, a date or '(')"
    return "an operator, a closing bracket or the end"


def parse(source: SourceText | str, limits: LanguageLimits = DEFAULT_LIMITS) -> Expr:
    if isinstance(source, str):
        source = SourceText(source)
    text = source.text
    if len(text) > limits.max_length:
        raise DiagnosticError([source.diagnostic(
            "syntax.too_long", f"the expression is {len(text)} characters long; the limit is {limits.max_length}", 0)])
    if not text.strip():
        raise DiagnosticError([source.diagnostic("syntax.empty", "the expression is empty", 0)])
    from lark.exceptions import UnexpectedInput

    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise DiagnosticError([_syntax_diagnostic(source, exc)]) from None
    _check_shape(tree, source, limits)
    return _Builder(source, limits).build(tree)


def _syntax_diagnostic(source: SourceText, exc) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        found = source.text[exc.pos_in_stream]
        hints = {":": "a condition in any(), all(), count() or filter() follows 'where': count(g in history where ...)",
                 "=": "test equality with '=='", "&": "write 'and'", "|": "write 'or'", "!": "write 'not'"}
        return source.diagnostic(
            "syntax.character", f"unexpected character {found!r}; expected {_expected_words(exc.allowed)}",
            exc.pos_in_stream, hint=hints.get(found))
    if isinstance(exc, UnexpectedEOF):
        return source.diagnostic(
            "syntax.incomplete", f"the expression ends too early; expected {_expected_words(exc.expected)}",
            len(source.text.rstrip()))
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return source.diagnostic(
                "syntax.incomplete", f"the expression ends too early; expected {_expected_words(exc.expected)}",
                len(source.text.rstrip()))
        hint = None
        if token.type == "COMPARE":
            hint = "comparisons do not chain: join them with 'and', as in a <= b and b <= c"
        elif str(token) == ":":
            hint = "a condition in any(), all(), count() or filter() follows 'where': count(g in history where ...)"
        elif str(token) == "=":
            hint = "test equality with '=='"
        return source.diagnostic(
            "syntax.unexpected", f"unexpected {str(token)!r}; expected {_expected_words(exc.expected)}",
            token.start_pos, hint=hint)
    return source.diagnostic("syntax.error", str(exc), 0)


def _check_shape(tree, source: SourceText, limits: LanguageLimits) -> None:
    from lark import Tree

    # Iterative, so that a hostile expression cannot exhaust the Python stack before we say no.
    stack = [(tree, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > limits.max_depth:
            raise DiagnosticError([source.diagnostic(
                "syntax.too_deep", f"the expression nests deeper than {limits.max_depth} levels",
                node.meta.start_pos if not node.meta.empty else 0,
                hint="split it into named definitions")])
        if count > limits.max_nodes:
            raise DiagnosticError([source.diagnostic(
                "syntax.too_large", f"the expression has more than {limits.max_nodes} parts", 0,
                hint="split it into named definitions")])
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))


KEYWORDS = frozenset({"and", "or", "not", "in", "if", "then", "else", "true", "false", "null", "any", "all", "count",
                      "filter", "sum", "for", "where"})

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE_RX = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")

_BINARY = {"or_op": "or", "and_op": "and", "member": "in", "not_member": "not in", "default": "??",
           "add": "+", "sub": "-", "mul": "*", "div": "/"}


class _Builder:
    def __init__(self, source: SourceText, limits: LanguageLimits):
        from lark import Token

        self.source = source
        self.limits = limits
        self.token_class = Token

    def fail(self, code: str, message: str, offset: int, hint: str | None = None):
        raise DiagnosticError([self.source.diagnostic(code, message, offset, hint=hint)])

    def build(self, t) -> Expr:
        if isinstance(t, self.token_class):
            return self.token(t)
        span = (t.meta.start_pos, t.meta.end_pos) if not t.meta.empty else (0, 0)
        kind = t.data
        c = t.children
        if kind in _BINARY:
            return Binary(_BINARY[kind], self.build(c[0]), self.build(c[1]), span=span)
        if kind == "compare":
            return Binary(str(c[1]), self.build(c[0]), self.build(c[2]), span=span)
        if kind == "not_op":
            return Unary("not", self.build(c[0]), span=span)
        if kind == "neg":
            return Unary("-", self.build(c[0]), span=span)
        if kind == "if_expr":
            return If(self.build(c[0]), self.build(c[1]), self.build(c[2]), span=span)
        if kind == "attr":
            return Attr(self.build(c[0]), str(c[1]), span=span)
        if kind == "index":
            return Index(self.build(c[0]), self.arguments(c[1]), span=span)
        if kind == "call":
            return Call(self.build(c[0]), self.arguments(c[1]), span=span)
        if kind == "list":
            return ListLit(self.arguments(c[0]), span=span)
        if kind == "comprehension":
            return Comprehension(str(c[0].children[0]), str(c[1]), self.build(c[2]), self.build(c[3]), span=span)
        if kind == "sum_of":
            return Comprehension("sum", str(c[1]), self.build(c[2]), self.build(c[0]), span=span)
        if kind in ("true", "false"):
            return Literal(kind == "true", "bool", span=span)
        if kind == "null":
            return Literal(None, "null", span=span)
        if kind in ("date", "decimal", "int", "string", "name"):
            return self.token(c[0], kind)
        raise AssertionError(f"grammar rule without a tree builder: {kind}")  # pragma: no cover

    def arguments(self, t) -> tuple:
        if t is None:
            return ()
        return tuple(self.build(child) for child in t.children)

    def token(self, tok, kind: str | None = None) -> Expr:
        kind = kind or tok.type.lower()
        text = str(tok)
        span = (tok.start_pos, tok.end_pos)
        if kind == "name":
            if text in KEYWORDS:
                self.fail("syntax.keyword", f"'{text}' is a word of the language, not a name", tok.start_pos)
            return Name(text, span=span)
        if kind in ("int", "decimal"):
            if sum(ch.isdigit() for ch in text) > self.limits.max_digits:
                self.fail("syntax.number_too_large",
                          f"the number has more than {self.limits.max_digits} digits", tok.start_pos)
            return Literal(int(text), "int", span=span) if kind == "int" else Literal(Decimal(text), "decimal", span=span)
        if kind == "date":
            try:
                return Literal(parse_date(text), "date", span=span)
            except ValueError:
                self.fail("syntax.date", f"{text} is not a calendar date", tok.start_pos)
        if kind == "string":
            return Literal(self.unquote(text, tok.start_pos), "string", span=span)
        raise AssertionError(f"token without a builder: {tok.type}")  # pragma: no cover

    def unquote(self, text: str, offset: int) -> str:
        def replace(m: re.Match) -> str:
            esc = m.group(1)
            if esc[0] == "u" and len(esc) == 5:
                return chr(int(esc[1:], 16))
            if esc in _ESCAPES:
                return _ESCAPES[esc]
            self.fail("syntax.escape", f"unknown escape \\{esc} in a string", offset + 1 + m.start(),
                      hint="write \\\\ for a backslash")
            return ""  # pragma: no cover

        return _ESCAPE_RX.sub(replace, text[1:-1])


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
    if isinstance(node, Literal) and node.kind in ("int", "decimal") and node.value < 0:
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
    if node.kind == "date":
        return node.value.isoformat()
    if node.kind == "string":
        escaped = node.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        escaped = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\r]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
        return f'"{escaped}"'
    if node.kind == "decimal":
        text = format(node.value, "f")
        return text if "." in text else text + ".0"
    return str(node.value)

"""Text stage: read YAML safely, with the line and column of every value.

Only plain data comes out (mappings, lists, strings, integers, exact decimals, booleans, null).
Dates stay strings so that the schema decides what a date is; floats become Decimal so that money
stays exact. Tags that would construct objects, duplicate keys, alias bombs, deep nesting and
oversized files are errors that name the file and line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, note_at, text_lines
from engine.core.i18n import msg
from engine.core.limits import LIMITS


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one file may cost to read. Documented in docs/security.md."""

    max_bytes: int = LIMITS.policy_file_bytes
    max_nodes: int = LIMITS.policy_nodes  # counts every node visited, so aliases are paid each time they expand
    max_depth: int = LIMITS.policy_depth
    max_digits: int | None = None  # digits in one number; None: any number Python can read


# Numbers in a policy file are bounded as numbers in its expressions are (docs/security.md).
DEFAULT_LIMITS = ReadLimits(max_digits=LIMITS.number_digits)

Path = tuple  # of str | int: the JSON path of a value


@dataclass
class Document:
    file: str
    text: str
    value: Any
    marks: dict = field(default_factory=dict)  # Path -> (line, column), 1-based, of the value
    key_marks: dict = field(default_factory=dict)  # Path -> (line, column) of the key that holds the value
    scalars: dict = field(default_factory=dict)  # Path -> yaml.ScalarNode, for expression positions

    def location(self, path: Path) -> Location:
        """The location of the value at path, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            mark = self.marks.get(path)
            if mark:
                return Location(self.file, mark[0], mark[1])
            if not path:
                return Location(self.file, 1, 1)
            path = path[:-1]

    def key_location(self, path: Path) -> Location:
        """Where the key holding the value at path is written: a value may start on the next line, or be an
        alias whose text is elsewhere, but the officer looks for the key."""
        mark = self.key_marks.get(tuple(path))
        return Location(self.file, mark[0], mark[1]) if mark else self.location(path)

    def line_text(self, line: int) -> str | None:
        lines = text_lines(self.text)  # split once per text: 12,000 errors must not split the file 12,000 times
        return lines[line - 1] if 0 < line <= len(lines) else None


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: a date is a string until the schema says otherwise.

    It also remembers where each alias is used: an alias stands for its anchor's node itself, so without
    this an error found while expanding one (too many values) could only point at the anchor."""

    def compose_node(self, parent, index):
        alias = self.peek_event() if self.check_event(yaml.AliasEvent) else None
        node = super().compose_node(parent, index)
        if alias is not None and parent is not None and index is not None:
            uses = self.__dict__.setdefault("alias_uses", {})
            uses[(id(parent), index if isinstance(index, int) else id(index))] = alias.start_mark
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

try:
    from yaml._yaml import CParser as _CParser

    class _CLoader(_CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The same reading through libyaml: 66,000 table rows take a second, not half a minute (issue 18)."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, stream):
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
except ImportError:  # PyYAML built without libyaml
    _CLoader = None  # type: ignore[assignment,misc]

# An alias (*name) where a value can start: such a file is read by the Python reader, which remembers its uses.
_ALIAS = re.compile(r"(?:^|[\s\[{,:?-])\*[^\s,\]}]")

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def decode_text(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start: exc.start].decode("utf-8", "replace")) + 1
        raise DiagnosticError([Diagnostic(
            "input.encoding", msg("the file is not UTF-8 text (byte {byte} cannot be decoded)", byte=exc.start),
            Location(file, line, column), hint=msg("save the file as UTF-8"))]) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_file(path, file: str, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a file, refusing one over the size limit without reading it whole (a huge file must not
    cost its size in memory). Raises DiagnosticError, or OSError when the file cannot be opened."""
    with open(path, "rb") as handle:
        data = handle.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            size = os.fstat(handle.fileno()).st_size  # 0 for a device or a pipe, whose length is unknown
            told = (msg("the file is {size} bytes; the limit is {limit}", size=size, limit=limits.max_bytes)
                    if size > limits.max_bytes else
                    msg("the file is more than {limit} bytes; the limit is {limit}", limit=limits.max_bytes))
            raise DiagnosticError([Diagnostic("input.too_large", told, Location(file))])
    return data


def read_yaml(data: bytes | str, file: str, limits: ReadLimits = DEFAULT_LIMITS, positions: bool = True) -> Document:
    """Parse one YAML document into plain data with positions, or raise DiagnosticError."""
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > limits.max_bytes:
        raise DiagnosticError([Diagnostic(
            "input.too_large", msg("the file is {size} bytes; the limit is {limit}", size=size, limit=limits.max_bytes),
            Location(file))])
    text = data if isinstance(data, str) else decode_text(data, file)
    if not text.strip():
        raise DiagnosticError([Diagnostic("input.empty", msg("the file is empty"), Location(file))])
    depth = _bracket_depth(text)
    if depth > limits.max_depth:  # PyYAML's scanner is slow on deep flow nesting: refuse it before it starts
        raise DiagnosticError([Diagnostic(
            "input.too_deep", _too_deep(limits.max_depth), Location(file))])
    loader: Any = None
    root = None
    if _CLoader is not None and not _ALIAS.search(text):
        # libyaml composes ten times faster and keeps every position; a file with aliases (whose uses are
        # remembered for errors) or one it refuses goes through the Python reader, which words the error.
        try:
            loader = _CLoader(text)
            root = loader.get_single_node()
        except Exception:
            loader = None
    try:
        if loader is None:
            loader = _Loader(text)
            try:
                root = loader.get_single_node()
            finally:
                loader.dispose()
    except yaml.reader.ReaderError as exc:
        loc = Location(file)
        if isinstance(exc.position, int):
            line = text.count("\n", 0, exc.position) + 1
            loc = Location(file, line, exc.position - text.rfind("\n", 0, exc.position))
        raise DiagnosticError([Diagnostic(
            "input.character", msg("the file holds a character YAML does not allow (U+{code:04X})",
                                   code=_code(exc.character)),
            loc, source_line=_line(text, loc.line), hint=msg("remove control characters from the file"))]) from None
    except yaml.MarkedYAMLError as exc:
        from engine.policies.yamlwords import describe  # structure mistakes in plain words

        raise DiagnosticError([describe(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise DiagnosticError([Diagnostic("yaml.syntax", msg("malformed YAML: {problem}", problem=str(exc)),
                                          Location(file))]) from None
    except RecursionError:
        raise DiagnosticError([Diagnostic(
            "input.too_deep", _too_deep(limits.max_depth), Location(file))]) from None
    if root is None:
        raise DiagnosticError([Diagnostic("input.empty", msg("the file holds no YAML document"), Location(file))])
    doc = Document(file=file, text=text, value=None)
    builder = _Builder(doc, loader, limits, positions)
    doc.value = builder.build(root, (), 0)
    if builder.errors:
        raise DiagnosticError(builder.errors)
    return doc



def _bracket_depth(text: str) -> int:
    """The deepest nesting of flow collections ([ and {), skipping quoted scalars: a cheap upper bound."""
    depth = deepest = 0
    quote = None
    previous = "\n"  # the last character that was not a space
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
                previous = ch
            continue
        if ch in "\"'" and (depth or previous in ":-\n[{,"):
            quote = ch  # a quoted scalar starts only where a value can start
        elif ch in "[{" and (depth or previous in ":-\n?" or _after_property(text, i)):
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}" and depth:
            depth -= 1
        elif ch == "#" and not depth:
            quote = "\n"  # a comment runs to the end of the line
            continue
        if ch not in " \t":
            previous = ch
    return deepest


def _after_property(text: str, i: int) -> bool:
    """Whether the bracket at i follows an anchor or a tag (`key: &a [[…`, `- !!seq [[…`): a value starts there too."""
    start = max(0, i - 256)
    before = text[start:i].rstrip(" \t")
    word = before[max(before.rfind(" "), before.rfind("\t"), before.rfind("\n")) + 1:]
    return word[:1] in ("&", "!")


def _line(text: str, line: int) -> str | None:
    lines = text_lines(text)
    return lines[line - 1] if 0 < line <= len(lines) else None



class _Builder:
    def __init__(self, doc: Document, loader: yaml.SafeLoader, limits: ReadLimits, positions: bool = True):
        self.positions = positions
        self.doc = doc
        self.loader = loader
        self.limits = limits
        self.nodes = 0
        self.errors: list[Diagnostic] = []

    def _loc(self, node) -> Location:
        return Location(self.doc.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, code: str, message: str, node, hint: str | None = None, notes: tuple = ()):
        loc = self._loc(node)
        self.errors.append(Diagnostic(code, message, loc, source_line=_line(self.doc.text, loc.line), hint=hint,
                                      notes=notes))

    def _use(self, parent, index, via):
        """Where the officer wrote this child: the outermost alias on the way to it, if any."""
        if via is not None:
            return via
        mark = getattr(self.loader, "alias_uses", {}).get((id(parent), index))
        return Location(self.doc.file, mark.line + 1, mark.column + 1) if mark else None

    def build(self, node, path: Path, depth: int, via: Location | None = None):
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            loc = via or self._loc(node)
            raise DiagnosticError([Diagnostic(
                "input.too_many_nodes",
                msg("the file expands to more than {limit} values (aliases count each time they are used)",
                    limit=self.limits.max_nodes),
                loc, source_line=_line(self.doc.text, loc.line))])
        if depth > self.limits.max_depth:
            loc = via or self._loc(node)
            raise DiagnosticError([Diagnostic(
                "input.too_deep", _too_deep(self.limits.max_depth), loc)])
        if self.positions:
            self.doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _PLAIN_TAGS:
            self._fail("yaml.tag", msg("the tag {tag} is not allowed: only plain data is read", tag=repr(node.tag)),
                       node)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, via)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1, self._use(node, i, via))
                    for i, item in enumerate(node.value)]
        if node.style == "":
            node.style = None  # libyaml's plain style, as PyYAML writes it
        if self.positions:
            self.doc.scalars[path] = node
        value = self._scalar(node)
        if isinstance(value, str) and _SURROGATE.search(value):
            return self._surrogate(node, value)
        return value

    def _surrogate(self, node, value: str):
        """A lone surrogate (`"\\ud800"`) is half of a UTF-16 pair, not a character: no UTF-8 text can hold it, so
        neither can a digest, a decision or an error line (issue 18)."""
        code = ord(next(ch for ch in value if "\ud800" <= ch <= "\udfff"))
        self._fail("input.encoding", msg("the value holds \\u{code:04x}, half of a UTF-16 pair (a lone surrogate), "
                                         "which is not a character", code=code), node,
                   hint=msg("write the whole character, or both halves of the pair together"))
        return None

    def _mapping(self, node, path: Path, depth: int, via: Location | None = None) -> dict:
        result: dict = {}
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail("yaml.key", msg("a mapping key must be plain text"), key_node)
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `1:` or `no:` as a key means the text the officer typed
            if _SURROGATE.search(key):
                self._surrogate(key_node, key)
                continue
            if key in first_seen:
                first = first_seen[key]
                self._fail("yaml.duplicate_key",
                           msg("duplicate key {key}: first given on line {line}", key=repr(key), line=first.line),
                           key_node,
                           hint=msg("YAML would silently keep only the last one; remove or rename one of them"),
                           notes=(note_at(msg("first given here"), first, self.doc.text),))
                continue
            first_seen[key] = self._loc(key_node)
            if self.positions:
                self.doc.key_marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, path + (key,), depth + 1, self._use(node, id(key_node), via))
        return result

    def _scalar(self, node):
        tag = node.tag
        if node.style is None and tag in _NUMBER_TAGS and _AMBIGUOUS_NUMBER.search(node.value):
            # YAML 1.1 reads 0755 as 493 and 1:30 as 90: keep what the officer typed, so that the schema
            # either accepts it as text or says plainly that it is not a number.
            return node.value
        digits = sum(ch.isdigit() for ch in node.value) if tag in _NUMBER_TAGS else 0
        if self.limits.max_digits is not None and digits > self.limits.max_digits:
            self._fail("yaml.value", msg("a number of {digits} digits is longer than the limit of {limit} ({number})",
                                         digits=format(digits, ","), limit=self.limits.max_digits,
                                         number=_shorten(node.value, 20)), node, hint=_RAISE_DIGITS)
            return None
        if tag == "tag:yaml.org,2002:float":
            value = _exact_number(node.value)
            if self.limits.max_digits is not None and isinstance(value, Decimal) \
                    and abs(value.adjusted()) > self.limits.max_digits:  # 1.0e+100000000 has few digits
                self._fail("yaml.value", msg("the number {number} is beyond 10^{limit}",
                                             number=_shorten(node.value, 20), limit=self.limits.max_digits),
                           node, hint=_RAISE_DIGITS)
                return None
            return value
        if tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            # PyYAML would quietly turn `!!map text` into {}: the officer meant something else
            self._fail("yaml.value", msg("{value} is a single value, but the tag !!{tag} asks for {kind}",
                                         value=_shorten(node.value), tag=tag.rsplit(':', 1)[-1], kind=_KINDS[tag]),
                       node)
            return None
        try:
            return self.loader.construct_object(node)
        except Exception:  # explicit tags on values they cannot convert (!!int "") fail in many ways
            self._fail("yaml.value", _unreadable(tag, node.value), node)
            return None


_FLOAT_CLEAN = re.compile(r"[_\s]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_AMBIGUOUS_NUMBER = re.compile(r"^[-+]?0[0-9_]|:|^[-+]?0[xob]|_")


_KINDS = {"tag:yaml.org,2002:int": msg("a whole number"), "tag:yaml.org,2002:bool": msg("true or false"),
          "tag:yaml.org,2002:map": msg("a mapping"), "tag:yaml.org,2002:seq": msg("a list")}
_RAISE_DIGITS = msg("raise POLICY_LIMIT_NUMBER_DIGITS if such a number is really meant")


def _too_deep(limit: int):
    return msg("the file nests deeper than {limit} levels", limit=limit)


def _shorten(text: str, width: int = 40) -> str:
    """The value quoted, cut short: a message must stay one readable line whatever was written."""
    if len(text) <= width:
        return repr(text)
    return msg("{start}… ({count} characters)", start=repr(text[:width]), count=format(len(text), ","))


def _unreadable(tag: str, text: str) -> str:
    """Why a value cannot be read, in plain words (never the name of a Python exception)."""
    if tag == "tag:yaml.org,2002:merge":
        return msg("the merge key {key} is not supported: write the keys out in full", key=_shorten(text))
    digits = sum(ch.isdigit() for ch in text)
    if tag == "tag:yaml.org,2002:int" and digits > 40:
        return msg("a whole number of {digits} digits is too long to read ({number})", digits=format(digits, ","),
                   number=_shorten(text, 20))
    return msg("cannot read {value} as {kind}", value=_shorten(text), kind=_KINDS.get(tag, tag.rsplit(':', 1)[-1]))


def _exact_number(text: str):
    cleaned = _FLOAT_CLEAN.sub("", text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def plain_style(doc: Document, path: Path) -> bool:
    """True when the scalar at path was written unquoted (where YAML 1.1 surprises happen)."""
    node = doc.scalars.get(tuple(path))
    return node is not None and node.style is None


def _code(character) -> int:
    return character if isinstance(character, int) else ord(character)


FOLDED_COMMENT = msg("this # comment is inside an expression YAML folds onto one line, so it hides every line "
                     "written after it")
FOLDED_HINT = msg("write the expression as a literal block (require: |), where a comment ends with its line, or "
                  "move the comment out of the expression")


def comment_offsets(text: str) -> list[int]:
    """Where each `#` comment of an expression starts (a `#` outside its string literals)."""
    found, i, quote = [], 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote or ch == "\n":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            found.append(i)
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        i += 1
    return found


def folded_comment(source, node) -> int | None:
    """The offset of a comment that YAML folding stretched over lines the officer wrote after it, or None.

    A folded (`>`), quoted or plain scalar written over several lines reaches the expression as one line: a
    `#` comment in it then runs to the end of every line after it, and the conditions written there vanish
    (issue 18). In a literal block (`|`) each line keeps its end, so a comment ends where it was written."""
    if node is None or node.style == "|" or node.end_mark.line == node.start_mark.line:
        return None
    text = source.text
    for start in comment_offsets(text):
        end = text.find("\n", start)
        end = len(text) - 1 if end < 0 else end - 1
        rest = text[start:end + 1].rstrip()
        if rest and source.location(start).line != source.location(start + len(rest) - 1).line:
            return start
    return None

"""Text stage: read YAML safely, with the line and column of every value.

Only plain data comes out (mappings, lists, strings, integers, exact decimals, booleans, null).
Dates stay strings so that the schema decides what a date is; floats become Decimal so that money
stays exact. Tags that would construct objects, duplicate keys, alias bombs, deep nesting and
oversized files are errors that name the file and line. Composing the text is engine/policies/yamlload.py's
part, the only one that imports PyYAML.
"""
from __future__ import annotations

import gc
import os
import re
from contextlib import contextmanager
from dataclasses import field
from typing import Any

from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, line_starts, place_of, text_lines
from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.core.records import dataclass


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one file may cost to read. Documented in docs/security.md."""

    max_bytes: int = LIMITS.policy_file_bytes
    max_nodes: int = LIMITS.policy_nodes  # counts every node visited, so aliases are paid each time they expand
    max_depth: int = LIMITS.policy_depth
    max_digits: int | None = None  # digits in one number; None: any number Python can read


class _PolicyFileLimits(ReadLimits):
    """The limits of a policy file in force (engine.core.limits.LIMITS) whenever one is read. Numbers in a policy
    file are bounded as numbers in its expressions are (docs/security.md)."""

    def __init__(self) -> None:
        pass

    max_bytes = property(lambda self: LIMITS.policy_file_bytes)
    max_nodes = property(lambda self: LIMITS.policy_nodes)
    max_depth = property(lambda self: LIMITS.policy_depth)
    max_digits = property(lambda self: LIMITS.number_digits)


DEFAULT_LIMITS: ReadLimits = _PolicyFileLimits()

Path = tuple  # of str | int: the JSON path of a value


class Mark:
    """A place in the text: 0-based offset, line and column, the line and column counted as LinePlaces counts
    them."""

    __slots__ = ("index", "line", "column")

    def __init__(self, index: int, line: int, column: int):
        self.index, self.line, self.column = index, line, column


# Where YAML ends a line and an editor does not: NEL, U+2028 and U+2029 (LF, CRLF and a lone CR both count).
_YAML_ONLY_BREAK = re.compile("[\x85\u2028\u2029]")


class LinePlaces:
    """The 1-based line and column of a YAML mark in a file's lines as an editor shows them, which every location
    counts in (engine.core.diagnostics.line_starts). YAML also ends a line at NEL, U+2028 and U+2029 (invisible, and
    pasted with text from PDFs and word processors), so after one of those a mark's own line and column are off;
    its index, the characters before it, is not."""

    __slots__ = ("exact", "_starts")

    def __init__(self, text: str):
        # exact: YAML's marks are the editor's, as in nearly every file; the readers then take a mark's line and
        # column as they are, without a call for each of the values of a file
        self.exact = _YAML_ONLY_BREAK.search(text) is None
        self._starts: list[int] | None = None if self.exact else line_starts(text)

    def of(self, mark) -> tuple[int, int]:
        if self._starts is None:
            return mark.line + 1, mark.column + 1
        return place_of(self._starts, mark.index)


class Scalar:
    """What is kept of a scalar node for later positions (an expression's characters, its quoting): PyYAML's own
    node would make a cached store need PyYAML to be read back. Its places are plain numbers, made marks when
    asked for: a 66,000-row table keeps one small object per value."""

    __slots__ = ("tag", "value", "style", "_places")

    def __init__(self, tag: str, value: str, style: str | None, places: tuple):
        self.tag, self.value, self.style, self._places = tag, value, style, places

    def __reduce__(self):
        return Scalar, (self.tag, self.value, self.style, self._places)

    @property
    def start_mark(self) -> Mark:
        return Mark(*self._places[:3])

    @property
    def end_mark(self) -> Mark:
        return Mark(*self._places[3:])

    @classmethod
    def of(cls, node, places: LinePlaces) -> Scalar:
        start, end = node.start_mark, node.end_mark
        if places.exact:
            return cls(node.tag, node.value, node.style, (start.index, start.line, start.column, end.index, end.line,
                                                          end.column))
        (start_line, start_column), (end_line, end_column) = places.of(start), places.of(end)
        return cls(node.tag, node.value, node.style, (start.index, start_line - 1, start_column - 1, end.index,
                                                      end_line - 1, end_column - 1))


@dataclass
class Document:
    file: str
    text: str
    value: Any
    marks: dict = field(default_factory=dict)  # Path -> (line, column), 1-based, of the value
    key_marks: dict = field(default_factory=dict)  # Path -> (line, column) of the key that holds the value
    scalars: dict = field(default_factory=dict)  # Path -> Scalar, for expression positions
    item_errors: dict = field(default_factory=dict)  # with per_item: index -> the errors of that item of a list

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


@contextmanager
def gc_paused():
    """No cyclic garbage collection while a store is read: reading a file makes several objects per value and
    frees none, and each collection of the oldest generation walks every object made so far, so a file of
    66,000 table rows spent more time in the collector than in reading (issue 11). What is read is kept, not
    garbage. Afterwards everything made is put in the oldest generation (freeze, then unfreeze: documented to
    do just that, without walking it), or the first collection after the pause would walk it all at once."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _encoding_hint(data: bytes) -> str:
    """What to do about a file that is not UTF-8: most such policy files were saved by an editor that writes GBK
    (GB18030) by default, as Windows' Notepad did; say so when the bytes read as that."""
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return msg("save the file as UTF-8")
    return msg("the file reads as GB18030 (GBK) text, as some editors save Chinese by default: save it as UTF-8 "
               "(in the editor's 'Save as', choose the encoding UTF-8)")


def decode_text(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")  # the text up to the first byte that is not UTF-8
        line, column = place_of(line_starts(before), len(before))
        raise DiagnosticError([Diagnostic(
            "input.encoding", msg("the file is not UTF-8 text: its byte {byte} (0x{value}) cannot be decoded",
                                  byte=exc.start + 1, value=f"{data[exc.start]:02X}"),
            Location(file, line, column), hint=_encoding_hint(data))]) from None
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


def read_yaml(data: bytes | str, file: str, limits: ReadLimits = DEFAULT_LIMITS, positions: bool = True,
              per_item: bool = False) -> Document:
    """Parse one YAML document into plain data with positions, or raise DiagnosticError.

    With per_item, a document that is a list keeps the errors of a value inside one item (a key given twice, a
    number too long) as that item's, in item_errors, and the item as None: a list of claims is many claims."""
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
    from engine.policies import yamlload  # here: a warm start that reads no YAML never imports PyYAML

    # the values in force now, as plain fields: the reader looks at them for every node
    fixed = ReadLimits(limits.max_bytes, limits.max_nodes, limits.max_depth, limits.max_digits)
    return yamlload.compose(text, file, fixed, positions, per_item)


def _bracket_depth(text: str) -> int:
    """The deepest nesting of flow collections ([ and {), skipping quoted scalars: a cheap upper bound. Only the
    characters that open or close something are looked at (a quoted scalar, a comment or a bracket holding no
    other is passed over whole), each with the last character before it that is not a space: a 66,000-row table
    is not read character by character in Python."""
    if "\r" in text:  # a line ends at CR LF or a lone CR as at LF (YAML's line breaks): a comment ends there too
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    depth = deepest = 0
    i = 0
    while (found := _FLOW.search(text, i)) is not None:
        i = found.start()
        ch = text[i]
        before = i - 1
        while before >= 0 and text[before] in " \t":
            before -= 1
        previous = text[before] if before >= 0 else "\n"
        if found.end() - i > 1:  # `[a, b]` with no bracket, quote or comment inside: one level, opened or not
            if depth or previous in ":-\n?" or _after_property(text, i):
                deepest = max(deepest, depth + 1)
            i = found.end()
            continue
        if ch in "\"'" and (depth or previous in ":-\n[{,"):
            close = text.find(ch, i + 1)  # a quoted scalar starts only where a value can start
        elif ch == "#" and not depth:
            close = text.find("\n", i + 1)  # a comment runs to the end of the line
        else:
            if ch in "[{" and (depth or previous in ":-\n?" or _after_property(text, i)):
                depth += 1
                deepest = max(deepest, depth)
            elif ch in "]}" and depth:
                depth -= 1
            i += 1
            continue
        if close < 0:
            break
        i = close + 1
    return deepest


_FLOW = re.compile(r"[\[{][^\"'\[\]{}#]*[\]}]|[\"'\[\]{}#]")


def _after_property(text: str, i: int) -> bool:
    """Whether the bracket at i follows an anchor or a tag (`key: &a [[…`, `- !!seq [[…`): a value starts there too."""
    start = max(0, i - 256)
    before = text[start:i].rstrip(" \t")
    word = before[max(before.rfind(" "), before.rfind("\t"), before.rfind("\n")) + 1:]
    return word[:1] in ("&", "!")


def _line(text: str, line: int) -> str | None:
    lines = text_lines(text)
    return lines[line - 1] if 0 < line <= len(lines) else None



def _too_deep(limit: int):
    return msg("the file nests deeper than {limit} levels", limit=limit)


def plain_style(doc: Document, path: Path) -> bool:
    """True when the scalar at path was written unquoted (where YAML 1.1 surprises happen)."""
    node = doc.scalars.get(tuple(path))
    return node is not None and node.style is None


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

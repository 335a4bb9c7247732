"""Diagnostics: every error or warning carries a stable code, a location and a plain message."""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import field

from engine.core.i18n import msg, tr
from engine.core.records import dataclass

# The words of a rendered diagnostic, in the catalogue like every message.
_WORDS = (msg("error"), msg("warning"))


def cited(clauses) -> str | None:
    """The clauses an item cites, as a diagnostic names them (None when it cites none)."""
    return ", ".join(clauses) or None


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file. Lines and columns count from 1; 0 means unknown."""

    file: str = ""
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file or "<input>"
        return f"{self.file or '<input>'}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Note:
    """A second place a diagnostic points at (the first definition of a duplicate, the other file of an
    overlap), shown with its source line as a compiler shows a note."""

    message: str
    location: Location
    source_line: str | None = None

    def render(self) -> list[str]:
        lines = ["  " + tr("note: {message}: {where}", message=tr(self.message), where=str(self.location))]
        if self.source_line is not None and self.location.column:
            line, column = _window(self.source_line.rstrip("\n"), self.location.column)
            lines += ["    " + line, "    " + _caret_padding(line, column) + "^"]
        return lines


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location = field(default_factory=Location)
    clause: str | None = None
    severity: str = "error"  # error | warning
    source_line: str | None = None  # the offending line, for a caret display
    hint: str | None = None
    notes: tuple = ()  # of Note

    def sort_key(self):
        return (self.location.file, self.location.line, self.location.column, self.code, self.message)

    def excerpt(self) -> list[str]:
        """The offending line and a caret under the column, as `render` shows them (unindented; none without a line)."""
        if self.source_line is None or not self.location.column:
            return []
        line, column = _window(self.source_line.rstrip("\n"), self.location.column)
        return [line, _caret_padding(line, column) + "^"]

    def render(self) -> str:
        head = f"{self.location}: {tr(self.severity)}[{self.code}]"
        if self.clause:
            head += tr(" (clause {clause})", clause=self.clause)
        lines = [f"{head}: {tr(self.message)}"]
        lines += ["    " + part for part in self.excerpt()]
        if self.hint:
            lines.append("    " + tr("hint: {hint}", hint=tr(self.hint)))
        for note in self.notes:
            lines += note.render()
        return "\n".join(lines)

    def to_json(self) -> dict:
        data = {
            "code": self.code,
            "severity": self.severity,
            "message": tr(self.message),
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
        }
        if self.clause:
            data["clause"] = self.clause
        if self.hint:
            data["hint"] = tr(self.hint)
        if self.notes:
            data["notes"] = [{"message": tr(n.message), "file": n.location.file, "line": n.location.line,
                              "column": n.location.column} for n in self.notes]
        return data


# Where a line of a file ends, as editors and the language server protocol count lines: at LF, CRLF or a lone CR.
# Every location's line and column count so. (YAML also ends lines at NEL, U+2028 and U+2029: its marks are mapped
# back, engine.policies.yamlsource.LinePlaces.)
_LINE_END = re.compile("\r\n?|\n")

_split_cache: dict = {}  # id(text) -> (text, its lines): the last few texts whose lines were asked for


def text_lines(text: str) -> list[str]:
    """The lines of a text, once per text: a file with 12,000 errors must not be split 12,000 times (issue 18)."""
    hit = _split_cache.get(id(text))
    if hit is not None and hit[0] is text:
        return hit[1]
    lines = text.split("\n") if "\r" not in text else _LINE_END.split(text)
    if len(_split_cache) >= 8:
        _split_cache.clear()
    _split_cache[id(text)] = (text, lines)
    return lines


def line_starts(text: str) -> list[int]:
    """The offset each line of a text starts at."""
    return [0, *(m.end() for m in _LINE_END.finditer(text))]


def place_of(starts: list[int], index: int) -> tuple[int, int]:
    """The line and column (from 1) of the character at `index`, given the text's line_starts."""
    line = bisect.bisect_right(starts, index)
    return line, index - starts[line - 1] + 1


def note_at(message: str, location: Location, text: str | None) -> Note:
    """A note at `location`, with its line taken from the file's text when it is known."""
    lines = text_lines(text) if text is not None else []
    source = lines[location.line - 1] if 0 < location.line <= len(lines) else None
    return Note(message, location, source)


def _window(line: str, column: int, width: int = 100) -> tuple[str, int]:
    """A long line cut to the part around the column, with the column moved to match."""
    if len(line) <= width:
        return line, column
    start = max(0, min(column - 1 - width // 2, len(line) - width))
    cut = line[start:start + width]
    prefix = "…" if start else ""
    suffix = "…" if start + width < len(line) else ""
    return prefix + cut + suffix, column - start + len(prefix)


def _caret_padding(line: str, column: int) -> str:
    # Keep tabs and wide (CJK) characters aligned under the offending text.
    pad = []
    for ch in line[: column - 1]:
        if ch == "\t":
            pad.append("\t")
        elif _is_wide(ch):
            pad.append("  ")
        elif unicodedata.combining(ch):
            continue  # a combining mark sits on the character before it
        else:
            pad.append(" ")
    return "".join(pad)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class DiagnosticError(Exception):
    """Raised when a stage cannot go on; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def sorted_diagnostics(diagnostics) -> list[Diagnostic]:
    unique: dict[tuple, Diagnostic] = {}
    for d in diagnostics:
        unique.setdefault((d.sort_key(), d.severity), d)
    return sorted(unique.values(), key=Diagnostic.sort_key)

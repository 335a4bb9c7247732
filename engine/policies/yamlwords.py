"""YAML structure mistakes in plain words, at the line that has them.

PyYAML says what its parser met ("mapping values are not allowed here", "expected <block end>"); an officer
needs to hear what is wrong with the text: a line indented more or less than the key above it, a tab, a
key without its colon, a quote or a bracket never closed. The parser's own words stay as the last resort.
"""
from __future__ import annotations

import re

from engine.core.diagnostics import Diagnostic, Location
from engine.core.i18n import msg, plural

# The line breaks YAML counts lines by (PyYAML's reader): its marks' line numbers index these lines. A text with
# a lone CR counted by "\n" alone had fewer lines than the mark said.
_LINE_BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_KEY = re.compile(r"^(\s*)(?:-\s+)*([^\s#'\"\[\]{},][^#]*?|'[^']*'|\"[^\"]*\")\s*:(\s|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(lines: list[str], before: int) -> int | None:
    """The index of the last line before `before` that is neither blank nor only a comment."""
    for j in range(before - 1, -1, -1):
        stripped = lines[j].strip()
        if stripped and not stripped.startswith("#"):
            return j
    return None


def _key_of(line: str) -> str | None:
    m = _KEY.match(line)
    return m.group(2).strip() if m else None


def _has_inline_value(line: str) -> bool:
    """`key: value` with the value on the same line (not a block scalar indicator, not a nested block)."""
    m = _KEY.match(line)
    if not m:
        return False
    rest = line[m.end():].split(" #")[0].strip()
    return bool(rest) and rest[0] not in "|>&!"


def _spaces(n: int) -> str:
    return plural(n, "{count} space", "{count} spaces")


def describe(exc, text: str, file: str) -> Diagnostic:
    """The diagnostic for a YAML error raised while reading `text` (a yaml.MarkedYAMLError)."""
    lines = _LINE_BREAKS.split(text)
    mark = exc.problem_mark or exc.context_mark
    row = mark.line if mark else 0
    problem = (exc.problem or exc.context or "malformed YAML").split("\n")[0]

    def at(line_index: int, column: int, message: str, hint: str | None = None) -> Diagnostic:
        line_index = min(max(line_index, 0), max(len(lines) - 1, 0))
        source = lines[line_index] if lines else ""
        return Diagnostic("yaml.syntax", message, Location(file, line_index + 1, column + 1),
                          source_line=source, hint=hint)

    for i, line in enumerate(lines[: row + 1]):
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in lead:
            return at(i, lead.index("\t"), msg("a tab character is used for indentation: YAML needs spaces"),
                      msg("replace the tab with spaces; keys of one mapping line up under each other"))

    here = lines[row] if row < len(lines) else ""
    previous = _significant(lines, row)
    above = lines[previous] if previous is not None else ""
    if "mapping values are not allowed" in problem and previous is not None:
        more = _indent(here) - _indent(above)
        if more > 0 and _has_inline_value(above):
            key = _key_of(above)
            return at(row, _indent(here), msg("this line is indented {spaces} more than the key above it "
                                              "({key}: on line {line})", spaces=_spaces(more), key=key,
                                              line=previous + 1),
                      msg("line it up with {key}: ({spaces}); a key belongs inside another only when that key has "
                          "no value on its own line", key=key, spaces=_spaces(_indent(above))))
        if _key_of(above) is None and not above.lstrip().startswith("-"):
            return at(previous, _indent(above), msg("this line has no ':' after its key, so YAML reads it and the "
                                                    "next line as one text"),
                      msg("write the key with a colon and a space: {key}: …", key=above.strip().split()[0]))
        colon = here.find(": ", here.find(":") + 1) if _key_of(here) else -1
        if colon > 0:
            expression = _key_of(here) in ("when", "require", "expr", "amount")
            return at(row, colon, msg("a ': ' inside a value makes YAML read it as another key"),
                      msg("a condition in any(), all(), count() or filter() follows 'where': any(g in history where …)")
                      if expression else msg("put the value in quotes: key: \"text: more text\""))
    if "expected <block end>" in problem and previous is not None:
        less = _indent(above) - _indent(here)
        key = _key_of(above.lstrip(" -")) or above.strip()
        if less > 0 and here.lstrip().startswith("- "):
            return at(row, _indent(here), msg("this list item is indented {spaces} less than the line above it "
                                              "(line {line})", spaces=_spaces(less), line=previous + 1),
                      msg("items of one list start with '- ' at one indent, under each other"))
        if less > 0:
            return at(row, _indent(here), msg("this line is indented {spaces} less than the key above it "
                                              "({key} on line {line})", spaces=_spaces(less), key=key,
                                              line=previous + 1),
                      msg("keys of one mapping line up: indent it {spaces}, as the line above, or as far as the key "
                          "it belongs to", spaces=_spaces(_indent(above))))
        return at(row, _indent(here), msg("this line does not line up with the keys around it"),
                  msg("keys of one mapping line up under each other; items of a list start with '- ' at one indent"))
    context = exc.context or ""
    if "quoted scalar" in context and exc.context_mark is not None:
        start = exc.context_mark
        return at(start.line, start.column, msg("a quoted text that starts here is never closed"),
                  msg("end it with the same quote mark it starts with"))
    if "flow sequence" in context or "flow mapping" in context:
        start = exc.context_mark
        opener = "[" if "sequence" in context else "{"
        closer = "]" if opener == "[" else "}"
        if start is not None:
            return at(start.line, start.column, msg("a {opener} opened here is not closed on its line", opener=opener),
                      msg("close it with {closer} (a list or mapping in brackets stays on one line, or puts every "
                          "line break after a comma)", closer=closer))
    column = mark.column if mark else 0
    return at(row, column, msg("malformed YAML: {problem}", problem=problem))

"""YAML structure mistakes in plain words, at the line that has them.

PyYAML says what its parser met ("mapping values are not allowed here", "expected <block end>"); an officer
needs to hear what is wrong with the text: a line indented more or less than the key above it, a tab, a
key without its colon, a quote or a bracket never closed. The parser's own words stay as the last resort.
"""
from __future__ import annotations

import re

from engine.core.diagnostics import Diagnostic, Location, line_starts, place_of, text_lines
from engine.core.i18n import msg, plural
from engine.policies.yamlsource import _YAML_ONLY_BREAK, LinePlaces, Mark

# The line breaks YAML counts lines by (PyYAML's reader): its marks' line numbers index these lines, which the
# structure is judged by; the officer is shown the file's lines as an editor shows them (LinePlaces).
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


def _quoted_then_more(line: str, column: int) -> tuple[str, str, str] | None:
    """(key, value, quote) when `line` is `key: "quoted" more…` and the parser stopped after the quoted text:
    an expression that begins with a string (`require: "paying" == x`), read by YAML as that string alone."""
    m = _KEY.match(line)
    if not m:
        return None
    value = line[m.end():].lstrip(" ")
    start = len(line) - len(value)
    if value[:1] not in ("'", '"') or column <= start:
        return None
    return m.group(2).strip(), value.rstrip(), value[0]


def _has_inline_value(line: str) -> bool:
    """`key: value` with the value on the same line (not a block scalar indicator, not a nested block)."""
    m = _KEY.match(line)
    if not m:
        return False
    rest = line[m.end():].split(" #")[0].strip()
    return bool(rest) and rest[0] not in "|>&!"


# `key：value` at the start of a line: a key typed with the Chinese input method's colon
_WIDE_COLON_KEY = re.compile(r"[ \t]*(?:- )?([A-Za-z_\u4e00-\u9fff][A-Za-z0-9_.\u4e00-\u9fff-]*)[ \t]*：")


# `-id: a`: a list item's dash with no space after it
_DASH_GLUED = re.compile(r"[ \t]*(-)([A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*)[ \t]*:")
# `key: [注意] text`: a value that starts with a bracketed word and goes on after it
_LIST_THEN_TEXT = re.compile(r"[ \t]*(?:- )?([A-Za-z_][A-Za-z0-9_]*):[ \t]+(\[([^\],]*)\])[ \t]*[^\s#,\]}]")
# `key:value` with no space after the colon, the value starting with a letter (`require:not x`): not `12:30`, not a
# URL (`https://`), not a key whose value is on the next line
_GLUED_KEY = re.compile(r"[ \t]*(?:- )?([A-Za-z_][A-Za-z0-9_]*):(?=[^\s:/\d'\"])")


def _unclosed_quote(lines: list[str], ends: list[str], row: int) -> tuple[int, int] | None:
    """(line, column) of the last value before the error's line that opens a quote it does not close on its line,
    when the quote that closes it is followed by more text on its line (the first quote of `id: "b"`): the quoted
    text ran on, by mistake, across the lines below, so the parser meets its mistake far below. A text quoted over
    several lines on purpose ends with its quote at the end of a line, and is left alone. `ends` are the breaks
    ending YAML's lines: one only YAML sees (U+2028) ends no line of the editor's."""
    for i in range(min(row, len(lines)) - 1, -1, -1):
        if i < len(ends) and ends[i] not in ("\n", "\r", "\r\n"):
            continue  # the quote may close on the editor's line, after the break
        m = _KEY.match(lines[i])
        if m is None:
            continue
        value = lines[i][m.end():].lstrip(" ")
        if value[:1] in ("'", '"') and _in_quotes(lines[i]):
            after = _after_closing(lines, i, len(lines[i]) - len(value), value[0])
            return (i, len(lines[i]) - len(value)) if after else None
    return None


def _after_closing(lines: list[str], row: int, column: int, quote: str) -> str:
    """What follows, on its line, the quote that closes the quoted text opened at (row, column); "" when it ends
    the line (a comment aside) or is never found."""
    i, j = row, column + 1
    while i < len(lines):
        line = lines[i]
        while j < len(line):
            ch = line[j]
            if quote == '"' and ch == "\\":
                j += 2
                continue
            if ch == quote:
                if quote == "'" and line[j + 1:j + 2] == "'":
                    j += 2
                    continue
                rest = line[j + 1:].strip()
                return "" if rest.startswith("#") else rest
            j += 1
        i, j = i + 1, 0
    return ""


def _spaces(n: int) -> str:
    return plural(n, "{count} space", "{count} spaces")


def describe(exc, text: str, file: str) -> Diagnostic:
    """The diagnostic for a YAML error raised while reading `text` (a yaml.MarkedYAMLError)."""
    lines = _LINE_BREAKS.split(text)
    starts = [0] + [m.end() for m in _LINE_BREAKS.finditer(text)]
    places = LinePlaces(text)
    mark = exc.problem_mark or exc.context_mark
    row = mark.line if mark else 0
    problem = (exc.problem or exc.context or "malformed YAML").split("\n")[0]

    def at(line_index: int, column: int, message: str, hint: str | None = None) -> Diagnostic:
        """The diagnostic at a place in YAML's lines, located in the file's lines."""
        line_index = min(max(line_index, 0), max(len(lines) - 1, 0))
        line, column = places.of(Mark(min(starts[line_index] + column, len(text)), line_index, column))
        shown = text_lines(text)
        return Diagnostic("yaml.syntax", message, Location(file, line, column),
                          source_line=shown[line - 1] if line <= len(shown) else "", hint=hint)

    for i, line in enumerate(lines[: row + 1]):
        lead = line[: len(line) - len(line.lstrip(" \t\u3000\u00a0"))]
        if "\t" in lead:
            return at(i, lead.index("\t"), msg("a tab character is used for indentation: YAML needs spaces"),
                      msg("replace the tab with spaces; keys of one mapping line up under each other"))
        if "\u3000" in lead:  # the Chinese input method's full-width space (全角空格)
            return at(i, lead.index("\u3000"), msg("a full-width space (U+3000) is used for indentation: YAML "
                                                     "needs half-width spaces"),
                      msg("type the indentation with the input method in half-width mode (半角); keys of one mapping "
                          "line up under each other"))
        if "\u00a0" in lead:  # a no-break space, with text pasted from a web page or a word processor
            return at(i, lead.index("\u00a0"), msg("a no-break space (U+00A0) is used for indentation: YAML needs "
                                                     "plain spaces"),
                      msg("retype the indentation with the space bar (pasted text often brings no-break spaces)"))
    for i in range(row, max(row - 2, -1), -1):  # the error's line and the one above it
        wide = _WIDE_COLON_KEY.match(lines[i]) if i < len(lines) else None
        if wide is not None:
            from engine.policies.policyfile import CHINESE_KEYS  # the format's key for a word of the notice

            key = wide.group(1)
            meant = CHINESE_KEYS.get(key, (key,))[0]
            return at(i, wide.end() - 1, msg("the key {key} is followed by a full-width colon '：': YAML needs ':' "
                                              "and a space", key=key),
                      msg("write {key}: … with the half-width colon", key=meant))
    for i in range(row, max(row - 2, -1), -1):  # `-id: a`: a dash YAML reads as part of the key
        dash = _DASH_GLUED.match(lines[i]) if i < len(lines) else None
        if dash is not None:
            return at(i, dash.end(1) - 1, msg("'-' is followed by no space, so YAML reads {text} as a key, not as an "
                                              "item of a list", text=repr("-" + dash.group(2))),
                      msg("put a space after the dash: - {key}: …", key=dash.group(2)))
    for i in range(row, max(row - 2, -1), -1):  # `key: [注意] text`: a bracket YAML reads as a list
        listed = _LIST_THEN_TEXT.match(lines[i]) if i < len(lines) else None
        if listed is not None:
            said = msg("the value of {key} starts with [, so YAML reads [{inside}] as a list and cannot read the text "
                       "after it", key=listed.group(1), inside=listed.group(3))
            return at(i, listed.start(2), said,
                      msg("put the whole value in quotes: {key}: \"{value}\"", key=listed.group(1),
                          value=lines[i][listed.start(2):].rstrip()))
    for i in range(row, max(row - 2, -1), -1):  # `key:value`: a colon YAML reads as part of a text
        glued = _GLUED_KEY.match(lines[i]) if i < len(lines) else None
        if glued is not None and _key_of(lines[i]) is None:
            key = glued.group(1)
            return at(i, glued.end(1), msg("the key {key} is followed by ':' without a space: YAML reads "
                                           "{key}:… as one text, not as a key and its value", key=key),
                      msg("put a space after the colon: {key}: …", key=key))
    pasted = _pasted_break(text, starts[min(row, len(starts) - 1)] + (mark.column if mark else 0))
    if pasted is not None:
        return pasted(file)
    # (a text still open at the end of the file is said below, where the parser says it)
    ends = [m.group() for m in _LINE_BREAKS.finditer(text)]
    open_quote = _unclosed_quote(lines, ends, row) if "quoted scalar" not in (exc.context or "") else None
    if open_quote is not None:
        line_index, column = open_quote
        return at(line_index, column, msg("the quoted text that starts here is not closed on its line: YAML reads on, "
                                          "across the lines below, to the next quote mark"),
                  msg("end it with the same quote mark it starts with, on this line"))

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
    quoted = _quoted_then_more(here, mark.column if mark else 0) if "expected <block end>" in problem else None
    if quoted is not None:
        key, value, quote = quoted
        other = "'" if quote == '"' else '"'
        suggestion = key + ": " + other + value + other
        closing = value.find(quote, 1)
        if value.endswith(quote) and len(value) > 2 and value[closing + 1:closing + 2].isalnum():
            # `"starts_with(region, "3308")"`: the outer quotes were meant as YAML's, around an expression that
            # holds a string; the quoted text ending just before a name or number is no string of the expression
            value = value[1:-1]
            suggestion = key + ": " + other + value + other
        hint = (msg("quote the whole value with the other quote mark: {suggestion}", suggestion=suggestion)
                if other not in value else msg("write the whole value on the next line, after {key}: >-", key=key))
        return at(row, mark.column if mark else 0, msg(
            "the value of {key} starts with a quote, so YAML reads only the quoted text and cannot read what follows "
            "it", key=key), hint)
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
    def unclosed_bracket(line_index: int, column: int, opener: str) -> Diagnostic:
        line = lines[line_index] if line_index < len(lines) else ""
        if "，" in line[column:]:  # the Chinese input method's comma: no separator for YAML
            return at(line_index, column + line[column:].index("，"), msg(
                "a full-width comma '，' is not a separator: YAML reads the items around it as one text, and the "
                "{opener} opened on this line does not close", opener=opener),
                      msg("separate the items with a half-width comma ','"))
        return at(line_index, column, msg("a {opener} opened here is not closed on its line", opener=opener),
                  msg("close it with {closer} (a list or mapping in brackets stays on one line, or puts every line "
                      "break after a comma)", closer="]" if opener == "[" else "}"))

    if ("flow sequence" in context or "flow mapping" in context) and exc.context_mark is not None:
        return unclosed_bracket(exc.context_mark.line, exc.context_mark.column, "[" if "sequence" in context else "{")
    if "<stream end>" in problem:  # the text ended inside a bracket: said where it opens
        opened = _open_bracket(lines, row)
        if opened is not None:
            return unclosed_bracket(*opened)
        return at(row, mark.column if mark else 0, msg("the text ends where a value was expected"),
                  msg("write the value, or remove the key or '- ' that waits for it"))
    column = mark.column if mark else 0
    return at(row, column, msg("malformed YAML: {problem}", problem=problem))


def _open_bracket(lines: list[str], row: int) -> tuple[int, int, str] | None:
    """(line, column, bracket) of the last [ or { before `row` that its own line does not close (outside quotes
    and comments), each line read once."""
    for i in range(min(row, len(lines) - 1), -1, -1):
        line, stack, quote, j = lines[i], [], None, 0
        while j < len(line):
            ch = line[j]
            if quote is not None:
                if (quote == '"' and ch == "\\") or (ch == quote == "'" and line[j + 1:j + 2] == "'"):
                    j += 1  # an escaped character, or '' in a single-quoted text: the quote goes on
                elif ch == quote:
                    quote = None
            elif ch == "#" and (j == 0 or line[j - 1] in " \t"):
                break  # a comment: nothing after it opens anything
            elif ch in "'\"":
                quote = ch
            elif ch in "[{":
                stack.append((j, ch))
            elif ch in "]}" and stack:
                stack.pop()
            j += 1
        if stack:
            return i, stack[0][0], stack[0][1]
    return None


def _pasted_break(text: str, offset: int):
    """A line break only YAML sees (NEL, U+2028, U+2029: invisible, and pasted with text from PDFs and word
    processors) outside quotes, on the error's line or the line above it: YAML read what follows it as a new line,
    which is the mistake the parser met. A function of the file name making its diagnostic, or None."""
    before = list(_YAML_ONLY_BREAK.finditer(text, 0, offset + 1))
    if not before:
        return None
    starts = line_starts(text)
    shown_lines = text_lines(text)

    def in_a_comment(found) -> bool:
        line, column = place_of(starts, found.start())
        return _in_comment(shown_lines[line - 1][: column - 1])

    # one in a comment, however far above: what follows it is read as a text that runs on to the parser's mistake
    found = next((b for b in reversed(before) if in_a_comment(b)), None)
    in_comment = found is not None
    found = found or before[-1]
    line, column = place_of(starts, found.start())
    if not in_comment and line < place_of(starts, min(offset, len(text)))[0] - 1:
        return None
    shown = text_lines(text)[line - 1]
    if _in_quotes(shown[: column - 1]):
        return None  # in a quoted text it is a character of the text, not the end of a line
    return lambda file: Diagnostic(
        "yaml.syntax", msg("this line holds U+{code:04X}, an invisible line break, which YAML reads as the end of a "
                           "line: what follows it is read as a line of its own", code=ord(found.group())),
        Location(file, line, column),
        source_line=shown, hint=msg("remove it (it is invisible, and often comes with text pasted from a PDF or a "
                                    "word processor); inside a quoted text it may stay"))


def _in_comment(before: str) -> bool:
    """Whether the end of `before` (the start of a line) is inside a comment begun on that line."""
    hash_at = next((i for i, ch in enumerate(before) if ch == "#" and (i == 0 or before[i - 1] in " \t")), None)
    return hash_at is not None and not _in_quotes(before[:hash_at])


def _in_quotes(before: str) -> bool:
    """Whether the end of `before` (the start of a line) is inside a quoted YAML text begun on that line."""
    quote = None
    i = 0
    while i < len(before):
        ch = before[i]
        if quote is None:
            if ch == "#" and (i == 0 or before[i - 1] in " \t"):
                return False  # a comment: quotes in it quote nothing
            if ch in "'\"":
                quote = ch
        elif quote == '"' and ch == "\\":
            i += 1
        elif ch == quote:
            if quote == "'" and before[i + 1: i + 2] == "'":
                i += 1
            else:
                quote = None
        i += 1
    return quote is not None

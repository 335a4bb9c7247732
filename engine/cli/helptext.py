"""Help text wrapped at the width a terminal shows it, for Chinese as for English.

Click wraps help by counting characters and breaks lines only at spaces: a Chinese sentence (two columns a
character, no spaces) runs far past the terminal's edge and is then cut in the middle of a word such as
`docs/ledger.md`. Here a line may break between two Chinese characters, or between a Chinese character and a
word, never inside a word, never before a closing mark (，。）and the like) nor after an opening one (（《“);
widths are the columns a terminal gives each character. Text without wide characters is left to click, so English
help reads exactly as click wraps it.
"""
from __future__ import annotations

import re
import unicodedata

from click.formatting import wrap_text as click_wrap_text

# no line begins with one of these, none ends with one of the others (the usual rules for Chinese text)
CLOSING = set("，。、；：？！）」』》〉】〕］｝…—%,.;:!?)]}”’")
OPENING = set("（「『《〈【〔［｛“‘([{")
_TOKENS = re.compile(r"\s+|[^\s]")


def wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def width(text: str) -> int:
    """The columns a terminal gives `text`."""
    return sum(2 if wide(ch) else 0 if unicodedata.combining(ch) else 1 for ch in text)


def _units(text: str) -> list[tuple[int, str]]:
    """`text` as the pieces a line may not be broken inside: (the spaces before it, its text)."""
    units: list[tuple[int, str]] = []
    space = 0
    for token in _TOKENS.findall(text):
        if token.isspace():
            space = len(token)
            continue
        if units and not space:
            before = units[-1][1][-1]
            breakable = (wide(before) or wide(token)) and token not in CLOSING and before not in OPENING
            if not breakable:
                units[-1] = (units[-1][0], units[-1][1] + token)
                continue
        units.append((space, token))
        space = 0
    return units


def _fill(text: str, room: int, first: str, rest: str) -> list[str]:
    lines: list[str] = []
    line, used = first, 0  # the line so far, and the columns its text takes (without the indent)

    def limit() -> int:
        return max(room - width(rest if lines else first), 1)

    for space, unit in _units(text):
        gap = space if used else 0
        if used and used + gap + width(unit) > limit():  # the unit goes to the next line
            lines.append(line)
            line, used, gap = rest, 0, 0
        while not used and width(unit) > limit():  # wider than a whole line: cut where the line is full
            cut, taken = 0, 0
            while cut < len(unit) and taken + width(unit[cut]) <= limit():
                taken += width(unit[cut])
                cut += 1
            cut = max(cut, 1)
            lines.append(line + unit[:cut])
            line, unit = rest, unit[cut:]
        line += " " * gap + unit
        used += gap + width(unit)
    if used or not lines:
        lines.append(line)
    return [x.rstrip() for x in lines]


def wrap_text(text: str, room: int = 78, initial_indent: str = "", subsequent_indent: str = "",
              preserve_paragraphs: bool = False) -> str:
    """click.formatting.wrap_text, measured in terminal columns and breaking Chinese where Chinese breaks."""
    if not any(wide(ch) for ch in text):
        return click_wrap_text(text, room, initial_indent, subsequent_indent, preserve_paragraphs)
    text = text.expandtabs()
    if not preserve_paragraphs:
        return "\n".join(_fill(text, room, initial_indent, subsequent_indent))
    paragraphs: list[tuple[int, list[str]]] = []  # as click finds them: blank lines between, the first's indent
    lines: list[str] = []
    indent = 0
    for line in text.splitlines() + [""]:
        if line:
            if not lines:
                indent, line = len(line) - len(line.lstrip()), line.lstrip()
            lines.append(line)
        elif lines:
            paragraphs.append((indent, lines))
            lines = []
    out = []
    for indent, body in paragraphs:
        first, rest = initial_indent + " " * indent, subsequent_indent + " " * indent
        if body[0].strip() == "\b":  # click's mark of a paragraph kept as written
            out.append("\n".join((first if i == 0 else rest) + line for i, line in enumerate(body[1:])))
            continue
        joined = body[0].strip()
        for line in (x.strip() for x in body[1:]):  # one paragraph's lines: joined by a space, but not in Chinese
            joined += ("" if wide(joined[-1]) and wide(line[0]) else " ") + line
        out.append("\n".join(_fill(joined, room, first, rest)))
    return "\n\n".join(out)

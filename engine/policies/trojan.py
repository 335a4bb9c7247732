"""Trojan Source (CVE-2021-42574) in policy files: characters that make a line show in another order than it is
read. A name holding one is refused by the expression parser (`syntax.confusable`, with look-alike alphabets and
invisible characters); anywhere else in the file, a comment or a string, it is warned of here (issue 18)."""
from __future__ import annotations

import re
import unicodedata

from engine.core.diagnostics import Diagnostic, Location, line_starts, place_of
from engine.core.i18n import msg

# Characters that reorder how text is shown (Trojan Source, CVE-2021-42574): the embeddings, overrides and
# isolates, and the marks. A name holding one is refused by the expression parser; anywhere else it is warned of.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def bidi_warnings(text: str, file: str, most: int = 20) -> list[Diagnostic]:
    """A warning for each line holding a bidirectional control (the first `most`): in a comment or a string it
    can make the line show in another order than the engine reads it, and auditors read what is shown."""
    found: list[Diagnostic] = []
    starts: list[int] | None = None
    for match in _BIDI.finditer(text):
        starts = starts or line_starts(text)
        line, column = place_of(starts, match.start())
        if found and found[-1].location.line == line:
            continue
        if len(found) == most:
            break
        ch = match.group()
        found.append(Diagnostic("input.bidi", msg(
            "the line holds U+{code:04X} ({name}), which can make it show in another order than it is read",
            code=ord(ch), name=unicodedata.name(ch, "a bidirectional control")), Location(file, line, column),
            severity="warning",  # the line itself is not shown: printed, it would reorder the terminal too
            hint=msg("remove it, or write the text without direction controls")))
    return found

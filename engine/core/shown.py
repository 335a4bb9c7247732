"""Text that came with a claim, as a line of a report shows it: a claim id, a fact, a location. A control character
(a line break, a carriage return, an escape sequence that moves the cursor or clears the screen) or a format
character (a bidirectional override, a zero-width space) written into a claim would otherwise forge or hide lines of
what an officer or auditor reads; it is shown as an escape instead (\\n, \\x1b, \\u202e). JSON output keeps the
text as it is."""
from __future__ import annotations

import unicodedata

_HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp"))  # controls, format characters, line and paragraph separators
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    if unicodedata.category(ch) not in _HIDDEN:
        return ch
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                              else f"\\U{code:08x}")


def shown(text: str) -> str:
    """`text` with every control, format and line-separator character written as an escape."""
    if text.isprintable():  # none of them (nor anything else unusual): most texts, in one call
        return text
    return "".join(map(_escaped, text))

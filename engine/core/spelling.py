""""Did you mean …?" for unknown names, fields and values, in time bounded whatever the policy holds.

difflib's ratio costs up to the product of the two lengths, and an unknown name used to be compared with every
name in sight: a policy of many long, misspelt names took minutes. Now a suggestion is sought only for a name of
at most SUGGESTED_LENGTH characters, among at most CANDIDATES names of at most that length whose lengths could
match at all; of those, the SHORTLIST sharing the most pairs of letters with it are ranked by difflib, as
before; and one check seeks at most SUGGESTIONS of them. Past these bounds a message is the same, without
its hint.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable

from engine.core.i18n import alternatives, msg

SUGGESTED_LENGTH = 64  # no one misspells a longer name by hand; a suggestion would not help to read it
CANDIDATES = 500  # looked at for one suggestion, in the order the caller gives (nearest scope first)
SHORTLIST = 5  # ranked by difflib for one suggestion
SUGGESTIONS = 50  # sought in one check of one policy
SHOWN_LENGTH = 80  # a name longer than this is shortened in messages
_CUTOFF = 0.6  # difflib's default: how alike a suggestion must be


def close_matches(word: str, possibilities, n: int = 3, cutoff: float = _CUTOFF) -> list[str]:
    """difflib.get_close_matches, importing difflib only when a suggestion is sought: a start that finds nothing
    wrong does not pay for it."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n, cutoff=cutoff)


class Speller:
    """Suggestions for one check, within its budget."""

    def __init__(self, budget: int = SUGGESTIONS):
        self.budget = budget
        self._pairs: dict[str, frozenset] = {}

    def suggest(self, name: str, candidates: Iterable[str]) -> str | None:
        """"did you mean 'x'?" for the (at most three) candidates closest to `name`, or None."""
        if not name or len(name) > SUGGESTED_LENGTH or self.budget <= 0:
            return None
        self.budget -= 1
        plausible = _plausible(name, candidates)
        if len(plausible) > SHORTLIST:
            mine = self._letter_pairs(name)
            plausible = heapq.nlargest(SHORTLIST, plausible, key=lambda c: len(mine & self._letter_pairs(c)))
        close = close_matches(name, plausible, n=3, cutoff=_CUTOFF)
        return msg("did you mean {names}?", names=alternatives(repr(c) for c in close)) if close else None

    def _letter_pairs(self, word: str) -> frozenset:
        pairs = self._pairs.get(word)
        if pairs is None:
            pairs = self._pairs[word] = frozenset(word[i:i + 2] for i in range(len(word) - 1)) or frozenset((word,))
        return pairs


def _plausible(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates whose length alone does not rule out a ratio of _CUTOFF (2·shorter / (sum) ≥ 0.6), each
    once, at most CANDIDATES of them."""
    found: dict[str, None] = {}
    size = len(name)
    for candidate in candidates:
        length = len(candidate)
        if length > SUGGESTED_LENGTH or 2 * min(size, length) < _CUTOFF * (size + length):
            continue
        found[candidate] = None
        if len(found) >= CANDIDATES:
            break
    return list(found)


def shown(name: str) -> str:
    """A name as a message quotes it: whole, or its ends and its length when it is very long."""
    if len(name) <= SHOWN_LENGTH:
        return repr(name)
    return f"{name[:40] + '…' + name[-20:]!r} ({len(name):,} characters)"

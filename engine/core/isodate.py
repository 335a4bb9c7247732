"""Calendar dates written exactly YYYY-MM-DD.

Python's date.fromisoformat also takes 20240501 and week dates such as 2024-W10-3; a policy file, a claim
or a command line that writes those has made a mistake, so they are refused rather than guessed at.
"""
from __future__ import annotations

import re
from datetime import date

from engine.core.i18n import msg

_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def written_as_date(text) -> bool:
    """Whether `text` has the form YYYY-MM-DD (whether or not there is such a day)."""
    return isinstance(text, str) and _FORM.match(text) is not None


def parse_date(text: str) -> date:
    """The date `text` names. ValueError, in plain words, when it is not written YYYY-MM-DD or does not exist."""
    if not written_as_date(text):
        raise ValueError(msg("{text} is not a calendar date written YYYY-MM-DD", text=repr(text)))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(msg("{text} is not a calendar date (no such day)", text=repr(text))) from None

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
        raise ValueError(not_a_day(repr(text), text)) from None


def not_a_day(shown, text: str):
    """Why `text`, written YYYY-MM-DD, names no day (shown as `shown`): the part of it that does not exist."""
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    if year == 0:
        why = msg("there is no year 0000")
    elif not 1 <= month <= 12:
        why = msg("there is no month {month}", month=text[5:7])
    elif day == 0:
        why = msg("there is no day 00")
    else:
        days = 31 if month == 12 else (date(year, month + 1, 1) - date(year, month, 1)).days
        why = msg("{year}-{month} has {days} days", year=text[:4], month=text[5:7], days=days)
    return msg("{value} is not a calendar date ({why})", value=shown, why=why)

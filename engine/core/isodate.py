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


_OTHER_FORMS = re.compile(r"\s*([0-9]{4})\s*(?:[-/.]|年)\s*([0-9]{1,2})\s*(?:[-/.]|月)\s*([0-9]{1,2})\s*日?\s*\Z")
_CHINESE_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0"}


def suggested_date(text) -> str | None:
    """The YYYY-MM-DD form of a date written another common way (2024/5/10, 2024.5.10, 2024-5-1, 2024年5月10日,
    二〇二四年五月十日), when it names a day; None otherwise. Only said as a hint: never read as the date."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    found = _OTHER_FORMS.match(_arabic(text))
    if found is None:
        return None
    iso = f"{found.group(1)}-{int(found.group(2)):02d}-{int(found.group(3)):02d}"
    try:
        date.fromisoformat(iso)
    except ValueError:
        return None
    return iso if iso != text else None


def _arabic(text: str) -> str:
    """Chinese numerals of a date as digits: 二〇二四 → 2024, 十 → 10, 二十三 → 23, 三十一 → 31."""
    def number(match) -> str:
        run = match.group()
        if "十" not in run:
            return "".join(_CHINESE_DIGITS[c] for c in run)
        tens, _, ones = run.partition("十")
        if len(tens) > 1 or len(ones) > 1 or "十" in ones:  # not a number of days or months: left as written
            return run
        return str(int(_CHINESE_DIGITS[tens] if tens else 1) * 10 + (int(_CHINESE_DIGITS[ones]) if ones else 0))
    return re.sub("[〇一二三四五六七八九零○十]+", number, text)


def date_hint(text) -> str:
    """ "; write it 2024-05-10" when `text` is a date written another way, else nothing."""
    iso = suggested_date(text)
    return msg("; write it {iso}", iso=iso) if iso else ""


def parse_date(text: str) -> date:
    """The date `text` names. ValueError, in plain words, when it is not written YYYY-MM-DD or does not exist."""
    if not written_as_date(text):
        raise ValueError(msg("{text} is not a calendar date written YYYY-MM-DD{hint}", text=repr(text),
                             hint=date_hint(text)))
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

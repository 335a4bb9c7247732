"""Messages in the officer's language: 简体中文 or English, from gettext catalogues.

A message is made with `msg("unknown key {key}", key=...)`: an English text with named placeholders, which
reads and compares as that English text everywhere (it is a str), and is translated only where it is shown
(`tr(message)`, or a diagnostic's render). Babel extracts every `msg(...)` and `tr(...)` template from the
source into engine/locale/policy.pot; engine/locale/zh/LC_MESSAGES/policy.po holds the Chinese, compiled
to policy.mo beside it (tests/test_messages.py fails when a template has no translation or the .mo is stale).

The language: `set_language("zh" | "en")` (the command line's --lang), else $POLICY_LANG, else the locale
($LC_ALL, $LC_MESSAGES, $LANG): Chinese when it names Chinese (zh_CN.UTF-8, zh), else English.
"""
from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "policy"
LANGUAGES = ("zh", "en")

_chosen: str | None = None
# A web page is shown in the language its reader chose, whatever other requests in the same process chose.
_speaking: ContextVar[str | None] = ContextVar("policy_language", default=None)


class Message(str):
    """An English message that remembers its template and arguments, so it can be shown in another language."""

    template: str
    args: dict

    def __new__(cls, template: str, args: dict):
        self = super().__new__(cls, template.format(**args) if args else template)
        self.template = template
        self.args = args
        return self

    def __reduce__(self):  # pickled (the store cache, worker processes) with its template
        return (Message, (self.template, self.args))


def msg(template: str, **args) -> Message:
    """A message: `template` is English with {named} placeholders; the arguments fill them in any language."""
    return Message(template, args)


def joined(items, separator: str = ", ") -> Message:
    """Words (messages or plain text) joined by `separator`, each translated where the whole is shown."""
    names = {f"item{i}": item for i, item in enumerate(items)}
    template = separator.join("{" + name + "}" for name in names)
    return Message(template, names)


def series(items) -> Message:
    """Items (messages or plain text) as a list is written in the language it is shown in: `a, b, c` in English,
    `a、b、c` in Chinese. Each item is translated where the whole is shown."""
    return _chained(items, lambda before, item: msg("{items}, {item}", items=before, item=item))


def clauses(items) -> Message:
    """Parts of one sentence, separated as the language separates clauses: `a; b` in English, `a；b` in Chinese."""
    return _chained(items, lambda before, item: msg("{items}; {item}", items=before, item=item))


def alternatives(items) -> Message:
    """Names one of which is meant, as the language it is shown in says it: `'a' or 'b'`, `'a' 或 'b'`."""
    return _chained(items, lambda before, item: msg("{names} or {name}", names=before, name=item))


def _chained(items, join) -> Message:
    """The items joined pairwise, left to right, by `join` (whose msg() template the extractor sees)."""
    out: Message | None = None
    for item in items:
        out = Message("{item}", {"item": item}) if out is None else join(out, item)
    return out if out is not None else Message("", {})


def set_language(language: str | None) -> None:
    """Choose the language messages are shown in (None: from the environment)."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}")
    _chosen = language


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Messages made and shown inside this block (in this thread or task only) are in `language`."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}")
    token = _speaking.set(language)
    try:
        yield
    finally:
        _speaking.reset(token)


def language() -> str:
    spoken = _speaking.get()
    if spoken is not None:
        return spoken
    if _chosen is not None:
        return _chosen
    for variable in ("POLICY_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def tr(text: str, **args) -> str:
    """`text` in the chosen language: a Message with its own arguments, or a template with `args`."""
    if isinstance(text, Message):
        template, args = text.template, {**text.args, **args}
    else:
        template = text
    translated = _catalogue(language()).gettext(template)
    translated_args = {k: tr(v) if isinstance(v, Message) else v for k, v in args.items()}
    try:
        return translated.format(**translated_args) if args else translated
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder: show the English
        return template.format(**args) if args else template


def translated(template: str) -> str:
    """A template in the chosen language, not filled in: for a library that fills it in itself (click)."""
    return _catalogue(language()).gettext(template)


def plural(count: int, one: str, many: str, **args) -> str:
    """`one` or `many` (English templates with {count}) by count, in the chosen language's plural rules."""
    text = _catalogue(language()).ngettext(one, many, count)
    try:
        return text.format(count=count, **args)
    except (KeyError, IndexError, ValueError):
        return (one if count == 1 else many).format(count=count, **args)

"""The reasons the standard library gives, in the officer's language: a file that cannot be opened (OSError's
strerror) and JSON that is not (json.JSONDecodeError's msg). The English stays the library's own words, which users
search for; the translations are in the catalogues like every other message. And what a JSON value is, in words."""
from __future__ import annotations

import errno

from engine.core.i18n import msg

_OS = {
    errno.ENOENT: msg("No such file or directory"),
    errno.EISDIR: msg("Is a directory"),
    errno.ENOTDIR: msg("Not a directory"),
    errno.EACCES: msg("Permission denied"),
    errno.EPERM: msg("Operation not permitted"),
    errno.ENOSPC: msg("No space left on device"),
    errno.EROFS: msg("Read-only file system"),
    errno.ENAMETOOLONG: msg("File name too long"),
    errno.ELOOP: msg("Too many levels of symbolic links"),
    errno.EMFILE: msg("Too many open files"),
    errno.EIO: msg("Input/output error"),
    errno.EPIPE: msg("Broken pipe"),
    errno.EFBIG: msg("File too large"),
    errno.EDQUOT: msg("Disk quota exceeded"),
}

_JSON = {text.template: text for text in (
    msg("Expecting value"),
    msg("Expecting property name enclosed in double quotes"),
    msg("Expecting ':' delimiter"),
    msg("Expecting ',' delimiter"),
    msg("Unterminated string starting at"),
    msg("Invalid control character at"),
    msg("Invalid \\escape"),
    msg("Invalid \\uXXXX escape"),
    msg("Extra data"),
)}


def os_reason(exc: OSError) -> str:
    """Why a file could not be opened, read or written, in the chosen language where the catalogue has it."""
    known = _OS.get(exc.errno) if exc.errno is not None else None
    return known or exc.strerror or str(exc)


def json_reason(text: str) -> str:
    """json.JSONDecodeError's msg, in the chosen language where the catalogue has it."""
    return _JSON.get(text, text)


def json_kind(value) -> str:
    """What a JSON value is, in words: a date sent as 20250101 is `a number`, not Python's `int`."""
    return {dict: msg("an object"), list: msg("a list"), str: msg("a text"), bool: msg("true or false"),
            type(None): msg("null")}.get(type(value), msg("a number"))

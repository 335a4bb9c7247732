"""Third-party modules imported without the modules they import only for what the engine never calls (issue 12).

- python-stdnum's `stdnum.util` imports pkgutil, pydoc and ssl at its top, for listing stdnum's modules and
  fetching data over HTTPS: two thirds of the cost of importing stdnum, and of a one-claim run's first decision.
- jsonschema-rs imports email.utils when it loads, to turn the time it was built at into a datetime: with what
  email.utils imports (socket, random, calendar, locale, base64...), a tenth of a warm one-claim run.

While such a module is imported, those names are stand-ins in sys.modules: an attribute asked of one is the real
module's (imported at that moment), except the few a stand-in answers itself, which give what the real function
gives. Once the import is done the stand-ins are taken out of sys.modules, so nothing imported later gets one.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any


class _StandIn(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # anything but the stand-in's own answers: the real module's
        return getattr(importlib.import_module(self.__name__), name)


def import_sparing(name: str, spared: dict[str, dict[str, Callable]]) -> types.ModuleType:
    """importlib.import_module(name), with each module of `spared` not imported yet a stand-in meanwhile, whose own
    attributes are the ones given for it."""
    stand_ins = {}
    for module, own in spared.items():
        if module not in sys.modules:
            stand_ins[module] = _StandIn(module)
            vars(stand_ins[module]).update(own)
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module(name)
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _parsedate_to_datetime(text: str) -> datetime:
    """email.utils.parsedate_to_datetime of a time written as `Tue, 27 Oct 2026 10:17:51 +0000` (the form a build
    records); any other text is given to the real function."""
    try:
        _weekday, day, month, year, clock, zone = text.replace(",", " ").split()
        hour, minute, second = (int(part) for part in clock.split(":"))
        if len(zone) != 5 or zone[0] not in "+-" or not zone[1:].isdigit() or zone == "-0000":  # -0000: no zone
            raise ValueError(zone)
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        return datetime(int(year), _MONTHS.index(month) + 1, int(day), hour, minute, second,
                        tzinfo=timezone(-offset if zone[0] == "-" else offset))
    except ValueError:
        return importlib.import_module("email.utils").parsedate_to_datetime(text)


def jsonschema_rs() -> types.ModuleType:
    return import_sparing("jsonschema_rs", {"email.utils": {"parsedate_to_datetime": _parsedate_to_datetime}})


def stdnum_ric() -> types.ModuleType:
    return import_sparing("stdnum.cn.ric", {"pkgutil": {}, "pydoc": {}, "ssl": {}})


def _builtin_sha256() -> Callable:
    """The interpreter's own SHA-256 (CPython's _sha2, or _sha256 before 3.12), else hashlib's. `import hashlib`
    loads OpenSSL, about 2 ms, more than a warm start spends hashing (under 100 KB: the policy files it checks
    the cached store against, the texts of generated code); OpenSSL is faster only on megabytes."""
    for name in ("_sha2", "_sha256"):
        with contextlib.suppress(ImportError, AttributeError):
            return importlib.import_module(name).sha256
    return importlib.import_module("hashlib").sha256


sha256 = _builtin_sha256()

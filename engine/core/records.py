"""The engine's dataclasses, with the methods dataclasses generates compiled once, not in every process (issue 12).

`@dataclass` here is `dataclasses.dataclass`, with the same options and the same classes; only the compiling is
remembered. dataclasses writes the source of each class's __init__, __repr__, __eq__, __hash__, __setattr__...
and exec()s it: for the sixty classes a one-claim `policy evaluate` imports, compiling those 270 small functions
was a quarter of its start. Here what compile() makes of each source text is kept in one file of the cache folder
(engine/core/cachefiles.py: owner only, regular files, POLICY_CACHE=0 turns it off), looked up by the whole text,
under a tag naming the interpreter (sys.version and the bytecode magic number). The text is still written by
dataclasses in every process, and a text met for the first time (a class that changed, another Python) is compiled
as dataclasses would compile it; a file that is not one of ours (corrupt, cut short, foreign) is ignored. New
texts are added to the file when the process ends.

How: while one of these classes is made, the name `exec` in the dataclasses module (the builtin it calls) is this
module's _exec, which runs the remembered code of the same text. Should a later Python stop calling exec() so,
the classes are made as before, only without the saving.
"""
from __future__ import annotations

import atexit
import builtins
import dataclasses
import marshal
import sys
import threading
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import TYPE_CHECKING

from engine.core import cachefiles, lightimport

_TAG = b"policy-engine dataclass methods 1\0" + MAGIC_NUMBER + b"\0" + sys.version.encode() + b"\0"
_FILE = f"dataclass-{lightimport.sha256(_TAG).hexdigest()[:40]}.marshal"
_KEPT = 4096  # texts kept in the file: past that, only those this process used (classes change as code is edited)
_LOCK = threading.RLock()
_codes: dict | None = None  # source text -> code object, from the file (None: not read yet)
_used: set = set()
_new = False


def _read() -> dict:
    if not cachefiles.enabled():
        return {}
    try:
        data = cachefiles.read_private(cachefiles.cache_dir() / _FILE)
    except Exception:  # noqa: BLE001 - no cache folder to be had: compile, as without a cache
        return {}
    if data is None or not data.startswith(_TAG):
        return {}
    try:
        codes = marshal.loads(data[len(_TAG):])
    except Exception:  # noqa: BLE001 - a corrupt file is ignored, whatever marshal makes of it
        return {}
    if not isinstance(codes, dict) or not all(isinstance(k, str) and type(v) is CodeType for k, v in codes.items()):
        return {}
    return codes


def _save() -> None:
    codes = _codes or {}
    if len(codes) > _KEPT:
        codes = {text: code for text, code in codes.items() if text in _used}
    try:
        body = marshal.dumps(codes)
        cachefiles.write(cachefiles.cache_dir() / _FILE, lambda handle: handle.write(_TAG + body),
                         "dataclass-*.marshal")
    except Exception:  # noqa: BLE001, S110 - a cache that cannot be written is only slower, never wrong
        pass


def _exec(source, globals=None, locals=None):  # noqa: A002 - exec()'s own parameter names
    """exec() as dataclasses calls it, with the code of a source text it has met before."""
    global _new
    if not isinstance(source, str) or _codes is None:
        return builtins.exec(source, globals, locals)
    code = _codes.get(source)
    if code is None:
        # exec() of a text compiles it as "<string>", with the compiler flags of its caller: dataclasses has none
        code = _codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
        if not _new and cachefiles.enabled():
            _new = True
            atexit.register(_save)
    _used.add(source)
    return builtins.exec(code, globals, locals)


def _dataclass(cls=None, /, **options):
    """dataclasses.dataclass(cls, **options), compiling only what no earlier process compiled."""

    def wrap(cls):
        global _codes
        with _LOCK:
            if _codes is None:
                _codes = _read()
            before = vars(dataclasses).get("exec")
            dataclasses.exec = _exec
            if "__doc__" not in vars(cls) or cls.__doc__ is None:
                # dataclasses would write one from inspect.signature(): a fifth of making the class
                cls.__doc__ = f"{cls.__name__}({', '.join(vars(cls).get('__annotations__', ()))})"
            try:
                return dataclasses.dataclass(cls, **options)
            finally:
                if before is None:
                    del dataclasses.exec
                else:
                    dataclasses.exec = before

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:  # what type checkers know of dataclasses.dataclass holds of it
    from dataclasses import dataclass
else:
    dataclass = _dataclass

"""Python's compile() of generated source, remembered across processes (issue 12, cold start).

Only source the engine itself generated comes here: a program's module from engine/language/codegen.py (built
from the checked tree) and a claim converter from engine/claims/convert.py (built from the input schema's record
type). The source is generated afresh in every process, exactly as without the cache; what is remembered is only
what compile() makes of it, so that a warm start does not pay the compiler again. A file is named by, and holds,
the sha256 of the source, its file name and the interpreter (sys.version and the bytecode magic number), and is
used only when all of that equals what is asked now: another Python, another source or a file that is not one
of ours (corrupt, truncated, foreign) is ignored and compiled again. Files live in the cache folder under the
rules of engine/core/cachefiles.py (owner only, regular files, POLICY_CACHE=0 turns it off).
"""
from __future__ import annotations

import marshal
import sys
from importlib.util import MAGIC_NUMBER
from types import CodeType

from engine.core import cachefiles, lightimport

_TAG = b"policy-engine code 1\0" + MAGIC_NUMBER + b"\0" + sys.version.encode() + b"\0"
_SEEN: dict = {}  # digest -> code object, within the process
_SEEN_KEPT = 256


def compiled(source: str, filename: str) -> CodeType:
    """compile(source, filename, "exec"), from the cache when it holds it; raises what compile() raises."""
    digest = lightimport.sha256(_TAG + filename.encode() + b"\0" + source.encode("utf-8", "surrogatepass")).digest()
    code = _SEEN.get(digest)
    if code is not None:
        return code
    path = cachefiles.cache_dir() / f"code-{digest.hex()[:40]}.marshal" if cachefiles.enabled() else None
    if path is not None:
        data = cachefiles.read_private(path)
        if data is not None and data[:32] == digest:
            try:
                code = marshal.loads(data[32:])
            except Exception:  # noqa: BLE001 - a corrupt file is ignored, whatever marshal makes of it
                code = None
            if not isinstance(code, CodeType) or code.co_filename != filename:
                code = None
    if code is None:
        code = compile(source, filename, "exec")
        if path is not None:
            body = marshal.dumps(code)
            cachefiles.write(path, lambda handle: handle.write(digest + body), "code-*.marshal")
    if len(_SEEN) >= _SEEN_KEPT:
        _SEEN.clear()
    _SEEN[digest] = code
    return code

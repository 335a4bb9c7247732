"""The cache folder and its files: what the store cache (engine/policies/cache.py) and the compiled-code cache
(engine/core/codecache.py) share.

The folder is $POLICY_CACHE_DIR, else the user cache folder of the platform (platformdirs: on Linux
$XDG_CACHE_HOME/policy-engine, else ~/.cache/policy-engine; on macOS ~/Library/Caches/policy-engine), created
0700; POLICY_CACHE=0 turns every cache off. A file is read only when it and its folder belong to this user and
no one else can write them (what is read is code or decides what code runs), and only when it is a regular
file: a named pipe or a device in its place is never opened. A file is written whole, under a temporary name
renamed into place, so a reader never meets half of one.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

KEEP = 20  # files of one kind kept, newest first


def enabled() -> bool:
    return os.environ.get("POLICY_CACHE", "1") != "0"


def cache_dir() -> Path:
    if os.environ.get("POLICY_CACHE_DIR"):
        return Path(os.environ["POLICY_CACHE_DIR"])
    import platformdirs  # only when no folder is given

    return Path(platformdirs.user_cache_dir("policy-engine", appauthor=False))


def open_regular(path: Path):
    """The file open for reading in binary, or None when it is not a regular file. A link is not followed and
    a named pipe is opened without waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def private(path: Path) -> bool:
    """Missing, or owned by this user and writable by no one else: a pickle is code, so trust only our own."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def read_private(path: Path, limit: int = -1) -> bytes | None:
    """The bytes of a cache file (at most `limit`), or None: missing, unreadable, not a regular file, or in a
    folder or a file others could write."""
    try:
        if not (private(path.parent) and private(path)):
            return None
        handle = open_regular(path)
        if handle is None:
            return None
        with handle:
            return handle.read(limit)
    except OSError:
        return None


def write(path: Path, dump: Callable, pattern: str, errors: tuple = ()) -> None:
    """Write a cache file whole (`dump(binary file)`), then keep the newest KEEP files of `pattern` in its folder.
    A cache that cannot be written is only slower, never wrong: OSError and `errors` are swallowed."""
    import tempfile  # only when writing: importing it (shutil, random...) costs a warm start more than it reads

    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not private(folder):
            return
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            try:
                dump(handle)
            except BaseException:
                handle.close()
                os.unlink(handle.name)  # a cache that could not be written leaves nothing behind
                raise
        os.replace(handle.name, path)
        old = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]
        for stale in old:
            stale.unlink(missing_ok=True)
    except (OSError, *errors):
        pass

"""A cache of the loaded policy store, so a one-claim run does not re-read and re-parse every file.

The key is a sha256 over everything a loaded store depends on: the engine's own source and the versions of
Python and of the libraries that read files, the reading limits (POLICY_LIMIT_*), the policy format
(engine/schemas/policy.schema.json), the working folder (diagnostics name files relative to it), and the path and
content digest of every policy and input-schema file (a file over the size limit by its size alone: the store
reads no more of it either). A cached store is used only when its recorded key equals the key computed now,
and a store is saved only when the bytes it was built from are the bytes the key was computed from: a file
saved (or saved and reverted) while the store was read leaves no entry (issue 18). Named pipes, devices and
links are never opened, neither as policy files nor as the cache file.
The cache folder, who may write it and how its files are read and written: engine/core/cachefiles.py.
"""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from engine.core import cachefiles, lightimport
from engine.core.cachefiles import cache_dir, open_regular, private
from engine.core.limits import LIMITS
from engine.policies.policyfile import SCHEMA_FILE
from engine.policies.store import PolicyStore, content_digest, scan
from engine.policies.yamlsource import DEFAULT_LIMITS, gc_paused

_ENGINE = Path(__file__).resolve().parent.parent  # the whole engine package
__all__ = ["cache_dir", "load_store"]


def _environment() -> bytes:
    """What besides the files shapes a loaded store: library and Python versions, and the limits in force."""
    from importlib import metadata  # only when the digest below is not remembered: importing it costs a start

    versions = [sys.version]
    for package in ("policy-engine", "pyyaml", "jsonschema", "lark"):
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} absent")
    return "\0".join(versions + [repr(LIMITS)]).encode()


def _engine_files() -> list[str]:
    """Every .py and .lark file of the engine package, each kind sorted as paths sort (one walk of the folders,
    with os.scandir: pathlib's two rglob walks cost a warm start two milliseconds; names, not Paths, which cost it
    another half)."""
    py: list[str] = []
    lark: list[str] = []
    _collect(str(_ENGINE), py, lark)
    return sorted(py, key=_parts) + sorted(lark, key=_parts) + [str(SCHEMA_FILE)]


def _collect(folder: str, py: list[str], lark: list[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # as rglob: a linked folder is not walked
                if entry.name != "__pycache__":
                    _collect(entry.path, py, lark)
            elif entry.name.endswith(".py"):
                py.append(entry.path)
            elif entry.name.endswith(".lark"):
                lark.append(entry.path)


def _parts(name: str) -> list[str]:
    return name.split(os.sep)


def _engine_digest() -> bytes:
    """sha256 over the engine's own files (their content) and _environment().

    Reading and hashing a megabyte of source and asking importlib.metadata for four versions cost a start more
    than loading the cached store, so the digest is remembered in the cache folder (`engine-*.digest`), under a
    signature of what it was computed from: each engine file's path, size, inode and modification time in
    nanoseconds, and the same of the folders packages are installed in on sys.path (installing, upgrading or
    removing a package there changes its folder). The signature only finds the remembered digest; a digest that
    is not one (a corrupt or foreign file) is ignored and computed again, and the store's key is still the
    content digest."""
    files = _engine_files()
    signature = lightimport.sha256(b"engine-files-1\0" + sys.version.encode() + b"\0" + sys.executable.encode()
                               + b"\0" + repr(LIMITS).encode())
    # sys.path[0] is the running script's folder (or the working folder), whose time changes whenever a file is
    # written there; the packages the versions above name are installed in the folders after it.
    installed = sys.path if sys.flags.safe_path else sys.path[1:]
    for path in [*files, *(p for p in installed if p)]:
        try:
            st = os.stat(path)
            signature.update(f"{path}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0".encode())
        except OSError:
            signature.update(f"{path}\0-\0".encode())
    memo = cache_dir() / f"engine-{signature.hexdigest()[:40]}.digest"
    text = cachefiles.read_private(memo, 65)
    if text is not None and len(text) == 64 and all(c in b"0123456789abcdef" for c in text):
        return bytes.fromhex(text.decode())
    import hashlib  # a megabyte of source: OpenSSL's SHA-256, worth its import here

    digest = hashlib.sha256(_environment() + b"\0")
    for path in files:
        digest.update(path.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    cachefiles.write(memo, lambda handle: handle.write(digest.hexdigest().encode()), "engine-*.digest")
    return digest.digest()


def _key(root: Path, schemas: Path) -> tuple[str, dict]:
    """The key, and the content digest of each policy and schema file it was computed from (str(path) -> digest)."""
    digest = lightimport.sha256(b"policy-store-5\0" + os.getcwd().encode() + b"\0" + str(root).encode() + b"\0"
                            + str(schemas).encode() + b"\0" + _engine_digest() + b"\0")
    policies, _ = scan(root)  # what is not a policy file is reported by name, and never read
    schema_files = sorted(p for p in schemas.glob("*.json")) if schemas.is_dir() else []
    # the JSON files beside the policy files, which a version may name as its own facts (`input.facts`)
    beside = sorted({p for folder in {f.parent for f in policies} for p in folder.glob("*.json") if not p.is_symlink()})
    files = {}
    for path in policies + beside + schema_files:
        files[str(path)] = _file_digest(path)
        digest.update(str(path).encode() + b"\0" + files[str(path)].encode() + b"\0")
    return digest.hexdigest(), files


def _file_digest(path: Path) -> str:
    """content_digest of the file, as the store reads it: a file over the size limit by its size (the store
    refuses it unread), anything but a regular file by its kind (never opened for reading: a pipe may never end)."""
    try:
        handle = open_regular(path)
    except OSError:
        return "unread"
    if handle is None:
        return "special"
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size > DEFAULT_LIMITS.max_bytes:
            return f"unread:{size}"
        data = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    return "unread" if len(data) > DEFAULT_LIMITS.max_bytes else content_digest(data)


def load_store(root: Path, schemas: Path | None = None) -> PolicyStore:
    root = Path(root)
    schemas_dir = Path(schemas) if schemas else root.parent / "schemas"
    if not cachefiles.enabled():
        return PolicyStore.load(root, schemas_dir)
    try:
        key, files = _key(root, schemas_dir)
    except OSError:
        return PolicyStore.load(root, schemas_dir)
    folder = cache_dir()
    path = folder / f"store-{key[:40]}.pickle"
    if not (private(folder) and private(path)):
        return PolicyStore.load(root, schemas_dir)  # a cache others could write to is never read
    try:
        handle = open_regular(path)
        if handle is not None:  # a named pipe or a device in the cache's place is never read
            with handle, gc_paused():  # unpickling makes every object of the store: collecting them in between
                stored_key, store = pickle.load(handle)  # cost a long-lived process (a server, the tests) 3 times
            if stored_key == key:
                return store
    except Exception:  # missing, stale or unreadable: read the files instead
        pass
    store = PolicyStore.load(root, schemas_dir)
    # Saved only when what the store read is what the key was computed from: a file saved while the store was
    # read (even saved back to what it was) must not be remembered under content the store never saw.
    read = store.read_digests
    policies = {p for p in files if not p.endswith(".json")}
    if set(p for p in read if not p.endswith(".json")) == policies and all(files.get(p) == d for p, d in read.items()):
        _save(path, key, store)
    return store


def _save(path: Path, key: str, store: PolicyStore) -> None:
    with gc_paused():  # pickling a big store makes objects of its own too: 1.3 → 0.8 s for two 66,000-row tables
        cachefiles.write(path, lambda handle: pickle.dump((key, store), handle, protocol=pickle.HIGHEST_PROTOCOL),
                         "store-*.pickle", (pickle.PicklingError, RecursionError, TypeError, AttributeError))

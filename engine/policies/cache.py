"""A cache of the loaded policy store, so a one-claim run does not re-read and re-parse every file.

The key is a sha256 over everything a loaded store depends on: the engine's own source and the versions of
Python and of the libraries that read files, the reading limits (POLICY_LIMIT_*), the policy format
(engine/schemas/policy.schema.json), the working folder (diagnostics name files relative to it), and the path and
content digest of every policy and input-schema file (a file over the size limit by its size alone: the store
reads no more of it either). A cached store is used only when its recorded key equals the key computed now,
and a store is saved only when the bytes it was built from are the bytes the key was computed from: a file
saved (or saved and reverted) while the store was read leaves no entry (issue 18). Named pipes, devices and
links are never opened, neither as policy files nor as the cache file.
The cache lives in $POLICY_CACHE_DIR, else the user cache folder of the platform (platformdirs: on Linux
$XDG_CACHE_HOME/policy-engine, else ~/.cache/policy-engine; on macOS ~/Library/Caches/policy-engine), in a folder
only its owner can write; POLICY_CACHE=0 turns it off.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from engine.core.limits import LIMITS
from engine.policies.policyfile import SCHEMA_FILE
from engine.policies.store import PolicyStore, content_digest, scan
from engine.policies.yamlsource import DEFAULT_LIMITS

_ENGINE = Path(__file__).resolve().parent.parent  # the whole engine package
_KEEP = 20  # cached stores kept, newest first


def cache_dir() -> Path:
    if os.environ.get("POLICY_CACHE_DIR"):
        return Path(os.environ["POLICY_CACHE_DIR"])
    import platformdirs  # only when no folder is given

    return Path(platformdirs.user_cache_dir("policy-engine", appauthor=False))


def _environment() -> bytes:
    """What besides the files shapes a loaded store: library and Python versions, and the limits in force."""
    versions = [sys.version]
    for package in ("policy-engine", "pyyaml", "jsonschema", "lark"):
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} absent")
    return "\0".join(versions + [repr(LIMITS)]).encode()


def _key(root: Path, schemas: Path) -> tuple[str, dict]:
    """The key, and the content digest of each policy and schema file it was computed from (str(path) -> digest)."""
    digest = hashlib.sha256(b"policy-store-3\0" + os.getcwd().encode() + b"\0" + str(root).encode() + b"\0"
                            + str(schemas).encode() + b"\0" + _environment() + b"\0")
    for path in sorted(_ENGINE.rglob("*.py")) + sorted(_ENGINE.rglob("*.lark")) + [SCHEMA_FILE]:
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
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
        handle = _open_regular(path)
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


def _open_regular(path: Path):
    """The file open for reading in binary, or None when it is not a regular file. A link is not followed and
    a named pipe is opened without waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def load_store(root: Path, schemas: Path | None = None) -> PolicyStore:
    root = Path(root)
    schemas_dir = Path(schemas) if schemas else root.parent / "schemas"
    if os.environ.get("POLICY_CACHE", "1") == "0":
        return PolicyStore.load(root, schemas_dir)
    try:
        key, files = _key(root, schemas_dir)
    except OSError:
        return PolicyStore.load(root, schemas_dir)
    folder = cache_dir()
    path = folder / f"store-{key[:40]}.pickle"
    if not (_private(folder) and _private(path)):
        return PolicyStore.load(root, schemas_dir)  # a cache others could write to is never read
    try:
        handle = _open_regular(path)
        if handle is not None:  # a named pipe or a device in the cache's place is never read
            with handle:
                stored_key, store = pickle.load(handle)
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
        _save(folder, path, key, store)
    return store


def _private(path: Path) -> bool:
    """Missing, or owned by this user and writable by no one else: a pickle is code, so trust only our own."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _save(folder: Path, path: Path, key: str, store: PolicyStore) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(folder):
            return
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            try:
                pickle.dump((key, store), handle, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                handle.close()
                os.unlink(handle.name)  # a cache that could not be written leaves nothing behind
                raise
        os.replace(handle.name, path)
        old = sorted(folder.glob("store-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)[_KEEP:]
        for stale in old:
            stale.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
        pass  # a cache that cannot be written is only slower, never wrong

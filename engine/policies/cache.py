"""A cache of the loaded policy store, so a one-claim run does not re-read and re-parse every file.

The key is a sha256 over everything a loaded store depends on: the engine's own source and the versions of
Python and of the libraries that read files, the reading limits (POLICY_LIMIT_*), the policy format
(engine/schemas/policy.schema.json), the working folder (diagnostics name files relative to it), and the path and
bytes of every policy and input-schema file. A cached store is used only when its recorded key equals the
key computed now.
The cache lives in $POLICY_CACHE_DIR, else the user cache folder of the platform (platformdirs: on Linux
$XDG_CACHE_HOME/policy-engine, else ~/.cache/policy-engine; on macOS ~/Library/Caches/policy-engine), in a folder
only its owner can write; POLICY_CACHE=0 turns it off.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from engine.core.limits import LIMITS
from engine.policies.policyfile import SCHEMA_FILE
from engine.policies.store import PolicyStore, is_policy_file

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


def _key(root: Path, schemas: Path) -> str:
    digest = hashlib.sha256(b"policy-store-2\0" + os.getcwd().encode() + b"\0" + str(root).encode() + b"\0"
                            + str(schemas).encode() + b"\0" + _environment() + b"\0")
    sources = sorted(_ENGINE.rglob("*.py")) + sorted(_ENGINE.rglob("*.lark")) + [SCHEMA_FILE]
    policies = sorted(p for p in root.rglob("*") if p.is_file() and is_policy_file(p)) if root.is_dir() else []
    schema_files = sorted(p for p in schemas.glob("*.json")) if schemas.is_dir() else []
    for path in sources + policies + schema_files:
        digest.update(str(path).encode() + b"\0")
        with path.open("rb") as handle:  # in pieces: a huge file must not cost its size in memory
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def load_store(root: Path, schemas: Path | None = None) -> PolicyStore:
    root = Path(root)
    schemas_dir = Path(schemas) if schemas else root.parent / "schemas"
    if os.environ.get("POLICY_CACHE", "1") == "0":
        return PolicyStore.load(root, schemas_dir)
    try:
        key = _key(root, schemas_dir)
    except OSError:
        return PolicyStore.load(root, schemas_dir)
    folder = cache_dir()
    path = folder / f"store-{key[:40]}.pickle"
    if not (_private(folder) and _private(path)):
        return PolicyStore.load(root, schemas_dir)  # a cache others could write to is never read
    try:
        with path.open("rb") as handle:
            stored_key, store = pickle.load(handle)
        if stored_key == key:
            return store
    except Exception:  # missing, stale or unreadable: read the files instead
        pass
    store = PolicyStore.load(root, schemas_dir)
    try:
        unchanged = _key(root, schemas_dir) == key
    except OSError:
        unchanged = False
    if unchanged:  # a file saved while the store was read must not be remembered under the older content
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

"""What a test finds in each of the engine's source files, remembered by what the finding depends on.

Parsing the engine's megabyte of Python takes a second, and two tests of the quick loop read it all (the messages
that cannot be translated, the error codes the engine reports). Between runs most files are unchanged, so what a
check found in a file is kept in pytest's cache (.pytest_cache) under a digest of the file's name and text, the
test module that does the checking (its rules) and the Python that parses it. An edited file, an edited check or
another Python is checked again; a run without the cache (`-p no:cacheprovider`) checks every file."""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def engine_files() -> list[Path]:
    return sorted((ROOT / "engine").rglob("*.py"))


def findings(config, checker: str, check: Callable[[str, str], list], paths: list[Path]) -> dict[str, list]:
    """check(source, name) of each file (name: its path from the repository's root) -> what it found, a list of
    JSON values; `checker` is the file of the test module whose rules `check` applies."""
    cache = getattr(config, "cache", None)
    key = f"policy-engine/sources/{Path(checker).stem}"
    rules = hashlib.sha256(Path(checker).read_bytes() + b"\0" + sys.version.encode()).hexdigest()
    remembered = cache.get(key, None) if cache is not None else None
    known = remembered["files"] if isinstance(remembered, dict) and remembered.get("rules") == rules else {}
    found, kept = {}, {}
    for path in paths:
        name = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(f"{name}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()
        result = known.get(digest)
        if not isinstance(result, list):
            result = check(source, name)
        found[name] = kept[digest] = result
    if cache is not None and kept != known:
        cache.set(key, {"rules": rules, "files": kept})
    return found

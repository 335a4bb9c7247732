"""The package's version and the commit it was made from, for `policy --version` and for bug reports.

The commit is known two ways: running from a git checkout (an editable install, or `python cli.py`), it is
what `git rev-parse HEAD` says now; installed from a wheel or an sdist, it is the file `engine/COMMIT` that
the build wrote (setup.py). Neither, and it is unknown.
"""
from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from engine.core.i18n import msg, tr

DISTRIBUTION = "policy-engine"
_PACKAGE = Path(__file__).resolve().parent.parent
COMMIT_FILE = _PACKAGE / "COMMIT"


def package_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return tr("(not installed)")


def commit() -> tuple[str, str] | None:
    """(commit, how it is known), or None when it is not."""
    checkout = _PACKAGE.parent
    if (checkout / ".git").exists():  # a folder, or a file in a git worktree
        head = _git(checkout, "rev-parse", "HEAD")
        if head:
            dirty = _git(checkout, "status", "--porcelain", "--untracked-files=no")
            return head, msg("git checkout, with uncommitted changes") if dirty else msg("git checkout")
    if COMMIT_FILE.is_file():
        recorded = COMMIT_FILE.read_text(encoding="utf-8").strip()
        if recorded:
            return recorded, msg("recorded when the package was built")
    return None


def describe() -> str:
    """What `policy --version` prints."""
    known = commit()
    where = tr("commit {commit} ({how})", commit=known[0], how=known[1]) if known else tr("commit unknown")
    return f"{DISTRIBUTION} {package_version()}\n{where}"


def _git(folder: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git here: the commit is simply not known this way
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""

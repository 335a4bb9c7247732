"""The web pages' tests: a real `policy serve` with tokens, and Debian's chromium driven by Playwright (never a
downloaded browser). Screenshots go to $POLICY_UI_SCREENSHOTS (docs/ui.md: how the committed ones are made),
else to a temporary folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("POLICY_CHROMIUM", "/usr/bin/chromium")


def need_chromium() -> str:
    """The browser, or a skip saying why (under CI a failure: there it must be installed)."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install -e '.[dev]')"
    if reason is None and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        reason = (f"chromium is not installed at {CHROMIUM} (Debian package `chromium`; ./dev installs it when run "
                  "as root): the browser tests drive it headless")
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


def screenshots(default: Path) -> Path:
    folder = Path(os.environ.get("POLICY_UI_SCREENSHOTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder

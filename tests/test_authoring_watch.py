"""`policy check --watch`: checks, then checks again when a file is saved."""
from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.authoring_demo import POLICY, write_store

ROOT = Path(__file__).resolve().parent.parent


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))


def _wait_for(lines: queue.Queue, text: str, seen: list, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"{text!r} never came; got {seen}")


@pytest.mark.slow
def test_check_watch_checks_again_on_save(tmp_path):
    policies = write_store(tmp_path)
    target = policies / "demo" / "grant" / "2024-01-01.yaml"
    process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--policies", str(policies), "check", "--watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list = []
    try:
        _wait_for(lines, "watching for changes", seen)
        assert "0 errors, 0 warnings in 1 policy version" in seen
        target.write_text(POLICY.replace("require: adult", "require: adlut"), encoding="utf-8")
        _wait_for(lines, "checking again", seen)
        _wait_for(lines, "1 error, 0 warnings in 1 policy version", seen)
        assert any("error[name.unknown]" in line and "adlut" in line for line in seen)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_files_watched_are_those_check_reads(tmp_path):
    """A saved case file is not "changed: …; checking again": `policy check` does not read it (`policy test` does)."""
    from engine.cli.watching import _stamps

    policies = write_store(tmp_path)
    watched = {p.name for p in _stamps([policies])}
    assert "2024-01-01.yaml" in watched and not any(name.endswith(".cases.yaml") for name in watched)

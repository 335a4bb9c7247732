"""`policy check --watch`: check again whenever a file is saved, by polling modification times (no extra
dependency, the same on every system)."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from engine.core.i18n import tr
from engine.policies.store import CASES_SUFFIX

INTERVAL = 0.5  # seconds between looks at the files


def _stamps(roots: list[Path]) -> dict:
    """Modification time and size of every YAML and JSON file under roots that `policy check` reads: not the
    example cases beside the versions (`policy test` runs those), whose saving would only check the same again."""
    stamps = {}
    for root in roots:
        files = [root] if root.is_file() else (root.rglob("*") if root.is_dir() else [])
        for f in files:
            if f.suffix in (".yaml", ".yml", ".json") and not f.name.endswith(CASES_SUFFIX):
                try:
                    st = f.stat()
                except OSError:
                    continue
                stamps[f] = (st.st_mtime_ns, st.st_size)
    return stamps


def watch_files(roots: list[Path], run: Callable[[], int], interval: float = INTERVAL) -> None:
    """Run `run` now and after every change under roots (a file saved, added or removed), until Ctrl-C."""
    seen = _stamps(roots)
    run()
    click.echo(tr("watching for changes (Ctrl-C stops)"), err=True)
    while True:
        time.sleep(interval)
        now = _stamps(roots)
        if now != seen:
            changed = sorted(str(f) for f in set(now) | set(seen) if now.get(f) != seen.get(f))
            seen = now
            click.echo(tr("changed: {files}; checking again",
                          files=", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")), err=True)
            run()

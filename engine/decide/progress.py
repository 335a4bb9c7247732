"""A progress bar on standard error for long batches: claims done, claims per second, time left.

Shown only when standard error is a terminal and the caller did not ask for quiet.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager


def _rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} claims/s" if speed else "… claims/s")

    return RateColumn()


@contextmanager
def progress_bar(total: int | None, label: str = "claims", enabled: bool | None = None):
    """Yields a function advance(n); a no-op when the bar is not shown."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda n: None
        return
    # rich is imported only when a bar is shown: most runs are piped and never need it.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn(label)]
    if total:
        columns += [BarColumn(), MofNCompleteColumn(), _rate_column(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed:,}"), _rate_column(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)

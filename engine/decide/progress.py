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


class Bar:
    """What a batch is given: `bar(n)` counts n more claims; `bar.write(data)` writes output records.

    When the output goes to the terminal the bar is drawn on, the bar is taken off the screen before each
    write and put back after it, so an output line never starts after the bar's text (rich redraws the bar
    from a thread of its own, at any moment; stopping the display waits for that thread)."""

    def __init__(self, output, progress=None, task=None):
        self.output, self.progress, self.task = output, progress, task
        self.shares_terminal = progress is not None and _is_terminal(output)

    def __call__(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def write(self, data: bytes) -> None:
        if not self.shares_terminal:
            self.output.write(data)
            return
        self.progress.stop()  # erases the bar (it is transient): the cursor is at the start of its line
        self.output.write(data)
        self.output.flush()
        self.progress.start()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress_bar(total: int | None, label: str = "claims", enabled: bool | None = None, output=None):
    """Yields a Bar; it counts nothing and writes straight to `output` when the bar is not shown."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield Bar(output)
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
        yield Bar(output, progress, task)

"""Batches: stream claims through an evaluator, on one process or several, output in input order.

Memory stays flat: claims are read lazily and at most a few chunks per worker are in flight.
Each result becomes one output record (a JSON line, or a text block) in the order claims came in.
"""
from __future__ import annotations

import gc
import json
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from itertools import islice

import orjson

from engine.claims.reader import RawClaim
from engine.core.i18n import tr
from engine.core.records import dataclass
from engine.decide.explain import explain
from engine.decide.results import ClaimError, Decision

CHUNK = 256  # claims decided at a time in this process: few enough to stay in the CPU's caches
WORKER_CHUNK = 1024  # claims per task sent to a worker: enough to amortise the hand-over between processes
COLUMNAR_CHUNK = 4096  # claims decided at a time by columns: enough rows to amortise each column operation (4,096
# decided 100,000 bench claims about 4% faster than 2,048, 8,192 no faster again; a chunk of parsed claims is ~13 MB)


@dataclass
class Counts:
    decided: int = 0
    eligible: int = 0
    invalid: int = 0
    not_in_force: int = 0
    undecided: int = 0

    def add(self, result) -> None:
        if isinstance(result, Decision):
            self.decided += 1
            self.eligible += result.eligible
        else:
            setattr(self, result.kind, getattr(self, result.kind) + 1)

    def merge(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total(self) -> int:
        return self.decided + self.invalid + self.not_in_force + self.undecided

    def line(self) -> str:
        return tr("{decided} decided ({eligible} eligible), {invalid} invalid, {not_in_force} with no policy in force, "
                  "{undecided} undecided", decided=self.decided, eligible=self.eligible, invalid=self.invalid,
                  not_in_force=self.not_in_force, undecided=self.undecided)


@dataclass(frozen=True)
class OutputFormat:
    kind: str = "json"  # json | text
    summary: bool = False
    verbose: bool = False
    columnar: bool = False  # summaries decided a chunk at a time by the columnar engine (engine.columnar)
    parquet: bool = False  # the JSON summary lines written as the rows of Parquet files (engine.decide.parquet_output)


def render(result, fmt: OutputFormat) -> bytes:
    if fmt.kind == "json":
        if not fmt.summary and type(result) is Decision:
            try:
                return result.json_bytes() + b"\n"  # the same bytes as below, made faster
            except TypeError:
                pass
        data = result.to_json(summary=fmt.summary)
        try:
            return orjson.dumps(data) + b"\n"
        except TypeError:  # beyond orjson's range (huge integers): the standard encoder, in orjson's layout
            # (a lone surrogate is written as its JSON escape, \\ud800, never a crash)
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode(
                "utf-8", "backslashreplace") + b"\n"
    return (explain(result, fmt.verbose) + "\n\n").encode("utf-8", errors="backslashreplace")


class Interrupted(Exception):
    """Ctrl-C during a batch, raised between two output records; `written` claims were written whole."""

    def __init__(self, written: int):
        super().__init__(f"interrupted after {written} claims")
        self.written = written


class StopAtRecord:
    """While active, SIGINT stops the batch at the next record boundary instead of wherever Python happens to be
    (which could cut an output line in two, or leave a worker pool's lock held): the first Ctrl-C sets a flag,
    checked after each write; a second one interrupts at once. Workers ignore SIGINT (the terminal sends it to
    the whole process group): the parent stops them."""

    def __init__(self):
        self.written = 0
        self.requested = False
        self._previous = None

    def __enter__(self) -> StopAtRecord:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_signal(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def counter(self, advance: Callable[[int], None] | None) -> Callable[[int], None]:
        """Called by the batch after each write with the number of claims it held."""
        def counted(n: int) -> None:
            self.written += n
            if advance is not None:
                advance(n)
            if self.requested:
                raise Interrupted(self.written)
        return counted


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunks(raws: Iterable[RawClaim], size: int) -> Iterator[Sequence[RawClaim]]:
    by_chunk = getattr(raws, "chunks", None)  # read_claims: lines left as lines, a chunk at a time
    if by_chunk is not None:
        yield from by_chunk(size)
        return
    it = iter(raws)
    while chunk := list(islice(it, size)):
        yield chunk


def _decide_chunk(evaluator, chunk: Sequence[RawClaim], as_of: date | None, fmt: OutputFormat,
                  stats=None) -> tuple[bytes, Counts]:
    if fmt.columnar:
        from engine.columnar.batch import STATS, decide_chunk

        return decide_chunk(evaluator, chunk, as_of, stats or STATS)
    counts = Counts()
    out = []
    for raw in chunk:
        result = evaluator.evaluate_raw(raw, as_of)
        counts.add(result)
        out.append(render(result, fmt))
    return b"".join(out), counts


def run(evaluator, raws: Iterable[RawClaim], write: Callable[[bytes], None], as_of: date | None = None,
        fmt: OutputFormat = OutputFormat(), jobs: int = 1, on_progress: Callable[[int], None] | None = None,
        ) -> Counts:
    """Decide every claim, writing each output record in input order. Returns the counts."""
    counts = Counts()
    chunks = _chunks(raws, COLUMNAR_CHUNK if fmt.columnar else CHUNK)

    def decide_here(chunk: Sequence[RawClaim]) -> None:
        data, c = _decide_chunk(evaluator, chunk, as_of, fmt)
        write(data)
        counts.merge(c)
        if on_progress:
            on_progress(c.total)
        _freeze_once()

    # The first chunk is decided here: the policy is then compiled once, before any worker is forked,
    # and every worker inherits it instead of compiling it again.
    first = next(chunks, None)
    if first is None:
        return counts
    decide_here(first)
    if jobs <= 1:
        for chunk in chunks:
            decide_here(chunk)
        return counts
    if not fmt.columnar:  # a column chunk is a worker's already; claim by claim, workers take larger ones
        chunks = _chunks((raw for chunk in chunks for raw in chunk), WORKER_CHUNK)
    global _worker_state
    _worker_state = (evaluator, as_of, fmt)  # inherited by forked workers; no re-loading of policies
    import multiprocessing  # only with --jobs: importing it costs a one-claim run a tenth of its start

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    if context.get_start_method() != "fork":  # pragma: no cover - every platform we run on can fork
        raise RuntimeError("--jobs needs a platform that can fork processes")
    pool = context.Pool(jobs, initializer=_ignore_interrupts)
    try:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_worker, (chunk,)))
            while len(pending) > jobs * 4:  # bound what is in flight, so memory stays flat
                _drain(pending.popleft(), write, counts, on_progress)
        while pending:
            _drain(pending.popleft(), write, counts, on_progress)
    except Interrupted:
        # Pool.terminate() can wait for ever while its feeder thread is still writing a chunk into the pipe the
        # workers read (it stops reading that pipe on a race): the chunks in flight (a few per worker, bounded
        # above) are decided to the end instead, their records dropped, and the workers leave by themselves.
        pool.close()
        pool.join()
        raise
    except BaseException:
        pool.terminate()  # a second Ctrl-C, or an output that cannot be written: at once
        raise
    pool.close()  # every chunk's records are written: the workers are idle and leave
    pool.join()
    return counts


def _drain(async_result, write, counts: Counts, on_progress) -> None:
    data, c, stats = async_result.get()
    write(data)
    counts.merge(c)
    if stats is not None:
        from engine.columnar.batch import STATS

        STATS.merge(stats)
    if on_progress:
        on_progress(c.total)


_worker_state: tuple | None = None  # (evaluator, as_of, fmt), set before the workers are forked


def _worker(chunk: Sequence[RawClaim]) -> tuple[bytes, Counts, object]:
    """A chunk decided in a worker: its records, counts, and (by columns) what the columns did, which the parent
    adds to its own (`-v`): the worker's own statistics would stay in the worker."""
    assert _worker_state is not None, "workers are forked after _worker_state is set"
    evaluator, as_of, fmt = _worker_state
    stats = None
    if fmt.columnar:
        from engine.columnar.batch import Stats

        stats = Stats()
    data, counts = _decide_chunk(evaluator, chunk, as_of, fmt, stats)
    _freeze_once()
    return data, counts, stats


_frozen = False


def _freeze_once() -> None:
    """After the first chunk the policy is compiled: its many long-lived closures are set aside from the
    cyclic collector, which otherwise walks them again and again while claims come and go."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()  # in a parent about to fork, also keeps the pages its workers inherit shared


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def count_lines(paths: list[str]) -> int | None:
    """Claims in JSON Lines and Parquet files, for a progress bar's total; None when unknowable (stdin, YAML)."""
    total = 0
    for name in paths:
        if name.lower().endswith((".parquet", ".parq")):
            from engine.claims.parquet import row_count

            rows = row_count(name)
            if rows is None:
                return None
            total += rows
            continue
        if name == "-" or not name.endswith((".jsonl", ".ndjson")):
            return None
        try:
            with open(name, "rb") as handle:
                total += sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        except OSError:
            return None
    return total


__all__ = ["Counts", "OutputFormat", "run", "render", "default_jobs", "count_lines", "ClaimError"]

"""Where a batch's records go besides standard output: one file, or a folder of parts (docs/scale.md).

Both are written under temporary names in their own folder and renamed when whole, so a reader never sees half a
file: one file appears when the run has written every record; a part appears when its partition is decided, and a
partition decided twice (a worker that died, its task run again elsewhere) renames the same bytes over the same
name. Temporary files start with a dot and end in `.tmp`, so that `part-*` never matches one.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from engine.core.i18n import tr
from engine.core.reasons import os_reason

EXIT_NOT_EMPTY = 73  # the output folder already holds files (sysexits EX_CANTCREAT)
EXIT_CANNOT_WRITE = 74  # as engine.cli.common.EXIT_OUTPUT
PART_DIGITS = 5  # part-00000: more digits only past 100,000 parts, so that names sort in input order


class OutputRefused(Exception):
    """The output cannot be made: a folder that is not empty (exit 73), or one that cannot be created (74)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def is_folder(target: str) -> bool:
    """`--output DIR/` (a trailing slash) or the name of an existing folder: a folder of parts."""
    return target.endswith(("/", os.sep)) or Path(target).is_dir()


def prepare_folder(target: str) -> Path:
    """The folder of parts, created when missing; refused when it holds anything (a second run into the same
    folder would mix two runs' parts)."""
    folder = Path(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if any(folder.iterdir()):
            raise OutputRefused(tr("the output folder {folder} is not empty: give an empty or new folder",
                                   folder=target), EXIT_NOT_EMPTY)
    except OSError as exc:
        raise OutputRefused(tr("cannot create the output folder {folder}: {reason}", folder=target,
                               reason=os_reason(exc)), EXIT_CANNOT_WRITE) from None
    return folder


def part_suffix(fmt) -> str:
    """The name ending of the parts of a batch written in `fmt` (an engine.decide.batch.OutputFormat)."""
    if fmt.parquet:
        return ".parquet"
    return ".jsonl" if fmt.kind == "json" else ".txt"


def part_name(index: int, count: int, suffix: str) -> str:
    """part-00000.jsonl …: as many digits as the last index needs, at least five."""
    return f"part-{index:0{max(PART_DIGITS, len(str(max(count - 1, 0))))}d}{suffix}"


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")


@contextmanager
def whole(target: Path) -> Iterator[BinaryIO]:
    """A file to write `target` through: a temporary file beside it, flushed to disk and renamed to `target` when
    the block ends, removed when it raises."""
    temporary = _temporary(target)
    try:
        with temporary.open("wb") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def part_writer(target: Path, fmt) -> Iterator[Callable[[bytes], None]]:
    """A function that writes records to the part `target`, whole when the block ends: as they are, or, for
    --format parquet, as the rows of a Parquet file."""
    with whole(target) as sink:
        if not fmt.parquet:
            def write(data: bytes) -> None:
                sink.write(data)

            yield write
            return
        from engine.decide.parquet_output import ParquetStream

        stream = ParquetStream(sink)
        yield stream.write
        stream.close()


def write_whole(target: Path, pieces: Iterable[bytes], fmt) -> None:
    with part_writer(target, fmt) as write:
        for piece in pieces:
            write(piece)


def sweep(folder: Path) -> None:
    """Remove what killed writers left behind: temporary parts that were never renamed."""
    for leftover in folder.glob(".part-*.tmp"):
        leftover.unlink(missing_ok=True)


class FileOutput:
    """`--output FILE`: records written to a temporary file beside FILE, renamed to FILE by `commit`; `abort`
    (an interrupted or refused run) leaves FILE as it was.

    A symbolic link is followed (the file it names is replaced, the link kept). A FILE that exists and is no regular
    file (/dev/null, /dev/full, a FIFO another process reads, a socket) is written into, as a shell's `>` writes:
    renaming a file over it would put a regular file where the device or pipe was (as root, /dev/null itself)."""

    def __init__(self, target: str):
        path = Path(os.path.realpath(target)) if os.path.islink(target) else Path(target)
        self.target = path
        self.direct = path.exists() and not path.is_file() and not path.is_dir()
        self.temporary = path if self.direct else _temporary(path)
        try:
            self.handle = self.temporary.open("wb")
        except OSError as exc:
            raise OutputRefused(tr("cannot write the output to {file}: {reason}", file=target,
                                   reason=os_reason(exc)), EXIT_CANNOT_WRITE) from None

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def isatty(self) -> bool:
        return False

    def commit(self) -> None:
        self.handle.flush()
        if self.direct:  # a device or a pipe: nothing to sync or rename (fsync refuses most of them)
            self.handle.close()
            return
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temporary, self.target)

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # what a device refused on the last flush (a full disk) was said already
            self.handle.close()
        if not self.direct:
            self.temporary.unlink(missing_ok=True)


def decide_into_parts(evaluator, folder: Path, paths: list[str], stdin, as_of, fmt, jobs: int, on_progress,
                      partition_bytes: int):
    """`policy evaluate … --output DIR/` in this process (or its --jobs workers): the partitions --dask would
    make, each decided in input order and written as its part. Returns the Counts."""
    from engine.claims.partitions import claims_of, partitions
    from engine.decide import batch

    parts = list(partitions(paths, partition_bytes))
    record = evaluator.input_type()
    counts, written = batch.Counts(), 0
    try:
        for part in parts:
            with part_writer(folder / part_name(part.index, len(parts), part_suffix(fmt)), fmt) as write:
                part_counts = batch.run(evaluator, claims_of(part, stdin, record), write, as_of, fmt, jobs, on_progress)
            counts.merge(part_counts)
            written += part_counts.total
    except batch.Interrupted:  # the part being decided is not written: only whole parts count
        raise batch.Interrupted(written) from None
    finally:
        sweep(folder)
    return counts

"""Input cut into partitions: a JSON Lines file into byte ranges that start and end at line boundaries (each knows
the number of its first line, so error records name the same `file:line` as one process), a Parquet file into its
row groups, any other file into one partition of its own. `--output DIR/` writes a part per partition, in this
process or on a Dask cluster's workers (engine.distributed), which read their partitions from the files themselves.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.core.records import dataclass

PARTITION_BYTES = 8 << 20  # a partition: about 13,000 claims of the benchmark, a few seconds of one worker


@dataclass(frozen=True)
class Partition:
    index: int
    path: str  # as the caller named it: locations in error records say it
    start: int = -1  # byte range of a JSON Lines file, at line boundaries; -1: the whole file, read as usual
    end: int = -1
    first_line: int = 1
    lines: int | None = None  # line breaks in the range (for progress); None when unknown
    row_group: int = -1  # of a Parquet file; -1: not a row group


def partitions(paths: list[str], size: int = PARTITION_BYTES) -> Iterator[Partition]:
    """The partitions of every path, in input order. Reads each JSON Lines file once, a block at a time."""
    from engine.claims.parquet import is_parquet, row_groups

    index = 0
    for name in paths:
        path = Path(name)
        groups = row_groups(name) if is_parquet(name) else None
        if groups is not None:  # a partition per row group (a file that is not Parquet: one, its error record)
            for group in range(groups):
                yield Partition(index, name, row_group=group)
                index += 1
            continue
        if path.suffix not in (".jsonl", ".ndjson") or not path.is_file():
            yield Partition(index, name)
            index += 1
            continue
        with path.open("rb") as handle:
            start, line = 0, 1
            while True:
                block = handle.read(size)
                if not block:
                    break
                length, breaks = len(block), block.count(b"\n")
                if not block.endswith(b"\n"):  # finish the line the block cut, without holding it
                    while True:
                        piece = handle.readline(1 << 20)
                        length += len(piece)
                        if not piece or piece.endswith(b"\n"):
                            breaks += piece.count(b"\n")
                            break
                yield Partition(index, name, start, start + length, line, breaks)
                index += 1
                start, line = start + length, line + breaks


def claims_of(part: Partition, stdin=None, record=None) -> Iterable:
    """The claims of one partition, unparsed where they are JSON Lines (whoever decides them parses them);
    `record`, the input schema's record type, says which text columns of Parquet are exact numbers."""
    from engine.claims.chunks import LinesOf
    from engine.claims.reader import read_claims

    if part.row_group >= 0:
        from engine.claims.parquet import read_parquet

        return list(read_parquet(part.path, record, part.row_group))
    if part.start < 0:
        return read_claims([part.path], stdin, lazy=True, record=record)
    return LinesOf(part.path, part.start, part.end, part.first_line)  # split as partitions() counts lines

"""Claims a chunk at a time, for the engines that decide a chunk at once (the columnar engine, worker processes).

A JSON Lines file is read in blocks and split into lines by one call per block, and its claims stay lines: no
RawClaim is made for a line until someone asks for it (the columnar engine takes the lines themselves, and makes
RawClaims only of the few it leaves to the per-claim engine), and a claim's location (`file:line`) is written only
then. Everything else is read as engine.claims.reader reads it, a RawClaim at a time. What is read, and every error
record, is the same either way: a line longer than LIMITS.claim_line_bytes is a `claim.too_large` claim whose rest
is skipped (never held in memory), blank lines are skipped and counted, and a line is kept without its line break
(which neither reader looks at).
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from engine.claims.reader import BOM, RawClaim, too_long_line, unreadable
from engine.core.limits import LIMITS

BLOCK_BYTES = 1 << 19  # read at a time: hundreds of claims; below the least line limit, no line is checked for it


class ClaimChunk(Sequence):
    """Up to a chunk of consecutive claims: `lines[i]` is the unparsed line of claim i, or None where the claim was
    made already (`made[i]`: a line too long, or a claim of a file read whole). The lines run in segments of
    consecutive line numbers: segment k begins at claim starts[k], with line firsts[k] of file names[k]."""

    __slots__ = ("lines", "made", "starts", "names", "firsts")

    def __init__(self, lines: list, made: dict, starts: list, names: list, firsts: list):
        self.lines = lines
        self.made = made
        self.starts = starts
        self.names = names
        self.firsts = firsts

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.lines)))]
        if i < 0:
            i += len(self.lines)
        made = self.made.get(i)
        if made is not None:
            return made
        line = self.lines[i]  # an IndexError past the end, as a list's
        k = bisect_right(self.starts, i) - 1
        return RawClaim(None, f"{self.names[k]}:{self.firsts[k] + i - self.starts[k]}", line=line)

    def __reduce__(self):  # sent to worker processes: the lines, not a RawClaim each
        return ClaimChunk, (self.lines, self.made, self.starts, self.names, self.firsts)


def line_blocks(handle: IO[bytes], name: str, limit: int, first_line: int = 1) -> Iterator[tuple[list, list, dict]]:
    """(lines, segments, made) of each block of a JSON Lines stream: the claims' lines (None for a line longer than
    `limit` bytes, whose claim is in `made` by its position), and (position, line number) where each run of
    consecutive line numbers begins (blank lines are skipped). A line with its line break is too long from `limit`
    bytes without it (as reading `limit` + 1 bytes a line finds), the last line without one from `limit` + 1; what
    follows the first `limit` + 1 bytes of a long line is read and dropped, block by block."""
    number = first_line  # of the first line of `pending`
    pending = b""
    skipping = False  # inside a line found too long: its rest is dropped up to its line break
    at_start = first_line == 1
    while True:
        data = handle.read(BLOCK_BYTES)
        if not data:
            break
        if at_start:  # a byte order mark is no part of the first line
            while len(data) < len(BOM) and BOM.startswith(data) and (more := handle.read(BLOCK_BYTES)):
                data += more
            data, at_start = data.removeprefix(BOM), False
            if not data:
                continue
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            data = data[end + 1:]
            skipping = False
        lines: list = data.split(b"\n")
        if pending:  # joined to the first line only: the block is not copied again
            lines[0] = pending + lines[0]
        may_be_long = len(pending) + len(data) >= limit
        pending = lines.pop()
        first = number
        number += len(lines)
        found: tuple[list, list, dict]
        if not lines or all(lines) and not any(map(bytes.isspace, lines)) and not (
                may_be_long and max(map(len, lines)) >= limit):
            found = lines, [(0, first)], {}
        else:
            found = _claims_of(lines, first, limit, name)
        if len(pending) > limit:  # the line not ended yet is too long already
            found[2][len(found[0])] = too_long_line(f"{name}:{number}")
            found[0].append(None)
            if not found[1] or found[1][-1][1] + len(found[0]) - 1 - found[1][-1][0] != number:
                found[1].append((len(found[0]) - 1, number))
            number += 1
            pending = b""
            skipping = True
        if found[0]:
            yield found
    if pending and not pending.isspace():  # the last line, with no line break (a longer one was found above)
        yield [pending], [(0, number)], {}


def _claims_of(lines: list, first: int, limit: int, name: str) -> tuple[list, list, dict]:
    """The block's lines with the blank ones left out, where each run of line numbers begins, and a claim made for
    each line too long (with its line break, longer than the limit)."""
    kept: list = []
    segments: list = []
    made: dict = {}
    expected = None  # the line number the next kept line has if it continues the run
    for i, line in enumerate(lines):
        long_line = len(line) >= limit
        if not long_line and (not line or line.isspace()):
            continue
        if first + i != expected:
            segments.append((len(kept), first + i))
        expected = first + i + 1
        if long_line:
            made[len(kept)] = too_long_line(f"{name}:{first + i}")
            line = None
        kept.append(line)
    return kept, segments, made


class _Builder:
    """Chunks of exactly `size` claims (the last may be shorter), filled from blocks of lines and single claims."""

    def __init__(self, size: int):
        self.size = size
        self._reset()

    def _reset(self) -> None:
        self.lines: list = []
        self.made: dict = {}
        self.starts: list = []
        self.names: list = []
        self.firsts: list = []

    def add_lines(self, name: str, lines: list, segments: list, made: dict) -> Iterator[ClaimChunk]:
        start = 0
        while start < len(lines):
            end = min(len(lines), start + self.size - len(self.lines))
            shift = len(self.lines) - start
            k = bisect_right(segments, (start, float("inf"))) - 1  # the run the first line taken belongs to
            offset, number = segments[k]
            self._segment(shift + start, name, number + start - offset)
            for offset, number in segments[k + 1:]:
                if offset >= end:
                    break
                self._segment(shift + offset, name, number)
            for i, claim in made.items():
                if start <= i < end:
                    self.made[shift + i] = claim
            self.lines += lines[start:end]
            start = end
            if len(self.lines) == self.size:
                yield self._take()

    def _segment(self, start: int, name: str, first: int) -> None:
        self.starts.append(start)
        self.names.append(name)
        self.firsts.append(first)

    def add(self, claim: RawClaim) -> Iterator[ClaimChunk]:
        self.made[len(self.lines)] = claim
        self.lines.append(None)
        if len(self.lines) == self.size:
            yield self._take()

    def _take(self) -> ClaimChunk:
        chunk = ClaimChunk(self.lines, self.made, self.starts, self.names, self.firsts)
        self._reset()
        return chunk

    def rest(self) -> Iterator[ClaimChunk]:
        if self.lines:
            yield self._take()


def chunked(sources: Iterable, size: int) -> Iterator[ClaimChunk]:
    """Chunks of `size` claims from `sources`: each a (name, handle, line limit, number of its first line) of JSON
    Lines to read in blocks, or a RawClaim made already. A file that fails while it is read ends with a claim
    saying why, as it does when read a claim at a time."""
    builder = _Builder(size)
    for source in sources:
        if isinstance(source, RawClaim):
            yield from builder.add(source)
            continue
        name, handle, limit, first_line = source
        with handle:
            try:
                for lines, segments, made in line_blocks(handle, name, limit, first_line):
                    yield from builder.add_lines(name, lines, segments, made)
            except OSError as exc:
                yield from builder.add(unreadable(name, exc))
    yield from builder.rest()


class LinesOf:
    """The claims of a byte range of a JSON Lines file (from `start`, a line's first byte, to `end`, just past a line
    break), their lines numbered from `first_line`: read a block at a time (a long line is never held whole), and
    split at line feeds only, as a whole file's lines are, never at a lone carriage return."""

    def __init__(self, path: str, start: int, end: int, first_line: int):
        self.path = path
        self.start = start
        self.end = end
        self.first_line = first_line

    def chunks(self, size: int) -> Iterator[ClaimChunk]:
        return chunked(self._sources(), size)

    def __iter__(self) -> Iterator[RawClaim]:
        for chunk in self.chunks(4096):
            yield from chunk

    def _sources(self) -> Iterator:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed by chunked
            handle.seek(self.start)
        except OSError as exc:
            yield unreadable(self.path, exc)
            return
        yield self.path, _Range(handle, self.end - self.start), LIMITS.claim_line_bytes, self.first_line


class _Range:
    """The next `length` bytes of a file, read as a file is."""

    def __init__(self, handle: IO[bytes], length: int):
        self.handle = handle
        self.left = length

    def read(self, size: int) -> bytes:
        data = self.handle.read(min(size, self.left))
        self.left -= len(data)
        return data

    def __enter__(self) -> _Range:
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

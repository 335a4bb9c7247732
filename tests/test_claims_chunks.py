"""Claims read a chunk at a time (engine.claims.chunks) are the claims read one at a time: the same lines, locations
and error records, in the same order, whatever the block size, the line limit and the chunk size."""
from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.claims import chunks
from engine.claims.reader import BOM, read_claims, read_lines
from engine.core.limits import LIMITS


def _one_by_one(paths: list[str]) -> list[tuple]:
    return [(r.location, None if r.line is None else r.line.removesuffix(b"\n"), r.data,
             r.error and r.error.to_json()) for r in read_claims(paths, lazy=True)]


def _by_chunks(paths: list[str], size: int) -> list[tuple]:
    seen = []
    for chunk in read_claims(paths, lazy=True).chunks(size):
        assert 0 < len(chunk) <= size
        seen += [(r.location, r.line, r.data, r.error and r.error.to_json()) for r in chunk]
    return seen


LINE = st.one_of(
    st.sampled_from([b"", b" ", b"\t", b"\r", b"  \r", b"{}", b'{"a":1}', b'{"a": "x:y"}', b"not json", b"{\r",
                     b"\xef\xbb\xbf", b'\xef\xbb\xbf{"a":1}', b"\xef\xbb"]),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")))


@settings(max_examples=300, deadline=None)
@given(files=st.lists(st.tuples(st.lists(LINE, max_size=25), st.booleans()), min_size=1, max_size=3),
       limit=st.integers(1, 40), block=st.integers(1, 64), size=st.integers(1, 9))
def test_chunks_hold_the_claims_read_one_at_a_time(tmp_path_factory, files, limit, block, size):
    folder = tmp_path_factory.mktemp("chunks")
    paths = []
    for i, (lines, ends_with_break) in enumerate(files):
        path = folder / f"claims-{i}.jsonl"
        path.write_bytes(b"\n".join(lines) + (b"\n" if ends_with_break and lines else b""))
        paths.append(str(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LIMITS, "claim_line_bytes", limit)
        patch.setattr(chunks, "BLOCK_BYTES", block)
        assert _by_chunks(paths, size) == _one_by_one(paths)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=12), ends_with_break=st.booleans(), limit=st.integers(1, 40))
def test_lines_sent_over_http_are_cut_at_the_limit_as_a_file_is(tmp_path_factory, lines, ends_with_break, limit):
    """The service's batch and the web page's upload split a body at its line feeds (read_lines): a line of exactly
    the limit followed by a line feed is as much too long there as in a file."""
    data = b"\n".join(lines) + (b"\n" if ends_with_break and lines else b"")
    path = tmp_path_factory.mktemp("http-lines") / "claims.jsonl"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LIMITS, "claim_line_bytes", limit)
        from_file = [_seen(r) for chunk in read_claims([str(path)], lazy=True).chunks(7) for r in chunk]
        pieces = data.removeprefix(BOM).split(b"\n")  # as the service and the web page take a body
        whole = [_seen(r) for r in read_lines([p[:limit + 1] for p in pieces], str(path))]
        ended = pieces[:-1]  # streamed: the pieces that had their line feed, then the rest as the last line
        streamed = [_seen(r) for r in [*read_lines(ended, str(path), last_ended=True),
                                       *read_lines(pieces[-1:], str(path), len(ended) + 1)]]
    assert whole == from_file == streamed


def _seen(raw) -> tuple:
    return raw.location, raw.line, raw.error and raw.error.to_json()


def test_other_files_and_unreadable_ones_keep_their_place_among_the_lines(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"n":1}\n\n{"n":2}\n')
    (tmp_path / "b.json").write_bytes(b'{"n":3}')
    (tmp_path / "c.ndjson").write_bytes(b'{"n":4}\r\n   \n{"n":5}')
    paths = [str(tmp_path / n) for n in ("a.jsonl", "b.json", "missing.jsonl", "c.ndjson", "a.jsonl")]
    expected = _one_by_one(paths)
    assert [e[0].rsplit("/", 1)[-1] for e in expected] == [
        "a.jsonl:1", "a.jsonl:3", "b.json", "missing.jsonl", "c.ndjson:1", "c.ndjson:3", "a.jsonl:1", "a.jsonl:3"]
    for size in (1, 2, 3, 8, 4096):
        assert _by_chunks(paths, size) == expected


def test_a_line_past_the_limit_is_refused_and_its_rest_never_held(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "claim_line_bytes", 100)
    monkeypatch.setattr(chunks, "BLOCK_BYTES", 64)
    path = tmp_path / "long.jsonl"
    path.write_bytes(b'{"n":1}\n' + b"x" * 5000 + b'\n{"n":2}\n' + b"y" * 100 + b"\n" + b"z" * 100)
    [chunk] = read_claims([str(path)], lazy=True).chunks(10)
    assert [r.error.code if r.error else r.line for r in chunk] == [
        b'{"n":1}', "claim.too_large", b'{"n":2}', "claim.too_large", b"z" * 100]
    assert [r.location.rsplit(":", 1)[1] for r in chunk] == ["1", "2", "3", "4", "5"]


def test_a_chunk_sent_to_a_worker_process_is_the_same_claims(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"n":1}\n\n' + b"{" * 3 + b"\n" + b'{"n":2}\n')
    [chunk] = read_claims([str(tmp_path / "a.jsonl"), str(tmp_path / "none.jsonl")], lazy=True).chunks(9)
    again = pickle.loads(pickle.dumps(chunk))
    assert [(r.location, r.line, r.error and r.error.to_json()) for r in again] == \
        [(r.location, r.line, r.error and r.error.to_json()) for r in chunk]
    assert [r.location for r in chunk[1:3]] == [chunk[1].location, chunk[2].location]
    assert chunk[-1].location.endswith("none.jsonl") and chunk[-1].error.code == "claim.unreadable"

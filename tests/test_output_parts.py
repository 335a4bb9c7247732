"""`policy evaluate --output`: one file that appears whole, or a folder of parts, one per partition of the input,
in input order; the same records, counts and exit code as standard output. (On Dask clusters:
tests/test_distributed.py.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
STORE = ["--policies", str(ROOT / "tests" / "fixtures" / "store"), "--schemas", str(ROOT / "tests" / "fixtures" /
                                                                                  "schemas")]
POLICY = "jinhua/digital-engineer-subsidy"


@pytest.fixture(scope="module")
def claims(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("parts-claims") / "claims.jsonl"
    with path.open("wb") as sink:
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "900", "--seed", "7"], stdout=sink,
                       check=True)
    with path.open("ab") as sink:  # an invalid line at the end: exit 2, and its line number must hold in its part
        sink.write(b'{"claim_id": "dup", "claim_id": "dup"}\n')
    return path


def run(capsys, *args: str) -> tuple[int, bytes, str]:
    code = cli.main([*STORE, "evaluate", "--policy", POLICY, *args])
    out, err = capsys.readouterr()
    return code, out.encode(), err


def parts_of(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


@pytest.mark.parametrize("extra", [["--format", "json", "--summary"],
                                   pytest.param(["--format", "json", "--jobs", "2"], marks=pytest.mark.slow),
                                   ["--format", "text"]])
def test_a_folder_of_parts_holds_the_records_of_standard_output_in_input_order(capsys, claims, tmp_path, extra):
    alone = run(capsys, str(claims), *extra)
    folder = tmp_path / "out"
    code, out, err = run(capsys, str(claims), *extra, "--output", f"{folder}/", "--partition-bytes", "65536")
    assert (code, err) == (alone[0], alone[2]) and code == 2
    assert out == b""
    parts = parts_of(folder)
    suffix = ".txt" if "text" in extra else ".jsonl"
    assert [p.name for p in parts] == [f"part-{i:05d}{suffix}" for i in range(len(parts))] and len(parts) > 3
    assert b"".join(p.read_bytes() for p in parts) == alone[1]
    assert b"claims.jsonl:901" in parts[-1].read_bytes()  # the line number, in the last part


@pytest.mark.parametrize("extra", [["--summary"], ["--summary", "--columnar"], []])
def test_a_carriage_return_inside_a_line_splits_no_claim_in_the_parts(capsys, claims, tmp_path, extra):
    """JSON allows a carriage return between tokens: the line is one claim, and the next keeps its number, as in
    standard output (parts once split lines at it, as bytes.splitlines does)."""
    lines = claims.read_bytes().splitlines(keepends=True)[:40]
    lines[5] = lines[5].replace(b'","', b'",\r"', 1)
    lines[39] = b'{"claim_id": "last"}\n'  # an error record says where its claim is
    path = tmp_path / "with-cr.jsonl"
    path.write_bytes(b"".join(lines))
    alone = run(capsys, str(path), "--format", "json", *extra)
    folder = tmp_path / "out"
    code, out, err = run(capsys, str(path), "--format", "json", *extra, "--output", f"{folder}/",
                         "--partition-bytes", "4096")
    assert (code, err) == (alone[0], alone[2]) and len(parts_of(folder)) > 1
    assert b"".join(p.read_bytes() for p in parts_of(folder)) == alone[1]
    assert alone[1].count(b"\n") == 40 and b"with-cr.jsonl:40" in alone[1]


def test_one_output_file_is_standard_output_written_whole(capsys, claims, tmp_path):
    alone = run(capsys, str(claims), "--format", "json", "--summary")
    target = tmp_path / "decisions.jsonl"
    target.write_bytes(b"an older run\n")
    code, out, err = run(capsys, str(claims), "--format", "json", "--summary", "-o", str(target))
    assert (code, out, err) == (alone[0], b"", alone[2])
    assert target.read_bytes() == alone[1]
    assert [p.name for p in tmp_path.iterdir()] == ["decisions.jsonl"]  # no temporary file left


def test_an_output_that_is_a_pipe_or_a_link_is_written_into_not_replaced(capsys, claims, tmp_path):
    """A rename over a FIFO (or /dev/null, as root) put a regular file in its place and its reader got nothing;
    over a symbolic link it replaced the link and left the file it names as it was."""
    import os
    import threading

    alone = run(capsys, str(claims), "--format", "json", "--summary")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run(capsys, str(claims), "--format", "json", "--summary", "-o", str(fifo))
    reader.join(60)
    assert code == alone[0] and received == [alone[1]]
    assert fifo.is_fifo()
    target, link = tmp_path / "kept.jsonl", tmp_path / "latest.jsonl"
    target.write_bytes(b"an older run\n")
    link.symlink_to(target.name)
    code, _, _ = run(capsys, str(claims), "--format", "json", "--summary", "-o", str(link))
    assert code == alone[0] and link.is_symlink() and target.read_bytes() == alone[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl", "latest.jsonl", "pipe"]


def test_an_existing_empty_folder_takes_parts_and_one_that_is_not_empty_is_refused(capsys, claims, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, _ = run(capsys, str(claims), "--format", "json", "--summary", "--output", str(empty))
    assert code == 2 and [p.name for p in parts_of(empty)] == ["part-00000.jsonl"]
    code, out, err = run(capsys, str(claims), "--format", "json", "--summary", "--output", str(empty))
    assert code == 73 and out == b""
    assert "is not empty" in err and "Traceback" not in err
    assert [p.name for p in parts_of(empty)] == ["part-00000.jsonl"]


def test_the_output_cannot_be_a_claims_file(capsys, claims):
    before = claims.read_bytes()
    code, _, err = run(capsys, str(claims), "--format", "json", "--output", str(claims))
    assert code == 64 and "is one of the claims files" in err
    assert claims.read_bytes() == before


def test_an_output_folder_that_cannot_be_made_is_exit_74(capsys, claims, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, str(claims), "--format", "json", "--output", f"{blocker}/sub/")
    assert code == 74 and "cannot create the output folder" in err

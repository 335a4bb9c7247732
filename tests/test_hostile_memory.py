"""Hostile input under a memory limit (issue 7): the command line, in its own process with an address-space
limit (RLIMIT_AS), must end with a clear error: not be killed, not die of MemoryError, not hang.

Linux only (RLIMIT_AS is not enforced on macOS). Tests marked xfail(strict=True, reason="bug: ...") show engine
bugs; each says what should happen.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "hostile"
POLICY = "jinhua/digital-engineer-subsidy"
GOOD = CORPUS / "claims" / "good.json"
GiB = 1024 ** 3

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")


def limited(*args, memory: int = GiB, timeout: float = 60) -> tuple[int, str, str]:
    """Run `policy ARGS` from ROOT with at most `memory` bytes of address space."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = dict(os.environ)  # the run's caches (tests/conftest.py), as a user's command has its own
    env.pop("POLICY_DEBUG", None)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT, env=env,
                          preexec_fn=limit, capture_output=True, timeout=timeout)
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert done.returncode >= 0, f"killed by signal {-done.returncode}\n{err[-2000:]}"
    for bad in ("Traceback", "MemoryError", "internal error"):
        assert bad not in out + err, (out + err)[-3000:]
    return done.returncode, out, err


def test_the_engine_runs_under_the_limit():
    # The baseline: a good claim is decided well inside the limit used below.
    rc, out, _ = limited("evaluate", GOOD, "--policy", POLICY, "--format", "json", "--summary", memory=GiB // 2)
    assert rc == 0 and json.loads(out)["eligible"] is True


def test_alias_bomb_as_a_policy_file():
    folder = CORPUS / "policies" / "alias-bomb"
    rc, out, _ = limited("--policies", folder.relative_to(ROOT), "check")
    line = next(line for line in out.splitlines() if "error[" in line)
    assert line.startswith(str(next(folder.rglob("*.yaml")).relative_to(ROOT)) + ":")
    assert "error[input.too_many_nodes]" in line and "more than 200000 values" in line
    assert rc == 1


def test_alias_bomb_as_a_claim_file_among_good_ones():
    bomb = (CORPUS / "claims" / "alias-bomb.yaml").relative_to(ROOT)
    rc, out, err = limited("evaluate", GOOD, bomb, GOOD, "--policy", POLICY, "--format", "json", "--summary")
    first, error, last = map(json.loads, out.splitlines())
    assert first["eligible"] is True and last["eligible"] is True
    assert error["error"]["code"] == "claim.too_many_nodes"
    assert error["error"]["location"].startswith(f"{bomb}:")
    assert "more than 2000000 values" in error["error"]["message"]
    assert "2 decided" in err and "1 invalid" in err
    assert rc == 2


def test_deep_json_claim_under_the_limit(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    rc, out, _ = limited("evaluate", path, "--policy", POLICY, "--format", "json")
    assert json.loads(out)["error"]["code"] == "claim.too_deep"
    assert rc == 2


def test_a_json_claim_file_with_millions_of_values(tmp_path):
    path = tmp_path / "many.json"
    path.write_bytes(b"[" + b"{}," * (5_000_000 - 1) + b"{}]")
    rc, out, _ = limited("evaluate", path, GOOD, "--policy", POLICY, "--format", "json", "--summary",
                         memory=GiB // 2)
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["eligible"] is True
    assert rc == 2


def _peak_rss_mb(*args) -> tuple[int, int]:
    """(exit code, peak resident memory in MB) of `policy ARGS` run in a fresh interpreter."""
    # VmHWM belongs to this process image (ru_maxrss would carry over the parent's peak across fork and exec).
    code = ("import re, sys, cli; rc = cli.main(sys.argv[1:]); status = open('/proc/self/status').read(); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024, file=sys.stderr); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, timeout=60)
    return done.returncode, int(done.stderr.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("parts", [False, True], ids=["standard-output", "folder-of-parts"])
def test_an_over_long_json_lines_claim_costs_no_more_than_the_line_limit(tmp_path, parts):
    """Also when the file is cut into byte ranges for a folder of parts (as for --dask): a range holding the long
    line is read a block at a time, not whole."""
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small.write_bytes(b'{"claim_id": "x"}\n')
    with big.open("wb") as handle:
        handle.write(b'{"claim_id": "')
        for _ in range(64):
            handle.write(b"x" * (1024 * 1024))
        handle.write(b'"}\n')
    args = ["evaluate", "--policy", POLICY, "--format", "json", "-q"]
    rc_small, base = _peak_rss_mb(*args, small, *(["--output", f"{tmp_path}/small-parts/"] if parts else []))
    rc_big, peak = _peak_rss_mb(*args, big, *(["--output", f"{tmp_path}/big-parts/"] if parts else []))
    assert rc_small == rc_big == 2
    assert peak - base < 32, f"{peak - base} MB more for one over-long line"

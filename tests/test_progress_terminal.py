"""The progress bar shares a terminal with the output without ever gluing itself onto an output line.

`policy evaluate` runs with standard output and standard error on one pseudo-terminal, as in a shell;
what it writes is replayed through a small terminal model (carriage return, erase line, cursor up, the
rest of the control sequences ignored), and the screen must hold exactly the output lines and the counts.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CONTROL = re.compile(rb"\x1b\[(\??)([0-9;]*)([A-Za-z])|\r|\n|[^\x1b\r\n]+")


def screen(data: bytes) -> list[str]:
    """The lines a terminal shows after `data` (no wrapping: the window is wider than any line here)."""
    lines, row, col = [b""], 0, 0
    for m in CONTROL.finditer(data):
        token = m.group(0)
        if token == b"\r":
            col = 0
        elif token == b"\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append(b"")
        elif m.group(3) is not None:
            private, arg, code = m.group(1), m.group(2), m.group(3)
            if private:
                continue  # cursor shown or hidden
            if code == b"K":  # erase in line; 2: the whole line, else from the cursor on
                lines[row] = b"" if arg == b"2" else lines[row][:col]
            elif code == b"A":
                row = max(0, row - int(arg or b"1"))
            # colours and other styling change no text
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return [line.decode("utf-8", "replace") for line in lines]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")
def test_output_lines_and_the_progress_bar_share_one_terminal_cleanly(tmp_path):
    claims = (FIXTURES / "claims.jsonl").read_bytes() * 100  # 3,000 claims: long enough for many redraws
    path = tmp_path / "claims.jsonl"
    path.write_bytes(claims)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 4000, 0, 0))  # wider than any output line
    env = {**os.environ, "POLICY_CACHE": "0", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "--policies", str(FIXTURES / "store"), "--schemas",
         str(FIXTURES / "schemas"), "evaluate", str(path), "--policy", "jinhua/digital-engineer-subsidy",
         "--format", "json", "--summary"], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    received = bytearray()
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert process.wait(timeout=120) in (0, 2)
    assert b"\x1b[" in received, "the progress bar was not drawn"
    shown = [line for line in screen(bytes(received).replace(b"\r\n", b"\n")) if line.strip()]
    *outputs, counts = shown
    assert len(outputs) == 3000 and "decided" in counts, shown[-3:]
    for line in outputs:
        json.loads(line)  # a glued bar would make the line invalid JSON
    assert [json.loads(x)["claim_id"] for x in outputs] == [json.loads(x)["claim_id"] for x in claims.splitlines()]

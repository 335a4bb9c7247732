"""Running the `policy` command in the test's own process, as every CLI test does: the arguments as text, standard
input when given, the exit code and what was printed, the language reset afterwards (--lang is the process's
choice: the next test chooses its own), and never a traceback (the project's rule for any input).

`invoke` reads what was printed through pytest's capsys; `run_policy` answers as `subprocess.run(...,
capture_output=True)` does, for helpers that replaced a process of their own: a `policy` process costs ten times
what the same command costs here, where the engine is imported and its caches are warm."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from typing import BinaryIO

from pytest import MonkeyPatch

from engine.cli import main as cli
from engine.core import limits
from engine.core.i18n import set_language


def invoke(capsys, *args, prefix: tuple = (), stdin: bytes | None = None, monkeypatch=None,
           env: dict | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    try:
        code = cli.main([str(a) for a in (*prefix, *args)])
    finally:
        set_language(None)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return code, out, err


def run_policy(*args, stdin: bytes = b"", env: dict | None = None, cwd: str | os.PathLike | None = None,
               stdout: BinaryIO | None = None) -> subprocess.CompletedProcess:
    """`policy ARGS` here, with `stdin` as its standard input, the variables of `env` set (a value of None unset)
    and `cwd` as its working folder while it runs; what it printed to standard output and error, as bytes. With
    `stdout` (a file open for writing bytes), standard output goes there as it is written, and the answer's is
    empty."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = {name: io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
               for name, buffer in (("stdout", stdout or out), ("stderr", err), ("stdin", io.BytesIO(stdin)))}
    with contextlib.ExitStack() as stack:
        patch = stack.enter_context(MonkeyPatch.context())
        for key, value in (env or {}).items():
            if value is None:
                patch.delenv(key, raising=False)
            else:
                patch.setenv(key, value)
        for name, stream in streams.items():
            patch.setattr(sys, name, stream)
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        try:
            code = cli.main([str(a) for a in args])
        finally:
            set_language(None)
            streams["stdout"].flush()
            streams["stderr"].flush()
            if stdout is not None:
                streams["stdout"].detach()  # the caller's file stays open
    limits.refresh()  # the command read the limits of `env`; what follows in the test reads the test's own
    return subprocess.CompletedProcess(["policy", *map(str, args)], code, out.getvalue(), err.getvalue())

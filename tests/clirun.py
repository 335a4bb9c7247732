"""Running the `policy` command in the test's own process, as every CLI test does: the arguments as text, standard
input when given, the exit code and what was printed, the language reset afterwards (--lang is the process's
choice: the next test chooses its own), and never a traceback (the project's rule for any input)."""
from __future__ import annotations

import io

from engine.cli import main as cli
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

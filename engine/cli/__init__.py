"""The `policy` command line: a thin layer over engine.api."""
from __future__ import annotations

import gc


def run() -> int:
    """The `policy` console script: engine.cli.main.main(), with the cyclic garbage collector off while the command's
    modules are imported. An import makes thousands of objects that live as long as the process; collecting
    among them took a twentieth of a one-claim run (issue 12)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from engine.cli.main import main
    finally:
        if enabled:
            gc.enable()
    return main()

"""The `policy` command, run from a checkout without installing: `python cli.py ARGS`.

The command itself lives in the package (engine/cli); installed, it is the `policy` console script.
"""
import sys

from engine.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

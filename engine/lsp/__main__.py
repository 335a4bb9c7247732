"""`python -m engine.lsp [--policies DIR] [--schemas DIR]`: the language server on stdio, as `policy lsp` (the same
command, so that a folder that is not there is refused alike, exit 64 with a message in the chosen language)."""
import argparse
import sys

from engine.cli.main import main

parser = argparse.ArgumentParser(prog="python -m engine.lsp")
parser.add_argument("--policies", default=None)
parser.add_argument("--schemas", default=None)
parser.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)  # editors send it; stdio is all there is
args = parser.parse_args()
given = [option for name in ("policies", "schemas") if getattr(args, name)
         for option in (f"--{name}", getattr(args, name))]
sys.exit(main([*given, "lsp"]))

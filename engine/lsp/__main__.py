"""`python -m engine.lsp [--policies DIR] [--schemas DIR]`: the language server on stdio (as `policy lsp`)."""
import argparse
from pathlib import Path

from engine.lsp.server import make_server

parser = argparse.ArgumentParser(prog="python -m engine.lsp")
parser.add_argument("--policies", type=Path, default=Path("policies"))
parser.add_argument("--schemas", type=Path, default=None)
args = parser.parse_args()
make_server(args.policies, args.schemas).start_io()

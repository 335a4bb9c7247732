"""`python -m engine.lsp [--policies DIR] [--schemas DIR]`: the language server on stdio (as `policy lsp`)."""
import argparse
import sys
from pathlib import Path

from engine.lsp.server import run

parser = argparse.ArgumentParser(prog="python -m engine.lsp")
parser.add_argument("--policies", type=Path, default=Path("policies"))
parser.add_argument("--schemas", type=Path, default=None)
parser.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)  # editors send it; stdio is all there is
args = parser.parse_args()
sys.exit(run(args.policies, args.schemas))

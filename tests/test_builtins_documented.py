"""Every builtin function has its row in docs/language.md, with the signature the checker reports, and every
function the docs list exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.language.builtins import BUILTINS

ROOT = Path(__file__).resolve().parent.parent


def _rows() -> list[str]:
    """The first cell of each row of the tables under "Built-in functions", as written (pipes unescaped)."""
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("\n## Built-in functions\n", 1)[1].split("\n## ", 1)[0]
    cells = [line.split(" | ")[0][2:] for line in section.replace("\\|", "¦").splitlines() if line.startswith("| `")]
    return [c.replace("¦", "|") for c in cells]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_builtin_has_its_row_with_its_signature(name):
    signature = BUILTINS[name].signature
    rows = [r for r in _rows() if r.startswith(f"`{name}(")]
    assert rows, f"{name} has no row in docs/language.md"
    if "->" in signature:  # the types it takes and gives, as `policy check` quotes them in a hint
        typed = re.match(r"[^>]*-> [\w<>]+", signature).group()
        assert any(r.startswith(f"`{typed}`") for r in rows), (signature, rows)


def test_every_documented_function_exists():
    named = {re.match(r"`(\w+)\(", r).group(1) for r in _rows() if re.match(r"`(\w+)\(", r)}
    assert named <= set(BUILTINS)

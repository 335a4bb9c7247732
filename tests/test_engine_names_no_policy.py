"""The engine knows no policy: no place, occupation, institution or amount of the seed policies appears in any
file of the package (code, templates, messages, explanations) or in cli.py. A new notice must never need one."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# places, region codes, occupation codes and occupations of the seed policies (tests/fixtures/store)
SEED_WORDS = re.compile(r"金华|浙江|Jinhua|jinhua|Zhejiang|zhejiang|3307|2-02-10|2-02-07|区块链|大数据|智能制造")
BINARY = {".mo", ".png", ".pyc"}


def test_no_file_of_the_engine_names_a_seed_policy():
    files = [p for p in (ROOT / "engine").rglob("*") if p.is_file() and p.suffix not in BINARY
             and "__pycache__" not in p.parts] + [ROOT / "cli.py"]
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
             for p in files for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if SEED_WORDS.search(line)]
    assert not found, "the engine names the seed policies:\n" + "\n".join(found)

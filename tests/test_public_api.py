"""The public API is what docs/api.md documents: `engine.__all__`, each name importable, imported lazily."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent


def _documented_names() -> set[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text.split("| name | what it is |", 1)[1].split("\n\n", 1)[0]
    return {name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_all_is_exactly_what_the_api_docs_list():
    assert set(engine.__all__) == _documented_names()
    assert len(engine.__all__) == len(set(engine.__all__))


def test_every_public_name_imports_from_the_package():
    for name in engine.__all__:
        value = getattr(engine, name)
        assert value.__name__ == name
        assert value.__module__.startswith("engine.")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="Compiler"):
        engine.Compiler  # noqa: B018 - the access is the test


def test_importing_the_package_loads_no_stage_until_a_name_is_used():
    code = ("import sys, engine; before = 'engine.api' in sys.modules; engine.Engine; "
            "print(before, 'engine.api' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr


USER_SCRIPT = '''
from datetime import date
from pathlib import Path
from typing import TypedDict

from engine import ClaimError, Decision, Engine, Selection, read_claims


class Claim(TypedDict):
    claim_id: str
    applied_on: str


engine = Engine.load("policies")
selection = Selection(known_on="2024-03-01", pins=[("china/retirement-age", "2025-01-01")])
evaluator = engine.evaluator("jinhua/digital-engineer-subsidy", selection)
claim: Claim = {"claim_id": "x", "applied_on": "2024-06-01"}
result = evaluator.evaluate(claim, as_of="2024-06-15")
if isinstance(result, Decision):
    amount = result.amount
elif isinstance(result, ClaimError):
    code: str = result.code
for decided in evaluator.evaluate_many(read_claims(Path("examples").glob("*.yaml"))):
    print(decided.to_json())
known: date | None = selection.known_on
'''


@pytest.mark.slow
def test_the_documented_uses_type_check_for_a_developer(tmp_path):
    """A developer's script, as docs/api.md shows the API, passes mypy --strict with the package's hints (py.typed):
    text dates, pairs as a list, a TypedDict claim, a generator of paths."""
    script = tmp_path / "use.py"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
                           str(script)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "MYPYPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr

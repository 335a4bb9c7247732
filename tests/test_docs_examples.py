"""Every Python example of README.md and docs/*.md runs as written, from a folder laid out as the project is
(`policies/`, `schemas/`, `examples/`), with the fixture store as its policies: a reader who pastes one gets no
traceback."""
from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _examples() -> list:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first line of code
            found.append(pytest.param(match.group(1), id=f"{doc.relative_to(ROOT)}:{line}"))
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs-examples")
    shutil.copytree(FIXTURES / "store", folder / "policies")
    shutil.copytree(FIXTURES / "schemas", folder / "schemas")
    shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


def test_the_docs_have_python_examples():
    assert len(_examples()) >= 5  # the pattern above still finds them


@pytest.mark.parametrize("code", _examples())
def test_a_documented_example_runs_as_written(code, project, monkeypatch):
    monkeypatch.chdir(project)
    with contextlib.redirect_stdout(io.StringIO()):  # it raises if the example does not run as written
        exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})  # the docs' own code, not input

"""The registry of error codes (engine/core/errors.py), the docs and the code agree: every code the engine
can report is registered, every registered code is documented at its anchor, every documented code is
registered."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest
from enginesource import engine_files, findings

from engine.core.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["docs/language.md", "docs/authoring.md", "docs/api.md"]
FAMILIES = {c.family for c in CODES.values()}
CODE = re.compile(r"^([a-z]+)\.[a-z_]+$")
# Dotted words that are paths into a policy file or names of files, not codes.
NOT_CODES = {"input.schema", "input.checks", "input.facts", "effective.from", "effective.to", "effective.clause",
             "decision.amount", "engine.store", "engine.api"}


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: str) -> set[str]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _documented() -> dict[str, set[str]]:
    """code -> the docs that list it in a table of codes (a row that begins with the code)."""
    found: dict[str, set[str]] = {}
    for doc in DOCS:
        for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
            first = line.split("|")[1] if line.startswith("| `") else ""
            for code in re.findall(r"`([a-z]+\.[a-z_]+)`", first):
                if code.split(".")[0] in FAMILIES and code not in NOT_CODES:
                    found.setdefault(code, set()).add(doc)
    return found


def _written_like_codes(source: str, name: str) -> list[str]:
    """The strings of a source file written like a code of some family, in the order ast.walk meets them."""
    return [node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value)]


@lru_cache(maxsize=1)  # two tests read it; parsing the engine's sources costs a second
def _emitted(config) -> dict[str, str]:
    """Every string in the engine's source that is written like a code of a known family: code -> file."""
    found: dict[str, str] = {}
    paths = [path for path in engine_files() if path.name != "errors.py"]
    for name, strings in findings(config, __file__, _written_like_codes, paths).items():
        for value in strings:
            if CODE.match(value).group(1) in FAMILIES and value not in NOT_CODES:
                found.setdefault(value, name)
    return found


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_is_explained_at_its_anchor(code):
    entry = CODES[code]
    doc, anchor = entry.docs.split("#")
    assert entry.severity in ("error", "warning")
    assert entry.summary and "\n" not in entry.summary
    assert anchor in _anchors(doc), f"{code}: no heading #{anchor} in {doc}"
    assert f"`{code}`" in (ROOT / doc).read_text(encoding="utf-8"), f"{code} is not mentioned in {doc}"


def test_every_documented_code_is_registered():
    assert sorted(set(_documented()) - set(CODES)) == []


def test_every_code_the_engine_reports_is_registered(pytestconfig):
    missing = {code: where for code, where in _emitted(pytestconfig).items() if code not in CODES}
    assert missing == {}


def test_every_registered_code_is_documented():
    assert sorted(set(CODES) - set(_documented())) == []


def test_a_claim_file_read_as_yaml_reports_the_readers_codes_as_claim_codes(pytestconfig):
    """The claims reader turns the codes of the YAML reader (yamlsource.py, yamlload.py) into `claim.*` codes."""
    reader = [code for code, where in _emitted(pytestconfig).items()
              if where.endswith(("yamlsource.py", "yamlload.py"))]
    assert "yaml.syntax" in reader
    assert [code for code in reader if "claim." + code.split(".", 1)[1] not in CODES] == []

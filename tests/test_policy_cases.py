"""Officers' example cases (`*.cases.yaml` beside each policy version), one test per case.

The engine is loaded once for the module and each case file is run once; every case then becomes its
own test so that a failure names the file, line and case, with what differed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.api import Engine
from engine.audit.casefile import CaseResult, case_files, run_case_file
from engine.core.diagnostics import DiagnosticError
from engine.policies.yamlsource import read_yaml

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
SCHEMAS = ROOT / "schemas"


def _collect() -> list:
    """(file, index, name) for every case of every case file; index None stands for the whole file."""
    params = []
    for path in case_files([POLICIES]):
        rel = path.relative_to(POLICIES).as_posix()
        try:
            data = read_yaml(path.read_bytes(), rel).value
        except (DiagnosticError, OSError):
            data = None
        cases = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(cases, list) or not cases:
            params.append(pytest.param(path, None, id=f"{rel}: (the file)"))
            continue
        for i, case in enumerate(cases):
            name = case.get("name") if isinstance(case, dict) else None
            params.append(pytest.param(path, i, id=f"{rel}#{i + 1}: {name or '(no name)'}"))
    return params


CASES = _collect()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICIES, SCHEMAS)


@pytest.fixture(scope="module")
def results(engine):
    cache: dict[Path, list[CaseResult]] = {}

    def run(path: Path) -> list[CaseResult]:
        if path not in cache:
            cache[path] = run_case_file(engine, path)
        return cache[path]

    return run


def test_case_files_exist():
    assert CASES, f"no *.cases.yaml under {POLICIES}"


@pytest.mark.parametrize(("path", "index"), CASES)
def test_case(results, path: Path, index: int | None):
    found = results(path)
    if index is None or (len(found) == 1 and found[0].name == "(the file)"):
        problems = [f"{r.file}:{r.line}: {r.name}: {p}" for r in found for p in r.problems]
        assert not problems, "\n".join(problems)
        return
    assert index < len(found), f"{path}: case {index + 1} was not run ({len(found)} results)"
    result = found[index]
    assert result.passed, f"{result.file}:{result.line}: {result.name}\n    " + "\n    ".join(result.problems)


def test_policy_test_command_passes(capsys):
    from engine.cli.main import main

    code = main(["--policies", str(POLICIES), "--schemas", str(SCHEMAS), "test"])
    out = capsys.readouterr()
    assert code == 0, f"`policy test` exited {code}\n{out.out}{out.err}"

"""Adding any policy file under policies/ leaves the suite green: the repository copied to a temporary folder,
a new version of a seed policy (a raised amount), a revision of the city and another city added under its
policies/, and the test files that read policies/ run there. The tests about the seed policies read them
pinned (tests/seedstore.py) or through their cases files (written_against), so nothing they assert moves."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every test file with a test that reads policies/ (the rest use fixtures of their own). test_audit_commands.py is
# about the seed policies too, but reads only their pinned copy, made when tests/seedstore.py is imported: no test
# of it opens anything under policies/ (watched with an audit hook on open and scandir, 2026-12-03), so the copy
# of the repository cannot change what it sees, and running it there cost a third of this test.
READERS = ["test_policy_cases.py", "test_policyfiles_check.py", "test_policyfiles_store.py", "test_audit_fixtures.py",
           "test_cases_survive.py", "test_evaluate_cli.py", "test_policyfiles_faults.py"]
# Bytecode is copied with its sources (whose times copytree keeps, so it stays valid): compiling the engine and the
# test modules again cost the run there a third of a second.
SKIP = {".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "scratch", "build", "dist"}


def _replace(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    return text


@pytest.mark.slow
def test_new_policy_files_leave_the_tests_that_read_policies_green(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=lambda folder, names: [n for n in names if n in SKIP])
    policies = copy / "policies"
    province = (policies / "zhejiang/digital-engineer/2023-09-16.yaml").read_text(encoding="utf-8")
    (policies / "zhejiang/digital-engineer/2025-06-01.yaml").write_text(_replace(
        province, ('version: "2023-09-16"', 'version: "2025-06-01"'), ("  from: 2023-09-16", "  from: 2025-06-01"),
        ("issued_on: 2023-08-16", "issued_on: 2025-05-10"),
        ("区块链工程技术人员, junior, 80, 2200", "区块链工程技术人员, junior, 80, 2600")), encoding="utf-8")
    city = (policies / "jinhua/digital-engineer-subsidy/2024-05-01.yaml").read_text(encoding="utf-8")
    (policies / "jinhua/digital-engineer-subsidy/2025-01-01.yaml").write_text(_replace(
        city, ('version: "2024-05-01"', 'version: "2025-01-01"'), ("  from: 2024-05-01", "  from: 2025-01-01")),
        encoding="utf-8")
    other = policies / "another/digital-engineer-subsidy"
    other.mkdir(parents=True)
    (other / "2024-05-01.yaml").write_text(_replace(
        city, ("policy: jinhua/digital-engineer-subsidy", "policy: another/digital-engineer-subsidy")),
        encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(copy), CI=os.environ.get("CI", ""))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-x",
                           "-m", "not slow", *[f"tests/{name}" for name in READERS]],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]

"""Three fictional later notices (tests/fixtures/notices/), each only a new file beside copies of the seed
policies: they check clean, their example cases pass, and no earlier version's digest changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.api import Engine
from engine.audit.casefile import case_files, run_case_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = FIXTURES / "store"  # copies of the seed policies (tests/fixtures/README.md)
NOTICES = FIXTURES / "notices" / "policies"
SEED_FILES = ["china/retirement-age/1978-06-02.yaml", "china/retirement-age/2025-01-01.yaml",
              "zhejiang/digital-engineer/2023-09-16.yaml", "jinhua/digital-engineer-subsidy/2024-05-01.yaml"]


def seed_store(where: Path, with_notices: bool) -> Path:
    root = where / "policies"
    for name in SEED_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SEEDS / name, root / name)
    if with_notices:
        shutil.copytree(NOTICES, root, dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "schemas", where / "schemas")
    return root


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    before = seed_store(tmp_path_factory.mktemp("before"), with_notices=False)
    after = seed_store(tmp_path_factory.mktemp("after"), with_notices=True)
    return Engine.load(before, before.parent / "schemas"), Engine.load(after, after.parent / "schemas"), after


def test_the_notices_are_new_files_only(stores):
    _, after, root = stores
    added = {p.relative_to(NOTICES).as_posix() for p in NOTICES.rglob("*") if p.is_file()}
    assert not added & set(SEED_FILES)
    assert len([v for vs in after.store.by_id.values() for v in vs]) > len(SEED_FILES)


def test_the_notices_check_clean(stores):
    _, after, _ = stores
    assert [d.render() for d in after.check() if d.severity == "error"] == []


def test_no_earlier_version_changes_its_digest(stores):
    before, after, _ = stores
    for pid in before.store.ids():
        for version in before.store.versions(pid):
            assert after.store.get(pid, version.version).digest == version.digest, version.key


def test_the_notices_cases_pass(stores):
    _, after, root = stores
    files = list(case_files([root]))
    assert files, "the fictional notices have example cases"
    problems = [f"{r.file}:{r.line}: {r.name}: {p}" for path in files for r in run_case_file(after, path)
                for p in r.problems]
    assert problems == []

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


def test_show_describes_an_amendment_resolved_with_what_it_amends_and_inherits(stores):
    from engine.audit.describe import describe_version, version_json
    _, after, _ = stores
    store = after.store
    amending = store.get("zhejiang/digital-engineer", "2025-03-01")
    amended = store.get("zhejiang/digital-engineer", "2023-09-16")
    data = version_json(amending, store)
    assert data["amends"] == "2023-09-16"
    # resolved: the amended version's rules and its ledger are there, not only what the amendment states
    assert [r["id"] for r in data["rules"]] == [r.id for r in amended.rules]
    assert data["ledger"]["person"] == amended.ledger.person_fact and data["ledger"]["revoked"] == "not_counted"
    assert set(data["tables"]["subsidy"]["rows"][0]) == {f.name for f in amended.tables["subsidy"].type.row.fields}
    text = describe_version(amending, store).splitlines()
    assert "  amends: zhejiang/digital-engineer@2023-09-16 (shown resolved: that version with this file's changes)" \
        in text
    assert any(line.startswith("ledger [") for line in text)


def test_show_lists_a_policys_own_facts_and_what_it_includes(stores):
    from engine.audit.describe import describe_version, version_json
    _, after, _ = stores
    version = after.store.versions("taizhou/digital-engineer-subsidy")[0]
    data = version_json(version, after.store)
    (fact,) = data["own_facts"]
    assert data["own_facts"][fact]["schema"]["type"] == "integer" and data["includes"]
    text = describe_version(version, after.store)
    assert f"  {fact} [" in text and f"  includes: {data['includes'][0]}" in text

"""Adding a version never breaks an existing case file: the repository's policies/ copied into a temporary
store, a new version file of a seed policy added, and `policy test` still passes — the cases whose answer the
new file changes are listed apart (old answer, new answer, the version and table cell), and `--accept` writes
the new answers into the case files as a reviewable change that keeps every comment."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import invoke
from seedstore import seed_only

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
JH_CASES = "jinhua/digital-engineer-subsidy/2024-05-01.cases.yaml"
ZJ_CASES = "zhejiang/digital-engineer/2023-09-16.cases.yaml"


run = invoke


@pytest.fixture
def store(tmp_path) -> tuple[Path, list[str]]:
    """The seed versions and their cases files, copied from policies/ (whatever else it holds)."""
    seed_only(tmp_path)
    return tmp_path / "policies", ["--policies", tmp_path / "policies", "--schemas", tmp_path / "schemas"]


def add_second_batch(policies: Path) -> None:
    """The fictional second provincial batch (blockchain junior 2200 → 2500 from 2025-03-01), as a new file."""
    shutil.copy(FIX / "store/zhejiang/digital-engineer/2025-03-01.yaml", policies / "zhejiang/digital-engineer")


def add_city_revision(policies: Path) -> None:
    """A city version from 2025-01-01 that only moves the start date: the old version's cases dated after it."""
    city = policies / "jinhua/digital-engineer-subsidy"
    text = (city / "2024-05-01.yaml").read_text(encoding="utf-8")
    (city / "2025-01-01.yaml").write_text(text.replace('version: "2024-05-01"', 'version: "2025-01-01"')
                                          .replace("  from: 2024-05-01", "  from: 2025-01-01"), encoding="utf-8")


def test_the_seed_case_files_say_what_they_were_written_against():
    for name in (JH_CASES, ZJ_CASES):
        assert "written_against:" in (ROOT / "policies" / name).read_text(encoding="utf-8"), name


def test_a_new_provincial_version_lists_changed_cases_without_failing(capsys, store):
    policies, opts = store
    add_second_batch(policies)
    code, out, _ = run(capsys, *opts, "test")
    assert code == 0, out
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    changed = [i for i, line in enumerate(lines) if line.startswith("CHANGED ")]
    assert changed and all(JH_CASES in lines[i] for i in changed)
    first = changed[0]
    assert lines[first + 1] == "    eligible 2200 → eligible 2500"
    assert lines[first + 2:first + 4] == ["      zhejiang/digital-engineer@2023-09-16 → @2025-03-01",
                                          "      the amount read subsidy[2-02-10-15, junior]: amount 2200 → 2500"]
    assert lines[-1].endswith(f", {len(changed)} changed by newer files")
    code, out, _ = run(capsys, *opts, "test", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    marked = [r for r in rows if "name" in r and "changed" in r]
    assert len(marked) == len(changed) and all(r["passed"] for r in marked)
    assert rows[-1] == {"passed": rows[-1]["passed"], "failed": 0, "changed": len(changed)}


def test_accept_writes_the_new_answers_and_keeps_the_comments(capsys, store):
    policies, opts = store
    add_second_batch(policies)
    before = (policies / JH_CASES).read_text(encoding="utf-8")
    code, out, err = run(capsys, *opts, "test", "--accept")
    assert code == 0
    assert f"{JH_CASES}: " in err and "new answers accepted" in err
    after = (policies / JH_CASES).read_text(encoding="utf-8")
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert 'zhejiang/digital-engineer: ["2023-09-16", "2025-03-01"]' in after
    assert "-      amount: \"2200\"" in out and "+      amount: \"2500\"" in out  # the diff shown to review
    assert len(after.splitlines()) == len(before.splitlines())  # only values changed
    code, out, _ = run(capsys, *opts, "test")
    assert code == 0 and "CHANGED" not in out and "changed by newer files" not in out


def test_a_new_version_of_the_tested_policy_does_not_strand_its_cases(capsys, store):
    """Cases of 2024-05-01 dated after a 2025-01-01 revision still test 2024-05-01 (no policy.not_in_force), and
    `policy test` says how many there are."""
    policies, opts = store
    add_city_revision(policies)
    code, out, _ = run(capsys, *opts, "test")
    assert code == 0, out
    assert not [line for line in out.splitlines() if line.startswith(("FAIL", "CHANGED"))]
    notes = [line for line in out.splitlines() if "took effect: still tested against" in line]
    assert len(notes) == 1 and JH_CASES in notes[0] and "jinhua/digital-engineer-subsidy@2025-01-01" in notes[0]


def test_a_case_file_without_written_against_is_pinned_by_accept(capsys, store):
    policies, opts = store
    path = policies / ZJ_CASES
    text = path.read_text(encoding="utf-8")
    start = text.index("# The versions of the policies it reads")
    end = text.index("base:")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    code, _, err = run(capsys, *opts, "test", "--accept", policies / ZJ_CASES)
    assert code == 0 and "written_against added" in err
    assert "written_against: {}" in path.read_text(encoding="utf-8")  # the province reads no other policy
    code, _, err = run(capsys, *opts, "test", "--accept", "-k", "x")
    assert code == 64 and "without -k" in err


def test_written_against_naming_a_version_the_store_lacks(capsys, store):
    policies, opts = store
    path = policies / JH_CASES
    path.write_text(path.read_text(encoding="utf-8").replace('zhejiang/digital-engineer: ["2023-09-16"]',
                                                             'zhejiang/digital-engineer: ["2023-09-16", "2030-01-01"]'),
                    encoding="utf-8")
    code, out, _ = run(capsys, *opts, "test", path)
    assert code == 1
    assert "written_against names zhejiang/digital-engineer@2030-01-01, which the policy store does not hold" in out

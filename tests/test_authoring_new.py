"""`policy new`: a new version to edit, or a new policy with the required sections, both checking clean."""
from __future__ import annotations

import re

import pytest
from clirun import invoke

from engine.api import Engine
from engine.policies.policyfile import load_policy_file
from tests.authoring_demo import write_store


def run(capsys, policies, *args):
    return invoke(capsys, "--policies", policies, *args)


def test_new_version_is_a_copy_with_dates_moved_and_comments_kept(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, out, _ = run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--issued", "2024-12-20")
    assert code == 0 and "a copy of demo/grant@2024-01-01" in out
    target = policies / "demo" / "grant" / "2025-01-01.yaml"
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# 虚构示例 / fictional demonstration policy\n")
    assert 'version: "2025-01-01"  # 新版本，复制自 demo/grant@2024-01-01' in text
    assert "issued_on: 2024-12-20  # 请改为新文件的印发日期" in text
    version, diagnostics = load_policy_file(target)
    assert not diagnostics and version.effective_from.isoformat() == "2025-01-01"
    engine = Engine.load(policies)
    assert not [d for d in engine.check() if d.severity == "error"]
    assert engine.store.until(engine.store.get("demo/grant", "2024-01-01")).isoformat() == "2024-12-31"


def test_new_policy_has_the_required_sections_in_chinese_and_checks(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, out, _ = run(capsys, policies, "new", "demo/other", "--effective", "2025-03-01")
    assert code == 0 and "a new policy" in out
    text = (policies / "demo" / "other" / "2025-03-01.yaml").read_text(encoding="utf-8")
    assert "# 原文的每一条" in text and "policy: demo/other" in text
    assert not [d for d in Engine.load(policies).check() if d.severity == "error"]


def test_a_new_policy_may_begin_from_another_policys_version(capsys, tmp_path):
    """A city transposing as another city did: a copy of that city's file, under the new id, with its dates moved."""
    policies = write_store(tmp_path)
    code, out, err = run(capsys, policies, "new", "demo/another-grant", "--effective", "2025-03-01",
                         "--from", "demo/grant@2024-01-01")
    assert code == 0 and "a copy of demo/grant@2024-01-01" in out and "note:" not in err
    text = (policies / "demo" / "another-grant" / "2025-03-01.yaml").read_text(encoding="utf-8")
    assert "\npolicy: demo/another-grant\n" in text and "policy: demo/grant\n" not in text
    engine = Engine.load(policies)
    assert not [d for d in engine.check() if d.severity == "error"]
    assert engine.store.get("demo/another-grant", "2025-03-01") is not None
    for target, source, said in (("demo/third", "demo/grant@1999", "demo/grant has no version '1999'"),
                                 ("demo/another-grant", "demo/grant@2024-01-01", "has versions already")):
        code, _, err = run(capsys, policies, "new", target, "--effective", "2026-01-01", "--from", source)
        assert code == 64 and said in err, err


def test_new_refuses_an_existing_version_an_unknown_source_and_a_bad_id(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2024-01-01")
    assert code == 64 and "exists already" in err
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--from", "1999")
    assert code == 64 and "has no version '1999' (it has 2024-01-01)" in err
    code, _, err = run(capsys, policies, "new", "Demo Grant", "--effective", "2025-01-01")
    assert code == 64 and "is not a policy id" in err


def test_new_amend_scaffolds_an_amendment_of_the_version_before_that_checks_as_it_is(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, out, _ = run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--issued", "2024-12-20",
                       "--amend")
    assert code == 0 and "an amendment of demo/grant@2024-01-01" in out
    target = policies / "demo" / "grant" / "2025-01-01.yaml"
    text = target.read_text(encoding="utf-8")
    assert 'version: "2025-01-01"\n# 所修订的版本：必须是紧接在本版本之前生效的版本。\namends: "2024-01-01"\n' in text
    assert "issued_on: 2024-12-20\n" in text and 'issuers: ["示例局"]' in text
    # commented examples of each change, with the amended version's own names
    assert "#   amounts:\n#     clause: 一\n#     add_rows:\n#       - [\"junior\", 100]" in text
    assert "#     remove_rows:\n#       - [\"junior\"]" in text
    assert "#   - id: is_adult\n#     replaces: true" in text and "#   adult:\n#     replaces: true" in text
    engine = Engine.load(policies)
    assert not [d for d in engine.check() if d.severity == "error"]  # untouched, it passes `policy check`
    assert run(capsys, policies, "check")[0] == 0
    amended = engine.store.get("demo/grant", "2025-01-01")
    assert amended.amends == "2024-01-01" and [r.id for r in amended.rules] == ["is_adult", "level_known"]
    # uncommenting the table's change is all an officer does to raise a row
    edited = text.replace("# tables:\n#   amounts:\n#     clause: 一\n", "tables:\n  amounts:\n    clause: 一\n") \
        .replace('#     replace_rows:\n#       - ["junior", 100]', '    replace_rows:\n      - ["junior", 150]')
    target.write_text(edited, encoding="utf-8")
    decided = Engine.load(policies).evaluator("demo/grant").evaluate(
        {"claim_id": "C", "applied_on": "2025-02-01", "person": {"age": 30, "level": "junior"}})
    assert str(decided.amount) == "150" and decided.policy.version == "2025-01-01"


def test_new_amend_amends_only_the_version_just_before(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2023-01-01", "--amend")
    assert code == 64 and "demo/grant has no version before 2023-01-01 to amend" in err
    code, _, err = run(capsys, policies, "new", "demo/other", "--effective", "2025-01-01", "--amend")
    assert code == 64 and "demo/other is a new policy: there is no version to amend" in err
    assert run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--amend")[0] == 0
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2025-06-01", "--amend", "--from",
                       "2024-01-01")
    assert code == 64 and "amends the version in force just before it: demo/grant@2025-01-01, not 2024-01-01" in err
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2024-06-01", "--amend")
    assert code == 64 and "demo/grant@2025-01-01 amends demo/grant@2024-01-01: a version between them" in err
    code, _, err = run(capsys, policies, "--lang", "zh", "new", "demo/grant", "--effective", "2024-06-01", "--amend")
    assert code == 64 and "demo/grant@2025-01-01 修订的是 demo/grant@2024-01-01：在两者之间加入版本会使它失效" in err


def test_a_copy_never_scaffolds_a_file_that_fails_check_beside_an_amendment(capsys, tmp_path):
    """A copy of an amendment kept its `amends:`, and a copy placed between an amendment and the version it amends
    broke that one: both made files `policy check` refused (amend.not_previous). Now they are refused, with the way
    that works, which does check clean."""
    policies = write_store(tmp_path)
    assert run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--amend")[0] == 0
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2026-01-01")  # copies the amendment
    assert code == 64 and "demo/grant@2025-01-01 is an amendment of 2024-01-01" in err and "--amend" in err
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2024-06-01")  # between the two
    assert code == 64 and "demo/grant@2025-01-01 amends demo/grant@2024-01-01: a version between them" in err
    assert not (policies / "demo" / "grant" / "2026-01-01.yaml").exists()
    assert run(capsys, policies, "new", "demo/grant", "--effective", "2026-01-01", "--amend")[0] == 0
    assert run(capsys, policies, "new", "demo/grant", "--effective", "2027-01-01", "--from", "2024-01-01")[0] == 0
    code, out, _ = run(capsys, policies, "check")
    assert code == 0, out


@pytest.mark.parametrize("args", [("demo/other", "--effective", "2025-03-01"),
                                  ("demo/grant", "--effective", "2025-01-01", "--amend")])
def test_check_warns_at_every_text_a_scaffold_left_to_replace_until_it_is_replaced(capsys, tmp_path, args):
    """Each value the scaffold writes for the officer to fill in (请填写…, 请粘贴…, 请改为…) draws a warning at its line
    and column, and the check stays green; written over with the notice's own text, the warnings go."""
    policies = write_store(tmp_path)
    assert run(capsys, policies, "new", *args)[0] == 0
    target = policies / args[0] / (args[2] + ".yaml")
    text = target.read_text(encoding="utf-8")
    to_fill = [(number, line) for number, line in enumerate(text.splitlines(), 1)
               if re.search(r"请(填写|粘贴|改为)", line.partition("#")[0])]
    assert len(to_fill) >= 5
    warned = [d for d in Engine.load(policies).check() if d.code == "version.unfilled"]
    assert [d.location.line for d in warned] == [number for number, _ in to_fill]
    for d, (_, line) in zip(warned, to_fill, strict=True):
        assert d.severity == "warning" and d.location.file.endswith(args[2] + ".yaml")
        assert line[d.location.column - 1:].startswith(d.message.split("'")[1])  # the caret at the text itself
    code, out, err = run(capsys, policies, "check")
    assert code == 0 and "warning[version.unfilled]" in out + err
    filled = re.sub(r"请(填写|粘贴|改为)[^\]\n#]*", "示例文件的内容", text)
    target.write_text(filled, encoding="utf-8")
    assert [d for d in Engine.load(policies).check() if d.code == "version.unfilled"] == []


def test_the_amendment_examples_check_clean_when_uncommented(capsys, tmp_path):
    """A definition that is a string literal keeps its quotes, a rule that overrides the parent says so: the
    examples are what the officer uncomments, so as written they must be right (seen: `expr: "3307"`, the
    number 3307, and `override.conflict`)."""
    import shutil
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent / "fixtures"
    shutil.copytree(fixtures / "store", tmp_path / "policies")
    shutil.copytree(fixtures / "schemas", tmp_path / "schemas")
    policies = tmp_path / "policies"
    code, _, _ = run(capsys, policies, "new", "jinhua/digital-engineer-subsidy", "--effective", "2025-07-01",
                     "--issued", "2025-06-01", "--amend")
    assert code == 0
    target = policies / "jinhua" / "digital-engineer-subsidy" / "2025-07-01.yaml"
    text = target.read_text(encoding="utf-8")
    blocks = [re.search(rf"^# {section}:\n(?:#   .*\n)+", text, re.M).group(0) for section in ("definitions", "rules")]
    assert "#     expr: '\"3307\"'" in blocks[0] and "#     overrides: true" in blocks[1]
    for block in blocks:
        text = text.replace(block, re.sub(r"^# ?", "", block, flags=re.M))
    target.write_text(text, encoding="utf-8")
    engine = Engine.load(policies, tmp_path / "schemas")
    assert [d.render() for d in engine.check() if d.severity == "error"] == []
    amended = engine.store.get("jinhua/digital-engineer-subsidy", "2025-07-01")
    assert amended.definitions["city_prefix"].expr.text == '"3307"'


def test_a_new_policy_close_to_one_that_exists_is_noted(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, out, err = run(capsys, policies, "new", "demo/grnat", "--effective", "2025-01-01")
    assert code == 0 and "a new policy" in out
    assert "note: demo/grnat is a new policy; demo/grant exists" in err
    code, _, err = run(capsys, policies, "new", "demo/other-scheme", "--effective", "2025-01-01")
    assert code == 0 and "note:" not in err

"""`policy new`: a new version to edit, or a new policy with the required sections, both checking clean."""
from __future__ import annotations

from engine.api import Engine
from engine.cli import main as cli
from engine.policies.policyfile import load_policy_file
from tests.authoring_demo import write_store


def run(capsys, policies, *args):
    code = cli.main(["--policies", str(policies), *args])
    out, err = capsys.readouterr()
    return code, out, err


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


def test_new_refuses_an_existing_version_an_unknown_source_and_a_bad_id(capsys, tmp_path):
    policies = write_store(tmp_path)
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2024-01-01")
    assert code == 64 and "exists already" in err
    code, _, err = run(capsys, policies, "new", "demo/grant", "--effective", "2025-01-01", "--from", "1999")
    assert code == 64 and "has no version '1999' (it has 2024-01-01)" in err
    code, _, err = run(capsys, policies, "new", "Demo Grant", "--effective", "2025-01-01")
    assert code == 64 and "is not a policy id" in err

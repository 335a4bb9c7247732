"""The auditors' commands on the seed policies and the fictional fixture store (tests/fixtures/).

Every expected figure below was worked out by hand from the fixture files and the claims annotated in
tests/fixtures/make_claims.py, never copied from what the engine prints:

  zhejiang/digital-engineer@2023-09-16 ("A")   blockchain junior 2200; no 人工智能 (2-02-10-09)
  zhejiang/digital-engineer@2025-03-01 ("B")   fictional: blockchain junior 2500; 2-02-10-09 junior 96h/3000,
                                               intermediate 96h/3600, senior 128h/4800 at 虚构人工智能学院;
                                               effective 2025-03-01, issued 2025-02-10
  wenzhou/digital-engineer-subsidy@2024-09-01  fictional: insured in 3303xx and paying only; 6 months
  china/retirement-age                         1978-06-02 (men 60) → 2025-01-01 (men born 1965-01..04: 60y1m)

Commands run in process through `cli.main` with the store given by --policies/--schemas.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
CLAIMS = str(FIX / "claims.jsonl")
STORE = ["--policies", str(FIX / "store"), "--schemas", str(FIX / "schemas")]
SEED = ["--policies", str(ROOT / "policies"), "--schemas", str(ROOT / "schemas")]
JH, WZ, ZJ, CN = ("jinhua/digital-engineer-subsidy", "wenzhou/digital-engineer-subsidy", "zhejiang/digital-engineer",
                  "china/retirement-age")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "policy-cache"))


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    code, out, err = run(capsys, *args)
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def claims_file(tmp_path: Path, *ids: str, name: str = "some.jsonl") -> Path:
    lines = [line for line in (FIX / "claims.jsonl").read_text(encoding="utf-8").splitlines()
             if json.loads(line)["claim_id"] in ids]
    assert len(lines) == len(ids)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def store_copy(tmp_path: Path) -> tuple[Path, list[str]]:
    """A private copy of the fixture store that a test may edit."""
    target = tmp_path / "store"
    shutil.copytree(FIX / "store", target)
    shutil.copytree(FIX / "schemas", tmp_path / "schemas")
    return target, ["--policies", str(target), "--schemas", str(tmp_path / "schemas")]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def digests(capsys, store: list[str], pid: str) -> dict:
    _, rows, _ = run_json(capsys, *store, "timeline", pid, "--format", "json")
    return {r["version"]: r["digest"] for r in rows}


# =================================================================================================
# Which version was in force on a date: timeline, show --as-of


def test_timeline_of_the_seed_retirement_age(capsys):
    code, rows, _ = run_json(capsys, *SEED, "timeline", CN, "--format", "json")
    assert code == 0
    assert [(r["version"], r["from"], r["to"], r["issued_on"], r["retroactive"], r["document"]) for r in rows] == [
        ("1978-06-02", "1978-06-02", "2024-12-31", "1978-06-02", False, "国发〔1978〕104号"),
        ("2025-01-01", "2025-01-01", None, "2024-09-13", False,
         "全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定（2024年9月13日）"),
    ]
    assert all(r["digest"].startswith("sha256:") and len(r["digest"]) == 71 for r in rows)


def test_timeline_of_the_province_with_the_fictional_second_version(capsys):
    code, out, _ = run(capsys, *STORE, "timeline", ZJ)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2023-09-16  in force 2023-09-16 .. 2025-02-28  issued 2023-08-16  浙人社发〔2023〕36号  ")
    assert lines[0].endswith("zhejiang/digital-engineer/2023-09-16.yaml")
    assert lines[1].startswith("2025-03-01  in force 2025-03-01 .. now  issued 2025-02-10  浙人社发〔2025〕99号（虚构）  ")
    assert "RETROACTIVE" not in out
    code, out, _ = run(capsys, *STORE, "timeline", WZ)
    assert out.startswith("2024-09-01  in force 2024-09-01 .. now  issued 2024-08-15  温人社发〔2024〕88号（虚构）  ")


def test_timeline_flags_a_version_issued_after_it_took_effect(tmp_path, capsys):
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "issued_on: 2025-02-10", "issued_on: 2025-03-20")
    code, rows, _ = run_json(capsys, *opts, "timeline", ZJ, "--format", "json")
    assert [(r["version"], r["issued_on"], r["retroactive"]) for r in rows] == [
        ("2023-09-16", "2023-08-16", False), ("2025-03-01", "2025-03-20", True)]
    _, out, _ = run(capsys, *opts, "timeline", ZJ)
    assert out.splitlines()[1].endswith("  RETROACTIVE (issued after it took effect)")


@pytest.mark.parametrize("day, version", [("2023-09-16", "2023-09-16"), ("2025-02-28", "2023-09-16"),
                                          ("2025-03-01", "2025-03-01"), ("2030-01-01", "2025-03-01")])
def test_show_as_of_picks_the_version_in_force(capsys, day, version):
    code, out, _ = run(capsys, *STORE, "show", ZJ, "--as-of", day)
    assert code == 0
    assert out.splitlines()[0].startswith(f"{ZJ}@{version}  ")
    until = "2025-02-28" if version == "2023-09-16" else "now"
    assert out.splitlines()[1].startswith(f"  in force {version} .. {until}; issued ")


def test_show_as_of_before_the_city_notice_says_not_in_force(capsys):
    code, out, err = run(capsys, *STORE, "show", JH, "--as-of", "2024-04-30")
    assert (code, out) == (3, "")
    assert err.strip() == f"{JH} has no version in force on 2024-04-30"


def test_show_as_of_names_the_referenced_versions_in_force(capsys):
    _, out, _ = run(capsys, *STORE, "show", JH, "--as-of", "2025-03-01")
    assert f"{ZJ}@2025-03-01" in out and f"{CN}@2025-01-01" in out


# =================================================================================================
# What changed between versions or dates: diff

附件1_OLD = "数字技术工程师培育项目培训机构名单（首批）：浙江大学 区块链；浙江工业大学 智能制造；杭州电子科技大学 大数据。"
附件2_OLD = "数字技术工程师培训补贴标准目录（首批），单位：元。"
施行_OLD = "本实施方案自 2023 年 9 月 16 日起施行。"
# YAML's folded style (>-) joins the two lines of the new annex texts with one space.
附件1_NEW = 附件1_OLD + " （第二批，虚构）：虚构人工智能学院 人工智能。"
附件2_NEW = ("数字技术工程师培训补贴标准目录（首批、第二批，虚构），单位：元。第二批增列人工智能工程技术人员； "
            "区块链工程技术人员初级补贴标准由2200元调整为2500元。")
施行_NEW = "本实施方案自 2023 年 9 月 16 日起施行；第二批培训机构名单和调整后的补贴标准自 2025 年 3 月 1 日起施行（虚构）。"


def _version(field, old, new):
    return {"change": "changed", "section": "version", "name": "", "field": field, "old": old, "new": new, "clause": ""}


def _ai_row(level, hours, amount):
    return {"change": "added", "section": "row", "name": "subsidy", "key": ["2-02-10-09", level],
            "new": {"occupation_code": "2-02-10-09", "occupation": "人工智能工程技术人员", "level": level,
                    "hours": hours, "amount": amount}, "clause": "附件2"}


PROVINCE_CHANGES = [
    _version("effective.from", "2023-09-16", "2025-03-01"),
    _version("issued_on", "2023-08-16", "2025-02-10"),
    _version("source.number", "浙人社发〔2023〕36号", "浙人社发〔2025〕99号（虚构）"),
    _version("source.title", "浙江省人力资源和社会保障厅 浙江省财政厅关于印发《浙江省数字技术工程师培育项目实施方案》的通知",
             "浙江省人力资源和社会保障厅 浙江省财政厅关于公布数字技术工程师培育项目第二批培训机构名单和调整补贴标准的通知（虚构）"),
    _version("title", "浙江省数字技术工程师培训补贴（首批目录）", "浙江省数字技术工程师培训补贴（第二批目录，虚构）"),
    {"change": "changed", "section": "clause", "name": "施行", "old": 施行_OLD, "new": 施行_NEW, "clause": "施行"},
    {"change": "changed", "section": "clause", "name": "附件1", "old": 附件1_OLD, "new": 附件1_NEW, "clause": "附件1"},
    {"change": "changed", "section": "clause", "name": "附件2", "old": 附件2_OLD, "new": 附件2_NEW, "clause": "附件2"},
    {"change": "changed", "section": "cell", "name": "subsidy", "key": ["2-02-10-15", "junior"], "column": "amount",
     "old": "2200", "new": "2500", "clause": "附件2"},
    _ai_row("junior", 96, "3000"),
    _ai_row("intermediate", 96, "3600"),
    _ai_row("senior", 128, "4800"),
    {"change": "changed", "section": "table", "name": "institutions", "field": "description",
     "old": "培训机构目录（首批）：机构与其可培训的职业。目录实行动态调整，调整即发布新版本。",
     "new": "培训机构目录（首批、第二批）：机构与其可培训的职业。目录实行动态调整，调整即发布新版本。",
     "clause": "附件1, 二.(一)"},
    {"change": "added", "section": "row", "name": "institutions", "key": ["虚构人工智能学院", "2-02-10-09"],
     "new": {"institution": "虚构人工智能学院", "occupation": "人工智能", "occupation_code": "2-02-10-09"},
     "clause": "附件1, 二.(一)"},
    {"change": "changed", "section": "not computable", "name": "", "field": "施行",
     "old": "以本版本的 effective.from（2023-09-16）表示，不是一条规则。",
     "new": "以本版本的 effective.from（2025-03-01）表示，不是一条规则。", "clause": ""},
]

# china/retirement-age 1978-06-02 → 2025-01-01, summarised as (change, section, name, field or column, key)
RETIREMENT_CHANGES = [
    ("changed", "version", "", "effective.from", None), ("changed", "version", "", "issued_on", None),
    ("changed", "version", "", "source.number", None), ("changed", "version", "", "source.title", None),
    ("changed", "version", "", "title", None),
    ("removed", "clause", "退休年龄", None, None), ("added", "clause", "办法.第二条", None, None),
    ("added", "clause", "附件", None, None),
    ("changed", "table", "schedule", "columns", None),
    ("changed", "table", "schedule", "description", None),
    *[("changed", "cell", "schedule", column, [group])
      for group in ("male", "female_55", "female_50") for column in ("first_cohort", "months_per_step", "max_delay_months")],
    ("changed", "definition", "group", "clause", None),
    ("added", "definition", "delay_months", None, None),
    ("changed", "definition", "retirement_age_months", "clause", None),
    ("changed", "definition", "retirement_age_months", "expr", None),
    ("changed", "definition", "retirement_date", "clause", None),
]
NEW_CELLS = {("male", "first_cohort"): "1965-01-01", ("male", "months_per_step"): 4, ("male", "max_delay_months"): 36,
             ("female_55", "first_cohort"): "1970-01-01", ("female_55", "months_per_step"): 4,
             ("female_55", "max_delay_months"): 36, ("female_50", "first_cohort"): "1975-01-01",
             ("female_50", "months_per_step"): 2, ("female_50", "max_delay_months"): 60}


def summary(changes):
    return [(c["change"], c["section"], c["name"], c.get("field") or c.get("column"), c.get("key")) for c in changes]


def test_diff_of_the_two_provincial_versions(capsys):
    code, (result,), _ = run_json(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", f"{ZJ}@2025-03-01", "--format", "json")
    assert code == 0
    d = digests(capsys, STORE, ZJ)
    assert result["id"] == ZJ
    assert result["from"] == {"version": "2023-09-16", "digest": d["2023-09-16"]}
    assert result["to"] == {"version": "2025-03-01", "digest": d["2025-03-01"]}
    assert result["changes"] == PROVINCE_CHANGES
    assert result["underneath"] == []  # the province refers to nothing


def test_diff_of_the_two_provincial_versions_as_text(capsys):
    code, out, _ = run(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", f"{ZJ}@2025-03-01")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{ZJ}: 2023-09-16 → 2025-03-01"
    assert len(lines) == 1 + len(PROVINCE_CHANGES)
    for expected in [
        "  version effective.from: 2023-09-16 → 2025-03-01",
        "  version issued_on: 2023-08-16 → 2025-02-10",
        "  version source.number: 浙人社发〔2023〕36号 → 浙人社发〔2025〕99号（虚构）",
        "  table subsidy row (2-02-10-15, junior) amount: 2200 → 2500 [附件2]",
        "  table subsidy row (2-02-10-09, junior) added: {occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: junior, hours: 96, amount: 3000} [附件2]",
        "  table subsidy row (2-02-10-09, intermediate) added: {occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: intermediate, hours: 96, amount: 3600} [附件2]",
        "  table subsidy row (2-02-10-09, senior) added: {occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: senior, hours: 128, amount: 4800} [附件2]",
        "  table institutions row (虚构人工智能学院, 2-02-10-09) added: {institution: 虚构人工智能学院, occupation: 人工智能, "
        "occupation_code: 2-02-10-09} [附件1, 二.(一)]",
    ]:
        assert expected in lines


def test_diff_of_jinhua_between_dates_shows_what_changed_underneath(capsys):
    code, (result,), _ = run_json(capsys, *STORE, "diff", JH, "--from", "2024-06-01", "--to", "2025-06-01",
                                  "--format", "json")
    assert code == 0
    assert result["id"] == JH
    assert result["from"]["version"] == result["to"]["version"] == "2024-05-01"
    assert result["from"]["digest"] == result["to"]["digest"]
    assert result["changes"] == []  # Jinhua's own file did not change
    china, province = result["underneath"]  # sorted by id
    assert (china["id"], china["from"]["version"], china["to"]["version"]) == (CN, "1978-06-02", "2025-01-01")
    assert summary(china["changes"]) == RETIREMENT_CHANGES
    cells = {(c["key"][0], c["column"]): (c["old"], c["new"]) for c in china["changes"] if c["section"] == "cell"}
    assert cells == {k: (None, v) for k, v in NEW_CELLS.items()}
    expr = next(c for c in china["changes"] if c["name"] == "retirement_age_months" and c.get("field") == "expr")
    assert (expr["old"], expr["new"]) == ("schedule[group(sex, female_base)].base_years * 12",
                                          "schedule[group(sex, female_base)].base_years * 12 + "
                                          "delay_months(birth_date, sex, female_base)")
    assert (province["id"], province["from"]["version"], province["to"]["version"]) == (ZJ, "2023-09-16", "2025-03-01")
    assert province["changes"] == PROVINCE_CHANGES


def test_diff_of_jinhua_between_dates_as_text(capsys):
    code, out, _ = run(capsys, *STORE, "diff", JH, "--from", "2024-06-01", "--to", "2025-06-01")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [f"{JH}: 2024-05-01 → 2024-05-01", "  no changes in the policy's own file"]
    assert lines.index(f"underneath: {CN}: 1978-06-02 → 2025-01-01") == 2
    at = lines.index(f"underneath: {ZJ}: 2023-09-16 → 2025-03-01")
    assert at == 3 + len(RETIREMENT_CHANGES)
    assert "  table subsidy row (2-02-10-15, junior) amount: 2200 → 2500 [附件2]" in lines[at:]
    assert "  table schedule row (male) first_cohort: (none) → 1965-01-01 [办法.第二条, 附件]" in lines[2:at]


def test_diff_of_jinhua_on_the_seed_policies_has_only_the_retirement_age_underneath(capsys):
    code, (result,), _ = run_json(capsys, *SEED, "diff", JH, "--from", "2024-06-01", "--to", "2025-06-01",
                                  "--format", "json")
    assert code == 0
    assert result["changes"] == []
    assert [(u["id"], u["from"]["version"], u["to"]["version"]) for u in result["underneath"]] == [
        (CN, "1978-06-02", "2025-01-01")]
    assert summary(result["underneath"][0]["changes"]) == RETIREMENT_CHANGES


def test_diff_of_two_dates_with_the_same_versions_is_empty(capsys):
    code, (result,), _ = run_json(capsys, *STORE, "diff", JH, "--from", "2025-01-01", "--to", "2025-02-28",
                                  "--format", "json")
    assert code == 0
    assert (result["changes"], result["underneath"]) == ([], [])
    _, out, _ = run(capsys, *STORE, "diff", JH, "--from", "2025-01-01", "--to", "2025-02-28")
    assert out == f"{JH}: 2024-05-01 → 2024-05-01\n  no changes in the policy's own file\n"


def test_diff_usage_and_dates_out_of_force(capsys):
    code, _, err = run(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", ZJ)
    assert code == 64 and "give two pinned versions" in err
    code, _, err = run(capsys, *STORE, "diff", ZJ, "--from", "2024-01-01")
    assert code == 64
    code, _, err = run(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", f"{ZJ}@2099-01-01")
    assert code == 64 and "has no version '2099-01-01' (it has 2023-09-16, 2025-03-01)" in err
    code, _, err = run(capsys, *STORE, "diff", WZ, "--from", "2024-06-01", "--to", "2025-06-01")
    assert code == 3 and f"{WZ} has no version in force on 2024-06-01" in err


def test_diff_of_two_different_policies_names_both(capsys):
    code, out, _ = run(capsys, *STORE, "diff", f"{JH}@2024-05-01", f"{WZ}@2024-09-01")
    assert code == 64 or JH in out.splitlines()[0]


# =================================================================================================
# Evaluating claims under the new provincial version and the new city policy

# claim id → (eligible, amount, failed rules) under Jinhua, each on its own applied_on; the province
# is A before 2025-03-01 and B from then on (see make_claims.py for why each claim gets this).
JINHUA_EXPECTED = {
    "FICT-JH-01": (True, "2200", []), "FICT-JH-02": (True, "2200", []), "FICT-JH-03": (True, "2200", []),
    "FICT-JH-04": (True, "2500", []), "FICT-JH-05": (True, "2500", []),
    "FICT-JH-06": (False, "0", ["hours_completed"]), "FICT-JH-07": (False, "0", ["not_repeated"]),
    "FICT-JH-08": (True, "2400", []), "FICT-JH-09": (True, "3300", []),
    "FICT-JH-10": (True, "2500", []), "FICT-JH-11": (True, "2500", []),
    "FICT-JH-12": (False, "0", ["within_deadline"]), "FICT-JH-13": (True, "2500", []),
    "FICT-JH-14": (True, "3000", []), "FICT-JH-15": (True, "3600", []),
    "FICT-JH-16": (False, "0", ["occupation_catalogued", "institution_catalogued"]),
    "FICT-JH-17": (False, "0", ["institution_catalogued"]),
    "FICT-JH-19": (True, "2300", []), "FICT-JH-20": (False, "0", ["not_public_staff"]),
    "FICT-JH-21": (False, "0", ["yearly_limit"]),
    **{f"FICT-WZ-{i:02d}": (False, "0", ["claim_place"]) for i in range(1, 10)},
}
# the province version each Jinhua decision extends (A before 2025-03-01, B from then)
BEFORE_B = {"FICT-JH-01", "FICT-JH-02", "FICT-JH-03", "FICT-JH-16", "FICT-WZ-01", "FICT-WZ-08", "FICT-WZ-09"}

WENZHOU_EXPECTED = {
    "FICT-JH-02": (False, "0", ["claim_place"]), "FICT-JH-03": (False, "0", ["claim_place"]),
    "FICT-JH-04": (False, "0", ["claim_place"]), "FICT-JH-05": (False, "0", ["claim_place"]),
    "FICT-JH-06": (False, "0", ["hours_completed", "claim_place"]),
    "FICT-JH-07": (False, "0", ["claim_place", "not_repeated"]),
    "FICT-JH-08": (False, "0", ["claim_place"]), "FICT-JH-09": (False, "0", ["claim_place"]),
    "FICT-JH-10": (False, "0", ["claim_place"]), "FICT-JH-11": (False, "0", ["claim_place"]),
    "FICT-JH-12": (False, "0", ["claim_place", "within_deadline"]),  # 2024-01-10 + 6 months = 2024-07-10
    "FICT-JH-13": (False, "0", ["claim_place"]),  # 60y1m under the 2025 rule: 2025-03-10, not yet over
    "FICT-JH-14": (False, "0", ["claim_place"]), "FICT-JH-15": (False, "0", ["claim_place"]),
    "FICT-JH-16": (False, "0", ["occupation_catalogued", "institution_catalogued", "claim_place"]),
    "FICT-JH-17": (False, "0", ["institution_catalogued", "claim_place"]),
    "FICT-JH-19": (False, "0", ["claim_place"]),
    "FICT-JH-20": (False, "0", ["claim_place", "not_public_staff"]),
    "FICT-JH-21": (False, "0", ["claim_place", "yearly_limit"]),
    "FICT-WZ-01": (True, "2200", []), "FICT-WZ-02": (True, "2500", []),
    "FICT-WZ-03": (False, "0", ["within_deadline"]),  # 2024-09-01 + 6 months = 2025-03-01 < 2025-03-05
    "FICT-WZ-04": (False, "0", ["claim_place"]),  # Wenzhou hukou, not insured: no hukou route here
    "FICT-WZ-05": (False, "0", ["claim_place"]),  # Wenzhou graduate, not insured: no graduate route here
    "FICT-WZ-06": (False, "0", ["claim_place"]),  # insured but suspended
    "FICT-WZ-07": (True, "3000", []),
    "FICT-WZ-09": (True, "2200", []),  # 2024-08-31 + 6 months = 2025-02-28, claimed that day
}


def decided(records):
    return {r["claim_id"]: (r["eligible"], r["amount"], r["failed_rules"]) for r in records if "error" not in r}


def test_every_fixture_claim_under_jinhua(capsys):
    code, records, err = run_json(capsys, *STORE, "evaluate", CLAIMS, "--policy", JH, "--format", "json")
    assert code == 2  # one claim is invalid
    assert err.strip() == "29 decided (13 eligible), 1 invalid, 0 with no policy in force, 0 undecided"
    assert [r["claim_id"] for r in records] == [f"FICT-JH-{i:02d}" for i in range(1, 22)] + \
        [f"FICT-WZ-{i:02d}" for i in range(1, 10)]
    assert {r["claim_id"]: (r["eligible"], r["amount"], [x["id"] for x in r["rules"] if x["outcome"] == "fail"])
            for r in records if "error" not in r} == JINHUA_EXPECTED
    invalid = records[17]
    assert invalid["claim_id"] == "FICT-JH-18" and invalid["error"]["code"] == "claim.invalid"
    assert {p["path"] for p in invalid["error"]["problems"]} == {"training.level", "level_certificate.level"}
    for r in records:
        if "error" in r:
            continue
        refs = {(x["id"], x["role"]): x["version"] for x in r["references"]}
        assert refs[(ZJ, "extends")] == ("2023-09-16" if r["claim_id"] in BEFORE_B else "2025-03-01"), r["claim_id"]
        assert refs[(CN, "uses")] == ("1978-06-02" if r["decision_date"] < "2025-01-01" else "2025-01-01")


def test_new_occupation_under_the_new_provincial_version(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-14", "FICT-JH-16")  # kept in file order
    _, (after, before), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    rules = {r["id"]: r for r in after["rules"]}
    assert (after["eligible"], after["amount"]) == (True, "3000")
    assert rules["hours_completed"]["source"] == f"{ZJ}@2025-03-01"
    assert rules["hours_completed"]["reads"]["subsidy[2-02-10-09, junior]"] == {
        "occupation_code": "2-02-10-09", "occupation": "人工智能工程技术人员", "level": "junior", "hours": 96,
        "amount": "3000"}
    assert rules["institution_catalogued"]["reads"]["institutions[虚构人工智能学院, 2-02-10-09]"] == {
        "institution": "虚构人工智能学院", "occupation": "人工智能", "occupation_code": "2-02-10-09"}
    # decided 2025-02-20, under A: the occupation is not catalogued yet
    rules = {r["id"]: (r["outcome"], r["source"]) for r in before["rules"]}
    assert rules["occupation_catalogued"] == ("fail", f"{ZJ}@2023-09-16")
    assert rules["institution_catalogued"] == ("fail", f"{ZJ}@2023-09-16")
    assert rules["hours_completed"] == ("not_applicable", f"{ZJ}@2023-09-16")


def test_the_province_alone_pinned_to_its_new_version(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-14", "FICT-JH-16")
    code, (ok, early), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2025-03-01", "--format", "json",
                                    "--summary")
    assert code == 3
    assert (ok["eligible"], ok["amount"], ok["policy"]["version"]) == (True, "3000", "2025-03-01")
    assert early["error"]["code"] == "policy.not_in_force"
    assert early["error"]["message"] == f"{ZJ}@2025-03-01 is not in force on 2025-02-20 (it is in force from 2025-03-01)"


def test_every_fixture_claim_under_the_fictional_wenzhou_policy(capsys):
    code, records, err = run_json(capsys, *STORE, "evaluate", CLAIMS, "--policy", WZ, "--format", "json", "--summary")
    assert code == 2
    assert err.strip() == "27 decided (4 eligible), 1 invalid, 2 with no policy in force, 0 undecided"
    assert decided(records) == WENZHOU_EXPECTED
    errors = {r["claim_id"]: r["error"]["code"] for r in records if "error" in r}
    assert errors == {"FICT-JH-01": "policy.not_in_force", "FICT-JH-18": "claim.invalid",
                      "FICT-WZ-08": "policy.not_in_force"}
    early = next(r for r in records if r["claim_id"] == "FICT-WZ-08")
    assert early["error"]["message"] == (f"{WZ} has no version in force on 2024-08-20; the nearest version is "
                                         f"{WZ}@2024-09-01, in force from 2024-09-01")


def test_wenzhou_outputs_and_references(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-WZ-04", "FICT-WZ-09")  # kept in file order
    _, (hukou_only, last_day), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", WZ, "--format", "json")
    assert [(r["id"], r["version"], r["role"]) for r in last_day["references"]] == [
        (ZJ, "2023-09-16", "extends"), (CN, "2025-01-01", "uses")]
    assert last_day["outputs"]["deadline"] == "2025-02-28"
    assert last_day["outputs"]["where_to_claim"] == ["330304"]
    assert last_day["outputs"]["required_materials"] == ["培训合格证书", "专业技术等级证书", "温州市社会保险缴费证明"]
    place = next(r for r in hukou_only["rules"] if r["id"] == "claim_place")
    assert (place["outcome"], place["clause"], place["source"]) == ("fail", "二", f"{WZ}@2024-09-01")
    assert place["message"] == "不符合申请条件：未在我市正常参保缴费（户籍、毕业院校所在地不作为申请条件）"
    assert hukou_only["outputs"]["where_to_claim"] == []
    assert hukou_only["outputs"]["deadline"] == "2025-07-10"


# =================================================================================================
# Why a claim got its answer: rules with clause, source and the facts they read


def test_a_refusal_names_the_rule_its_clause_and_what_it_read(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-12")
    _, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    deadline = next(r for r in record["rules"] if r["id"] == "within_deadline")
    assert deadline == {"id": "within_deadline", "outcome": "fail", "clause": "四",
                        "message": "已超过专业技术等级证书核发之日起12个月的申请期限，不予受理",
                        "source": f"{JH}@2024-05-01",
                        "reads": {"decision_date": "2025-03-05", "claim_deadline": "2025-01-10"}}
    retirement = next(r for r in record["rules"] if r["id"] == "not_over_retirement_age")
    assert retirement["reads"] == {"decision_date": "2025-03-05", "retirement_date": "2053-03-07"}
    _, out, _ = run(capsys, *STORE, "evaluate", path, "--policy", JH, "-v", "-q")
    lines = out.splitlines()
    assert lines[:5] == [f"Claim FICT-JH-12: {JH}@2024-05-01, decided on 2025-03-05",
                         f"  extends {ZJ}@2025-03-01", f"  uses {CN}@2025-01-01",
                         "NOT ELIGIBLE: 1 condition not met",
                         "  ✗ [四] 已超过专业技术等级证书核发之日起12个月的申请期限，不予受理"]
    at = lines.index("  ✗ within_deadline [四] NOT met: 已超过专业技术等级证书核发之日起12个月的申请期限，不予受理")
    assert lines[at + 1:at + 3] == ["      decision_date = 2025-03-05", "      claim_deadline = 2025-01-10"]


def test_retirement_age_at_the_2025_change(capsys, tmp_path):
    """FICT-JH-13, a man born 1965-02-10, claims on 2025-03-03: 60y1m under the 2025 rule → 2025-03-10."""
    path = claims_file(tmp_path, "FICT-JH-13")
    _, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    rule = next(r for r in record["rules"] if r["id"] == "not_over_retirement_age")
    assert (rule["outcome"], rule["reads"]["retirement_date"]) == ("pass", "2025-03-10")


def test_notes_say_which_document_their_clause_belongs_to(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-11")
    _, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    notes = {n["id"]: n for n in record["notes"]}
    assert notes["hukou_material_literal"]["clause"] == notes["title_precondition"]["clause"] == "三.(二)"
    assert notes["hukou_material_literal"].get("source") == f"{JH}@2024-05-01"
    assert notes["title_precondition"].get("source") == f"{ZJ}@2025-03-01"


# =================================================================================================
# What the office knew then: --known-on


@pytest.mark.parametrize("known_on, amount, province", [
    ("2025-02-09", "2200", "2023-09-16"),  # the day before B was issued: the old amount
    ("2025-02-10", "2500", "2025-03-01"),  # B issued that day
    (None, "2500", "2025-03-01"),
])
def test_known_on_uses_only_versions_issued_by_then(capsys, tmp_path, known_on, amount, province):
    path = claims_file(tmp_path, "FICT-JH-04")  # decided 2025-03-01, B's first day
    extra = ["--known-on", known_on] if known_on else []
    code, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json", *extra)
    assert code == 0
    assert (record["eligible"], record["amount"]) == (True, amount)
    assert {r["id"]: r["version"] for r in record["references"]} == {ZJ: province, CN: "2025-01-01"}


@pytest.mark.parametrize("known_on, expected, retirement", [
    ("2024-09-12", (False, "0", ["not_over_retirement_age"]), "1978-06-02"),  # the 2025 rule not yet decided
    ("2024-09-13", (True, "2200", []), "2025-01-01"),  # retirement rule known, province B not yet
    ("2025-02-10", (True, "2500", []), "2025-01-01"),
])
def test_known_on_and_the_retirement_age(capsys, tmp_path, known_on, expected, retirement):
    path = claims_file(tmp_path, "FICT-JH-13")
    _, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json", "--summary",
                               "--known-on", known_on)
    assert decided([record])["FICT-JH-13"] == expected
    _, (full,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json",
                             "--known-on", known_on)
    assert {r["id"]: r["version"] for r in full["references"]}[CN] == retirement


def test_known_on_before_the_city_notice_was_issued(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-01")
    code, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json",
                                  "--known-on", "2024-03-25")
    assert code == 3 and record["error"]["code"] == "policy.not_in_force"


def test_known_on_makes_a_retroactive_amendment_visible(tmp_path, capsys):
    """If B had been issued on 2025-03-20, after it took effect, a claim decided on 2025-03-12 was
    refused by the office then (the new occupation unknown) but is eligible when decided now."""
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "issued_on: 2025-02-10", "issued_on: 2025-03-20")
    path = claims_file(tmp_path, "FICT-JH-14")
    _, (now,), _ = run_json(capsys, *opts, "evaluate", path, "--policy", JH, "--format", "json", "--summary")
    _, (then,), _ = run_json(capsys, *opts, "evaluate", path, "--policy", JH, "--format", "json", "--summary",
                             "--known-on", "2025-03-12")
    assert decided([now])["FICT-JH-14"] == (True, "3000", [])
    assert decided([then])["FICT-JH-14"] == (False, "0", ["occupation_catalogued", "institution_catalogued"])


def test_known_on_refuses_a_pinned_version_not_yet_issued(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-14")
    code, (record,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2025-03-01", "--format", "json",
                                  "--summary", "--known-on", "2025-02-01")
    assert "error" in record or code != 0


# =================================================================================================
# What a new version would change: impact

AMOUNT_UP = ["FICT-JH-01", "FICT-JH-02", "FICT-JH-03", "FICT-JH-04", "FICT-JH-05", "FICT-JH-10", "FICT-JH-11",
             "FICT-JH-13"]
NEW_OCCUPATION = {"FICT-JH-14": "3000", "FICT-JH-15": "3600", "FICT-JH-16": "3000"}
CATALOGUE_RULES = ["hours_completed", "institution_catalogued", "occupation_catalogued"]


def _up(claim_id, old="2200", new="2500"):
    return {"claim_id": claim_id,
            "before": {"eligible": True, "amount": old, "failed_rules": [], "version": "2024-05-01"},
            "after": {"eligible": True, "amount": new, "failed_rules": [], "version": "2024-05-01"},
            "amount_difference": str(int(new) - int(old)), "rules_changed": [], "decision_changed": True,
            "amount_changed_by": [f"subsidy[2-02-10-15, junior]: amount {old} → {new}"]}


def _became(claim_id, amount, failed, rules):
    return {"claim_id": claim_id,
            "before": {"eligible": False, "amount": "0", "failed_rules": failed, "version": "2024-05-01"},
            "after": {"eligible": True, "amount": amount, "failed_rules": [], "version": "2024-05-01"},
            "amount_difference": amount, "rules_changed": rules, "decision_changed": True}


def _reasons(claim_id, failed_before, failed_after, rules, before="2024-05-01", after="2024-05-01"):
    return {"claim_id": claim_id,
            "before": {"eligible": False, "amount": "0", "failed_rules": failed_before, "version": before},
            "after": {"eligible": False, "amount": "0", "failed_rules": failed_after, "version": after},
            "amount_difference": "0", "rules_changed": rules, "decision_changed": False}


WORLD_A = f"{JH}@2024-05-01 (extends {ZJ}@2023-09-16, uses {CN}@2025-01-01)"
WORLD_B = f"{JH}@2024-05-01 (extends {ZJ}@2025-03-01, uses {CN}@2025-01-01)"
# Refused under both, for fewer reasons under B: FICT-JH-17 (AI at 浙江大学: the occupation is now
# catalogued, 浙江大学 still not for it) and FICT-WZ-07 (AI at the new institution, but not in Jinhua).
JH17 = _reasons("FICT-JH-17", ["occupation_catalogued", "institution_catalogued"], ["institution_catalogued"],
                ["hours_completed", "occupation_catalogued"])
WZ07 = _reasons("FICT-WZ-07", ["occupation_catalogued", "institution_catalogued", "claim_place"], ["claim_place"],
                CATALOGUE_RULES)


def test_impact_of_the_new_provincial_version_on_jinhua(capsys):
    """2025-02-01 (A + retirement 2025) against 2025-04-01 (B + retirement 2025), every claim on its own date.

    Changed: the 8 eligible blockchain-junior claims +300 each (2400), the 3 eligible new-occupation
    claims 0 → 3000, 3600, 3000 (9600). Totals: before 8×2200 + 2400 + 3300 + 2300 = 25600, after
    8×2500 + 2400 + 3300 + 2300 + 9600 = 37600, difference 12000. FICT-JH-17 (AI at 浙江大学) and
    FICT-WZ-07 (AI in Wenzhou) are refused under both: not changed decisions, but listed as refused for
    other reasons, and their rule flips are counted with the others (hours 3+2, institution 3+1,
    occupation 3+2)."""
    code, (report,), _ = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS,
                                  "--format", "json")
    assert code == 0
    assert {k: report[k] for k in ("before", "after", "claims", "decided_both", "changed", "reasons_changed",
                                   "direction", "undecided", "total_amount", "rules")} == {
        "before": WORLD_A, "after": WORLD_B,
        "claims": 30, "decided_both": 29, "changed": 11, "reasons_changed": 2,
        "direction": {"became_eligible": 3, "became_ineligible": 0, "amount_up": 8, "amount_down": 0},
        "undecided": {"before": 1, "after": 1},
        "total_amount": {"before": "25600", "after": "37600", "difference": "12000"},
        "rules": {"hours_completed": {"not_applicable_to_pass": 5}, "institution_catalogued": {"fail_to_pass": 4},
                  "occupation_catalogued": {"fail_to_pass": 5}},
    }
    assert report["changed_claims"] == [_up(c) for c in AMOUNT_UP] + [
        _became(c, a, ["occupation_catalogued", "institution_catalogued"], CATALOGUE_RULES)
        for c, a in NEW_OCCUPATION.items()] + [JH17, WZ07]
    assert sum(int(c["amount_difference"]) for c in report["changed_claims"]) == 12000


def test_impact_as_text(capsys):
    code, out, _ = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS)
    assert code == 0
    assert out.splitlines()[:13] == [
        "Impact over 30 claims",
        f"  before: {WORLD_A}",
        f"  after:  {WORLD_B}",
        "  decisions changed: 11 (became eligible 3, became ineligible 0, amount up 8, amount down 0)",
        "  still not eligible, for other reasons: 2",
        "  total amount: 25600 → 37600 (difference 12000)",
        "  not decided: 1 before, 1 after",
        "  amounts changed because the amount read:",
        "    subsidy[2-02-10-15, junior]: 8",
        "  rules whose outcome changed:",
        "    hours_completed: not_applicable → pass 5",
        "    institution_catalogued: fail → pass 4",
        "    occupation_catalogued: fail → pass 5",
    ]
    assert out.splitlines()[-2:] == [
        "    FICT-JH-17: not eligible → not eligible (rules: hours_completed, occupation_catalogued)",
        "    FICT-WZ-07: not eligible → not eligible (rules: hours_completed, institution_catalogued, "
        "occupation_catalogued)"]
    assert ("    FICT-JH-01: eligible 2200 → eligible 2500 (subsidy[2-02-10-15, junior]: amount 2200 → 2500)"
            in out.splitlines())
    assert ("    FICT-JH-15: not eligible → eligible 3600 (rules: hours_completed, institution_catalogued, "
            "occupation_catalogued)") in out.splitlines()


def test_impact_across_the_retirement_age_change(capsys):
    """From 2024-12-01 (A + retirement 1978) the man born 1965-02-10 (FICT-JH-13) is over 60 on 2025-03-03;
    from 2025-04-01's world (B + retirement 2025) he is not and gets 2500: one more became-eligible,
    one fewer amount-up. Before 25600 − 2200 = 23400; after 37600; difference 14200."""
    code, (report,), _ = run_json(capsys, *STORE, "impact", JH, "--from", "2024-12-01", "--to", "2025-04-01", CLAIMS,
                                  "--format", "json")
    assert code == 0
    assert report["before"] == f"{JH}@2024-05-01 (extends {ZJ}@2023-09-16, uses {CN}@1978-06-02)"
    assert report["after"] == WORLD_B
    assert (report["changed"], report["reasons_changed"], report["direction"], report["total_amount"]) == (
        11, 2, {"became_eligible": 4, "became_ineligible": 0, "amount_up": 7, "amount_down": 0},
        {"before": "23400", "after": "37600", "difference": "14200"})
    assert report["rules"] == {"not_over_retirement_age": {"fail_to_pass": 1},
                               "hours_completed": {"not_applicable_to_pass": 5},
                               "institution_catalogued": {"fail_to_pass": 4},
                               "occupation_catalogued": {"fail_to_pass": 5}}
    jh13 = next(c for c in report["changed_claims"] if c["claim_id"] == "FICT-JH-13")
    assert jh13 == _became("FICT-JH-13", "2500", ["not_over_retirement_age"], ["not_over_retirement_age"])


def test_impact_between_pinned_provincial_versions(capsys):
    """The province alone (@2023-09-16 → @2025-03-01): no city conditions, so every in-province
    blockchain-junior claim that passes the provincial rules goes up 300 — 18 of them (FICT-JH-01..05,
    10, 11, 12, 13, 20 and FICT-WZ-01..06, 08, 09) — and 4 new-occupation claims become eligible
    (FICT-JH-14, 15, 16 and FICT-WZ-07: 3000 + 3600 + 3000 + 3000 = 12600).
    Before 18×2200 + 2400 + 3300 + 2300 = 47600; after 18×2500 + 8000 + 12600 = 65600; +18000.
    FICT-JH-17 is refused under both, for fewer reasons under B."""
    code, (report,), _ = run_json(capsys, *STORE, "impact", ZJ, "--from", "@2023-09-16", "--to", "@2025-03-01",
                                  CLAIMS, "--format", "json")
    assert code == 0
    assert (report["before"], report["after"]) == (f"{ZJ}@2023-09-16", f"{ZJ}@2025-03-01")
    assert (report["claims"], report["changed"], report["reasons_changed"], report["direction"],
            report["total_amount"]) == (
        30, 22, 1, {"became_eligible": 4, "became_ineligible": 0, "amount_up": 18, "amount_down": 0},
        {"before": "47600", "after": "65600", "difference": "18000"})
    assert report["rules"] == {"hours_completed": {"not_applicable_to_pass": 5},
                               "institution_catalogued": {"fail_to_pass": 4},
                               "occupation_catalogued": {"fail_to_pass": 5}}
    assert next(c for c in report["changed_claims"] if c["claim_id"] == "FICT-JH-17") == _reasons(
        "FICT-JH-17", ["occupation_catalogued", "institution_catalogued"], ["institution_catalogued"],
        ["hours_completed", "occupation_catalogued"], before="2023-09-16", after="2025-03-01")
    up = [c["claim_id"] for c in report["changed_claims"] if c["amount_difference"] == "300"]
    assert up == [f"FICT-JH-{i:02d}" for i in (1, 2, 3, 4, 5, 10, 11, 12, 13, 20)] + \
        [f"FICT-WZ-{i:02d}" for i in (1, 2, 3, 4, 5, 6, 8, 9)]


def test_impact_with_no_version_in_force_on_the_from_date(capsys):
    code, out, err = run(capsys, *STORE, "impact", WZ, "--from", "2024-06-01", "--to", "2025-04-01", CLAIMS)
    assert (code, out) == (3, "")
    assert f"{WZ} has no version in force on 2024-06-01" in err


def test_impact_attributes_amount_changes(capsys):
    _, (report,), _ = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS,
                               "--format", "json")
    jh01 = next(c for c in report["changed_claims"] if c["claim_id"] == "FICT-JH-01")
    assert jh01["rules_changed"] or "subsidy" in json.dumps(
        {k: v for k, v in jh01.items() if k not in ("before", "after")}, ensure_ascii=False)


# =================================================================================================
# Reproducing a decision: digest, ID@VERSION, verify


def record(capsys, store, tmp_path, *ids, extra=(), name="recorded.jsonl", policy=JH):
    """Decide the claims with `evaluate --format json` and keep the output, as a case system would."""
    path = claims_file(tmp_path, *ids, name="claims-" + name)
    code, out, _ = run(capsys, *store, "evaluate", path, "--policy", policy, "--format", "json", "-q", *extra)
    target = tmp_path / name
    target.write_text(out, encoding="utf-8")
    return target, path


def test_recorded_decisions_are_reproduced(capsys, tmp_path):
    decidable = [c for c in JINHUA_EXPECTED]
    recorded, claims = record(capsys, STORE, tmp_path, *decidable)
    code, rows, err = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 0
    assert rows == [{"claim_id": c, "reproduced": True, "differences": []} for c in decidable]
    assert err.strip() == "29 reproduced, 0 differ"


def test_a_past_decision_reproduced_with_a_pinned_version(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-04")
    _, (now,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{JH}@2024-05-01", "--format", "json")
    _, (again,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    assert now == again
    assert now["policy"] == {"id": JH, "version": "2024-05-01", "digest": digests(capsys, STORE, JH)["2024-05-01"]}
    assert [(r["id"], r["version"], r["digest"]) for r in now["references"]] == [
        (ZJ, "2025-03-01", digests(capsys, STORE, ZJ)["2025-03-01"]),
        (CN, "2025-01-01", digests(capsys, STORE, CN)["2025-01-01"])]


def test_verify_names_the_version_whose_digest_differs(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-03", "FICT-JH-04", "FICT-JH-08")
    old = digests(capsys, STORE, ZJ)["2025-03-01"]
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "区块链工程技术人员, junior, 80, 2500",
         "区块链工程技术人员, junior, 80, 2600")
    new = digests(capsys, opts, ZJ)["2025-03-01"]
    assert new != old
    code, rows, err = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    line = f"{ZJ}@2025-03-01 digest differs: recorded {old}, now {new}"
    assert rows == [
        {"claim_id": "FICT-JH-03", "reproduced": True, "differences": []},  # decided under A: untouched
        {"claim_id": "FICT-JH-04", "reproduced": False, "differences": [line, "amount: recorded 2500, now 2600"]},
        {"claim_id": "FICT-JH-08", "reproduced": False, "differences": [line]},  # same result, other digest
    ]
    assert err.strip() == "1 reproduced, 2 differ"
    _, out, _ = run(capsys, *opts, "verify", recorded, CLAIMS)
    assert out.splitlines()[:4] == ["FICT-JH-03: reproduced", "FICT-JH-04: DIFFERS", f"    {line}",
                                    "    amount: recorded 2500, now 2600"]


def test_verify_names_the_city_file_that_changed(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    old = digests(capsys, STORE, JH)["2024-05-01"]
    store, opts = store_copy(tmp_path)
    city = store / "jinhua/digital-engineer-subsidy/2024-05-01.yaml"
    edit(city, "      fail: 机关事业单位在编人员不属于培训补贴申请对象",
         "      fail: 机关事业单位在编人员不属于培训补贴申请对象。")
    new = digests(capsys, opts, JH)["2024-05-01"]
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    assert rows[0]["differences"] == [f"{JH}@2024-05-01 digest differs: recorded {old}, now {new} "
                                      f"(the file {city} changed after the decision)"]


def test_a_comment_is_not_a_change(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    store, opts = store_copy(tmp_path)
    path = store / "zhejiang/digital-engineer/2025-03-01.yaml"
    path.write_text("# an added comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows[0]["reproduced"]) == (0, True)


def test_verify_a_seed_decision_against_the_store_with_a_new_version(capsys, tmp_path):
    """Decided on the seed policies (only A exists), checked against the fixture store, where B now
    takes effect on the decision date: the version that resolves differs, and so does the amount."""
    recorded, _ = record(capsys, SEED, tmp_path, "FICT-JH-01", "FICT-JH-04")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    assert rows == [
        {"claim_id": "FICT-JH-01", "reproduced": True, "differences": []},  # the copies keep the seed digests
        {"claim_id": "FICT-JH-04", "reproduced": False, "differences": [
            f"{ZJ}: recorded version 2023-09-16, now 2025-03-01 resolves on 2025-03-01",
            "amount: recorded 2200, now 2500"]},
    ]


def test_verify_when_the_recorded_version_is_gone(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    store, opts = store_copy(tmp_path)
    (store / "zhejiang/digital-engineer/2025-03-01.yaml").unlink()
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    assert rows[0]["differences"] == [f"{ZJ}: recorded version 2025-03-01, now 2023-09-16 resolves on 2025-03-01",
                                      "amount: recorded 2500, now 2200"]


def test_verify_without_the_claim(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    other = claims_file(tmp_path, "FICT-JH-05", name="other.jsonl")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, other, "--format", "json")
    assert code == 1
    assert rows == [{"claim_id": "FICT-JH-04", "reproduced": False,
                     "differences": ["no claim with this id among CLAIMS"]}]


def test_verify_reproduces_recorded_errors(capsys, tmp_path):
    invalid, _ = record(capsys, STORE, tmp_path, "FICT-JH-18")
    early, _ = record(capsys, STORE, tmp_path, "FICT-WZ-08", policy=WZ, name="early.jsonl")
    assert json.loads(invalid.read_text(encoding="utf-8"))["error"]["code"] == "claim.invalid"
    assert json.loads(early.read_text(encoding="utf-8"))["error"]["code"] == "policy.not_in_force"
    for recorded, claim_id in ((invalid, "FICT-JH-18"), (early, "FICT-WZ-08")):
        code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
        assert rows == [{"claim_id": claim_id, "reproduced": True, "differences": []}]


def test_verify_reproduces_a_known_on_decision(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04", extra=("--known-on", "2025-02-09"))
    assert json.loads(recorded.read_text(encoding="utf-8"))["amount"] == "2200"
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert rows[0]["differences"] == []


def test_verify_a_summary_record(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-01", extra=("--summary",))
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert rows[0]["differences"] == []


# =================================================================================================
# Review dates: check --today


def test_check_warns_after_review_by(tmp_path, capsys):
    store, opts = store_copy(tmp_path)
    path = store / "wenzhou/digital-engineer-subsidy/2024-09-01.yaml"
    edit(path, "issued_on: 2024-08-15\n", "issued_on: 2024-08-15\nreview_by: 2025-06-30\n")
    code, out, err = run(capsys, *opts, "check", "--today", "2025-06-30")
    assert (code, out, err.strip()) == (0, "", "0 errors, 0 warnings in 6 policy versions")  # due that day: not yet
    code, out, err = run(capsys, *opts, "check", "--today", "2025-07-01")
    assert code == 0
    assert out.splitlines() == [f"{path}:14:12: warning[version.review]: {WZ}@2024-09-01 was due for review on "
                                "2025-06-30"]
    assert err.strip() == "0 errors, 1 warning in 6 policy versions"
    code, rows, _ = run_json(capsys, *opts, "check", "--today", "2025-07-01", "--format", "json")
    assert rows == [{"code": "version.review", "severity": "warning",
                     "message": f"{WZ}@2024-09-01 was due for review on 2025-06-30", "file": str(path),
                     "line": 14, "column": 12}]
    _, out, _ = run(capsys, *opts, "show", WZ, "--as-of", "2025-01-01")
    assert out.splitlines()[1] == "  in force 2024-09-01 .. now; issued 2024-08-15; review by 2025-06-30"


def test_seed_and_fixture_versions_have_no_review_date(capsys):
    for store in (SEED, STORE):
        code, out, _ = run(capsys, *store, "check", "--today", "2099-12-31")
        assert (code, out) == (0, "")

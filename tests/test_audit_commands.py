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

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from clirun import invoke
from seedstore import SEED_POLICIES, SEED_SCHEMAS

from engine.policies.policyfile import canonical_json

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
CLAIMS = str(FIX / "claims.jsonl")
# claim id → its line in claims.jsonl: where impact and verify say a claim or its record sits
LINE = {json.loads(line)["claim_id"]: n
        for n, line in enumerate((FIX / "claims.jsonl").read_text(encoding="utf-8").splitlines(), 1)}
STORE = ["--policies", str(FIX / "store"), "--schemas", str(FIX / "schemas")]
SEED = ["--policies", str(SEED_POLICIES), "--schemas", str(SEED_SCHEMAS)]  # the seed versions, pinned
JH, WZ, ZJ, CN = ("jinhua/digital-engineer-subsidy", "wenzhou/digital-engineer-subsidy", "zhejiang/digital-engineer",
                  "china/retirement-age")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "policy-cache"))


run = invoke


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
    assert lines[0].startswith("2023-09-16  in force 2023-09-16 .. 2025-02-28  issued 2023-08-16  "
                               "浙人社发〔2023〕36号  ")
    assert lines[0].endswith("zhejiang/digital-engineer/2023-09-16.yaml")
    assert lines[1].startswith("2025-03-01  in force 2025-03-01 .. now  issued 2025-02-10  "
                               "浙人社发〔2025〕99号（虚构）  ")
    assert "RETROACTIVE" not in out
    code, out, _ = run(capsys, *STORE, "timeline", WZ)
    assert out.startswith("2024-09-01  in force 2024-09-01 .. now  issued 2024-08-15  温人社发〔2024〕88号（虚构）  ")


def test_timeline_flags_a_version_issued_after_it_took_effect(tmp_path, capsys):
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "issued_on: 2025-02-10", "issued_on: 2025-03-20")
    _, rows, _ = run_json(capsys, *opts, "timeline", ZJ, "--format", "json")
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
    assert err.strip() == (f"{JH} has no version in force on 2024-04-30; the nearest version is {JH}@2024-05-01, "
                           "in force from 2024-05-01")


def test_show_as_of_names_the_referenced_versions_in_force(capsys):
    _, out, _ = run(capsys, *STORE, "show", JH, "--as-of", "2025-03-01")
    assert f"{ZJ}@2025-03-01" in out and f"{CN}@2025-01-01" in out


# =================================================================================================
# What changed between versions or dates: diff

def _clause_texts(version: str) -> dict:
    """The clause texts a fixture file states, read with PyYAML rather than the engine."""
    path = FIX / "store" / ZJ / f"{version}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["source"]["clauses"]


# The second batch rewrites three clauses: 施行, 附件1 and 附件2.
A_CLAUSES, B_CLAUSES = _clause_texts("2023-09-16"), _clause_texts("2025-03-01")


def _clause(cid):
    return {"change": "changed", "section": "clause", "name": cid, "old": A_CLAUSES[cid], "new": B_CLAUSES[cid],
            "clause": cid}


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
    _version("source.title",
             "浙江省人力资源和社会保障厅 浙江省财政厅关于印发《浙江省数字技术工程师培育项目实施方案》的通知",
             "浙江省人力资源和社会保障厅 浙江省财政厅关于公布数字技术工程师培育项目"
             "第二批培训机构名单和调整补贴标准的通知（虚构）"),
    _version("title", "浙江省数字技术工程师培训补贴（首批目录）", "浙江省数字技术工程师培训补贴（第二批目录，虚构）"),
    _clause("施行"), _clause("附件1"), _clause("附件2"),
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
    ("changed", "version", "", "source.issuers", None),  # 国务院 → 全国人民代表大会常务委员会
    ("changed", "version", "", "source.number", None), ("changed", "version", "", "source.title", None),
    ("changed", "version", "", "title", None),
    ("removed", "clause", "退休年龄", None, None), ("added", "clause", "办法.第二条", None, None),
    ("added", "clause", "附件", None, None),
    ("changed", "table", "schedule", "columns", None), ("changed", "table", "schedule", "clause", None),
    ("changed", "table", "schedule", "description", None),
    *[("changed", "cell", "schedule", column, [group])
      for group in ("male", "female_55", "female_50")
      for column in ("first_cohort", "months_per_step", "max_delay_months")],
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
        "  table subsidy row (2-02-10-09, junior) added: "
        "{occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: junior, hours: 96, amount: 3000} [附件2]",
        "  table subsidy row (2-02-10-09, intermediate) added: "
        "{occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: intermediate, hours: 96, amount: 3600} [附件2]",
        "  table subsidy row (2-02-10-09, senior) added: "
        "{occupation_code: 2-02-10-09, occupation: 人工智能工程技术人员, "
        "level: senior, hours: 128, amount: 4800} [附件2]",
        "  table institutions row (虚构人工智能学院, 2-02-10-09) added: "
        "{institution: 虚构人工智能学院, occupation: 人工智能, "
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
    code, out, err = run(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", ZJ)
    assert (code, out, err) == (64, "", "policy: give two pinned versions, ID@A ID@B, or one ID with --from and --to\n")
    code, out, err = run(capsys, *STORE, "diff", ZJ, "--from", "2024-01-01")
    assert (code, out, err) == (64, "", "policy: give two pinned versions, ID@A ID@B, or one ID with --from and --to\n")
    code, out, err = run(capsys, *STORE, "diff", f"{ZJ}@2023-09-16", f"{ZJ}@2099-01-01")
    assert (code, out, err) == (64, "", f"policy: {ZJ} has no version '2099-01-01' (it has 2023-09-16, 2025-03-01)\n")


@pytest.mark.parametrize("from_, to", [("2024-06-01", "2025-06-01"), ("2025-06-01", "2024-06-01")])
def test_diff_on_a_date_with_no_version_in_force(capsys, from_, to):
    """Wenzhou takes effect on 2024-09-01: either side before that has nothing to compare."""
    code, out, err = run(capsys, *STORE, "diff", WZ, "--from", from_, "--to", to)
    assert (code, out, err) == (3, "", f"policy: {WZ} has no version in force on 2024-06-01; the nearest version is "
                                       f"{WZ}@2024-09-01, in force from 2024-09-01\n")


def test_diff_of_two_policies_on_one_date(capsys):
    """Two cities' transpositions of the province on one date: what Wenzhou writes differently from Jinhua."""
    code, out, _ = run(capsys, *STORE, "diff", JH, WZ, "--on", "2024-10-01")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{JH}@2024-05-01 → {WZ}@2024-09-01"
    assert any(line.startswith("  rule ") for line in lines[1:])
    assert not any(line.startswith("underneath:") for line in lines)  # both read the same province and law then
    code, (result,), _ = run_json(capsys, *STORE, "diff", f"{JH}@2024-05-01", f"{WZ}@2024-09-01", "--format", "json")
    assert code == 0 and result["compared"] == [f"{JH}@2024-05-01", f"{WZ}@2024-09-01"] and result["changes"]
    code, out, err = run(capsys, *STORE, "diff", JH, WZ)
    assert (code, out) == (64, "")
    assert err == f"policy: to compare two policies, pin each (ID@VERSION) or give --on DATE; {JH} has neither\n"
    code, _, err = run(capsys, *STORE, "diff", JH, WZ, "--on", "2024-06-01")
    assert code == 3 and "has no version in force on 2024-06-01" in err


def test_diff_of_a_version_with_itself(capsys):
    code, (result,), _ = run_json(capsys, *STORE, "diff", f"{JH}@2024-05-01", f"{JH}@2024-05-01", "--format", "json")
    assert code == 0
    assert (result["from"], result["changes"], result["underneath"]) == (result["to"], [], [])
    code, out, _ = run(capsys, *STORE, "diff", f"{JH}@2024-05-01", f"{JH}@2024-05-01")
    assert (code, out) == (0, f"{JH}: 2024-05-01 → 2024-05-01\n  no changes in the policy's own file\n")


def _new_province_version(store: Path, *edits: tuple[str, str]) -> None:
    """zhejiang/digital-engineer@2025-06-01: a copy of 2025-03-01 taking effect later, with `edits` applied."""
    folder = store / "zhejiang/digital-engineer"
    text = (folder / "2025-03-01.yaml").read_text(encoding="utf-8")
    for old, new in (('version: "2025-03-01"', 'version: "2025-06-01"'), ("  from: 2025-03-01", "  from: 2025-06-01"),
                     *edits):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (folder / "2025-06-01.yaml").write_text(text, encoding="utf-8")


def test_diff_ignores_form_and_order(capsys, tmp_path):
    """An expression written differently, table rows in another order, table columns in another order (rows
    rewritten to match): nothing of meaning changed, so only the date is reported."""
    store, opts = store_copy(tmp_path)
    text = (store / "zhejiang/digital-engineer/2025-03-01.yaml").read_text(encoding="utf-8")
    catalogue = text[text.index("    columns: {institution: string"):text.index("  title_recognition:")]
    swapped = re.sub(r"- \[([^,]+), ([^,]+), ", r"- [\2, \1, ", catalogue.replace(
        "{institution: string, occupation: string,", "{occupation: string, institution: string,"))
    _new_province_version(
        store,
        ("require: training.hours >= subsidy[training.occupation_code, training.level].hours",
         "require: (training.hours) >=   subsidy[ training.occupation_code,training.level ].hours"),
        ('      - ["2-02-10-11", 大数据工程技术人员, junior, 128, 3300]\n'
         '      - ["2-02-10-11", 大数据工程技术人员, intermediate, 128, 3900]\n',
         '      - ["2-02-10-11", 大数据工程技术人员, intermediate, 128, 3900]\n'
         '      - ["2-02-10-11", 大数据工程技术人员, junior, 128, 3300]\n'),
        (catalogue, swapped))
    code, (result,), _ = run_json(capsys, *opts, "diff", f"{ZJ}@2025-03-01", f"{ZJ}@2025-06-01", "--format", "json")
    assert code == 0
    assert result["changes"] == [_version("effective.from", "2025-03-01", "2025-06-01")]
    assert result["from"]["digest"] != result["to"]["digest"]


def test_diff_reports_a_column_type_a_key_and_a_table_clause(capsys, tmp_path):
    store, opts = store_copy(tmp_path)
    _new_province_version(
        store,
        ("hours: int, amount: money", "hours: money, amount: money"),
        ("    key: [institution, occupation_code]", "    key: [occupation_code, institution]"),
        ("    clause: 三.(二)\n    description: 专业技术等级证书对应的职称贯通方式。",
         "    clause: 三.(一)\n    description: 专业技术等级证书对应的职称贯通方式。"))
    code, (result,), _ = run_json(capsys, *opts, "diff", f"{ZJ}@2025-03-01", f"{ZJ}@2025-06-01", "--format", "json")
    assert code == 0
    assert [c for c in result["changes"] if c["section"] == "table"] == [
        {"change": "changed", "section": "table", "name": "subsidy", "field": "column hours", "old": "int",
         "new": "decimal", "clause": "附件2"},
        {"change": "changed", "section": "table", "name": "institutions", "field": "key",
         "old": "institution, occupation_code", "new": "occupation_code, institution", "clause": "附件1, 二.(一)"},
        {"change": "changed", "section": "table", "name": "title_recognition", "field": "clause", "old": "三.(二)",
         "new": "三.(一)", "clause": "三.(一)"}]
    # the catalogue's rows are looked up by the new key, so each is removed under the old key and added anew
    rows = [(c["change"], c["key"]) for c in result["changes"] if c["section"] == "row"]
    assert rows == [("removed", ["浙江大学", "2-02-10-15"]), ("removed", ["浙江工业大学", "2-02-07-13"]),
                    ("removed", ["杭州电子科技大学", "2-02-10-11"]), ("removed", ["虚构人工智能学院", "2-02-10-09"]),
                    ("added", ["2-02-10-15", "浙江大学"]), ("added", ["2-02-07-13", "浙江工业大学"]),
                    ("added", ["2-02-10-11", "杭州电子科技大学"]), ("added", ["2-02-10-09", "虚构人工智能学院"])]
    _, out, _ = run(capsys, *opts, "diff", f"{ZJ}@2025-03-01", f"{ZJ}@2025-06-01")
    assert "  table subsidy column hours: int → decimal [附件2]" in out.splitlines()


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
    code, (ok, early), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2025-03-01",
                                    "--format", "json", "--summary")
    assert code == 3
    assert (ok["eligible"], ok["amount"], ok["policy"]["version"]) == (True, "3000", "2025-03-01")
    assert early["error"]["code"] == "policy.not_in_force"
    assert early["error"]["message"] == (f"{ZJ}@2025-03-01 is not in force on 2025-02-20 "
                                         "(it is in force from 2025-03-01)")


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
                        "reads": {"decision_date": "2025-03-05", "level_certificate.issued_on": "2024-01-10",
                                  "claim_deadline": "2025-01-10"}}
    retirement = next(r for r in record["rules"] if r["id"] == "not_over_retirement_age")
    assert retirement["reads"] == {"decision_date": "2025-03-05", "applicant.birth_date": "1990-03-07",
                                   "applicant.sex": "male", "applicant.female_retirement_base": None,
                                   "retirement_date": "2053-03-07"}
    _, out, _ = run(capsys, *STORE, "evaluate", path, "--policy", JH, "-v", "-q")
    lines = out.splitlines()
    assert lines[:5] == [f"Claim FICT-JH-12: {JH}@2024-05-01, decided on 2025-03-05",
                         f"  extends {ZJ}@2025-03-01", f"  uses {CN}@2025-01-01",
                         "NOT ELIGIBLE: 1 condition not met",
                         "  ✗ [四] 已超过专业技术等级证书核发之日起12个月的申请期限，不予受理"]
    at = lines.index("  ✗ within_deadline [四] NOT met: 已超过专业技术等级证书核发之日起12个月的申请期限，不予受理")
    assert lines[at + 1:at + 4] == ["      decision_date = 2025-03-05",
                                    "      level_certificate.issued_on = 2024-01-10",
                                    "      claim_deadline = 2025-01-10"]


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
    assert code == 3
    assert (record["error"]["code"], record["error"]["message"]) == (
        "policy.not_in_force", f"{ZJ}@2025-03-01 was issued on 2025-02-10, after the known-on date 2025-02-01")


# =================================================================================================
# What a new version would change: impact

AMOUNT_UP = ["FICT-JH-01", "FICT-JH-02", "FICT-JH-03", "FICT-JH-04", "FICT-JH-05", "FICT-JH-10", "FICT-JH-11",
             "FICT-JH-13"]
NEW_OCCUPATION = {"FICT-JH-14": "3000", "FICT-JH-15": "3600", "FICT-JH-16": "3000"}
CATALOGUE_RULES = ["hours_completed", "institution_catalogued", "occupation_catalogued"]
NO_CHANGE_OF_STATE = {"no_longer_decided": 0, "now_decided": 0}
# FICT-JH-18 states the level 'expert', which the claim schema does not allow: invalid in every world
JH18_INVALID = {"error": "claim.invalid",
                "message": "level_certificate.level: the text 'expert' is not one of: junior, intermediate, senior"}


def where(claim_id, path=CLAIMS):
    return f"{path}:{LINE[claim_id]}"


def _up(claim_id, old="2200", new="2500"):
    return {"claim_id": claim_id, "location": where(claim_id),
            "before": {"eligible": True, "amount": old, "failed_rules": [], "version": "2024-05-01"},
            "after": {"eligible": True, "amount": new, "failed_rules": [], "version": "2024-05-01"},
            "amount_difference": str(int(new) - int(old)), "rules_changed": [], "decision_changed": True,
            "amount_changed_by": [f"subsidy[2-02-10-15, junior]: amount {old} → {new}"]}


def _became(claim_id, amount, failed, rules):
    return {"claim_id": claim_id, "location": where(claim_id),
            "before": {"eligible": False, "amount": "0", "failed_rules": failed, "version": "2024-05-01"},
            "after": {"eligible": True, "amount": amount, "failed_rules": [], "version": "2024-05-01"},
            "amount_difference": amount, "rules_changed": rules, "decision_changed": True}


def _reasons(claim_id, failed_before, failed_after, rules, before="2024-05-01", after="2024-05-01"):
    return {"claim_id": claim_id, "location": where(claim_id),
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


@pytest.mark.parametrize("mode", ["--per-claim", "--columnar"])
def test_impact_of_the_new_provincial_version_on_jinhua(capsys, mode):
    """2025-02-01 (A + retirement 2025) against 2025-04-01 (B + retirement 2025), every claim on its own date.

    Changed: the 8 eligible blockchain-junior claims +300 each (2400), the 3 eligible new-occupation
    claims 0 → 3000, 3600, 3000 (9600). Totals: before 8×2200 + 2400 + 3300 + 2300 = 25600, after
    8×2500 + 2400 + 3300 + 2300 + 9600 = 37600, difference 12000. FICT-JH-17 (AI at 浙江大学) and
    FICT-WZ-07 (AI in Wenzhou) are refused under both: not changed decisions, but listed as refused for
    other reasons, and their rule flips are counted with the others (hours 3+2, institution 3+1,
    occupation 3+2). FICT-JH-18 is decided under neither."""
    code, (report,), err = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01",
                                    CLAIMS, "--format", "json", mode)
    assert (code, err) == (0, "")
    assert {k: report[k] for k in ("before", "after", "claims", "decided_both", "changed", "reasons_changed",
                                   "direction", "undecided", "total_amount", "rules", "amount_changed_by",
                                   "not_decided", "duplicate_ids")} == {
        "before": WORLD_A, "after": WORLD_B,
        "claims": 30, "decided_both": 29, "changed": 11, "reasons_changed": 2,
        "direction": {"became_eligible": 3, "became_ineligible": 0, "amount_up": 8, "amount_down": 0,
                      **NO_CHANGE_OF_STATE},
        "undecided": {"before": 1, "after": 1},
        "total_amount": {"before": "25600", "after": "37600", "difference": "12000"},
        "rules": {"hours_completed": {"not_applicable_to_pass": 5}, "institution_catalogued": {"fail_to_pass": 4},
                  "occupation_catalogued": {"fail_to_pass": 5}},
        "amount_changed_by": {"subsidy[2-02-10-15, junior]": 8},
        "not_decided": [{"claim_id": "FICT-JH-18", "location": where("FICT-JH-18"), "before": JH18_INVALID,
                         "after": JH18_INVALID}],
        "duplicate_ids": {},
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
        "  decisions changed: 11 (became eligible 3, became ineligible 0, amount up 8, amount down 0, "
        "no longer decided 0, now decided 0)",
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
    assert out.splitlines()[-4:] == [
        "    FICT-JH-17: not eligible → not eligible (rules: hours_completed, occupation_catalogued)",
        "    FICT-WZ-07: not eligible → not eligible (rules: hours_completed, institution_catalogued, "
        "occupation_catalogued)",
        "  not decided under either version:",
        f"    FICT-JH-18: claim.invalid: {JH18_INVALID['message']}"]
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
        11, 2, {"became_eligible": 4, "became_ineligible": 0, "amount_up": 7, "amount_down": 0, **NO_CHANGE_OF_STATE},
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
        30, 22, 1, {"became_eligible": 4, "became_ineligible": 0, "amount_up": 18, "amount_down": 0,
                    **NO_CHANGE_OF_STATE},
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
    assert err == (f"policy: {WZ} has no version in force on 2024-06-01; the nearest version is {WZ}@2024-09-01, "
                   "in force from 2024-09-01\n")


def test_impact_attributes_amount_changes(capsys):
    """FICT-JH-01's rules all pass under both worlds; its amount reads the blockchain-junior cell, 2200 → 2500."""
    _, (report,), _ = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS,
                               "--format", "json")
    jh01 = next(c for c in report["changed_claims"] if c["claim_id"] == "FICT-JH-01")
    assert jh01["rules_changed"] == []
    assert jh01["amount_changed_by"] == ["subsidy[2-02-10-15, junior]: amount 2200 → 2500"]


def test_impact_of_an_empty_claims_file(capsys, tmp_path):
    empty = tmp_path / "none.jsonl"
    empty.write_text("", encoding="utf-8")
    code, out, err = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", empty)
    assert (code, out) == (2, "")
    assert err == f"policy: no claims in {empty}: nothing to compare\n"


def test_impact_with_a_claims_file_that_cannot_be_read_says_it_was_left_out(capsys, tmp_path):
    """A mistyped file name in a scripted impact study must not pass as a complete report."""
    good = tmp_path / "good.jsonl"
    good.write_bytes((FIX / "claims.jsonl").read_bytes().splitlines(keepends=True)[0])
    missing = tmp_path / "nothere.jsonl"
    code, out, err = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", good, missing)
    assert code == 2 and str(missing) in out  # the report is printed, listing the file among what it could not read
    assert err == f"policy: {missing} could not be read, so the report leaves out whatever claims it holds\n"
    code, _, err = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", good)
    assert (code, err) == (0, "")


def test_impact_when_no_claim_can_be_decided(capsys, tmp_path):
    """Every line unreadable or invalid: the report lists each with its reason, and the exit says that
    nothing was compared."""
    path = tmp_path / "bad.jsonl"
    path.write_text('oops\n[]\n{"claim_id": "X-1"}\n', encoding="utf-8")
    code, (report,), err = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01",
                                    path, "--format", "json")
    assert code == 2
    assert err == "policy: no claim could be decided under either version: nothing to compare\n"
    assert (report["claims"], report["decided_both"], report["changed"], report["undecided"]) == (
        3, 0, 0, {"before": 3, "after": 3})
    unreadable = {"error": "claim.json", "message": "not valid JSON: Expecting value"}
    not_a_mapping = {"error": "claim.invalid", "message": "(the whole document): expected a mapping, found a list"}
    no_facts = {"error": "claim.invalid", "message": "applicant: applicant is required but missing"}
    assert report["not_decided"] == [
        {"claim_id": None, "location": f"{path}:1", "before": unreadable, "after": unreadable},
        {"claim_id": None, "location": f"{path}:2", "before": not_a_mapping, "after": not_a_mapping},
        {"claim_id": "X-1", "location": f"{path}:3", "before": no_facts, "after": no_facts}]
    _, out, _ = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", path)
    assert out.splitlines()[-4:] == [
        "  not decided under either version:",
        f"    (no id) ({path}:1): claim.json: {unreadable['message']}",
        f"    (no id) ({path}:2): claim.invalid: {not_a_mapping['message']}",
        f"    X-1: claim.invalid: {no_facts['message']}"]


def test_impact_with_a_claim_id_given_twice(capsys, tmp_path):
    """The population holds FICT-JH-01 twice: both are decided and counted (2 × 300 more), the report
    names the id and both lines, and the exit says the totals are not to be relied on."""
    lines = (FIX / "claims.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "twice.jsonl"
    path.write_text("\n".join([lines[0], lines[1], lines[0]]) + "\n", encoding="utf-8")
    code, (report,), err = run_json(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01",
                                    path, "--format", "json")
    assert code == 2
    assert err == "policy: 1 claim id given more than once, and each of its claims is counted in the totals\n"
    assert report["duplicate_ids"] == {"FICT-JH-01": [f"{path}:1", f"{path}:3"]}
    assert (report["claims"], report["changed"], report["total_amount"]) == (
        3, 3, {"before": "6600", "after": "7500", "difference": "900"})
    assert [(c["claim_id"], c["location"]) for c in report["changed_claims"]] == [
        ("FICT-JH-01", f"{path}:1"), ("FICT-JH-02", f"{path}:2"), ("FICT-JH-01", f"{path}:3")]
    _, out, _ = run(capsys, *STORE, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", path)
    lines = out.splitlines()
    assert lines[-6:] == [
        "  changed claims:",
        f"    FICT-JH-01 ({path}:1): eligible 2200 → eligible 2500 (subsidy[2-02-10-15, junior]: amount 2200 → 2500)",
        "    FICT-JH-02: eligible 2200 → eligible 2500 (subsidy[2-02-10-15, junior]: amount 2200 → 2500)",
        f"    FICT-JH-01 ({path}:3): eligible 2200 → eligible 2500 (subsidy[2-02-10-15, junior]: amount 2200 → 2500)",
        "  claim ids given more than once (each claim is counted):",
        f"    FICT-JH-01: {path}:1, {path}:3"]


@pytest.mark.parametrize("mode", ["--per-claim", "--columnar"])
def test_impact_when_a_claim_is_invalid_under_one_version_only(capsys, tmp_path, mode):
    """A new input check in B refuses training at 浙江工业大学: FICT-JH-19 (智能制造 junior, 2300 under A) is
    no longer decided. It counts as a changed decision, and the totals drop by its 2300:
    37600 − 2300 = 35300, difference 12000 − 2300 = 9700."""
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "  checks:\n",
         "  checks:\n    - id: no_zjut\n      fact: training.institution\n"
         "      require: training.institution != \"浙江工业大学\"\n      message: 该机构已移出目录（测试）\n")
    code, (report,), _ = run_json(capsys, *opts, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS,
                                  "--format", "json", mode)
    assert code == 0
    assert (report["changed"], report["direction"], report["undecided"], report["total_amount"]) == (
        12, {"became_eligible": 3, "became_ineligible": 0, "amount_up": 8, "amount_down": 0, "no_longer_decided": 1,
             "now_decided": 0},
        {"before": 1, "after": 2}, {"before": "25600", "after": "35300", "difference": "9700"})
    assert next(c for c in report["changed_claims"] if c["claim_id"] == "FICT-JH-19") == {
        "claim_id": "FICT-JH-19", "location": where("FICT-JH-19"),
        "before": {"eligible": True, "amount": "2300", "failed_rules": [], "version": "2024-05-01"},
        "after": {"error": "claim.invalid", "message": "该机构已移出目录（测试）"},
        "amount_difference": "-2300", "rules_changed": [], "decision_changed": True}
    assert sum(int(c["amount_difference"]) for c in report["changed_claims"]) == 9700
    _, out, _ = run(capsys, *opts, "impact", JH, "--from", "2025-02-01", "--to", "2025-04-01", CLAIMS, mode)
    assert "    FICT-JH-19: eligible 2300 → not decided (claim.invalid: 该机构已移出目录（测试）)" in out.splitlines()


# =================================================================================================
# Reproducing a decision: digest, ID@VERSION, verify


def record(capsys, store, tmp_path, *ids, extra=(), name="recorded.jsonl", policy=JH):
    """Decide the claims with `evaluate --format json` and keep the output, as a case system would."""
    path = claims_file(tmp_path, *ids, name="claims-" + name)
    _, out, _ = run(capsys, *store, "evaluate", path, "--policy", policy, "--format", "json", "-q", *extra)
    target = tmp_path / name
    target.write_text(out, encoding="utf-8")
    return target, path


def ok(path, n, claim_id):
    return {"location": f"{path}:{n}", "claim_id": claim_id, "status": "reproduced", "differences": []}


def differs(path, n, claim_id, *differences):
    return {"location": f"{path}:{n}", "claim_id": claim_id, "status": "differs", "differences": list(differences)}


def rewrite(path: Path, change) -> Path:
    """The recorded file with each record passed through `change` (which edits it in place)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in records:
        change(r)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_recorded_decisions_are_reproduced(capsys, tmp_path):
    decidable = list(JINHUA_EXPECTED)
    recorded, _ = record(capsys, STORE, tmp_path, *decidable)
    code, rows, err = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 0
    assert rows == [ok(recorded, n, c) for n, c in enumerate(decidable, 1)]
    assert err == "29 reproduced, 0 differ, 0 unreadable\n"
    code, out, _ = run(capsys, *STORE, "verify", recorded, CLAIMS)
    assert out.splitlines()[0] == f"FICT-JH-01 ({recorded}:1): reproduced"


def test_a_past_decision_reproduced_with_a_pinned_version(capsys, tmp_path):
    path = claims_file(tmp_path, "FICT-JH-04")
    _, (now,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{JH}@2024-05-01", "--format", "json")
    _, (again,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    assert now == again
    assert now["policy"] == {"id": JH, "version": "2024-05-01", "digest": digests(capsys, STORE, JH)["2024-05-01"]}
    assert [(r["id"], r["version"], r["digest"]) for r in now["references"]] == [
        (ZJ, "2025-03-01", digests(capsys, STORE, ZJ)["2025-03-01"]),
        (CN, "2025-01-01", digests(capsys, STORE, CN)["2025-01-01"])]


JH04_ROW = "subsidy[2-02-10-15, junior]"  # the cell FICT-JH-04's amount and two of its rules read


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
    line = (f"{ZJ}@2025-03-01 digest differs: recorded {old}, now {new} "
            f"(the file {store / 'zhejiang/digital-engineer/2025-03-01.yaml'} changed after the decision)")
    assert rows == [
        ok(recorded, 1, "FICT-JH-03"),  # decided under A: untouched
        differs(recorded, 2, "FICT-JH-04", line, "amount: recorded 2500, now 2600",
                f"amount read {JH04_ROW}.amount: recorded 2500, now 2600",
                f"rule occupation_catalogued read {JH04_ROW}.amount: recorded 2500, now 2600",
                f"rule hours_completed read {JH04_ROW}.amount: recorded 2500, now 2600"),
        differs(recorded, 3, "FICT-JH-08", line),  # same result, other digest
    ]
    assert err == "1 reproduced, 2 differ, 0 unreadable\n"
    _, out, _ = run(capsys, *opts, "verify", recorded, CLAIMS)
    assert out.splitlines()[:4] == [f"FICT-JH-03 ({recorded}:1): reproduced", f"FICT-JH-04 ({recorded}:2): DIFFERS",
                                    f"    {line}", "    amount: recorded 2500, now 2600"]


def test_verify_says_when_a_records_date_is_outside_its_versions_span(capsys, tmp_path):
    """A decision_date edited in the record to a day its version was not in force is said first, plainly."""
    recorded, claims = record(capsys, STORE, tmp_path, "FICT-JH-03")
    data = json.loads(recorded.read_text(encoding="utf-8"))
    data["decision_date"] = "2024-04-15"  # Jinhua's notice took effect on 2024-05-01
    recorded.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, claims, "--format", "json")
    assert code == 1 and rows[0]["status"] == "differs"
    assert rows[0]["differences"][0] == (f"the record says {JH}@2024-05-01 decided it on 2024-04-15, but "
                                         f"{JH}@2024-05-01 is in force from 2024-05-01 (was the record's "
                                         "decision_date changed?)")


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
    assert (code, rows) == (0, [ok(recorded, 1, "FICT-JH-04")])


def test_verify_a_seed_decision_against_the_store_with_a_new_version(capsys, tmp_path):
    """Decided on the seed policies (only A exists), checked against the fixture store, where B now
    takes effect on the decision date: the record is reproduced with the versions it names, and verify
    says separately that today's store would decide it with B, for another amount, and why."""
    for extra, name in (((), "recorded.jsonl"), (("--summary",), "summary.jsonl")):
        recorded, _ = record(capsys, SEED, tmp_path, "FICT-JH-01", "FICT-JH-04", extra=extra, name=name)
        code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
        assert code == 0
        assert rows[0] == ok(recorded, 1, "FICT-JH-01")  # the copies keep the seed digests
        assert rows[1] == ok(recorded, 2, "FICT-JH-04") | {"today": {
            "versions": [f"{ZJ}@2025-03-01 instead of @2023-09-16 (in force from 2025-03-01, issued 2025-02-10; "
                         "added to the store after the decision)"],
            "changes": ["amount: 2200 with the versions recorded, 2500 with today's"]}}
    _, out, _ = run(capsys, *STORE, "verify", recorded, CLAIMS)
    assert out.splitlines()[1:] == [
        f"FICT-JH-04 ({recorded}:2): reproduced",
        f"    today's store would decide it differently: {ZJ}@2025-03-01 instead of @2023-09-16 (in force from "
        "2025-03-01, issued 2025-02-10; added to the store after the decision)",
        "        amount: 2200 with the versions recorded, 2500 with today's"]


def test_the_combined_digest_covers_every_version_and_schema(capsys, tmp_path):
    """The summary of a decision under B and of one under A carry different combined digests, although the city
    version and its own digest are the same; the full record lists what the digest covers."""
    path = claims_file(tmp_path, "FICT-JH-04")
    _, (under_b,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json", "--summary")
    _, (under_a,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json", "--summary",
                                "--known-on", "2025-02-09")
    assert under_a["policy"] == under_b["policy"]
    assert under_a["combined_digest"] != under_b["combined_digest"]
    _, (full,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json")
    assert full["combined_digest"] == under_b["combined_digest"]
    assert full["schemas"] == [{"name": "training-claim.schema.json",
                                "digest": "sha256:" + hashlib.sha256(canonical_json(json.loads(
                                    (FIX / "schemas/training-claim.schema.json").read_text("utf-8")))
                                    .encode()).hexdigest()}]
    # the digest is that of a documented JSON text, so an auditor can recompute it from the full record
    assert full["combined_digest"] == recompute(full)


def recompute(full: dict) -> str:
    """The combined digest of a full record, as docs/auditing.md (section 4) says to compute it."""
    references = sorted([r["id"], r["version"], r["digest"], r["role"]] for r in full["references"])
    text = json.dumps({"policy": [full["policy"]["id"], full["policy"]["version"], full["policy"]["digest"]],
                       "references": references,
                       "schemas": sorted([s["name"], s["digest"]] for s in full["schemas"])},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _store_with_an_edited_schema(tmp_path: Path) -> tuple[Path, list[str], Path]:
    """A copy of the fixture store whose input schema's description was edited after the decisions."""
    store, opts = store_copy(tmp_path)
    schema = store.parent / "schemas/training-claim.schema.json"
    data = json.loads(schema.read_text(encoding="utf-8"))
    data["description"] = data.get("description", "") + " (edited)"
    schema.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return store, opts, schema


def test_verify_names_the_schema_that_changed(capsys, tmp_path):
    """An edited input schema changes the digest of every version that reads it: verify blames the schema, not
    the policy files."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    store, opts, schema = _store_with_an_edited_schema(tmp_path)
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    differences = rows[0]["differences"]
    assert any(d.startswith(f"{ZJ}@2025-03-01 digest differs") and d.endswith(
        f"(its input schema {schema} changed after the decision)") for d in differences), differences
    assert any(d.startswith("input schema training-claim.schema.json digest differs") and d.endswith(
        f"(the file {schema} changed after the decision)") for d in differences), differences
    assert not any("changed after the decision" in d and str(store) in d and ".yaml" in d for d in differences)


def test_verify_of_a_summary_names_the_schema_too_since_it_cannot_tell(capsys, tmp_path):
    """A summary record lists no schema digests: the version's digest covers its file and its input schema, and
    verify names both rather than blame the policy file for an edited schema."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04", extra=("--summary",))
    store, opts, schema = _store_with_an_edited_schema(tmp_path)
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    city = store / f"{JH}/2024-05-01.yaml"
    assert code == 1 and any(d.startswith(f"{JH}@2024-05-01 digest differs") and d.endswith(
        f"(one of the files its digest covers changed after the decision: {city}, {schema})")
        for d in rows[0]["differences"]), rows


def test_verify_of_an_amendment_names_the_version_it_amends_too(capsys, tmp_path):
    """An amendment's digest covers the version it amends: an edit there must not be blamed on the amendment."""
    store, opts = store_copy(tmp_path)
    amendment = store / f"{JH}/2025-01-01.yaml"
    shutil.copy(FIX / "notices" / "policies" / JH / "2025-01-01.yaml", amendment)
    recorded, _ = record(capsys, opts, tmp_path, "FICT-JH-04")  # decided on 2025-03-01: under the amendment
    assert json.loads(recorded.read_text(encoding="utf-8"))["policy"]["version"] == "2025-01-01"
    base = store / f"{JH}/2024-05-01.yaml"
    edit(base, "      fail: 机关事业单位在编人员不属于培训补贴申请对象\n",
         "      fail: 机关事业单位在编人员不属于培训补贴申请对象。\n")
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1 and rows[0]["differences"][0].endswith(
        f"(one of the files its digest covers changed after the decision: {amendment}, {base})"), rows


def test_verify_when_the_recorded_version_is_gone(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    store, opts = store_copy(tmp_path)
    (store / "zhejiang/digital-engineer/2025-03-01.yaml").unlink()
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1
    assert rows[0]["differences"][:3] == [f"{ZJ}@2025-03-01 is not in the policy store "
                                          "(its file removed since the decision, or never there)",
                                          f"{ZJ}: recorded version 2025-03-01, now 2023-09-16 resolves on 2025-03-01",
                                          "amount: recorded 2500, now 2200"]


def test_verify_when_the_policy_itself_has_a_new_version(capsys, tmp_path):
    """A city version added later, in force from before the decision date (a retroactive notice): the
    record is reproduced with its own version, and verify says that today's store would use the new one."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    store, opts = store_copy(tmp_path)
    city = store / "jinhua/digital-engineer-subsidy"
    text = (city / "2024-05-01.yaml").read_text(encoding="utf-8")
    (city / "2025-01-01.yaml").write_text(text.replace('version: "2024-05-01"', 'version: "2025-01-01"')
                                          .replace("  from: 2024-05-01", "  from: 2025-01-01"), encoding="utf-8")
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 0
    assert rows[0] == ok(recorded, 1, "FICT-JH-04") | {"today": {"versions": [
        f"{JH}@2025-01-01 instead of @2024-05-01 (in force from 2025-01-01, issued 2024-03-26; added to the store "
        "after the decision)"], "changes": []}}
    _, out, _ = run(capsys, *opts, "verify", recorded, CLAIMS)
    assert out.splitlines()[1].startswith("    today's store would use other versions, with the same answer: ")


def test_verify_without_the_claim(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    other = claims_file(tmp_path, "FICT-JH-05", name="other.jsonl")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, other, "--format", "json")
    assert code == 1
    assert rows == [differs(recorded, 1, "FICT-JH-04", "no claim with this id among CLAIMS")]
    broken = tmp_path / "broken.jsonl"
    broken.write_text(other.read_text(encoding="utf-8") + "oops\n", encoding="utf-8")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, broken, "--format", "json")
    assert rows[0]["differences"] == [f"no claim with this id among CLAIMS (1 claim(s) of CLAIMS could not be read: "
                                      f"{broken}:2)"]


def test_a_claims_file_that_is_not_there_is_a_usage_error_not_a_difference(capsys, tmp_path):
    """A mistyped CLAIMS path would make every record "differ", which reads as an audit finding."""
    recorded, claims = record(capsys, STORE, tmp_path, "FICT-JH-04")
    code, out, err = run(capsys, *STORE, "verify", recorded, claims, tmp_path / "nope.jsonl")
    assert code == 64 and out == "" and "nope.jsonl" in err and "does not exist" in err


def test_verify_reproduces_recorded_errors(capsys, tmp_path):
    invalid, _ = record(capsys, STORE, tmp_path, "FICT-JH-18")
    early, _ = record(capsys, STORE, tmp_path, "FICT-WZ-08", policy=WZ, name="early.jsonl")
    assert json.loads(invalid.read_text(encoding="utf-8"))["error"]["code"] == "claim.invalid"
    assert json.loads(early.read_text(encoding="utf-8"))["error"]["code"] == "policy.not_in_force"
    for recorded, claim_id in ((invalid, "FICT-JH-18"), (early, "FICT-WZ-08")):
        code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
        assert (code, rows) == (0, [ok(recorded, 1, claim_id)])


def test_verify_reproduces_a_claim_that_could_not_be_read(capsys, tmp_path):
    """A claim line that is not JSON is recorded with no claim id; verify finds it by its location."""
    claims = tmp_path / "claims.jsonl"
    claims.write_text("oops\n", encoding="utf-8")
    _, out, _ = run(capsys, *STORE, "evaluate", claims, "--policy", JH, "--format", "json", "-q")
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(out, encoding="utf-8")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, claims, "--format", "json")
    assert (code, rows) == (0, [ok(recorded, 1, None)])
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (1, [differs(recorded, 1, None, f"the record has no claim_id, and no claim of CLAIMS is "
                                                           f"at its location {claims}:1:1")])


def test_a_known_on_added_to_a_record_that_lists_a_later_version_differs(capsys, tmp_path):
    """No decision with the versions known on 2025-02-09 can have used a version issued on 2025-02-10."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")  # decided with zhejiang@2025-03-01
    rewrite(recorded, lambda r: r.update(known_on="2025-02-09"))
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 1 and rows[0]["differences"][0] == (
        f"the record says it was decided with the versions known on 2025-02-09, but it lists {ZJ}@2025-03-01, "
        "issued 2025-02-10 (was the record's known_on changed?)")


def test_verify_reproduces_a_known_on_decision(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04", extra=("--known-on", "2025-02-09"))
    assert json.loads(recorded.read_text(encoding="utf-8"))["amount"] == "2200"
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (0, [ok(recorded, 1, "FICT-JH-04")])
    rewrite(recorded, lambda r: r.pop("known_on"))  # reproduced with the versions it lists; today's would be B
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 0
    assert rows[0]["today"]["changes"] == ["amount: 2200 with the versions recorded, 2500 with today's"]


def test_verify_a_summary_record(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-01", "FICT-JH-12", extra=("--summary",))
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (0, [ok(recorded, 1, "FICT-JH-01"), ok(recorded, 2, "FICT-JH-12")])
    rewrite(recorded, lambda r: r.update(failed_rules=[]))
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (1, [ok(recorded, 1, "FICT-JH-01"), differs(
        recorded, 2, "FICT-JH-12", 'failed rules: recorded [], now ["within_deadline"]')])


def test_verify_reproduces_an_error_recorded_with_known_on(capsys, tmp_path):
    """Decided with --known-on before any version was issued: the error record carries its known-on date, so
    verify decides it with the versions known then, and finds the same error."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04", extra=("--known-on", "2024-03-25"))
    data = json.loads(recorded.read_text(encoding="utf-8"))
    assert (data["error"]["code"], data["known_on"]) == ("policy.not_in_force", "2024-03-25")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (0, [ok(recorded, 1, "FICT-JH-04")])


def test_a_limitation_an_error_recorded_with_a_pinned_version(capsys, tmp_path):
    """FICT-JH-16 (2025-02-20) under the province pinned to B, not yet in force: the error record does not
    say B was pinned, so verify decides by date, under A (docs/auditing.md, section 8)."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-16", policy=f"{ZJ}@2025-03-01")
    assert json.loads(recorded.read_text(encoding="utf-8"))["error"]["code"] == "policy.not_in_force"
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (1, [differs(recorded, 1, "FICT-JH-16", "recorded as not decided (policy.not_in_force), "
                                                                   "now decided: eligible false, amount 0")])


def test_a_summary_record_notices_a_referenced_file_that_changed(capsys, tmp_path):
    """FICT-JH-08 (blockchain intermediate) read B, which has since been edited in a cell it does not read:
    its whole record differs by B's digest, and its summary by the combined digest."""
    full, _ = record(capsys, STORE, tmp_path, "FICT-JH-08")
    summary_record, _ = record(capsys, STORE, tmp_path, "FICT-JH-08", extra=("--summary",), name="summary.jsonl")
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml", "区块链工程技术人员, junior, 80, 2500",
         "区块链工程技术人员, junior, 80, 2600")
    assert run_json(capsys, *opts, "verify", full, CLAIMS, "--format", "json")[0] == 1
    code, rows, _ = run_json(capsys, *opts, "verify", summary_record, CLAIMS, "--format", "json")
    assert code == 1
    assert rows[0]["differences"][0].startswith("combined digest differs: recorded sha256:")


def test_a_limitation_a_change_of_form_changes_the_digest(capsys, tmp_path):
    """An expression rewritten with the same meaning, in place: same decision, another digest
    (docs/auditing.md, section 8)."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    old = digests(capsys, STORE, ZJ)["2025-03-01"]
    store, opts = store_copy(tmp_path)
    edit(store / "zhejiang/digital-engineer/2025-03-01.yaml",
         "require: training.hours >= subsidy[training.occupation_code, training.level].hours",
         "require: (training.hours) >= subsidy[training.occupation_code, training.level].hours")
    new = digests(capsys, opts, ZJ)["2025-03-01"]
    code, rows, _ = run_json(capsys, *opts, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (1, [differs(recorded, 1, "FICT-JH-04",
                                        f"{ZJ}@2025-03-01 digest differs: recorded {old}, now {new} (the file "
                                        f"{store / 'zhejiang/digital-engineer/2025-03-01.yaml'} changed after the "
                                        "decision)")])


# the files are as they were (the record's combined digest is theirs): the record's listing was edited
ALTERED = "the record's combined digest is that of today's files, so the record was changed after the decision, " \
          "not the file"
TAMPERED = "the combined digest does not match the versions and schemas the record lists: recorded {combined}, " \
           "they give {recomputed}"


# Each edit of FICT-JH-04's recorded decision (eligible 2500 under B, decided 2025-03-01), and the one
# difference verify must name for it.
EDITS = {
    "amount": (lambda r: r.update(amount="2200"), ["amount: recorded 2200, now 2500"]),
    "amount as a number": (lambda r: r.update(amount=2500), ['amount: recorded 2500, now "2500"']),
    "currency": (lambda r: r.update(currency="USD"), ["currency: recorded USD, now CNY"]),
    "eligibility": (lambda r: r.update(eligible=False), ["eligible: recorded false, now true"]),
    "a rule's outcome": (lambda r: _rule(r, "within_deadline").update(outcome="fail"),
                         ["rule within_deadline outcome: recorded fail, now pass"]),
    "a rule's message": (lambda r: _rule(r, "within_deadline").update(message="逾期"),
                         ["rule within_deadline message: recorded 逾期, now 在专业技术等级证书核发之日起12个月内申请"]),
    "what a rule read": (lambda r: _rule(r, "within_deadline")["reads"].update(claim_deadline="2026-01-14"),
                         ["rule within_deadline read claim_deadline: recorded 2026-01-14, now 2026-01-15"]),
    "a rule removed": (lambda r: r.update(rules=[x for x in r["rules"] if x["id"] != "no_pension"]),
                       ["rule no_pension: not recorded, now in the decision pass"]),
    "an output": (lambda r: r["outputs"].update(deadline="2026-01-14"),
                  ["output deadline: recorded 2026-01-14, now 2026-01-15"]),
    "an output removed": (lambda r: r["outputs"].pop("deadline"), ["output deadline: recorded (none), now 2026-01-15"]),
    "a note": (lambda r: r["notes"][0].update(text="注"),
               ["note title_precondition text: recorded 注, now "
                "职称贯通仅适用于符合我省职称申报评审条件的人员；该条件须另行审核，本决定不作判断。"]),
    "what the amount read": (lambda r: r["amount_reads"][JH04_ROW].update(amount="2200"),
                             [f"amount read {JH04_ROW}.amount: recorded 2200, now 2500"]),
    "the digest": (lambda r: r["policy"].update(digest="sha256:" + "0" * 64),
                   [TAMPERED, f"{JH}@2024-05-01 digest differs: recorded sha256:{'0' * 64}, now {{digest}} "
                    f"({ALTERED})"]),
    "the version": (lambda r: r["policy"].update(version="2024-01-01"),
                    [f"{JH}@2024-01-01 is not in the policy store (its file removed since the decision, or never "
                     "there)", TAMPERED,
                     f"{JH}: recorded version 2024-01-01, now 2024-05-01 resolves on 2025-03-01"]),
    # decided again with A, as the record now says: the digest recorded for it is B's, and so is the amount
    "a referenced version": (lambda r: r["references"][0].update(version="2023-09-16"),
                             [TAMPERED, f"{ZJ}@2023-09-16 digest differs: recorded {{b}}, now {{a}} (the file "
                              "{a_file} changed after the decision)", "amount: recorded 2500, now 2200", "..."]),
    "a referenced digest": (lambda r: r["references"][1].update(digest="sha256:" + "1" * 64),
                            [TAMPERED, f"{CN}@2025-01-01 digest differs: recorded sha256:{'1' * 64}, now "
                             f"{{retirement}} ({ALTERED})"]),
}


def _rule(record, rule_id):
    return next(r for r in record["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize("what", list(EDITS))
def test_verify_names_each_edited_field(capsys, tmp_path, what):
    change, expected = EDITS[what]
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    rewrite(recorded, change)
    _, (city,), _ = run_json(capsys, *STORE, "timeline", JH, "--format", "json")
    _, province, _ = run_json(capsys, *STORE, "timeline", ZJ, "--format", "json")
    _, retirement, _ = run_json(capsys, *STORE, "timeline", CN, "--format", "json")
    known = {"digest": city["digest"], "file": city["file"], "retirement": retirement[1]["digest"],
             "retirement_file": retirement[1]["file"], "a": province[0]["digest"], "b": province[1]["digest"],
             "a_file": province[0]["file"]}
    tampered = json.loads(recorded.read_text(encoding="utf-8"))
    known |= {"combined": tampered["combined_digest"], "recomputed": recompute(tampered)}
    code, rows, err = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, err) == (1, "0 reproduced, 1 differ, 0 unreadable\n")
    lines = [line.format(**known) for line in expected]
    if lines[-1] == "...":  # and more that follow from it
        lines = lines[:-1]
        rows[0]["differences"] = rows[0]["differences"][:len(lines)]
    assert [{k: v for k, v in row.items() if k != "today"} for row in rows] == [
        differs(recorded, 1, "FICT-JH-04", *lines)]


def test_verify_names_an_edited_error_message(capsys, tmp_path):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-18")
    rewrite(recorded, lambda r: r["error"].update(message="无效"))
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (1, [differs(recorded, 1, "FICT-JH-18", f"error message: recorded 无效, now "
                                                                   f"{JH18_INVALID['message']}")])


def test_verify_accounts_for_every_line_of_decisions(capsys, tmp_path):
    """Seven lines: a record reproduced, five that cannot be read, one whose currency was changed."""
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-03", "FICT-JH-08")
    good, edited = recorded.read_text(encoding="utf-8").splitlines()
    big = edited.replace('"amount":"2400"', '"amount":' + "9" * 5000)
    assert big != edited
    path = tmp_path / "decisions.jsonl"
    path.write_bytes("\n".join([good, "not json", "[]"]).encode() + b"\n\xff\xfe{}\n" +
                     ("[" * 5000 + "]" * 5000 + "\n").encode() + (big + "\n").encode() +
                     edited.replace('"currency":"CNY"', '"currency":"EUR"').encode() + b"\n")
    code, rows, err = run_json(capsys, *STORE, "verify", path, CLAIMS, "--format", "json")
    assert code == 2  # an unreadable record outranks a difference
    assert err == "1 reproduced, 1 differ, 5 unreadable\n"

    def unreadable(n, reason):
        return {"location": f"{path}:{n}", "claim_id": None, "status": "unreadable", "reason": reason}

    assert rows == [
        ok(path, 1, "FICT-JH-03"),
        unreadable(2, "not valid JSON: Expecting value"),
        unreadable(3, "a recorded decision is a JSON object, not a list"),
        unreadable(4, "the line is not UTF-8 text"),
        unreadable(5, "the record nests deeper than 32 levels"),  # said of the record, though claims' reader read it
        unreadable(6, "a number has more than 40 digits"),
        differs(path, 7, "FICT-JH-08", "currency: recorded EUR, now CNY"),
    ]
    _, out, _ = run(capsys, *STORE, "verify", path, CLAIMS)
    assert out.splitlines()[1:3] == [
        f"{path}:2: UNREADABLE: not valid JSON: Expecting value",
        f"{path}:3: UNREADABLE: a recorded decision is a JSON object, not a list"]


@pytest.mark.parametrize("change, reason", [
    (lambda r: r.pop("notes"), "the recorded decision lacks notes"),
    (lambda r: r.update(decision_date="2025-02-30"),
     "decision_date: the text '2025-02-30' is not a calendar date (2025-02 has 28 days)"),
    (lambda r: r.update(policy="jinhua"), "policy: must be an object with the fields id, version, digest, "
                                          "found the text 'jinhua'"),
    (lambda r: r.update(rules=[{"outcome": "pass"}]), "rules[0]: id is required but missing"),
    (lambda r: r.update(extra=1), "unknown key 'extra'; allowed here: amount, amount_reads, claim_id, "
                                  "combined_digest, currency, decision_date, eligible, history, known_on, notes, "
                                  "out_of_force, outputs, policy, problems, references, rules, schemas"),
    (lambda r: [r.pop(k) for k in ("rules", "error", "failed_rules") if k in r],
     "not a decision written by `policy evaluate --format json` (it has no rules, failed_rules or error)"),
])
def test_verify_says_why_a_record_is_unreadable(capsys, tmp_path, change, reason):
    recorded, _ = record(capsys, STORE, tmp_path, "FICT-JH-04")
    rewrite(recorded, change)
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert (code, rows) == (2, [{"location": f"{recorded}:1", "claim_id": None, "status": "unreadable",
                                 "reason": reason}])


@pytest.mark.parametrize("name, content", [("empty.jsonl", ""), ("blank.jsonl", "\n\n"), ("empty.json", ""),
                                           ("list.json", "[]")])
def test_verify_with_nothing_to_verify(capsys, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, *STORE, "verify", path, CLAIMS)
    assert (code, out, err) == (2, "", f"policy: {path} holds no recorded decision: nothing to verify\n")


def test_verify_refuses_to_guess_between_claims_with_one_id(capsys, tmp_path):
    """FICT-JH-04 given twice with different facts: which one was decided is unknown, so neither is used.
    The same claim given twice (the same facts) is no ambiguity."""
    recorded, claims = record(capsys, STORE, tmp_path, "FICT-JH-03", "FICT-JH-04")
    line = next(x for x in claims.read_text(encoding="utf-8").splitlines() if "FICT-JH-04" in x)
    twice = tmp_path / "twice.jsonl"
    twice.write_text(claims.read_text(encoding="utf-8") + line.replace('"hours":80', '"hours":81') + "\n",
                     encoding="utf-8")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, twice, "--format", "json")
    assert (code, rows) == (1, [ok(recorded, 1, "FICT-JH-03"), differs(
        recorded, 2, "FICT-JH-04", f"the claim id is given 2 times in CLAIMS with different facts ({twice}:2, "
                                   f"{twice}:3): cannot tell which one was decided")])
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, claims, claims, "--format", "json")
    assert (code, rows) == (0, [ok(recorded, 1, "FICT-JH-03"), ok(recorded, 2, "FICT-JH-04")])


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


def test_check_warns_at_a_version_labelled_with_another_day_than_its_first(tmp_path, capsys):
    store, opts = store_copy(tmp_path)
    path = store / "wenzhou/digital-engineer-subsidy/2024-09-01.yaml"
    edit(path, "  from: 2024-09-01\n", "  from: 2024-10-01\n")
    code, out, err = run(capsys, *opts, "check")
    assert code == 0 and err.strip() == "0 errors, 1 warning in 6 policy versions"
    assert out.splitlines()[:2] == [
        f"{path}:9:10: warning[version.label]: {WZ}@2024-09-01 is labelled 2024-09-01 but takes effect on 2024-10-01: "
        "by convention a version is labelled with its first day", '    version: "2024-09-01"']
    assert "label it 2024-10-01 (and name its file 2024-10-01.yaml); if on 2024-09-01, correct effective.from" in out
    edit(path, 'version: "2024-09-01"', 'version: "wenzhou-2024"')  # a label that is not a date: the officer's choice
    path.rename(path.with_name("wenzhou-2024.yaml"))
    assert run(capsys, *opts, "check")[:2] == (0, "")


def test_seed_and_fixture_versions_have_no_review_date(capsys):
    for store in (SEED, STORE):
        code, out, _ = run(capsys, *store, "check", "--today", "2099-12-31")
        assert (code, out) == (0, "")


def test_a_superseded_version_decides_only_when_asked_and_says_so(capsys, tmp_path):
    """An auditor's "what would the old rules say": A pinned on a date B is in force. Without --any-date the
    claim gets policy.not_in_force; with it, A decides and the decision says that B was in force then."""
    path = claims_file(tmp_path, "FICT-JH-04")
    code, (refused,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2023-09-16", "--format",
                                   "json")
    assert (code, refused["error"]["code"]) == (3, "policy.not_in_force")
    for extra in ((), ("--summary",)):
        code, (old,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2023-09-16", "--any-date",
                                   "--format", "json", *extra)
        assert (code, old["amount"]) == (0, "2200")
        assert old["out_of_force"] == {"in_force": f"{ZJ}@2025-03-01", "from": "2023-09-16", "to": "2025-02-28"}
    _, out, _ = run(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2023-09-16", "--any-date", "-q")
    assert out.splitlines()[1] == (
        f"  NOT IN FORCE on 2025-03-01: {ZJ}@2023-09-16 is in force 2023-09-16 .. 2025-02-28; {ZJ}@2025-03-01 is "
        "in force then. Decided under it as asked (--any-date): what these rules would say, not the decision due on "
        "that date")
    _, (in_range,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{ZJ}@2025-03-01", "--any-date",
                                 "--format", "json")
    assert "out_of_force" not in in_range  # in force on its date: nothing to say
    recorded = tmp_path / "old.jsonl"
    recorded.write_text(json.dumps(old, ensure_ascii=False) + "\n", encoding="utf-8")
    code, rows, _ = run_json(capsys, *STORE, "verify", recorded, CLAIMS, "--format", "json")
    assert code == 0 and rows[0]["status"] == "reproduced"
    # today's store would use B, which the record itself names as in force then: not "added after the decision"
    assert rows[0]["today"]["versions"] == [
        f"{ZJ}@2025-03-01 instead of @2023-09-16 (in force then: the record was decided under a pinned version "
        "outside its dates, as --any-date asked)"]
    code, _, err = run(capsys, *STORE, "evaluate", path, "--policy", ZJ, "--any-date")
    assert code == 64 and "give --policy ID@VERSION" in err


def test_impact_with_a_pinned_version_resolves_its_references_on_each_claims_date(capsys, tmp_path):
    """`--from @2024-05-01` pins the city's own version only: the province is the one in force on FICT-JH-04's
    decision date (B, 2500), as `evaluate` decides it, not the one in force on the city version's first day."""
    path = claims_file(tmp_path, "FICT-JH-04")
    _, (evaluated,), _ = run_json(capsys, *STORE, "evaluate", path, "--policy", f"{JH}@2024-05-01", "--format", "json")
    code, (report,), _ = run_json(capsys, *STORE, "impact", JH, "--from", "@2024-05-01", "--to", "2025-02-01", path,
                                  "--format", "json")
    assert code == 0
    assert report["before"] == f"{JH}@2024-05-01 (what it refers to as in force on each claim's decision date)"
    (claim,) = report["changed_claims"]
    assert (claim["before"]["amount"], claim["after"]["amount"]) == (evaluated["amount"], "2200") == ("2500", "2200")


def test_timeline_shows_the_days_content_changed_underneath(capsys):
    """Jinhua's one version is in force from 2024-05-01 on, but what it reads changed twice: the retirement age on
    2025-01-01 (uses) and the province on 2025-03-01 (extends)."""
    code, out, _ = run(capsys, *STORE, "timeline", JH)
    assert code == 0
    assert out.splitlines()[1:] == [
        f"    2025-01-01  underneath: {CN} 1978-06-02 → 2025-01-01 (uses; 26 changes)",
        f"    2025-03-01  underneath: {ZJ} 2023-09-16 → 2025-03-01 (extends; 15 changes)"]
    _, (row,), _ = run_json(capsys, *STORE, "timeline", JH, "--format", "json")
    assert [(m["date"], m["id"], m["from"], m["to"], m["role"]) for m in row["underneath"]] == [
        ("2025-01-01", CN, "1978-06-02", "2025-01-01", "uses"),
        ("2025-03-01", ZJ, "2023-09-16", "2025-03-01", "extends")]
    _, rows, _ = run_json(capsys, *STORE, "timeline", ZJ, "--format", "json")
    assert all("underneath" not in r for r in rows)  # the province reads no other policy


def test_verify_reads_decisions_from_standard_input(capsys, tmp_path, monkeypatch):
    """`policy evaluate … --format json | policy verify - CLAIMS`: the records come down the pipe."""
    path = claims_file(tmp_path, "FICT-JH-04", "FICT-JH-01")
    _, out, _ = run(capsys, *STORE, "evaluate", path, "--policy", JH, "--format", "json", "-q")
    code, out, err = run(capsys, *STORE, "verify", "-", path, "--format", "json", stdin=out.encode(),
                         monkeypatch=monkeypatch)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["status"] for r in rows] == ["reproduced", "reproduced"]
    assert [r["location"] for r in rows] == ["<stdin>:1", "<stdin>:2"]
    code, _, err = run(capsys, *STORE, "verify", "-", "-", stdin=out.encode(), monkeypatch=monkeypatch)
    assert code == 64 and "standard input (-) is given more than once" in err


@pytest.mark.parametrize("args, said", [
    (("diff", JH, "--from", "2024-02-30", "--to", "2025-01-01"),
     "--from takes a date (YYYY-MM-DD) or @VERSION: '2024-02-30' is not a calendar date (2024-02 has 29 days)"),
    (("diff", JH, "--from", "soon", "--to", "2025-01-01"), "--from takes a date (YYYY-MM-DD) or @VERSION, not 'soon'"),
    (("diff", JH, "--from", "2024-06-01", "--to", "2025-06-01", "--on", "2019-01-01"),
     "--on is for two policies side by side"),  # it was silently ignored
    ((("diff", f"{JH}@2024-05-01", f"{ZJ}@2023-09-16", "--on", "2024-06-01")),
     "both are pinned here: leave out --on"),
    ((("diff", f"{JH}@2024-05-01", f"{JH}@2024-05-01", "--on", "2024-06-01")),
     "both are pinned here: leave out --on"),
    (("verify", "--database", "sqlite:///nowhere.sqlite3", "--from", "2026-12-09", "--to", "2026-12-01"),
     "--from 2026-12-09 is after --to 2026-12-01: nothing could match"),  # was exit 2, "nothing matches"
])
def test_an_auditors_mistake_is_a_usage_error_that_says_what(capsys, args, said):
    code, out, err = run(capsys, *STORE, *args)
    assert code == 64 and out == "" and said in err, err

"""What an officer sees in 简体中文 and in English from the reader, the linker, the checker and the evaluator
(issue 17): `policy check` on a broken policy, a claim the policy cannot decide, a misleading name. The codes, and
a decision's JSON, are the same in both languages."""
from __future__ import annotations

import json
import textwrap
from datetime import date

import pytest
from clirun import invoke
from test_policy_composition import CLAIM_SCHEMA, head

from engine.core.i18n import speaking, tr
from engine.language.syntax import deceptive_name

BROKEN = head("p/demo", "1", "2024-01-01", {"一": "First.", "二": "Second."}) + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    tables:
      rates:
        clause: 一
        key: [level]
        columns: {level: string, amount: monay}
        rows:
          - [junior, 100]
    rules:
      - id: adult
        clause: 三
        require: person.years >= 18
        message: {pass: adult, fail: not adult}
      - id: adult
        clause: 一
        require: person.years >= 20
        message: {pass: ok, fail: not ok}
    """)

UNDECIDABLE = head("p/ratio", "1", "2024-01-01") + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    rules:
      - id: ratio
        clause: 一
        require: 100 / (person.years - 30) > 1
        message: {pass: ok, fail: not ok}
    """)

NAMES = head("p/names", "1", "2024-01-01") + textwrap.dedent("""\
    definitions:
      p\u0430y:
        clause: 一
        expr: 1 + 1
    """)


@pytest.fixture
def store(tmp_path, monkeypatch):
    for name, text in {"p/demo/1.yaml": BROKEN, "p/ratio/1.yaml": UNDECIDABLE, "p/names/1.yaml": NAMES,
                       "p/twice/1.yaml": "policy: p/twice\npolicy: p/twice\n"}.items():
        path = tmp_path / "policies" / name
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "claim.schema.json").write_text(json.dumps(CLAIM_SCHEMA), encoding="utf-8")
    claim = {"claim_id": "C-1", "applied_on": "2024-06-01", "person": {"years": 30, "level": "junior"}}
    (tmp_path / "claim.json").write_text(json.dumps(claim), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLICY_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    return tmp_path


run = invoke


def test_check_of_a_broken_policy_in_chinese(capsys, store):
    code, out, _ = run(capsys, "--lang", "zh", "check", "policies/p/demo")
    assert code == 1
    assert ("policies/p/demo/1.yaml:20:38: 错误[table.column_type]（条款 一）: 列 'amount' 的类型 'monay' 不存在；"
            "请从 bool、int、decimal、money、string、date 中选用") in out
    assert "错误[clause.unknown]（条款 三）: 条款 '三' 不在 source.clauses 中（一, 二）" in out
    assert "错误[rule.duplicate]（条款 一）: 规则 id 'adult' 用了两次（第一次在第 24 行）" in out
    assert "  说明：第一次用在这里：policies/p/demo/1.yaml:24:9" in out
    assert "错误[clause.uncovered]（条款 二）: 条款 '二' 既没有由规则、表、定义、输出或补贴金额编码" in out
    assert not any(word in out for word in ("unknown type", "is not among", "used twice", "first used here"))


def test_check_of_a_broken_policy_in_english(capsys, store):
    code, out, _ = run(capsys, "--lang", "en", "check", "policies/p/demo")
    assert code == 1
    assert ("policies/p/demo/1.yaml:20:38: error[table.column_type] (clause 一): column 'amount' has unknown type "
            "'monay'; use one of bool, int, decimal, money, string, date") in out
    assert "error[rule.duplicate] (clause 一): rule id 'adult' is used twice (first on line 24)" in out
    assert "  note: first used here: policies/p/demo/1.yaml:24:9" in out


def test_yaml_and_name_mistakes_in_both_languages(capsys, store):
    _, out, _ = run(capsys, "--lang", "zh", "check")
    assert "错误[yaml.duplicate_key]: 重复的键 'policy'：第一次写在第 1 行" in out
    assert "提示：YAML 会悄悄只保留最后一个；请删除其中一个或改名" in out
    assert ("错误[name.reserved]: 定义 'p\u0430y' 不能在表达式中使用：名称 'p\u0430y' 混用了拉丁字母和西里尔字母"
            "（'\u0430' 是 U+0430 CYRILLIC SMALL LETTER A）：看起来可能像另一个名称") in out
    _, out, _ = run(capsys, "--lang", "en", "check")
    assert "error[yaml.duplicate_key]: duplicate key 'policy': first given on line 1" in out
    assert ("error[name.reserved]: definition 'p\u0430y' cannot be used in expressions: the name "
            "'p\u0430y' mixes Latin and Cyrillic letters ('\u0430' is U+0430 CYRILLIC SMALL LETTER A): it may read "
            "as another name") in out


def test_the_codes_are_the_same_in_both_languages(capsys, store):
    found = {}
    for lang in ("zh", "en"):
        _, out, _ = run(capsys, "--lang", lang, "check", "--format", "json")
        found[lang] = [(d["code"], d["file"], d["line"], d["column"]) for d in map(json.loads, out.splitlines())]
    assert found["zh"] == found["en"] and len(found["en"]) >= 6


def test_a_claim_the_policy_cannot_decide(capsys, store):
    code, out, _ = run(capsys, "--lang", "zh", "evaluate", "claim.json", "--policy", "p/ratio")
    assert code == 4
    assert "[evaluation.rule] 规则 ratio（条款 一）无法判定：100 / (person.years - 30) 中除数为零" in out
    code, out, _ = run(capsys, "--lang", "en", "evaluate", "claim.json", "--policy", "p/ratio")
    assert ("[evaluation.rule] rule ratio (clause 一) could not be decided: division by zero in "
            "100 / (person.years - 30)") in out


def test_a_decision_in_json_is_the_same_in_both_languages(capsys, store):
    outs = [run(capsys, "--lang", lang, "evaluate", "claim.json", "--policy", "p/ratio", "--format", "json")[1]
            for lang in ("zh", "en")]
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["error"]["rules"] == {"ratio": "division by zero in 100 / (person.years - 30)"}


def test_evaluation_faults_speak_both_languages():
    from engine.language.builtins import EvaluationFault, add_days, resident_id_sex

    for call, zh, en in ((lambda: add_days(date(2024, 6, 15), 99_999_999),
                          "2024-06-15 加上 99999999 天超出了日历范围",
                          "2024-06-15 plus 99999999 days is outside the calendar"),
                         (lambda: resident_id_sex("11010519491231002Y"),
                          "'11010519491231002Y' 不是有效的居民身份证号码：应为 17 位数字加一位校验码（0-9 或 X）",
                          "'11010519491231002Y' is not a valid resident identity number: it must be 17 digits and a "
                          "check character (0-9 or X)")):
        with pytest.raises(EvaluationFault) as caught:
            call()
        assert str(caught.value) == en  # what a decision records, in any language
        with speaking("zh"):
            assert tr(caught.value.message) == zh


def test_a_name_that_reads_as_another_is_explained_in_chinese():
    reason = deceptive_name("a\u3164b")
    assert reason == "the name 'a\u3164b' holds U+3164 (HANGUL FILLER), which shows as nothing"
    with speaking("zh"):
        assert tr(reason) == "名称 'a\u3164b' 含有 U+3164（HANGUL FILLER），这个字符显示不出来"


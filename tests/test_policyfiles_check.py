"""`Engine.check()` and `policy check`: references, overrides, exports, coverage and review dates,
each reported with its code at file:line; the seed policies check clean; the inspection commands."""
from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import pytest
from seedstore import SEED_HOME, SEED_POLICIES

from engine.api import Engine
from engine.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
D = date.fromisoformat

CLAIM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "x-claim-id": "claim_id", "x-decision-date": "applied_on",
    "required": ["claim_id", "applied_on", "years"], "additionalProperties": False,
    "properties": {"claim_id": {"type": "string"}, "applied_on": {"type": "string", "format": "date"},
                   "years": {"type": "integer"}},
}

COVERED = "not_computable:\n  - {clause: 一, reason: nothing to compute}\n"


def policy(pid: str, version: str, frm: str, body: str = COVERED, to: str | None = None,
           clauses: dict | None = None, schema: bool = False) -> str:
    clauses = clauses or {"一": "First clause."}
    eff = f"  from: {frm}\n" + (f"  to: {to}\n" if to else "")
    text = (f'policy: {pid}\nversion: "{version}"\ntitle: Title {pid}\neffective:\n{eff}issued_on: {frm}\n'
            "source:\n  number: N-1\n  title: Doc\n  issuers: [Office]\n  clauses:\n"
            + "".join(f"    {k}: {v}\n" for k, v in clauses.items()))
    if schema:
        text += "input:\n  schema: claim.schema.json\n"
    return text + textwrap.dedent(body)


PARENT = policy("p/parent", "1", "2024-01-01", schema=True, body="""\
exports: [limit, adult, rates, bonus]
tables:
  rates:
    clause: 一
    key: [k]
    columns: {k: string, v: int}
    rows:
      - [a, 1]
definitions:
  limit:
    clause: 一
    expr: '18'
  adult:
    clause: 一
    expr: years >= limit
  bonus:
    clause: 一
    params: {n: int}
    expr: n + limit
  secret:
    clause: 一
    expr: '42'
  secret_fn:
    clause: 一
    params: {n: int}
    expr: n * 2
rules:
  - id: old_enough
    clause: 一
    require: adult
    message: {pass: ok, fail: too young}
""")


def child(body: str) -> str:
    return policy("c/child", "1", "2024-01-01", schema=True, body=COVERED + textwrap.dedent(body))


def make(tmp_path: Path, files: dict) -> Path:
    folder = tmp_path / "policies"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "claim.schema.json").write_text(json.dumps(CLAIM_SCHEMA), encoding="utf-8")
    return folder


def check(tmp_path: Path, files: dict, today: date | None = None):
    return Engine.load(make(tmp_path, files)).check(today=today)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def only(diagnostics, code: str):
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, f"expected one {code}, got {[(d.code, str(d.location), d.message) for d in diagnostics]}"
    return found[0]


def errors(diagnostics) -> list:
    return [(d.code, str(d.location), d.message) for d in diagnostics if d.severity == "error"]


# -- controls: well-formed references check clean --------------------------------------------------


def test_parent_alone_checks_clean(tmp_path):
    assert errors(check(tmp_path, {"p/parent/1.yaml": PARENT})) == []


def test_uses_of_exported_constants_tables_and_functions_check_clean(tmp_path):
    text = child("""\
        uses:
          par: p/parent
        definitions:
          x:
            clause: 一
            expr: par.limit + par.rates["a"].v + par.bonus(1)
        """)
    assert errors(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text})) == []


def test_override_with_overrides_true_checks_clean(tmp_path):
    text = child("""\
        extends: p/parent
        definitions:
          limit:
            overrides: true
            clause: 一
            expr: '16'
        """)
    assert errors(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text})) == []


# -- references ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, needle", [
    ("uses:\n  other: x/nothing\n", "x/nothing"),
    ("extends: x/nothing\n", "x/nothing"),
])
def test_reference_to_unknown_policy(tmp_path, body, needle):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + body)
    d = only(check(tmp_path, {"a/b/1.yaml": text}), "reference.unknown")
    assert d.location.file.endswith("a/b/1.yaml")
    assert d.location.line == line_of(text, needle)
    assert "a/b@1 refers to x/nothing, which no policy file defines" in d.message


def test_pinned_version_that_does_not_exist(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d@9\n")
    diagnostics = check(tmp_path, {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2023-01-01")})
    d = only(diagnostics, "reference.unknown")
    assert d.location.file.endswith("a/b/1.yaml")
    assert d.location.line == line_of(text, "c/d@9")
    assert "c/d@9" in d.message and "no such version" in d.message and "(it has 1)" in d.message


@pytest.mark.parametrize("body, written, meant", [
    ("extends: c/dd\n", "c/dd", "'c/d'"),
    ("uses:\n  other: c/dd\n", "c/dd", "'c/d'"),
    ("uses:\n  other: c/d@2024-01-0\n", "c/d@2024-01-0", "'2024-01-01'"),
])
def test_a_misspelt_reference_is_shown_with_what_was_meant(tmp_path, body, written, meant):
    """An officer sees the line with the reference under a caret, and the policy or version it is close to."""
    text = policy("a/b", "1", "2024-06-01", body=COVERED + body)
    target = policy("c/d", "2024-01-01", "2023-01-01")
    d = only(check(tmp_path, {"a/b/1.yaml": text, "c/d/2024-01-01.yaml": target}), "reference.unknown")
    assert d.source_line is not None and written in d.source_line
    assert d.source_line[d.location.column - 1:].startswith(written)
    assert d.hint == f"did you mean {meant}?"
    assert f"^\n    hint: did you mean {meant}?" in d.render()


def test_a_reference_to_nothing_like_any_policy_has_no_guess(tmp_path):
    text = policy("a/b", "1", "2024-06-01", body=COVERED + "extends: zz/unrelated-thing\n")
    d = only(check(tmp_path, {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2023-01-01")}),
             "reference.unknown")
    assert d.hint is None


def test_pinned_version_that_exists_checks_clean(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d@1\n")
    assert errors(check(tmp_path, {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2023-01-01")})) == []


def test_reference_not_in_force_at_the_start_of_the_period(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d\n")
    diagnostics = check(tmp_path, {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2024-03-01")})
    d = only(diagnostics, "reference.not_in_force")
    assert d.location.file.endswith("a/b/1.yaml")
    assert d.location.line == line_of(text, "c/d")
    assert "a/b@1 needs c/d" in d.message and "2024-01-01" in d.message


def test_reference_in_force_for_the_whole_period_checks_clean(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d\n")
    files = {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2023-01-01"),
             "c/d/2.yaml": policy("c/d", "2", "2024-06-01")}
    assert errors(check(tmp_path, files)) == []


def test_reference_not_needed_before_the_referencing_version_starts(tmp_path):
    # c/d starts after a/b@1 ends (a/b@2 takes over): a/b@1 never needs it, a/b@2 does and has it.
    files = {"a/b/1.yaml": policy("a/b", "1", "2023-01-01"),
             "a/b/2.yaml": policy("a/b", "2", "2024-01-01", body=COVERED + "uses:\n  other: c/d\n"),
             "c/d/1.yaml": policy("c/d", "1", "2024-01-01")}
    assert errors(check(tmp_path, files)) == []


def test_reference_that_ends_during_the_period_is_not_in_force(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d\n")
    files = {"a/b/1.yaml": text, "c/d/1.yaml": policy("c/d", "1", "2023-01-01", to="2024-06-30")}
    engine = Engine.load(make(tmp_path, files))
    # The store itself knows: from 2024-07-01 a/b@1 is in force and c/d is not.
    assert engine.store.in_force("a/b", D("2024-07-01")) is not None
    assert engine.store.in_force("c/d", D("2024-07-01")) is None
    d = only(engine.check(), "reference.not_in_force")
    assert d.location.line == line_of(text, "c/d")
    assert "2024-07-01" in d.message


def test_reference_cycle(tmp_path):
    files = {"a/b/1.yaml": policy("a/b", "1", "2024-01-01", body=COVERED + "uses:\n  other: c/d\n"),
             "c/d/1.yaml": policy("c/d", "1", "2024-01-01", body=COVERED + "uses:\n  other: a/b\n")}
    diagnostics = check(tmp_path, files)
    assert {d.code for d in diagnostics if d.severity == "error"} == {"reference.cycle"}
    assert all("a/b" in d.message and "c/d" in d.message for d in diagnostics)
    # each file's error at its own reference that starts the cycle, where the officer breaks it
    for d in diagnostics:
        own = files["a/b/1.yaml" if d.location.file.endswith("a/b/1.yaml") else "c/d/1.yaml"]
        assert d.location.line == line_of(own, "other:") and d.source_line.strip().startswith("other:")


# -- overrides -------------------------------------------------------------------------------------


def test_override_of_nothing(tmp_path):
    text = child("""\
        extends: p/parent
        definitions:
          newthing:
            overrides: true
            clause: 一
            expr: '1'
        rules:
          - id: brand_new
            overrides: true
            clause: 一
            require: 'true'
            message: {pass: a, fail: b}
        """)
    diagnostics = check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text})
    found = sorted((d.location.line, d.message) for d in diagnostics if d.code == "override.nothing")
    # a definition is located at its name, a rule at its first key
    assert [line for line, _ in found] == [line_of(text, "newthing:"), line_of(text, "id: brand_new")]
    assert "definition 'newthing' says it overrides, but nothing it extends defines" in found[0][1]
    assert "rule 'brand_new' says it overrides" in found[1][1]
    assert all(d.location.file.endswith("c/child/1.yaml") for d in diagnostics if d.code == "override.nothing")
    assert errors(diagnostics) and {c for c, _, _ in errors(diagnostics)} == {"override.nothing"}


def test_override_without_extends_is_an_override_of_nothing(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + """\
definitions:
  x:
    overrides: true
    clause: 一
    expr: '1'
""")
    d = only(check(tmp_path, {"a/b/1.yaml": text}), "override.nothing")
    assert d.location.line == line_of(text, "  x:")


def test_clash_without_overrides(tmp_path):
    text = child("""\
        extends: p/parent
        definitions:
          limit:
            clause: 一
            expr: '16'
        rules:
          - id: old_enough
            clause: 一
            require: 'true'
            message: {pass: a, fail: b}
        """)
    diagnostics = check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text})
    found = sorted((d.location.line, d.message) for d in diagnostics if d.code == "override.conflict")
    assert [line for line, _ in found] == [line_of(text, "limit:"), line_of(text, "id: old_enough")]
    assert "definition 'limit' is already defined by p/parent@1" in found[0][1]
    assert f"p/parent/1.yaml:{line_of(PARENT, '  limit:')}:" in found[0][1]  # where the parent defines it
    assert "overrides: true" in found[0][1]
    assert "rule 'old_enough' is already defined by p/parent@1" in found[1][1]


def test_clash_of_a_table_without_overrides(tmp_path):
    text = child("""\
        extends: p/parent
        tables:
          rates:
            clause: 一
            key: [k]
            columns: {k: string, v: int}
            rows:
              - [a, 2]
        """)
    d = only(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text}), "override.conflict")
    assert d.location.file.endswith("c/child/1.yaml")
    assert d.location.line == line_of(text, "  rates:")
    assert "table 'rates'" in d.message


# -- uses: exports and facts -----------------------------------------------------------------------


@pytest.mark.parametrize("expr, name", [("par.secret + 1", "secret"), ("par.secret_fn(1)", "secret_fn")])
def test_name_not_exported(tmp_path, expr, name):
    text = child(f"""\
        uses:
          par: p/parent
        definitions:
          x:
            clause: 一
            expr: {expr}
        """)
    d = only(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text}), "name.not_exported")
    assert d.location.file.endswith("c/child/1.yaml")
    assert d.location.line == line_of(text, expr)
    start = text.splitlines()[d.location.line - 1].index(expr) + 1
    assert start <= d.location.column <= start + len("par.")
    assert f"p/parent does not export {name!r}" in d.message
    assert d.clause == "一"


def test_exported_definition_that_reads_facts_cannot_be_used(tmp_path):
    text = child("""\
        uses:
          par: p/parent
        rules:
          - id: r
            clause: 一
            require: par.adult
            message: {pass: a, fail: b}
        """)
    d = only(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text}), "name.reads_facts")
    assert d.location.file.endswith("c/child/1.yaml")
    assert d.location.line == line_of(text, "par.adult")
    assert "'adult' reads claim facts" in d.message


def test_exported_definition_reading_facts_is_fine_through_extends(tmp_path):
    text = child("""\
        extends: p/parent
        rules:
          - id: r
            clause: 一
            require: adult
            message: {pass: a, fail: b}
        """)
    assert errors(check(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text})) == []


# -- input: a transposition reads its parent's schema ---------------------------------------------

AGE_CHECK = """\
    input:
      checks:
        - id: years_given
          fact: years
          require: years >= 0
          message: years cannot be negative
    """


def test_a_transposition_may_give_input_checks_without_a_schema(tmp_path):
    text = policy("c/child", "1", "2024-01-01", body=COVERED + "extends: p/parent\n" + textwrap.dedent(AGE_CHECK))
    engine = Engine.load(make(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": text}))
    assert errors(engine.check()) == []
    refused = engine.evaluator("c/child").evaluate({"claim_id": "A", "applied_on": "2024-06-01", "years": -1})
    assert (refused.code, refused.path, refused.message) == ("claim.invalid", "years", "years cannot be negative")
    assert refused.details["check"] == "years_given"


def test_input_checks_without_a_schema_or_a_parent_say_what_is_missing(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + textwrap.dedent(AGE_CHECK))
    d = only(check(tmp_path, {"a/b/1.yaml": text}), "schema.invalid")
    assert d.location.line == line_of(text, "checks:")
    assert d.message.startswith("input.schema is missing: name the JSON Schema file")
    assert "only a policy that extends another may leave it out" in d.message


# -- coverage and review ---------------------------------------------------------------------------


def test_uncovered_clause(tmp_path):
    text = policy("a/b", "1", "2024-01-01", clauses={"一": "First.", "二": "Second."})
    d = only(check(tmp_path, {"a/b/1.yaml": text}), "clause.uncovered")
    assert d.location.file.endswith("a/b/1.yaml")
    assert d.location.line == line_of(text, "二: Second.")
    assert d.clause == "二"
    assert "clause '二'" in d.message and "not_computable" in d.message


def test_an_uncovered_clause_names_the_citation_that_mistyped_it(tmp_path):
    """One mistake, two errors: the citation of no clause, and the clause it meant, left uncovered. The second says
    which citation it probably is."""
    text = policy("a/b", "1", "2024-01-01", clauses={"一": "First.", "二.(一)": "Second."},
                  body=COVERED + "definitions:\n  detail: {clause: 二.（一）, expr: '1'}\n")
    found = check(tmp_path, {"a/b/1.yaml": text})
    d = only(found, "clause.uncovered")
    assert d.hint == "is it the clause cited as '二.（一）', which is no clause of the source?"
    assert d.source_line is not None and "二.(一)" in d.source_line


def test_clause_covered_through_a_sub_clause(tmp_path):
    # A definition citing 二.(一) covers the heading clause 二.
    text = policy("a/b", "1", "2024-01-01", clauses={"一": "First.", "二": "Second.", "二.(一)": "Detail."},
                  body=COVERED + "definitions:\n  detail: {clause: 二.(一), expr: '1'}\n")
    assert [d for d in check(tmp_path, {"a/b/1.yaml": text}) if d.code == "clause.uncovered"] == []


def test_a_note_explains_a_clause_but_does_not_cover_it(tmp_path):
    text = policy("a/b", "1", "2024-01-01", clauses={"一": "First.", "二": "Second."},
                  body=COVERED + "notes:\n  - {id: n, clause: 二, text: see}\n")
    (d,) = [d for d in check(tmp_path, {"a/b/1.yaml": text}) if d.code == "clause.uncovered"]
    assert d.clause == "二" and "a note explains, it does not encode" in d.message


def test_review_by_in_the_past_warns(tmp_path):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "review_by: 2024-06-30\n")
    files = {"a/b/1.yaml": text}
    d = only(check(tmp_path, files, today=D("2024-07-01")), "version.review")
    assert d.severity == "warning"
    assert d.location.line == line_of(text, "review_by")
    assert "a/b@1" in d.message and "2024-06-30" in d.message
    assert errors(check(tmp_path, files, today=D("2024-07-01"))) == []


@pytest.mark.parametrize("today", [D("2024-06-30"), D("2024-01-01"), None])
def test_review_by_not_yet_due(tmp_path, today):
    text = policy("a/b", "1", "2024-01-01", body=COVERED + "review_by: 2024-06-30\n")
    assert [d for d in check(tmp_path, {"a/b/1.yaml": text}, today=today) if d.code == "version.review"] == []


def test_check_reports_all_problems_sorted(tmp_path):
    a = policy("a/b", "1", "2024-01-01", clauses={"一": "First.", "二": "Second."},
               body=COVERED + "uses:\n  other: x/nothing\n")
    z = policy("z/z", "1", "2024-01-01", body="")  # clause 一 uncovered
    diagnostics = check(tmp_path, {"a/b/1.yaml": a, "z/z/1.yaml": z})
    assert [d.code for d in diagnostics] == ["clause.uncovered", "reference.unknown", "clause.uncovered"]
    assert [d.location.file.rsplit("policies/", 1)[1] for d in diagnostics] == ["a/b/1.yaml", "a/b/1.yaml",
                                                                               "z/z/1.yaml"]


# -- the seed policies -----------------------------------------------------------------------------


def test_seed_policies_check_clean():
    engine = Engine.load(SEED_POLICIES)
    assert errors(engine.check(today=D("2024-06-15"))) == []
    assert len(engine.store.by_id) == 3


def test_seed_policies_cover_every_clause():
    engine = Engine.load(SEED_POLICIES)
    assert [d for d in engine.check(today=D("2024-06-15")) if d.code == "clause.uncovered"] == []
    jinhua = engine.store.get("jinhua/digital-engineer-subsidy", "2024-05-01")
    assert {"一", "二.(一)", "二.(二)", "二.不含", "三.(一)", "三.(二)", "四", "五"} <= set(jinhua.clauses)


# -- the command line ------------------------------------------------------------------------------


def test_cli_check_on_the_seed_policies(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "check", "--today", "2024-06-15"]) == 0
    out, err = capsys.readouterr()
    assert "error[" not in out
    assert "0 errors, 0 warnings in 4 policy versions" in err
    monkeypatch.chdir(ROOT)  # and the real folder, whatever versions it holds
    assert cli.main(["--policies", "policies", "check", "--today", "2024-06-15"]) == 0
    assert capsys.readouterr().err.startswith("0 errors")


BROKEN = policy("t/x", "1", "2024-01-01", body=COVERED + """\
tables:
  levels:
    clause: 一
    key: [level]
    columns: {level: string, amount: money}
    rows:
      - [no, 100]
""")


def test_cli_check_on_a_broken_folder_prints_file_line_column(tmp_path, capsys, monkeypatch):
    make(tmp_path, {"t/x/1.yaml": BROKEN})
    monkeypatch.chdir(tmp_path)
    cli.main(["--policies", "policies", "check"])
    out, err = capsys.readouterr()
    line = line_of(BROKEN, "[no, 100]")
    column = BROKEN.splitlines()[line - 1].index("no") + 1
    assert f"policies/t/x/1.yaml:{line}:{column}: error[table.cell_type]" in out
    assert 'quote it: "no"' in out
    assert "1 error, 0 warnings" in err


def test_cli_check_json_format(tmp_path, capsys, monkeypatch):
    make(tmp_path, {"t/x/1.yaml": BROKEN})
    monkeypatch.chdir(tmp_path)
    cli.main(["--policies", "policies", "check", "--format", "json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["code"], r["file"], r["line"]) for r in rows] == [
        ("table.cell_type", "policies/t/x/1.yaml", line_of(BROKEN, "[no, 100]"))]


def test_cli_check_on_a_broken_folder_exits_1(tmp_path, capsys, monkeypatch):
    make(tmp_path, {"t/x/1.yaml": BROKEN})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--policies", "policies", "check"]) == 1


def test_cli_list(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "china/retirement-age", "jinhua/digital-engineer-subsidy", "zhejiang/digital-engineer"]
    assert "(1978-06-02, 2025-01-01)" in lines[0]
    assert "金华市数字技术工程师培训补贴" in lines[1] and "(2024-05-01)" in lines[1]
    assert "(2023-09-16)" in lines[2]


def test_cli_timeline(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "timeline", "jinhua/digital-engineer-subsidy"]) == 0
    out = capsys.readouterr().out
    assert "2024-05-01" in out and "in force 2024-05-01 .. now" in out
    assert "issued 2024-03-26" in out and "金人社发〔2024〕15号" in out


def test_cli_timeline_shows_the_end_of_a_replaced_version(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "timeline", "china/retirement-age", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["version"], r["from"], r["to"]) for r in rows] == [
        ("1978-06-02", "1978-06-02", "2024-12-31"), ("2025-01-01", "2025-01-01", None)]
    assert all(r["digest"].startswith("sha256:") for r in rows)


def test_cli_timeline_of_unknown_policy_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "timeline", "nowhere/nothing"]) == 64
    assert "no policy 'nowhere/nothing'" in capsys.readouterr().err


def test_cli_show_pinned_version(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "show", "zhejiang/digital-engineer@2023-09-16"]) == 0
    out = capsys.readouterr().out
    digest = Engine.load(SEED_POLICIES).store.get("zhejiang/digital-engineer", "2023-09-16").digest
    assert out.splitlines()[0].startswith("zhejiang/digital-engineer@2023-09-16")
    assert "浙人社发〔2023〕36号" in out
    assert "issued 2023-08-16" in out
    assert f"digest: {digest}" in out
    assert "table subsidy [附件2]" in out
    # 附件2 as DOMAIN.md states it: 区块链 junior 80 hours / 2200 yuan; 大数据 senior 160 / 5200.
    assert "2-02-10-15 | 区块链工程技术人员 | junior | 80 | 2200" in out
    assert "2-02-10-11 | 大数据工程技术人员 | senior | 160 | 5200" in out
    assert "浙江大学 | 区块链 | 2-02-10-15" in out


def test_cli_show_as_of_a_date_in_force(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "show", "jinhua/digital-engineer-subsidy", "--as-of", "2024-05-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("jinhua/digital-engineer-subsidy@2024-05-01")
    assert "extends: zhejiang/digital-engineer" in out
    assert "uses: retirement = china/retirement-age" in out
    assert "registration ZJGC13-2024-0001" in out


def test_cli_show_as_of_a_date_before_the_policy_says_so(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    cli.main(["--policies", "policies", "show", "jinhua/digital-engineer-subsidy", "--as-of", "2024-04-30"])
    out, err = capsys.readouterr()
    assert out == ""
    assert "jinhua/digital-engineer-subsidy has no version in force on 2024-04-30" in err


def test_cli_show_as_of_a_date_before_the_policy_exits_3(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "show", "jinhua/digital-engineer-subsidy", "--as-of", "2024-04-30"]) == 3


def test_cli_show_unknown_version_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(SEED_HOME)
    assert cli.main(["--policies", "policies", "show", "zhejiang/digital-engineer@1999-01-01"]) == 64
    assert "has no version '1999-01-01' (it has 2023-09-16)" in capsys.readouterr().err


def test_cli_inspection_commands_refuse_a_policy_with_a_broken_file(tmp_path, capsys, monkeypatch):
    make(tmp_path, {"t/x/1.yaml": BROKEN.replace("title: Title t/x\n", "")})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--policies", "policies", "timeline", "t/x"]) == 1
    err = capsys.readouterr().err
    assert "policies/t/x/1.yaml:1:1: error[schema.invalid]: title is required but missing" in err
    assert "run `policy check policies/t/x/1.yaml`" in err
    assert cli.main(["--policies", "policies", "list"]) == 0  # the list is complete; the policy is marked
    assert "t/x  (1)  [errors in policies/t/x/1.yaml]" in capsys.readouterr().out


@pytest.mark.parametrize("pasted, ends", [("\u2028", "\n"), ("\x85", "\r\n"), ("", "\r")],
                         ids=["line-separator", "nel-crlf", "lone-cr-line-ends"])
def test_an_error_after_a_line_break_only_yaml_or_only_old_editors_see_is_at_the_editors_line(tmp_path, pasted, ends):
    """A U+2028 or NEL in a quoted title (pasted from a PDF) ends a line for YAML, not in an editor; a file whose
    lines end in a lone CR shows its lines in an editor: the checker's and the reader's errors name the line an
    editor shows, with that line under them."""
    text = PARENT.replace("title: Title p/parent", f'title: "Title{pasted}p/parent"').replace(
        "    require: adult\n", "    require: adultt\n    severity: high\n")
    files = {"p/parent/1.yaml": text.replace("\n", ends)}
    found = check(tmp_path, files)
    unknown = only(found, "name.unknown")
    key = only(found, "schema.invalid")
    assert (unknown.location.line, unknown.source_line) == (line_of(text, "adultt"), "    require: adultt")
    assert unknown.location.column == len("    require: ") + 1
    assert (key.location.line, key.source_line) == (line_of(text, "severity"), "    severity: high")

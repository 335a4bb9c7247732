"""A later notice is only a new file: own facts (`input.facts`), typed and referencing table columns, and the
cost message that names the list whose size it assumed. Each store here is built in a temporary folder from
text, so nothing depends on the policies under policies/."""
from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import pytest

from engine.api import Engine

CLAIM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "x-claim-id": "claim_id", "x-decision-date": "applied_on",
    "required": ["claim_id", "applied_on", "person"], "additionalProperties": False,
    "$defs": {"level": {"type": "string", "enum": ["junior", "senior"]}},
    "properties": {
        "claim_id": {"type": "string"}, "applied_on": {"type": "string", "format": "date"},
        "person": {"type": "object", "required": ["years", "level"], "additionalProperties": False,
                   "properties": {"years": {"type": "integer"}, "level": {"$ref": "#/$defs/level"},
                                  "code": {"type": "string", "pattern": "^[0-9]-[0-9]{2}$"}}},
        "items": {"type": "array", "items": {"type": "string"}},
    },
}


def head(pid: str, version: str, frm: str, clauses: dict | None = None, extra: str = "", number: str = "N-1") -> str:
    clauses = clauses or {"一": "First clause."}
    return (f'policy: {pid}\nversion: "{version}"\ntitle: Title\neffective:\n  from: {frm}\nissued_on: {frm}\n'
            f"source:\n  number: {number}\n  title: Doc\n  issuers: [Office]\n  clauses:\n"
            + "".join(f"    {k}: {v}\n" for k, v in clauses.items()) + extra)


PARENT = head("p/parent", "1", "2024-01-01") + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    tables:
      rates:
        clause: 一
        key: [level]
        columns: {level: {type: string, fact: person.level}, amount: money}
        rows:
          - [junior, 100]
          - [senior, 200]
    definitions:
      adult:
        clause: 一
        expr: person.years >= 18
    rules:
      - id: adult
        clause: 一
        require: adult
        message: {pass: adult, fail: not adult}
    decision:
      clause: 一
      amount: rates[person.level].amount
      currency: CNY
    """)


def make_store(tmp_path: Path, files: dict[str, str], schema: dict | None = None) -> Path:
    root = tmp_path / "policies"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "claim.schema.json").write_text(json.dumps(schema or CLAIM_SCHEMA), encoding="utf-8")
    return root


def errors(root: Path) -> list:
    return [d for d in Engine.load(root, root.parent / "schemas").check() if d.severity == "error"]


def codes(root: Path) -> list[str]:
    return [d.code for d in errors(root)]


def at(text: str, cell: str) -> tuple[int, int]:
    """(line, column) of the first `cell` in `text`, counted from 1."""
    for number, line in enumerate(text.splitlines(), 1):
        if cell in line:
            return number, line.index(cell) + 1
    raise AssertionError(cell)


def claim(**person) -> dict:
    return {"claim_id": "C-1", "applied_on": "2024-06-01", "person": {"years": 30, "level": "junior", **person}}


# -- own facts ---------------------------------------------------------------------------------------------

CITY_INLINE = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
    extends: p/parent
    input:
      facts:
        person.months:
          clause: 一
          description: months paid here
          schema: {type: integer, minimum: 0, maximum: 12}
    rules:
      - id: months
        clause: 一
        require: (person.months ?? 0) >= 6
        message: {pass: enough months, fail: too few months}
    """)


def test_an_own_fact_is_read_by_its_policy_and_by_no_other(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": CITY_INLINE})
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    decided = engine.evaluator("p/city").evaluate(claim(months=7))
    assert decided.eligible is True and str(decided.amount) == "100"
    assert engine.evaluator("p/city").evaluate(claim(months=5)).eligible is False
    # the parent's claims do not have the fact: the shared schema is as it was
    refused = engine.evaluator("p/parent").evaluate(claim(months=7))
    assert refused.code == "claim.invalid"
    bad = engine.evaluator("p/city").evaluate(claim(months=13))
    assert bad.code == "claim.invalid" and "person.months" in bad.message


def test_adding_an_own_fact_changes_no_other_versions_digest(tmp_path):
    before_root = make_store(tmp_path / "a", {"p/parent/1.yaml": PARENT})
    after_root = make_store(tmp_path / "b", {"p/parent/1.yaml": PARENT, "p/city/1.yaml": CITY_INLINE})
    before = Engine.load(before_root, before_root.parent / "schemas").store
    after = Engine.load(after_root, after_root.parent / "schemas").store
    assert after.get("p/parent", "1").digest == before.get("p/parent", "1").digest
    assert (after_root.parent / "schemas" / "claim.schema.json").read_text() == json.dumps(CLAIM_SCHEMA)


def test_own_facts_in_a_file_beside_the_policy_are_covered_by_its_digest(tmp_path):
    city = CITY_INLINE.replace(textwrap.dedent("""\
        input:
          facts:
            person.months:
              clause: 一
              description: months paid here
              schema: {type: integer, minimum: 0, maximum: 12}
        """), "input:\n  facts: 1.facts.json\n")
    facts = {"person.months": {"clause": "一", "schema": {"type": "integer", "minimum": 0, "maximum": 12}}}
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city,
                                 "p/city/1.facts.json": json.dumps(facts)})
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    assert engine.evaluator("p/city").evaluate(claim(months=6)).eligible is True
    first = engine.store.get("p/city", "1").digest
    facts["person.months"]["schema"]["maximum"] = 11
    (root / "p/city/1.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    again = Engine.load(root, root.parent / "schemas").store
    assert again.get("p/city", "1").digest != first
    assert again.get("p/parent", "1").digest == engine.store.get("p/parent", "1").digest


def test_own_facts_that_cannot_be_added_are_check_errors_at_their_line(tmp_path):
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
        extends: p/parent
        input:
          facts:
            person.years:
              clause: 一
              schema: {type: integer}
            nobody.months:
              clause: 一
              schema: {type: integer}
            person.level.sub:
              clause: 一
              schema: {type: integer}
            person.odd:
              clause: 一
              schema: {type: frobnicate}
        not_computable:
          - {clause: 一, reason: none}
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city})
    found = {(d.code, d.location.line) for d in errors(root)}
    assert ("facts.exists", 16) in found
    assert ("facts.parent", 19) in found
    assert ("facts.parent", 22) in found
    assert ("facts.schema", 27) in found
    [odd] = [d for d in errors(root) if d.code == "facts.schema"]
    # said at the value at fault, in the terms of the fact's own schema (not of a wrapper the engine builds)
    assert (odd.location.line, odd.location.column) == (27, 22) and odd.source_line[21:].startswith("frobnicate")
    assert odd.message.startswith("the schema of fact 'person.odd' is not usable: type: 'frobnicate' is not a JSON ")
    assert "properties" not in odd.message


def test_a_misspelt_fact_path_names_the_path_meant_in_its_own_file(tmp_path):
    """`persn.months` in the city's facts file: the record meant, said in that file with no note sending the officer
    to `extends:` (the facts file is the version's own); a check naming `person.month` likewise."""
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
        extends: p/parent
        input:
          facts: 1.facts.json
          checks:
            - id: months_given
              fact: person.month
              require: has(person.months)
              message: months
        not_computable:
          - {clause: 一, reason: none}
        """)
    facts = {"persn.months": {"clause": "一", "schema": {"type": "integer"}}}
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city,
                                 "p/city/1.facts.json": json.dumps(facts)})
    [wrong] = [d for d in errors(root) if d.code == "facts.parent"]
    assert wrong.location.file.endswith("1.facts.json") and wrong.notes == ()
    assert "(did you mean 'person.months'?)" in wrong.message
    assert '"persn.months"' in (wrong.source_line or "")  # the line, for the caret under it
    facts = {"person.months": {"clause": "一", "schema": {"type": "integer"}}}
    (root / "p/city/1.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    [check] = errors(root)
    assert check.code == "name.unknown" and check.hint == "did you mean 'person.months'?"
    assert check.source_line == "      fact: person.month" and check.location.column == 13  # under the fact named


@pytest.mark.parametrize("change", ["replace_rows", "add_rows", "remove_rows"])
def test_row_changes_in_a_transposition_are_an_error_not_silently_nothing(tmp_path, change):
    """A city's `replace_rows` of its province's table changed nothing: claims were decided with the province's
    amounts and the check was clean. Row changes belong to an amendment; a city restates the table."""
    rows = "[senior]" if change == "remove_rows" else "[senior, 250]"
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent(f"""\
        extends: p/parent
        tables:
          rates:
            clause: 一
            overrides: true
            {change}:
              - {rows}
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city})
    [wrong] = [d for d in errors(root) if d.code == "table.rows_not_amending"]
    at_change = city.splitlines().index(f"    {change}:") + 2  # the rows it changes, the first under the key
    assert wrong.location.file.endswith("p/city/1.yaml") and wrong.location.line == at_change
    assert f"({change})" in wrong.message and "p/parent" in wrong.hint


def test_a_full_width_comma_in_a_list_says_it_is_no_separator(tmp_path):
    """`clause: [一，二]` and `key: [level，x]`, typed with the Chinese input method: one text, not two items."""
    parent = PARENT.replace("rules:\n  - id: adult\n    clause: 一", "rules:\n  - id: adult\n    clause: [一，一]")
    assert parent != PARENT
    root = make_store(tmp_path, {"p/parent/1.yaml": parent})
    [wrong] = [d for d in errors(root) if d.code == "clause.unknown"]
    assert wrong.hint == ("'一，一' holds a full-width comma '，', which YAML does not read as a separator: write ', ' "
                          "(half-width) between the items: 一, 一")


def test_row_changes_of_a_table_the_parent_lacks_do_not_hint_at_the_parents_table(tmp_path):
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
        extends: p/parent
        tables:
          fees:
            clause: 一
            add_rows:
              - [senior, 250]
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city})
    [wrong] = [d for d in errors(root) if d.code == "table.rows_not_amending"]
    assert wrong.hint is None and "'fees'" in wrong.message


def test_a_facts_file_that_is_missing_is_an_error(tmp_path):
    city = head("p/city", "1", "2024-03-01") + "extends: p/parent\ninput:\n  facts: none.facts.json\n" \
        + "not_computable:\n  - {clause: 一, reason: none}\n"
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city})
    assert "facts.file" in codes(root)


# -- typed and referencing columns ----------------------------------------------------------------------------


def test_a_cell_of_a_fact_typed_column_is_checked_against_the_fact(tmp_path):
    bad = PARENT.replace("- [senior, 200]", "- [高级, 200]")
    root = make_store(tmp_path, {"p/parent/1.yaml": bad})
    found = errors(root)
    assert [(d.code, d.location.line, d.location.column) for d in found] == [("table.cell_fact", *at(bad, "高级"))]
    assert "'高级' is not one of" in found[0].message and "person.level" in found[0].message


def test_a_pattern_of_the_fact_is_checked_too(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT.replace("definitions:", textwrap.indent(textwrap.dedent("""\
        codes:
          clause: 一
          key: [code]
          columns: {code: {type: string, fact: person.code}}
          rows:
            - ["1-02"]
            - ["1-2"]
        """), "  ") + "definitions:")})
    found = errors(root)
    assert [d.code for d in found] == ["table.cell_fact"]
    assert "1-2" in found[0].message


def test_a_column_typed_by_a_missing_fact_or_of_another_type_is_an_error(tmp_path):
    text = PARENT.replace("{level: {type: string, fact: person.level}, amount: money}",
                          "{level: {type: string, fact: person.grade}, amount: {type: money, fact: person.years}}")
    root = make_store(tmp_path, {"p/parent/1.yaml": text})
    assert sorted(codes(root)) == ["table.column_fact", "table.column_fact"]


CITY_TABLE = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
    extends: p/parent
    tables:
      places:
        clause: 一
        key: [place]
        columns: {place: string, level: {type: string, references: rates.level}}
        rows:
          - [north, junior]
          - [south, expert]
    not_computable:
      - {clause: 一, reason: none}
    """)


def test_a_referencing_column_is_checked_against_the_parents_table(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": CITY_TABLE})
    found = errors(root)
    assert [(d.code, d.location.file.endswith("p/city/1.yaml"), d.location.line, d.location.column)
            for d in found] == [("table.cell_reference", True, *at(CITY_TABLE, "expert"))]
    assert "'expert' is in no row of table 'rates'" in found[0].message


def test_a_referencing_column_is_checked_on_every_day_a_referenced_version_changes(tmp_path):
    fine = CITY_TABLE.replace("[south, expert]", "[south, senior]")
    later = PARENT.replace('version: "1"', 'version: "2"').replace("from: 2024-01-01", "from: 2024-09-01") \
        .replace("      - [senior, 200]\n", "")
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": fine})
    assert errors(root) == []
    (root / "p/parent/2.yaml").write_text(later, encoding="utf-8")
    found = errors(root)
    assert [d.code for d in found] == ["table.cell_reference"]
    assert "p/parent@2" in found[0].message


def test_a_reference_to_no_table_or_no_column_is_an_error(tmp_path):
    for ref in ("rate.level", "rates.grade"):
        text = CITY_TABLE.replace("rates.level", ref).replace("[south, expert]", "[south, senior]")
        root = make_store(tmp_path / ref, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": text})
        assert codes(root) == ["table.reference"], ref


def test_typed_columns_do_not_change_how_a_table_is_looked_up(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT})
    decided = Engine.load(root, root.parent / "schemas").evaluator("p/parent").evaluate(claim(level="senior"))
    assert decided.eligible is True and str(decided.amount) == "200"


# -- the cost message ---------------------------------------------------------------------------------------

COSTLY = head("p/parent", "1", "2024-01-01") + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    definitions:
      listed:
        clause: 一
        expr: '["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]'
      kept:
        clause: 一
        expr: filter(x in items ?? [] where x != "")
    rules:
      - id: r
        clause: 一
        require: not any(x in items ?? [] where any(y in kept where y in listed))
        message: {pass: p, fail: f}
    """)


def test_a_list_held_in_a_definition_has_the_size_of_its_literal(tmp_path):
    schema = json.loads(json.dumps(CLAIM_SCHEMA))
    schema["properties"]["items"]["maxItems"] = 1000
    root = make_store(tmp_path, {"p/parent/1.yaml": COSTLY}, schema)
    assert errors(root) == []  # 1000 × 1000 × 12: the twelve items are counted as twelve, not 100,000


def test_the_cost_message_names_the_list_whose_size_is_unknown(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": COSTLY})
    found = errors(root)
    assert [d.code for d in found] == ["cost.too_high"]
    hint = str(found[0].hint)
    assert "no size is known for the list items," in hint
    assert "listed (12)" in hint and "give the fact a maxItems" in hint


# -- amendments ---------------------------------------------------------------------------------------------

AMENDED = PARENT.replace("""    rules:
      - id: adult""", """    rules:
      - id: adult""")
AMENDMENT = head("p/parent", "2", "2024-09-01", {"一": "Amending clause.", "二": "Another."}, number="N-2") \
    + textwrap.dedent("""\
    amends: "1"
    tables:
      rates:
        clause: 一
        add_rows:
          - [expert, 300]
        replace_rows:
          - [senior, 250]
        remove_rows:
          - junior
    rules:
      - id: not_old
        clause: 二
        require: person.years < 60
        message: {pass: not old, fail: old}
    """)


def expert_schema() -> dict:
    """The claim schema with the level the amendment adds."""
    schema = json.loads(json.dumps(CLAIM_SCHEMA))
    schema["$defs"]["level"]["enum"].append("expert")
    return schema


def replacing_adult(clause: str) -> str:
    """AMENDMENT replacing the rule `adult`, citing `clause`."""
    return AMENDMENT + textwrap.indent(textwrap.dedent(f"""\
        - id: adult
          replaces: true
          clause: {clause}
          require: person.years >= 20
          message: {{pass: adult, fail: not adult}}
        """), "  ")


def senior_claim(day: str = "2024-10-01", **person) -> dict:
    return {"claim_id": "C-1", "applied_on": day, "person": {"years": 30, "level": "senior", **person}}


def test_an_amendment_states_only_what_changes(tmp_path):
    schema = expert_schema()
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": AMENDMENT}, schema)
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    resolved = engine.store.get("p/parent", "2")
    assert sorted(k for (k,) in resolved.tables["rates"].rows) == ["expert", "senior"]
    assert [r.id for r in resolved.rules] == ["adult", "not_old"]  # carried over, then added
    assert resolved.decision.expr is engine.store.get("p/parent", "1").decision.expr  # carried, not rewritten
    evaluator = engine.evaluator("p/parent")
    assert str(evaluator.evaluate(senior_claim("2024-06-01")).amount) == "200"  # the first version, untouched
    assert str(evaluator.evaluate(senior_claim()).amount) == "250"
    assert evaluator.evaluate(senior_claim(years=70)).eligible is False
    gone = evaluator.evaluate({"claim_id": "C-1", "applied_on": "2024-10-01",
                               "person": {"years": 30, "level": "junior"}})
    assert getattr(gone, "eligible", None) is not True  # its row was removed: rates[junior] has no row


def _until(text: str, to: str) -> str:
    """`text` with the last day in force `to` (the notice's 有效期至)."""
    return text.replace("  from: ", f"  to: {to}\n  from: ", 1)


@pytest.mark.parametrize("later", ["amendment", "whole version"])
def test_a_later_notice_supersedes_a_version_with_an_end_date_without_editing_it(tmp_path, later):
    """有效期至 2025-06-30, then a notice from 2024-09-01: the first file stays as published."""
    schema = expert_schema()
    first = _until(PARENT, "2025-06-30")
    second = AMENDMENT if later == "amendment" else PARENT.replace('version: "1"', 'version: "2"').replace(
        "from: 2024-01-01", "from: 2024-09-01").replace("issued_on: 2024-01-01", "issued_on: 2024-08-01")
    root = make_store(tmp_path, {"p/parent/1.yaml": first, "p/parent/2.yaml": second}, schema)
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    store = engine.store
    assert store.until(store.get("p/parent", "1")) == date(2024, 8, 31)
    evaluator = engine.evaluator("p/parent")
    assert evaluator.evaluate(senior_claim("2024-08-31")).policy.version == "1"
    assert evaluator.evaluate(senior_claim("2024-09-01")).policy.version == "2"
    after_the_end = evaluator.evaluate(senior_claim("2025-07-01"))
    if later == "amendment":  # it changes what the scheme says, not how long it runs
        assert store.until(store.get("p/parent", "2")) == date(2025, 6, 30)
        assert after_the_end.code == "policy.not_in_force"
    else:  # a whole new version says for itself how long it runs
        assert after_the_end.policy.version == "2"


def test_an_amendment_that_gives_its_own_end_date_keeps_it(tmp_path):
    schema = expert_schema()
    root = make_store(tmp_path, {"p/parent/1.yaml": _until(PARENT, "2025-06-30"),
                                 "p/parent/2.yaml": _until(AMENDMENT, "2026-12-31")}, schema)
    assert errors(root) == []
    store = Engine.load(root, root.parent / "schemas").store
    assert store.until(store.get("p/parent", "2")) == date(2026, 12, 31)


def test_an_amendment_changes_no_other_digest_and_its_own_covers_what_it_amends(tmp_path):
    alone = make_store(tmp_path / "a", {"p/parent/1.yaml": PARENT})
    both = make_store(tmp_path / "b", {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": AMENDMENT})
    first = Engine.load(alone, alone.parent / "schemas").store.get("p/parent", "1").digest
    store = Engine.load(both, both.parent / "schemas").store
    assert store.get("p/parent", "1").digest == first
    second = store.get("p/parent", "2").digest
    (both / "p/parent/1.yaml").write_text(PARENT.replace("- [senior, 200]", "- [senior, 210]"), encoding="utf-8")
    assert Engine.load(both, both.parent / "schemas").store.get("p/parent", "2").digest != second


def test_an_amendment_diff_shows_the_change_and_citations_name_their_documents(tmp_path):
    from engine.audit.diff import diff_versions

    schema = expert_schema()
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": AMENDMENT}, schema)
    engine = Engine.load(root, root.parent / "schemas")
    changes = diff_versions(engine.store.get("p/parent", "1"), engine.store.get("p/parent", "2"))["changes"]
    clause_changes = [c for c in changes if c["section"] == "clause"]
    assert {c["name"] for c in clause_changes} == {"N-2 一", "N-2 二"}  # the first document's clauses stay
    assert all(c["change"] == "added" for c in clause_changes)
    assert not [c for c in changes if c["section"] == "rule" and c["name"] == "adult"]
    decided = engine.evaluator("p/parent").evaluate(senior_claim()).to_json()
    clauses = {r["id"]: r["clause"] for r in decided["rules"]}
    assert clauses == {"adult": "N-1 一", "not_old": "N-2 二"}
    earlier = engine.evaluator("p/parent").evaluate(senior_claim("2024-06-01")).to_json()
    assert {r["id"]: r["clause"] for r in earlier["rules"]} == {"adult": "一"}  # one document: as before


AMEND_FAULTS = head("p/parent", "2", "2024-09-01", number="N-2") + textwrap.dedent("""\
    amends: "1"
    tables:
      rates:
        clause: 一
        replace_rows:
          - [expert, 300]
        add_rows:
          - [senior, 300]
        remove_rows:
          - nobody
    definitions:
      adult:
        clause: 一
        expr: person.years >= 21
    rules:
      - id: ghost
        replaces: true
        clause: 一
        require: "true"
        message: {pass: p, fail: f}
    remove:
      notes: [nothing]
    """)


def test_an_amendment_names_what_it_replaces_and_removes(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": AMEND_FAULTS})
    found = sorted((d.code, d.location.line) for d in errors(root) if d.location.file.endswith("2.yaml"))
    text = AMEND_FAULTS
    assert found == sorted([("amend.nothing", at(text, "[expert, 300]")[0]),
                            ("amend.conflict", at(text, "[senior, 300]")[0]),
                            ("amend.nothing", at(text, "- nobody")[0]),
                            ("amend.conflict", at(text, "  adult:")[0]),
                            ("amend.nothing", at(text, "- id: ghost")[0]),
                            ("amend.nothing", at(text, "notes: [nothing]")[0])])


def test_a_misspelt_row_key_of_an_amendment_hints_the_row_meant(tmp_path):
    text = AMENDMENT.replace("      - junior\n", "      - junoir\n")
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, expert_schema())
    [found] = [d for d in errors(root) if d.code == "amend.nothing"]
    assert "removes the row junoir of table 'rates'" in found.message and found.hint == "did you mean junior?"


def test_a_row_the_amended_file_left_out_by_its_own_error_is_said_there_only(tmp_path):
    """`- [senior, 200元]` in the amended file leaves that row out: the amendment replacing it is not also told
    that no such row exists (with a hint pointing at another row), the cell is the one mistake to fix."""
    broken = PARENT.replace("- [senior, 200]", "- [senior, 200元]")
    assert broken != PARENT
    root = make_store(tmp_path, {"p/parent/1.yaml": broken, "p/parent/2.yaml": AMENDMENT}, expert_schema())
    found = [(d.code, d.location.file.rsplit("/", 1)[-1]) for d in errors(root)]
    assert ("table.cell_type", "1.yaml") in found
    assert not [f for f in found if f[0] == "amend.nothing"], found


def test_a_misspelt_name_under_remove_hints_the_name_meant_and_an_unknown_kind_is_said_once(tmp_path):
    misspelt = AMENDMENT + "remove:\n  rules: [adlt]\n"
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": misspelt}, expert_schema())
    [found] = [d for d in errors(root) if d.code == "amend.nothing"]
    assert "removes rule 'adlt'" in found.message and found.hint == "did you mean 'adult'?"
    unknown_kind = AMENDMENT + "remove:\n  exclusions: [adult]\n"
    (root / "p/parent/2.yaml").write_text(unknown_kind, encoding="utf-8")
    codes_found = [d.code for d in errors(root)]
    assert "schema.invalid" in codes_found and "amend.nothing" not in codes_found, codes_found


def test_an_amendment_must_follow_the_version_it_amends(tmp_path):
    unknown = AMENDMENT.replace('amends: "1"', 'amends: "0"')
    root = make_store(tmp_path / "u", {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": unknown})
    assert "amend.unknown" in codes(root)
    middle = PARENT.replace('version: "1"', 'version: "1b"').replace("2024-01-01", "2024-05-01")
    root = make_store(tmp_path / "m", {"p/parent/1.yaml": PARENT, "p/parent/1b.yaml": middle,
                                       "p/parent/2.yaml": AMENDMENT})
    assert "amend.not_previous" in codes(root)


def test_an_amendment_removes_rules_and_replaces_with_a_label(tmp_path):
    text = AMENDMENT.replace("""rules:
  - id: not_old""", """remove:
  rules: [adult]
rules:
  - id: not_old""")
    schema = expert_schema()
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, schema)
    assert errors(root) == []
    decided = Engine.load(root, root.parent / "schemas").evaluator("p/parent").evaluate(senior_claim(years=10))
    assert decided.eligible is True and [r.id for r in decided.rules] == ["not_old"]


# -- several documents in one version ---------------------------------------------------------------------------

SEVERAL = head("p/parent", "1", "2024-01-01", number="N-1") + textwrap.dedent("""\
    sources:
      - number: N-9
        title: Annex notice
        issuers: [Office]
        clauses:
          附件: The annex.
    input:
      schema: claim.schema.json
    rules:
      - id: adult
        clause: 一
        require: person.years >= 18
        message: {pass: adult, fail: not adult}
      - id: annexed
        clause: 附件
        require: person.years < 99
        message: {pass: ok, fail: too old}
    """)


def test_a_version_of_several_documents_names_the_document_of_every_citation(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": SEVERAL})
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    decided = engine.evaluator("p/parent").evaluate(claim()).to_json()
    assert {r["id"]: r["clause"] for r in decided["rules"]} == {"adult": "N-1 一", "annexed": "N-9 附件"}
    assert set(engine.store.get("p/parent", "1").clauses) == {"N-1 一", "N-9 附件"}


def test_two_documents_may_not_share_a_clause_id_in_one_version(tmp_path):
    root = make_store(tmp_path, {"p/parent/1.yaml": SEVERAL.replace("附件: The annex.", "一: Again.")
                                 .replace("clause: 附件", "clause: 一")})
    assert "clause.duplicate" in codes(root)


# -- reuse from several policies (`includes`) ------------------------------------------------------------------

EXCLUSIONS = head("s/exclusions", "1", "2024-01-01", {"不含": "Not for minors or the retired."}, number="S-1") \
    + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    definitions:
      retired:
        clause: 不含
        expr: person.years >= 60
    rules:
      - id: not_minor
        clause: 不含
        require: person.years >= 16
        message: {pass: not a minor, fail: a minor}
      - id: not_retired
        clause: 不含
        require: not retired
        message: {pass: not retired, fail: retired}
    """)
LIMITS = head("s/limits", "1", "2024-01-01", {"限": "Only junior and senior."}, number="S-2") + textwrap.dedent("""\
    input:
      schema: claim.schema.json
    rules:
      - id: level_known
        clause: 限
        require: person.level in ["junior", "senior"]
        message: {pass: known, fail: unknown}
    """)
REUSER = head("p/city", "1", "2024-03-01", {"一": "Transposes; excludes as the shared list."}) + textwrap.dedent("""\
    extends: p/parent
    includes:
      - {policy: s/exclusions, clause: 一}
      - {policy: s/limits, clause: 一}
    """)


def reusing_store(where, city: str):
    """The parent, the two shared policies and a city file `city` that includes them."""
    return make_store(where, {"p/parent/1.yaml": PARENT, "s/exclusions/1.yaml": EXCLUSIONS, "s/limits/1.yaml": LIMITS,
                              "p/city/1.yaml": city})


def test_a_policy_reuses_rules_and_definitions_of_several_policies_without_copying(tmp_path):
    files = {"p/parent/1.yaml": PARENT, "s/exclusions/1.yaml": EXCLUSIONS, "s/limits/1.yaml": LIMITS,
             "p/city/1.yaml": REUSER}
    root = make_store(tmp_path, files)
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    decided = engine.evaluator("p/city").evaluate(claim(years=70))
    assert decided.eligible is False
    assert [r.id for r in decided.rules] == ["adult", "not_minor", "not_retired", "level_known"]
    assert [r.id for r in decided.rules if r.outcome == "fail"] == ["not_retired"]
    roles = {(ref["id"], ref["role"]) for ref in decided.to_json()["references"]}
    assert roles == {("p/parent", "extends"), ("s/exclusions", "includes"), ("s/limits", "includes")}


def test_only_takes_the_named_items_and_a_name_it_lacks_is_an_error(tmp_path):
    only = REUSER.replace("- {policy: s/exclusions, clause: 一}",
                          "- {policy: s/exclusions, clause: 一, only: [not_minor]}")
    root = reusing_store(tmp_path / "a", only)
    assert errors(root) == []
    decided = Engine.load(root, root.parent / "schemas").evaluator("p/city").evaluate(claim(years=70))
    assert decided.eligible is True and "not_retired" not in [r.id for r in decided.rules]
    wrong = only.replace("only: [not_minor]", "only: [not_minnor]")
    root = reusing_store(tmp_path / "b", wrong)
    found = errors(root)
    assert [d.code for d in found] == ["include.unknown"] and "did you mean 'not_minor'" in str(found[0].hint)


def test_only_brings_what_the_named_items_read(tmp_path):
    # not_retired reads the definition `retired`, which reads nothing more of s/exclusions: listing the rule is enough
    only = REUSER.replace("- {policy: s/exclusions, clause: 一}",
                          "- {policy: s/exclusions, clause: 一, only: [not_retired]}")
    root = reusing_store(tmp_path / "a", only)
    assert errors(root) == []
    evaluator = Engine.load(root, root.parent / "schemas").evaluator("p/city")
    assert [r.id for r in evaluator.evaluate(claim(years=70)).rules if r.outcome == "fail"] == ["not_retired"]
    assert evaluator.evaluate(claim(years=40)).eligible is True


def test_what_only_brings_along_gives_way_to_this_policys_own_name(tmp_path):
    # the city says what `retired` means itself: the included rule reads the city's definition, with no clash
    own = REUSER.replace("- {policy: s/exclusions, clause: 一}",
                         "- {policy: s/exclusions, clause: 一, only: [not_retired]}") + textwrap.dedent("""\
        definitions:
          retired:
            clause: 一
            expr: person.years >= 65
        """)
    root = reusing_store(tmp_path / "a", own)
    assert errors(root) == []
    evaluator = Engine.load(root, root.parent / "schemas").evaluator("p/city")
    assert evaluator.evaluate(claim(years=62)).eligible is True
    assert evaluator.evaluate(claim(years=66)).eligible is False
    # a name `only` lists itself still clashes with this policy's own
    listed = own.replace("only: [not_retired]", "only: [not_retired, retired]")
    root = reusing_store(tmp_path / "b", listed)
    assert [d.code for d in errors(root)] == ["override.conflict"]


def test_two_included_policies_that_give_one_name_clash_unless_this_version_overrides_it(tmp_path):
    clashing = LIMITS.replace("id: level_known", "id: not_minor")
    files = {"p/parent/1.yaml": PARENT, "s/exclusions/1.yaml": EXCLUSIONS, "s/limits/1.yaml": clashing,
             "p/city/1.yaml": REUSER}
    root = make_store(tmp_path / "a", files)
    found = errors(root)
    assert [d.code for d in found] == ["override.conflict"]
    assert "s/exclusions@1" in found[0].message and "s/limits@1" in found[0].message
    settled = REUSER + textwrap.dedent("""\
        rules:
          - id: not_minor
            overrides: true
            clause: 一
            require: person.years >= 18
            message: {pass: adult, fail: minor}
        """)
    root = make_store(tmp_path / "b", dict(files, **{"p/city/1.yaml": settled}))
    assert errors(root) == []


def test_including_a_policy_changes_no_digest_of_it(tmp_path):
    alone = make_store(tmp_path / "a", {"s/exclusions/1.yaml": EXCLUSIONS})
    both = reusing_store(tmp_path / "b", REUSER)
    assert Engine.load(alone, alone.parent / "schemas").store.get("s/exclusions", "1").digest == \
        Engine.load(both, both.parent / "schemas").store.get("s/exclusions", "1").digest


def test_an_amendment_of_an_amendment_carries_both(tmp_path):
    schema = expert_schema()
    third = head("p/parent", "3", "2025-01-01", {"一": "Third."}, number="N-3") + textwrap.dedent("""\
        amends: "2"
        tables:
          rates:
            clause: 一
            replace_rows:
              - [expert, 333]
        remove:
          rules: [not_old]
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": AMENDMENT, "p/parent/3.yaml": third},
                      schema)
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    resolved = engine.store.get("p/parent", "3")
    assert {k: str(r["amount"]) for (k,), r in resolved.tables["rates"].rows.items()} == {"senior": "250",
                                                                                           "expert": "333"}
    assert [r.id for r in resolved.rules] == ["adult"]
    assert {d["number"] for d in resolved.documents} == {"N-1", "N-2", "N-3"}
    decided = engine.evaluator("p/parent").evaluate(senior_claim("2025-02-01", years=70)).to_json()
    assert decided["eligible"] is True and [r["clause"] for r in decided["rules"]] == ["N-1 一"]


def test_own_facts_of_an_amended_version_are_carried(tmp_path):
    city2 = head("p/city", "2", "2024-09-01", {"二": "Later."}, number="N-2") + textwrap.dedent("""\
        amends: "1"
        rules:
          - id: months
            replaces: true
            clause: 二
            require: (person.months ?? 0) >= 3
            message: {pass: enough months, fail: too few months}
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": CITY_INLINE, "p/city/2.yaml": city2})
    assert errors(root) == []
    evaluator = Engine.load(root, root.parent / "schemas").evaluator("p/city")
    assert evaluator.evaluate(claim(months=4)).eligible is False  # 2024-06-01: version 1, six months
    later = dict(claim(months=4), applied_on="2024-10-01")
    assert evaluator.evaluate(later).eligible is True


def test_a_clause_removed_by_an_amendment_may_not_stay_cited(tmp_path):
    text = AMENDMENT + "remove:\n  clauses: [一]\n"
    schema = expert_schema()
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, schema)
    found = [d for d in errors(root) if d.code == "clause.unknown"]
    assert found and all("which this version removes" in d.message for d in found)
    assert {d.message.split(" cites")[0] for d in found} >= {"rule 'adult'", "definition 'adult'"}


def test_the_cached_store_is_read_again_when_a_facts_file_changes(tmp_path, monkeypatch):
    from engine.policies.cache import load_store

    monkeypatch.setenv("POLICY_CACHE", "1")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path / "cache"))
    city = CITY_INLINE.replace(textwrap.dedent("""\
        input:
          facts:
            person.months:
              clause: 一
              description: months paid here
              schema: {type: integer, minimum: 0, maximum: 12}
        """), "input:\n  facts: 1.facts.json\n")
    facts = {"person.months": {"clause": "一", "schema": {"type": "integer", "minimum": 0, "maximum": 12}}}
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city,
                                 "p/city/1.facts.json": json.dumps(facts)})
    first = load_store(root, root.parent / "schemas").get("p/city", "1").digest
    assert load_store(root, root.parent / "schemas").get("p/city", "1").digest == first
    facts["person.months"]["schema"]["maximum"] = 6
    (root / "p/city/1.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    assert load_store(root, root.parent / "schemas").get("p/city", "1").digest != first


def test_a_facts_file_is_neither_warned_about_nor_followed_through_a_link(tmp_path):
    city = CITY_INLINE.replace(textwrap.dedent("""\
        input:
          facts:
            person.months:
              clause: 一
              description: months paid here
              schema: {type: integer, minimum: 0, maximum: 12}
        """), "input:\n  facts: 1.facts.json\n")
    facts = {"person.months": {"clause": "一", "schema": {"type": "integer", "minimum": 0, "maximum": 12}}}
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/city/1.yaml": city})
    (tmp_path / "elsewhere.json").write_text(json.dumps(facts), encoding="utf-8")
    (root / "p/city/1.facts.json").symlink_to(tmp_path / "elsewhere.json")
    found = Engine.load(root, root.parent / "schemas").check()
    assert "facts.file" in [d.code for d in found if d.severity == "error"]
    (root / "p/city/1.facts.json").unlink()
    (root / "p/city/1.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    assert [d.code for d in Engine.load(root, root.parent / "schemas").check()] == []


def test_a_broken_amended_version_is_the_one_error_said_and_nothing_follows_from_it(tmp_path):
    """The version amended has an error its file cannot be read past: each amendment after it, and a city that
    extends the policy, point at it, and no false error follows (an amendment's replacements replacing nothing,
    a city's overrides overriding nothing)."""
    broken = PARENT.replace("issued_on: 2024-01-01\n", "issued_on: 2024-01-01\nissued_on: 2024-01-02\n")
    second = head("p/parent", "3", "2024-12-01", number="N-3") + textwrap.dedent("""\
        amends: "2"
        rules:
          - id: not_old
            replaces: true
            clause: 一
            require: person.years < 65
            message: {pass: not old, fail: old}
        """)
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
        extends: p/parent
        rules:
          - id: adult
            overrides: true
            clause: 一
            require: person.years >= 20
            message: {pass: adult, fail: not adult}
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": broken, "p/parent/2.yaml": AMENDMENT, "p/parent/3.yaml": second,
                                 "p/city/1.yaml": city})
    found = sorted({(d.code, Path(d.location.file).relative_to(root).as_posix()) for d in errors(root)})
    assert found == [("reference.unreadable", "p/city/1.yaml"), ("reference.unreadable", "p/parent/2.yaml"),
                     ("reference.unreadable", "p/parent/3.yaml"), ("yaml.duplicate_key", "p/parent/1.yaml")]
    said = {Path(d.location.file).name: d.message for d in errors(root) if d.code == "reference.unreadable"
            and "p/parent" in d.location.file}
    assert "the file of that version (" in said["2.yaml"] and "1.yaml" in said["2.yaml"]
    assert "p/parent@2, an amendment that could not be resolved itself" in said["3.yaml"]


def test_an_amendment_of_a_label_not_there_suggests_the_one_meant(tmp_path):
    unknown = AMENDMENT.replace('amends: "1"', 'amends: "11"')
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": unknown})
    [found] = errors(root)
    assert (found.code, found.hint) == ("amend.unknown", "did you mean '1'?")


def test_removing_a_definition_still_used_is_said_at_the_remove_entry(tmp_path):
    """Not as an unknown name in the file that wrote the rule carried over, which this version did not change."""
    schema = expert_schema()
    text = AMENDMENT + "remove:\n  definitions: [adult]\n"
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, schema)
    [found] = errors(root)
    assert found.code == "name.unknown" and found.location.file.endswith("2.yaml")
    assert (found.location.line, found.location.column) == (at(text, "[adult]")[0], at(text, "[adult]")[1] + 1)
    assert "'adult' is removed by this version, but rule 'adult' still uses it" in found.message
    assert "1.yaml:" in found.message
    # removed with the rule that used it, nothing is left to say
    both = text.replace("remove:\n", "remove:\n  rules: [adult]\n")
    root = make_store(tmp_path / "both", {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": both}, schema)
    assert errors(root) == []


def test_an_error_an_amendment_causes_in_an_item_carried_over_notes_the_amendment(tmp_path):
    """The rule is in the first file, which checks clean alone: the error says which version broke it."""
    text = head("p/parent", "2", "2024-09-01", number="N-2") + textwrap.dedent("""\
        amends: "1"
        definitions:
          adult:
            replaces: true
            clause: 一
            expr: person.years + 18
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text})
    [found] = errors(root)
    assert found.location.file.endswith("1.yaml") and found.location.line == at(PARENT, "require: adult")[0]
    [note] = found.notes
    assert note.message == "found when checking p/parent@2, which reads this item from here"
    assert note.location.file.endswith("2.yaml") and note.location.line == at(text, "amends:")[0]
    alone = make_store(tmp_path / "alone", {"p/parent/1.yaml": PARENT})
    assert errors(alone) == []


def test_an_amendment_may_cite_a_clause_of_the_version_it_amends(tmp_path):
    """A replaced rule that still carries out the earlier notice's clause cites it, by its id or in full; the
    decision shows it in full, with the earlier document's number."""
    schema = expert_schema()
    for cited in ("N-1 一", "一"):  # an own clause 一 exists too: the bare id is the amendment's own
        text = replacing_adult(f'"{cited}"')
        root = make_store(tmp_path / str(len(cited)), {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, schema)
        assert errors(root) == []
        engine = Engine.load(root, root.parent / "schemas")
        decided = engine.evaluator("p/parent").evaluate(senior_claim()).to_json()
        shown = {r["id"]: r["clause"] for r in decided["rules"]}["adult"]
        assert shown == ("N-1 一" if cited == "N-1 一" else "N-2 一")
    unknown = replacing_adult("九")
    root = make_store(tmp_path / "unknown", {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": unknown}, schema)
    [found] = errors(root)
    assert found.code == "clause.unknown" and found.location.line == at(unknown, "clause: 九")[0]
    assert "neither among source.clauses nor a clause of the version amended" in found.message


def test_an_amendment_cites_an_earlier_clause_by_its_id_alone(tmp_path):
    schema = expert_schema()
    parent = PARENT.replace("    一: First clause.\n", "    一: First clause.\n    三: Third clause.\n") \
        .replace("  - id: adult\n    clause: 一", "  - id: adult\n    clause: [一, 三]")
    text = replacing_adult("三")
    root = make_store(tmp_path, {"p/parent/1.yaml": parent, "p/parent/2.yaml": text}, schema)
    assert errors(root) == []
    engine = Engine.load(root, root.parent / "schemas")
    decided = engine.evaluator("p/parent").evaluate(senior_claim()).to_json()
    assert {r["id"]: r["clause"] for r in decided["rules"]}["adult"] == "N-1 三"


def test_a_name_an_amendments_own_rule_uses_after_removing_it_is_said_once(tmp_path):
    """At the rule, as an unknown name: the `remove:` entry form is for items carried over."""
    schema = expert_schema()
    text = AMENDMENT.replace("require: person.years < 60", "require: person.years < 60 and adult") \
        + "remove:\n  definitions: [adult]\n  rules: [adult]\n"
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text}, schema)
    [found] = errors(root)
    assert (found.code, found.location.line) == ("name.unknown", at(text, "and adult")[0])


def test_a_citys_own_use_of_a_definition_its_province_removed_is_the_citys_error(tmp_path):
    """Left out only where the province's amendment says it (the items it carries over): the city's own output
    naming what the province removed is an error in the city's file, never silently passed."""
    text = AMENDMENT + "remove:\n  definitions: [adult]\n  rules: [adult]\n"
    city = head("p/city", "1", "2024-03-01") + textwrap.dedent("""\
        extends: p/parent
        outputs:
          grown_up: {clause: 一, expr: adult}
        """)
    root = make_store(tmp_path, {"p/parent/1.yaml": PARENT, "p/parent/2.yaml": text, "p/city/1.yaml": city},
                      expert_schema())
    found = [(d.code, Path(d.location.file).relative_to(root).as_posix()) for d in errors(root)]
    assert ("name.unknown", "p/city/1.yaml") in found, found
    assert all(file != "p/parent/1.yaml" for _, file in found), found

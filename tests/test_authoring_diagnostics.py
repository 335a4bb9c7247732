"""Diagnostics officers can act on: one error for a misspelt key, with "did you mean"; the first definition
of a duplicate and the other file of an overlap shown as notes with their lines; clause ids in document
order."""
from __future__ import annotations

from engine.api import Engine
from tests.authoring_demo import POLICY, write_store


def check(tmp_path, text: str, extra: dict | None = None) -> list:
    policies = write_store(tmp_path)
    (policies / "demo" / "grant" / "2024-01-01.yaml").write_text(text, encoding="utf-8")
    for name, other in (extra or {}).items():
        (policies / "demo" / "grant" / name).write_text(other, encoding="utf-8")
    return [d for d in Engine.load(policies).check() if d.severity == "error"]


def test_a_misspelt_key_is_one_error_with_did_you_mean(tmp_path):
    [d] = check(tmp_path, POLICY.replace("    require: adult", "    requrie: adult"))
    assert d.code == "schema.invalid" and d.message.startswith("unknown key 'requrie'")
    assert d.hint == "did you mean 'require'? (require is required here and missing)"
    assert d.source_line == "    requrie: adult"


def test_a_misspelt_optional_key_also_gets_did_you_mean(tmp_path):
    [d] = check(tmp_path, POLICY.replace("  amounts:\n    clause: 二", "  amounts:\n    clause: 二\n    descripton: x"))
    assert d.message.startswith("unknown key 'descripton'") and d.hint == "did you mean 'description'?"


def test_a_duplicate_rule_id_notes_the_first_with_its_line(tmp_path):
    [d] = check(tmp_path, POLICY.replace("  - id: level_known", "  - id: is_adult"))
    first = POLICY.split("\n").index("  - id: is_adult") + 1
    assert d.code == "rule.duplicate" and d.message == f"rule id 'is_adult' is used twice (first on line {first})"
    [note] = d.notes
    assert (note.message, note.location.line, note.source_line) == ("first used here", first, "  - id: is_adult")
    rendered = d.render()
    assert f"  note: first used here: {d.location.file}:{first}:9" in rendered
    assert d.to_json()["notes"] == [{"message": "first used here", "file": d.location.file, "line": first,
                                     "column": 9}]


def test_a_duplicate_yaml_key_notes_the_first(tmp_path):
    [d] = check(tmp_path, POLICY.replace("issued_on: 2023-12-01", "issued_on: 2023-12-01\nissued_on: 2023-12-02"))
    assert d.code == "yaml.duplicate_key"
    [note] = d.notes
    assert note.source_line == "issued_on: 2023-12-01" and note.message == "first given here"


def test_clause_ids_are_listed_in_document_order_with_did_you_mean(tmp_path):
    [d] = check(tmp_path, POLICY.replace("    clause: 二\n    require: person.level",
                                         "    clause: 三三\n    require: person.level"))
    assert d.code == "clause.unknown"
    assert d.message == "clause '三三' is not among source.clauses (一, 二, 三)"
    assert d.hint == "did you mean '三'?"


def test_an_overlap_notes_the_other_file_with_its_line(tmp_path):
    other = POLICY.replace('version: "2024-01-01"', 'version: "second"')
    errors = check(tmp_path, POLICY, {"second.yaml": other})
    [d] = [e for e in errors if e.code == "version.overlap"]
    [note] = d.notes
    assert note.location.file != d.location.file
    assert note.source_line == "  from: 2024-01-01"
    assert "takes effect here" in note.message

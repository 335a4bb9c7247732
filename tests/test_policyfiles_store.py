"""The version store: which version is in force on a day, at the boundaries of every change;
versions that overlap or share a label; digests; and the seed policies' own timelines."""
from __future__ import annotations

import json
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from seedstore import SEED_POLICIES

from engine.api import Engine, PolicyNotFound, Selection
from engine.policies.store import PolicyStore

ROOT = Path(__file__).resolve().parent.parent
D = date.fromisoformat


def policy(pid: str, version: str, frm: str, to: str | None = None, issued: str | None = None,
           cell: int = 3300, extra: str = "") -> str:
    eff = f"  from: {frm}\n" + (f"  to: {to}\n" if to else "")
    return (f'policy: {pid}\nversion: "{version}"\ntitle: Title of {version}\neffective:\n{eff}'
            f"issued_on: {issued or frm}\n"
            "source:\n  number: N-1\n  title: Doc\n  issuers: [Office]\n  clauses:\n    一: Amounts.\n"
            "tables:\n  amounts:\n    clause: 一\n    key: [code]\n    columns: {code: string, amount: money}\n"
            f"    rows:\n      - [2-02-10-11, {cell}]\n" + textwrap.dedent(extra))


def make_store(tmp_path: Path, files: dict, schemas: dict | None = None) -> PolicyStore:
    folder = tmp_path / "policies"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "schemas").mkdir(exist_ok=True)
    for name, schema in (schemas or {}).items():
        (tmp_path / "schemas" / name).write_text(json.dumps(schema), encoding="utf-8")
    return PolicyStore.load(folder)


def codes(store: PolicyStore) -> list[str]:
    return [d.code for d in store.diagnostics]


def label(version) -> str | None:
    return version.version if version else None


# -- resolution at the boundaries ------------------------------------------------------------------


@pytest.fixture
def two_versions(tmp_path):
    store = make_store(tmp_path, {
        "t/amounts/2024-01-01.yaml": policy("t/amounts", "2024-01-01", "2024-01-01", issued="2023-12-01"),
        "t/amounts/2024-07-01.yaml": policy("t/amounts", "2024-07-01", "2024-07-01", issued="2024-06-01", cell=3500),
    })
    assert store.diagnostics == []
    return store


@pytest.mark.parametrize("day, expected", [
    ("2023-12-31", None),          # the day before the first version
    ("2024-01-01", "2024-01-01"),  # the day it takes effect
    ("2024-01-02", "2024-01-01"),
    ("2024-06-30", "2024-01-01"),  # the day before the change
    ("2024-07-01", "2024-07-01"),  # the day of the change
    ("2024-07-02", "2024-07-01"),  # the day after
    ("2099-12-31", "2024-07-01"),  # open-ended
])
def test_in_force_at_each_boundary(two_versions, day, expected):
    assert label(two_versions.in_force("t/amounts", D(day))) == expected


def test_versions_are_ordered_by_effective_date_and_until_is_the_day_before_the_next(two_versions):
    first, second = two_versions.versions("t/amounts")
    assert (first.version, second.version) == ("2024-01-01", "2024-07-01")
    assert two_versions.until(first) == D("2024-06-30")
    assert two_versions.until(second) is None


def test_version_order_does_not_depend_on_file_names(tmp_path):
    store = make_store(tmp_path, {
        "t/x/a.yaml": policy("t/x", "later", "2024-07-01"),
        "t/x/b.yaml": policy("t/x", "earlier", "2024-01-01"),
    })
    assert [v.version for v in store.versions("t/x")] == ["earlier", "later"]
    assert label(store.in_force("t/x", D("2024-06-30"))) == "earlier"
    assert label(store.in_force("t/x", D("2024-07-01"))) == "later"


def test_unknown_policy_has_nothing_in_force(two_versions):
    assert two_versions.in_force("t/none", D("2024-07-01")) is None
    assert two_versions.versions("t/none") == []


def test_explicit_end_date(tmp_path):
    store = make_store(tmp_path, {"t/x/1.yaml": policy("t/x", "1", "2024-01-01", to="2024-03-31")})
    assert store.diagnostics == []
    assert label(store.in_force("t/x", D("2024-03-30"))) == "1"
    assert label(store.in_force("t/x", D("2024-03-31"))) == "1"  # the last day is included
    assert store.in_force("t/x", D("2024-04-01")) is None        # the day after it: nothing
    assert store.until(store.get("t/x", "1")) == D("2024-03-31")


def test_gap_between_an_ended_version_and_the_next(tmp_path):
    store = make_store(tmp_path, {
        "t/x/1.yaml": policy("t/x", "1", "2024-01-01", to="2024-03-31"),
        "t/x/2.yaml": policy("t/x", "2", "2024-07-01"),
    })
    assert store.diagnostics == []
    assert label(store.in_force("t/x", D("2024-03-31"))) == "1"
    assert store.in_force("t/x", D("2024-04-01")) is None
    assert store.in_force("t/x", D("2024-06-30")) is None
    assert label(store.in_force("t/x", D("2024-07-01"))) == "2"
    assert store.until(store.get("t/x", "1")) == D("2024-03-31")


def test_end_date_the_day_before_the_next_version_is_not_an_overlap(tmp_path):
    store = make_store(tmp_path, {
        "t/x/1.yaml": policy("t/x", "1", "2024-01-01", to="2024-06-30"),
        "t/x/2.yaml": policy("t/x", "2", "2024-07-01"),
    })
    assert store.diagnostics == []
    assert label(store.in_force("t/x", D("2024-06-30"))) == "1"
    assert label(store.in_force("t/x", D("2024-07-01"))) == "2"


# -- known_on: only versions issued by then --------------------------------------------------------


@pytest.mark.parametrize("known_on, day, expected", [
    ("2024-05-31", "2024-07-15", "2024-01-01"),  # the new version was not yet issued
    ("2024-06-01", "2024-07-15", "2024-07-01"),  # issued that very day: known
    ("2024-06-01", "2024-06-30", "2024-01-01"),  # known but not yet in force
    ("2023-11-30", "2024-07-15", None),          # nothing issued yet
    ("2023-12-01", "2024-01-01", "2024-01-01"),
])
def test_known_on_filters_by_issued_on(two_versions, known_on, day, expected):
    assert label(two_versions.in_force("t/amounts", D(day), known_on=D(known_on))) == expected


def test_versions_known_on(two_versions):
    assert [v.version for v in two_versions.versions("t/amounts", known_on=D("2024-05-31"))] == ["2024-01-01"]
    assert [v.version for v in two_versions.versions("t/amounts", known_on=D("2024-06-01"))] == [
        "2024-01-01", "2024-07-01"]


# -- overlaps and duplicate labels -----------------------------------------------------------------


def test_two_versions_from_the_same_day_overlap(tmp_path):
    second = policy("t/x", "2", "2024-01-01")
    store = make_store(tmp_path, {"t/x/1.yaml": policy("t/x", "1", "2024-01-01"), "t/x/2.yaml": second})
    assert codes(store) == ["version.overlap"]
    d = store.diagnostics[0]
    assert d.location.file.endswith("t/x/2.yaml")
    assert d.location.line == second.splitlines().index("  from: 2024-01-01") + 1
    assert "t/x@2" in d.message and "t/x@1" in d.message and "2024-01-01" in d.message


def test_checking_only_the_file_an_overlap_notes_says_it(tmp_path):
    """Edited to the day of another version, a file's own check says so, though the error sits at the later file."""
    store = make_store(tmp_path, {"t/x/1.yaml": policy("t/x", "1", "2024-01-01"),
                                  "t/x/2.yaml": policy("t/x", "2", "2024-01-01")})
    first = next(v.file for v in store.versions("t/x") if v.version == "1")
    assert [d.code for d in Engine(store).check(only={first})] == ["version.overlap"]


def test_a_later_version_before_an_end_date_supersedes_it(tmp_path):
    first = policy("t/x", "1", "2024-01-01", to="2024-12-31")
    store = make_store(tmp_path, {"t/x/1.yaml": first, "t/x/2.yaml": policy("t/x", "2", "2024-07-01")})
    assert codes(store) == []
    assert store.until(store.get("t/x", "1")) == date(2024, 6, 30)
    assert store.in_force("t/x", date(2024, 6, 30)).version == "1"
    assert store.in_force("t/x", date(2024, 7, 1)).version == "2"
    assert store.in_force("t/x", date(2025, 1, 1)).version == "2"


def test_duplicate_version_label(tmp_path):
    second = policy("t/x", "1", "2024-07-01")
    store = make_store(tmp_path, {"t/x/a.yaml": policy("t/x", "1", "2024-01-01"), "t/x/b.yaml": second})
    assert "version.duplicate" in codes(store)
    d = next(d for d in store.diagnostics if d.code == "version.duplicate")
    assert d.location.file.endswith("t/x/b.yaml")
    assert d.location.line == second.splitlines().index('version: "1"') + 1
    assert "t/x@1 is defined twice" in d.message and "a.yaml" in d.message


def test_same_label_in_different_policies_is_fine(tmp_path):
    store = make_store(tmp_path, {"t/x/1.yaml": policy("t/x", "1", "2024-01-01"),
                                  "t/y/1.yaml": policy("t/y", "1", "2024-01-01")})
    assert store.diagnostics == []
    assert store.ids() == ["t/x", "t/y"]


def test_store_skips_case_files_and_reports_bad_files(tmp_path):
    store = make_store(tmp_path, {
        "t/x/1.yaml": policy("t/x", "1", "2024-01-01"),
        "t/x/1.cases.yaml": "cases: []\n",
        "t/x/notes.txt": "not yaml at all: [",
        "t/x/broken.yml": "policy: [\n",
    })
    assert codes(store) == ["file.ignored", "yaml.syntax"]  # a file that is not a policy's is named, not read
    assert store.diagnostics[0].location.file.endswith("notes.txt") and store.diagnostics[0].severity == "warning"
    assert store.diagnostics[1].location.file.endswith("broken.yml")
    assert [v.version for v in store.versions("t/x")] == ["1"]


def test_missing_policies_folder(tmp_path):
    store = PolicyStore.load(tmp_path / "nowhere")
    assert codes(store) == ["store.missing"]


# -- digests ---------------------------------------------------------------------------------------


def test_digest_is_stable_across_loads(tmp_path):
    files = {"t/x/1.yaml": policy("t/x", "1", "2024-01-01")}
    a = make_store(tmp_path / "a", files).get("t/x", "1").digest
    b = make_store(tmp_path / "b", files).get("t/x", "1").digest
    c = PolicyStore.load(tmp_path / "a" / "policies").get("t/x", "1").digest
    assert a == b == c
    assert a.startswith("sha256:") and len(a) == len("sha256:") + 64
    int(a.removeprefix("sha256:"), 16)


def test_digest_ignores_comments_key_order_and_flow_style(tmp_path):
    plain = policy("t/x", "1", "2024-01-01")
    restyled = "# a comment\n" + plain.replace(
        "  issuers: [Office]\n", "  issuers:   # who signed\n    - Office\n").replace(
        "  number: N-1\n  title: Doc\n", "  title: \"Doc\"\n  number: N-1\n").replace(
        "title: Title of 1\n", "").replace("issued_on: 2024-01-01\n", "issued_on: 2024-01-01\ntitle: 'Title of 1'\n")
    assert restyled != plain
    a = make_store(tmp_path / "a", {"t/x/1.yaml": plain})
    b = make_store(tmp_path / "b", {"t/x/1.yaml": restyled})
    assert a.diagnostics == b.diagnostics == []
    assert a.get("t/x", "1").digest == b.get("t/x", "1").digest


def test_digest_changes_when_a_table_cell_changes(tmp_path):
    a = make_store(tmp_path / "a", {"t/x/1.yaml": policy("t/x", "1", "2024-01-01", cell=3300)})
    b = make_store(tmp_path / "b", {"t/x/1.yaml": policy("t/x", "1", "2024-01-01", cell=3301)})
    assert a.get("t/x", "1").digest != b.get("t/x", "1").digest


def test_digest_changes_when_the_column_order_changes_the_meaning_of_rows(tmp_path):
    # Rows are lists: the column order says which cell is the hours and which the amount.
    a_text = policy("t/x", "1", "2024-01-01").replace(
        "columns: {code: string, amount: money}", "columns: {code: string, hours: int, amount: money}").replace(
        "[2-02-10-11, 3300]", "[2-02-10-11, 128, 3300]")
    b_text = a_text.replace("columns: {code: string, hours: int, amount: money}",
                            "columns: {code: string, amount: money, hours: int}")
    a = make_store(tmp_path / "a", {"t/x/1.yaml": a_text})
    b = make_store(tmp_path / "b", {"t/x/1.yaml": b_text})
    assert a.diagnostics == b.diagnostics == []
    row_a = a.get("t/x", "1").tables["amounts"].rows[("2-02-10-11",)]
    row_b = b.get("t/x", "1").tables["amounts"].rows[("2-02-10-11",)]
    assert (row_a["amount"], row_b["amount"]) == (3300, 128)  # different data ...
    assert a.get("t/x", "1").digest != b.get("t/x", "1").digest  # ... so a different digest


def test_digest_changes_when_the_input_schema_changes(tmp_path):
    text = policy("t/x", "1", "2024-01-01", extra="input:\n  schema: claim.schema.json\n")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    changed = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}, "required": ["n"]}
    a = make_store(tmp_path / "a", {"t/x/1.yaml": text}, {"claim.schema.json": schema})
    b = make_store(tmp_path / "b", {"t/x/1.yaml": text}, {"claim.schema.json": changed})
    assert a.diagnostics == b.diagnostics == []
    assert a.get("t/x", "1").digest != b.get("t/x", "1").digest


def test_missing_input_schema_is_reported_at_its_line(tmp_path):
    text = policy("t/x", "1", "2024-01-01", extra="input:\n  schema: nothing.schema.json\n")
    store = make_store(tmp_path, {"t/x/1.yaml": text})
    assert codes(store) == ["schema.missing"]
    assert store.diagnostics[0].location.line == text.splitlines().index("  schema: nothing.schema.json") + 1


# -- Engine.version_for ----------------------------------------------------------------------------


def test_version_for_pinned_and_in_force(two_versions):
    engine = Engine(two_versions)
    assert label(engine.version_for("t/amounts", D("2024-06-30"))) == "2024-01-01"
    assert label(engine.version_for("t/amounts", D("2024-07-01"))) == "2024-07-01"
    # A pinned version applies only within its own range ...
    pinned = Selection("2024-01-01")
    assert label(engine.version_for("t/amounts", D("2024-06-30"), pinned)) == "2024-01-01"
    assert engine.version_for("t/amounts", D("2024-07-01"), pinned) is None
    assert engine.version_for("t/amounts", D("2023-12-31"), pinned) is None
    # ... unless a what-if study asks for any date.
    what_if = Selection("2024-01-01", any_date=True)
    assert label(engine.version_for("t/amounts", D("2025-01-01"), what_if)) == "2024-01-01"
    assert label(engine.version_for("t/amounts", D("2024-07-15"), Selection(known_on=D("2024-05-31")))) == "2024-01-01"


def test_version_for_unknown_policy_or_version(two_versions):
    engine = Engine(two_versions)
    with pytest.raises(PolicyNotFound, match="t/none"):
        engine.version_for("t/none", D("2024-07-01"))
    with pytest.raises(PolicyNotFound, match="2024-01-01, 2024-07-01"):
        engine.version_for("t/amounts", D("2024-07-01"), Selection("2030-01-01"))


# -- the seed policies -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    store = PolicyStore.load(SEED_POLICIES)  # the seed versions, pinned (tests/seedstore.py)
    assert [d for d in store.diagnostics if d.severity == "error"] == []
    return store


def test_seed_store_ids(seed):
    assert seed.ids() == ["china/retirement-age", "jinhua/digital-engineer-subsidy", "zhejiang/digital-engineer"]
    assert [v.version for v in seed.versions("china/retirement-age")] == ["1978-06-02", "2025-01-01"]


def test_jinhua_is_not_in_force_before_2024_05_01(seed):
    assert seed.in_force("jinhua/digital-engineer-subsidy", D("2024-04-30")) is None
    v = seed.in_force("jinhua/digital-engineer-subsidy", D("2024-05-01"))
    assert v is not None and v.version == "2024-05-01"
    assert v.extends.policy_id == "zhejiang/digital-engineer"
    assert seed.in_force("jinhua/digital-engineer-subsidy", D("2024-05-02")).version == "2024-05-01"


def test_zhejiang_in_force_from_2023_09_16(seed):
    assert seed.in_force("zhejiang/digital-engineer", D("2023-09-15")) is None
    assert label(seed.in_force("zhejiang/digital-engineer", D("2023-09-16"))) == "2023-09-16"


@pytest.mark.parametrize("day, expected", [
    ("2024-12-31", "1978-06-02"),
    ("2025-01-01", "2025-01-01"),
    ("2025-01-02", "2025-01-01"),
])
def test_retirement_age_switches_on_2025_01_01(seed, day, expected):
    assert label(seed.in_force("china/retirement-age", D(day))) == expected


def test_retirement_age_2025_version_was_known_before_it_took_effect(seed):
    # Issued 2024-09-13: a decision made with what was known on 2024-09-12 still uses the old law in 2025.
    assert label(seed.in_force("china/retirement-age", D("2025-01-01"), known_on=D("2024-09-12"))) == "1978-06-02"
    assert label(seed.in_force("china/retirement-age", D("2025-01-01"), known_on=D("2024-09-13"))) == "2025-01-01"
    old = seed.get("china/retirement-age", "1978-06-02")
    assert seed.until(old) == D("2025-01-01") - timedelta(days=1)


def test_seed_digests_are_distinct_and_reproducible(seed):
    again = PolicyStore.load(SEED_POLICIES)
    digests = {v.key: v.digest for pid in seed.ids() for v in seed.versions(pid)}
    assert digests == {v.key: v.digest for pid in again.ids() for v in again.versions(pid)}
    assert len(set(digests.values())) == len(digests) == 4

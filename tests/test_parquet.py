"""Claims in Parquet files (engine/claims/parquet.py): the same claims as JSON Lines and as Parquet give the same
summary lines, counts and exit code, claim by claim, with --jobs, --columnar and on a `local:2` Dask cluster; a bad
row is the error record the same JSON claim gets and costs only itself; dates and numbers are read as strictly as
the JSON reader reads them; columns no exact fact has, and files that are not Parquet, are one clear error record."""
from __future__ import annotations

import copy
import importlib.util
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from clirun import run_policy

from engine.api import Engine
from engine.claims.partitions import Partition, partitions
from engine.cli import main as cli
from engine.decide.batch import count_lines
from engine.language.types import DECIMAL
from tests.authoring_demo import SCHEMA, write_store

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - pyarrow is part of the dev set-up
    if os.environ.get("CI") == "true":
        raise  # under CI a missing component fails the run: nothing is skipped there
    pytest.skip("pyarrow is not installed (pip install 'policy-engine[dask]')", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
STORE = ["--policies", str(FIXTURES / "store"), "--schemas", str(FIXTURES / "schemas")]
POLICY = "jinhua/digital-engineer-subsidy"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


to_parquet = _load("parquet")
generate = _load("generate")


def _generate(path: Path, n: int, seed: int) -> Path:
    path.write_bytes(b"".join(generate._dumps(claim) + b"\n" for claim in generate.claims(n, seed)))
    return path


@pytest.fixture(scope="module")
def record():
    return Engine.load(FIXTURES / "store", FIXTURES / "schemas").evaluator(POLICY).input_type()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    # invalid claims, leap days, month ends, absent optional facts among them
    return _generate(tmp_path_factory.mktemp("parquet") / "generated.jsonl", 2500, 5)


def run(capsys, *args: str) -> tuple[int, list, str]:
    code = cli.main([*STORE, "evaluate", "--policy", POLICY, "--format", "json", "--summary", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def _without_locations(lines: list) -> list:
    lines = copy.deepcopy(lines)
    for line in lines:
        if "error" in line:
            line["error"].pop("location", None)
    return lines


@pytest.mark.parametrize("dates", ["date32", "text"])
def test_the_same_claims_as_json_lines_and_as_parquet_give_the_same_summaries(capsys, generated, record, tmp_path,
                                                                              dates):
    kept, parquet = tmp_path / "kept.jsonl", tmp_path / "claims.parquet"
    written, left_out = to_parquet.convert(generated, parquet, record, dates, row_group=700, kept=kept)
    assert written > 2400 and left_out < 100  # only claims Parquet's typed columns cannot hold are left out
    as_json = run(capsys, str(kept))
    as_parquet = run(capsys, str(parquet))
    assert as_parquet[0] == as_json[0] == 2 and as_parquet[2] == as_json[2]  # exit code and counts
    errors = [line for line in as_parquet[1] if "error" in line]
    assert len(errors) > 20 and all(e["error"]["location"].startswith(f"{parquet}[") for e in errors)
    assert _without_locations(as_parquet[1]) == _without_locations(as_json[1])
    assert run(capsys, str(parquet), "--columnar") == as_parquet


def test_row_locations_count_from_zero_across_row_groups(capsys, tmp_path, record, generated):
    kept, parquet = tmp_path / "kept.jsonl", tmp_path / "claims.parquet"
    to_parquet.convert(generated, parquet, record, "text", row_group=300, kept=kept)
    lines = kept.read_bytes().splitlines()
    _, as_parquet, _ = run(capsys, str(parquet))
    _, as_json, _ = run(capsys, str(kept))
    for index, (p, j) in enumerate(zip(as_parquet, as_json, strict=True)):
        if "error" in p:
            assert p["error"]["location"] == f"{parquet}[{index}]"
            assert j["error"]["location"] == f"{kept}:{index + 1}" and lines[index]


def _damage_row_group(parquet: Path, group: int) -> None:
    """Flip the bytes of the first column chunk of `group`, as a disk or a copy cut short would."""
    chunk = pq.ParquetFile(parquet).metadata.row_group(group).column(0)
    data = bytearray(parquet.read_bytes())
    for at in range(chunk.data_page_offset, chunk.data_page_offset + chunk.total_compressed_size):
        data[at] ^= 0x5A
    parquet.write_bytes(bytes(data))


def test_a_damaged_row_group_is_an_error_record_for_each_of_its_rows_and_the_others_are_decided(
        capsys, tmp_path, record, generated):
    kept, parquet = tmp_path / "kept.jsonl", tmp_path / "claims.parquet"
    to_parquet.convert(generated, parquet, record, "date32", row_group=300, kept=kept)
    _, whole, _ = run(capsys, str(parquet))
    _damage_row_group(parquet, 1)
    for mode in ([], ["--columnar"]):
        code, lines, err = run(capsys, str(parquet), *mode)
        assert code == 2 and "Traceback" not in err
        assert len(lines) == len(whole)  # every row of the file is there, decided or named
        assert lines[:300] == whole[:300] and lines[600:] == whole[600:]
        for row, line in enumerate(lines[300:600], start=300):
            assert line["error"]["code"] == "claim.parquet" and line["error"]["location"] == f"{parquet}[{row}]"
            assert "its row group 1 (rows 300 to 599) is damaged" in line["error"]["message"]


def test_partitions_of_a_parquet_file_are_its_row_groups(tmp_path, record, generated):
    parquet = tmp_path / "claims.parquet"
    written, _ = to_parquet.convert(generated, parquet, record, "date32", row_group=1000)
    groups = pq.ParquetFile(parquet).metadata.num_row_groups
    assert groups == 3
    assert list(partitions([str(parquet)])) == [Partition(i, str(parquet), row_group=i) for i in range(groups)]
    assert count_lines([str(parquet)]) == written  # the progress bar's total, from the footer
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    assert list(partitions([str(fake)])) == [Partition(0, str(fake))]  # one partition: its error record


def test_the_folder_of_parts_of_a_parquet_file_is_a_part_per_row_group(capsys, tmp_path, record, generated):
    parquet = tmp_path / "claims.parquet"
    to_parquet.convert(generated, parquet, record, "date32", row_group=1000)
    whole = run(capsys, str(parquet))
    code, _, err = run(capsys, str(parquet), "--output", f"{tmp_path / 'parts'}/")
    parts = sorted((tmp_path / "parts").iterdir())
    assert code == whole[0] and err == whole[2] and [p.name for p in parts] == [f"part-0000{i}.jsonl" for i in range(3)]
    assert [json.loads(line) for p in parts for line in p.read_bytes().splitlines()] == whole[1]


# -- the converter of the benchmark is as strict as the JSON reader ---------------------------------------------

def test_the_converter_keeps_dates_only_as_yyyy_mm_dd_calendar_days_and_numbers_exactly(record, tmp_path):
    source = tmp_path / "claims.jsonl"
    base = _a_claim(tmp_path)
    claims = [base | {"applied_on": day} for day in ("2024-02-29", "20240301", "2023-02-29", "2024-W09-5")]
    source.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in claims) + b'{"claim_id": "a", "claim_id": "b"}\n')
    kept = tmp_path / "kept.jsonl"
    assert to_parquet.convert(source, tmp_path / "d.parquet", record, "date32", kept=kept) == (1, 4)
    assert orjson.loads(kept.read_bytes())["applied_on"] == "2024-02-29"
    assert pq.read_table(tmp_path / "d.parquet").column("applied_on").to_pylist() == [date(2024, 2, 29)]
    assert to_parquet.convert(source, tmp_path / "t.parquet", record, "text") == (4, 1)  # the reader decides those
    money = to_parquet.fitted
    hours = record.field("training").type.field("hours").type
    assert [money(v, hours) for v in (80, 0)] == [80, 0]
    assert [money(v, DECIMAL) for v in (Decimal("1234.50"), 7, Decimal("1E+2"))] == ["1234.50", "7", "1E+2"]
    with pytest.raises(ValueError):
        money(Decimal("80.0"), hours)  # an integer fact written with a fraction
    with pytest.raises(ValueError):
        money(1.5, DECIMAL)
    with pytest.raises(ValueError):
        money(2**63, hours)  # an int64 column cannot hold it: left out and counted, not a traceback


def _a_claim(tmp_path: Path) -> dict:
    return orjson.loads(_generate(tmp_path / "one.jsonl", 1, 1).read_bytes().splitlines()[0])


# -- a store with a money fact ------------------------------------------------------------------------------------

@pytest.fixture()
def money_store(tmp_path) -> Path:
    root = tmp_path / "store"
    write_store(root)
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["person"]["properties"]["income"] = {"type": "number", "minimum": 0}
    (root / "schemas" / "grant-claim.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return root


@pytest.fixture()
def decide(capsys):
    def decide(root: Path, *claims: str) -> tuple[int, list, str]:
        code = cli.main(["--policies", str(root / "policies"), "--schemas", str(root / "schemas"),
                         "evaluate", *claims, "--policy", "demo/grant", "--format", "json"])
        out, err = capsys.readouterr()
        return code, [json.loads(line) for line in out.splitlines()], err

    return decide


def _person(income_type, incomes, applied_on=None) -> pa.Table:
    person = pa.struct([("age", pa.int64()), ("level", pa.string()), ("income", income_type)])
    applied_on = applied_on or pa.array([f"2024-03-{i + 1:02d}" for i in range(len(incomes))])
    return pa.table({"claim_id": [f"C-{i}" for i in range(len(incomes))], "applied_on": applied_on,
                     "person": pa.array([{"age": 30, "level": "junior", "income": v} for v in incomes], person)})


def _as_json_lines(path: Path, claims: list[str]) -> Path:
    path.write_text("".join(claim + "\n" for claim in claims), encoding="utf-8")
    return path


def _claim(i: int, income: str = "1", applied_on: str | None = None) -> str:
    applied_on = applied_on or f"2024-03-{i + 1:02d}"
    return (f'{{"claim_id": "C-{i}", "applied_on": "{applied_on}", "person": {{"age": 30, "level": "junior", '
            f'"income": {income}}}}}')


def test_money_in_text_or_decimal128_is_exact_and_a_float_column_is_refused_by_name(money_store, tmp_path, decide):
    from engine.claims.parquet import read_parquet

    record = Engine.load(money_store / "policies", money_store / "schemas").evaluator("demo/grant").input_type()
    exact = tmp_path / "decimal.parquet"
    pq.write_table(_person(pa.decimal128(12, 2), [Decimal("1234.50"), Decimal("0.10"), None]), exact)
    text = tmp_path / "text.parquet"
    numbers = ["1234.50", "80", "1e2", "-0.0", "12,5", "1" * 41, "0" * 3]
    pq.write_table(_person(pa.string(), numbers), text)
    floats = tmp_path / "float.parquet"
    pq.write_table(_person(pa.float64(), [1234.5, 0.1, 2.0]), floats)
    assert [raw.data["person"].get("income") for raw in read_parquet(str(exact), record)] == \
        [Decimal("1234.50"), Decimal("0.10"), None]
    read = list(read_parquet(str(text), record))
    incomes = [raw.data["person"]["income"] if raw.data else raw.error.code for raw in read]
    assert incomes == [Decimal("1234.50"), 80, Decimal("1E+2"), Decimal("-0.0"), "12,5", "claim.number", "000"]
    assert [type(v) for v in incomes[:2]] == [Decimal, int]  # as the JSON reader reads 1234.50 and 80
    code, lines, err = decide(money_store, str(exact), str(text), str(floats))
    assert code == 2 and "Traceback" not in err and len(lines) == 3 + len(numbers) + 1
    as_json = _as_json_lines(tmp_path / "same.jsonl", [_claim(i, n) if n != "12,5" and n != "000" else
                                                       _claim(i, json.dumps(n)) for i, n in enumerate(numbers)])
    _, same, _ = decide(money_store, str(as_json))
    assert _without_locations(lines[3:3 + len(numbers)]) == _without_locations(same)
    assert [line["error"]["code"] for line in lines[3:3 + len(numbers)] if "error" in line] == \
        ["claim.invalid", "claim.number", "claim.invalid"]
    assert lines[3 + 4]["error"]["location"] == f"{text}[4]"
    refused = lines[-1]
    assert refused["error"]["code"] == "claim.column"
    assert refused["error"]["location"] == str(floats) and refused["error"]["path"] == "person.income"
    assert "column person.income is double" in refused["error"]["message"]


def test_dates_are_held_to_yyyy_mm_dd_and_real_days_as_json_texts_are(money_store, tmp_path, decide):
    days = ["2024-02-29", "2023-02-29", "20240301", "2024-3-1", "2024-W09-5", "0000-01-01"]
    as_text = tmp_path / "text.parquet"
    pq.write_table(_person(pa.int64(), [1] * len(days), pa.array(days)), as_text)
    as_json = _as_json_lines(tmp_path / "same.jsonl", [_claim(i, "1", day) for i, day in enumerate(days)])
    code, lines, err = decide(money_store, str(as_text))
    json_code, same, _ = decide(money_store, str(as_json))
    assert code == json_code == 2 and "Traceback" not in err
    assert _without_locations(lines) == _without_locations(same)
    assert [("error" in line) for line in lines] == [False, True, True, True, True, True]
    # date32 days before the year 1 or after 9999: refused as their text would be, the other rows decided
    out_of_range = pa.array([-800_000, 19_782, 3_000_000], pa.date32())
    wide = tmp_path / "wide.parquet"
    pq.write_table(_person(pa.int64(), [1, 1, 1], out_of_range), wide)
    code, lines, err = decide(money_store, str(wide))
    assert code == 2 and "Traceback" not in err
    assert [line.get("error", {}).get("path") for line in lines] == ["applied_on", None, "applied_on"]
    assert lines[1]["eligible"] is True and lines[1]["decision_date"] == "2024-02-29"


def test_a_file_that_is_not_parquet_is_one_error_record_and_the_run_goes_on(money_store, tmp_path, decide):
    fake = tmp_path / "claims.parquet"
    fake.write_bytes(b'{"claim_id": "C-1"}\n')
    good = tmp_path / "good.parquet"
    pq.write_table(_person(pa.decimal128(12, 2), [Decimal("1")]), good)
    missing = tmp_path / "missing.parquet"
    code, lines, err = decide(money_store, str(fake), str(missing), str(good))
    assert code == 2 and "Traceback" not in err
    assert lines[0]["error"]["code"] == "claim.parquet" and lines[0]["error"]["location"] == str(fake)
    assert "not a Parquet file" in lines[0]["error"]["message"]
    assert lines[1]["error"]["code"] == "claim.unreadable" and lines[1]["error"]["location"] == str(missing)
    assert lines[2]["eligible"] is True


def test_an_unknown_column_and_a_null_required_fact_are_the_errors_of_the_json_claims(money_store, tmp_path, decide):
    table = _person(pa.decimal128(12, 2), [Decimal("1"), Decimal("2"), Decimal("3")])
    table = table.append_column("colour", pa.array([None, "red", None]))
    table = table.set_column(1, "applied_on", pa.array([None, "2024-03-02", "2024-03-03"]))
    parquet = tmp_path / "claims.parquet"
    pq.write_table(table, parquet)
    as_json = tmp_path / "claims.jsonl"
    as_json.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in [
        {"claim_id": "C-0", "person": {"age": 30, "level": "junior", "income": 1}},
        {"claim_id": "C-1", "applied_on": "2024-03-02", "person": {"age": 30, "level": "junior", "income": 2},
         "colour": "red"},
        {"claim_id": "C-2", "applied_on": "2024-03-03", "person": {"age": 30, "level": "junior", "income": 3}}]))
    code, lines, _ = decide(money_store, str(parquet))
    json_code, json_lines, _ = decide(money_store, str(as_json))
    assert code == json_code == 2
    assert _without_locations(lines) == _without_locations(json_lines)
    assert [line.get("error", {}).get("code") for line in lines] == ["claim.invalid", "claim.invalid", None]


# -- worker processes: --jobs, and a Dask cluster ---------------------------------------------------------------

@pytest.mark.slow
def test_a_parquet_file_with_jobs_gives_the_lines_of_one_process(capsys, tmp_path, record, generated):
    parquet = tmp_path / "claims.parquet"
    to_parquet.convert(generated, parquet, record, "date32", row_group=700)
    one = run(capsys, str(parquet))
    for more in (["--jobs", "2"], ["--columnar", "--jobs", "2"]):
        assert run(capsys, str(parquet), *more) == one, more


@pytest.mark.slow
def test_a_parquet_file_on_a_local_cluster_gives_the_lines_of_one_process(tmp_path, record, generated):
    try:
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - Dask is part of the dev set-up
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Dask is not installed (pip install 'policy-engine[dask]')")
    parquet = tmp_path / "claims.parquet"
    to_parquet.convert(generated, parquet, record, "date32", row_group=500)
    command = [*STORE, "evaluate", str(parquet), "--policy", POLICY, "--format", "json", "--summary"]
    one = run_policy(*command, cwd=ROOT)  # without --dask
    cluster = run_policy(*command, "--dask", "local:2", cwd=ROOT)  # in this process too: the workers are processes
    assert one.returncode == cluster.returncode == 2, cluster.stderr.decode()
    assert cluster.stdout == one.stdout and cluster.stderr.splitlines()[-1] == one.stderr.splitlines()[-1]


@pytest.mark.parametrize("mode", ["--per-claim", "--columnar"])
def test_a_column_given_twice_is_refused_as_a_key_given_twice(capsys, tmp_path, mode):
    """Arrow allows two columns of one name; the last would quietly be the fact (a claim decided on 2099-01-01)."""
    table = pa.table({"claim_id": ["C-1"], "applied_on": ["2024-06-15"]})
    table = table.append_column("applied_on", pa.array(["2099-01-01"]))
    twice = pa.struct([("sex", pa.string()), ("sex", pa.string())])
    nested = pa.table({"claim_id": pa.array(["C-2"]), "applicant": pa.array([{"sex": "male"}], twice)})
    for name, data, path in (("top", table, "applied_on"), ("nested", nested, "applicant.sex")):
        target = tmp_path / f"{name}.parquet"
        pq.write_table(data, target)
        code, lines, _ = run(capsys, str(target), mode)
        assert code == 2 and [line["error"]["code"] for line in lines] == ["claim.duplicate_key"], lines
        assert lines[0]["error"]["path"] == path

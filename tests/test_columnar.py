"""The columnar engine (engine.columnar) against the per-claim engine: the same summary lines, byte for byte.

Seed policies through their pinned copies (bench/fixtures, tests/fixtures), the fictional test policies
(tests/fixtures/store: a second provincial version, another city), and random well-typed policies built from the
property tests' generators (tests/test_language_properties.py); on random claims, invalid ones included, absent
optional facts, leap days and month ends. Every construct is also forced to fall back, to show the fallback gives
the same lines too.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import random
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("numpy", reason="the columnar engine computes with NumPy (pip install numpy)")

from engine.api import Engine, Selection  # noqa: E402
from engine.claims.reader import RawClaim, read_claims, read_json  # noqa: E402
from engine.columnar import batch as columnar  # noqa: E402
from engine.decide.batch import Counts, OutputFormat, render  # noqa: E402
from engine.language.syntax import (  # noqa: E402
    Attr,
    Binary,
    Call,
    Comprehension,
    If,
    Index,
    ListLit,
    Literal,
    Name,
    Unary,
    to_source,
)
from tests.placing import policy_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = OutputFormat("json", summary=True)
ALL_NODES = frozenset((Attr, Binary, Call, Comprehension, If, Index, ListLit, Literal, Name, Unary))


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load(ROOT / "bench" / "generate.py", "bench_generate_for_columnar")
properties = _load(ROOT / "tests" / "test_language_properties.py", "language_properties_for_columnar")


ANY_VERSION = Selection()


def lines_both_ways(engine: Engine, policy: str, raws: list[RawClaim], as_of=None, selection=ANY_VERSION,
                    force_fallback: frozenset = frozenset(), chunk: int = 97) -> tuple[list[bytes], list[bytes]]:
    per_claim = engine.evaluator(policy, selection, explain=False, outputs=False)
    by_columns = engine.evaluator(policy, selection, explain=False, outputs=False)
    results = [per_claim.evaluate_raw(raw, as_of) for raw in raws]
    expected = [render(r, SUMMARY) for r in results]
    expected_counts = Counts()
    for r in results:
        expected_counts.add(r)
    stats = columnar.Stats()
    got: list[bytes] = []
    counts = Counts()
    for start in range(0, len(raws), chunk):
        data, c = columnar.decide_chunk(by_columns, raws[start:start + chunk], as_of, stats, force_fallback)
        got += data.splitlines(keepends=True)
        counts.merge(c)
    assert stats.failed_batches == 0
    assert counts == expected_counts
    assert stats.by_columns + stats.per_claim == len(raws)
    return expected, got


def assert_same(expected: list[bytes], got: list[bytes]) -> None:
    assert len(expected) == len(got)
    for i, (a, b) in enumerate(zip(expected, got, strict=True)):
        assert a == b, f"claim {i}:\nper claim {a.decode()}\ncolumns   {b.decode()}"


# -- seed policies (pinned copies) and fictional test policies, on the benchmark's claims -----------------------

def _shifted(claim: dict, rng: random.Random) -> dict:
    """The claim with its dates moved to leap days and month ends, or an optional fact taken away."""
    c = copy.deepcopy(claim)
    pick = rng.random()
    edges = [date(2024, 2, 29), date(2025, 2, 28), date(2024, 1, 31), date(2024, 4, 30), date(2025, 12, 31),
             date(2028, 2, 29), date(2025, 3, 1)]
    if pick < 0.3 and isinstance(c.get("level_certificate"), dict):
        c["level_certificate"]["issued_on"] = rng.choice(edges).isoformat()
    elif pick < 0.5:
        c["applied_on"] = rng.choice(edges + [date(2025, 1, 31) + timedelta(days=rng.randint(0, 60))]).isoformat()
    elif pick < 0.65 and isinstance(c.get("applicant"), dict):
        c["applicant"]["birth_date"] = rng.choice([date(1964, 2, 29), date(2008, 2, 29), date(1975, 1, 31),
                                                   date(1965, 4, 30)]).isoformat()
        c["applicant"].pop("id_number", None)
    elif pick < 0.8 and isinstance(c.get("applicant"), dict):
        c["applicant"].pop(rng.choice(["social_insurance", "graduate", "id_number", "female_retirement_base"]), None)
    elif pick < 0.85:
        c.pop("history", None)
    elif pick < 0.9:
        c.pop(rng.choice(list(c)), None)  # invalid: a required fact gone
    return c


def _bench_claims(n: int, seed: int) -> list[RawClaim]:
    maker = generate.Generator(seed)
    rng = random.Random(seed)
    raws = []
    for i in range(n):
        claim = maker.make(i)
        if rng.random() < 0.4:
            claim = _shifted(claim, rng)
        raws.append(RawClaim(orjson.loads(orjson.dumps(claim)), f"<claim {i}>"))
    return raws


STORES = {
    "bench": (ROOT / "bench" / "fixtures" / "store", ROOT / "bench" / "fixtures" / "schemas"),
    "tests": (ROOT / "tests" / "fixtures" / "store", ROOT / "tests" / "fixtures" / "schemas"),
}


@pytest.fixture(scope="module")
def bench_raws() -> list[RawClaim]:
    return _bench_claims(1500, 16)


@pytest.mark.parametrize("store,policy", [("bench", "jinhua/digital-engineer-subsidy"),
                                          ("tests", "jinhua/digital-engineer-subsidy"),
                                          ("tests", "wenzhou/digital-engineer-subsidy"),
                                          ("tests", "zhejiang/digital-engineer")])
def test_seed_and_fictional_policies_give_the_same_summaries(bench_raws, store, policy):
    engine = Engine.load(*STORES[store])
    expected, got = lines_both_ways(engine, policy, bench_raws)
    assert_same(expected, got)


def test_pinned_versions_known_on_and_as_of_give_the_same_summaries(bench_raws):
    engine = Engine.load(*STORES["tests"])
    for selection, as_of in [(Selection("2023-09-16"), None), (Selection(known_on=date(2025, 2, 1)), None),
                             (Selection("2023-09-16", any_date=True), None),
                             (Selection("2025-03-01", any_date=True), None),
                             (Selection(), date(2025, 3, 1)), (Selection(), date(2024, 2, 29))]:
        expected, got = lines_both_ways(engine, "zhejiang/digital-engineer", bench_raws[:400], as_of, selection)
        assert_same(expected, got)


def test_fixture_claims_and_unreadable_lines_give_the_same_summaries(tmp_path):
    lines = (ROOT / "tests" / "fixtures" / "claims.jsonl").read_bytes().splitlines(keepends=True)
    lines += [b'{"claim_id": "dup", "claim_id": "dup"}\n', b'{"claim_id": 1.50000000000000000001}\n', b"not json\n",
              b"[1, 2]\n", b'{"claim_id": "x", "applied_on": "2024-02-30"}\n']
    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"".join(lines))
    engine = Engine.load(*STORES["tests"])
    raws = list(read_claims([str(path)], lazy=True))
    expected, got = lines_both_ways(engine, "jinhua/digital-engineer-subsidy", raws)
    assert_same(expected, got)


def test_every_construct_forced_to_fall_back_gives_the_same_summaries(bench_raws):
    engine = Engine.load(*STORES["tests"])
    for forced in [ALL_NODES, frozenset((Comprehension,)), frozenset((Index, Call)), frozenset(("add_months",)),
                   frozenset((Binary,))]:
        expected, got = lines_both_ways(engine, "jinhua/digital-engineer-subsidy", bench_raws[:300],
                                        force_fallback=forced)
        assert_same(expected, got)


def test_the_columns_decide_most_claims_and_say_what_fell_back(bench_raws):
    engine = Engine.load(*STORES["bench"])
    evaluator = engine.evaluator("jinhua/digital-engineer-subsidy", explain=False, outputs=False)
    stats = columnar.Stats()
    columnar.decide_chunk(evaluator, bench_raws, None, stats)
    assert stats.by_columns > 0.8 * len(bench_raws)
    assert stats.by_columns + stats.per_claim == len(bench_raws)
    forced = columnar.Stats()
    columnar.decide_chunk(evaluator, bench_raws[:50], None, forced, frozenset(("add_months",)))
    assert any("add_months" in text for texts in columnar.STATS.fell_back.values() for text in texts)
    # and in the Stats the chunk was given (a --dask partition's, which the driver reports), the columns compiled or not
    for stats in (forced, columnar.Stats()):
        columnar.decide_chunk(evaluator, bench_raws[:50], None, stats, frozenset(("add_months",)))
        assert any("add_months" in text for texts in stats.fell_back.values() for text in texts)



def test_a_summary_run_decides_by_columns_by_default_where_they_pay(tmp_path, capsys, monkeypatch):
    from engine.cli import developers
    from engine.cli.main import main

    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"".join(orjson.dumps(raw.data) + b"\n" for raw in _bench_claims(300, 21)))
    store, schemas = STORES["bench"]

    def run(*more: str) -> tuple[int, str, str]:
        code = main(["--policies", str(store), "--schemas", str(schemas), "evaluate", str(path), "--policy",
                     "jinhua/digital-engineer-subsidy", "--format", "json", "--summary", "-v", *more])
        out, err = capsys.readouterr()
        return code, out, err

    monkeypatch.setattr(developers, "COLUMNS_FROM_BYTES", path.stat().st_size)  # this file is big enough
    by_default, per_claim, by_columns = run(), run("--per-claim"), run("--columnar")
    assert "columnar engine:" in by_default[2] and "columnar engine:" in by_columns[2]
    assert "columnar engine:" not in per_claim[2]
    assert by_default[:2] == per_claim[:2] == by_columns[:2]  # exit code and lines
    monkeypatch.setattr(developers, "COLUMNS_FROM_BYTES", path.stat().st_size + 1)  # now it is not
    assert "columnar engine:" not in run()[2]


def test_columns_pay_for_regular_files_big_enough_together(tmp_path):
    from engine.cli.developers import COLUMNS_FROM_BYTES, columns_pay

    small, half, big = tmp_path / "small.jsonl", tmp_path / "half.jsonl", tmp_path / "big.jsonl"
    small.write_bytes(b"{}\n")
    for path, size in ((half, COLUMNS_FROM_BYTES // 2), (big, COLUMNS_FROM_BYTES)):
        with path.open("wb") as handle:
            handle.truncate(size)  # sparse: only the size is read
    assert columns_pay([str(big)]) and columns_pay([str(half), str(half)])
    assert not columns_pay([str(small)]) and not columns_pay([str(half)])
    assert not columns_pay(["-"]) and not columns_pay([str(big), "-"])  # standard input: length unknown
    assert not columns_pay([str(big), str(tmp_path / "missing.jsonl")]) and not columns_pay([str(tmp_path)])

# -- random well-typed policies ------------------------------------------------------------------------------

def _policy(rules: list[str], amount: str, check: str | None) -> str:
    lines = ["policy: test/policy", 'version: "1"', "title: T", "effective:", "  from: 2000-01-01",
             "issued_on: 1900-01-01", "source:", "  number: N", "  title: T", "  issuers: [X]", "  clauses:",
             "    c: text", "not_computable:", "  - {clause: c, reason: r}", "input:", "  schema: t.schema.json"]
    if check:
        lines += ["  checks:", "    - id: k", "      fact: n",
                  f"      require: {json.dumps(check, ensure_ascii=False)}", "      message: m"]
    lines += properties.POLICY_EXTRAS.rstrip("\n").splitlines()
    lines.append("rules:")
    for i, rule in enumerate(rules):
        lines += [f"  - id: r{i}", "    clause: c", f"    require: {json.dumps(rule, ensure_ascii=False)}",
                  "    message: {pass: p, fail: f}"]
    lines += ["decision:", "  clause: c", f"  amount: {json.dumps(amount, ensure_ascii=False)}", "  currency: CNY"]
    return "\n".join(lines) + "\n"


def _random_engine(folder: Path, rules: list[str], amount: str, check: str | None) -> Engine:
    (folder / "policies").mkdir()
    (folder / "schemas").mkdir()
    (folder / "schemas" / "t.schema.json").write_text(json.dumps(properties.SCHEMA), encoding="utf-8")
    text = _policy(rules, amount, check)
    policy_path(folder / "policies", text).write_text(text, encoding="utf-8")
    return Engine.load(folder / "policies", folder / "schemas")


def _json_line(claim: dict) -> bytes:
    """JSON text with exact decimals (written as numbers, as a producer of claims would)."""
    text = json.dumps(claim, ensure_ascii=False, default=lambda v: f"@@{v}@@")
    return re.sub(r'"@@([^@]*)@@"', r"\1", text).encode("utf-8")


def _claims_json(claims: list[dict], rng: random.Random) -> list[RawClaim]:
    raws = []
    for i, facts in enumerate(claims):
        claim = properties.to_json_claim(facts)
        claim["on"] = rng.choice([claim["on"], "2024-02-29", "2023-01-31", "2024-04-30", "1999-12-31"])
        roll = rng.random()
        if roll < 0.08:
            claim.pop(rng.choice(list(claim)))  # invalid: a required fact gone
        elif roll < 0.12:
            claim["n"] = "many"  # invalid: not an integer
        elif roll < 0.16:
            claim["born"] = "2023-02-29"  # no such day
        raws.append(read_json(_json_line(claim), f"<claim {i}>"))
    return raws


RULES = st.lists(properties.typed(properties.BOOL, 3, ()), min_size=1, max_size=4)
AMOUNT = properties.typed(properties.DEC, 2, ())
CHECK = st.none() | properties.typed(properties.BOOL, 1, ())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rules=RULES, amount=AMOUNT, check=CHECK, claims=st.lists(properties.claims(), min_size=1, max_size=40),
       seed=st.integers(0, 2**16), forced=st.sampled_from([frozenset(), frozenset(), ALL_NODES,
                                                           frozenset((Comprehension, Index))]))
def test_random_policies_give_the_same_summaries(rules, amount, check, claims, seed, forced):
    texts = [to_source(r) for r in rules]
    with tempfile.TemporaryDirectory() as tmp:
        engine = _random_engine(Path(tmp), texts, to_source(amount), to_source(check) if check else None)
        problems = [d.render() for d in engine.check() if d.severity == "error"]
        assert problems == []
        raws = _claims_json(claims, random.Random(seed))
        expected, got = lines_both_ways(engine, "test/policy", raws, force_fallback=forced, chunk=7)
        assert_same(expected, got)


def test_a_fixed_random_sample_of_policies_gives_the_same_summaries(tmp_path):
    """A few of the random policies, drawn once with a fixed seed, for the quick (not slow) run."""
    rng = random.Random(20261202)
    samples = [(["n > m and flag", "count(g in items where g.v > n) <= 2", "has(opt) or s == \"a\"",
                 "add_months(born, n) <= on"],
                "sum(g.amt for g in items) + (rate[s].amt ?? 1.5) / (if flag then 3 else 7)", "n != 99"),
               (["any(g in filter(h in items where h.k in [\"a\", \"b\"]) where g.at >= born)",
                 "(opt ?? 0) + twice(n) < 30", "rate[t] == null or scaled(e) > 0"],
                "round(d * 2 - e, 1)", None),
               # a list column whose rows fault where flag is false (no such day in the ID)
               (["s in [s, if flag then s else resident_id_sex(\"330702199002300014\")]"], "d", None)]
    refused_below_zero = 0
    for i, (rules, amount, check) in enumerate(samples):
        folder = tmp_path / str(i)
        folder.mkdir()
        engine = _random_engine(folder, rules, amount, check)
        assert [d.render() for d in engine.check() if d.severity == "error"] == []
        claims = [_plain_claim(rng) for _ in range(400)]
        raws = _claims_json(claims, rng)
        for forced in (frozenset(), ALL_NODES):
            expected, got = lines_both_ways(engine, "test/policy", raws, force_fallback=forced, chunk=53)
            assert_same(expected, got)
            refused_below_zero += sum(b'"evaluation.negative_amount"' in line for line in expected)
    assert refused_below_zero  # amounts below zero met, and refused alike by both engines


def _plain_claim(rng: random.Random) -> dict:
    def day(first: int, last: int) -> date:
        return date(first, 1, 1) + timedelta(days=rng.randint(0, (date(last, 12, 31) - date(first, 1, 1)).days))

    from decimal import Decimal
    items = [{"k": rng.choice(["a", "b", "3307", "z"]), "v": rng.randint(-5, 9),
              "amt": Decimal(rng.randint(-10000, 10000)) / 100, "at": day(2000, 2030)}
             for _ in range(rng.randint(0, 4))]
    claim = {"id": f"c{rng.randint(0, 999)}", "n": rng.randint(-60, 60), "m": rng.randint(-60, 60),
             "d": Decimal(rng.randint(-100000, 100000)) / 100, "e": Decimal(rng.randint(-100, 100)),
             "flag": rng.random() < 0.5, "s": rng.choice(properties.WORDS), "t": rng.choice(properties.WORDS),
             "born": rng.choice([day(1950, 2030), date(2000, 2, 29), date(2001, 1, 31)]), "on": day(2000, 2030),
             "items": items}
    if rng.random() < 0.5:
        claim["opt"] = rng.randint(-20, 20)
    return claim


# -- the column reader: lines written in every way, values invalid in every column -----------------------------

_ODD_VALUES = [80.0, 80.5, "80", None, True, 0, -1, [], {}, "", "x:y", "2024-02-30", "2023-02-29", "2024-13-01",
               "２０２４-01-01", 12345678901234567890, 2**64, "330702\n", "3307", "male ", "X" * 70]


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))
    else:
        yield path


def _set(value, path, new):
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def _shuffled(value, rng: random.Random):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _written(claim: dict, rng: random.Random) -> bytes:
    """One JSON line of the claim, laid out at random: spacing, key order, escapes, a repeated key, a line end."""
    claim = _shuffled(claim, rng) if rng.random() < 0.3 else claim
    separators = rng.choice([(",", ":"), (", ", ": "), (" ,", " : ")])
    text = json.dumps(claim, ensure_ascii=rng.random() < 0.3, separators=separators)
    roll = rng.random()
    if roll < 0.05:
        text = text[:-1] + separators[0] + '"claim_id"' + separators[1] + '"again"}'  # a repeated key
    elif roll < 0.08:
        text = text[:-1] + separators[0] + '"extra"' + separators[1] + "1}"  # a key the schema does not name
    elif roll < 0.10:
        text = text.replace('"claim_id"', '"claim\\u005fid"', 1)  # the same key, written with an escape
    elif roll < 0.12:
        text = text.replace("某:学校", "某\\u003a学校")  # a `:` in a text, written as an escape
    elif roll < 0.14:
        text = "  " + text + "\t"
    return (text + rng.choice(["\n", "\r\n"])).encode("utf-8")


def _odd_lines(n: int, seed: int) -> bytes:
    maker = generate.Generator(seed)
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        claim = maker.make(i)
        if rng.random() < 0.3:
            claim = _shifted(claim, rng)
        if rng.random() < 0.35:  # one value of one column made odd: of another type, inexact, no day, too long
            paths = list(_leaves(claim))
            if paths:
                _set(claim, rng.choice(paths), rng.choice(_ODD_VALUES))
        if rng.random() < 0.15 and isinstance(claim.get("training"), dict):
            claim["training"]["institution"] = "某:学校"  # a `:` in a text
        try:
            line = _written(claim, rng)
        except ValueError:
            continue
        if rng.random() < 0.02:
            line = line.replace(b"80", b"80.000000000000000000000001", 1)
        lines.append(line)
    lines += [b'{"claim_id": "big", "n": 1e400}\n', b"\xef\xbb\xbf{}\n", b'{"claim_id": "\\ud800"}\n', b"\n"]
    return b"".join(lines)


@pytest.mark.parametrize("seed", [1, 2])
def test_lines_written_in_every_way_and_odd_values_give_the_same_summaries(tmp_path, seed):
    path = tmp_path / "claims.jsonl"
    path.write_bytes(_odd_lines(700, seed))
    for store in ("bench", "tests"):
        engine = Engine.load(*STORES[store])
        raws = list(read_claims([str(path)], lazy=True))
        expected, got = lines_both_ways(engine, "jinhua/digital-engineer-subsidy", raws, chunk=211)
        assert_same(expected, got)


def test_the_column_reader_takes_the_plain_lines_and_leaves_the_doubtful_ones():
    engine = Engine.load(*STORES["bench"])
    evaluator = engine.evaluator("jinhua/digital-engineer-subsidy", explain=False, outputs=False)
    from engine.columnar.reader import Layout

    layout = Layout.of(evaluator.claim_reader())
    assert layout is not None
    maker = generate.Generator(5)
    plain = [orjson.dumps(maker.make(i)) + b"\n" for i in range(50)]
    doubtful = [plain[0].replace(b'"applied_on"', b'"claim_id":"twice","applied_on"'),  # a repeated key
                plain[1].replace(b'"hours":', b'"hours":1.0,"x":', 1).replace(b',"x":', b',"hours_":', 1),
                plain[2].replace(b"}", b',"unknown":1}', 1)]
    raws = list(read_claims_from(plain + doubtful))
    batch = layout.read(raws)
    invalid = {i for i, raw in enumerate(raws[:50]) if evaluator.claim_reader().facts(raw.parsed())[1] is not None}
    assert set(batch.per_claim) >= {50, 51, 52}
    assert set(batch.taken.tolist()) == set(range(50)) - invalid - set(batch.per_claim)
    assert len(batch.taken) > 40


def read_claims_from(lines: list[bytes]):
    from engine.claims.reader import read_lines

    return read_lines(lines, "<lines>")


def test_calendar_functions_on_day_numbers_are_the_builtins():
    """age, months_between, add_months, year, month and day computed on day numbers (NumPy) give the built-ins'
    values, and add_months' faults, on every pair of days around leap days and month ends, and at the calendar's
    ends."""
    from engine.columnar import builtin_arrays, columns, compiler
    from engine.language import builtins

    days = [date(2023, 12, 20) + timedelta(days=i) for i in range(0, 480, 3)]
    days += [date(1999, 12, 25) + timedelta(days=i) for i in range(0, 80)]
    days += [date(2100, 2, 27), date(2100, 3, 1), date(1, 1, 1), date(1, 12, 31), date(9999, 12, 31), date(9999, 1, 31)]
    starts = [a for a in days for _ in days]
    ends = [b for _ in days for b in days]

    def column(values):
        return columns.Col(columns.objects(values, len(values)))

    n = len(starts)
    assert builtin_arrays._age_days([column(starts), column(ends)], n).values.tolist() == [
        builtins.age(a, b) for a, b in zip(starts, ends, strict=True)]
    assert builtin_arrays._months_between_days([column(starts), column(ends)], n).values.tolist() == [
        builtins.months_between(a, b) for a, b in zip(starts, ends, strict=True)]
    offsets = [-120_000, -13, -12, -1, 0, 1, 11, 12, 13, 24, 600, 119_988, 120_000]
    shifted = [d for d in days for _ in offsets]
    months = [k for _ in days for k in offsets]
    got = builtin_arrays._add_months_days([column(shifted), column(months)], len(shifted))
    faults = got.bad.tolist() if got.bad is not None else [False] * len(shifted)
    for d, k, value, fault in zip(shifted, months, got.values.tolist(), faults, strict=True):
        try:
            expected = builtins.add_months.__wrapped__(d, k)
        except builtins.EvaluationFault:
            assert fault, (d, k)
        else:
            assert not fault and value == expected and type(value) is date, (d, k, value, expected)
    for index, part in enumerate(("year", "month", "day")):
        assert builtin_arrays._part_of_day(index)([column(days)], len(days)).values.tolist() == [
            getattr(d, part) for d in days]
    # dates computed on day numbers (add_months) compare with encoded dates by their day numbers, as dates compare
    later = builtin_arrays._add_months_days([column(starts), column([1] * n)], n)
    assert isinstance(later, columns.DayCol)
    good = [not bad for bad in later.bad.tolist()]  # a month after 9999-12-31 is no day
    assert good.count(False) == len(days)
    encoded = columns.Col(columns.objects(ends, n))
    encoded.codes, encoded.uniques = columns.encode(encoded.values)
    for name, op in (("<=", columns.np.less_equal), ("==", columns.np.equal), (">", columns.np.greater)):
        expected = [compiler._PYTHON_COMPARE[name](b, builtins.add_months.__wrapped__(a, 1)) if ok else None
                    for a, b, ok in zip(starts, ends, good, strict=True)]
        got = compiler._compare(op, encoded, later, n).values.tolist()
        assert [value if ok else None for value, ok in zip(got, good, strict=True)] == expected
    made = later.values.tolist()
    assert [d.toordinal() for d, ok in zip(made, good, strict=True) if ok] == [
        k for k, ok in zip(later.days.tolist(), good, strict=True) if ok]


def test_resident_id_functions_on_digits_are_the_builtins():
    """resident_id_valid, resident_id_birth_date and resident_id_sex computed on the digits (NumPy) give the
    built-ins' values, and their faults, on valid numbers, wrong check characters, birth dates that are no day, and
    texts that are no number at all."""
    from engine.columnar import builtin_arrays, columns
    from engine.language import builtins

    rng = random.Random(11643)

    def with_check(first17: str) -> str:
        total = (1 - 2 * int(first17, 13)) % 11
        return first17 + ("X" if total == 10 else str(total))

    numbers = []
    for _ in range(400):
        born = date(1900, 1, 1) + timedelta(days=rng.randrange(80_000))
        first17 = f"{rng.randrange(110000, 999999)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        numbers.append(with_check(first17))
        numbers.append(first17 + rng.choice("0123456789X"))  # a check character, right or not
    numbers += [with_check(f"330702{y}{m}{d}123") for y, m, d in (("2023", "02", "29"), ("2024", "02", "29"),
                ("2024", "13", "01"), ("0000", "01", "01"), ("2024", "04", "31"), ("2024", "00", "10"),
                ("1999", "12", "00"), ("9999", "12", "31"))]
    numbers += ["33070219900101123x", "3307021990010112", "33070219900101123XX", "33070219900101１２３4", "",
                "a" * 18, "330702199001011234\n"[:18] + "\n", "33070219900101123-"]
    col = columns.Col(columns.objects(numbers, len(numbers)))
    n = len(numbers)
    valid = builtin_arrays._resident_id_valid_digits([col], n)
    assert valid.values.tolist() == [builtins.resident_id_valid(v) for v in numbers]
    for index, fn in ((2, builtins.resident_id_birth_date), (3, builtins.resident_id_sex)):
        got = builtin_arrays._resident_id_part(index)([col], n)
        faults = got.bad.tolist() if got.bad is not None else [False] * n
        for number, value, fault in zip(numbers, got.values.tolist(), faults, strict=True):
            try:
                expected = fn(number)
            except builtins.EvaluationFault:
                assert fault, number
            else:
                assert not fault and value == expected and type(value) is type(expected), (number, value, expected)


def test_dates_read_with_numpy_are_those_the_validator_and_the_converter_take():
    """The column reader takes a date written YYYY-MM-DD that is a calendar day without the validator: every text it
    takes so, the validator's "date" format takes too, and date.fromisoformat reads as that day; every other text
    (no day, the year 0, another form, other digits) is left to the validator and the per-claim converter."""
    import jsonschema_rs

    from engine.columnar import reader
    from engine.core.isodate import written_as_date

    validator = jsonschema_rs.validator_for({"type": "string", "format": "date"}, validate_formats=True)
    years = (0, 1, 4, 99, 100, 400, 1582, 1900, 1999, 2000, 2023, 2024, 2100, 9999)
    texts = [f"{y:04d}-{m:02d}-{d:02d}" for y in years for m in range(14) for d in range(33)]
    texts += ["2024-1-01", "2024-01-1", "20240101", "2024/01/01", "2024-01-01\n", " 2024-01-0", "２０２４-01-01",
              "2024-01-0１", "2024-01-01T", "+202-01-01", "", "abcd-ef-gh", "2024-02-2a", "2024-0a-01"]
    for text, taken in zip(texts, reader._calendar_days(texts).tolist(), strict=True):
        try:
            day = date.fromisoformat(text) if written_as_date(text) else None
        except ValueError:
            day = None
        if taken:
            assert validator.is_valid(text) and day is not None and day.isoformat() == text, text
        else:
            assert day is None, text


def test_lines_msgspec_decodes_are_read_as_the_per_claim_reader_reads_them():
    """The column reader decodes JSON Lines with msgspec into Structs made from the input schema: every date it
    takes is a text the validator's "date" format takes and the per-claim converter reads as that day; a repeated
    key, a whole number written 80.0 or beyond 64 bits, null, an unknown key, a lone surrogate and a day that is no
    day are refused by msgspec or the columns and left to the per-claim reader."""
    import jsonschema_rs
    import msgspec

    from engine.core.isodate import parse_date, written_as_date

    validator = jsonschema_rs.validator_for({"type": "string", "format": "date"}, validate_formats=True)
    decode = msgspec.json.Decoder(date).decode
    years = (0, 1, 4, 99, 100, 400, 1582, 1900, 1999, 2000, 2023, 2024, 2100, 9999)
    texts = [f"{y:04d}-{m:02d}-{d:02d}" for y in years for m in range(14) for d in range(33)]
    texts += ["2024-1-01", "20240101", "2024-01-01T00:00", "2024-01-01Z", "+2024-01-01", "２０２４-01-01", "2024-W01-1"]
    for text in texts:
        try:
            day = decode(orjson.dumps(text))
        except msgspec.ValidationError:
            continue
        assert validator.is_valid(text) and written_as_date(text) and parse_date(text) == day, text
    engine = Engine.load(*STORES["bench"])
    evaluator = engine.evaluator("jinhua/digital-engineer-subsidy", explain=False, outputs=False)
    from engine.columnar.reader import Layout

    layout = Layout.of(evaluator.claim_reader())
    assert layout is not None
    plain = orjson.dumps(generate.Generator(5).make(0)) + b"\n"
    hours = plain[plain.index(b'"hours":') + 8:].split(b",")[0]
    doubtful = [plain.replace(b'"applied_on"', b'"claim_id":"twice","applied_on"'),
                plain.replace(b'"hours":' + hours, b'"hours":' + hours + b".0"),
                plain.replace(b'"hours":' + hours, b'"hours":' + str(2 ** 64 + 80).encode()),
                plain.replace(b'"hours":' + hours, b'"hours":null'),
                plain.replace(b'"training":{', b'"training":{"unknown":1,'),
                plain.replace(b'"claim_id":"', b'"claim_id":"\\ud800'),
                re.sub(rb'"applied_on":"[^"]*"', b'"applied_on":"2024-02-30"', plain)]
    batch = layout.read(list(read_claims_from([plain] + doubtful)))
    assert batch.taken.tolist() == [0] and batch.per_claim == list(range(1, len(doubtful) + 1))


@pytest.mark.parametrize("schema, fact_type", [
    ({"type": "string", "enum": ["junior", "senior"]}, "STRING"), ({"enum": ["a", "b:c", "é"]}, "STRING"),
    ({"type": "integer", "enum": [50, 55]}, "INT"), ({"type": "string", "minLength": 1, "maxLength": 3}, "STRING"),
    ({"type": "integer", "minimum": 0, "maximum": 10000}, "INT"), ({"type": "integer", "minimum": 5}, "INT"),
    ({"type": "boolean"}, "BOOL"), ({"type": "string", "format": "date"}, "DATE")])
def test_leaves_msgspec_checks_alone_take_what_the_validator_takes(schema, fact_type):
    """A leaf whose whole schema msgspec checks while decoding (an enum, a text's length, a whole number's bounds, a
    boolean, a plain date) is not given to the validator: msgspec takes exactly the values of the leaf's type that
    the validator takes (in code points for lengths; whole numbers within 64 bits), and the per-claim reader reads
    the others."""
    import jsonschema_rs
    import msgspec

    from engine.columnar import reader
    from engine.language import types

    leaf = reader._Leaf(getattr(types, fact_type), schema, schema, False)
    decode = msgspec.json.Decoder(reader._leaf_type(leaf)).decode
    assert leaf.decoded
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    values = ["junior", "senior", "Junior", "a", "b:c", "é", "e\u0301", "", "ab", "abc", "abcd", "日本語", "日本語x",
              50, 55, 60, -1, 0, 4, 5, 10000, 10001, 2 ** 63, True, False, None, 50.0, "50", "2024-02-29", "2023-02-29",
              "2024-13-01", [], {}]
    for value in values:
        try:
            decode(orjson.dumps(value))
        except msgspec.ValidationError:
            beyond = type(value) is int and value >= 2 ** 63  # read by the per-claim reader, as orjson does not read it
            assert beyond or not (validator.is_valid(value) and type(value) in leaf.types), value
        else:
            assert validator.is_valid(value), value


def test_floor_of_a_quotient_of_whole_numbers_is_the_divided_and_floored_value(tmp_path):
    """floor(a / b) of whole numbers, which the columns compute as a // b: the same outcomes and amounts as the
    per-claim engine's decimal division then floor, for negative numbers, a zero divisor (a fault: undecided), and
    numbers beyond a million (computed the plain way)."""
    rules = ["floor(n / 3) >= floor(m / -7)", "n > 5 or floor(n / (m - m)) == 0", "floor((n * 1000000) / 7) != 3"]
    engine = _random_engine(tmp_path, rules, "floor(n / 4) * 1.5 + floor(m / n)", None)
    rng = random.Random(7)
    claims = [{"id": f"c{i}", "on": "2024-05-01", "n": rng.randint(-40, 40), "m": rng.choice([0, 1, -1, 13, -29]),
               "d": 1, "e": 2, "flag": True, "s": "a", "t": "b", "born": "2000-01-31", "items": []}
              for i in range(300)]
    raws = [read_json(_json_line(claim), f"<claim {i}>") for i, claim in enumerate(claims)]
    expected, got = lines_both_ways(engine, "test/policy", raws)
    assert_same(expected, got)
    assert len({line for line in expected if b'"eligible":true' in line}) > 5


@pytest.mark.parametrize("schema, root", [
    ({"type": "string", "pattern": "^[0-9]{17}[0-9X]$"}, {}),
    ({"$ref": "#/$defs/code"}, {"$defs": {"code": {"type": "string", "pattern": "^[1-8][0-9]{5}$"}}}),
    ({"type": "string", "format": "email"}, {}),
    ({"$id": "https://example.org/id", "type": "string", "pattern": "^a"}, {})])
def test_a_leafs_new_values_checked_in_one_call_are_refused_as_the_validator_refuses_each(schema, root):
    """The values of a leaf the validator checks are checked together, a chunk's new ones in one call: exactly
    those the validator refuses one by one are bad, chunk after chunk (some of the values known already)."""
    import jsonschema_rs

    from engine.columnar import reader
    from engine.language import types

    leaf = reader._Leaf(types.STRING, schema, root, False)
    validator = jsonschema_rs.validator_for(dict(schema) | root, validate_formats=True)
    first = ["330106199207194967", "33010619920719496", "33010619920719496X", "330106", "1330106", "a@b.org",
             "a@", "abc", "", "日本語"]
    second = first[3:] + ["330782200106018125", "x@y", "a" * 30, "919999"]
    for values in (first, second):
        assert leaf.bad_values(set(values)) == {v for v in values if not validator.is_valid(v)}


def test_input_check_errors_put_together_from_their_line_say_where_each_claim_is(tmp_path):
    """The error line of a claim failing an input check is made once per check and gets each claim's id, date and
    location put in: the per-claim engine's bytes, for a file whose name needs escaping in JSON (a quote, a
    backslash, Chinese) and for one orjson cannot write (a byte that is no UTF-8, a lone surrogate in the name)."""
    maker = generate.Generator(11)
    text = b"".join(orjson.dumps(maker.make(i)) + b"\n" for i in range(400))
    engine = Engine.load(*STORES["bench"])
    for name in ('odd "name" \\ 名.jsonl', os.fsdecode(b"odd-\xff.jsonl")):
        path = tmp_path / name
        path.write_bytes(text)
        raws = list(read_claims([str(path)], lazy=True))
        expected, got = lines_both_ways(engine, "jinhua/digital-engineer-subsidy", raws, chunk=150)
        assert_same(expected, got)
        assert sum(b'"claim.invalid"' in line and b'"check"' in line for line in got) > 10


def test_claims_on_standard_input_are_read_into_columns_as_a_file_is(capsys, monkeypatch):
    """Standard input's claims come as claims made already, each with its own line: the columns read those lines
    (it was an internal error, exit 70, for any input)."""
    from tests.clirun import invoke

    fixtures = Path(__file__).resolve().parent / "fixtures"
    lines = (fixtures / "claims.jsonl").read_bytes().splitlines(keepends=True)[:6]
    data = b"".join(lines) + b'{"claim_id": "DUP", "claim_id": "DUP2"}\n' + b"not json\n"
    where = ("--policies", fixtures / "store", "--schemas", fixtures / "schemas")
    answers = {}
    for mode in ("--columnar", "--per-claim"):
        answers[mode] = invoke(capsys, *where, "evaluate", "-", "--policy", "jinhua/digital-engineer-subsidy",
                               "--format", "json", "--summary", mode, stdin=data, monkeypatch=monkeypatch)
    assert answers["--columnar"][:2] == answers["--per-claim"][:2]
    code, out, _ = answers["--columnar"]
    assert code == 2 and len(out.splitlines()) == 8 and '"claim.duplicate_key"' in out


@pytest.mark.slow
def test_what_the_columns_did_is_counted_in_the_workers_of_jobs_too(capsys, tmp_path):
    """`-v` with --jobs counts every chunk, the workers' too (it counted the first chunk only, the parent's)."""
    from tests.clirun import invoke

    spec = importlib.util.spec_from_file_location("generate", Path(__file__).resolve().parent.parent / "bench" /
                                                  "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    claims = tmp_path / "claims.jsonl"
    claims.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in generate.claims(9000, 3)))
    fixtures = Path(__file__).resolve().parent / "fixtures"
    where = ("--policies", fixtures / "store", "--schemas", fixtures / "schemas")
    reports = []
    for jobs in ("1", "2"):
        code, _, err = invoke(capsys, *where, "evaluate", claims, "--policy", "jinhua/digital-engineer-subsidy",
                              "--format", "json", "--summary", "--columnar", "-v", "--jobs", jobs, "-q")
        reports.append([line for line in err.splitlines() if "claims decided by columns" in line])
    assert reports[0] == reports[1] and reports[0], reports

"""The benchmark's claims (bench/generate.py): the engine agrees with the hand-written baseline
(bench/baseline.py) on every one of them, and `policy evaluate` gives the same lines whether it reads
a file on one process, on two (--jobs 2) or from standard input. No timing here: bench/run.py times.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from engine.api import Engine
from engine.decide.results import ClaimError

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
# the versions bench/baseline.py encodes, pinned as copies: a new file under policies/ changes nothing here
STORE = ROOT / "bench" / "fixtures" / "store"
SCHEMAS = ROOT / "bench" / "fixtures" / "schemas"
N_CLAIMS = 3000
SEED = 20240501


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


baseline = _load("baseline")
generate = _load("generate")


@pytest.fixture(scope="module")
def claims() -> list[dict]:
    # a huge history (5,000 grants) about every 500 claims, so a few thousand claims hold several
    return list(generate.claims(N_CLAIMS, SEED, huge_every=500))


@pytest.fixture(scope="module")
def claims_file(claims, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "claims.jsonl"
    path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in claims))
    return path


def _engine_view(result):
    if isinstance(result, ClaimError):
        return ("rejected", result.kind)
    return ("decided", result.eligible, result.amount, frozenset(result.failed_rules))


def _baseline_view(result):
    if isinstance(result, baseline.Rejected):
        return ("rejected", result.kind)
    return ("decided", result.eligible, result.amount, frozenset(result.failed_rules))


@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explained"])
def test_engine_agrees_with_baseline_on_every_claim(claims, explain):
    evaluator = Engine.load(STORE, SCHEMAS).evaluator(POLICY, explain=explain)
    differences = []
    for claim in claims:
        got, want = _engine_view(evaluator.evaluate(claim)), _baseline_view(baseline.decide(claim))
        if got != want:
            differences.append(f"{claim['claim_id']}: engine {got}, baseline {want}")
    assert not differences, f"{len(differences)} of {len(claims)} claims differ:\n" + "\n".join(differences[:20])


def test_generated_mix_reaches_every_rule_and_outcome(claims):
    outcomes = Counter()
    for claim in claims:
        result = baseline.decide(claim)
        if isinstance(result, baseline.Rejected):
            outcomes[result.kind] += 1
        else:
            outcomes["eligible" if result.eligible else "ineligible"] += 1
            outcomes.update(result.failed_rules)
    for what in ("eligible", "ineligible", "invalid", "not_in_force", *baseline.RULES):
        assert outcomes[what] >= 3, f"the generated batch has only {outcomes[what]} claims with {what}: {outcomes}"
    assert any(len(c.get("history", ())) >= 5000 for c in claims)


def test_the_pinned_copies_are_the_seed_versions_the_baseline_encodes():
    """The copies decide as the seed files they were taken from (their digests are equal) while those exist."""
    pinned = Engine.load(STORE, SCHEMAS).store
    live = Engine.load(ROOT / "policies", ROOT / "schemas").store
    for pid in pinned.ids():
        for version in pinned.versions(pid):
            original = live.get(pid, version.version)
            if original is not None:
                assert original.digest == version.digest, f"bench/fixtures/store has an old copy of {version.key}"


def test_generator_is_deterministic_and_prefix_stable():
    first = [orjson.dumps(c) for c in generate.claims(200, 7)]
    assert first == [orjson.dumps(c) for c in generate.claims(200, 7)]
    assert first[:50] == [orjson.dumps(c) for c in generate.claims(50, 7)]
    assert first != [orjson.dumps(c) for c in generate.claims(200, 8)]


def _policy(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys, cli; sys.exit(cli.main(sys.argv[1:]))",
                           "--policies", str(STORE), "--schemas", str(SCHEMAS), *args],
                          cwd=ROOT, input=stdin, capture_output=True, timeout=600)


def test_jobs_and_stdin_give_the_same_lines_as_one_process(claims, claims_file):
    common = ["--policy", POLICY, "--format", "json", "--summary", "-q"]
    single = _policy(["evaluate", str(claims_file), *common])
    double = _policy(["evaluate", str(claims_file), *common, "--jobs", "2"])
    piped = _policy(["evaluate", "-", *common], stdin=claims_file.read_bytes())
    for run in (single, double, piped):
        assert run.returncode in (0, 2, 3), run.stderr.decode()
        assert run.stderr == b"", run.stderr.decode()

    lines = single.stdout.splitlines()
    assert len(lines) == len(claims)
    assert [orjson.loads(line)["claim_id"] for line in lines] == [c["claim_id"] for c in claims]
    assert double.stdout == single.stdout
    assert double.returncode == single.returncode
    # an invalid claim's error names where it was read: the file and line, or <stdin> and line
    located = piped.stdout.replace(b'"location":"<stdin>:', b'"location":"' + str(claims_file).encode() + b":")
    assert located == single.stdout
    assert piped.returncode == single.returncode

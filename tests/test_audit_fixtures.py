"""The fictional fixture store is what it claims to be: marked fictional, seed copies unchanged, and
a clean `policy check` — the proof that a new notice needs only a new file."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from clirun import invoke
from seedstore import SEED_POLICIES, SEED_SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
STORE = ["--policies", str(FIX / "store"), "--schemas", str(FIX / "schemas")]
SEED = ["--policies", str(SEED_POLICIES), "--schemas", str(SEED_SCHEMAS)]  # the seed versions, pinned
COPIES = ["china/retirement-age/1978-06-02.yaml", "china/retirement-age/2025-01-01.yaml",
          "zhejiang/digital-engineer/2023-09-16.yaml", "jinhua/digital-engineer-subsidy/2024-05-01.yaml"]
FICTIONAL = ["zhejiang/digital-engineer/2025-03-01.yaml", "wenzhou/digital-engineer-subsidy/2024-09-01.yaml"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "policy-cache"))


run = invoke


def test_every_fixture_file_says_it_is_fictional():
    files = [p for p in FIX.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.relative_to(FIX).as_posix() for p in files} >= {
        "README.md", "claims.jsonl", "make_claims.py", "copy_seed.py", "schemas/training-claim.schema.json",
        *(f"store/{name}" for name in COPIES + FICTIONAL)}
    for path in files:
        if path.suffix in (".json", ".jsonl"):
            continue  # JSON has no comments: README.md and make_claims.py speak for these
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert "虚构 / FICTIONAL" in first and "for tests only" in first, path
    assert all(json.loads(line)["claim_id"].startswith("FICT-")
               for line in (FIX / "claims.jsonl").read_text(encoding="utf-8").splitlines())
    # the fictional documents carry （虚构） in their number, so no one takes them for real notices
    for name in FICTIONAL:
        assert "（虚构）" in (FIX / "store" / name).read_text(encoding="utf-8").split("number:", 1)[1].splitlines()[0]


def test_nothing_fictional_in_the_real_policies():
    for path in (ROOT / "policies").rglob("*.yaml"):
        assert "虚构" not in path.read_text(encoding="utf-8"), path
    assert not (ROOT / "policies" / "wenzhou").exists()
    assert not (ROOT / "policies" / "zhejiang" / "digital-engineer" / "2025-03-01.yaml").exists()


def test_the_schema_is_an_exact_copy():
    assert (FIX / "schemas" / "training-claim.schema.json").read_bytes() == \
        (ROOT / "schemas" / "training-claim.schema.json").read_bytes()


def test_seed_copies_have_the_seed_digests(capsys):
    """A copy that drifted from policies/ fails here: re-run tests/fixtures/copy_seed.py."""
    for pid in ("china/retirement-age", "zhejiang/digital-engineer", "jinhua/digital-engineer-subsidy"):
        _, seed, _ = run(capsys, *SEED, "timeline", pid, "--format", "json")
        _, fixture, _ = run(capsys, *STORE, "timeline", pid, "--format", "json")
        seed_rows = {r["version"]: r["digest"] for r in map(json.loads, seed.splitlines())}
        fixture_rows = {r["version"]: r["digest"] for r in map(json.loads, fixture.splitlines())}
        assert {v: fixture_rows[v] for v in seed_rows} == seed_rows, f"{pid}: run tests/fixtures/copy_seed.py"


def test_claims_file_is_what_make_claims_writes():
    spec = importlib.util.spec_from_file_location("make_claims", FIX / "make_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = (FIX / "claims.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == module.CLAIMS
    assert len(lines) == 30
    assert [c["claim_id"] for c in module.CLAIMS] == [f"FICT-JH-{i:02d}" for i in range(1, 22)] + \
        [f"FICT-WZ-{i:02d}" for i in range(1, 10)]


def test_fixture_store_checks_clean(capsys):
    code, out, err = run(capsys, *STORE, "check")
    assert (code, out) == (0, "")
    assert err.strip() == "0 errors, 0 warnings in 6 policy versions"


def test_fixture_store_lists_both_new_files(capsys):
    code, out, _ = run(capsys, *STORE, "list", "--format", "json")
    assert code == 0
    assert [(r["id"], r["versions"]) for r in map(json.loads, out.splitlines())] == [
        ("china/retirement-age", ["1978-06-02", "2025-01-01"]),
        ("jinhua/digital-engineer-subsidy", ["2024-05-01"]),
        ("wenzhou/digital-engineer-subsidy", ["2024-09-01"]),
        ("zhejiang/digital-engineer", ["2023-09-16", "2025-03-01"]),
    ]

"""Decisions recorded before later notices were added (tests/fixtures/notices/) still verify as reproduced, with
exactly the versions they recorded; and a decision under a policy with its own facts records the shared schema
file's digest, its own facts being in its version's digest."""
from __future__ import annotations

import json
from pathlib import Path

import orjson
import yaml
from test_fictional_notices import seed_store

from engine.api import Engine
from engine.audit.casefile import merge_patch
from engine.audit.verify import Claims, Verifier, record_of
from engine.claims.reader import RawClaim, read_claims

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TAIZHOU_CASES = FIXTURES / "notices/policies/taizhou/digital-engineer-subsidy/2024-10-01.cases.yaml"


def _verify(engine: Engine, records: list[dict], raws: list[RawClaim]) -> list:
    verifier = Verifier(engine, Claims(raws=raws))
    return [verifier.check(record_of(json.loads(orjson.dumps(r)), f"record {i}")) for i, r in enumerate(records, 1)]


def test_decisions_recorded_before_the_notices_are_reproduced_after(tmp_path):
    before_root = seed_store(tmp_path / "before", with_notices=False)
    after_root = seed_store(tmp_path / "after", with_notices=True)
    before = Engine.load(before_root, before_root.parent / "schemas")
    after = Engine.load(after_root, after_root.parent / "schemas")
    raws = [r.parsed() for r in read_claims([str(FIXTURES / "claims.jsonl")])]
    raws = [r for r in raws if r.data["claim_id"].startswith("FICT-JH-")]
    for summary in (False, True):
        evaluator = before.evaluator("jinhua/digital-engineer-subsidy", explain=not summary, outputs=not summary)
        records = [evaluator.evaluate_raw(raw).to_json(summary=summary) for raw in raws]
        outcomes = _verify(after, records, raws)
        assert [(o.record.claim_id, o.status, o.differences) for o in outcomes] == [
            (r["claim_id"], "reproduced", []) for r in records]


def test_own_facts_are_in_the_version_digest_and_the_schema_file_is_listed(tmp_path):
    root = seed_store(tmp_path, with_notices=True)
    engine = Engine.load(root, root.parent / "schemas")
    cases = yaml.safe_load(TAIZHOU_CASES.read_text(encoding="utf-8"))
    claim = merge_patch(cases["base"], {})
    decision = engine.evaluator(cases["policy"]).evaluate(json.loads(json.dumps(claim, default=str)))
    record = decision.to_json()
    shared = engine.store.schemas["training-claim.schema.json"]
    assert record["schemas"] == [{"name": shared.name, "digest": shared.digest}]
    (outcome,) = _verify(engine, [record], [RawClaim(json.loads(json.dumps(claim, default=str)), "<claim>")])
    assert (outcome.status, outcome.differences) == ("reproduced", []), outcome.differences
    # the own facts file is the version's content: editing it changes that version's digest, which verify names
    facts = root / "taizhou/digital-engineer-subsidy/2024-10-01.facts.json"
    data = json.loads(facts.read_text(encoding="utf-8"))
    facts.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    data_text = facts.read_text(encoding="utf-8")
    facts.write_text(data_text.replace('"description"', '"title"', 1) if '"description"' in data_text
                     else data_text.replace("{", '{"title": "edited", ', 1), encoding="utf-8")
    edited = Engine.load(root, root.parent / "schemas")
    (outcome,) = _verify(edited, [record], [RawClaim(json.loads(json.dumps(claim, default=str)), "<claim>")])
    assert outcome.status == "differs"
    assert any(d.startswith("taizhou/digital-engineer-subsidy@2024-10-01 digest differs") for d in
               outcome.differences), outcome.differences

"""What a fresh process spends before its first decision, measured inside it (bench/run.py runs it).

    python bench/startup.py POLICIES SCHEMAS POLICY CLAIM.json  ->  one JSON line of seconds

import: importing the engine; load: reading the store (from the cache when $POLICY_CACHE_DIR holds it);
compile: linking, checking and compiling the program for the claim's decision date; decide: the claim.
"""
from __future__ import annotations

import json
import sys
import time

start = time.perf_counter()
from engine.api import Engine  # noqa: E402
from engine.policies.cache import load_store  # noqa: E402

imported = time.perf_counter()
policies, schemas, policy, claim_file = sys.argv[1:5]
store = load_store(policies, schemas)
loaded = time.perf_counter()
claim = json.loads(open(claim_file, encoding="utf-8").read())
evaluator = Engine(store).evaluator(policy, explain=False, outputs=False)
reader = evaluator._reader(evaluator._any_version())
from engine.claims.reader import RawClaim  # noqa: E402

facts, error = reader.facts(RawClaim(claim, claim_file))
evaluator._program_on(reader.decision_date(facts))
compiled = time.perf_counter()
evaluator.evaluate(claim)
decided = time.perf_counter()
print(json.dumps({"import": imported - start, "load": loaded - imported, "compile": compiled - loaded,
                  "decide": decided - compiled}))

"""Deciding through engine.api and turning each result into its answer and its log row.

The answer is the line `policy evaluate --format json` writes for the claim (with --summary when
explain is false), with the decision_id under which its row is logged.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from importlib import metadata

from engine.api import Evaluator
from engine.claims.reader import RawClaim
from engine.core.records import dataclass
from engine.db import jsontext
from engine.decide.results import Decision
from engine.policies.policyfile import canonical_json, sha256
from engine.service.auth import Caller
from engine.service.personal import Masker, scrubbed

try:
    ENGINE_VERSION = metadata.version("policy-engine")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    ENGINE_VERSION = "unknown"


@dataclass(frozen=True)
class Asked:
    """What the caller asked for, besides the claims."""

    policy: str
    as_of: date | None = None
    known_on: date | None = None
    explain: bool = True
    history: str = "claim"  # or "ledger": the person's history from the grants ledger (engine.ledger)

    def to_json(self) -> dict:
        return {"policy": self.policy, "as_of": self.as_of.isoformat() if self.as_of else None,
                "known_on": self.known_on.isoformat() if self.known_on else None, "explain": self.explain} \
            | ({"history": self.history} if self.history != "claim" else {})


def outcome(result) -> str:
    if isinstance(result, Decision):
        return "eligible" if result.eligible else "not_eligible"
    return result.kind  # invalid | not_in_force | undecided


def decide(evaluator: Evaluator, raws: list[RawClaim], asked: Asked, caller: Caller, masker: Masker,
           personal: list[tuple]) -> list[tuple[dict, dict]]:
    """(answer, log row) for each claim, in order."""
    now = datetime.now(UTC)
    request = jsontext.dumps(asked.to_json())
    out = []
    for raw in raws:
        parsed = raw.parsed()
        result = evaluator.evaluate_raw(parsed, asked.as_of)
        data = result.to_json(summary=not asked.explain)
        out.append(answer_and_row(evaluator.policy_id, parsed, raw, result, data, request, caller, masker, personal,
                                  now))
    return out


def answer_and_row(policy_id: str, parsed: RawClaim, raw: RawClaim, result, data: dict, request: str, caller: Caller,
                   masker: Masker, personal: list[tuple], now: datetime) -> tuple[dict, dict]:
    """The answer to one decided claim and its log row (`data` is the result's JSON as answered)."""
    decision_id = str(uuid.uuid4())
    logged_result = data
    if parsed.data is None and raw.line is not None:  # not JSON: logged as the text received, to fail alike
        claim_text = raw.line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
        masked: list[dict] = []
        digest = sha256(claim_text)
    else:
        logged, masked, values = masker.apply(parsed.data, personal)
        claim_text = jsontext.dumps(logged)
        digest = sha256(canonical_json(logged))
        logged_result = scrubbed(data, values)
    stamp = result.policy
    versions = [stamp.to_json() | {"role": "decides"}] if stamp else []
    if isinstance(result, Decision):
        versions += [r.to_json() | {"role": role} for r, role in result.references]
    return {"decision_id": decision_id} | data, {
        "decision_id": decision_id,
        "decided_at": now,
        "engine_version": ENGINE_VERSION,
        "caller_role": caller.role,
        "caller_token": caller.token_id,
        "request": request,
        "policy_id": stamp.id if stamp else policy_id,
        "policy_version": stamp.version if stamp else None,
        "policy_digest": stamp.digest if stamp else None,
        "versions": jsontext.dumps(versions),
        "combined_digest": result.basis.combined if result.basis is not None else None,
        "claim_id": data.get("claim_id"),
        "decision_date": result.decision_date,
        "known_on": result.known_on,
        "outcome": outcome(result),
        "eligible": result.eligible if isinstance(result, Decision) else None,
        "amount": data.get("amount"),
        "claim": claim_text,
        "claim_digest": digest,
        "masked": jsontext.dumps(masked),
        "result": jsontext.dumps(logged_result),
    }

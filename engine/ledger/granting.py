"""A claim decided with the person's history taken from the ledger, and its grant recorded when it is still
eligible, in the one transaction that serialises that person's grants (engine.ledger.book).

The policy's `ledger:` section (engine.policies.ledgerspec) says who the person is, which claim fact the
rules read earlier grants from and what a grant record holds; this module knows no field names. The claim's
own value of that fact is never used: it is replaced by the ledger's grants. The decision keeps the entries
it was decided with (`history`), so `policy verify` decides it again with the same history.
"""
from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.api import Engine, Evaluator
from engine.claims.reader import RawClaim
from engine.core.i18n import msg
from engine.core.records import dataclass
from engine.db import jsontext
from engine.db.tables import decisions
from engine.decide.results import Decision
from engine.ledger.book import Grant, Ledger, key_owner
from engine.policies.ledgerspec import HistoryUsed, LedgerSpec, history_entries, ledger_of, project, value_at, with_fact
from engine.policies.policyfile import canonical_json, sha256
from engine.service.auth import Caller
from engine.service.deciding import Asked, answer_and_row
from engine.service.personal import Masker

# Test-only fault injection: with this set to a file path, a grant writes PATH.reached after deciding and
# before committing, then waits there (tests kill the process at that moment).
HOLD_BEFORE_COMMIT = "POLICY_LEDGER_TEST_HOLD_BEFORE_COMMIT"


class LedgerRefusal(Exception):
    """The request cannot be decided against the ledger: (status, code, message), nothing written."""

    def __init__(self, status: int, code: str, message: str, decision: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.decision = status, code, message, decision

    def body(self) -> dict:
        out: dict = {"error": {"code": self.code, "message": self.message}}
        if self.decision is not None:
            out["decision"] = self.decision
        return out


def refused(decision: dict) -> str:
    """The message of a grant refused because its claim, decided against the ledger, is not eligible (in English
    where the answer is remembered for an Idempotency-Key; a msg() the command line shows in its language)."""
    failed = [r["id"] for r in decision.get("rules", []) if r.get("outcome") == "fail"] \
        or decision.get("failed_rules", [])
    return msg("not granted: the claim is not eligible against the ledger's records (failed: {rules})",
               rules=", ".join(failed) or "-")


@dataclass
class Answer:
    status: int  # 201 granted, 409 refused by the policy against the ledger
    body: str  # JSON text, as sent (kept whole for the Idempotency-Key)
    grant: Grant | None = None
    replayed: bool = False
    outcome: str = ""  # of the decision, for metrics


def request_hash(policy: str, claim, decision_id: str | None) -> str:
    return sha256(canonical_json({"policy": policy, "claim": claim, "decision_id": decision_id}))


def spec_for(engine: Engine, evaluator: Evaluator, raw: RawClaim, as_of: date | None) -> tuple[LedgerSpec, object]:
    """The ledger section the claim is decided under (the version in force on its decision date), and that
    first decision. Raises LedgerRefusal when the claim cannot be decided (also when it is not a JSON object:
    the engine's error record says so) or the policy keeps no ledger."""
    first = evaluator.evaluate_raw(raw, as_of)
    if not isinstance(first, Decision):
        raise LedgerRefusal(422, "ledger.claim_not_decided",
                            msg("the claim cannot be decided ({code}: {message}), so no grant is recorded",
                                code=first.code, message=first.message), first.to_json())
    version = engine.store.get(first.policy.id, first.policy.version)
    spec = ledger_of(engine.linked(version, first.decision_date, first.known_on)) if version else None
    if spec is None:
        raise LedgerRefusal(422, "ledger.not_declared",
                            msg("{policy} declares no ledger section, so its grants cannot be recorded or counted",
                                policy=f"{first.policy.id}@{first.policy.version}"))
    return spec, first


def person_of(spec: LedgerSpec, claim: dict) -> str:
    value = value_at(claim, spec.person_fact)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise LedgerRefusal(422, "ledger.no_person", spec.missing or msg(
            "the claim has no {fact}, which identifies the person in the ledger: no grant is recorded for it",
            fact=spec.person_fact))
    return str(value)


def counted(spec: LedgerSpec, found: list[Grant]) -> list[Grant]:
    return [g for g in found if spec.revoked_counted or g.revoked is None]


def decide_with_ledger(evaluator: Evaluator, ledger: Ledger, connection: Connection | None, spec: LedgerSpec,
                       claim: dict, person: str, as_of: date | None):
    """(result, claim as decided, history used): the claim decided with the person's ledger grants in place
    of the history it carried."""
    return _decide_with(evaluator, spec, ledger.grants_of(connection, spec.book_name, person), claim, as_of)


def _decide_with(evaluator: Evaluator, spec: LedgerSpec, found: list[Grant], claim, as_of: date | None,
                 location: str = "<request>"):
    grants = counted(spec, found)
    used = HistoryUsed("ledger", spec.history_fact, history_entries(spec, [g.record for g in grants]),
                       spec.book_name, [g.grant_id for g in grants])
    decided = with_fact(claim, spec.history_fact, used.entries)
    return evaluator.evaluate_raw(RawClaim(decided, location), as_of), decided, used


def decision_json(result, used: HistoryUsed, summary: bool = False) -> dict:
    return result.to_json(summary=summary) | {"history": used.to_json()}


def grant(engine: Engine, evaluator: Evaluator, ledger: Ledger, *, policy: str, claim: dict, key: str | None,
          follows: str | None, caller: Caller, masker: Masker, personal: list, origin: str = "service") -> Answer:
    """Decide the claim against the ledger and record the grant if it is eligible; the same key and request
    again give the first answer. Raises LedgerRefusal (nothing recorded)."""
    hashed = request_hash(policy, claim, follows)
    owner = key_owner(caller.token_id)  # keys are per caller: another token's same key is another request
    if key is not None:
        replay = _replay(ledger, None, owner, key, hashed)
        if replay is not None:
            return replay
    spec, _ = spec_for(engine, evaluator, RawClaim(claim, "<request>"), None)
    person = person_of(spec, claim)
    asked = Asked(policy)
    request = jsontext.dumps(asked.to_json() | {"history": "ledger", "grant": True, "follows": follows})
    try:
        with ledger.person(spec.book_name, person) as connection:
            if key is not None:
                replay = _replay(ledger, connection, owner, key, hashed)
                if replay is not None:
                    return replay
            result, decided, used = decide_with_ledger(evaluator, ledger, connection, spec, claim, person, None)
            if not isinstance(result, Decision):
                raise LedgerRefusal(422, "ledger.claim_not_decided",
                                    msg("the claim cannot be decided with the ledger's history ({code}: {message})",
                                        code=result.code, message=result.message), decision_json(result, used))
            data = decision_json(result, used)
            raw = RawClaim(claim, "<request>")
            answer, row = answer_and_row(evaluator.policy_id, raw, raw, result, data, request, caller, masker,
                                         personal, datetime.now(UTC))
            connection.execute(decisions.insert(), row)
            recorded = None
            if result.eligible:
                recorded = ledger.add(connection, book=spec.book_name, person=person, origin=origin, role=caller.role,
                                      token=caller.token_id, policy=data["policy"], claim_id=data.get("claim_id"),
                                      decision_id=row["decision_id"], amount=data.get("amount"),
                                      record=project(spec, decided, data), key=key)
                status, body = 201, {"grant": recorded.to_json(), "decision": answer}
            else:
                status, body = 409, {"error": {"code": "ledger.refused", "message": refused(data)}, "decision": answer}
            text = jsontext.dumps(body)
            if key is not None:
                ledger.remember(connection, owner, key, hashed, status, text)
            _hold_before_commit()
    except IntegrityError:
        # The same caller's key committed meanwhile by a request for another person (who held another lock).
        replay = _replay(ledger, None, owner, key, hashed) if key is not None else None
        if replay is None:
            raise
        return replay
    return Answer(status, text, recorded, outcome=row["outcome"])


def _replay(ledger: Ledger, connection: Connection | None, owner: str, key: str, hashed: str) -> Answer | None:
    first = ledger.remembered(connection, owner, key)
    if first is None:
        return None
    if first.request_hash != hashed:
        raise LedgerRefusal(422, "ledger.idempotency_conflict", msg(
            "the Idempotency-Key {key} was first sent with another request; send a new key for a new request",
            key=key))
    return Answer(first.status, first.response, replayed=True)


def _hold_before_commit() -> None:
    path = os.environ.get(HOLD_BEFORE_COMMIT)
    if path:
        Path(path + ".reached").write_text(str(os.getpid()), encoding="utf-8")
        while Path(path).exists():
            time.sleep(0.05)


def preview_result(engine: Engine, evaluator: Evaluator, ledger: Ledger, claim: dict, as_of: date | None):
    """(result, history used): the claim decided with the ledger's history, recording nothing."""
    spec, _ = spec_for(engine, evaluator, RawClaim(claim, "<request>"), as_of)
    person = person_of(spec, claim)
    result, _, used = decide_with_ledger(evaluator, ledger, None, spec, claim, person, as_of)
    return result, used


def preview_batch(engine: Engine, evaluator: Evaluator, ledger: Ledger, claims: list[RawClaim],
                  as_of: date | None) -> list:
    """For each claim (parsed), (result, history used) decided with the ledger's history, or the LedgerRefusal
    that says why the ledger cannot be asked about it; recording nothing. The grants of every person of the
    batch are read in one query."""
    asked: list = []
    for raw in claims:
        try:
            spec, _ = spec_for(engine, evaluator, raw, as_of)
            asked.append((spec, person_of(spec, cast(dict, raw.data))))
        except LedgerRefusal as exc:
            asked.append(exc)
    wanted = {(spec.book_name, person) for spec, person in (a for a in asked if isinstance(a, tuple))}
    found = ledger.grants_of_people(wanted)
    out: list = []
    for raw, one in zip(claims, asked, strict=True):
        if isinstance(one, LedgerRefusal):
            out.append(one)
            continue
        spec, person = one
        result, _, used = _decide_with(evaluator, spec, found.get((spec.book_name, person), []), raw.data, as_of,
                                       raw.location)
        out.append((result, used))
    return out


def preview(engine: Engine, evaluator: Evaluator, ledger: Ledger, claim: dict, as_of: date | None,
            summary: bool = False) -> dict:
    """The claim decided with the ledger's history, recording nothing: the decision's JSON with `history`."""
    result, used = preview_result(engine, evaluator, ledger, claim, as_of)
    return decision_json(result, used, summary)

"""A logged decision decided again, with `policy verify`'s own Verifier and report."""
from __future__ import annotations

from engine.api import Engine, parse_policy_ref
from engine.audit.verify import Claims, Outcome, Record, Verifier, record_of
from engine.claims.reader import read_json
from engine.core.i18n import msg
from engine.policies.policyfile import canonical_json, sha256


def check_logged(engine: Engine, logged: dict) -> Outcome:
    """Decide the logged claim again and compare it with the logged result, as `policy verify` does. The
    claim is the one logged: personal fields that were masked are absent (the report lists them)."""
    if logged.get("unreadable"):  # a row changed in the database: nothing to decide again, or compare with
        return _unreadable(logged, logged["unreadable"])
    result = logged["result"]
    error = result.get("error") if isinstance(result, dict) else None
    kept = _NOT_KEPT.get(str(error.get("code"))) if isinstance(error, dict) else None
    if kept is not None:  # refused before it was read: the log could not keep the line as it came
        return _unreadable(logged, kept)
    # a claim without an id is matched by where it was read, as the record names it
    location = error.get("location") if isinstance(error, dict) else None
    where = location if isinstance(location, str) else "<log>"
    where = ":".join(where.split(":")[:2])  # "<request>:LINE", without the column reading stopped at
    raw = read_json(logged["claim"].encode(), where).parsed()
    if _digest_of(logged["claim"], raw) != logged["claim_digest"]:
        return _unreadable(logged, msg("the logged claim does not have its claim_digest {digest}: it was changed in "
                                       "the database after the decision", digest=logged["claim_digest"]))
    verifier = Verifier(engine, Claims(raws=[raw], unreadable=[raw.location] if raw.error else []))
    request = logged["request"] if isinstance(logged["request"], dict) else {}
    asked = request.get("policy")
    pinned = parse_policy_ref(asked)[1] if isinstance(asked, str) else None
    return verifier.check(record_of(result, msg("decision {id}", id=logged["decision_id"])), pinned)


def _digest_of(text: str, raw) -> str:
    """The claim_digest the log wrote for this claim (engine.service.deciding): of its canonical JSON, or of the
    text itself when it was not JSON."""
    return sha256(text) if raw.data is None else sha256(canonical_json(raw.data))


# Errors of a batch line the log keeps no faithful copy of, so that the claim cannot be read again as it came: why
_NOT_KEPT = {
    "claim.too_large": msg("the line was refused as too large (claim.too_large) before it was read, and the log keeps "
                           "none of it: there is nothing to decide again"),
    "claim.encoding": msg("the line was refused as not UTF-8 (claim.encoding), and the log keeps it as text, its "
                          "undecodable bytes written as escapes: it cannot be read again as it came"),
}


def _unreadable(logged: dict, why: str) -> Outcome:
    """A logged decision that cannot be decided again, and why; named by its claim id from its own column."""
    return Outcome(Record(msg("decision {id}", id=logged["decision_id"]), {"claim_id": logged["claim_id"]}, None,
                          why), "unreadable", [])


def report(logged: dict, outcome: Outcome) -> dict:
    """`policy verify --format json`'s line, with the decision_id and what was not logged."""
    return {"decision_id": logged["decision_id"]} | outcome.to_json() | {"masked": logged["masked"]}

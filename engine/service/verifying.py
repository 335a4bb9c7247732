"""A logged decision decided again, with `policy verify`'s own Verifier and report."""
from __future__ import annotations

from engine.api import Engine
from engine.audit.verify import Claims, Outcome, Record, Verifier, record_of
from engine.claims.reader import read_json
from engine.core.i18n import msg


def check_logged(engine: Engine, logged: dict) -> Outcome:
    """Decide the logged claim again and compare it with the logged result, as `policy verify` does. The
    claim is the one logged: personal fields that were masked are absent (the report lists them)."""
    if logged.get("unreadable"):  # a row changed in the database: nothing to decide again, or compare with
        known = {"claim_id": logged["claim_id"]}  # from its own column, to name the claim
        return Outcome(Record(msg("decision {id}", id=logged["decision_id"]), known, None, logged["unreadable"]),
                       "unreadable", [])
    result = logged["result"]
    error = result.get("error") if isinstance(result, dict) else None
    # a claim without an id is matched by where it was read, as the record names it
    location = error.get("location") if isinstance(error, dict) else None
    where = location if isinstance(location, str) else "<log>"
    where = ":".join(where.split(":")[:2])  # "<request>:LINE", without the column reading stopped at
    raw = read_json(logged["claim"].encode(), where).parsed()
    verifier = Verifier(engine, Claims(raws=[raw], unreadable=[raw.location] if raw.error else []))
    return verifier.check(record_of(result, msg("decision {id}", id=logged["decision_id"])))


def report(logged: dict, outcome: Outcome) -> dict:
    """`policy verify --format json`'s line, with the decision_id and what was not logged."""
    return {"decision_id": logged["decision_id"]} | outcome.to_json() | {"masked": logged["masked"]}

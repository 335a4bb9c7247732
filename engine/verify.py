"""Reproduce a recorded decision: same result, or exactly which version, digest or value differs."""
from __future__ import annotations

from datetime import date

from .api import Engine, PolicyNotFound, Selection
from .claims import RawClaim
from .evaluate import Decision, plain
from .isodate import parse_date


def _date(text) -> date | None:
    try:
        return parse_date(text) if text else None
    except (TypeError, ValueError):
        return None


def verify(engine: Engine, recorded: dict, raw: RawClaim) -> list[str]:
    """Differences between a recorded decision and the same claim decided again now (empty: reproduced)."""
    policy = recorded.get("policy") if isinstance(recorded.get("policy"), dict) else {}
    error = recorded.get("error") if isinstance(recorded.get("error"), dict) else None
    pid = policy.get("id") or (error or {}).get("policy_id")
    version_label, digest = policy.get("version"), policy.get("digest")
    day = _date(recorded.get("decision_date"))
    known_on = _date(recorded.get("known_on"))
    if not pid or (error is None and not (version_label and digest and day)):
        return ["the recorded decision lacks policy.id, policy.version, policy.digest or decision_date"]
    differences = []
    if version_label:
        version = engine.store.get(pid, version_label)
        if version is None:
            return [f"{pid}@{version_label} no longer exists in the policy store"]
        if digest and version.digest != digest:
            differences.append(f"{pid}@{version_label} digest differs: recorded {digest}, now {version.digest} "
                               f"(the file {version.file} changed after the decision)")
    try:
        evaluator = engine.evaluator(pid, Selection(version_label, known_on, any_date=error is None))
    except PolicyNotFound as exc:
        return differences + [str(exc)]
    result = evaluator.evaluate_raw(raw, day)
    if error is not None:
        if isinstance(result, Decision):
            return differences + [f"recorded as not decided ({error.get('code')}), now decided "
                                  f"(eligible: {result.eligible})"]
        if result.code != error.get("code"):
            differences.append(f"recorded error {error.get('code')}, now {result.code}: {result.message}")
        return differences
    if not isinstance(result, Decision):
        return differences + [f"the claim is no longer decided: {result.code}: {result.message}"]
    if "references" in recorded:  # a --summary record does not list them
        recorded_refs = {r["id"]: r for r in recorded["references"] if isinstance(r, dict) and "id" in r}
        for ref, role in result.references:
            old = recorded_refs.pop(ref.id, None)
            if old is None:
                differences.append(f"now also depends on {ref.id}@{ref.version} ({role})")
            elif old.get("version") != ref.version:
                differences.append(f"{ref.id}: recorded version {old.get('version')}, now {ref.version} "
                                   f"resolves on {day}")
            elif old.get("digest") != ref.digest:
                differences.append(f"{ref.id}@{ref.version} digest differs: recorded {old.get('digest')}, "
                                   f"now {ref.digest}")
        for pid_left in recorded_refs:
            differences.append(f"no longer depends on {pid_left}")
    if recorded.get("eligible") != result.eligible:
        differences.append(f"eligible: recorded {recorded.get('eligible')}, now {result.eligible}")
    if str(recorded.get("amount")) != plain(result.amount):
        differences.append(f"amount: recorded {recorded.get('amount')}, now {plain(result.amount)}")
    recorded_failed = recorded.get("failed_rules")
    if recorded_failed is None and "rules" in recorded:
        recorded_failed = [r["id"] for r in recorded["rules"] if r.get("outcome") == "fail"]
    if recorded_failed is not None and sorted(recorded_failed) != sorted(result.failed_rules):
        differences.append(f"failed rules: recorded {sorted(recorded_failed)}, now {sorted(result.failed_rules)}")
    for name, value in (recorded.get("outputs") or {}).items():
        now = plain(result.outputs.get(name))
        if value != now:
            differences.append(f"output {name}: recorded {value!r}, now {now!r}")
    return differences

"""Reproduce a recorded decision: same result, or exactly which version, digest or value differs."""
from __future__ import annotations

from datetime import date

from .api import Engine, PolicyNotFound, Selection
from .claims import RawClaim
from .evaluate import Decision, plain


def verify(engine: Engine, recorded: dict, raw: RawClaim) -> list[str]:
    """Differences between a recorded decision and the same claim decided again now (empty: reproduced)."""
    try:
        policy = recorded["policy"]
        pid, version_label, digest = policy["id"], policy["version"], policy["digest"]
        day = date.fromisoformat(recorded["decision_date"])
    except (KeyError, TypeError, ValueError):
        return ["the recorded decision lacks policy.id, policy.version, policy.digest or decision_date"]
    version = engine.store.get(pid, version_label)
    if version is None:
        return [f"{pid}@{version_label} no longer exists in the policy store"]
    differences = []
    if version.digest != digest:
        differences.append(f"{pid}@{version_label} digest differs: recorded {digest}, now {version.digest} "
                           f"(the file {version.file} changed after the decision)")
    try:
        evaluator = engine.evaluator(pid, Selection(version_label, any_date=True))
    except PolicyNotFound as exc:
        return differences + [str(exc)]
    result = evaluator.evaluate_raw(raw, day)
    if not isinstance(result, Decision):
        recorded_error = (recorded.get("error") or {}).get("code")
        if recorded_error == result.code:
            return differences
        return differences + [f"the claim is no longer decided: {result.code}: {result.message}"]
    if "error" in recorded:
        return differences + [f"recorded as not decided ({recorded['error'].get('code')}), now decided"]
    recorded_refs = {r["id"]: r for r in recorded.get("references", [])}
    for ref, role in result.references:
        old = recorded_refs.pop(ref.id, None)
        if old is None:
            differences.append(f"now also depends on {ref.id}@{ref.version} ({role})")
        elif old.get("version") != ref.version:
            differences.append(f"{ref.id}: recorded version {old.get('version')}, now {ref.version} "
                               f"resolves on {day}")
        elif old.get("digest") != ref.digest:
            differences.append(f"{ref.id}@{ref.version} digest differs: recorded {old.get('digest')}, now {ref.digest}")
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

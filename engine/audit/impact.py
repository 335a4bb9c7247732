"""What a change of policy would do to a population of claims: every claim decided under both (by columns first, for
large batches: engine.columnar.impact)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import field
from decimal import Decimal

from engine.claims.reader import RawClaim
from engine.core.i18n import Message, clauses, msg, plural, series, tr
from engine.core.records import dataclass
from engine.core.shown import shown
from engine.decide.results import Decision, plain


@dataclass
class ImpactReport:
    before: str
    after: str
    claims: int = 0
    decided_both: int = 0
    changed: int = 0  # decided on at least one side, and the decision is not the same
    became_eligible: int = 0
    became_ineligible: int = 0
    amount_up: int = 0
    amount_down: int = 0
    no_longer_decided: int = 0  # decided before, not after
    now_decided: int = 0  # not decided before, decided after
    reasons_changed: int = 0  # still not eligible, but for other reasons
    undecided_before: int = 0
    undecided_after: int = 0
    total_before: Decimal = Decimal(0)
    total_after: Decimal = Decimal(0)
    rules: dict = field(default_factory=dict)  # rule id -> {"pass_to_fail": n, "fail_to_pass": n, ...}
    amount_causes: dict = field(default_factory=dict)  # what the amount read differently -> claims
    changed_claims: list = field(default_factory=list)
    not_decided: list = field(default_factory=list)  # claims decided under neither side, with why
    # claim id -> where each claim with that id sits, for ids given more than once: the totals count each
    duplicate_ids: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "before": self.before, "after": self.after, "claims": self.claims, "decided_both": self.decided_both,
            "changed": self.changed, "reasons_changed": self.reasons_changed,
            "direction": {"became_eligible": self.became_eligible, "became_ineligible": self.became_ineligible,
                          "amount_up": self.amount_up, "amount_down": self.amount_down,
                          "no_longer_decided": self.no_longer_decided, "now_decided": self.now_decided},
            "undecided": {"before": self.undecided_before, "after": self.undecided_after},
            "total_amount": {"before": plain(self.total_before), "after": plain(self.total_after),
                             "difference": plain(self.total_after - self.total_before)},
            "rules": self.rules, "amount_changed_by": self.amount_causes,
            "changed_claims": self.changed_claims, "not_decided": self.not_decided,
            "duplicate_ids": self.duplicate_ids,
        }


def _outcomes(decision: Decision) -> dict:
    return {r.id: r.outcome for r in decision.rules}


def compare(before_eval, after_eval, raws: Iterable[RawClaim], before: str, after: str,
            on_progress: Callable[[int], None] | None = None, seen: dict | None = None,
            by_columns: bool = False, stats=None) -> ImpactReport:
    """`seen` (claim id -> locations) is filled for a caller that merges the reports of parts of the input
    (engine.distributed, with merge_into).

    `by_columns`: each chunk of claims is decided by the columnar engine under both sides (engine.columnar.impact); a
    claim both decide alike there is only counted, and every other one gets the results the per-claim engine gives
    it, so the report is the same. `stats` (engine.columnar.batch.Stats) is told what the columns did."""
    report = ImpactReport(before, after)
    seen = {} if seen is None else seen  # claim id -> locations
    if not by_columns:
        for raw in raws:
            raw = raw.parsed()
            _add(report, seen, raw, before_eval.evaluate_raw(raw), after_eval.evaluate_raw(raw))
            if on_progress:
                on_progress(1)
    else:
        from engine.columnar.batch import Stats
        from engine.columnar.impact import compared_by_columns

        for chunk, compared in compared_by_columns(before_eval, after_eval, raws,
                                                   stats if stats is not None else Stats()):
            for row, raw in enumerate(chunk):
                if not compared.alike[row]:
                    _add(report, seen, raw, *compared.results(row, raw))
                    continue
                # decided alike under both: what _add does for such a claim, without its decisions
                claim_id, amount_before, amount_after = compared.same(row)
                report.claims += 1
                report.decided_both += 1
                report.total_before += amount_before
                report.total_after += amount_after
                if claim_id is not None:
                    seen.setdefault(claim_id, []).append(raw.location)
            if on_progress:
                on_progress(len(chunk))
    report.duplicate_ids = {cid: where for cid, where in seen.items() if len(where) > 1}
    return report


def _add(report: ImpactReport, seen: dict, raw: RawClaim, a, b) -> None:
    """One claim's results under both sides, and what they change, added to the report."""
    report.claims += 1
    claim_id = a.claim_id if a.claim_id is not None else b.claim_id
    if claim_id is not None:
        seen.setdefault(claim_id, []).append(raw.location)
    head = {"claim_id": claim_id, "location": raw.location}
    a_ok, b_ok = isinstance(a, Decision), isinstance(b, Decision)
    report.undecided_before += not a_ok
    report.undecided_after += not b_ok
    if a_ok:
        report.total_before += a.amount
    if b_ok:
        report.total_after += b.amount
    if not (a_ok or b_ok):
        report.not_decided.append(head | {"before": _status(a), "after": _status(b)})
        return
    if a_ok != b_ok:
        report.changed += 1
        if a_ok:
            report.no_longer_decided += 1
        else:
            report.now_decided += 1
        # the totals count a claim only where it is decided, so its difference is its amount there
        difference = b.amount if b_ok else -a.amount
        report.changed_claims.append(head | {"before": _status(a), "after": _status(b),
                                             "amount_difference": plain(difference), "rules_changed": [],
                                             "decision_changed": True})
        return
    report.decided_both += 1
    if a.eligible == b.eligible and a.amount == b.amount:
        if sorted(a.failed_rules) != sorted(b.failed_rules):
            report.reasons_changed += 1
            flipped = _flips(report, a, b)
            report.changed_claims.append(head | {"before": _status(a), "after": _status(b),
                                                 "amount_difference": "0", "rules_changed": flipped,
                                                 "decision_changed": False})
        return
    report.changed += 1
    if b.eligible and not a.eligible:
        report.became_eligible += 1
    elif a.eligible and not b.eligible:
        report.became_ineligible += 1
    elif b.amount > a.amount:
        report.amount_up += 1
    else:
        report.amount_down += 1
    flipped = _flips(report, a, b)
    entry = head | {"before": _status(a), "after": _status(b), "amount_difference": plain(b.amount - a.amount),
                    "rules_changed": flipped, "decision_changed": True}
    if a.eligible and b.eligible:
        entry["amount_changed_by"] = _amount_causes(a, b)
        for cause in entry["amount_changed_by"]:
            report.amount_causes[cause.split(":")[0]] = report.amount_causes.get(cause.split(":")[0], 0) + 1
    report.changed_claims.append(entry)


_SUMMED = ("claims", "decided_both", "changed", "became_eligible", "became_ineligible", "amount_up", "amount_down",
           "no_longer_decided", "now_decided", "reasons_changed", "undecided_before", "undecided_after",
           "total_before", "total_after")


def merge_into(report: ImpactReport, part: ImpactReport) -> None:
    """Adds the report of the next part of the input (in input order) to `report`; duplicate ids are the
    caller's, from the parts' `seen`."""
    for name in _SUMMED:
        setattr(report, name, getattr(report, name) + getattr(part, name))
    for rule_id, counts in part.rules.items():
        into = report.rules.setdefault(rule_id, {})
        for key, n in counts.items():
            into[key] = into.get(key, 0) + n
    for cause, n in part.amount_causes.items():
        report.amount_causes[cause] = report.amount_causes.get(cause, 0) + n
    report.changed_claims += part.changed_claims
    report.not_decided += part.not_decided


def _amount_causes(a: Decision, b: Decision) -> list[Message]:
    """What the amount expression read differently: 'rates[A-1, junior]: amount 2200 → 2500'."""
    old = dict(a.amount_reads or [])
    causes = []
    for name, new_value in dict(b.amount_reads or []).items():
        old_value = old.get(name)
        if plain(old_value) == plain(new_value):
            continue
        if isinstance(old_value, dict) and isinstance(new_value, dict):
            cells = [f"{k} {plain(old_value.get(k))} → {plain(v)}" for k, v in new_value.items()
                     if plain(old_value.get(k)) != plain(v)]
            causes.append(msg("{name}: {value}", name=name, value=", ".join(cells)))
        else:
            causes.append(msg("{name}: {value}", name=name, value=f"{plain(old_value)} → {plain(new_value)}"))
    return causes


def _flips(report: ImpactReport, a: Decision, b: Decision) -> list[str]:
    """Rules whose outcome differs between the two decisions, counted into the report by direction."""
    old, new = _outcomes(a), _outcomes(b)
    flipped = []
    for rule_id in sorted(set(old) | set(new)):
        o, n = old.get(rule_id, "absent"), new.get(rule_id, "absent")
        if o != n:
            flipped.append(rule_id)
            counts = report.rules.setdefault(rule_id, {})
            key = f"{o}_to_{n}"
            counts[key] = counts.get(key, 0) + 1
    return flipped


def _status(result) -> dict:
    if isinstance(result, Decision):
        return {"eligible": result.eligible, "amount": plain(result.amount), "failed_rules": result.failed_rules,
                "version": result.policy.version}
    return {"error": result.code, "message": result.message}


def side(engine, policy_id: str, text: str):
    """One side of an impact study, as `--from`/`--to` give it: (evaluator, label). A date fixes the world: the
    policy and everything it refers to as in force that day. `@VERSION` pins the policy's own version only: what
    it refers to is resolved at each claim's decision date, as `evaluate` does. Raises what Engine.scenario
    and Engine.evaluator raise."""
    from engine.api import Selection
    from engine.core.isodate import parse_date

    if text.startswith("@"):
        version = text[1:]
        engine.scenario(policy_id, version=version)  # fails now, as a date does, for what cannot be linked
        evaluator = engine.evaluator(f"{policy_id}@{version}", Selection(version, any_date=True))
        refers = engine.store.needs(policy_id) - {policy_id}
        label = f"{policy_id}@{version}"
        return evaluator, msg("{version} (what it refers to as in force on each claim's decision date)",
                              version=label) if refers else label
    linked = engine.scenario(policy_id, at=parse_date(text))
    return engine.fixed_evaluator(linked), scenario_label(linked)


def scenario_label(linked) -> str:
    """The policy version and every version under it, e.g. a@1 (extends b@2, uses c@3): a message, English in the
    JSON, in the chosen language where the report is shown."""
    from engine.audit.describe import ROLES

    others = [msg("{role} {version}", role=ROLES.get(linked.role_of(v), linked.role_of(v)), version=v.key)
              for v in linked.versions if v is not linked.version]
    return msg("{version} ({versions})", version=linked.version.key, versions=series(others)) if others \
        else linked.version.key


def render_impact(report: ImpactReport, limit: int = 50) -> str:
    r = report
    lines = [plural(r.claims, "Impact over {count} claim", "Impact over {count} claims"),
             "  " + tr("before: {scenario}", scenario=_shown(r.before)),
             "  " + tr("after:  {scenario}", scenario=_shown(r.after)),
             "  " + tr("decisions changed: {changed} (became eligible {eligible}, became ineligible {ineligible}, "
                       "amount up {up}, amount down {down}, no longer decided {undecided}, now decided {decided})",
                       changed=r.changed, eligible=r.became_eligible, ineligible=r.became_ineligible, up=r.amount_up,
                       down=r.amount_down, undecided=r.no_longer_decided, decided=r.now_decided),
             "  " + tr("still not eligible, for other reasons: {count}", count=r.reasons_changed),
             "  " + tr("total amount: {before} → {after} (difference {difference})", before=plain(r.total_before),
                       after=plain(r.total_after), difference=plain(r.total_after - r.total_before)),
             "  " + tr("not decided: {before} before, {after} after", before=r.undecided_before,
                       after=r.undecided_after)]
    if r.amount_causes:
        lines.append("  " + tr("amounts changed because the amount read:"))
        for cause, n in sorted(r.amount_causes.items()):
            lines.append("    " + tr("{name}: {value}", name=cause, value=n))
    if r.rules:
        lines.append("  " + tr("rules whose outcome changed:"))
        for rule_id, counts in sorted(r.rules.items()):
            lines.append("    " + tr("{name}: {value}", name=rule_id, value=rule_moves(counts)))
    if r.changed_claims:
        lines.append("  " + tr("changed claims:"))
        for c in r.changed_claims[:limit]:
            before, after, why = claim_change(c)
            lines.append("    " + tr("{name}: {value}", name=_who(c, r), value=f"{before} → {after}")
                         + (tr(" ({why})", why=why) if why else ""))
        if len(r.changed_claims) > limit:
            lines.append("    " + tr("… and {count} more (use --format json for all)",
                                   count=len(r.changed_claims) - limit))
    if r.not_decided:
        lines.append("  " + tr("not decided under either version:"))
        for c in r.not_decided[:limit]:
            before, after = _reason(c["before"]), _reason(c["after"])
            lines.append("    " + tr("{name}: {value}", name=_who(c, r), value=before if before == after else
                                       tr("before {before}; after {after}", before=before, after=after)))
        if len(r.not_decided) > limit:
            lines.append("    " + tr("… and {count} more (use --format json for all)",
                                   count=len(r.not_decided) - limit))
    if r.duplicate_ids:
        lines.append("  " + tr("claim ids given more than once (each claim is counted):"))
        for claim_id, where in r.duplicate_ids.items():
            lines.append("    " + tr("{name}: {value}", name=shown(str(claim_id)), value=series(where)))
    return "\n".join(lines)


def claim_change(entry: dict) -> tuple[str, str, str | None]:
    """A changed claim of the report in words, as the report says it: before, after, and why (the rules whose
    outcome changed, or what the amount read differently)."""
    why = entry.get("rules_changed") and tr("rules: {rules}", rules=", ".join(entry["rules_changed"])) \
        or entry.get("amount_changed_by") and tr(clauses(entry["amount_changed_by"]))
    return _brief(entry["before"]), _brief(entry["after"]), why or None


def rule_moves(counts: dict) -> str:
    """How a rule's outcomes moved, in words: `fail → pass 3, pass → fail 1`."""
    return tr(series(f"{_move(k)} {v}" for k, v in sorted(counts.items())))


# a rule's outcome in words, as `policy test` and the web pages say it
_OUTCOMES = {"pass": msg("pass"), "fail": msg("fail"), "not_applicable": msg("not_applicable"), "error": msg("error")}


def _move(key: str) -> str:
    """`fail_to_pass` in words: `fail → pass`."""
    return " → ".join(tr(_OUTCOMES[o]) if o in _OUTCOMES else o for o in key.split("_to_"))


def _who(entry: dict, report: ImpactReport) -> str:
    """The claim id, with where the claim sits when the id alone does not say which claim it is."""
    claim_id = entry["claim_id"]
    if claim_id is None or claim_id in report.duplicate_ids:
        return f"{shown(str(claim_id)) if claim_id else tr('(no id)')} ({shown(str(entry['location']))})"
    return shown(str(claim_id))


def _shown(text: str) -> str:
    """A message in the chosen language; other text (an id, a version) as it is."""
    return tr(text) if isinstance(text, Message) else text


def _reason(status: dict) -> str:
    return f"{status['error']}: {_shown(status['message'])}"


def _brief(status: dict) -> str:
    if "error" in status:
        return tr("not decided ({reason})", reason=_reason(status))
    return tr("eligible {amount}", amount=status["amount"]) if status["eligible"] else tr("not eligible")

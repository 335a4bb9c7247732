"""Explain stage: a decision in plain words, clause by clause, using the policy's own messages."""
from __future__ import annotations

import json

from engine.core.i18n import msg, plural, tr
from engine.core.shown import shown
from engine.decide.results import ClaimError, Decision, plain

_MARKS = {"pass": "✓", "fail": "✗", "not_applicable": "–", "error": "!"}
_KINDS = (msg("output"), msg("note"))  # what could not be computed, as Problem.kind names it
# how the decided version reads another (engine.policies.linker's roles), in words
_ROLES = {"extends": msg("extends"), "uses": msg("uses"), "includes": msg("includes")}
_OUTCOME_WORDS = {"pass": msg("met"), "fail": msg("NOT met"), "not_applicable": msg("not applicable"),
                  "error": msg("error")}


def _value(value) -> str:
    value = plain(value)
    if value is None:
        return tr("(absent)")
    if isinstance(value, str):
        return shown(value)
    return shown(json.dumps(value, ensure_ascii=False))


def _claim_id(claim_id) -> str:
    return shown(str(claim_id)) if claim_id else tr("(no id)")


def _cite(clauses, source_key: str, decided_id: str) -> str:
    """[clauses], naming the policy they belong to when it is not the one decided: a city and the province
    it extends number their clauses alike (二.(一) is in both)."""
    source_id = source_key.partition("@")[0]
    where = "" if source_id == decided_id else f" · {source_id}"
    return f"[{clauses}{where}]"


def explain_decision(decision: Decision, verbose: bool = False) -> str:
    d = decision
    lines = [tr("Claim {claim}: {policy}, decided on {day}", claim=_claim_id(d.claim_id),
                policy=f"{d.policy.id}@{d.policy.version}", day=str(d.decision_date))]
    for ref, role in d.references:
        lines.append(f"  {tr(_ROLES[role]) if role in _ROLES else role} {ref.id}@{ref.version}")
    if d.out_of_force is not None:
        lines.append(out_of_force_line(d.policy, d.decision_date, d.out_of_force))
    if d.eligible:
        # a policy without a decision amount has no currency: eligibility is its whole answer
        lines.append(tr("ELIGIBLE: {amount} {currency}", amount=str(plain(d.amount)), currency=d.currency)
                     if d.currency else tr("ELIGIBLE"))
    else:
        failed = [r for r in d.rules if r.outcome == "fail"]
        lines.append(plural(len(failed), "NOT ELIGIBLE: {count} condition not met",
                            "NOT ELIGIBLE: {count} conditions not met"))
        for r in failed:
            lines.append(f"  ✗ {_cite(', '.join(r.clauses), r.policy, d.policy.id)} {r.message}")
    lines.append(tr("Conditions:"))
    for r in d.rules:
        lines.append(f"  {_MARKS[r.outcome]} {r.id} {_cite(', '.join(r.clauses), r.policy, d.policy.id)} "
                     + tr("{outcome}: {message}", outcome=_OUTCOME_WORDS[r.outcome], message=r.message))
        if verbose and r.reads:
            seen = set()
            for name, value in r.reads:
                if name not in seen:
                    seen.add(name)
                    lines.append(f"      {name} = {_value(value)}")
    if d.outputs:
        lines.append(tr("Outputs:"))
        for name, value in d.outputs.items():
            lines.append("  " + tr("{name}: {value}", name=name, value=_value(value)))
    if d.problems:
        lines.append(tr("Could not be computed (the decision above stands):"))
        for p in d.problems:
            lines.append(f"  ! {tr(p.kind)} {p.name}: [{p.code}] {tr(p.message)}")
    if d.notes:
        lines.append(tr("Notes:"))
        for note in d.notes:
            lines.append(f"  {_cite(note['clause'], note['source'], d.policy.id)} {note['text']}")
    lines.append(tr("Policy digest: {digest}", digest=d.policy.digest))
    if d.basis is not None:
        lines.append(tr("Combined digest (every version and schema used): {digest}", digest=d.basis.combined))
    return "\n".join(lines)


def out_of_force_line(policy, day, out_of_force: dict) -> str:
    """What a decision under a pinned version outside its own dates says about it."""
    span = f"{out_of_force['from']} .. {out_of_force['to'] or tr('now')}"
    current = out_of_force["in_force"]
    instead = msg("{version} is in force then", version=current) if current else msg("no version is in force then")
    return "  " + tr("NOT IN FORCE on {day}: {version} is in force {span}; {instead}. Decided under it as asked "
                     "(--any-date): what these rules would say, not the decision due on that date", day=str(day),
                     version=f"{policy.id}@{policy.version}", span=span, instead=instead)


def explain_error(error: ClaimError) -> str:
    head = tr("Claim {claim} ({location})", claim=_claim_id(error.claim_id), location=shown(str(error.location))) \
        if error.location else tr("Claim {claim}", claim=_claim_id(error.claim_id))
    kind = {"invalid": msg("NOT DECIDED: the claim is invalid"), "not_in_force": msg("NOT DECIDED: no policy in force"),
            "undecided": msg("NOT DECIDED: the policy could not be applied")}[error.kind]
    lines = [tr("{what}: {message}", what=head, message=tr(kind)), f"  [{error.code}] {shown(tr(error.message))}"]
    if error.out_of_force is not None and error.policy is not None:
        lines.append(out_of_force_line(error.policy, error.decision_date, error.out_of_force))
    if error.path:
        lines.append("  " + tr("fact: {path}", path=shown(str(error.path))))
    for problem in error.details.get("problems", [])[1:]:
        lines.append("  " + tr("also {path}: {problem}", path=shown(str(problem["path"])),
                               problem=shown(tr(problem["message"]))))
    return "\n".join(lines)


def explain(result, verbose: bool = False) -> str:
    """A Decision or ClaimError in plain words, as `policy evaluate` prints it (with `verbose`, the facts, definitions
    and table rows each rule read, as `-v` shows them)."""
    return explain_decision(result, verbose) if isinstance(result, Decision) else explain_error(result)

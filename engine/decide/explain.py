"""Explain stage: a decision in plain words, clause by clause, using the policy's own messages."""
from __future__ import annotations

import json

from engine.decide.results import ClaimError, Decision, plain

_MARKS = {"pass": "✓", "fail": "✗", "not_applicable": "–", "error": "!"}
_OUTCOME_WORDS = {"pass": "met", "fail": "NOT met", "not_applicable": "not applicable", "error": "error"}


def _value(value) -> str:
    value = plain(value)
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cite(clauses, source_key: str, decided_id: str) -> str:
    """[clauses], naming the policy they belong to when it is not the one decided: a city and the province
    it extends number their clauses alike (二.(一) is in both)."""
    source_id = source_key.partition("@")[0]
    where = "" if source_id == decided_id else f" · {source_id}"
    return f"[{clauses}{where}]"


def explain_decision(decision: Decision, verbose: bool = False) -> str:
    d = decision
    lines = [f"Claim {d.claim_id or '(no id)'}: {d.policy.id}@{d.policy.version}, decided on {d.decision_date}"]
    for ref, role in d.references:
        lines.append(f"  {role} {ref.id}@{ref.version}")
    if d.out_of_force is not None:
        lines.append(out_of_force_line(d.policy, d.decision_date, d.out_of_force))
    if d.eligible:
        # a policy without a decision amount has no currency: eligibility is its whole answer
        lines.append(f"ELIGIBLE: {plain(d.amount)} {d.currency}" if d.currency else "ELIGIBLE")
    else:
        failed = [r for r in d.rules if r.outcome == "fail"]
        lines.append(f"NOT ELIGIBLE: {len(failed)} condition{'s' if len(failed) != 1 else ''} not met")
        for r in failed:
            lines.append(f"  ✗ {_cite(', '.join(r.clauses), r.policy, d.policy.id)} {r.message}")
    lines.append("Conditions:")
    for r in d.rules:
        lines.append(f"  {_MARKS[r.outcome]} {r.id} {_cite(', '.join(r.clauses), r.policy, d.policy.id)} "
                     f"{_OUTCOME_WORDS[r.outcome]}: {r.message}")
        if verbose and r.reads:
            seen = set()
            for name, value in r.reads:
                if name not in seen:
                    seen.add(name)
                    lines.append(f"      {name} = {_value(value)}")
    if d.outputs:
        lines.append("Outputs:")
        for name, value in d.outputs.items():
            lines.append(f"  {name}: {_value(value)}")
    if d.problems:
        lines.append("Could not be computed (the decision above stands):")
        for p in d.problems:
            lines.append(f"  ! {p.kind} {p.name}: [{p.code}] {p.message}")
    if d.notes:
        lines.append("Notes:")
        for note in d.notes:
            lines.append(f"  {_cite(note['clause'], note['source'], d.policy.id)} {note['text']}")
    lines.append(f"Policy digest: {d.policy.digest}")
    if d.basis is not None:
        lines.append(f"Combined digest (every version and schema used): {d.basis.combined}")
    return "\n".join(lines)


def out_of_force_line(policy, day, out_of_force: dict) -> str:
    """What a decision under a pinned version outside its own dates says about it."""
    span = f"{out_of_force['from']} .. {out_of_force['to'] or 'now'}"
    current = out_of_force["in_force"]
    instead = f"{current} is in force then" if current else "no version is in force then"
    return (f"  NOT IN FORCE on {day}: {policy.id}@{policy.version} is in force {span}; {instead}. Decided under it "
            "as asked (--any-date): what these rules would say, not the decision due on that date")


def explain_error(error: ClaimError) -> str:
    head = f"Claim {error.claim_id or '(no id)'}"
    if error.location:
        head += f" ({error.location})"
    kind = {"invalid": "NOT DECIDED: the claim is invalid", "not_in_force": "NOT DECIDED: no policy in force",
            "undecided": "NOT DECIDED: the policy could not be applied"}[error.kind]
    lines = [f"{head}: {kind}", f"  [{error.code}] {error.message}"]
    if error.out_of_force is not None and error.policy is not None:
        lines.append(out_of_force_line(error.policy, error.decision_date, error.out_of_force))
    if error.path:
        lines.append(f"  fact: {error.path}")
    for problem in error.details.get("problems", [])[1:]:
        lines.append(f"  also {problem['path']}: {problem['message']}")
    return "\n".join(lines)


def explain(result, verbose: bool = False) -> str:
    return explain_decision(result, verbose) if isinstance(result, Decision) else explain_error(result)

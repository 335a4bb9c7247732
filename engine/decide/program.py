"""Evaluate stage: a compiled program decides one claim's facts on one decision date."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.decide.results import ClaimError, Decision, Problem, RuleResult, stamp
from engine.language.builtins import EvaluationFault
from engine.language.checker import Checked
from engine.language.compiler import Compiler, Env


class Program:
    """One linked, checked policy compiled for evaluation: compile once, decide many claims."""

    def __init__(self, checked: Checked, explain: bool, outputs: bool = True):
        linked = self.linked = checked.linked
        self.explain = explain
        compiler = Compiler(checked, trace=explain)
        expr = lambda e: compiler.expression(e.tree, linked)  # noqa: E731 - a local shorthand
        self.checks = [(c, expr(c.when) if c.when else None, expr(c.require)) for c in linked.checks]
        self.rules = [(r, expr(r.when) if r.when else None, expr(r.require)) for r in linked.rules]
        # Unexplained outcomes read nothing and carry no error, so each rule's three are made once, not per claim.
        self.plain_rules = [(when, require, RuleResult(r, "pass"), RuleResult(r, "fail"),
                             RuleResult(r, "not_applicable"))
                            for r, when, require in self.rules]
        # A summary (eligibility, amount, failed rules) computes no outputs and no notes.
        self.outputs = [(name, o, expr(o.when) if o.when else None, expr(o.expr))
                        for name, o in linked.outputs.items()] if outputs else []
        self.notes = [(n, expr(n.when) if n.when else None) for n in linked.notes] if outputs else []
        self.amount = expr(linked.decision.expr) if linked.decision else None
        self.currency = linked.decision.currency if linked.decision else ""
        self.stamp = stamp(linked.version)
        self.references = [(stamp(v), linked.role_of(v)) for v in linked.versions if v is not linked.version]

    def decide(self, facts: dict, decision_date: date, claim_id: str | None) -> Decision | ClaimError:
        env = Env(facts, decision_date)
        for chk, when, require in self.checks:
            reason: str | None
            try:
                if when is not None and not when(env):
                    continue
                ok = require(env)
            except EvaluationFault as fault:
                ok, reason = False, str(fault)
            else:
                reason = None
            if not ok:
                return ClaimError(claim_id, "claim.invalid", chk.message, chk.fact, policy=self.stamp,
                                  decision_date=decision_date, details={"check": chk.id} | (
                                      {"detail": reason} if reason else {}))
        rules = [self._rule(env, *entry) for entry in self.rules] if self.explain else self._rules_plain(env)
        failed = [r for r in rules if r.outcome == "error"]
        if failed:
            first = failed[0]
            return ClaimError(claim_id, "evaluation.rule", f"rule {first.id} (clause {', '.join(first.clauses)}) "
                              f"could not be decided: {first.error}", policy=self.stamp, decision_date=decision_date,
                              details={"rules": {r.id: r.error for r in failed}})
        eligible = all(r.outcome != "fail" for r in rules)
        env.trace = [] if self.explain else None
        try:
            amount = Decimal(self.amount(env)) if eligible and self.amount is not None else Decimal(0)
        except EvaluationFault as fault:
            return ClaimError(claim_id, fault.code, f"the decision amount: {fault}", policy=self.stamp,
                              decision_date=decision_date)
        except ArithmeticError as exc:
            return ClaimError(claim_id, "evaluation.arithmetic", f"the decision amount: {type(exc).__name__}",
                              policy=self.stamp, decision_date=decision_date)
        amount_reads, env.trace = env.trace, None
        problems: list[Problem] = []
        outputs = {name: _informing(problems, "output", name,
                                    lambda value=value, when=when: value(env) if when is None or when(env) else None)
                   for name, output, when, value in self.outputs}
        notes = [{"id": n.id, "clause": ", ".join(n.clauses), "text": n.text, "source": n.owner.key if n.owner else ""}
                 for n, when in self.notes
                 if when is None or _informing(problems, "note", n.id, lambda when=when: when(env))]
        return Decision(claim_id, self.stamp, self.references, decision_date, eligible, amount, self.currency,
                        outputs, rules, notes, amount_reads, problems=problems)

    def _rules_plain(self, env: Env) -> list[RuleResult]:
        """Every rule's outcome, recording nothing it read: the hot path of a batch."""
        results = []
        for when, require, passed, failed, not_applicable in self.plain_rules:
            try:
                if when is not None and not when(env):
                    results.append(not_applicable)
                else:
                    results.append(passed if require(env) else failed)
            except EvaluationFault as fault:
                results.append(RuleResult(passed.rule, "error", None, str(fault)))
            except ArithmeticError as exc:
                results.append(RuleResult(passed.rule, "error", None, f"arithmetic failed: {type(exc).__name__}"))
        return results

    def _rule(self, env: Env, rule, when, require) -> RuleResult:
        env.trace = [] if self.explain else None
        try:
            if when is not None and not when(env):
                outcome = "not_applicable"
            else:
                outcome = "pass" if require(env) else "fail"
        except EvaluationFault as fault:
            return RuleResult(rule, "error", env.trace, str(fault))
        except ArithmeticError as exc:
            return RuleResult(rule, "error", env.trace, f"arithmetic failed: {type(exc).__name__}")
        reads, env.trace = env.trace, None
        return RuleResult(rule, outcome, reads)


def _informing(problems: list, kind: str, name: str, compute):
    """The value of an output or a note's condition; None, with the problem recorded, when it cannot be had."""
    try:
        return compute()
    except EvaluationFault as fault:
        problems.append(Problem(kind, name, fault.code, str(fault)))
    except ArithmeticError as exc:
        problems.append(Problem(kind, name, "evaluation.arithmetic", f"arithmetic failed: {type(exc).__name__}"))
    return None

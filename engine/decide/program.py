"""Evaluate stage: a compiled program decides one claim's facts on one decision date."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.core.i18n import msg
from engine.decide.results import Basis, ClaimError, Decision, Problem, RuleResult, stamp
from engine.language.builtins import EvaluationFault, arithmetic_fault
from engine.language.checker import Checked
from engine.language.codegen import Generated, NotGenerated
from engine.language.compiler import Compiler, Env

_ZERO = Decimal(0)
# What a claim's values can make an expression raise. Anything else is a bug, reported as such by the caller.
FAULTS = (EvaluationFault, ArithmeticError)


def fault_of(exc: Exception) -> tuple[str, str]:
    """(code, message) of a fault, the one wording used wherever a check, rule, amount, output or note fails."""
    fault = exc if isinstance(exc, EvaluationFault) else arithmetic_fault(exc)
    return fault.code, fault.message


class Program:
    """One linked, checked policy compiled for evaluation: compile once, decide many claims."""

    def __init__(self, checked: Checked, explain: bool, outputs: bool = True, generated: bool = True,
                 basis: Basis | None = None):
        linked = self.linked = checked.linked
        self.explain = explain
        trees: list = []

        def expr(expression):  # a place for the compiled expression, filled in below
            trees.append(expression.tree)
            return _Pending(len(trees) - 1)

        self.checks = [(c, expr(c.when) if c.when else None, expr(c.require)) for c in linked.checks]
        # Each rule's three unexplained outcomes read nothing and carry no error: made once, not per claim, with the
        # JSON each starts with (an explained result shares it).
        self.rules = [(expr(r.when) if r.when else None, expr(r.require),
                       _shared(r, "pass"), _shared(r, "fail"), _shared(r, "not_applicable"))
                      for r in linked.rules]
        # A summary (eligibility, amount, failed rules) computes no outputs and no notes.
        self.outputs = [(name, expr(o.when) if o.when else None, expr(o.expr))
                        for name, o in linked.outputs.items()] if outputs else []
        # a note's JSON is the same for every claim that shows it: made once, copied per decision
        self.notes = [(n, expr(n.when) if n.when else None,
                       {"id": n.id, "clause": ", ".join(n.clauses), "text": n.text,
                        "source": n.owner.key if n.owner else ""}) for n in linked.notes] if outputs else []
        self.amount = expr(linked.decision.expr) if linked.decision else None
        self.currency = linked.decision.currency if linked.decision else ""
        self.stamp = stamp(linked.version)
        self.basis = basis or basis_of(linked)
        self.references = self.basis.references
        compiled, self.backend = _compile(checked, explain, trees, generated)
        fill = lambda x: compiled[x.index] if isinstance(x, _Pending) else x  # noqa: E731
        self.checks = [tuple(map(fill, entry)) for entry in self.checks]
        self.rules = [tuple(map(fill, entry)) for entry in self.rules]
        self.outputs = [tuple(map(fill, entry)) for entry in self.outputs]
        self.notes = [tuple(map(fill, entry)) for entry in self.notes]
        self.amount = fill(self.amount)

    def decide(self, facts: dict, decision_date: date, claim_id: str | None) -> Decision | ClaimError:
        env = Env(facts, decision_date)
        for chk, when, require in self.checks:
            try:
                ok = (when is not None and not when(env)) or require(env)
                reason = None
            except FAULTS as exc:
                ok, reason = False, fault_of(exc)[1]
            if not ok:
                return self.check_failed(chk, claim_id, decision_date, reason)
        rules, failed, eligible = self._rules(env)
        if failed:
            first = failed[0]
            return ClaimError(claim_id, "evaluation.rule", msg("rule {rule} (clause {clause}) could not be decided: "
                                                               "{problem}", rule=first.id,
                                                               clause=", ".join(first.clauses), problem=first.error),
                              policy=self.stamp, decision_date=decision_date,
                              details={"rules": {r.id: r.error for r in failed}}, basis=self.basis)
        env.trace = [] if self.explain else None
        try:
            amount = Decimal(self.amount(env)) if eligible and self.amount is not None else _ZERO
        except FAULTS as exc:
            code, message = fault_of(exc)
            return ClaimError(claim_id, code, msg("the decision amount: {problem}", problem=message), policy=self.stamp,
                              decision_date=decision_date, basis=self.basis)
        if amount < 0:  # no policy grants less than nothing: the amount expression is wrong for this claim
            return ClaimError(claim_id, "evaluation.negative_amount", msg(
                "the decision amount is {amount}, below zero: a negative amount is never granted (the policy's "
                "decision.amount is wrong for this claim)", amount=str(amount)), policy=self.stamp,
                decision_date=decision_date, basis=self.basis)
        amount_reads, env.trace = env.trace, None
        problems: list[Problem] = []
        outputs: dict = {}
        for name, when, value in self.outputs:  # an output that cannot be computed is None, with its problem
            try:
                outputs[name] = value(env) if when is None or when(env) else None
            except FAULTS as exc:
                problems.append(Problem("output", name, *fault_of(exc)))
                outputs[name] = None
        notes = []
        for note, when, shown in self.notes:  # a note whose condition cannot be computed is left out, with its problem
            if when is not None:
                try:
                    if not when(env):
                        continue
                except FAULTS as exc:
                    problems.append(Problem("note", note.id, *fault_of(exc)))
                    continue
            notes.append(dict(shown))
        return self.decision(claim_id, decision_date, eligible, amount, rules, outputs, notes, amount_reads, problems)

    def check_failed(self, check, claim_id: str | None, decision_date: date, reason: str | None = None) -> ClaimError:
        """The error of a claim that fails an input check (given, or by its index): the one way it is made, by this
        program and by the columnar engine."""
        chk = self.checks[check][0] if isinstance(check, int) else check
        return ClaimError(claim_id, "claim.invalid", chk.message, chk.fact, policy=self.stamp,
                          decision_date=decision_date, details={"check": chk.id} | (
                              {"detail": reason} if reason else {}), basis=self.basis)

    def decision(self, claim_id: str | None, decision_date: date, eligible: bool, amount: Decimal, rules: list,
                 outputs: dict | None = None, notes: list | None = None, amount_reads: list | None = None,
                 problems: list | None = None) -> Decision:
        """The Decision of this program: the one way it is made, by this program and by the columnar engine."""
        return Decision(claim_id, self.stamp, self.references, decision_date, eligible, amount, self.currency,
                        outputs if outputs is not None else {}, rules, notes if notes is not None else [],
                        amount_reads, problems=problems if problems is not None else [], basis=self.basis)

    def _rules(self, env: Env) -> tuple[list[RuleResult], list[RuleResult], bool]:
        """Every rule's outcome (the shared unexplained result, or, when explained, a new one with what it read), the
        rules that could not be decided, and whether none failed."""
        explain = self.explain
        results: list[RuleResult] = []
        errors: list[RuleResult] = []
        eligible = True
        for when, require, passed, failed, not_applicable in self.rules:
            if explain:
                env.trace = []
            try:
                if when is not None and not when(env):
                    outcome = not_applicable
                elif require(env):
                    outcome = passed
                else:
                    outcome, eligible = failed, False
            except FAULTS as exc:
                outcome = RuleResult(passed.rule, "error", env.trace, fault_of(exc)[1])
                errors.append(outcome)
            else:
                if explain:
                    outcome = RuleResult(outcome.rule, outcome.outcome, env.trace, None, outcome.head)
            results.append(outcome)
        env.trace = None
        return results, errors, eligible


def basis_of(linked, store=None) -> Basis:
    """Every version a linked policy decides with, the input schema file the claim is read by, and their combined
    digest (each version's digest covers its own file and its own facts; see
    docs/auditing.md#4-can-a-recorded-decision-be-reproduced). With the store, the schema's digest is that of the
    file itself, not of the file with the facts the versions add (those are in the versions' digests)."""
    references = [(stamp(v), linked.role_of(v)) for v in linked.versions if v is not linked.version]
    schemas = []
    if linked.schema is not None:
        name = linked.schema.name
        shared = store.schemas.get(name) if store is not None else None
        schemas.append((name, shared.digest if shared is not None else linked.schema.digest))
    return Basis.of(stamp(linked.version), references, schemas)


def _shared(rule, outcome: str) -> RuleResult:
    result = RuleResult(rule, outcome)
    result.head = result._head()
    return result


class _Pending:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _compile(checked: Checked, explain: bool, trees: list, generated: bool) -> tuple[list, str]:
    """Every expression as a callable(env): generated Python (the fast path) or, where Python cannot compile the
    generated module or generation was not asked for, closures."""
    if generated:
        try:
            module = Generated(checked, explain)
            for i, tree in enumerate(trees):
                module.add(i, tree, checked.linked)
            functions = module.build()
            return [functions[i] for i in range(len(trees))], "generated"
        except (NotGenerated, RecursionError):
            pass
    compiler = Compiler(checked, trace=explain)
    return [compiler.expression(tree, checked.linked) for tree in trees], "closures"

"""Evaluate stage: a compiled program decides one claim's facts on one decision date."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .builtins import EvaluationFault
from .checker import Checked
from .compiler import MISSING, Compiler, Env


def plain(value: Any) -> Any:
    """A value as JSON shows it: exact decimals and dates as strings."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if value is MISSING:
        return None
    name = getattr(value, "name", None)
    return f"<{name}>" if name else str(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class RuleResult:
    """One rule's outcome for one claim. Built for every rule of every claim, so kept small: the clause,
    message and source are read from the rule itself when asked for."""

    __slots__ = ("rule", "outcome", "reads", "error")

    def __init__(self, rule, outcome: str, reads: list | None = None, error: str | None = None):
        self.rule = rule
        self.outcome = outcome  # pass | fail | not_applicable | error
        self.reads = reads  # (name, value) in the order read; None when not explained
        self.error = error

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def clauses(self) -> tuple:
        return self.rule.clauses

    @property
    def policy(self) -> str:
        return self.rule.owner.key

    @property
    def message(self) -> str:
        if self.outcome == "error":
            return self.error or ""
        messages = self.rule.messages
        if self.outcome == "not_applicable":
            return messages.get("not_applicable", "不适用 (not applicable)")
        return messages["pass" if self.outcome == "pass" else "fail"]

    def to_json(self) -> dict:
        data = {"id": self.id, "outcome": self.outcome, "clause": ", ".join(self.clauses), "message": self.message,
                "source": self.policy}
        if self.reads is not None:
            reads: dict = {}
            for name, value in self.reads:
                reads.setdefault(name, plain(value))
            data["reads"] = reads
        if self.error:
            data["error"] = self.error
        return data


@dataclass(frozen=True)
class Problem:
    """An output or a note that could not be computed for this claim. Outputs and notes inform; they do not
    decide, so the decision stands (with a summary or without) and the problem is reported beside it."""

    kind: str  # output | note
    name: str
    code: str
    message: str

    def to_json(self) -> dict:
        return {self.kind: self.name, "code": self.code, "message": self.message}


@dataclass
class PolicyStamp:
    id: str
    version: str
    digest: str

    def to_json(self) -> dict:
        return {"id": self.id, "version": self.version, "digest": self.digest}


@dataclass
class Decision:
    claim_id: str
    policy: PolicyStamp
    references: list
    decision_date: date
    eligible: bool
    amount: Decimal
    currency: str
    outputs: dict
    rules: list
    notes: list
    amount_reads: list | None = None  # what the amount expression read, when explained
    known_on: date | None = None  # the --known-on date the versions were chosen by, if any
    problems: list = field(default_factory=list)  # of Problem: outputs or notes that could not be computed

    @property
    def failed_rules(self) -> list[str]:
        return [r.id for r in self.rules if r.outcome == "fail"]

    def to_json(self, summary: bool = False) -> dict:
        data = {
            "claim_id": self.claim_id,
            "policy": self.policy.to_json(),
            "decision_date": self.decision_date.isoformat(),
            "eligible": self.eligible,
            "amount": _decimal_text(self.amount),
            "currency": self.currency,
        }
        if self.known_on is not None:
            data["known_on"] = self.known_on.isoformat()
        if summary:
            data["failed_rules"] = self.failed_rules
            return data
        data["references"] = [r.to_json() | {"role": role} for r, role in self.references]
        if self.amount_reads is not None:
            reads: dict = {}
            for name, value in self.amount_reads:
                reads.setdefault(name, plain(value))
            data["amount_reads"] = reads
        data["outputs"] = {k: plain(v) for k, v in self.outputs.items()}
        data["rules"] = [r.to_json() for r in self.rules]
        data["notes"] = self.notes
        if self.problems:
            data["problems"] = [p.to_json() for p in self.problems]
        return data


@dataclass
class ClaimError:
    """A claim that could not be decided: invalid facts, no policy in force, or a runtime problem."""

    claim_id: str | None
    code: str
    message: str
    path: str | None = None
    location: str | None = None  # file:line of the claim, where known
    policy: PolicyStamp | None = None
    decision_date: date | None = None
    details: dict = field(default_factory=dict)
    known_on: date | None = None  # the --known-on date versions were chosen by, so the error can be reproduced

    kind_by_prefix = (("claim.", "invalid"), ("policy.not_in_force", "not_in_force"), ("reference.", "not_in_force"))

    @property
    def kind(self) -> str:
        for prefix, kind in self.kind_by_prefix:
            if self.code.startswith(prefix):
                return kind
        return "undecided"

    def to_json(self, summary: bool = False) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.path:
            error["path"] = self.path
        if self.location:
            error["location"] = self.location
        error.update(self.details)
        data: dict = {"claim_id": self.claim_id}
        if self.policy:
            data["policy"] = self.policy.to_json()
        if self.decision_date:
            data["decision_date"] = self.decision_date.isoformat()
        if self.known_on:
            data["known_on"] = self.known_on.isoformat()
        data["error"] = error
        return data


def stamp(version) -> PolicyStamp:
    return PolicyStamp(version.id, version.version, version.digest)


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
        self.plain_rules = [(when, require, RuleResult(r, "pass"), RuleResult(r, "fail"), RuleResult(r, "not_applicable"))
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
        outputs = {name: _informing(problems, "output", name, lambda: value(env) if when is None or when(env) else None)
                   for name, output, when, value in self.outputs}
        notes = [{"id": n.id, "clause": ", ".join(n.clauses), "text": n.text, "source": n.owner.key}
                 for n, when in self.notes if when is None or _informing(problems, "note", n.id, lambda: when(env))]
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

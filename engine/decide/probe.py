"""One expression evaluated in a policy's namespace against a claim: `policy eval` and `policy repl`.

The expression goes through the engine's own stages — parse, check (in the linked policy's namespace),
compile with tracing — and runs on the claim's validated facts; there is no second evaluator.
"""
from __future__ import annotations

from dataclasses import field
from datetime import date

from engine.claims.reader import ClaimReader, RawClaim
from engine.core.diagnostics import DiagnosticError
from engine.core.records import dataclass
from engine.decide.results import ClaimError, plain
from engine.language.builtins import EvaluationFault, arithmetic_fault
from engine.language.checker import Checked, check_expression
from engine.language.compiler import MISSING, Compiler, Env
from engine.language.syntax import SourceText, parse
from engine.language.types import Type
from engine.policies.policyfile import Expression

EXPRESSION_FILE = "<expression>"


@dataclass
class Probe:
    """What one expression gave: its type, its value (or why there is none) and every fact, row and
    definition it read, in the order read."""

    text: str
    type: Type | None = None
    value: object = None
    reads: list = field(default_factory=list)  # (name, value or MISSING)
    diagnostics: list = field(default_factory=list)  # parse and check errors, as `policy check` words them
    warnings: list = field(default_factory=list)
    fault: EvaluationFault | None = None  # a run-time failure (a fact not given, no such row, division by zero)
    claim_error: ClaimError | None = None  # the claim itself is invalid

    @property
    def ok(self) -> bool:
        return not self.diagnostics and self.fault is None and self.claim_error is None

    def to_json(self) -> dict:
        data: dict = {"expression": self.text}
        if self.type is not None:
            data["type"] = str(self.type)
        if self.diagnostics:
            data["diagnostics"] = [d.to_json() for d in self.diagnostics]
        if self.claim_error is not None:
            data["claim_error"] = self.claim_error.to_json()["error"]
        if self.fault is not None:
            data["error"] = {"code": self.fault.code, "message": str(self.fault)}
        elif self.ok:
            data["value"] = plain(self.value)
        if self.reads:
            reads: dict = {}
            for name, value in self.reads:
                reads.setdefault(name, None if value is MISSING else plain(value))
            data["reads"] = reads
        return data


def claim_facts(reader: ClaimReader | None, claim: dict | None, where: str) -> tuple[dict, ClaimError | None]:
    """The claim's facts as rules see them (validated and converted); no claim gives no facts."""
    if claim is None or reader is None:
        return {}, None
    facts, error = reader.facts(RawClaim(claim, where))
    return (facts or {}), error


def evaluate_expression(checked: Checked, text: str, facts: dict, day: date) -> Probe:
    """Parse, check and compile `text` in the namespace of `checked`, then run it on `facts` on `day`."""
    probe = Probe(text)
    source = SourceText(text, EXPRESSION_FILE)
    try:
        tree = parse(source)
    except DiagnosticError as exc:
        probe.diagnostics = exc.diagnostics
        return probe
    expression = Expression(text, tree, source)
    extended, probe.type, found = check_expression(checked, expression)
    probe.diagnostics = [d for d in found if d.severity == "error"]
    probe.warnings = [d for d in found if d.severity != "error"]
    if probe.diagnostics:
        return probe
    run = Compiler(extended, trace=True).expression(tree, checked.linked)
    env = Env(facts, day, trace=[])
    try:
        probe.value = run(env)
    except EvaluationFault as fault:
        probe.fault = fault
    except ArithmeticError as exc:
        probe.fault = arithmetic_fault(exc)
    probe.reads = list(env.trace or [])
    return probe

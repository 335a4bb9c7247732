"""A chunk of claims decided by columns: read and checked as the per-claim engine reads them, decided all at once.

Each claim is prepared by the evaluator itself (engine.api.Evaluator.prepared: parsed, validated against the input
schema, converted, its decision date and program found), so every claim that cannot be decided keeps exactly the
error record it always had. The claims of one program are then decided together: input checks, rules and the
amount as columns (engine.columnar.columns). A claim for which any of them is not certain (a check fails, a value
is missing, an expression faults) is decided again by the per-claim engine: the columns only ever answer where the
answer is the plain one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from engine.api import PolicyInvalid
from engine.claims.reader import RawClaim
from engine.columnar.columns import Batch, ColumnCompiler, Ctx
from engine.core.i18n import tr
from engine.decide.results import Decision

_ZERO = Decimal(0)


@dataclass
class Stats:
    """What the columnar engine did in this process, for --verbose."""

    by_columns: int = 0  # claims decided by the columns
    per_claim: int = 0  # claims the per-claim engine decided (not certain in columns, or not decidable)
    # policy version -> the expressions run per claim over each batch
    fell_back: dict[str, list[str]] = field(default_factory=dict)
    failed_batches: int = 0  # groups the columns could not decide at all (a bug of theirs): decided per claim

    def report(self) -> str:
        lines = [tr("columnar engine: {columns} claims decided by columns, {per_claim} by the per-claim engine",
                    columns=self.by_columns, per_claim=self.per_claim)]
        for version, texts in sorted(self.fell_back.items()):
            lines.append(tr("{version}: run per claim over each batch: {expressions}", version=version,
                            expressions="; ".join(texts)))
        if not self.fell_back:
            lines.append(tr("no expression fell back to the per-claim engine"))
        return "\n".join(lines)

    def merge(self, other: Stats) -> None:
        self.by_columns += other.by_columns
        self.per_claim += other.per_claim
        self.failed_batches += other.failed_batches
        for key, texts in other.fell_back.items():
            self.fell_back.setdefault(key, texts)


STATS = Stats()


class ColumnarProgram:
    """One compiled Program's checks, rules and amount as functions of a batch."""

    def __init__(self, program, checked, force_fallback: frozenset = frozenset()):
        compiler = ColumnCompiler(checked, force_fallback)
        linked = program.linked
        self.program = program

        def compiled(expression):
            return compiler.expression(expression.tree, linked) if expression is not None else None

        self.checks = [(compiled(c.when), compiled(c.require)) for c in linked.checks]
        self.rules = [(compiled(r.when), compiled(r.require)) + tuple(entry[2:5])
                      for r, entry in zip(linked.rules, program.rules, strict=True)]
        self.amount = compiled(linked.decision.expr) if linked.decision else None
        self.fell_back = list(compiler.fell_back)

    def decide(self, facts: list[dict], days: list[date], claim_ids: list) -> list[Decision | None]:
        """A Decision for each claim the columns decide with certainty, None for each the per-claim engine must."""
        program = self.program
        batch = Batch(facts, days)
        ctx = Ctx.root(batch)
        n = batch.n
        uncertain = np.zeros(n, bool)
        for when, require in self.checks:  # a claim failing an input check gets the per-claim engine's error
            r = require(ctx)
            if when is None:
                uncertain |= ~r.values
                if r.bad is not None:
                    uncertain |= r.bad
                continue
            w = when(ctx)
            applies = w.values if w.bad is None else w.values & ~w.bad
            uncertain |= applies & ~r.values
            if w.bad is not None:
                uncertain |= w.bad
            if r.bad is not None:
                uncertain |= applies & r.bad
        eligible = np.ones(n, bool)
        outcomes = []
        for when, require, passed, failed, not_applicable in self.rules:
            r = require(ctx)
            if when is None:
                applies = np.ones(n, bool)
            else:
                w = when(ctx)
                applies = w.values.copy()
                if w.bad is not None:
                    uncertain |= w.bad
                    applies &= ~w.bad
            if r.bad is not None:
                uncertain |= applies & r.bad
            fails = applies & ~r.values
            eligible &= ~fails
            outcomes.append((applies.tolist(), r.values.tolist(), passed, failed, not_applicable))
        amounts: list = [_ZERO] * n
        if self.amount is not None and eligible.any():
            a = self.amount(ctx)
            if a.bad is not None:
                uncertain |= eligible & a.bad
            values = a.values.tolist()
            for i in np.flatnonzero(eligible & ~uncertain).tolist():
                amounts[i] = Decimal(values[i])
        results: list[Decision | None] = []
        eligible_rows = eligible.tolist()
        for i, unsure in enumerate(uncertain.tolist()):
            if unsure:
                results.append(None)
                continue
            rules = [(passed if ok[i] else failed) if applies[i] else not_applicable
                     for applies, ok, passed, failed, not_applicable in outcomes]
            results.append(program.decision(claim_ids[i], days[i], eligible_rows[i], amounts[i], rules))
        return results


_COMPILED: dict = {}  # id(Program) -> (Program, ColumnarProgram): programs live as long as their engine


def columnar_program(evaluator, program, force_fallback: frozenset = frozenset()) -> ColumnarProgram:
    key = (id(program), force_fallback)
    found = _COMPILED.get(key)
    if found is None or found[0] is not program:
        compiled = ColumnarProgram(program, evaluator.engine.checked(program.linked), force_fallback)
        found = _COMPILED[key] = (program, compiled)
        if compiled.fell_back:
            STATS.fell_back[program.stamp.id + "@" + program.stamp.version] = compiled.fell_back
    return found[1]


def decide(evaluator, raws: list[RawClaim], as_of: date | None = None, force_fallback: frozenset = frozenset(),
           stats: Stats = STATS) -> list:
    """Each claim's result, in order: what evaluator.evaluate_raw(raw, as_of) returns for it."""
    if evaluator.explain or evaluator.outputs:
        raise ValueError("the columnar engine decides summaries: an evaluator with explain=False, outputs=False")
    results: list = [None] * len(raws)
    groups: dict = {}  # id(program) -> (program, rows, facts, days, claim ids)
    known_on = evaluator.selection.known_on
    for i, raw in enumerate(raws):
        try:
            ready = evaluator.prepared(raw.parsed(), as_of)
        except PolicyInvalid:
            raise
        except Exception:  # whatever happened, the per-claim engine says it in this claim's place
            results[i] = evaluator.evaluate_raw(raw, as_of)
            continue
        if not isinstance(ready, tuple):  # an error in the claim's place, as evaluate_raw returns it
            ready.known_on = known_on
            results[i] = ready
            continue
        facts, day, claim_id, program = ready
        group = groups.get(id(program))
        if group is None:
            group = groups[id(program)] = (program, list[int](), list[dict](), list[date](), list())
        group[1].append(i)
        group[2].append(facts)
        group[3].append(day)
        group[4].append(claim_id)
    for program, rows, facts, days, claim_ids in groups.values():
        try:
            decided = columnar_program(evaluator, program, force_fallback).decide(facts, days, claim_ids)
        except Exception:  # a fault of the columns themselves: this group is decided per claim, and it is counted
            stats.failed_batches += 1
            decided = [None] * len(rows)
        for row, result in zip(rows, decided, strict=True):
            if result is None:
                stats.per_claim += 1
                results[row] = evaluator.evaluate_raw(raws[row], as_of)
            else:
                stats.by_columns += 1
                result = evaluator.finished(result, raws[row], result.decision_date)
                result.known_on = known_on
                results[row] = result
    stats.per_claim += len(raws) - sum(len(g[1]) for g in groups.values())
    return results

"""A chunk of claims decided by columns: read into columns, decided all at once, written as summary lines.

    data, counts = decide_chunk(evaluator, raws, as_of)      # the --summary lines of these claims, in order

The claims are read straight into columns (engine.columnar.reader): a claim the column reader does not take is read,
and decided, by the per-claim engine, so it gets exactly the record it always had. The claims of one program are then
decided together: input checks, rules and the amount as columns (engine.columnar.columns). A claim that fails an
input check for certain gets the per-claim engine's error record, built by the program's own function; a claim for
which anything is not certain (a check or rule that faults, a value that is missing where it is needed) is decided
again by the per-claim engine: the columns only ever answer where the answer is the plain one.

The lines of decided claims are written per shape: all claims of a program with the same eligibility, amount and rule
outcomes share one line but for their claim id and decision date, so that line is rendered once (by the per-claim
code, Decision.to_json) and each claim's id and date are put in its place.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import orjson

from engine.claims.reader import RawClaim
from engine.columnar.columns import Batch, ColumnCompiler, Ctx
from engine.columnar.reader import Layout
from engine.core.i18n import tr
from engine.decide.batch import Counts, OutputFormat, render
from engine.decide.results import ClaimError

_ZERO = Decimal(0)
_SUMMARY = OutputFormat("json", summary=True)
_PLACE_DAY = date(2000, 1, 1)
_DAY_AT = b',"decision_date":"'
_DAY_KEY = _DAY_AT + b'2000-01-01"'
_PASS, _FAIL, _NOT_APPLICABLE = 0, 1, 2


@dataclass
class Stats:
    """What the columnar engine did in this process, for --verbose."""

    by_columns: int = 0  # claims decided by the columns
    per_claim: int = 0  # claims the per-claim engine decided (not certain in columns, or not decidable)
    # policy version -> the expressions run per claim over each batch
    fell_back: dict[str, list[str]] = field(default_factory=dict)
    failed_batches: int = 0  # groups the columns could not decide at all (a bug of theirs): decided per claim
    read_per_claim: int = 0  # claims the column reader did not take (read, and decided, by the per-claim engine)

    def report(self) -> str:
        lines = [tr("columnar engine: {columns} claims decided by columns, {per_claim} by the per-claim engine",
                    columns=self.by_columns, per_claim=self.per_claim),
                 tr("columnar reader: {count} claims read by the per-claim reader (not taken by the columns)",
                    count=self.read_per_claim)]
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
        self.read_per_claim += other.read_per_claim
        for key, texts in other.fell_back.items():
            self.fell_back.setdefault(key, texts)


STATS = Stats()


class Outcomes:
    """What the columns decided for the claims of one program: per claim, decided (-1), uncertain (-2: the
    per-claim engine decides it) or the index of the input check it fails; eligibility, amount and rule outcomes."""

    def __init__(self, status: np.ndarray, eligible: np.ndarray, amounts: list, rules: np.ndarray):
        self.status, self.eligible, self.amounts, self.rules = status, eligible, amounts, rules


DECIDED, UNCERTAIN = -1, -2


class ColumnarProgram:
    """One compiled Program's checks, rules and amount as functions of a batch."""

    def __init__(self, program, checked, force_fallback: frozenset = frozenset()):
        compiler = ColumnCompiler(checked, force_fallback)
        linked = program.linked
        self.program = program

        def compiled(expression):
            return compiler.expression(expression.tree, linked) if expression is not None else None

        self.checks = [(compiled(c.when), compiled(c.require)) for c in linked.checks]
        self.rules = [(compiled(r.when), compiled(r.require)) for r in linked.rules]
        self.amount = compiled(linked.decision.expr) if linked.decision else None
        self.fell_back = list(compiler.fell_back)
        self.templates: dict = {}

    def decide(self, batch: Batch) -> Outcomes:
        ctx = Ctx.root(batch)
        n = batch.n
        status = np.full(n, DECIDED, np.int64)
        open_rows = np.ones(n, bool)  # rows whose checks so far all passed, for certain
        for k, (when, require) in enumerate(self.checks):  # as Program.decide: the first check that fails
            if when is None:
                applies = np.ones(n, bool)
            else:
                w = when(ctx)
                if w.bad is not None:
                    status[open_rows & w.bad] = UNCERTAIN
                    open_rows &= ~w.bad
                applies = w.values & open_rows
            r = require(ctx)
            if r.bad is not None:
                status[applies & r.bad] = UNCERTAIN
                open_rows &= ~(applies & r.bad)
                applies &= ~r.bad
            fails = applies & ~r.values
            status[fails] = k
            open_rows &= ~fails
        outcomes = np.zeros((len(self.rules), n), np.int8)
        eligible = np.ones(n, bool)
        uncertain = np.zeros(n, bool)
        for j, (when, require) in enumerate(self.rules):
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
            outcomes[j] = np.where(applies, np.where(fails, _FAIL, _PASS), _NOT_APPLICABLE)
        amounts: list = [_ZERO] * n
        if self.amount is not None and (eligible & open_rows).any():
            a = self.amount(ctx)
            if a.bad is not None:
                uncertain |= eligible & a.bad
            values = a.values.tolist()
            for i in np.flatnonzero(eligible & ~uncertain & open_rows).tolist():
                amounts[i] = Decimal(values[i])
        status[open_rows & uncertain] = UNCERTAIN
        return Outcomes(status, eligible, amounts, outcomes)

    def rule_results(self, codes: tuple) -> list:
        return [entry[2 + code] for entry, code in zip(self.program.rules, codes, strict=True)]

    def template(self, evaluator, eligible: bool, amount: Decimal, codes: tuple) -> tuple[bytes, bytes]:
        """The summary line of this shape around its claim id and decision date: (from the id to the date, after
        the date), rendered by the per-claim code."""
        known_on = evaluator.selection.known_on
        key = (eligible, amount, amount.is_signed(), codes, known_on)
        found = self.templates.get(key)
        if found is None:
            decision = self.program.decision(None, _PLACE_DAY, eligible, amount, self.rule_results(codes))
            decision.known_on = known_on
            line = render(decision, _SUMMARY)
            head = b'{"claim_id":null'
            at = line.index(_DAY_KEY)
            if not line.startswith(head) or line.count(_DAY_KEY) != 1:  # pragma: no cover - the layout of to_json
                raise ValueError("unexpected summary layout")
            found = self.templates[key] = (line[len(head):at + len(_DAY_AT)], line[at + len(_DAY_KEY) - 1:])
            if len(self.templates) > 10_000:
                self.templates.clear()
        return found


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


_DAYS: dict = {}  # date -> its ISO text as bytes


def _day_text(day: date) -> bytes:
    found = _DAYS.get(day)
    if found is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        found = _DAYS[day] = day.isoformat().encode()
    return found


def decide_chunk(evaluator, raws: list[RawClaim], as_of: date | None = None, stats: Stats = STATS,
                 force_fallback: frozenset = frozenset()) -> tuple[bytes, Counts]:
    """The --summary lines (JSON) of these claims, in order, and their counts: the bytes the per-claim engine writes.

    The cyclic garbage collector is paused meanwhile: a chunk's claims are thousands of plain dicts and lists, alive
    together and without cycles, which it would otherwise walk again and again (it doubled the time of reading)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _decide_chunk(evaluator, raws, as_of, stats, force_fallback)
    finally:
        if paused:
            gc.enable()


def _decide_chunk(evaluator, raws: list[RawClaim], as_of: date | None, stats: Stats,
                  force_fallback: frozenset) -> tuple[bytes, Counts]:
    if evaluator.explain or evaluator.outputs:
        raise ValueError("the columnar engine decides summaries: an evaluator with explain=False, outputs=False")
    n = len(raws)
    lines: list = [None] * n
    counts = Counts()
    known_on = evaluator.selection.known_on
    per_claim: list[int] = []
    reader = evaluator.claim_reader()
    layout = Layout.of(reader)
    batch = layout.read(raws) if layout is not None else None
    if batch is None or not batch.n:
        per_claim = list(range(n))
        stats.read_per_claim += n
    else:
        assert layout is not None
        per_claim = list(batch.per_claim)
        stats.read_per_claim += len(per_claim)
        taken = batch.taken.tolist()
        ids = batch.claim_ids()
        days: list
        if as_of is not None:
            days = [as_of] * batch.n
        elif reader.date_field and reader.date_field in layout.root.fields:
            days = batch.path((reader.date_field,)).tolist()
        else:
            days = [None] * batch.n
        groups: dict = {}  # id(program) -> (program, positions)
        programs: dict = {}
        for position, day in enumerate(days):
            if type(day) is not date:  # no decision date: the per-claim engine says so
                per_claim.append(taken[position])
                continue
            program = programs.get(day)
            if program is None:
                program = programs[day] = evaluator.program_for(day)
            if isinstance(program, ClaimError):
                row = taken[position]
                result = evaluator.without_program(program, ids[position], raws[row].location, day)
                result.known_on = known_on
                counts.add(result)
                lines[row] = render(result, _SUMMARY)
                stats.by_columns += 1
                continue
            group = groups.get(id(program))
            if group is None:
                group = groups[id(program)] = (program, list[int]())
            group[1].append(position)
        out_of_force = evaluator.selection.any_date and evaluator.selection.version
        for program, positions in groups.values():
            where = np.asarray(positions, np.int64)
            group_days = [days[p] for p in positions]
            try:
                compiled = columnar_program(evaluator, program, force_fallback)
                outcomes = compiled.decide(Batch(batch.subset(where), group_days))
            except Exception:  # a fault of the columns themselves: this group is decided per claim, and it is counted
                stats.failed_batches += 1
                per_claim.extend(taken[p] for p in positions)
                continue
            status = outcomes.status.tolist()
            eligible = outcomes.eligible.tolist()
            codes = list(zip(*outcomes.rules.tolist(), strict=True)) if len(outcomes.rules) else [()] * len(positions)
            decided = eligible_count = 0
            for i, position in enumerate(positions):
                row = taken[position]
                state = status[i]
                if state == UNCERTAIN:
                    per_claim.append(row)
                    continue
                day = group_days[i]
                if state >= 0:  # an input check failed
                    result = program.check_failed(state, ids[position], day)
                    result = evaluator.finished(result, raws[row], day)
                    result.known_on = known_on
                    counts.add(result)
                    lines[row] = render(result, _SUMMARY)
                    stats.by_columns += 1
                    continue
                decided += 1
                eligible_count += eligible[i]
                if out_of_force:  # each decision says which version was in force instead: rendered one by one
                    result = program.decision(ids[position], day, eligible[i], outcomes.amounts[i],
                                              compiled.rule_results(codes[i]))
                    result = evaluator.finished(result, raws[row], day)
                    result.known_on = known_on
                    lines[row] = render(result, _SUMMARY)
                    continue
                before, after = compiled.template(evaluator, eligible[i], outcomes.amounts[i], codes[i])
                claim_id = ids[position]
                lines[row] = b"".join((b'{"claim_id":', b"null" if claim_id is None else orjson.dumps(claim_id),
                                       before, _day_text(day), after))
            counts.decided += decided
            counts.eligible += eligible_count
            stats.by_columns += decided
    for row in per_claim:
        result = evaluator.evaluate_raw(raws[row], as_of)
        counts.add(result)
        lines[row] = render(result, _SUMMARY)
        stats.per_claim += 1
    return b"".join(lines), counts

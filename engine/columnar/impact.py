"""`policy impact` by columns: each claim of a chunk decided under both sides of the comparison at once.

    for chunk, compared in compared_by_columns(before, after, raws, stats):
        for row, raw in enumerate(chunk):
            if compared.alike[row]:
                claim_id, amount_before, amount_after = compared.same(row)   # decided alike under both
            else:
                result_before, result_after = compared.results(row, raw)

Each chunk is read into columns once (twice only when the two sides read claims by different input schemas) and
decided by the columnar engine under each side, which gives each claim's summary there: decided or not, eligibility,
amount and the rules it fails. A claim both sides decide with the same summary changes nothing in the report but its
counts and totals (engine.audit.impact.compare adds nothing else for it), so only those are handed back. Every other
claim gets its result under each side as the per-claim engine gives it, for its entry in the report: made from the
columns where they decided it (the program's own Decision or input check error, with each rule's outcome, as
engine.columnar.batch makes them), and decided again claim by claim where they did not (a value they are not certain
of, a line the column reader does not take) or where the entry says what the amount read differently (an eligible
amount that changed), which only the per-claim engine records.
"""
from __future__ import annotations

import gc
import operator
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from engine.claims.reader import RawClaim
from engine.columnar.batch import (
    _FAIL,
    DECIDED,
    UNCERTAIN,
    Stats,
    _decision_days,
    columnar_program,
    program_groups,
)
from engine.columnar.columns import Batch
from engine.columnar.reader import ColumnBatch, Layout
from engine.decide.batch import COLUMNAR_CHUNK, _chunks
from engine.decide.results import ClaimError, Decision

CHUNK = COLUMNAR_CHUNK  # claims compared at a time


def compared_by_columns(before, after, raws: Iterable[RawClaim],
                        stats: Stats) -> Iterator[tuple[Sequence[RawClaim], Compared]]:
    """(chunk of claims, what the columns found for them under both evaluators) for every chunk of `raws`, in input
    order.

    The cyclic garbage collector is paused while a chunk is decided by columns (engine.columnar.batch.decide_chunk
    says why); not while the caller makes the report's entries."""
    readers = before.claim_reader(), after.claim_reader()
    layouts = Layout.of(readers[0]), Layout.of(readers[1])
    # one reading serves both sides when they read claims alike
    shared = readers[0].schema == readers[1].schema and readers[0].record == readers[1].record
    for chunk in _chunks(raws, CHUNK):
        paused = gc.isenabled()
        gc.disable()
        try:
            compared = _compared(before, after, chunk, layouts, shared, stats)
        finally:
            if paused:
                gc.enable()
        yield chunk, compared


class _Side:
    """What the columns found for the claims of a chunk under one evaluator: which they decided, with what summary,
    and what each claim's result is made from."""

    def __init__(self, evaluator, n: int):
        self.evaluator = evaluator
        self.decided = np.zeros(n, bool)
        self.eligible = np.zeros(n, bool)
        self.amounts = np.full(n, None, dtype=object)
        self.failed = np.full(n, -1, np.int64)  # the set of rules it fails, as a code (of the chunk's `failed_codes`)
        self.ids: list = [None] * n
        self.group = np.full(n, -1, np.int64)  # the program group that decided it (an input check failing, too)
        self.index = np.zeros(n, np.int64)  # its place in that group
        self.groups: list = []  # (program, its columns, Outcomes, each claim's day code, the days)
        self.without_program: dict = {}  # row -> (why no program decides on its day, the day)

    def fill(self, batch: ColumnBatch, layout: Layout, stats: Stats, failed_codes: dict) -> None:
        evaluator = self.evaluator
        taken = batch.taken
        for row, claim_id in zip(taken.tolist(), batch.claim_ids(), strict=True):
            self.ids[row] = claim_id
        day_codes, day_uniques = _decision_days(batch, layout, evaluator.claim_reader(), None)
        days = day_uniques.tolist()
        # a claim without a date is left to the per-claim engine
        day_programs, programs, group_of = program_groups(evaluator, days)
        for code, (program, day) in enumerate(zip(day_programs, days, strict=True)):
            if isinstance(program, ClaimError):
                for row in taken[day_codes == code].tolist():
                    self.without_program[row] = (program, day)
        row_groups = group_of[day_codes]
        for group, program in enumerate(programs):
            where = np.flatnonzero(row_groups == group)
            codes_here = day_codes[where]
            group_batch = Batch(batch.subset(where), day_uniques[codes_here], (codes_here, day_uniques))
            try:
                compiled = columnar_program(evaluator, program)
                outcomes = compiled.decide(group_batch)
            except Exception:  # a fault of the columns themselves: these claims are decided claim by claim
                stats.failed_batches += 1
                continue
            finally:
                group_batch.close()
            if compiled.fell_back:
                stats.fell_back.setdefault(program.stamp.id + "@" + program.stamp.version, compiled.fell_back)
            rows = taken[where]
            known = outcomes.status != UNCERTAIN
            self.group[rows[known]] = len(self.groups)
            self.index[rows[known]] = np.flatnonzero(known)
            self.groups.append((program, compiled, outcomes, codes_here, days))
            decided = np.flatnonzero(outcomes.status == DECIDED)
            if not len(decided):
                continue
            rows = rows[decided]
            self.decided[rows] = True
            self.eligible[rows] = outcomes.eligible[decided]
            amounts = np.empty(len(outcomes.amounts), dtype=object)
            amounts[:] = outcomes.amounts
            self.amounts[rows] = amounts[decided]
            sets, inverse = _failed_rules([rule.id for rule in program.linked.rules], outcomes.rules[:, decided])
            codes = np.asarray([failed_codes.setdefault(failed, len(failed_codes)) for failed in sets], np.int64)
            self.failed[rows] = codes[inverse]

    def result(self, row: int, raw: RawClaim):
        """The claim's result as the per-claim engine gives it, but for what it read (no amount_reads, no rule's
        reads): the program's own Decision or error, made from the columns; None where they did not decide it."""
        evaluator = self.evaluator
        group = int(self.group[row])
        if group < 0:
            found = self.without_program.get(row)
            if found is None:
                return None
            error, day = found
            result = evaluator.without_program(error, self.ids[row], raw.location, day)
        else:
            program, compiled, outcomes, codes, days = self.groups[group]
            i = int(self.index[row])
            day = days[codes[i]]
            status = int(outcomes.status[i])
            if status == DECIDED:
                result = program.decision(self.ids[row], day, bool(outcomes.eligible[i]), outcomes.amounts[i],
                                          compiled.rule_results(tuple(outcomes.rules[:, i].tolist())))
            else:  # the input check of that index failed
                result = program.check_failed(status, self.ids[row], day)
            result = evaluator.finished(result, raw, day)
        result.known_on = evaluator.selection.known_on
        return result


class Compared:
    """A chunk's claims as the columns decided them under both sides: `alike[row]`, whether both decided the claim
    with the same eligibility, amount (as numbers, as compare compares them) and failed rules."""

    def __init__(self, sides: tuple[_Side, _Side], stats: Stats):
        self.sides = sides
        before, after = sides
        both = before.decided & after.decided & (before.eligible == after.eligible) & (before.failed == after.failed)
        rows = np.flatnonzero(both)
        equal = np.fromiter(map(operator.eq, before.amounts[rows].tolist(), after.amounts[rows].tolist()), bool,
                            len(rows))
        alike = np.zeros(len(both), bool)
        alike[rows[equal]] = True
        self.alike: list[bool] = alike.tolist()
        self.amounts = before.amounts.tolist(), after.amounts.tolist()
        self.stats = stats
        stats.by_columns += int(alike.sum())

    def same(self, row: int) -> tuple:
        """(claim id, amount before, amount after) of a claim decided alike under both."""
        before, after = self.sides
        claim_id = before.ids[row] if before.ids[row] is not None else after.ids[row]
        return claim_id, self.amounts[0][row], self.amounts[1][row]

    def results(self, row: int, raw: RawClaim) -> tuple:
        """(result before, result after) of a claim not decided alike, as the per-claim engine reports them: made
        from the columns where they can be, decided again claim by claim where they cannot."""
        found = [side.result(row, raw) for side in self.sides]
        parsed: list = []

        def again(k: int):
            if not parsed:
                parsed.append(raw.parsed())
            return self.sides[k].evaluator.evaluate_raw(parsed[0])

        from_columns = [result is not None for result in found]
        for k in (0, 1):
            if found[k] is None:
                found[k] = again(k)
        a, b = found
        if isinstance(a, Decision) and isinstance(b, Decision) and a.eligible and b.eligible and a.amount != b.amount:
            # the entry says what the amount read differently: only the per-claim engine records what it read
            for k in (0, 1):
                if from_columns[k]:
                    found[k] = again(k)
        if parsed:
            self.stats.per_claim += 1
        else:
            self.stats.by_columns += 1
        return found[0], found[1]


def _compared(before, after, raws: Sequence[RawClaim], layouts: tuple, shared: bool, stats: Stats) -> Compared:
    n = len(raws)
    sides = _Side(before, n), _Side(after, n)
    batches: list[ColumnBatch | None] = []
    for k, layout in enumerate(layouts):
        batches.append(batches[0] if shared and k else layout.read(raws) if layout is not None else None)
    failed_codes: dict = {}  # a set of failed rules -> its code, the same under both sides
    try:
        for side, batch, layout in zip(sides, batches, layouts, strict=True):
            if batch is not None and batch.n:
                side.fill(batch, layout, stats, failed_codes)
    finally:
        for batch in batches:
            if batch is not None:
                batch.close()
    taken = np.ones(n, bool)  # read into columns for both sides
    for batch in batches:
        taken &= ~batch.refused if batch is not None else False
    stats.read_per_claim += n - int(taken.sum())
    return Compared(sides, stats)


def _failed_rules(rule_ids: list[str], outcomes: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """(the distinct sets of failed rules, each a sorted tuple of ids; which set each claim has) of rule outcomes
    (a row per rule, a column per claim). Each claim's set is one number of a bit per rule where the rules fit in one
    (NumPy's unique of whole rows sorts them as bytes: ten times as long)."""
    failing = outcomes == _FAIL
    if len(rule_ids) <= 62:
        bits = np.left_shift(np.int64(1), np.arange(len(rule_ids), dtype=np.int64))
        patterns, inverse = np.unique(bits @ failing, return_inverse=True)
        failed = [tuple(sorted(rule_id for j, rule_id in enumerate(rule_ids) if pattern >> j & 1))
                  for pattern in patterns.tolist()]
    else:  # pragma: no cover - more rules than one number holds
        rows, inverse = np.unique(failing.T, axis=0, return_inverse=True)
        failed = [tuple(sorted(rule_id for rule_id, fails in zip(rule_ids, row, strict=True) if fails))
                  for row in rows.tolist()]
    return failed, inverse.reshape(-1)

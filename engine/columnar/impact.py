"""`policy impact` by columns: which claims the two sides of a comparison decide alike, a chunk at a time.

    for chunk, alike in alike_by_columns(before, after, raws, stats):
        ...  # alike[i]: (claim id, amount before, amount after), or None: decide chunk[i] claim by claim

Each chunk is read into columns once (twice only when the two sides read claims by different input schemas) and
decided by the columnar engine under each side, giving each claim's summary there: eligibility, amount and the rules
it fails. A claim both sides decide by columns with the same summary changes nothing in the report but its counts and
totals (engine.audit.impact.compare adds nothing else for it), so only those are handed back. Every other claim — a
summary that differs, a claim either side does not decide by columns (an input check failed, no version in force, a
value the columns are not certain of, a line the column reader does not take) — is decided again by the per-claim
engine under both sides, which gives its entry in the report (the rules that flipped, what the amount read
differently, why it was not decided) exactly as a run claim by claim does.
"""
from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np

from engine.claims.reader import RawClaim
from engine.columnar.batch import _FAIL, DECIDED, Stats, _decision_days, columnar_program
from engine.columnar.columns import Batch
from engine.columnar.reader import ColumnBatch, Layout
from engine.decide.batch import COLUMNAR_CHUNK, _chunks
from engine.decide.results import ClaimError

CHUNK = COLUMNAR_CHUNK  # claims compared at a time


def alike_by_columns(before, after, raws: Iterable[RawClaim], stats: Stats) -> Iterator[tuple[list, list]]:
    """(chunk of claims, what the columns found for each) for every chunk of `raws`, in input order: per claim
    (claim id, amount before, amount after) where both evaluators decide it by columns with the same eligibility,
    amount and failed rules; None where it must be decided claim by claim.

    The cyclic garbage collector is paused while a chunk is decided by columns (engine.columnar.batch.decide_chunk
    says why); not while the caller decides the others."""
    readers = before.claim_reader(), after.claim_reader()
    layouts = Layout.of(readers[0]), Layout.of(readers[1])
    # one reading serves both sides when they read claims alike
    shared = readers[0].schema == readers[1].schema and readers[0].record == readers[1].record
    for chunk in _chunks(raws, CHUNK):
        paused = gc.isenabled()
        gc.disable()
        try:
            alike = _alike(before, after, chunk, layouts, shared, stats)
        finally:
            if paused:
                gc.enable()
        yield chunk, alike


def _alike(before, after, raws: list[RawClaim], layouts: tuple, shared: bool, stats: Stats) -> list:
    n = len(raws)
    batches: list[ColumnBatch | None] = []
    for side, layout in enumerate(layouts):
        if shared and side:
            batches.append(batches[0])
        else:
            batches.append(layout.read(raws) if layout is not None else None)
    try:
        found = [_summaries(evaluator, raws, batch, layout, stats)
                 for evaluator, batch, layout in zip((before, after), batches, layouts, strict=True)]
    finally:
        for batch in batches:
            if batch is not None:
                batch.close()
    (summaries_before, ids_before), (summaries_after, ids_after) = found
    alike: list = [None] * n
    taken = [batch.taken.tolist() if batch is not None else [] for batch in batches]
    for row in set(taken[0]).intersection(taken[1]):
        a, b = summaries_before[row], summaries_after[row]
        if a is not None and a == b:  # eligibility, amount (as numbers, as compare compares them), failed rules
            claim_id = ids_before[row] if ids_before[row] is not None else ids_after[row]
            alike[row] = (claim_id, a[1], b[1])
    compared = sum(entry is not None for entry in alike)
    stats.by_columns += compared
    stats.per_claim += n - compared
    stats.read_per_claim += n - len(set(taken[0]).intersection(taken[1]))
    return alike


def _summaries(evaluator, raws: list[RawClaim], batch: ColumnBatch | None, layout: Layout | None,
               stats: Stats) -> tuple[list, list]:
    """(summary, claim id) of each claim of `raws` under `evaluator`, as lists in input order: a summary is
    (eligible, amount, the ids of the rules it fails, sorted) where the columns decided the claim, None where they
    did not."""
    n = len(raws)
    summaries: list = [None] * n
    claim_ids: list = [None] * n
    if batch is None or not batch.n:
        return summaries, claim_ids
    assert layout is not None
    taken = batch.taken.tolist()
    ids = batch.claim_ids()
    for row, claim_id in zip(taken, ids, strict=True):
        claim_ids[row] = claim_id
    day_codes, day_uniques = _decision_days(batch, layout, evaluator.claim_reader(), None)
    days = day_uniques.tolist()
    # the program of each distinct decision date; a day with none (or no date at all) is left to the per-claim engine
    group_of: list[int] = []
    programs: list = []
    seen: dict = {}  # id(program) -> its group
    for day in days:
        program = evaluator.program_for(day) if type(day) is date else None
        if program is None or isinstance(program, ClaimError):
            group_of.append(-1)
            continue
        group = seen.get(id(program))
        if group is None:
            group = seen[id(program)] = len(programs)
            programs.append(program)
        group_of.append(group)
    row_groups = np.asarray(group_of, np.int64)[day_codes]
    for group, program in enumerate(programs):
        where = np.flatnonzero(row_groups == group)
        codes_here = day_codes[where]
        group_batch = Batch(batch.subset(where), day_uniques[codes_here], (codes_here, day_uniques))
        try:
            compiled = columnar_program(evaluator, program)
            outcomes = compiled.decide(group_batch)
        except Exception:  # a fault of the columns themselves: these claims are compared claim by claim
            stats.failed_batches += 1
            continue
        finally:
            group_batch.close()
        if compiled.fell_back:
            stats.fell_back.setdefault(program.stamp.id + "@" + program.stamp.version, compiled.fell_back)
        decided = np.flatnonzero(outcomes.status == DECIDED)
        if not len(decided):
            continue
        failed, inverse = _failed_rules([rule.id for rule in program.linked.rules], outcomes.rules[:, decided])
        eligible = outcomes.eligible[decided].tolist()
        amounts = outcomes.amounts
        for row, i, yes, shape in zip([taken[p] for p in where[decided].tolist()], decided.tolist(), eligible,
                                      inverse.tolist(), strict=True):
            summaries[row] = (yes, amounts[i], failed[shape])
    return summaries, claim_ids


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

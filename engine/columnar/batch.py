"""A chunk of claims decided by columns: read into columns, decided all at once, written as summary lines.

    data, counts = decide_chunk(evaluator, raws, as_of)      # the --summary lines of these claims, in order

The claims are read straight into columns (engine.columnar.reader): a claim the column reader does not take is read,
and decided, by the per-claim engine, so it gets exactly the record it always had. The claims of one program are then
decided together: input checks, rules and the amount as columns (engine.columnar.compiler). A claim that fails an
input check for certain gets the per-claim engine's error record, built by the program's own function; a claim for
which anything is not certain (a check or rule that faults, a value that is missing where it is needed) is decided
again by the per-claim engine: the columns only ever answer where the answer is the plain one.

The lines of decided claims are written per shape: all claims of a program with the same eligibility, amount and rule
outcomes share one line but for their claim id and decision date, so that line is rendered once (by the per-claim
code, Decision.to_json) and each claim's id and date are put in its place.
"""
from __future__ import annotations

import contextlib
import gc
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import repeat

import numpy as np
import orjson

from engine.claims.reader import RawClaim
from engine.columnar.columns import Batch, Ctx, objects
from engine.columnar.compiler import ColumnCompiler
from engine.columnar.reader import Layout
from engine.core.i18n import tr
from engine.decide.batch import Counts, OutputFormat, render
from engine.decide.results import ClaimError

_ZERO = Decimal(0)
_SUMMARY = OutputFormat("json", summary=True)
_PLACE_DAY = date(2000, 1, 1)
_DAY_AT = b',"decision_date":"'
_DAY_KEY = _DAY_AT + b'2000-01-01"'
_PLACE_LOCATION = "\x00location\x00"  # no claim's location: written \u0000location\u0000, found once in a line
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
            rows = np.flatnonzero(eligible & ~uncertain & open_rows)
            made = np.full(n, _ZERO, dtype=object)
            if a.codes is not None and a.uniques is not None:  # each distinct amount made a Decimal once
                used, inverse = np.unique(a.codes[rows], return_inverse=True)
                distinct = objects(map(Decimal, a.uniques[used].tolist()), len(used))
                made[rows] = distinct[inverse.reshape(-1)]
                below = np.fromiter(map(_ZERO.__gt__, distinct.tolist()), bool, len(distinct))[inverse.reshape(-1)]
            else:
                made[rows] = objects(map(Decimal, a.values[rows].tolist()), len(rows))
                below = np.fromiter(map(_ZERO.__gt__, made[rows].tolist()), bool, len(rows))
            uncertain[rows[below]] = True  # a negative amount: the per-claim engine refuses the claim, saying why
            amounts = made.tolist()
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


    def failed_template(self, evaluator, check: int) -> tuple[str, bytes, bytes, bytes] | None:
        """The summary line of a claim failing this input check around its claim id, decision date and location:
        (the error's kind, from the id to the date, from the date to the location, after the location), rendered by
        the per-claim code (check_failed, finished); None if its layout is not as expected."""
        key = ("failed", check, evaluator.selection.known_on, evaluator.policy_id)
        found = self.templates.get(key, _ABSENT)
        if found is _ABSENT:
            result = evaluator.finished(self.program.check_failed(check, None, _PLACE_DAY),
                                        RawClaim(None, _PLACE_LOCATION), _PLACE_DAY)
            result.known_on = evaluator.selection.known_on
            line = render(result, _SUMMARY)
            head, place = b'{"claim_id":null', orjson.dumps(_PLACE_LOCATION)
            found = None
            if line.startswith(head) and line.count(_DAY_KEY) == 1 and line.count(place) == 1 \
                    and line.index(_DAY_KEY) < line.index(place):
                at, where = line.index(_DAY_KEY), line.index(place)
                found = (result.kind, line[len(head):at + len(_DAY_AT)], line[at + len(_DAY_KEY) - 1:where],
                         line[where + len(place):])
            self.templates[key] = found
        return found


_ABSENT = object()
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


def _decision_days(batch, layout: Layout, reader, as_of: date | None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct days) of the taken claims' decision dates: --as-of, or each claim's date fact (None where
    it has none)."""
    if as_of is not None:
        return np.zeros(batch.n, np.int64), np.array([as_of], dtype=object)
    if reader.date_field and reader.date_field in layout.root.fields:
        found = batch.coded((reader.date_field,))
        if found is not None:
            return found
        days = batch.path((reader.date_field,))
        return np.arange(batch.n, dtype=np.int64), days  # not a fact of one type: each claim's its own
    return np.zeros(batch.n, np.int64), np.array([None], dtype=object)


def program_groups(evaluator, days: list) -> tuple[list, list, np.ndarray]:
    """The program of each distinct decision date (None for a day that is no date, or the ClaimError of a day no
    version is in force on), the distinct programs in the order met, and each day's group: the place of its program
    among them, -1 where it has none. The claims of one program are decided together."""
    day_programs = [evaluator.program_for(day) if type(day) is date else None for day in days]
    programs: list = []
    seen: dict = {}  # id(program) -> its group
    group_of: list[int] = []
    for program in day_programs:
        if program is None or isinstance(program, ClaimError):
            group_of.append(-1)
            continue
        group = seen.get(id(program))
        if group is None:
            group = seen[id(program)] = len(programs)
            programs.append(program)
        group_of.append(group)
    return day_programs, programs, np.asarray(group_of, np.int64)


def _write_decided(compiled: ColumnarProgram, evaluator, lines: list, rows: list, ids: list, days: list,
                   eligible: np.ndarray, amounts: list, rules: np.ndarray) -> None:
    """The summary lines of decided claims, each from the line of its shape (eligibility, amount, rule outcomes),
    found once per distinct shape, with the claim's id and decision date put in."""
    n = len(rows)
    amount_index: dict = {}  # as the templates are kept: equal amounts alike, but for the sign of a zero
    # claims share their amount's object (Outcomes: one Decimal per distinct amount): each object keyed once
    _, first, by_object = np.unique(np.fromiter(map(id, amounts), np.uint64, n), return_index=True,
                                    return_inverse=True)
    object_codes = [amount_index.setdefault((a, a.is_signed()), len(amount_index))
                    for a in map(amounts.__getitem__, first.tolist())]
    amount_codes = np.asarray(object_codes, np.int64)[by_object.reshape(-1)]
    if 2 * 3 ** len(rules) * len(amount_index) < 1 << 62:  # a shape is one number: rule outcomes are 0, 1 or 2
        shape = eligible.astype(np.int64)
        for outcome in rules:
            shape = shape * 3 + outcome
        _, first, inverse = np.unique(shape * len(amount_index) + amount_codes, return_index=True,
                                      return_inverse=True)
    else:  # pragma: no cover - more rules than one number holds
        _, first, inverse = np.unique(np.vstack((eligible, rules, amount_codes)).T, axis=0, return_index=True,
                                      return_inverse=True)
    befores, afters = [], []
    for i in first.tolist():
        before, after = compiled.template(evaluator, bool(eligible[i]), amounts[i], tuple(rules[:, i].tolist()))
        befores.append(before)
        afters.append(after)
    inverse = inverse.reshape(-1).tolist()
    # every line joined and put in its place by C loops (map), none by a Python statement per claim; a claim
    # without an id is null, as orjson writes None
    made = map(b"".join, zip(repeat(b'{"claim_id":', len(rows)), map(orjson.dumps, ids),
                             map(befores.__getitem__, inverse), days, map(afters.__getitem__, inverse), strict=True))
    deque(map(lines.__setitem__, rows, made), maxlen=0)


def decide_chunk(evaluator, raws: Sequence[RawClaim], as_of: date | None = None, stats: Stats = STATS,
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


def _decide_chunk(evaluator, raws: Sequence[RawClaim], as_of: date | None, stats: Stats,
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
        day_codes, day_uniques = _decision_days(batch, layout, reader, as_of)
        # the claims of a day with no program (or no date) one by one
        days = day_uniques.tolist()
        day_programs, programs, group_of = program_groups(evaluator, days)
        row_groups = group_of[day_codes]
        for position in np.flatnonzero(row_groups < 0).tolist():
            day = days[day_codes[position]]
            row = taken[position]
            program = day_programs[day_codes[position]]
            if program is None:  # no decision date: the per-claim engine says so
                per_claim.append(row)
                continue
            result = evaluator.without_program(program, ids[position], raws[row].location, day)
            result.known_on = known_on
            counts.add(result)
            lines[row] = render(result, _SUMMARY)
            stats.by_columns += 1
        out_of_force = evaluator.selection.any_date and evaluator.selection.version
        day_texts = [_day_text(day) if type(day) is date else b"" for day in days]
        for group, program in enumerate(programs):
            where = np.flatnonzero(row_groups == group)
            codes_here = day_codes[where]
            group_batch = Batch(batch.subset(where), day_uniques[codes_here], (codes_here, day_uniques))
            try:
                compiled = columnar_program(evaluator, program, force_fallback)
                outcomes = compiled.decide(group_batch)
            except Exception:  # a fault of the columns themselves: this group is decided per claim, and it is counted
                stats.failed_batches += 1
                per_claim.extend(taken[p] for p in where.tolist())
                continue
            finally:
                group_batch.close()
            if compiled.fell_back:  # the Stats of a --dask partition too, not only this process's STATS
                stats.fell_back.setdefault(program.stamp.id + "@" + program.stamp.version, compiled.fell_back)
            status = outcomes.status
            rows_here = batch.taken[where]
            per_claim.extend(rows_here[status == UNCERTAIN].tolist())
            for i in np.flatnonzero(status >= 0).tolist():  # an input check failed
                row = int(rows_here[i])
                day = days[codes_here[i]]
                if not out_of_force:  # the line of its check, with the claim's id, date and location put in
                    template = compiled.failed_template(evaluator, int(status[i]))
                    if template is not None:
                        with contextlib.suppress(TypeError):  # a location orjson does not write: rendered whole
                            location = orjson.dumps(raws[row].location)
                            kind, before, between, after = template
                            lines[row] = b"".join((b'{"claim_id":', orjson.dumps(ids[int(where[i])]), before,
                                                   day_texts[codes_here[i]], between, location, after))
                            setattr(counts, kind, getattr(counts, kind) + 1)
                            stats.by_columns += 1
                            continue
                result = program.check_failed(int(status[i]), ids[int(where[i])], day)
                result = evaluator.finished(result, raws[row], day)
                result.known_on = known_on
                counts.add(result)
                lines[row] = render(result, _SUMMARY)
                stats.by_columns += 1
            decided = np.flatnonzero(status == DECIDED)
            if not len(decided):
                continue
            eligible = outcomes.eligible[decided]
            counts.decided += len(decided)
            counts.eligible += int(eligible.sum())
            stats.by_columns += len(decided)
            rules = outcomes.rules[:, decided]
            if out_of_force:  # each decision says which version was in force instead: rendered one by one
                for k, i in enumerate(decided.tolist()):
                    row = int(rows_here[i])
                    day = days[codes_here[i]]
                    result = program.decision(ids[int(where[i])], day, bool(eligible[k]), outcomes.amounts[i],
                                              compiled.rule_results(tuple(rules[:, k].tolist())))
                    result = evaluator.finished(result, raws[row], day)
                    result.known_on = known_on
                    lines[row] = render(result, _SUMMARY)
                continue
            _write_decided(compiled, evaluator, lines, rows_here[decided].tolist(),
                           [ids[p] for p in where[decided].tolist()],
                           [day_texts[c] for c in codes_here[decided].tolist()], eligible,
                           [outcomes.amounts[i] for i in decided.tolist()], rules)
        batch.close()
    for row in per_claim:
        result = evaluator.evaluate_raw(raws[row], as_of)
        counts.add(result)
        lines[row] = render(result, _SUMMARY)
        stats.per_claim += 1
    return b"".join(lines), counts

"""Checked expressions → functions of a whole batch of claims, over NumPy columns.

Built from the checked tree only, as engine.language.compiler builds closures from it (a table of node type →
builder, the checker's resolution deciding each name), never from officer text. A column holds the very Python
values the per-claim engine computes (dates, Decimals, strings in object arrays; booleans as a bool array), and
each operation applies the same Python operation to every row at once: NumPy's loops for comparisons, logic and
selection, and for built-in functions and exact arithmetic one Python call per distinct argument (facts, constants
and the results of such calls are dictionary-encoded, Col.codes, so the distinct arguments are found by NumPy). The
calendar functions (age, months_between, add_months, year, month, day) are computed on day numbers in NumPy,
with the built-ins' rules (tests/test_columnar.py compares them). So the values are the per-claim values, not a
second reading of the language.

What the per-claim engine would raise for a row is not reproduced here: such a row is marked `bad` (and `missing`
when what it raised is a MissingValue, which `??`, has() and `== null` catch), and the batch decides it through
the per-claim engine. Laziness is kept by masks: the right side of `and`, a branch of `if` or a later item of
`any` only makes a row bad where the per-claim engine would have computed it.

A construct this module does not build falls back, for that expression alone, to the per-claim closure run row by
row over the batch (`fell_back` names each one, for --verbose).
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from itertools import chain
from typing import Any

import numpy as np

from engine.columnar.builtin_arrays import ON_ARRAYS, day_numbers, whole_numbers
from engine.columnar.columns import (
    BIG,
    Col,
    Ctx,
    DayCol,
    ListCol,
    Memo,
    NotColumnar,
    RecordCol,
    as_bool,
    chosen,
    constant,
    each,
    encoded_good,
    filled,
    gather,
    mask_and,
    mask_or,
    nulls,
    objects,
    repeated,
    sequence,
)
from engine.language.builtins import _MAX_INT, MissingValue
from engine.language.checker import Checked, Resolved
from engine.language.compiler import _EXACT, _MAX_EXPONENT, Compiler, Env, _bounded
from engine.language.syntax import (
    Attr,
    Binary,
    Call,
    Comprehension,
    Expr,
    If,
    Index,
    ListLit,
    Literal,
    Name,
    Unary,
    dotted,
    to_source,
)
from engine.language.types import BOOL, DECIMAL, INT


def _compare(op: Callable, left: Col, right: Col, n: int) -> Col:
    bad, missing = sequence([left, right])
    if isinstance(left, DayCol) or isinstance(right, DayCol):  # dates: their order is that of their day numbers
        days = day_numbers(left), day_numbers(right)
        if days[0] is not None and days[1] is not None:
            return Col(np.asarray(op(days[0], days[1]), dtype=bool), bad, missing)
    found = _compare_fast(op, left, right, n)
    if found is not None:
        return Col(found, bad, missing)
    try:
        values = np.asarray(op(filled(left), filled(right)), dtype=bool)
        if values.shape != (n,):
            raise TypeError("not one answer per row")
    except Exception:  # a comparison NumPy cannot make for every row at once: one row at a time
        return as_bool(each(lambda a, b: bool(op(a, b)), [left, right], n))
    return Col(values, bad, missing)


def _compare_fast(op: Callable, left: Col, right: Col, n: int) -> np.ndarray | None:
    """A comparison made without a Python comparison per row, where it can be (None where not): of whole numbers
    as int64 arrays (a column of them, or an encoded one of Python ints), or of an encoded column with a constant,
    once per distinct value. The same answers as comparing the rows' Python values (_compare), a bad row aside."""
    numbers = _int64(left), _int64(right)
    if numbers[0] is not None and numbers[1] is not None and (left.values.dtype == np.int64
                                                              or right.values.dtype == np.int64):
        return np.asarray(op(numbers[0], numbers[1]), dtype=bool)
    for col, other, flipped in ((left, right, False), (right, left, True)):
        if other.uniques is None or other.codes is None or len(other.uniques) != 1 or col.codes is None \
                or col.uniques is None or len(col.uniques) * 4 > n:
            continue
        size = len(col.uniques)
        constant = repeated(other.uniques[0], size)
        try:
            truth = np.asarray(op(constant, col.uniques) if flipped else op(col.uniques, constant), dtype=bool)
        except Exception:  # as _compare: the rows are compared one at a time
            return None
        return truth[col.codes] if truth.shape == (size,) else None
    return None


def _int64(col: Col) -> np.ndarray | None:
    """A column of whole numbers (not booleans) as an int64 array, a bad row given a good row's number; None where it
    holds anything else (or is not encoded)."""
    if col.values.dtype == np.int64:
        return filled(col)
    if col.codes is None or col.uniques is None or len(col.uniques) > len(col.codes):
        return None
    found = encoded_good(col)
    if found is None:
        return None
    codes, uniques = found
    numbers = uniques.tolist()
    if set(map(type, numbers)) != {int} or not all(-BIG - 1 <= v <= BIG for v in numbers):
        return None
    return np.array(numbers, np.int64)[codes]


_NUMPY_COMPARE = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
                  ">=": np.greater_equal}
_PYTHON_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}


class ColumnCompiler:
    """One checked policy's expressions as functions of a Ctx. `force_fallback` (node classes or built-in names)
    makes those constructs fall back, so that the fallback itself can be tested."""

    def __init__(self, root: Checked, force_fallback: frozenset = frozenset()):
        self.root = root
        self.checked_by_linked: dict = {}
        self._register(root)
        self.force_fallback = force_fallback
        self.fell_back: list[str] = []
        self._closures: Compiler | None = None
        self.functions: dict = {}
        self.memos: dict = {}
        self.definitions: dict = {}

    def _register(self, checked: Checked) -> None:
        self.checked_by_linked[id(checked.linked)] = checked
        for sub in checked.aliases.values():
            self._register(sub)

    def expression(self, tree: Expr, linked) -> Callable[[Ctx], Col]:
        return self.node(tree, self.checked_by_linked[id(linked)])

    # -- the per-claim closures, for what falls back ------------------------------------------------

    def _fallback(self, node: Expr, checked: Checked) -> Callable[[Ctx], Col]:
        if self._closures is None:
            self._closures = Compiler(self.root)
        compiled = self._closures.node(node, checked)
        self.fell_back.append(to_source(node))

        def per_claim(ctx: Ctx) -> Col:
            facts = ctx.batch.facts
            rows = range(ctx.n) if ctx.index is None else ctx.index.tolist()
            dates = ctx.dates.tolist()
            names = list(ctx.locals)
            local_values = [ctx.locals[k].values.tolist() for k in names]

            def run(i, row):
                env = Env(facts[row], dates[i])
                env.locals = {k: v[i] for k, v in zip(names, local_values, strict=True)}
                return compiled(env)

            # locals are never bad where they are bound: a comprehension binds only items of lists it has
            return each(run, [Col(np.arange(ctx.n, dtype=object)), Col(objects(rows, ctx.n))], ctx.n)

        return per_claim

    # -- nodes ----------------------------------------------------------------------------------------

    def node(self, node: Expr, checked: Checked) -> Callable[[Ctx], Col]:
        kind = type(node)
        try:
            if kind in self.force_fallback:
                raise NotColumnar(kind.__name__)
            built = _BUILDERS[kind](self, node, checked)
        except NotColumnar:
            built = self._fallback(node, checked)
        node_type = checked.types.get(id(node))
        if node_type == DECIMAL and isinstance(node, (If, Call, Binary, Comprehension, Name)):
            inner = built

            def as_decimal(ctx: Ctx) -> Col:  # as the per-claim engine: a decimal stays a Decimal
                col = inner(ctx)
                values = col.values
                if int in set(map(type, values.tolist())):
                    values = objects((Decimal(v) if type(v) is int else v for v in values.tolist()), len(values))
                return Col(values, col.bad, col.missing)

            return as_decimal
        if node_type == BOOL:
            inner_bool = built
            return lambda ctx: as_bool(inner_bool(ctx))
        return built

    def _literal(self, node: Literal, checked: Checked):
        value = node.value
        if isinstance(value, bool):
            return lambda ctx: Col(np.full(ctx.n, value, dtype=bool))
        return lambda ctx: constant(value, ctx.n)

    def _name(self, node: Name, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        name = node.name
        if r.kind == "local":
            return lambda ctx: ctx.locals[name]
        if r.kind == "definition":
            assert r.linked is not None
            return self.definition(r.target, r.linked)
        if r.kind == "table":
            table = r.target
            return lambda ctx: Col(repeated(table, ctx.n))
        if r.kind == "decision_date":
            return lambda ctx: ctx.batch.day if ctx.index is None else gather(ctx.batch.day, ctx.index)
        if r.kind == "fact":
            return self._fact(name, ())
        raise NotColumnar(r.kind)  # pragma: no cover - the checker allows no other bare name

    def _fact(self, root: str, keys: tuple, probe: bool = False, presence: bool = False):
        """A fact path: absent (or null) is a MissingValue, or, probed, the value None; or whether it is given."""
        if presence:
            def given(ctx: Ctx) -> Col:
                values = ctx.batch.present(root, keys)
                return Col(values if ctx.index is None else values[ctx.index])

            return given

        def read(ctx: Ctx) -> Col:
            if ctx.index is None:
                found = ctx.batch.items(root, keys)
                if found is not None:  # a list of records: its items' fields are columns already
                    lengths, fields = found
                    absent = ~ctx.batch.present(root, keys)
                    batch = ctx.batch
                    if probe:
                        return ListCol(lambda: batch.path(root, keys), lengths, fields, absent)
                    return ListCol(lambda: batch.path(root, keys), lengths, fields, absent, absent, absent)
            if not probe:  # a date the reader has as day numbers: a DayCol, its dates made only if read whole
                days = ctx.batch.day_numbers(root, keys)
                if days is not None:
                    numbers, given = days if ctx.index is None else (days[0][ctx.index], days[1][ctx.index])
                    batch, index = ctx.batch, ctx.index
                    absent = ~given

                    def dates() -> np.ndarray:
                        values = batch.path(root, keys)
                        return values if index is None else values[index]

                    return DayCol(numbers, dates, absent, absent)
            found = ctx.batch.coded(root, keys)  # first: a column the reader encoded is then read from its codes
            values = ctx.batch.path(root, keys)
            codes, uniques = found if found is not None else (None, None)
            if ctx.index is not None:
                values = values[ctx.index]
                codes = codes[ctx.index] if codes is not None else None
            if probe:
                return Col(values, codes=codes, uniques=uniques)
            absent = nulls(values) if codes is None else nulls(uniques)[codes]
            return Col(values, absent, absent, codes, uniques)

        return read

    def _probe(self, node: Expr, checked: Checked, presence: bool = False):
        path = dotted(node)
        if path is None:
            return None
        root_res = checked.resolved.get(id(_root(node)))
        if root_res is None or root_res.kind != "fact" or checked.resolved.get(id(node)) is not None:
            return None
        root, *rest = path.split(".")
        return self._fact(root, tuple(rest), probe=True, presence=presence)

    def _presence(self, node: Expr, checked: Checked):
        """has(x) as a bool column: a fact path probed; anything else computed, a MissingValue counting as absent."""
        probe = self._probe(node, checked, presence=True)
        if probe is not None:
            return probe
        compiled = self.node(node, checked)

        def present(ctx: Ctx) -> Col:
            col = compiled(ctx)
            values = ~nulls(col.values)
            if col.missing is not None:
                values &= ~col.missing
            bad = col.bad & ~col.missing if col.missing is not None else col.bad
            return Col(values, bad)

        return present

    def definition(self, definition, linked):
        key = (id(linked), definition.name)
        found = self.definitions.get(key)
        if found is not None:
            return found
        box: list = []

        def value(ctx: Ctx) -> Col:  # once per batch, for every claim; each comprehension row takes its claim's
            cache = ctx.batch.definitions
            col = cache.get(key)
            if col is None:
                col = cache[key] = box[0](Ctx.root(ctx.batch))
            return col if ctx.index is None else gather(col, ctx.index)

        self.definitions[key] = value
        box.append(self.node(definition.expr.tree, self.checked_by_linked[id(linked)]))
        return value

    def function(self, definition, linked):
        key = (id(linked), definition.name)
        if key not in self.functions:
            box = []
            self.functions[key] = (tuple(p.name for p in definition.params), box)
            box.append(self.node(definition.expr.tree, self.checked_by_linked[id(linked)]))
        return self.functions[key]

    def _attr(self, node: Attr, checked: Checked):
        r = checked.resolved.get(id(node))
        if r is not None:  # an exported name of another policy
            if r.kind == "definition":
                assert r.linked is not None
                return self.definition(r.target, r.linked)
            table = r.target
            return lambda ctx: Col(repeated(table, ctx.n))
        path = dotted(node)
        if path is not None:
            root, *rest = path.split(".")
            root_res = checked.resolved.get(id(_root(node)))
            if root_res is not None and root_res.kind == "fact":
                return self._fact(root, tuple(rest))
        obj = self.node(node.obj, checked)
        name = node.name

        def get(ctx: Ctx) -> Col:  # a field of a record (a comprehension's item, a table row): absent is missing
            col = obj(ctx)
            if isinstance(col, RecordCol) and name in col.fields:
                values = col.fields[name]
                absent = nulls(values)
                return Col(values, mask_or(col.bad, absent),
                           mask_or(col.missing, absent if col.bad is None else absent & ~col.bad))
            if col.codes is not None and col.uniques is not None:  # encoded records (table rows): each one's
                # field read once
                uniques = objects([v.get(name) if isinstance(v, dict) else None for v in col.uniques.tolist()],
                                  len(col.uniques))
                absent = nulls(uniques)[col.codes]
                return Col(uniques[col.codes], mask_or(col.bad, absent),
                           mask_or(col.missing, absent if col.bad is None else absent & ~col.bad), col.codes, uniques)
            records = col.values.tolist()
            by_id = dict(zip(map(id, records), records, strict=True))
            if len(by_id) * 4 < len(records):  # a few records, many times (table rows): each field read once
                fields = {key: v.get(name) if isinstance(v, dict) else None for key, v in by_id.items()}
                values = objects(map(fields.__getitem__, map(id, records)), ctx.n)
            else:
                values = objects([v.get(name) if isinstance(v, dict) else None for v in records], ctx.n)
            absent = nulls(values)
            return Col(values, mask_or(col.bad, absent),
                       mask_or(col.missing, absent if col.bad is None else absent & ~col.bad))

        return get

    def _index(self, node: Index, checked: Checked):
        table_of = self.node(node.obj, checked)
        keys = [self.node(k, checked) for k in node.keys]
        target = checked.resolved.get(id(node.obj))
        if target is not None and target.kind == "table":
            rows = target.target.rows

            def known(*key):
                row = rows.get(key)
                if row is None:
                    raise MissingValue("no row")
                return row

            rows_memo = Memo(known)
            return lambda ctx: each(known, [k(ctx) for k in keys], ctx.n, rows_memo)

        def any_table(table, *key):
            row = table.rows.get(key)
            if row is None:
                raise MissingValue("no row")
            return row

        return lambda ctx: each(any_table, [table_of(ctx)] + [k(ctx) for k in keys], ctx.n)

    def _call(self, node: Call, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        if r.kind == "has":
            return self._presence(node.args[0], checked)
        args = [self.node(a, checked) for a in node.args]
        if r.kind == "builtin":
            builtin: Any = r.target
            if builtin.name in self.force_fallback:
                raise NotColumnar(builtin.name)
            fn = builtin.run
            memo = self.memos.get(builtin.name)
            if memo is None:  # one per function: its calls anywhere in the policy share what it computed
                memo = self.memos[builtin.name] = Memo(fn)
            vector = ON_ARRAYS.get(fn)
            quotient = node.args[0] if builtin.name == "floor" and len(node.args) == 1 else None
            if (isinstance(quotient, Binary) and quotient.op == "/" and Binary not in self.force_fallback
                    and checked.types.get(id(quotient.left)) == INT and checked.types.get(id(quotient.right)) == INT):
                return self._floor_of_quotient(quotient, checked, lambda ctx: each(fn, [args[0](ctx)], ctx.n, memo))
            if vector is not None:
                def on_arrays(ctx: Ctx) -> Col:
                    cols = [a(ctx) for a in args]
                    found = vector(cols, ctx.n)
                    return found if found is not None else each(fn, cols, ctx.n, memo)

                return on_arrays
            return lambda ctx: each(fn, [a(ctx) for a in args], ctx.n, memo)
        assert r.linked is not None
        params, box = self.function(r.target, r.linked)

        def call(ctx: Ctx) -> Col:
            values = [a(ctx) for a in args]
            bad, missing = sequence(values)
            # the body sees its parameters only; its arguments are computed first, so their faults come first
            result = box[0](Ctx(ctx.batch, ctx.n, ctx.index, dict(zip(params, values, strict=True)), ctx.dates))
            if bad is None:
                return result
            body_bad, body_missing = sequence([Col(np.zeros(ctx.n, bool), bad, missing), result])
            if isinstance(result, DayCol):
                return DayCol(result.days, lambda: result.values, body_bad, body_missing)
            return Col(result.values, body_bad, body_missing)

        return call

    def _floor_of_quotient(self, node: Binary, checked: Checked, plain: Callable[[Ctx], Col]):
        """floor(a / b) of whole numbers: a // b in NumPy where both are whole numbers of at most a million (the
        decimal quotient, to 28 digits, is then never close enough to a whole number for its rounding to cross one,
        so its floor is the integer quotient); a zero divisor is a fault there, as the division raises. Otherwise
        the plain way, dividing then flooring."""
        numerator, denominator = self.node(node.left, checked), self.node(node.right, checked)

        def floored(ctx: Ctx) -> Col:
            a, b = numerator(ctx), denominator(ctx)
            top, bottom = whole_numbers(a), whole_numbers(b)
            if top is None or bottom is None:
                return plain(ctx)
            bad, missing = sequence([a, b])
            zero = bottom == 0
            if zero.any():
                faults = zero if bad is None else zero & ~bad
                bad = mask_or(bad, faults)
            quotients = np.floor_divide(top, np.where(zero, 1, bottom))
            return Col(quotients, bad, missing)

        return floored

    def _unary(self, node: Unary, checked: Checked):
        operand = self.node(node.operand, checked)
        if node.op == "not":
            def negate(ctx: Ctx) -> Col:
                col = as_bool(operand(ctx))
                return Col(~col.values, col.bad, col.missing)
            return negate
        negated = Memo(operator.neg)
        return lambda ctx: each(operator.neg, [operand(ctx)], ctx.n, negated)

    def _binary(self, node: Binary, checked: Checked):
        op = node.op
        if op in ("and", "or"):
            left, right = self.node(node.left, checked), self.node(node.right, checked)
            return _logic(op, left, right)
        if op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            other_node = node.right if _is_null(node.left) else node.left
            want_null = op == "=="
            if isinstance(other_node, (Attr, Index, Name)):
                present = self._presence(other_node, checked)

                def null_test(ctx: Ctx) -> Col:
                    col = present(ctx)
                    return Col(col.values if not want_null else ~col.values, col.bad, col.missing)

                return null_test
            other = self.node(other_node, checked)

            def is_null(ctx: Ctx) -> Col:
                col = other(ctx)
                null = nulls(col.values)
                return Col(null if want_null else ~null, col.bad, col.missing)

            return is_null
        if op == "??":
            return self._default(node, checked)
        left, right = self.node(node.left, checked), self.node(node.right, checked)
        if op in ("in", "not in"):
            r = checked.resolved[id(node)]
            negate = op == "not in"
            if r.kind == "table_member":
                def member(a, table):
                    return ((a,) in table.rows) != negate
            else:
                def member(a, items):
                    return (a in items) != negate
            return lambda ctx: as_bool(each(member, [left(ctx), right(ctx)], ctx.n))
        if op == "/":
            def divide(a, b):
                value = Decimal(a) / Decimal(b)  # the context of this thread, as the per-claim engine's division
                if value.adjusted() > _MAX_EXPONENT:
                    raise ArithmeticError("overflow")
                return value
            quotients = Memo(divide)
            return lambda ctx: each(divide, [left(ctx), right(ctx)], ctx.n, quotients)
        if op in ("+", "-", "*"):
            as_decimal = checked.types.get(id(node)) == DECIMAL
            exact = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op]
            plain = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]

            def arithmetic(a, b):
                if as_decimal:
                    return _bounded(exact, Decimal(a), Decimal(b), node)
                value = plain(a, b)
                if type(value) is int and not -_MAX_INT <= value <= _MAX_INT:
                    raise ArithmeticError("overflow")
                return value

            computed = Memo(arithmetic)
            return lambda ctx: each(arithmetic, [left(ctx), right(ctx)], ctx.n, computed)
        numpy_op, python_op = _NUMPY_COMPARE[op], _PYTHON_COMPARE[op]
        if (checked.types.get(id(node.left)) == BOOL) != (checked.types.get(id(node.right)) == BOOL):
            return lambda ctx: as_bool(each(lambda a, b: bool(python_op(a, b)), [left(ctx), right(ctx)], ctx.n))
        return lambda ctx: _compare(numpy_op, left(ctx), right(ctx), ctx.n)

    def _default(self, node: Binary, checked: Checked):
        right = self.node(node.right, checked)
        probe = self._probe(node.left, checked)
        left = probe if probe is not None else self.node(node.left, checked)

        def default(ctx: Ctx) -> Col:
            a = left(ctx)
            if isinstance(a, ListCol):
                kept = _lists_or_empty(a, right, ctx)
                if kept is not None:
                    return kept
            use_right = nulls(a.values) if a.codes is None or a.uniques is None else nulls(a.uniques)[a.codes]
            if a.missing is not None:
                use_right |= a.missing
            left_bad = a.bad & ~a.missing if a.missing is not None else a.bad
            if left_bad is not None:
                use_right &= ~left_bad
            if not use_right.any():
                return Col(a.values, left_bad, None, a.codes, a.uniques)
            b = right(ctx)
            values = np.where(use_right, b.values, a.values)
            bad = mask_or(left_bad, mask_and(use_right, b.bad))
            missing = mask_and(use_right, b.missing)
            return Col(values, bad, missing, *chosen(use_right, b, a))

        return default

    def _if(self, node: If, checked: Checked):
        cond, then, orelse = (self.node(n, checked) for n in (node.cond, node.then, node.orelse))

        def choose(ctx: Ctx) -> Col:
            c = as_bool(cond(ctx))
            a, b = then(ctx), orelse(ctx)
            taken = c.values if c.bad is None else c.values & ~c.bad
            other = ~c.values if c.bad is None else ~c.values & ~c.bad
            values = np.where(c.values, a.values, b.values)
            bad = mask_or(mask_or(c.bad, mask_and(taken, a.bad)), mask_and(other, b.bad))
            missing = mask_or(mask_or(c.missing, mask_and(taken, a.missing)), mask_and(other, b.missing))
            return Col(values, bad, missing, *chosen(c.values, a, b))

        return choose

    def _listlit(self, node: ListLit, checked: Checked):
        if all(isinstance(i, Literal) for i in node.items):
            constant = [i.value for i in node.items]
            return lambda ctx: Col(repeated(constant, ctx.n))
        items = [self.node(i, checked) for i in node.items]
        return lambda ctx: each(lambda *values: list(values), [i(ctx) for i in items], ctx.n)

    def _comprehension(self, node: Comprehension, checked: Checked):
        source = self.node(node.source, checked)
        body = self.node(node.body, checked)
        var, kind = node.var, node.kind
        is_int = checked.types.get(id(node)) == INT

        def run(ctx: Ctx) -> Col:
            n = ctx.n
            src = source(ctx)
            fields = src.items if isinstance(src, ListCol) else None
            if isinstance(src, ListCol) and fields is not None:  # the items' fields are columns: made if read whole
                lengths = src.lengths if src.bad is None else np.where(src.bad, 0, src.lengths)
            else:
                lists = src.values.tolist()
                if src.bad is None and set(map(type, lists)) == {list}:
                    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=n)
                else:
                    src_bad = src.bad.tolist() if src.bad is not None else [False] * n
                    lengths = np.fromiter((0 if bad or type(items) is not list else len(items)
                                           for items, bad in zip(lists, src_bad, strict=True)), dtype=np.int64,
                                          count=n)
            total = int(lengths.sum())
            parent = np.repeat(np.arange(n), lengths)

            def flat_items() -> np.ndarray:
                rows = src.values.tolist()
                return objects(chain.from_iterable(items for items, length in zip(rows, lengths.tolist(), strict=True)
                                                   if length), total)

            local = {k: gather(c, parent) for k, c in ctx.locals.items()}
            item_col: Col = RecordCol(flat_items, fields) if fields is not None else Col(flat_items())
            local[var] = item_col
            child = Ctx(ctx.batch, total, parent if ctx.index is None else ctx.index[parent], local,
                        ctx.dates[parent])
            inner = body(child) if total else Col(objects((), 0))
            starts = np.cumsum(lengths) - lengths
            position = np.arange(total) - np.repeat(starts, lengths)
            item_bad = inner.bad if inner.bad is not None else np.zeros(total, bool)
            item_missing = inner.missing if inner.missing is not None else np.zeros(total, bool)
            first_bad = _first(parent, position, item_bad, n)
            first_missing = _first(parent, position, item_missing, n)
            if kind == "filter":
                keep = (inner.values.astype(bool) if total else np.zeros(0, bool)) & ~item_bad
                row_bad = first_bad < BIG
                if fields is not None:  # the kept items' fields stay columns
                    kept = keep & ~row_bad[parent]

                    def kept_lists() -> np.ndarray:
                        return _kept(item_col.values.tolist(), keep.tolist(), lengths.tolist(), row_bad.tolist(), n)

                    row_missing = row_bad & (first_missing == first_bad)
                    bad, missing = sequence([src, Col(np.zeros(n, bool), row_bad, row_missing)])
                    return ListCol(kept_lists, np.bincount(parent[kept], minlength=n).astype(np.int64),
                                   {name: column[kept] for name, column in fields.items()},
                                   row_bad if row_bad.any() else None, bad, missing)
                values = _kept(item_col.values.tolist(), keep.tolist(), lengths.tolist(), row_bad.tolist(), n)
            elif kind in ("any", "all"):
                truth = inner.values.astype(bool) if total else np.zeros(0, bool)
                decisive = (truth if kind == "any" else ~truth) & ~item_bad
                first_decisive = _first(parent, position, decisive, n)
                found = first_decisive < BIG
                values = found if kind == "any" else ~found
                row_bad = first_bad < first_decisive
            else:
                row_bad = first_bad < BIG
                values = _reduce(kind, is_int, node, inner, parent, lengths, row_bad, n)
            row_missing = row_bad & (first_missing == first_bad)
            bad, missing = sequence([src, Col(np.zeros(n, bool), row_bad, row_missing)])
            return Col(values, bad, missing)

        return run


def _lists_or_empty(a: ListCol, right: Callable, ctx: Ctx) -> ListCol | None:
    """`a ?? b` where a is a list of records with its items as columns, absent (or missing) in some rows, and b an
    empty list in those rows: the same items (None when a faults otherwise, or b is anything else there)."""
    if a.bad is not None and (a.missing is None or (a.bad & ~a.missing).any()):
        return None
    use_right = mask_or(a.absent, a.missing)
    if use_right is None or not use_right.any():
        return a
    b = right(ctx)
    if b.bad is not None and (b.bad & use_right).any():
        return None
    if any(type(v) is not list or v for v in b.values[use_right].tolist()):
        return None
    return ListCol(lambda: np.where(use_right, b.values, a.values), a.lengths, a.items, None)


def _first(parent: np.ndarray, position: np.ndarray, where: np.ndarray, n: int) -> np.ndarray:
    """For each claim, the position of its first item where `where` holds (or BIG)."""
    first = np.full(n, BIG, dtype=np.int64)
    if where.any():
        np.minimum.at(first, parent[where], position[where])
    return first


def _kept(items: list, keep: list, lengths: list, bad_rows: list, n: int) -> np.ndarray:
    out: list = []
    offset = 0
    for row, length in enumerate(lengths):
        out.append(None if bad_rows[row] else [items[j] for j in range(offset, offset + length) if keep[j]])
        offset += length
    return objects(out, n)


def _reduce(kind: str, is_int: bool, node: Comprehension, inner: Col, parent, lengths, row_bad, n: int) -> np.ndarray:
    if kind == "count" and inner.values.dtype == bool:  # the true items of each row, counted by NumPy
        counts = np.bincount(parent[inner.values], minlength=n).astype(object)
        counts[row_bad] = None
        return counts
    truth_or_value = inner.values.tolist()
    out: list = []
    offset = 0
    bad_rows = row_bad.tolist()
    for row, length in enumerate(lengths.tolist()):
        values = truth_or_value[offset:offset + length]
        offset += length
        if bad_rows[row]:
            out.append(None)
            continue
        if kind == "count":
            out.append(sum(1 for v in values if v))
        elif is_int:
            total = sum(values)
            out.append(total if -_MAX_INT <= total <= _MAX_INT else None)
            if out[-1] is None:
                row_bad[row] = True
        else:
            total = Decimal(0)
            try:
                for v in values:
                    total = _bounded(_EXACT.add, total, Decimal(v), node)
            except Exception:
                row_bad[row] = True
                total = None
            out.append(total)
    return objects(out, n)


def _logic(op: str, left, right):
    def both(ctx: Ctx) -> Col:
        a = as_bool(left(ctx))
        b = as_bool(right(ctx))
        reached = a.values if op == "and" else ~a.values  # rows whose right side the per-claim engine computes
        if a.bad is not None:
            reached = reached & ~a.bad
        values = (a.values & b.values) if op == "and" else (a.values | b.values)
        bad = mask_or(a.bad, mask_and(reached, b.bad))
        missing = mask_or(a.missing, mask_and(reached, b.missing))
        return Col(values, bad, missing)

    return both


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"


def _root(node: Expr) -> Expr:
    while isinstance(node, Attr):
        node = node.obj
    return node


_BUILDERS: dict[type, Callable] = {
    Literal: ColumnCompiler._literal, Name: ColumnCompiler._name, Attr: ColumnCompiler._attr,
    Index: ColumnCompiler._index, Call: ColumnCompiler._call, Unary: ColumnCompiler._unary,
    Binary: ColumnCompiler._binary, If: ColumnCompiler._if, ListLit: ColumnCompiler._listlit,
    Comprehension: ColumnCompiler._comprehension,
}

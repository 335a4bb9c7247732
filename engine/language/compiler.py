"""Compile stage: checked syntax trees → Python closures, built once per policy.

No officer text is ever handed to Python's eval or exec: each node becomes a small closure chosen
by its kind (a table of node type → builder) and the checker's resolution, so the hot path is plain
calls with no tree walking. Explaining is a decorator applied while building (as cel-go's
interpreter/decorators.go): `TRACING` wraps each read of a fact, a table row, a definition and the
decision date in a closure that records it; `PLAIN` leaves them as they are.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation
from typing import TYPE_CHECKING

from engine.core.frozen import frozen
from engine.core.i18n import msg
from engine.language.builtins import (
    _MAX_INT,
    EvaluationFault,
    MissingValue,
    call_fault,
    division_by_zero,
    not_given,
    too_large,
)
from engine.language.checker import Checked, Resolved
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
    children,
    dotted,
    to_source,
)
from engine.language.types import DECIMAL, INT


class _Absent:
    """What a trace records for a fact the claim does not have: one object, which pickle and copy keep the same
    object, so a decision sent to another process or copied still says `(absent)`."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Absent()

if TYPE_CHECKING:  # the policy layer sits above the language: its types are named, never imported
    from engine.policies.linker import Linked


class Env:
    """What one evaluation reads: the claim's facts, the decision date, and its scratch space."""

    __slots__ = ("facts", "decision_date", "cache", "locals", "trace")

    def __init__(self, facts: dict, decision_date, trace: list | None = None):
        self.facts = facts
        self.decision_date = decision_date
        self.cache: dict = {}
        self.locals: dict = {}
        self.trace = trace


class Compiler:
    def __init__(self, root: Checked, trace: bool = False):
        self.decorate = TRACING if trace else PLAIN
        self.checked_by_linked: dict = {}
        self._register(root)
        self.definitions: dict = {}  # (id(linked), name) -> closure
        self.functions: dict = {}  # (id(linked), name) -> (param names, body closure)
        self._purity: dict = {}
        self._slot = 0
        self._in_remembered = 0  # compiling the body of a remembered function

    def _register(self, checked: Checked) -> None:
        if self.checked_by_linked.get(id(checked.linked)) is checked:
            return  # met again through a diamond of `uses`: what it uses is registered already (2^depth walks)
        self.checked_by_linked[id(checked.linked)] = checked
        for sub in checked.aliases.values():
            self._register(sub)

    # -- entry points ------------------------------------------------------------------------------

    def expression(self, tree: Expr, linked: Linked):
        return self.node(tree, self.checked_by_linked[id(linked)])

    # -- definitions and functions -------------------------------------------------------------------

    def definition(self, definition, linked: Linked):
        key = (id(linked), definition.name)
        if key in self.definitions:
            return self.definitions[key]
        checked = self.checked_by_linked[id(linked)]
        slot = self._slot
        self._slot += 1
        body_box: list = []
        run = self.definitions[key] = self.decorate.definition(definition.name, slot, body_box)
        body_box.append(self.node(definition.expr.tree, checked))  # after registering: a later reference needs it
        return run

    def _pure(self, definition, linked: Linked) -> bool:
        return is_pure(definition, linked, self.checked_by_linked, self._purity)

    def function(self, definition, linked: Linked):
        key = (id(linked), definition.name)
        if key not in self.functions:
            box: list = []
            self.functions[key] = (tuple(p.name for p in definition.params), box)
            remembered = self._pure(definition, linked)
            self._in_remembered += remembered
            try:
                box.append(self.node(definition.expr.tree, self.checked_by_linked[id(linked)]))
            finally:
                self._in_remembered -= remembered
        return self.functions[key]

    # -- nodes ------------------------------------------------------------------------------------

    def node(self, node: Expr, checked: Checked):
        compiled = _BUILDERS[type(node)](self, node, checked)
        if checked.types.get(id(node)) == DECIMAL and isinstance(node, (If, Call, Binary, Comprehension, Name)):
            # a value typed decimal stays a Decimal even when a branch, min() or a default gives a whole number
            inner = compiled

            def as_decimal(env):
                value = inner(env)
                return Decimal(value) if type(value) is int else value

            return as_decimal
        return compiled

    def _literal(self, node: Literal, checked: Checked):
        value = node.value
        return lambda env: value

    def _name(self, node: Name, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        name = node.name
        if r.kind == "local":
            return lambda env: env.locals[name]
        if r.kind == "definition":
            assert r.linked is not None  # the checker names where every definition it resolves lives
            return self.definition(r.target, r.linked)
        if r.kind == "table":
            table = r.target
            return lambda env: table
        if r.kind == "decision_date":
            return self.decorate.decision_date(lambda env: env.decision_date)
        if r.kind == "fact":
            return self._fact_path(name, ())
        raise AssertionError(f"a bare {r.kind} cannot be evaluated")  # pragma: no cover

    def _fact_path(self, root: str, keys: tuple):
        return self.decorate.fact(".".join((root,) + keys), _fact_getter(root, keys))

    def _probe(self, node: Expr, checked: Checked):
        """For a fact path, a getter that returns None when the fact is absent instead of raising."""
        path = dotted(node)
        if path is None:
            return None
        root_res = checked.resolved.get(id(_root(node)))
        if root_res is None or root_res.kind != "fact" or checked.resolved.get(id(node)) is not None:
            return None
        root, *rest = path.split(".")
        return self.decorate.probe(path, _fact_probe(root, tuple(rest)))

    def _presence(self, node: Expr, compiled, checked: Checked):
        """has(x): true when x can be read and is not null. A fact path is probed; a lookup or a definition
        is read, and only a missing value (never division or a calendar error) counts as absent."""
        probe = self._probe(node, checked)
        if probe is not None:
            return lambda env: probe(env) is not None

        def present(env):
            try:
                return compiled(env) is not None
            except MissingValue:
                return False

        return present

    def _attr(self, node: Attr, checked: Checked):
        r = checked.resolved.get(id(node))
        if r is not None:  # an exported name of another policy
            if r.kind == "definition":
                assert r.linked is not None
                return self.definition(r.target, r.linked)
            table = r.target
            return lambda env: table
        path = dotted(node)
        if path is not None:
            root, *rest = path.split(".")
            root_res = checked.resolved.get(id(_root(node)))
            if root_res is not None and root_res.kind == "fact":
                return self._fact_path(root, tuple(rest))
        obj = self.node(node.obj, checked)
        name = node.name
        label = to_source(node)

        def get(env):
            value = obj(env).get(name)
            if value is None:
                raise not_given(label)
            return value

        return get

    def _index(self, node: Index, checked: Checked):
        table_of = self.node(node.obj, checked)
        keys = [self.node(k, checked) for k in node.keys]
        target = checked.resolved.get(id(node.obj))
        known = target.target if target is not None and target.kind == "table" else None  # a table known now
        if len(keys) == 1:
            key_fn = keys[0]

            def make_key(env):
                return (key_fn(env),)
        elif len(keys) == 2:
            k0, k1 = keys

            def make_key(env):
                return (k0(env), k1(env))
        else:
            def make_key(env):
                return tuple(k(env) for k in keys)
        return self.decorate.lookup(to_source(node.obj), make_key, table_of, known)

    def _call(self, node: Call, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        args = [self.node(a, checked) for a in node.args]
        if r.kind == "has":
            return self._presence(node.args[0], args[0], checked)
        if r.kind == "builtin":
            return _builtin_call(r.target, args)
        assert r.linked is not None  # the checker names where every function it resolves lives
        params, box = self.function(r.target, r.linked)
        # Only the outermost call is remembered: a call inside a remembered function runs only when the outer
        # one is new, with the same new arguments, so remembering it too would keep each result twice.
        if self._pure(r.target, r.linked) and not self._in_remembered:
            return _remembered_call(params, args, box)

        return _plain_call(params, args, box)

    def _unary(self, node: Unary, checked: Checked):
        operand = self.node(node.operand, checked)
        if node.op == "not":
            return lambda env: not operand(env)
        return lambda env: -operand(env)

    def _binary(self, node: Binary, checked: Checked):
        op = node.op
        left = self.node(node.left, checked)
        right = self.node(node.right, checked)
        if op == "and":
            return lambda env: left(env) and right(env)
        if op == "or":
            return lambda env: left(env) or right(env)
        if op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            # `x == null` is `not has(x)` for what has() takes (a fact path, a lookup, a definition); any other
            # operand is computed as usual, so a missing value inside it is still an error, never a silent answer
            other_node, other = (node.right, right) if _is_null(node.left) else (node.left, left)
            want_null = op == "=="
            if isinstance(other_node, (Attr, Index, Name)):
                present = self._presence(other_node, other, checked)
                return lambda env: present(env) != want_null
            return lambda env: (other(env) is None) == want_null
        if op == "??":
            probe = self._probe(node.left, checked)
            if probe is not None:  # a fact path: test for it without raising and catching
                def default_fact(env):
                    value = probe(env)
                    return right(env) if value is None else value

                return default_fact

            def default(env):
                try:
                    value = left(env)
                except MissingValue:
                    return right(env)
                return right(env) if value is None else value

            return default
        if op in ("in", "not in"):
            r = checked.resolved[id(node)]
            negate = op == "not in"
            if r.kind == "table_member":
                def member(env):
                    return ((left(env),) in right(env).rows) != negate
            else:
                def member(env):
                    return (left(env) in right(env)) != negate
            return member
        if op == "/":
            def divide(env):
                a, b = left(env), right(env)
                try:
                    value = Decimal(a) / Decimal(b)
                except (DivisionByZero, InvalidOperation):
                    raise division_by_zero(to_source(node)) from None
                if value.adjusted() > _MAX_EXPONENT:
                    raise too_large(to_source(node), f"10^{_MAX_EXPONENT}")
                return value
            return divide
        fn = _OPERATORS[op]
        if op in ("+", "-", "*"):
            as_decimal = checked.types.get(id(node)) == DECIMAL

            exact = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op]

            def arithmetic(env):
                a, b = left(env), right(env)
                if as_decimal:  # int and Decimal mix exactly; the result stays a Decimal
                    return _bounded(exact, Decimal(a), Decimal(b), node)
                value = fn(a, b)
                if type(value) is int and not -_MAX_INT <= value <= _MAX_INT:  # lists join with + too
                    raise too_large(to_source(node))
                return value

            return arithmetic
        if isinstance(node.right, Literal):  # `x == "paying"`, `age >= 16`: the constant needs no call
            return _COMPARE_WITH_CONSTANT[op](left, node.right.value)
        return _COMPARISONS[op](left, right)

    def _if(self, node: If, checked: Checked):
        cond, then, orelse = (self.node(n, checked) for n in (node.cond, node.then, node.orelse))
        return lambda env: then(env) if cond(env) else orelse(env)

    def _listlit(self, node: ListLit, checked: Checked):
        items = [self.node(i, checked) for i in node.items]
        if all(isinstance(i, Literal) for i in node.items):
            constant = frozen([i.value for i in node.items])  # shared by every claim: no caller may change it
            return lambda env: constant
        return lambda env: [i(env) for i in items]

    def _comprehension(self, node: Comprehension, checked: Checked):
        source = self.node(node.source, checked)
        body = self.node(node.body, checked)
        var = node.var
        kind = node.kind
        is_int = checked.types.get(id(node)) == INT

        def loop(step):
            # Binds the variable for each item around `step`, restoring any outer binding afterwards.
            def run(env):
                items = source(env)
                local = env.locals
                saved = local.get(var, _MISSING)
                try:
                    return step(items, local, env)
                finally:
                    if saved is _MISSING:
                        local.pop(var, None)
                    else:
                        local[var] = saved
            return run

        def any_(items, local, env):
            for item in items:
                local[var] = item
                if body(env):
                    return True
            return False

        def all_(items, local, env):
            for item in items:
                local[var] = item
                if not body(env):
                    return False
            return True

        def count_(items, local, env):
            n = 0
            for item in items:
                local[var] = item
                if body(env):
                    n += 1
            return n

        def filter_(items, local, env):
            kept = []
            for item in items:
                local[var] = item
                if body(env):
                    kept.append(item)
            return kept

        def sum_(items, local, env):
            if is_int:
                total = 0
                for item in items:
                    local[var] = item
                    total += body(env)
                if not -_MAX_INT <= total <= _MAX_INT:
                    raise too_large(to_source(node), what="sum")
                return total
            total = Decimal(0)
            for item in items:
                local[var] = item
                total = _bounded(_EXACT.add, total, Decimal(body(env)), node)
            return total

        return loop({"any": any_, "all": all_, "count": count_, "filter": filter_, "sum": sum_}[kind])


_MAX_EXPONENT = 60  # decimals stay below 10^60: money never comes near, runaway squaring stops early
# + - * on decimals are exact or an error, never silently rounded: 100 digits hold any sum of values below
# 10^60 written with up to 40 digits; a product that needs more is refused.
_EXACT = Context(prec=100, Emax=999_999, Emin=-999_999, traps=[Inexact, InvalidOperation, DivisionByZero])


def _bounded(operation, a: Decimal, b: Decimal, node: Expr) -> Decimal:
    try:
        value = operation(a, b)
    except Inexact:
        raise EvaluationFault(msg("a number in {expression} needs more than {digits} digits to be exact",
                                  expression=to_source(node), digits=_EXACT.prec), "evaluation.overflow") from None
    if value.adjusted() > _MAX_EXPONENT:
        raise too_large(to_source(node), f"10^{_MAX_EXPONENT}")
    return value

# One closure per operator, so a comparison is a single Python operation, not a call through operator.*
_COMPARISONS = {
    "==": lambda a, b: lambda env: a(env) == b(env),
    "!=": lambda a, b: lambda env: a(env) != b(env),
    "<": lambda a, b: lambda env: a(env) < b(env),
    "<=": lambda a, b: lambda env: a(env) <= b(env),
    ">": lambda a, b: lambda env: a(env) > b(env),
    ">=": lambda a, b: lambda env: a(env) >= b(env),
}

_COMPARE_WITH_CONSTANT = {
    "==": lambda a, c: lambda env: a(env) == c,
    "!=": lambda a, c: lambda env: a(env) != c,
    "<": lambda a, c: lambda env: a(env) < c,
    "<=": lambda a, c: lambda env: a(env) <= c,
    ">": lambda a, c: lambda env: a(env) > c,
    ">=": lambda a, c: lambda env: a(env) >= c,
}

_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "==": operator.eq, "!=": operator.ne,
              "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _plain_call(params: tuple, args: list, box: list):
    """A call of a function that reads facts or the decision date. A function's body sees its parameters and
    nothing of its caller's (the checker scopes it so), so the call gives it locals of its own."""
    if len(args) == 1:
        (p0,), (a0,) = params, args
        frame_of = lambda env: {p0: a0(env)}  # noqa: E731 - the body's locals
    elif len(args) == 2:
        (p0, p1), (a0, a1) = params, args
        frame_of = lambda env: {p0: a0(env), p1: a1(env)}  # noqa: E731
    else:
        frame_of = lambda env: dict(zip(params, [a(env) for a in args], strict=True))  # noqa: E731

    def call(env):
        frame = frame_of(env)
        saved, env.locals = env.locals, frame
        try:
            return box[0](env)
        finally:
            env.locals = saved

    return call


def _apply(env: Env, params: tuple, values: tuple, body):
    """Runs a remembered function's body, with its parameters as its only locals. Untraced: a remembered result is
    not computed again, so what the body read would be recorded for one claim and not the next; its arguments
    are recorded where they are read."""
    saved, env.locals = env.locals, dict(zip(params, values, strict=True))
    trace, env.trace = env.trace, None
    try:
        return body(env)
    finally:
        env.trace, env.locals = trace, saved


def _missing(facts: dict, root: str, keys: tuple) -> MissingValue:
    value = facts.get(root)
    if value is None:
        return not_given(root) if not keys else MissingValue(msg(
            "{fact} is not given ({root} is absent)", fact=".".join((root,) + keys), root=root))
    for i, key in enumerate(keys):
        value = value.get(key)
        if value is None:
            return not_given(".".join((root,) + keys[: i + 1]))
    return not_given(".".join((root,) + keys))  # pragma: no cover


def _fact_probe(root: str, keys: tuple):
    """A reader for one fact path that returns None when the fact is absent."""
    def probe(env):
        value = env.facts.get(root)
        for key in keys:
            if value is None:
                break
            value = value.get(key)
        return value

    return probe


def _fact_getter(root: str, keys: tuple):
    """A getter for one fact path, unrolled for the usual depths (the hottest code of an evaluation)."""
    if not keys:
        def get(env):
            value = env.facts.get(root)
            if value is None:
                raise _missing(env.facts, root, keys)
            return value
    elif len(keys) == 1:
        (k0,) = keys

        def get(env):
            value = env.facts.get(root)
            if value is not None:
                value = value.get(k0)
                if value is not None:
                    return value
            raise _missing(env.facts, root, keys)
    elif len(keys) == 2:
        k0, k1 = keys

        def get(env):
            value = env.facts.get(root)
            if value is not None:
                value = value.get(k0)
                if value is not None:
                    value = value.get(k1)
                    if value is not None:
                        return value
            raise _missing(env.facts, root, keys)
    else:
        def get(env):
            value = env.facts.get(root)
            for key in keys:
                if value is None:
                    break
                value = value.get(key)
            if value is None:
                raise _missing(env.facts, root, keys)
            return value
    return get


_CALL_FAULTS = (ValueError, ArithmeticError, OverflowError)  # what a built-in raises on values it cannot use


def _builtin_call(builtin, args: list):
    """A call of a built-in function, unrolled for one and two arguments (most calls). Arguments are computed
    first, so only the function's own failure is reported as the function's."""
    fn, name = builtin.run, builtin.name

    def fault(exc: Exception) -> EvaluationFault:
        return call_fault(name, exc)

    if builtin.safe:  # cannot fail on values its types allow: no guard needed
        if len(args) == 1:
            a0 = args[0]
            return lambda env: fn(a0(env))
        if len(args) == 2:
            a0, a1 = args
            return lambda env: fn(a0(env), a1(env))
        return lambda env: fn(*[a(env) for a in args])
    if len(args) == 1:
        a0 = args[0]

        def call1(env):
            x = a0(env)
            try:
                return fn(x)
            except _CALL_FAULTS as exc:
                raise fault(exc) from None

        return call1
    if len(args) == 2:
        a0, a1 = args

        def call2(env):
            x, y = a0(env), a1(env)
            try:
                return fn(x, y)
            except _CALL_FAULTS as exc:
                raise fault(exc) from None

        return call2

    def call(env):
        values = [a(env) for a in args]
        try:
            return fn(*values)
        except _CALL_FAULTS as exc:
            raise fault(exc) from None

    return call


_MEMO_SIZE = 65_536  # remembered results per call site; emptied when full, so memory is bounded


def _remembered_call(params: tuple, args: list, box: list):
    """A call of a function of its arguments alone (no facts, no decision date). Its results are remembered,
    which batches ask for again and again (the retirement date of each birth date and sex); the argument
    tuple is built without a loop for the usual one to three arguments. A plain dict, emptied when full,
    measured smaller than functools.lru_cache at the same speed."""
    memo: dict = {}
    key_of: Callable[[Env], tuple]
    if len(args) == 1:
        (a0,) = args
        key_of = lambda env: (a0(env),)  # noqa: E731 - the key is the arguments
    elif len(args) == 2:
        a0, a1 = args
        key_of = lambda env: (a0(env), a1(env))  # noqa: E731
    elif len(args) == 3:
        a0, a1, a2 = args
        key_of = lambda env: (a0(env), a1(env), a2(env))  # noqa: E731
    else:
        key_of = lambda env: tuple(a(env) for a in args)  # noqa: E731

    def call(env):
        values = key_of(env)
        try:
            return memo[values]
        except KeyError:
            pass
        except TypeError:  # a list or record argument cannot be a key: not remembered
            return _apply(env, params, values, box[0])
        result = frozen(_apply(env, params, values, box[0]))  # shared by the claims that ask again
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[values] = result
        return result

    return call


def _no_row(key: tuple, name: str) -> MissingValue:
    return MissingValue(msg("{table} has no row for {key}", table=name, key=", ".join(map(str, key))),
                        "evaluation.no_row")


class Plain:
    """The decorator of an unexplained program: every read is built as it is, recording nothing."""

    def fact(self, display: str, get):
        return get

    def probe(self, display: str, probe):
        return probe

    def decision_date(self, get):
        return get

    def lookup(self, label: str, make_key, table_of, known):
        if known is not None:
            rows, name = known.rows, known.name

            def lookup(env):
                key = make_key(env)
                row = rows.get(key)
                if row is None:
                    raise _no_row(key, name)
                return row

            return lookup

        def lookup_any(env):
            table = table_of(env)
            key = make_key(env)
            row = table.rows.get(key)
            if row is None:
                raise _no_row(key, table.name)
            return row

        return lookup_any

    def definition(self, name: str, slot: int, body_box: list):
        def run(env):
            cache = env.cache
            value = cache.get(slot, _MISSING)
            if value is _MISSING:
                value = cache[slot] = body_box[0](env)
            return value

        return run


class Tracing(Plain):
    """The decorator of an explained program: each read is wrapped in a closure that records what it read
    (name and value, or MISSING) in env.trace, in the order read."""

    def fact(self, display: str, get):
        def traced(env):
            try:
                value = get(env)
            except MissingValue:
                if env.trace is not None:
                    env.trace.append((display, _MISSING))
                raise
            if env.trace is not None:
                env.trace.append((display, value))
            return value

        return traced

    def probe(self, display: str, probe):
        def traced(env):
            value = probe(env)
            if env.trace is not None:
                env.trace.append((display, _MISSING if value is None else value))
            return value

        return traced

    def decision_date(self, get):
        def traced(env):
            value = get(env)
            if env.trace is not None:
                env.trace.append(("decision_date", value))
            return value

        return traced

    def lookup(self, label: str, make_key, table_of, known):
        def traced(env):
            table = table_of(env)
            key = make_key(env)
            row = table.rows.get(key)
            if env.trace is not None:
                env.trace.append((f"{label}[{', '.join(map(str, key))}]", _MISSING if row is None else row))
            if row is None:
                raise _no_row(key, table.name)
            return row

        return traced

    def definition(self, name: str, slot: int, body_box: list):
        # A rule that reads a definition is explained by the facts beneath it too: the body's reads are kept with
        # its value (once per claim) and passed on at every read.
        def traced(env):
            cache = env.cache
            entry = cache.get(slot)
            if entry is None:
                outer, env.trace = env.trace, []
                try:
                    value = body_box[0](env)
                except MissingValue:
                    beneath, env.trace = env.trace, outer
                    if outer is not None:
                        outer.extend(beneath)
                        outer.append((name, _MISSING))
                    raise
                except BaseException:
                    env.trace = outer
                    raise
                beneath, env.trace = env.trace, outer
                entry = cache[slot] = (value, beneath)
            value, beneath = entry
            if env.trace is not None:
                env.trace.extend(beneath)
                env.trace.append((name, value))
            return value

        return traced


PLAIN, TRACING = Plain(), Tracing()

_BUILDERS: dict[type, Callable[..., Callable]] = {
    Literal: Compiler._literal, Name: Compiler._name, Attr: Compiler._attr, Index: Compiler._index,
    Call: Compiler._call, Unary: Compiler._unary, Binary: Compiler._binary, If: Compiler._if,
    ListLit: Compiler._listlit, Comprehension: Compiler._comprehension,
}


def is_pure(definition, linked: Linked, checked_by_linked: dict, memo: dict, _seen: frozenset = frozenset()) -> bool:
    """Whether a definition depends on nothing but its arguments (and tables), transitively; `memo` keeps the
    answers by (id(linked), name)."""
    key = (id(linked), definition.name)
    if key in memo:
        return memo[key]
    if key in _seen:
        return False
    checked = checked_by_linked[id(linked)]
    pure = True
    stack = [definition.expr.tree] if definition.expr.tree is not None else []
    while stack and pure:
        node = stack.pop()
        r = checked.resolved.get(id(node))
        if r is not None:
            if r.kind in ("fact", "decision_date"):
                pure = False
            elif r.kind in ("definition", "function"):
                pure = is_pure(r.target, r.linked, checked_by_linked, memo, _seen | {key})
        stack.extend(children(node))
    memo[key] = pure
    return pure


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"


def _root(node: Expr) -> Expr:
    while isinstance(node, Attr):
        node = node.obj
    return node


MISSING = _MISSING

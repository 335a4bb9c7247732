"""Compile stage, fast path: checked syntax trees → the source of one Python module per program.

The module is built from the checked tree alone, and nothing an officer wrote ever becomes code:
  - every name in it is one this module makes up (e3, d2, f1, t17, l4, ...), never a policy's name;
  - a constant goes in as the repr() of its checked value when it is an int, bool, None or str (repr of a
    str is always one quoted literal, whatever quotes, backslashes, newlines or controls it holds);
    anything else (a Decimal, a date, a table, a built-in, a syntax node for a message) is an object
    bound from outside, under a made-up name;
  - no comment or docstring is written.
tests/test_codegen_safety.py fuzzes names, strings and texts and shows the structure never changes;
docs/security.md states the rule. Each node kind has its emitter in a table (node type → method), as in
the closure compiler, which stays the reference and the fallback: a program whose module Python cannot
compile (an expression nested deeper than Python's compiler goes) is built from closures instead.

Explaining is a switch of the generator (trace=True): it emits each read of a fact, a table row, a definition and
the decision date with an append to the rule's record of reads; without it, each is read bare.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core.codecache import compiled
from engine.core.frozen import frozen
from engine.language import compiler as closures
from engine.language.builtins import (
    _MAX_INT,
    EvaluationFault,
    MissingValue,
    call_fault,
    division_by_zero,
    not_given,
    too_large,
)
from engine.language.checker import Checked
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
from engine.language.types import DECIMAL, INT, Field, ListOf, Record, Type

if TYPE_CHECKING:
    from engine.policies.linker import Linked

MISSING = closures.MISSING
_REPR_TYPES = (int, str, bool, type(None))


class NotGenerated(Exception):
    """The generator does not take this program; the closure compiler builds it instead."""


# -------------------------------------------------------------------------------------------------
# What generated code calls (bound into its namespace under these names)


def _missing_fact(facts: dict, root: str, keys: tuple):
    raise closures._missing(facts, root, keys)


def _fact(facts: dict, root: str, keys: tuple):
    value = facts.get(root)
    for key in keys:
        if value is None:
            break
        value = value.get(key)
    if value is None:
        raise closures._missing(facts, root, keys)
    return value


def _not_given(label: str):
    raise not_given(label)


def _no_row(key: tuple, name: str):
    raise closures._no_row(key, name)


def _overflow(node: Expr, what: str = "number"):
    raise too_large(to_source(node), what=what)


def _record_row(trace, label, table, key):
    row = table.rows.get(key)
    if trace is not None:
        trace.append((f"{label}[{', '.join(map(str, key))}]", MISSING if row is None else row))
    if row is None:
        raise closures._no_row(key, table.name)
    return row


def _lookup(table, key):
    row = table.rows.get(key)
    if row is None:
        raise closures._no_row(key, table.name)
    return row


RUNTIME = {
    "Decimal": Decimal, "MissingValue": MissingValue, "EvaluationFault": EvaluationFault, "MISSING": MISSING,
    "CALL_FAULTS": closures._CALL_FAULTS, "MAX_INT": _MAX_INT, "EXACT": closures._EXACT,
    "bounded": closures._bounded, "divide_fault": None, "missing_fact": _missing_fact, "fact": _fact,
    "not_given": _not_given, "no_row": _no_row, "call_fault": call_fault, "overflow": _overflow,
    "record_row": _record_row, "lookup": _lookup, "MAX_EXPONENT": closures._MAX_EXPONENT,
}


def _divide(a, b, node):
    try:
        value = Decimal(a) / Decimal(b)
    except ArithmeticError:  # DivisionByZero, InvalidOperation (0/0)
        raise division_by_zero(to_source(node)) from None
    if value.adjusted() > closures._MAX_EXPONENT:
        raise too_large(to_source(node), f"10^{closures._MAX_EXPONENT}")
    return value


RUNTIME["divide"] = _divide
_BUILTINS = {"type": type, "int": int, "len": len, "KeyError": KeyError, "TypeError": TypeError,
             "BaseException": BaseException}  # all the generated code may reach of Python's own
del RUNTIME["divide_fault"]


# -------------------------------------------------------------------------------------------------
# The generator


class _Block:
    """Lines of one function body being written, and the temporaries it has made up."""

    def __init__(self, indent: int = 1):
        self.lines: list[str] = []
        self.indent = indent

    def add(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)


class Generator:
    def __init__(self, root: Checked, trace: bool):
        self.trace = trace
        self.checked_by_linked: dict = {}
        self._register(root)
        self.bound: dict = {}  # made-up name -> object bound from outside
        self._bound_ids: dict = {}  # id(object) -> made-up name
        self.functions: list[list[str]] = []  # the source of each generated function
        self.definitions: dict = {}  # (id(linked), name) -> generated function name
        self.user_functions: dict = {}  # (id(linked), name) -> (function name, remembered call name or None)
        self._purity: dict = {}
        self._in_remembered = 0
        self._counter = 0
        self.block = _Block()
        self.scopes: list[dict] = [{}]  # language local name -> generated name
        self._keep: list = []  # nodes named in messages, kept alive with the program

    def _register(self, checked: Checked) -> None:
        if self.checked_by_linked.get(id(checked.linked)) is checked:
            return  # met again through a diamond of `uses`: what it uses is registered already (2^depth walks)
        self.checked_by_linked[id(checked.linked)] = checked
        for sub in checked.aliases.values():
            self._register(sub)

    # -- names and constants ------------------------------------------------------------------------

    def fresh(self, prefix: str = "t") -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def bind(self, value, prefix: str = "k") -> str:
        """A made-up global name for an object from outside (a table, a Decimal, a built-in, a node)."""
        name = self._bound_ids.get(id(value))
        if name is None:
            name = self.fresh(prefix)
            self.bound[name] = value
            self._bound_ids[id(value)] = name
            self._keep.append(value)
        return name

    def constant(self, value) -> str:
        if type(value) in _REPR_TYPES:
            return repr(value)
        return self.bind(value)

    # -- top level ----------------------------------------------------------------------------------

    def expression(self, tree: Expr, linked: Linked) -> str:
        """Generates one function computing `tree`; returns its name."""
        checked = self.checked_by_linked[id(linked)]
        name = self.fresh("e")
        self._function(name, "env", lambda: self.node(tree, checked))
        return name

    def _function(self, name: str, params: str, body, scope: dict | None = None) -> None:
        outer_block, outer_scopes = self.block, self.scopes
        self.block, self.scopes = _Block(), [scope or {}]
        try:
            result = body()
            lines = [f"def {name}({params}):", "    f = env.facts"]
            if self.trace:
                lines.append("    tr = env.trace")
            lines += self.block.lines
            lines.append(f"    return {result}")
        finally:
            self.block, self.scopes = outer_block, outer_scopes
        self.functions.append(lines)

    def build(self) -> dict:
        """Compiles the module; returns its namespace (generated functions by name)."""
        source = self.source()
        namespace = {**RUNTIME, **self.bound, "__builtins__": _BUILTINS}
        try:
            code = compiled(source, "<policy program>")  # compile(), remembered across processes by the source
        except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError) as exc:
            raise NotGenerated(f"Python cannot compile the program: {type(exc).__name__}") from None
        exec(code, namespace)  # the source is built from the checked tree only (see the module docstring)
        return namespace

    def source(self) -> str:
        return "\n".join("\n".join(lines) + "\n" for lines in self.functions)

    # -- statements ----------------------------------------------------------------------------------

    def temp(self, expr: str, prefix: str = "t") -> str:
        name = self.fresh(prefix)
        self.block.add(f"{name} = {expr}")
        return name

    def nested(self, body) -> tuple[list[str], str]:
        """The lines that compute `body()` one level deeper, and the expression of its value."""
        outer = self.block
        self.block = _Block(outer.indent + 1)
        try:
            result = body()
            return self.block.lines, result
        finally:
            self.block = outer

    def sequence(self, nodes, checked: Checked) -> list[str]:
        """Expressions for nodes computed left to right: an earlier value is kept in a temporary before a later
        node's statements run, so reads and faults keep their order."""
        results: list[str] = []
        for node in nodes:
            mark = len(self.block.lines)
            value = self.node(node, checked)
            if len(self.block.lines) > mark and results:
                written = self.block.lines[mark:]
                del self.block.lines[mark:]
                results = [r if _is_simple(r) else self.temp(r) for r in results]
                self.block.lines.extend(written)
            results.append(value)
        return results

    # -- nodes ---------------------------------------------------------------------------------------

    def node(self, node: Expr, checked: Checked) -> str:
        value = _EMITTERS[type(node)](self, node, checked)
        if checked.types.get(id(node)) == DECIMAL and isinstance(node, (If, Call, Binary, Comprehension, Name)):
            # a value typed decimal stays a Decimal even when a branch, min() or a default gives a whole number
            t = self.temp(value)
            self.block.add(f"if type({t}) is int: {t} = Decimal({t})")
            return t
        return value

    def _literal(self, node: Literal, checked: Checked) -> str:
        return self.constant(node.value)

    def _name(self, node: Name, checked: Checked) -> str:
        r = checked.resolved[id(node)]
        if r.kind == "local":
            return self._local(node.name)
        if r.kind == "definition":
            return f"{self.definition(r.target, r.linked)}(env)"
        if r.kind == "table":
            return self.bind(r.target, "T")
        if r.kind == "decision_date":
            return self.recorded("'decision_date'", "env.decision_date") if self.trace else "env.decision_date"
        if r.kind == "fact":
            return self.fact_path(checked, node.name, ())
        raise NotGenerated(f"a bare {r.kind}")  # pragma: no cover - the checker allows none

    def _local(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise NotGenerated("an unbound local")  # pragma: no cover - the checker resolves every local

    def fact_path(self, checked: Checked, root: str, keys: tuple) -> str:
        display = self.constant(".".join((root,) + keys))
        root_c, keys_c = self.constant(root), self.constant(tuple(keys)) if keys else "()"
        value, may_be_none = self._walk(checked, root, keys)
        if self.trace:
            value = self.recorded(display, value, may_be_none)
        if may_be_none:
            self.block.add(f"if {value} is None: missing_fact(f, {root_c}, {keys_c})")
        return value

    def recorded(self, label: str, value: str, may_be_none: bool = False) -> str:
        """`value`, appended to the rule's record of reads under `label` as it is read (an absent one as MISSING):
        written in line, where a call of a recording function per read was a tenth of an explained decision."""
        if not value.isidentifier():
            value = self.temp(value)
        if may_be_none:
            self.block.add(f"if tr is not None: tr.append(({label}, MISSING if {value} is None else {value}))")
        else:
            self.block.add(f"if tr is not None: tr.append(({label}, {value}))")
        return value

    def _walk(self, checked: Checked, root: str, keys: tuple) -> tuple[str, bool]:
        """Reads a fact path step by step: a step the schema makes certain (required, never null) is a plain
        subscript, any other a .get() behind a test. Returns the value's expression and whether it may be None."""
        steps = _certainty(checked, root, keys)
        if all(steps):
            return "f" + "".join(f"[{self.constant(k)}]" for k in (root, *keys)), False
        value = self.fresh()
        self.block.add(f"{value} = f{'[' if steps[0] else '.get('}{self.constant(root)}{']' if steps[0] else ')'}")
        may_be_none = not steps[0]
        for key, certain in zip(keys, steps[1:], strict=True):
            read = f"{value}[{self.constant(key)}]" if certain else f"{value}.get({self.constant(key)})"
            self.block.add(f"if {value} is not None: {value} = {read}" if may_be_none else f"{value} = {read}")
            may_be_none = may_be_none or not certain
        return value, may_be_none

    def probe(self, node: Expr, checked: Checked) -> str | None:
        """For a fact path, an expression that is None when the fact is absent instead of raising."""
        path = dotted(node)
        if path is None:
            return None
        root_node: Expr = node
        while isinstance(root_node, Attr):
            root_node = root_node.obj
        root_res = checked.resolved.get(id(root_node))
        if root_res is None or root_res.kind != "fact" or checked.resolved.get(id(node)) is not None:
            return None
        root, *rest = path.split(".")
        value, may_be_none = self._walk(checked, root, tuple(rest))
        return self.recorded(self.constant(path), value, may_be_none) if self.trace else value

    def presence(self, node: Expr, checked: Checked) -> str:
        """has(x): a fact path is probed; a lookup or a definition is read, and only a missing value counts as
        absent."""
        probe = self.probe(node, checked)
        if probe is not None:
            return f"({probe} is not None)"
        result = self.fresh()
        self.block.add("try:")
        lines, value = self.nested(lambda: self.node(node, checked))
        self.block.lines.extend(lines)
        self.block.add(f"    {result} = {value} is not None")
        self.block.add("except MissingValue:")
        self.block.add(f"    {result} = False")
        return result

    def _attr(self, node: Attr, checked: Checked) -> str:
        r = checked.resolved.get(id(node))
        if r is not None:  # an exported name of another policy
            if r.kind == "definition":
                return f"{self.definition(r.target, r.linked)}(env)"
            return self.bind(r.target, "T")
        path = dotted(node)
        if path is not None:
            root, *rest = path.split(".")
            root_node: Expr = node
            while isinstance(root_node, Attr):
                root_node = root_node.obj
            root_res = checked.resolved.get(id(root_node))
            if root_res is not None and root_res.kind == "fact":
                return self.fact_path(checked, root, tuple(rest))
        obj = self.node(node.obj, checked)
        value = self.temp(f"{obj}.get({self.constant(node.name)})")
        self.block.add(f"if {value} is None: not_given({self.constant(to_source(node))})")
        return value

    def _index(self, node: Index, checked: Checked) -> str:
        table, *keys = self.sequence((node.obj, *node.keys), checked)
        key = self.temp(f"({', '.join(keys)},)", "k")
        target = checked.resolved.get(id(node.obj))
        if self.trace:
            return f"record_row(tr, {self.constant(to_source(node.obj))}, {table}, {key})"
        if target is not None and target.kind == "table":
            rows = self.bind(target.target.rows, "R")
            row = self.temp(f"{rows}.get({key})", "r")
            self.block.add(f"if {row} is None: no_row({key}, {self.constant(target.target.name)})")
            return row
        return f"lookup({table}, {key})"

    def _call(self, node: Call, checked: Checked) -> str:
        r = checked.resolved[id(node)]
        if r.kind == "has":
            return self.presence(node.args[0], checked)
        args = self.sequence(node.args, checked)
        if r.kind == "builtin":
            builtin = r.target
            fn = self.bind(builtin.run, "b")
            if builtin.safe:  # cannot fail on values its types allow: no guard needed
                return f"{fn}({', '.join(args)})"
            args = [a if _is_simple(a) else self.temp(a) for a in args]  # computed first: only the function's
            call = f"{fn}({', '.join(args)})"                             # own failure is reported as its own
            result = self.fresh()
            self.block.add("try:")
            self.block.add(f"    {result} = {call}")
            self.block.add("except CALL_FAULTS as exc:")
            self.block.add(f"    raise call_fault({self.constant(builtin.name)}, exc) from None")
            return result
        plain, remembered = self.function(r.target, r.linked)
        # Only the outermost call is remembered: a call inside a remembered function runs only when the outer
        # one is new, with the same new arguments, so remembering it too would keep each result twice.
        if remembered is not None and not self._in_remembered:
            return f"{remembered}(env, {', '.join(args)})"
        return f"{plain}(env, {', '.join(args)})"

    def _unary(self, node: Unary, checked: Checked) -> str:
        operand = self.node(node.operand, checked)
        return f"(not {operand})" if node.op == "not" else f"(-{operand})"

    def _binary(self, node: Binary, checked: Checked) -> str:
        op = node.op
        if op in ("and", "or"):
            return self._short_circuit(op, node, checked)
        if op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            other = node.right if _is_null(node.left) else node.left
            if isinstance(other, (Attr, Index, Name)):
                present = self.presence(other, checked)
                return f"(not {present})" if op == "==" else present
            value = self.node(other, checked)
            return f"({value} is {'' if op == '==' else 'not '}None)"
        if op == "??":
            return self._default(node, checked)
        left, right = self.sequence((node.left, node.right), checked)
        if op in ("in", "not in"):
            if checked.resolved[id(node)].kind == "table_member":
                return f"(({left},) {op} {right}.rows)"
            return f"({left} {op} {right})"
        if op == "/":
            return f"divide({left}, {right}, {self.bind(node, 'n')})"
        if op in ("+", "-", "*"):
            if checked.types.get(id(node)) == DECIMAL:  # int and Decimal mix exactly; the result stays a Decimal
                method = {"+": "add", "-": "subtract", "*": "multiply"}[op]
                return f"bounded(EXACT.{method}, Decimal({left}), Decimal({right}), {self.bind(node, 'n')})"
            value = self.temp(f"{left} {op} {right}")
            if checked.types.get(id(node)) == INT or not isinstance(checked.types.get(id(node)), ListOf):
                self.block.add(f"if type({value}) is int and not -MAX_INT <= {value} <= MAX_INT: "
                               f"overflow({self.bind(node, 'n')})")
            return value
        return f"({left} {op} {right})"

    def _short_circuit(self, op: str, node: Binary, checked: Checked) -> str:
        left = self.node(node.left, checked)
        lines, right = self.nested(lambda: self.node(node.right, checked))
        if not lines:
            return f"({left} {op} {right})"
        result = self.temp(left)
        self.block.add(f"if {'' if op == 'and' else 'not '}{result}:")
        self.block.lines.extend(lines)
        self.block.add(f"    {result} = {right}")
        return result

    def _default(self, node: Binary, checked: Checked) -> str:
        probe = self.probe(node.left, checked)
        result = self.fresh()
        if probe is not None:  # a fact path: test for it without raising and catching
            self.block.add(f"{result} = {probe}")
        else:
            self.block.add("try:")
            lines, value = self.nested(lambda: self.node(node.left, checked))
            self.block.lines.extend(lines)
            self.block.add(f"    {result} = {value}")
            self.block.add("except MissingValue:")
            self.block.add(f"    {result} = None")
        lines, right = self.nested(lambda: self.node(node.right, checked))
        self.block.add(f"if {result} is None:")
        self.block.lines.extend(lines)
        self.block.add(f"    {result} = {right}")
        return result

    def _if(self, node: If, checked: Checked) -> str:
        cond = self.node(node.cond, checked)
        then_lines, then = self.nested(lambda: self.node(node.then, checked))
        else_lines, orelse = self.nested(lambda: self.node(node.orelse, checked))
        if not then_lines and not else_lines:
            return f"({then} if {cond} else {orelse})"
        result = self.fresh()
        self.block.add(f"if {cond}:")
        self.block.lines.extend(then_lines)
        self.block.add(f"    {result} = {then}")
        self.block.add("else:")
        self.block.lines.extend(else_lines)
        self.block.add(f"    {result} = {orelse}")
        return result

    def _listlit(self, node: ListLit, checked: Checked) -> str:
        if all(isinstance(i, Literal) for i in node.items):
            return self.bind(frozen([i.value for i in node.items]), "c")  # one list, as the closure compiler shares it
        return f"[{', '.join(self.sequence(node.items, checked))}]"

    def _comprehension(self, node: Comprehension, checked: Checked) -> str:
        items = self.node(node.source, checked)
        items = items if _is_simple(items) else self.temp(items)
        var = self.fresh("l")
        result = self.fresh()
        kind = node.kind
        self.scopes.append({node.var: var})
        try:
            lines, body = self.nested(lambda: self.node(node.body, checked))
        finally:
            self.scopes.pop()
        inner = "    " * (self.block.indent + 1)
        if kind == "any":
            self.block.add(f"{result} = False")
            tail = [f"{inner}if {body}:", f"{inner}    {result} = True", f"{inner}    break"]
        elif kind == "all":
            self.block.add(f"{result} = True")
            tail = [f"{inner}if not {body}:", f"{inner}    {result} = False", f"{inner}    break"]
        elif kind == "count":
            self.block.add(f"{result} = 0")
            tail = [f"{inner}if {body}:", f"{inner}    {result} += 1"]
        elif kind == "filter":
            self.block.add(f"{result} = []")
            tail = [f"{inner}if {body}:", f"{inner}    {result}.append({var})"]
        elif checked.types.get(id(node)) == INT:  # sum of whole numbers
            self.block.add(f"{result} = 0")
            tail = [f"{inner}{result} += {body}"]
        else:
            self.block.add(f"{result} = Decimal(0)")
            tail = [f"{inner}{result} = bounded(EXACT.add, {result}, Decimal({body}), {self.bind(node, 'n')})"]
        self.block.add(f"for {var} in {items}:")
        self.block.lines.extend(lines)
        self.block.lines.extend(tail)
        if kind == "sum" and checked.types.get(id(node)) == INT:
            self.block.add(f"if not -MAX_INT <= {result} <= MAX_INT: overflow({self.bind(node, 'n')}, 'sum')")
        return result

    # -- definitions and functions ------------------------------------------------------------------

    def definition(self, definition, linked: Linked) -> str:
        key = (id(linked), definition.name)
        name = self.definitions.get(key)
        if name is not None:
            return name
        name = self.definitions[key] = self.fresh("d")
        checked = self.checked_by_linked[id(linked)]
        slot = self.constant(self._counter)
        label = self.constant(definition.name)
        outer_block, outer_scopes = self.block, self.scopes
        self.block, self.scopes = _Block(3 if self.trace else 2), [{}]
        try:
            value = self.node(definition.expr.tree, checked)
            body = self.block.lines
        finally:
            self.block, self.scopes = outer_block, outer_scopes
        if self.trace:
            # A rule that reads a definition is explained by the facts beneath it too: the body's reads are kept
            # with its value (once per claim) and passed on at every read.
            lines = [f"def {name}(env):", "    c = env.cache", f"    entry = c.get({slot})", "    if entry is None:",
                     "        f = env.facts", "        outer = env.trace", "        env.trace = tr = []",
                     "        try:",
                     *body, f"            value = {value}", "        except MissingValue:",
                     "            env.trace = outer", "            if outer is not None:",
                     "                outer.extend(tr)", f"                outer.append(({label}, MISSING))",
                     "            raise", "        except BaseException:", "            env.trace = outer",
                     "            raise", "        env.trace = outer", f"        entry = c[{slot}] = (value, tr)",
                     "    value, beneath = entry", "    tr = env.trace", "    if tr is not None:",
                     "        tr.extend(beneath)", f"        tr.append(({label}, value))", "    return value"]
        else:
            lines = [f"def {name}(env):", "    c = env.cache", f"    value = c.get({slot}, MISSING)",
                     "    if value is MISSING:", "        f = env.facts", *body,
                     f"        value = c[{slot}] = {value}", "    return value"]
        self.functions.append(lines)
        return name

    def _pure(self, definition, linked: Linked) -> bool:
        return closures.is_pure(definition, linked, self.checked_by_linked, self._purity)

    def function(self, definition, linked: Linked) -> tuple[str, str | None]:
        key = (id(linked), definition.name)
        known = self.user_functions.get(key)
        if known is not None:
            return known
        name = self.fresh("f")
        remembered = self._pure(definition, linked)
        memo_name = self.fresh("m") if remembered else None
        self.user_functions[key] = (name, memo_name)
        params = [self.fresh("p") for _ in definition.params]
        scope = {p.name: generated for p, generated in zip(definition.params, params, strict=True)}
        self._in_remembered += remembered
        try:
            self._function(name, ", ".join(["env", *params]),
                           lambda: self.node(definition.expr.tree, self.checked_by_linked[id(linked)]), scope)
        finally:
            self._in_remembered -= remembered
        if memo_name is not None:
            self._memo(memo_name, name, params)
        return name, memo_name

    def _memo(self, name: str, body: str, params: list[str]) -> None:
        """A call of a function of its arguments alone: results remembered per call site, in a dict emptied when
        full (a list or record argument cannot be a key: not remembered); untraced, since a remembered result is
        not computed again (its arguments are recorded where read)."""
        memo = self.bind({}, "M")
        args = ", ".join(params)
        key = f"({args},)"
        self.functions.append([
            f"def {name}(env, {args}):", f"    key = {key}", "    try:", f"        return {memo}[key]",
            "    except KeyError:", "        pass", "    except TypeError:", f"        return {name}_run(env, {args})",
            f"    value = {self.bind(frozen, 'F')}({name}_run(env, {args}))",
            f"    if len({memo}) >= {closures._MEMO_SIZE}:",
            f"        {memo}.clear()", f"    {memo}[key] = value", "    return value",
            f"def {name}_run(env, {args}):", "    trace, env.trace = env.trace, None", "    try:",
            f"        return {body}(env, {args})", "    finally:", "        env.trace = trace"])


_EMITTERS: dict[type, Callable[..., str]] = {
    Literal: Generator._literal, Name: Generator._name, Attr: Generator._attr, Index: Generator._index,
    Call: Generator._call, Unary: Generator._unary, Binary: Generator._binary, If: Generator._if,
    ListLit: Generator._listlit, Comprehension: Generator._comprehension,
}


def _is_simple(expr: str) -> bool:
    """A made-up name or a literal: the same value wherever it is read, so it needs no temporary."""
    return expr.isidentifier() or expr in ("True", "False", "None") or expr.lstrip("-").isdigit() or (
        expr[:1] in ("'", '"') and expr[-1:] == expr[:1] and expr.count(expr[:1]) == 2 and "\\" not in expr)


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"


def _certainty(checked: Checked, root: str, keys: tuple) -> list[bool]:
    """For each step of a fact path, whether a valid claim always has it there: required, and never null, in a
    record that is itself always there."""
    schema = checked.linked.schema
    record: Type | None = schema.type if schema is not None else None
    steps = []
    for name in (root, *keys):
        field: Field | None = record.field(name) if isinstance(record, Record) else None
        steps.append(field is not None and not field.optional and not field.nullable)
        record = field.type if field is not None else None
    return steps


class Generated:
    """A program's expressions as generated functions: `expression(tree, linked)` → callable(env), as the
    closure compiler gives them, after `build()`."""

    def __init__(self, root: Checked, trace: bool):
        self.generator = Generator(root, trace)
        self.names: dict = {}

    def add(self, key, tree: Expr, linked: Linked) -> None:
        self.names[key] = self.generator.expression(tree, linked)

    def build(self) -> dict:
        namespace = self.generator.build()
        return {key: namespace[name] for key, name in self.names.items()}

"""Check stage: resolve every name against the policy's namespace and infer and check every type.

Runs before any claim is seen. Each mistake is reported once, where it is: a node whose type cannot
be known gets the ERROR type, which fits everywhere, so one mistake never cascades.
The result (`Checked`) tells the compiler what every name and call resolved to.
"""
from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from engine.core.diagnostics import Diagnostic, cited
from engine.core.limits import LIMITS
from engine.language.builtins import BUILTINS, DECISION_DATE, Builtin
from engine.language.syntax import (
    KEYWORDS,
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
    is_name,
)
from engine.language.types import (
    BOOL,
    DATE,
    DECIMAL,
    ERROR,
    INT,
    NEVER,
    NULL,
    STRING,
    FunctionType,
    ListOf,
    Namespace,
    Record,
    TableType,
    Type,
    fits,
    is_numeric,
    join,
    may_be_null,
    non_null,
)

LITERAL_TYPES = {"int": INT, "decimal": DECIMAL, "string": STRING, "bool": BOOL, "date": DATE, "null": NULL}

if TYPE_CHECKING:  # the policy layer sits above the language: its types are named, never imported
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Definition, Expression, Table


@dataclass
class Resolved:
    """What a name, attribute, call or membership test means, for the compiler."""

    # local | definition | function | table | fact | decision_date | alias | builtin | table_member | list_member
    kind: str
    target: Definition | Table | Builtin | str | None = None  # str: the name of a fact, a local or an alias
    linked: Linked | None = None


@dataclass
class Checked:
    linked: Linked
    resolved: dict = field(default_factory=dict)  # id(node) -> Resolved
    types: dict = field(default_factory=dict)  # id(node) -> Type
    definition_types: dict = field(default_factory=dict)  # name -> Type
    reads_facts: dict = field(default_factory=dict)  # definition name -> bool
    aliases: dict = field(default_factory=dict)  # alias -> Checked
    definition_costs: dict = field(default_factory=dict)  # name -> worst-case steps
    diagnostics: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def check(linked: Linked, _cache: dict | None = None) -> Checked:
    """Check a linked policy (and, once each, the policies it uses)."""
    cache = _cache if _cache is not None else {}
    if id(linked) in cache:
        return cache[id(linked)]
    checker = _Checker(linked, cache)
    cache[id(linked)] = checker.result
    checker.run()
    return checker.result


class _Checker:
    def __init__(self, linked: Linked, cache: dict):
        self.linked = linked
        self.cache = cache
        self.result = Checked(linked)
        self.facts: Record | None = linked.schema.type if linked.schema else None
        self.expression: Expression | None = None
        self.clause: str | None = None
        self.locals: list[dict] = []
        self.in_progress: list[str] = []
        self.reads_facts_stack: list[bool] = []
        self.guarded = 0  # inside has(), the left of ??, or beside == null: absence is the question asked

    # -- reporting ---------------------------------------------------------------------------------

    def error(self, code: str, message: str, node: Expr | None, hint: str | None = None, severity: str = "error",
              expression: Expression | None = None):
        expression = expression or self.expression
        assert expression is not None  # every error is about the expression being checked
        source = expression.source
        offset = node.span[0] if node is not None else 0
        self.result.diagnostics.append(source.diagnostic(code, message, offset, hint=hint, clause=self.clause,
                                                         severity=severity))

    def plain_error(self, code: str, message: str, location, severity: str = "error"):
        self.result.diagnostics.append(Diagnostic(code, message, location, severity=severity))

    # -- driving -----------------------------------------------------------------------------------

    def run(self) -> None:
        for alias, target in self.linked.aliases.items():
            self.result.aliases[alias] = check(target, self.cache)
        self._check_names()
        for name in self.linked.definitions:
            self.definition_type(name)
        for rule in self.linked.rules:
            self.clause = ", ".join(rule.clauses)
            if rule.when is not None:
                self.condition(rule.when, "the rule's `when`")
            self.condition(rule.require, "the rule's `require`")
        for output in self.linked.outputs.values():
            self.clause = ", ".join(output.clauses)
            if output.when is not None:
                self.condition(output.when, "the output's `when`")
            t = self.top(output.expr)
            if isinstance(t, (FunctionType, TableType, Namespace)):
                self.error("type.output", f"an output must be a value, not {t}", output.expr.tree,
                           expression=output.expr)
        for note in self.linked.notes:
            self.clause = ", ".join(note.clauses)
            if note.when is not None:
                self.condition(note.when, "the note's `when`")
        self.clause = None
        for chk in self.linked.checks:
            self._fact_path(chk)
            if chk.when is not None:
                self.condition(chk.when, "the check's `when`")
            self.condition(chk.require, "the check's `require`")
        if self.linked.decision is not None:
            self.clause = ", ".join(self.linked.decision.clauses)
            t = self.top(self.linked.decision.expr)
            if not is_numeric(t):
                self.error("type.amount", f"the decision amount must be a number, not {t}",
                           self.linked.decision.expr.tree, expression=self.linked.decision.expr)
        for name in self.linked.exports:
            if name not in self.linked.definitions and name not in self.linked.tables:
                lister = next((v for v in self.linked.chain if name in v.exports), self.linked.version)
                self.plain_error("export.unknown", f"exports {name!r}, which is neither a definition nor a table",
                                 lister.location("exports"))

    def _check_names(self) -> None:
        facts = {f.name for f in self.facts.fields} if self.facts else set()
        owners: dict[str, str] = {}
        params = [(p.name, d) for d in self.linked.definitions.values() for p in d.params]
        for name, definition in params:
            if not is_name(name):
                self.plain_error("name.reserved",
                                 f"parameter {name!r} of {definition.name!r} cannot be used as a name: "
                                 + _why_not_a_name(name), definition.location)
        for kind, names in (("fact", facts), ("alias", self.linked.aliases), ("table", self.linked.tables),
                            ("definition", self.linked.definitions)):
            for name in names:
                if not is_name(name):
                    self.plain_error("name.reserved", f"{kind} {name!r} cannot be used in expressions: "
                                     + _why_not_a_name(name), self._location_of(kind, name))
                elif name == DECISION_DATE or name in BUILTINS:
                    self.plain_error("name.reserved", f"{kind} {name!r} takes a name the language reserves",
                                     self._location_of(kind, name))
                elif name in owners:
                    self.plain_error("name.conflict", f"{kind} {name!r} has the same name as a {owners[name]}",
                                     self._location_of(kind, name))
                else:
                    owners[name] = kind

    def _location_of(self, kind: str, name: str):
        item = (self.linked.tables.get(name) if kind == "table"
                else self.linked.definitions.get(name) if kind == "definition" else None)
        if item is not None:
            return item.location
        return self.linked.version.location("uses", name) if kind == "alias" else self.linked.version.location("input")

    def _fact_path(self, chk) -> None:
        if self.linked.facts_unknown:
            return
        t: Type | None = self.facts
        for part in chk.fact.split("."):
            f = t.field(part) if isinstance(t, Record) else None
            if f is None:
                self.plain_error("name.unknown", f"input check {chk.id!r} names fact {chk.fact!r}, which the input "
                                 "schema does not have", chk.location)
                return
            t = f.type

    def condition(self, expression: Expression, what: str) -> None:
        t = self.top(expression)
        if t not in (BOOL, ERROR):
            self.error("type.condition", f"{what} must be true or false, but this is {t}", expression.tree,
                       expression=expression, hint=self._null_hint(t))

    @staticmethod
    def _null_hint(*types: Type) -> str | None:
        if any(may_be_null(t) for t in types):
            return "this may be null: give a default with ?? (x ?? 0), or test x != null first"
        return None

    def top(self, expression: Expression) -> Type:
        if expression.tree is None:
            return ERROR
        saved = self.expression
        self.expression = expression
        try:
            t = self.infer(expression.tree)
            steps = self.cost(expression.tree)
            if steps > LIMITS.evaluation_cost:
                self.error("cost.too_high", f"this expression may take up to {steps:,} steps for one claim, over the "
                           f"limit of {LIMITS.evaluation_cost:,}", expression.tree,
                           hint="a comprehension inside a comprehension multiplies; give the lists a maxItems in the "
                                "input schema, or restructure")
            return t
        finally:
            self.expression = saved

    # -- cost: a worst-case count of steps, so that no expression can run away on a large claim -----

    def bound(self, node: Expr) -> int:
        t = self.result.types.get(id(node))
        if isinstance(node, ListLit):
            return len(node.items)
        if isinstance(t, ListOf) and t.bound is not None:
            return t.bound
        return LIMITS.list_items_assumed

    def cost(self, node: Expr) -> int:
        own = 1
        if isinstance(node, Comprehension):
            return own + self.cost(node.source) + self.bound(node.source) * (1 + self.cost(node.body))
        if isinstance(node, Name):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "definition":
                return own + self._definition_cost(r)
            return own
        if isinstance(node, Attr):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "definition":
                return own + self._definition_cost(r)
        if isinstance(node, Call):
            r = self.result.resolved.get(id(node))
            extra = 0
            if r is not None and r.kind == "function":
                extra = self._definition_cost(r)
            elif r is not None and r.kind == "builtin" and node.args and isinstance(
                    self.result.types.get(id(node.args[0])), ListOf):
                extra = self.bound(node.args[0])
            return own + extra + sum(self.cost(a) for a in node.args)
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "list_member":
                own += self.bound(node.right)
        return own + sum(self.cost(c) for c in children(node))

    def _definition_cost(self, r: Resolved) -> int:
        name = cast("Definition", r.target).name
        if r.linked is not self.linked:
            for alias, target in self.linked.aliases.items():
                if target is r.linked:
                    return self.result.aliases[alias].definition_costs.get(name, 1)
            return 1
        known = self.result.definition_costs.get(name)
        if known is not None:
            return known
        self.result.definition_costs[name] = 1  # a cycle (already reported) costs nothing more
        tree = self.linked.definitions[name].expr.tree
        steps = self.cost(tree) if tree is not None else 1
        self.result.definition_costs[name] = steps
        return steps

    # -- definitions ------------------------------------------------------------------------------

    def definition_type(self, name: str) -> Type:
        known = self.result.definition_types.get(name)
        if known is not None:
            return known
        definition: Definition = self.linked.definitions[name]
        if name in self.in_progress:
            cycle = self.in_progress[self.in_progress.index(name):] + [name]
            saved, self.expression = self.expression, definition.expr
            self.clause = cited(definition.clauses)
            self.error("definition.cycle", "definitions depend on each other in a cycle: " + " → ".join(cycle),
                       definition.expr.tree)
            self.expression = saved
            for member in cycle:
                self.result.definition_types[member] = ERROR
            return ERROR
        if len(self.in_progress) >= LIMITS.definition_depth:
            saved, self.expression = self.expression, definition.expr
            self.error("definition.too_deep", f"definitions build on each other more than {LIMITS.definition_depth} "
                       f"levels deep ({' → '.join(self.in_progress[:3])} → … → {name})", definition.expr.tree,
                       hint="flatten the chain, or raise POLICY_LIMIT_DEFINITION_DEPTH")
            self.expression = saved
            self.result.definition_types[name] = ERROR
            return ERROR
        self.in_progress.append(name)
        self.reads_facts_stack.append(False)
        saved_locals, saved_clause = self.locals, self.clause
        self.locals = [{p.name: p.type for p in definition.params}] if definition.params else []
        self.clause = cited(definition.clauses)
        body = self.top(definition.expr)
        self.locals, self.clause = saved_locals, saved_clause
        reads = self.reads_facts_stack.pop()
        self.in_progress.pop()
        if name in self.result.definition_types:  # a cycle through here was reported
            return self.result.definition_types[name]
        if definition.declared_type is not None and not fits(body, definition.declared_type):
            saved, self.expression = self.expression, definition.expr
            self.error("type.mismatch", f"{name!r} is declared {definition.declared_type} but its expression is {body}",
                       definition.expr.tree, hint=self._null_hint(body))
            self.expression = saved
            body = definition.declared_type  # every use then reads what the author meant: one error, not many
        result = body if not definition.params else FunctionType(name, definition.params, body)
        self.result.definition_types[name] = result
        self.result.reads_facts[name] = reads
        if reads and self.reads_facts_stack:
            self.reads_facts_stack[-1] = True
        return result

    # -- expressions ------------------------------------------------------------------------------

    def infer(self, node: Expr) -> Type:
        t = self._infer(node)
        self.result.types[id(node)] = t
        return t

    def _infer(self, node: Expr) -> Type:
        if isinstance(node, Literal):
            return LITERAL_TYPES[node.kind]
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Attr):
            return self.attr(node)
        if isinstance(node, Index):
            return self.index(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Unary):
            t = self.infer(node.operand)
            if node.op == "not":
                if t not in (BOOL, ERROR):
                    self.error("type.operand", f"'not' needs true or false, not {t}", node.operand,
                               hint=self._null_hint(t))
                return BOOL
            if not is_numeric(t):
                self.error("type.operand", f"'-' needs a number, not {t}", node.operand, hint=self._null_hint(t))
                return ERROR
            return t
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, If):
            c = self.infer(node.cond)
            if c not in (BOOL, ERROR):
                self.error("type.condition", f"the condition after 'if' must be true or false, not {c}", node.cond,
                           hint=self._null_hint(c))
            a, b = self.infer(node.then), self.infer(node.orelse)
            joined = join(a, b)
            if joined is None:
                self.error("type.branches", f"'then' gives {a} but 'else' gives {b}; both must be of one type",
                           node.orelse)
                return ERROR
            return joined
        if isinstance(node, ListLit):
            item: Type = NEVER
            for element in node.items:
                t = self.infer(element)
                joined = join(item, t)
                if joined is None:
                    self.error("type.list", f"a list holds values of one type: {t} among {item}", element)
                    return ERROR
                item = joined
            return ListOf(item)
        if isinstance(node, Comprehension):
            return self.comprehension(node)
        raise AssertionError(f"unchecked node {node!r}")  # pragma: no cover

    def lookup_local(self, name: str) -> Type | None:
        for scope in reversed(self.locals):
            if name in scope:
                return scope[name]
        return None

    def name(self, node: Name) -> Type:
        name = node.name
        local = self.lookup_local(name)
        res = self.result.resolved
        if local is not None:
            res[id(node)] = Resolved("local", name)
            return local
        # Facts and decision_date come first: a definition that clashes with one is reported once, and
        # every rule that reads the fact still means the fact.
        fact = self.facts.field(name) if self.facts is not None else None
        if fact is not None:
            res[id(node)] = Resolved("fact", name)
            self._mark_fact_read()
            return fact.type
        if name == DECISION_DATE:
            res[id(node)] = Resolved("decision_date")
            return DATE
        if name in self.linked.definitions:
            t = self.definition_type(name)
            if isinstance(t, FunctionType):
                self.error("name.function", f"{name!r} is a function: call it as {name}(...)", node)
                return ERROR
            res[id(node)] = Resolved("definition", self.linked.definitions[name], self.linked)
            return t
        if name in self.linked.tables:
            res[id(node)] = Resolved("table", self.linked.tables[name])
            return self.linked.tables[name].type
        if name in self.linked.aliases:
            res[id(node)] = Resolved("alias", name, self.linked.aliases[name])
            return Namespace(name, self.linked.aliases[name].version.id)
        if name in BUILTINS or name == "has":
            self.error("name.function", f"{name!r} is a function: call it as {name}(...)", node)
            return ERROR
        if self.linked.facts_unknown:
            return ERROR
        self.error("name.unknown", f"unknown name {name!r}", node, hint=self._suggest(name, self._visible_names()))
        return ERROR

    def _mark_fact_read(self) -> None:
        if self.reads_facts_stack:
            self.reads_facts_stack[-1] = True

    def _visible_names(self) -> list[str]:
        names = [n for scope in self.locals for n in scope]
        names += list(self.linked.definitions) + list(self.linked.tables) + list(self.linked.aliases)
        names += [f.name for f in self.facts.fields] if self.facts else []
        return names + [DECISION_DATE]

    @staticmethod
    def _suggest(name: str, candidates) -> str | None:
        close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
        return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None

    def attr(self, node: Attr) -> Type:
        base = self.infer(node.obj)
        if base in (ERROR, NEVER):  # NEVER: an item of an empty list, which has every field
            return base
        if isinstance(base, Namespace):
            return self.export(node, base)
        if isinstance(base, Record):
            f = base.field(node.name)
            if f is None:
                self.error("name.field", f"{base} has no field {node.name!r}", node,
                           hint=self._suggest(node.name, [x.name for x in base.fields])
                           or f"its fields are {', '.join(x.name for x in base.fields)}")
                return ERROR
            return f.type
        if isinstance(base, TableType):
            self.error("type.table", f"{base} must be looked up by its key first: {base.name}[...].{node.name}", node)
            return ERROR
        self.error("type.field", f"{base} has no fields (asked for {node.name!r})", node, hint=self._null_hint(base))
        return ERROR

    def export(self, node: Attr, ns: Namespace) -> Type:
        target_linked: Linked = self.linked.aliases[ns.alias]
        checked = self.result.aliases[ns.alias]
        name = node.name
        if name not in target_linked.exports:
            self.error("name.not_exported", f"{ns.policy_id} does not export {name!r}", node,
                       hint=f"it exports {', '.join(target_linked.exports) or 'nothing'}")
            return ERROR
        if name in target_linked.tables:
            self.result.resolved[id(node)] = Resolved("table", target_linked.tables[name])
            return target_linked.tables[name].type
        t = checked.definition_types.get(name, ERROR)
        if checked.reads_facts.get(name):
            self.error("name.reads_facts", f"{ns.policy_id}'s {name!r} reads claim facts; across `uses` only tables, "
                       "constants and functions can be read (use `extends` to inherit rules)", node)
            return ERROR
        if isinstance(t, FunctionType):
            self.error("name.function", f"{name!r} is a function: call it as {ns.alias}.{name}(...)", node)
            return ERROR
        self.result.resolved[id(node)] = Resolved("definition", target_linked.definitions[name], target_linked)
        return t

    def index(self, node: Index) -> Type:
        base = self.infer(node.obj)
        keys = [self.infer(k) for k in node.keys]
        if base == ERROR:
            return ERROR
        if not isinstance(base, TableType):
            self.error("type.index", f"only tables can be looked up with [...]; this is {base}", node)
            return ERROR
        known = self._literal_key(node, base)
        if len(keys) != len(base.keys):
            self.error("table.key_count", f"{base.name} is looked up by {len(base.keys)} key"
                       f"{'s' if len(base.keys) != 1 else ''} ({', '.join(k.name for k in base.keys)}), "
                       f"not {len(keys)}", node)
            return base.row
        for key_node, got, want in zip(node.keys, keys, base.keys, strict=True):
            if not fits(got, want.type):
                self.error("type.key", f"key {want.name!r} of {base.name} is {want.type}, not {got}", key_node,
                           hint=self._null_hint(got))
                known = None
        rows = self._table_rows(node.obj)
        if known is not None and rows is not None and known not in rows:
            if self.guarded:
                self.error("table.no_row", f"{base.name} has no row for {', '.join(map(str, known))}, so this is "
                           "always absent", node, severity="warning")
            else:
                self.error("table.no_row", f"{base.name} has no row for {', '.join(map(str, known))}", node,
                           hint=f"its keys are {', '.join(k.name for k in base.keys)}; every claim would fail here")
        return base.row

    def guarded_infer(self, node: Expr) -> Type:
        self.guarded += 1
        try:
            return self.infer(node)
        finally:
            self.guarded -= 1

    @staticmethod
    def _literal_key(node: Index, base: TableType) -> tuple | None:
        """The key, when every part of it is written as a literal (so a missing row is known now)."""
        if len(node.keys) != len(base.keys) or not all(isinstance(k, Literal) for k in node.keys):
            return None
        return tuple(k.value for k in node.keys)

    def _table_rows(self, table_node: Expr) -> dict | None:
        r = self.result.resolved.get(id(table_node))
        return r.target.rows if r is not None and r.kind == "table" else None

    def call(self, node: Call) -> Type:
        func = node.func
        if isinstance(func, Name) and func.name == "has" and self.lookup_local("has") is None:
            return self.has(node)
        if isinstance(func, Name) and func.name in BUILTINS and func.name not in self.linked.definitions \
                and self.lookup_local(func.name) is None:
            builtin = BUILTINS[func.name]
            args = [self.infer(a) for a in node.args]
            result = builtin.check(args)
            self.result.resolved[id(node)] = Resolved("builtin", builtin)
            if isinstance(result, str):
                self.error("call.arguments", f"{func.name}() {result}", node,
                           hint=self._null_hint(*args) or f"signature: {builtin.signature}")
                return ERROR
            return result
        target = self._function(func)
        args = [self.infer(a) for a in node.args]
        if target is None:
            return ERROR
        ftype, definition, linked = target
        self.result.resolved[id(node)] = Resolved("function", definition, linked)
        if len(args) != len(ftype.params):
            count = len(ftype.params)
            self.error("call.arguments", f"{ftype.name}() takes {count} argument{'s' if count != 1 else ''}, "
                       f"not {len(args)}", node, hint=f"signature: {ftype}")
            return ftype.result
        for arg_node, got, param in zip(node.args, args, ftype.params, strict=True):
            if not fits(got, param.type):
                self.error("call.arguments",
                           f"argument {param.name!r} of {ftype.name}() must be {param.type}, not {got}",
                           arg_node, hint=self._null_hint(got))
        return ftype.result

    def _function(self, func: Expr):
        if isinstance(func, Name) and func.name in self.linked.definitions:
            t = self.definition_type(func.name)
            if isinstance(t, FunctionType):
                return t, self.linked.definitions[func.name], self.linked
            if t != ERROR:
                self.error("call.not_function", f"{func.name!r} is a value, not a function", func)
            return None
        if isinstance(func, Attr) and isinstance(func.obj, Name) and func.obj.name in self.linked.aliases \
                and self.lookup_local(func.obj.name) is None:
            alias = func.obj.name
            target_linked = self.linked.aliases[alias]
            if func.name not in target_linked.exports:
                self.error("name.not_exported", f"{target_linked.version.id} does not export {func.name!r}", func,
                           hint=f"it exports {', '.join(target_linked.exports) or 'nothing'}")
                return None
            checked = self.result.aliases[alias]
            t = checked.definition_types.get(func.name, ERROR)
            if checked.reads_facts.get(func.name):
                self.error("name.reads_facts", f"{target_linked.version.id}'s {func.name!r} reads claim facts; across "
                           "`uses` only tables, constants and functions can be read", func)
                return None
            if isinstance(t, FunctionType):
                return t, target_linked.definitions[func.name], target_linked
            if t != ERROR:
                self.error("call.not_function", f"{alias}.{func.name} is a value, not a function", func)
            return None
        if isinstance(func, Name):
            self.error("name.unknown", f"unknown function {func.name!r}", func,
                       hint=self._suggest(func.name, list(BUILTINS) + ["has"] + [
                           n for n, d in self.linked.definitions.items() if d.params]))
            return None
        self.error("call.not_function", "only named functions can be called", func)
        return None

    def has(self, node: Call) -> Type:
        self.result.resolved[id(node)] = Resolved("has")
        if len(node.args) != 1:
            self.error("call.arguments", f"has() takes 1 argument, not {len(node.args)}", node)
            return BOOL
        arg = node.args[0]
        if self.guarded_infer(arg) == ERROR:
            return BOOL
        if not isinstance(arg, (Attr, Index, Name)):
            self.error("call.arguments", "has() takes a fact path or a table lookup, such as has(applicant.graduate)",
                       arg)
        elif not self.may_be_missing(arg):
            self.error("has.always", "this is always present, so has() is always true", arg,
                       hint="has() is for optional facts and table lookups", severity="warning")
        return BOOL

    def may_be_missing(self, node: Expr) -> bool:
        if isinstance(node, Index):
            return True
        if isinstance(node, Attr):
            base_type = self.result.types.get(id(node.obj))
            if isinstance(base_type, Record):
                f = base_type.field(node.name)
                if f is not None and f.optional:
                    return True
            return self.may_be_missing(node.obj)
        if isinstance(node, Name):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "fact":
                fact = self.facts.field(node.name) if self.facts is not None else None
                return fact is not None and fact.optional
            return r is not None and r.kind in ("definition", "local")
        # a function or operator may read something missing inside
        return isinstance(node, (Call, Binary, If, Unary))

    def binary(self, node: Binary) -> Type:
        op = node.op
        if op in ("and", "or"):
            for side in (node.left, node.right):
                t = self.infer(side)
                if t not in (BOOL, ERROR):
                    self.error("type.operand", f"'{op}' joins conditions that are true or false, but this is {t}", side,
                               hint=self._null_hint(t))
            return BOOL
        left_guarded = op == "??" or op in ("==", "!=") and _is_null_literal(node.right)
        left = self.guarded_infer(node.left) if left_guarded else self.infer(node.left)
        right = self.guarded_infer(node.right) if op in ("==", "!=") and _is_null_literal(node.left) \
            else self.infer(node.right)
        if op == "??":
            if left == ERROR:  # already reported (or a fact of a schema that could not be read)
                return ERROR
            if not may_be_null(left) and not self.may_be_missing(node.left):
                self.error("default.unused", "the left side is never missing, so the default is never used",
                           node.left, severity="warning")
            joined = join(non_null(left), right)
            if joined is None:
                self.error("type.default", f"the default must be {left} like the value it stands in for, not {right}",
                           node.right)
                return ERROR
            return joined
        if op in ("in", "not in"):
            return self.membership(node, left, right)
        if op in ("==", "!="):
            if join(left, right) is None and NULL not in (left, right):
                self.error("type.compare", f"cannot compare {left} with {right}", node)
            null_side = node.right if left != NULL else node.left
            other, other_type = (node.left, left) if null_side is node.right else (node.right, right)
            if NULL in (left, right) and other_type not in (ERROR, NULL) and not may_be_null(other_type) \
                    and not self.may_be_missing(other):
                self.error("null.never", f"this is never null, so '{op} null' is always "
                           f"{'false' if op == '==' else 'true'}", other, severity="warning")
            self._enum_check(node.left, node.right)
            self._enum_check(node.right, node.left)
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if ERROR in (left, right) or NEVER in (left, right):  # NEVER: an item of an empty list fits anything
                return BOOL
            if not ((is_numeric(left) and is_numeric(right)) or (left == right and left in (DATE, STRING))):
                self.error("type.compare", f"cannot order {left} against {right} with '{op}'", node,
                           hint=self._null_hint(left, right) or self._date_hint(left, right))
            return BOOL
        # arithmetic
        if ERROR in (left, right):
            return ERROR
        if op == "+" and isinstance(left, ListOf) and isinstance(right, ListOf):
            joined = join(left, right)
            if joined is None:
                self.error("type.list", f"cannot join a {left} with a {right}", node)
                return ERROR
            return joined
        if DATE in (left, right):
            self.error("type.arithmetic", f"cannot use '{op}' with {left} and {right}", node,
                       hint="dates move with add_days(), add_months() and add_years(); "
                            "distances come from days_between() and months_between()")
            return ERROR
        if not (is_numeric(left) and is_numeric(right)):
            self.error("type.arithmetic", f"'{op}' needs numbers, not {left} and {right}", node,
                       hint=self._null_hint(left, right))
            return ERROR
        if op == "/" or DECIMAL in (left, right):
            return DECIMAL
        return INT

    @staticmethod
    def _date_hint(left: Type, right: Type) -> str | None:
        if DATE in (left, right):
            return "a date compares only with another date, such as 2024-05-01 or decision_date"
        return None

    def membership(self, node: Binary, left: Type, right: Type) -> Type:
        if right == ERROR or left == ERROR:
            return BOOL
        if isinstance(right, ListOf):
            if join(left, right.item) is None:
                self.error("type.member", f"cannot look for {left} in a list of {right.item}", node)
            self.result.resolved[id(node)] = Resolved("list_member")
            if isinstance(node.right, ListLit):
                for item in node.right.items:
                    self._enum_check(node.left, item)
            return BOOL
        if isinstance(right, TableType):
            if len(right.keys) != 1:
                self.error("type.member", f"'in' tests tables with one key; {right.name} has {len(right.keys)}: "
                           f"use has({right.name}[...])", node)
            elif not fits(left, right.keys[0].type):
                self.error("type.member", f"the key of {right.name} is {right.keys[0].type}, not {left}", node)
            self.result.resolved[id(node)] = Resolved("table_member")
            return BOOL
        self.error("type.member", f"'in' looks in a list or a table, not in {right}", node.right)
        return BOOL

    def _enum_check(self, fact_node: Expr, literal: Expr) -> None:
        if not (isinstance(literal, Literal) and isinstance(literal.value, str)):
            return
        if isinstance(fact_node, Attr):
            base = self.result.types.get(id(fact_node.obj))
            f = base.field(fact_node.name) if isinstance(base, Record) else None
        elif isinstance(fact_node, Name) and getattr(self.result.resolved.get(id(fact_node)), "kind", None) == "fact":
            f = self.facts.field(fact_node.name) if self.facts is not None else None
        else:
            return
        if f is not None and f.enum is not None and literal.value not in f.enum:
            self.error("type.enum", f"{literal.value!r} is never a value of {fact_node.name!r} "
                       f"(one of {', '.join(map(str, f.enum))})", literal,
                       hint=self._suggest(literal.value, [str(e) for e in f.enum]))

    def comprehension(self, node: Comprehension) -> Type:
        source = self.infer(node.source)
        item: Type
        if source == ERROR:
            item = ERROR
        elif isinstance(source, ListOf):
            item = source.item
        else:
            self.error("type.source", f"{node.kind}() goes over a list, not {source}", node.source,
                       hint=self._null_hint(source))
            item = ERROR
        self.locals.append({node.var: item})
        try:
            body = self.infer(node.body)
        finally:
            self.locals.pop()
        if node.kind in ("any", "all", "count", "filter"):
            if body not in (BOOL, ERROR):
                self.error("type.condition", f"the condition in {node.kind}() must be true or false, not {body}",
                           node.body, hint=self._null_hint(body))
            return {"any": BOOL, "all": BOOL, "count": INT}.get(node.kind, source if source != ERROR else ERROR)
        if not is_numeric(body):  # sum
            self.error("type.arithmetic", f"sum() adds numbers, not {body}", node.body, hint=self._null_hint(body))
            return ERROR
        return body if body != NEVER else INT


def _why_not_a_name(name: str) -> str:
    if name in KEYWORDS:
        return "it is a word of the language"
    normal = unicodedata.normalize("NFC", name)
    if normal != name and is_name(normal):  # pasted in decomposed form: looks the same, reads differently
        return f"its characters are not in Unicode NFC form (retype it, or write {normal!r})"
    return "it is not a name"


def _is_null_literal(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"


def coverage(version) -> list[Diagnostic]:
    """Every clause of the source must be encoded somewhere or recorded as not computable."""
    cited: set = set()
    # Read the citations off the file's data, so that a table dropped for a bad cell is not also "uncovered".
    stack = [version.content]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            clause = item.get("clause")
            if isinstance(clause, str):
                cited.add(clause)
            elif isinstance(clause, list):
                cited.update(c for c in clause if isinstance(c, str))
            stack.extend(v for k, v in item.items() if k not in ("source", "notes"))
        elif isinstance(item, list):
            stack.extend(item)
    out = []
    for cid in version.clauses:
        if cid in cited or any(c.startswith(cid + ".") for c in cited):
            continue
        out.append(Diagnostic("clause.uncovered", f"clause {cid!r} is neither encoded by a rule, table, definition, "
                              "output or the decision nor listed under not_computable (a note explains, it does not "
                              "encode)", version.location("source", "clauses", cid),
                              clause=cid))
    return out


def check_expression(checked: Checked, expression: Expression) -> tuple[Checked, Type, list[Diagnostic]]:
    """Check one more expression in an already checked policy's namespace (for `policy eval` and the editor).
    Returns a copy of `checked` that also resolves the expression (for the compiler), its type, and its own
    diagnostics; `checked` itself is left as it was."""
    copy = Checked(checked.linked, dict(checked.resolved), dict(checked.types), checked.definition_types,
                   checked.reads_facts, checked.aliases, checked.definition_costs, [])
    checker = _Checker(checked.linked, {id(checked.linked): copy})
    checker.result = copy
    t = checker.top(expression)
    return copy, t, copy.diagnostics

"""Type inference: every name resolved and every node typed, one method per kind of node.

A node whose type cannot be known gets the ERROR type, which fits everywhere, so one mistake is reported
once, where it is, and never cascades. Definitions are typed on first use (and in file order by the
`definitions` stage), so a definition's type is known wherever it is read.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.core.diagnostics import cited
from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.core.spelling import Speller, shown
from engine.language.builtins import BUILTINS, DECISION_DATE
from engine.language.checked import Checked, Reporter, Resolved
from engine.language.syntax import Attr, Binary, Call, Comprehension, Expr, If, Index, ListLit, Literal, Name, Unary
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

if TYPE_CHECKING:  # the policy layer sits above the language: its types are named, never imported
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Definition, Expression

LITERAL_TYPES = {"int": INT, "decimal": DECIMAL, "string": STRING, "bool": BOOL, "date": DATE, "null": NULL}


def null_hint(*types: Type) -> str | None:
    if any(may_be_null(t) for t in types):
        return msg("this may be null: give a default with ?? (x ?? 0), or test x != null first")
    return None


def _date_hint(left: Type, right: Type) -> str | None:
    if DATE in (left, right):
        return msg("a date compares only with another date, such as 2024-05-01 or decision_date")
    return None


def _is_null_literal(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"



# the notice's words for the language's values, written as names: 否 is false, not the text "否"
_CHINESE_VALUES = {"是": "true", "否": "false", "真": "true", "假": "false", "对": "true", "错": "false", "空": "null",
                   "无": "null"}

class Inference:
    def __init__(self, linked: Linked, result: Checked, report: Reporter):
        self.linked = linked
        self.result = result
        self.report = report
        self.speller = Speller()
        self.facts: Record | None = linked.schema.type if linked.schema else None
        self.locals: list[dict] = []
        self.in_progress: list[str] = []
        self.reads_facts_stack: list[bool] = []
        self.guarded = 0  # inside has(), the left of ??, or beside == null: absence is the question asked

    def error(self, code: str, message: str, node: Expr | None, hint: str | None = None, severity: str = "error",
              expression: Expression | None = None) -> None:
        self.report.error(code, message, node, hint, severity, expression)

    # -- entry points ------------------------------------------------------------------------------

    def top(self, expression: Expression) -> Type:
        """The type of a whole expression of the policy (a rule's condition, an output, a definition...)."""
        if expression.tree is None:
            return ERROR
        saved = self.report.expression
        self.report.expression = expression
        try:
            return self.infer(expression.tree)
        finally:
            self.report.expression = saved

    def infer(self, node: Expr) -> Type:
        t = _RULES[type(node)](self, node)
        self.result.types[id(node)] = t
        return t

    def guarded_infer(self, node: Expr) -> Type:
        self.guarded += 1
        try:
            return self.infer(node)
        finally:
            self.guarded -= 1

    # -- definitions ------------------------------------------------------------------------------

    def definition_type(self, name: str) -> Type:
        known = self.result.definition_types.get(name)
        if known is not None:
            return known
        definition: Definition = self.linked.definitions[name]
        if name in self.in_progress:
            cycle = self.in_progress[self.in_progress.index(name):] + [name]
            self._definition_error(definition, "definition.cycle",
                                   msg("definitions depend on each other in a cycle: {cycle}", cycle=" → ".join(cycle)))
            for member in cycle:
                self.result.definition_types[member] = ERROR
            return ERROR
        if len(self.in_progress) >= LIMITS.definition_depth:
            self._definition_error(definition, "definition.too_deep",
                                   msg("definitions build on each other more than {limit} levels deep ({chain})",
                                       limit=LIMITS.definition_depth,
                                       chain=f"{' → '.join(self.in_progress[:3])} → … → {name}"),
                                   hint=msg("flatten the chain, or raise POLICY_LIMIT_DEFINITION_DEPTH"))
            self.result.definition_types[name] = ERROR
            return ERROR
        self.in_progress.append(name)
        self.reads_facts_stack.append(False)
        saved_locals, saved_clause = self.locals, self.report.clause
        self.locals = [{p.name: p.type for p in definition.params}] if definition.params else []
        self.report.clause = cited(definition.clauses)
        try:
            body = self.top(definition.expr)
        finally:
            self.locals, self.report.clause = saved_locals, saved_clause
            reads = self.reads_facts_stack.pop()
            self.in_progress.pop()
        if name in self.result.definition_types:  # a cycle through here was reported
            return self.result.definition_types[name]
        if definition.declared_type is not None and not fits(body, definition.declared_type):
            self._definition_error(definition, "type.mismatch", msg("{name} is declared {declared} but its expression "
                                                                    "is {body}", name=repr(name),
                                                                    declared=definition.declared_type, body=body),
                                   hint=null_hint(body))
            body = definition.declared_type  # every use then reads what the author meant: one error, not many
        result = body if not definition.params else FunctionType(name, definition.params, body)
        self.result.definition_types[name] = result
        self.result.reads_facts[name] = reads
        if reads and self.reads_facts_stack:
            self.reads_facts_stack[-1] = True
        return result

    def _definition_error(self, definition: Definition, code: str, message: str, hint: str | None = None) -> None:
        saved = self.report.clause
        self.report.clause = cited(definition.clauses)
        try:
            self.error(code, message, definition.expr.tree, hint=hint, expression=definition.expr)
        finally:
            self.report.clause = saved

    # -- names --------------------------------------------------------------------------------------

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
            if self.reads_facts_stack:
                self.reads_facts_stack[-1] = True
            return fact.type
        if name == DECISION_DATE:
            res[id(node)] = Resolved("decision_date")
            return DATE
        if name in self.linked.definitions:
            t = self.definition_type(name)
            if isinstance(t, FunctionType):
                self.error("name.function", msg(
                        "{name} is a function: call it as {name2}(...)",
                        name=repr(name), name2=name), node)
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
            self.error("name.function", msg(
                    "{name} is a function: call it as {name2}(...)",
                    name=repr(name), name2=name), node)
            return ERROR
        if self.linked.facts_unknown:
            return ERROR
        hint = (msg("the language writes {word} as {value}", word=repr(name), value=_CHINESE_VALUES[name])
                if name in _CHINESE_VALUES else self._not_a_name(name) or self.speller.suggest(
                    name, self._visible_names()) or msg(
            "text is written in quotes: if {name} is a value (as in sex == \"male\"), write \"{name}\"", name=name))
        self.error("name.unknown", msg("unknown name {shown_name}", shown_name=shown(name)), node, hint=hint)
        return ERROR

    def _not_a_name(self, name: str) -> str | None:
        """Why an output's or a rule's id is no name an expression can read, when `name` is one."""
        if name in self.linked.outputs:
            return msg("{name} is an output: a result the decision reports, which expressions cannot read; to use "
                       "its value in a rule, define it under definitions and name the definition in the output",
                       name=name)
        if any(rule.id == name for rule in self.linked.rules):
            return msg("{name} is a rule: its outcome is the decision's, which expressions cannot read; to use its "
                       "condition elsewhere, define it under definitions and name the definition in the rule",
                       name=name)
        return None

    def _visible_names(self):
        for scope in reversed(self.locals):
            yield from scope
        yield from self.linked.definitions
        yield from self.linked.tables
        yield from self.linked.aliases
        if self.facts:
            yield from (f.name for f in self.facts.fields)
        yield DECISION_DATE

    def exported(self, alias: str, name: str, node: Expr) -> Type | None:
        """The type of `name` as the policy behind `alias` exports it, or None when it cannot be read from
        here (reported). The one lookup for reading a value and for calling a function across `uses`."""
        target: Linked = self.linked.aliases[alias]
        if name not in target.exports:
            self.error("name.not_exported", msg(
                    "{target_version_id} does not export {shown_name}",
                    target_version_id=target.version.id, shown_name=shown(name)), node,
                       hint=msg(
                               "it exports {join_target_exports_or_nothing}",
                               join_target_exports_or_nothing=', '.join(target.exports) or 'nothing'))
            return None
        if name in target.tables:
            return target.tables[name].type
        checked: Checked = self.result.aliases[alias]
        if checked.reads_facts.get(name):
            self.error("name.reads_facts", msg(
                    "{target_version_id}'s {name} reads claim facts; across `uses` only tables, "
                    "constants and functions can be read (use `extends` to inherit rules)",
                    target_version_id=target.version.id, name=repr(name)), node)
            return None
        return checked.definition_types.get(name, ERROR)

    # -- one method per kind of node -----------------------------------------------------------------

    def literal(self, node: Literal) -> Type:
        return LITERAL_TYPES[node.kind]

    def attr(self, node: Attr) -> Type:
        base = self.infer(node.obj)
        if base in (ERROR, NEVER):  # NEVER: an item of an empty list, which has every field
            return base
        if isinstance(base, Namespace):
            return self._export_value(node, base)
        if isinstance(base, Record):
            f = base.field(node.name)
            if f is None:
                self.error("name.field", msg(
                        "{base} has no field {shown_node_name}",
                        base=base, shown_node_name=shown(node.name)), node,
                           hint=self.speller.suggest(node.name, [x.name for x in base.fields])
                           or msg("its fields are {fields}", fields=", ".join(x.name for x in base.fields)))
                return ERROR
            return f.type
        if isinstance(base, TableType):
            self.error("type.table", msg(
                    "{base} must be looked up by its key first: {base_name}[...].{node_name}",
                    base=base, base_name=base.name, node_name=node.name), node)
            return ERROR
        self.error("type.field", msg(
                "{base} has no fields (asked for {shown_node_name})",
                base=base, shown_node_name=shown(node.name)), node, hint=null_hint(base))
        return ERROR

    def _export_value(self, node: Attr, ns: Namespace) -> Type:
        t = self.exported(ns.alias, node.name, node)
        if t is None:
            return ERROR
        target: Linked = self.linked.aliases[ns.alias]
        if isinstance(t, TableType):
            self.result.resolved[id(node)] = Resolved("table", target.tables[node.name])
            return t
        if isinstance(t, FunctionType):
            self.error("name.function", msg(
                    "{node_name} is a function: call it as {ns_alias}.{node_name2}(...)",
                    node_name=repr(node.name), ns_alias=ns.alias, node_name2=node.name), node)
            return ERROR
        self.result.resolved[id(node)] = Resolved("definition", target.definitions[node.name], target)
        return t

    def index(self, node: Index) -> Type:
        base = self.infer(node.obj)
        keys = [self.infer(k) for k in node.keys]
        if base == ERROR:
            return ERROR
        if not isinstance(base, TableType):
            self.error("type.index", msg(
                    "only tables can be looked up with [...]; this is {base}",
                    base=base), node)
            return ERROR
        known = self._literal_key(node, base)
        if len(keys) != len(base.keys):
            names = ", ".join(k.name for k in base.keys)
            self.error("table.key_count", msg(
                    "{table} is looked up by 1 key ({names}), not {count}", table=base.name, names=names,
                    count=len(keys)) if len(base.keys) == 1 else msg(
                    "{table} is looked up by {wanted} keys ({names}), not {count}", table=base.name,
                    wanted=len(base.keys), names=names, count=len(keys)), node)
            return base.row
        for key_node, got, want in zip(node.keys, keys, base.keys, strict=True):
            if not fits(got, want.type):
                self.error("type.key", msg(
                        "key {want_name} of {base_name} is {want_type}, not {got}",
                        want_name=repr(want.name), base_name=base.name, want_type=want.type,
                        got=got), key_node,
                           hint=null_hint(got))
                known = None
        rows = self._table_rows(node.obj)
        if known is not None and rows is not None and known not in rows:
            if self.guarded:
                self.error("table.no_row", msg(
                        "{base_name} has no row for {join_map_str_known}, so this is always absent",
                        base_name=base.name, join_map_str_known=', '.join(map(str, known))), node, severity="warning")
            else:
                self.error("table.no_row", msg(
                        "{base_name} has no row for {join_map_str_known}",
                        base_name=base.name, join_map_str_known=', '.join(map(str, known))), node,
                           hint=msg(
                                   "its keys are {join_k_name_for_k_in_base_keys}; every claim would fail here",
                                   join_k_name_for_k_in_base_keys=', '.join(k.name for k in base.keys)))
        return base.row

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
                self.error("call.arguments", msg(
                        "{func_name}() {result}",
                        func_name=func.name, result=result), node,
                           hint=null_hint(*args) or msg("signature: {signature}", signature=builtin.signature))
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
            self.error("call.arguments", msg("{function}() takes 1 argument, not {count}", function=ftype.name,
                                             count=len(args)) if count == 1 else
                       msg("{function}() takes {wanted} arguments, not {count}", function=ftype.name, wanted=count,
                           count=len(args)), node, hint=msg("signature: {ftype}", ftype=ftype))
            return ftype.result
        for arg_node, got, param in zip(node.args, args, ftype.params, strict=True):
            if not fits(got, param.type):
                self.error("call.arguments",
                           msg(
                                   "argument {param_name} of {ftype_name}() must be {param_type}, not {got}",
                                   param_name=repr(param.name), ftype_name=ftype.name,
                                   param_type=param.type, got=got),
                           arg_node, hint=null_hint(got))
        return ftype.result

    def _function(self, func: Expr):
        """(type, definition, its policy) of the function called, or None (reported, or already reported)."""
        if isinstance(func, Name) and func.name in self.linked.definitions:
            t = self.definition_type(func.name)
            if isinstance(t, FunctionType):
                return t, self.linked.definitions[func.name], self.linked
            if t != ERROR:
                self.error("call.not_function", msg(
                        "{func_name} is a value, not a function",
                        func_name=repr(func.name)), func)
            return None
        if isinstance(func, Attr) and isinstance(func.obj, Name) and func.obj.name in self.linked.aliases \
                and self.lookup_local(func.obj.name) is None:
            alias = func.obj.name
            exported = self.exported(alias, func.name, func)
            if isinstance(exported, FunctionType):
                target: Linked = self.linked.aliases[alias]
                return exported, target.definitions[func.name], target
            if exported is not None and exported != ERROR:
                self.error("call.not_function", msg(
                        "{alias}.{func_name} is a value, not a function",
                        alias=alias, func_name=func.name), func)
            return None
        if isinstance(func, Name):
            from engine.language.syntax import CHINESE_WORDS  # `非(x)`: the notice's word for an operator

            self.error("name.unknown", msg(
                    "unknown function {shown_func_name}",
                    shown_func_name=shown(func.name)), func,
                       hint=msg("the language writes {word} as {operator}", word=repr(func.name),
                                operator=CHINESE_WORDS[func.name]) if func.name in CHINESE_WORDS else
                       self.speller.suggest(func.name, [*BUILTINS, "has", *(
                           n for n, d in self.linked.definitions.items() if d.params)]))
            return None
        if isinstance(func, Attr) and isinstance(func.obj, Name) and self.name(func.obj) == ERROR:
            return None  # `retirment.retirement_date(…)`: the unknown name is the mistake, reported with its hint
        self.error("call.not_function", msg("only named functions can be called"), func,
                   hint=msg("call a definition of this policy as NAME(…), or one another policy exports as "
                            "ALIAS.NAME(…) with ALIAS under uses:") if isinstance(func, Attr) else None)
        return None

    def has(self, node: Call) -> Type:
        self.result.resolved[id(node)] = Resolved("has")
        if len(node.args) != 1:
            self.error("call.arguments", msg(
                    "has() takes 1 argument, not {len_node_args}",
                    len_node_args=len(node.args)), node)
            return BOOL
        arg = node.args[0]
        if self.guarded_infer(arg) == ERROR:
            return BOOL
        if not isinstance(arg, (Attr, Index, Name)):
            self.error("call.arguments", msg(
                    "has() takes a fact path or a table lookup, such as has(applicant.graduate)"),
                       arg)
        elif not self.may_be_missing(arg):
            self.error("has.always", msg("this is always present, so has() is always true"), arg,
                       hint=msg("has() is for optional facts and table lookups"), severity="warning")
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

    def unary(self, node: Unary) -> Type:
        t = self.infer(node.operand)
        if node.op == "not":
            if t not in (BOOL, ERROR):
                self.error("type.operand", msg("'not' needs true or false, not {t}", t=t), node.operand,
                           hint=null_hint(t))
            return BOOL
        if not is_numeric(t):
            self.error("type.operand", msg("'-' needs a number, not {t}", t=t), node.operand, hint=null_hint(t))
            return ERROR
        return t

    def binary(self, node: Binary) -> Type:
        op = node.op
        if op in ("and", "or"):
            for side in (node.left, node.right):
                t = self.infer(side)
                if t not in (BOOL, ERROR):
                    self.error("type.operand", msg(
                            "'{op}' joins conditions that are true or false, but this is {t}",
                            op=op, t=t), side,
                               hint=null_hint(t))
            return BOOL
        left_guarded = op == "??" or op in ("==", "!=") and _is_null_literal(node.right)
        left = self.guarded_infer(node.left) if left_guarded else self.infer(node.left)
        right = self.guarded_infer(node.right) if op in ("==", "!=") and _is_null_literal(node.left) \
            else self.infer(node.right)
        if op == "??":
            return self._default(node, left, right)
        if op in ("in", "not in"):
            return self.membership(node, left, right)
        if op in ("==", "!="):
            return self._equality(node, left, right)
        if op in ("<", "<=", ">", ">="):
            if ERROR in (left, right) or NEVER in (left, right):  # NEVER: an item of an empty list fits anything
                return BOOL
            if not ((is_numeric(left) and is_numeric(right)) or (left == right and left in (DATE, STRING))):
                self.error("type.compare", msg(
                        "cannot order {left} against {right} with '{op}'",
                        left=left, right=right, op=op), node,
                           hint=null_hint(left, right) or _date_hint(left, right))
            return BOOL
        return self._arithmetic(node, left, right)

    def _default(self, node: Binary, left: Type, right: Type) -> Type:
        if left == ERROR:  # already reported (or a fact of a schema that could not be read)
            return ERROR
        if not may_be_null(left) and not self.may_be_missing(node.left):
            self.error("default.unused", msg(
                    "the left side is never missing, so the default is never used"),
                       node.left, severity="warning")
        joined = join(non_null(left), right)
        if joined is None:
            self.error("type.default", msg(
                    "the default must be {left} like the value it stands in for, not {right}",
                    left=left, right=right),
                       node.right)
            return ERROR
        return joined

    def _equality(self, node: Binary, left: Type, right: Type) -> Type:
        op = node.op
        if join(left, right) is None and NULL not in (left, right):
            self.error("type.compare", msg(
                    "cannot compare {left} with {right}",
                    left=left, right=right), node)
        null_side = node.right if left != NULL else node.left
        other, other_type = (node.left, left) if null_side is node.right else (node.right, right)
        if NULL in (left, right) and other_type not in (ERROR, NULL) and not may_be_null(other_type) \
                and not self.may_be_missing(other):
            self.error("null.never", msg(
                    "this is never null, so '{op} null' is always {answer}",
                    op=op, answer="false" if op == "==" else "true"), other, severity="warning")
        self._enum_check(node.left, node.right)
        self._enum_check(node.right, node.left)
        return BOOL

    def _arithmetic(self, node: Binary, left: Type, right: Type) -> Type:
        op = node.op
        if ERROR in (left, right):
            return ERROR
        if op == "+" and isinstance(left, ListOf) and isinstance(right, ListOf):
            joined = join(left, right)
            if joined is None:
                self.error("type.list", msg(
                        "cannot join a {left} with a {right}",
                        left=left, right=right), node)
                return ERROR
            return joined
        if DATE in (left, right):
            self.error("type.arithmetic", msg(
                    "cannot use '{op}' with {left} and {right}",
                    op=op, left=left, right=right), node,
                       hint=msg(
                               "dates move with add_days(), add_months() and add_years(); distances come from "
                               "days_between() and months_between()"))
            return ERROR
        if not (is_numeric(left) and is_numeric(right)):
            self.error("type.arithmetic", msg(
                    "'{op}' needs numbers, not {left} and {right}",
                    op=op, left=left, right=right), node,
                       hint=null_hint(left, right))
            return ERROR
        if op == "/" or DECIMAL in (left, right):
            return DECIMAL
        return INT

    def membership(self, node: Binary, left: Type, right: Type) -> Type:
        if right == ERROR or left == ERROR:
            return BOOL
        if isinstance(right, ListOf):
            if join(left, right.item) is None:
                self.error("type.member", msg(
                        "cannot look for {left} in a list of {right_item}",
                        left=left, right_item=right.item), node)
            self.result.resolved[id(node)] = Resolved("list_member")
            if isinstance(node.right, ListLit):
                for item in node.right.items:
                    self._enum_check(node.left, item)
            return BOOL
        if isinstance(right, TableType):
            if len(right.keys) != 1:
                self.error("type.member", msg(
                        "'in' tests tables with one key; {right_name} has {len_right_keys}: use "
                        "has({right_name}[...])",
                        right_name=right.name, len_right_keys=len(right.keys)), node)
            elif not fits(left, right.keys[0].type):
                self.error("type.member", msg(
                        "the key of {right_name} is {right_keys_0_type}, not {left}",
                        right_name=right.name, right_keys_0_type=right.keys[0].type, left=left), node)
            self.result.resolved[id(node)] = Resolved("table_member")
            return BOOL
        self.error("type.member", msg(
                "'in' looks in a list or a table, not in {right}",
                right=right), node.right)
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
            self.error("type.enum", msg(
                    "{shown_literal_value} is never a value of {fact_node_name} (one of "
                    "{join_map_str_f_enum})",
                    shown_literal_value=shown(literal.value),
                    fact_node_name=repr(fact_node.name),
                    join_map_str_f_enum=', '.join(map(str, f.enum))), literal,
                       hint=self.speller.suggest(literal.value, [str(e) for e in f.enum]))

    def if_(self, node: If) -> Type:
        c = self.infer(node.cond)
        if c not in (BOOL, ERROR):
            self.error("type.condition", msg(
                    "the condition after 'if' must be true or false, not {c}",
                    c=c), node.cond,
                       hint=null_hint(c))
        a, b = self.infer(node.then), self.infer(node.orelse)
        joined = join(a, b)
        if joined is None:
            self.error("type.branches", msg(
                    "'then' gives {a} but 'else' gives {b}; both must be of one type",
                    a=a, b=b), node.orelse)
            return ERROR
        return joined

    def list_(self, node: ListLit) -> Type:
        item: Type = NEVER
        for element in node.items:
            t = self.infer(element)
            joined = join(item, t)
            if joined is None:
                self.error("type.list", msg(
                        "a list holds values of one type: {t} among {item}",
                        t=t, item=item), element)
                return ERROR
            item = joined
        return ListOf(item)

    def comprehension(self, node: Comprehension) -> Type:
        source = self.infer(node.source)
        item: Type
        if source == ERROR:
            item = ERROR
        elif isinstance(source, ListOf):
            item = source.item
        else:
            self.error("type.source", msg(
                    "{node_kind}() goes over a list, not {source}",
                    node_kind=node.kind, source=source), node.source,
                       hint=null_hint(source))
            item = ERROR
        self.locals.append({node.var: item})
        try:
            body = self.infer(node.body)
        finally:
            self.locals.pop()
        if node.kind in ("any", "all", "count", "filter"):
            if body not in (BOOL, ERROR):
                self.error("type.condition", msg(
                        "the condition in {node_kind}() must be true or false, not {body}",
                        node_kind=node.kind, body=body),
                           node.body, hint=null_hint(body))
            return {"any": BOOL, "all": BOOL, "count": INT}.get(node.kind, source if source != ERROR else ERROR)
        if not is_numeric(body):  # sum
            self.error("type.arithmetic", msg("sum() adds numbers, not {body}", body=body), node.body,
                       hint=null_hint(body))
            return ERROR
        return body if body != NEVER else INT


_RULES: dict[type, Callable[..., Type]] = {
    Literal: Inference.literal, Name: Inference.name, Attr: Inference.attr, Index: Inference.index,
    Call: Inference.call, Unary: Inference.unary, Binary: Inference.binary, If: Inference.if_,
    ListLit: Inference.list_, Comprehension: Inference.comprehension,
}

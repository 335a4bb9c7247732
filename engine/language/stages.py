"""The policy-level rules of checking, as a list of named stages run in order (as OPA's compiler runs its).

Each stage reads the linked policy and adds to its `Checked`: the policies it uses are checked first so their
exports have types, names are vetted before anything reads them, every definition is typed in file order,
then every rule, output, note, input check and the decision, the exports, and last the cost of the whole.
`coverage` is the one rule of a policy *file* rather than a linked policy: every clause encoded somewhere.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core.currencies import minor_units
from engine.core.diagnostics import Diagnostic, cited
from engine.core.i18n import msg
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.language.builtins import BUILTINS, DECISION_DATE
from engine.language.checked import Checked, Reporter
from engine.language.cost import CostModel
from engine.language.infer import Inference, null_hint
from engine.language.syntax import KEYWORDS, Attr, Binary, Call, Expr, Index, Name, children, deceptive_name, is_name
from engine.language.types import BOOL, ERROR, FunctionType, Namespace, Record, TableType, Type, is_numeric

if TYPE_CHECKING:
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Expression


@dataclass
class Context:
    """What every stage works with."""

    linked: Linked
    result: Checked
    report: Reporter
    infer: Inference
    check_used: Callable[[Linked], Checked]  # checks a policy this one uses (each once)

    def condition(self, expression: Expression, what: str) -> None:
        t = self.infer.top(expression)
        if t not in (BOOL, ERROR):
            self.report.error("type.condition", msg(
                    "{what} must be true or false, but this is {t}",
                    what=what, t=t), expression.tree,
                              expression=expression, hint=null_hint(t))


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Context], None]


def run_stages(context: Context) -> None:
    for stage in STAGES:
        stage.run(context)
    context.report.clause = None


# -- the stages, in the order they run ------------------------------------------------------------------


def _uses(c: Context) -> None:
    for alias, target in c.linked.aliases.items():
        c.result.aliases[alias] = c.check_used(target)


def _names(c: Context) -> None:
    facts = {f.name for f in c.infer.facts.fields} if c.infer.facts else set()
    for definition in c.linked.definitions.values():
        for p in definition.params:
            if not is_name(p.name):
                c.report.at("name.reserved", msg("parameter {param} of {definition} cannot be used as a name: {why}",
                                                 param=repr(p.name), definition=repr(definition.name),
                                                 why=_why_not_a_name(p.name)), definition.location)
    owners: dict = {}
    for kind, names in ((msg("fact"), facts), (msg("alias"), c.linked.aliases), (msg("table"), c.linked.tables),
                        (msg("definition"), c.linked.definitions)):
        for name in names:
            if not is_name(name):
                c.report.at("name.reserved", msg("{kind} {name} cannot be used in expressions: {why}", kind=kind,
                                                 name=repr(name), why=_why_not_a_name(name)),
                            _location_of(c.linked, kind, name))
            elif name == DECISION_DATE or name in BUILTINS:
                c.report.at("name.reserved", msg(
                        "{kind} {name} takes a name the language reserves",
                        kind=kind, name=repr(name)),
                            _location_of(c.linked, kind, name))
            elif name in owners:
                c.report.at("name.conflict", msg(
                        "{kind} {name} has the same name as a {owners_name}",
                        kind=kind, name=repr(name), owners_name=owners[name]),
                            _location_of(c.linked, kind, name))
            else:
                owners[name] = kind


def _location_of(linked: Linked, kind: str, name: str):
    item = (linked.tables.get(name) if kind == "table"
            else linked.definitions.get(name) if kind == "definition" else None)
    if item is not None:
        return item.location
    return linked.version.location("uses", name) if kind == "alias" else linked.version.location("input")


def _why_not_a_name(name: str) -> str:
    if name in KEYWORDS:
        return msg("it is a word of the language")
    normal = unicodedata.normalize("NFC", name)
    if normal != name and is_name(normal):  # pasted in decomposed form: looks the same, reads differently
        return msg("its characters are not in Unicode NFC form (retype it, or write {name})", name=repr(normal))
    deceptive = deceptive_name(normal)
    if deceptive is not None:  # Trojan Source (issue 18)
        return deceptive
    return msg("it is not a name")


def _definitions(c: Context) -> None:
    for name in c.linked.definitions:
        c.infer.definition_type(name)


def _rules(c: Context) -> None:
    for rule in c.linked.rules:
        c.report.clause = cited(rule.clauses)
        if rule.when is not None:
            c.condition(rule.when, msg("the rule's `when`"))
        c.condition(rule.require, msg("the rule's `require`"))


def _outputs(c: Context) -> None:
    for output in c.linked.outputs.values():
        c.report.clause = cited(output.clauses)
        if output.when is not None:
            c.condition(output.when, msg("the output's `when`"))
        t = c.infer.top(output.expr)
        if isinstance(t, (FunctionType, TableType, Namespace)):
            c.report.error("type.output", msg("an output must be a value, not {t}", t=t), output.expr.tree,
                           expression=output.expr)


def _notes(c: Context) -> None:
    for note in c.linked.notes:
        c.report.clause = cited(note.clauses)
        if note.when is not None:
            c.condition(note.when, msg("the note's `when`"))


def _checks(c: Context) -> None:
    c.report.clause = None
    for chk in c.linked.checks:
        _fact_path(c, chk)
        if chk.when is not None:
            c.condition(chk.when, msg("the check's `when`"))
        c.condition(chk.require, msg("the check's `require`"))


def _fact_path(c: Context, chk) -> None:
    if c.linked.facts_unknown:
        return
    t: Type | None = c.infer.facts
    parts = chk.fact.split(".")
    where = chk.fact_location or chk.location
    for depth, part in enumerate(parts):
        f = t.field(part) if isinstance(t, Record) else None
        if f is None:
            close = close_matches(part, [x.name for x in t.fields], n=1) if isinstance(t, Record) else []
            meant = ".".join(parts[:depth] + close + parts[depth + 1:]) if close else None
            c.report.at("name.unknown", msg(
                    "input check {chk_id} names fact {chk_fact}, which the input schema does not have",
                    chk_id=repr(chk.id), chk_fact=repr(chk.fact)), where,
                    hint=msg("did you mean {name}?", name=repr(meant)) if meant else None,
                    source_line=next((v.document.line_text(where.line) for v in c.linked.versions
                                      if v.file == where.file and v.document), None))
            return
        t = f.type


def _decision(c: Context) -> None:
    decision = c.linked.decision
    if decision is None:
        return
    c.report.clause = cited(decision.clauses)
    t = c.infer.top(decision.expr)
    if not is_numeric(t):
        c.report.error("type.amount", msg(
                "the decision amount must be a number, not {t}",
                t=t), decision.expr.tree,
                       expression=decision.expr)
        return
    tree = decision.expr.tree
    division = _unrounded_division(c.linked.definitions, tree) if tree is not None else None
    if division is not None:
        c.report.error("amount.unrounded", msg(
                "the decision amount divides without rounding: for some claims it would have more decimal places "
                "than money has (such as 733.3333333333333333333333333)"), division, severity="warning",
                       expression=decision.expr,
                       hint=msg("round it to the unit it is paid in: round(…, 2) to hundredths, floor(…) to whole "
                                "units"))
    if tree is not None:
        _finer_than_money(c, tree, decision.currency)


def _finer_than_money(c: Context, tree: Expr, currency: str) -> None:
    """A warning at a cell of a table column the amount reads (outside round() and floor()) that has more decimal
    places than the currency is paid in: 2200.555 is a typing error that would be granted as written."""
    places = minor_units(currency)
    found = _amount_columns(c.linked, tree, "")
    for shown_name, column in sorted(found):
        table = found[shown_name, column]
        finer = [(key, row[column]) for key, row in table.rows.items()
                 if isinstance(row.get(column), Decimal) and _places(row[column]) > places]
        if not finer:
            continue
        key, value = finer[0]
        where, line = table.cell_place(key, column)
        c.report.result.diagnostics.append(Diagnostic("amount.precision", msg(
            "the amount reads {table}.{column}, whose row {row} is {value}: more decimal places than {currency} is "
            "paid in ({places}){more}", table=shown_name, column=column, row="[" + ", ".join(map(str, key)) + "]",
            value=str(value), currency=currency, places=places,
            more=msg(" (and {count} more row(s))", count=len(finer) - 1) if len(finer) > 1 else ""), where,
            severity="warning", source_line=line, clause=cited(table.clauses),
            hint=msg("check the amount against the notice; if the amount is rounded when paid, write "
                     "round(…, {places})", places=places)))


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _amount_columns(scope, tree: Expr, prefix: str, seen: frozenset = frozenset()) -> dict:
    """{(shown table name, column): table} of every `TABLE[...].COLUMN` the amount reads outside round() and floor(),
    through the definitions it names, its own or those of a policy it uses (`alias.table[...]`, `alias.f(...)`);
    `scope` is the linked policy the names of `tree` are of, `prefix` how the amount's policy names it."""
    found: dict = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Call) and isinstance(node.func, Name) and node.func.name in _ROUNDING:
            continue
        if isinstance(node, Attr) and isinstance(node.obj, Index):
            table = node.obj.obj
            if isinstance(table, Name) and table.name in scope.tables:
                found[prefix + table.name, node.name] = scope.tables[table.name]
            elif isinstance(table, Attr) and isinstance(table.obj, Name) and table.obj.name in scope.aliases:
                used = scope.aliases[table.obj.name]
                if table.name in used.tables:
                    found[f"{prefix}{table.obj.name}.{table.name}", node.name] = used.tables[table.name]
        named = node.func if isinstance(node, Call) else node
        if isinstance(named, Attr) and isinstance(named.obj, Name) and named.obj.name in scope.aliases:
            used = scope.aliases[named.obj.name]  # a definition (or function) of a policy it uses, in that policy
            if named.name in used.definitions and (id(used), named.name) not in seen:
                body = used.definitions[named.name].expr.tree
                if body is not None:
                    found |= _amount_columns(used, body, f"{prefix}{named.obj.name}.", seen | {(id(used), named.name)})
        if isinstance(node, Name) and node.name in scope.definitions and (id(scope), node.name) not in seen:
            body = scope.definitions[node.name].expr.tree
            if body is not None:
                found |= _amount_columns(scope, body, prefix, seen | {(id(scope), node.name)})
        stack.extend(children(node))
    return found


_ROUNDING = frozenset(("round", "floor"))  # what makes a quotient a sum of money again


def _unrounded_division(definitions: dict, tree: Expr, seen: frozenset = frozenset()) -> Expr | None:
    """The node of this expression through which it divides outside round() and floor(): the `/` itself, or the
    name of a definition (itself, or one it names) that divides so."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Call) and isinstance(node.func, Name) and node.func.name in _ROUNDING:
            continue
        if isinstance(node, Binary) and node.op == "/":
            return node
        if isinstance(node, Name) and node.name in definitions and node.name not in seen:
            body = definitions[node.name].expr.tree
            if body is not None and _unrounded_division(definitions, body, seen | {node.name}) is not None:
                return node
        stack.extend(reversed(children(node)))
    return None


def _exports(c: Context) -> None:
    for name in c.linked.exports:
        if name not in c.linked.definitions and name not in c.linked.tables:
            lister = next((v for v in c.linked.chain if name in v.exports), c.linked.version)
            c.report.at("export.unknown", msg(
                    "exports {name}, which is neither a definition nor a table",
                    name=repr(name)),
                        lister.location("exports"))


def _cost(c: Context) -> None:
    model = CostModel(c.result, c.report)
    everything = []  # computed once per claim at most: what the policy as a whole may cost
    for definition in c.linked.definitions.values():
        c.report.clause = cited(definition.clauses)
        model.check(definition.expr)
        if not definition.params:  # a function's cost is counted where it is called
            everything.append((definition.expr, cited(definition.clauses)))
    for _, expression, clause in per_claim_expressions(c.linked):
        c.report.clause = clause
        model.check(expression)
        everything.append((expression, clause))
    if not any(d.severity == "error" and d.code == "cost.too_high" for d in c.result.diagnostics):
        model.check_policy(everything)


STAGES = (
    Stage("uses", _uses),
    Stage("names", _names),
    Stage("definitions", _definitions),
    Stage("rules", _rules),
    Stage("outputs", _outputs),
    Stage("notes", _notes),
    Stage("checks", _checks),
    Stage("decision", _decision),
    Stage("exports", _exports),
    Stage("cost", _cost),
)


def per_claim_expressions(linked: Linked) -> Iterator[tuple[str, Expression, str | None]]:
    """(what it is, expression, clauses) of every expression one claim may run, definitions aside (they run
    when these read them)."""
    for chk in linked.checks:
        if chk.when is not None:
            yield msg("input check {name}", name=chk.id), chk.when, None
        yield msg("input check {name}", name=chk.id), chk.require, None
    for rule in linked.rules:
        if rule.when is not None:
            yield f"rule {rule.id}", rule.when, cited(rule.clauses)
        yield f"rule {rule.id}", rule.require, cited(rule.clauses)
    for output in linked.outputs.values():
        if output.when is not None:
            yield f"output {output.name}", output.when, cited(output.clauses)
        yield f"output {output.name}", output.expr, cited(output.clauses)
    for note in linked.notes:
        if note.when is not None:
            yield f"note {note.id}", note.when, cited(note.clauses)
    if linked.decision is not None:
        yield msg("the decision amount"), linked.decision.expr, cited(linked.decision.clauses)


# -- a rule of one policy file ----------------------------------------------------------------------------


def coverage(version) -> list[Diagnostic]:
    """Every clause of the source must be encoded somewhere or recorded as not computable."""
    cited_ids: set = set()
    # Read the citations off the file's data, so that a table dropped for a bad cell is not also "uncovered".
    stack = [version.content]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            clause = item.get("clause")
            if isinstance(clause, str):
                cited_ids.add(clause)
            elif isinstance(clause, list):
                cited_ids.update(c for c in clause if isinstance(c, str))
            stack.extend(v for k, v in item.items() if k not in ("source", "notes") and isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))  # a table's cells are not walked one by one
    out = []
    own = getattr(version, "own_clauses", None)  # an amendment covers its own clauses; the rest were covered before
    clauses = own if own is not None else version.clauses
    # a citation of no clause (reported as clause.unknown) close to an uncovered one is most likely it, mistyped
    miscited = [c for c in cited_ids if c not in clauses and c not in version.clauses]
    for cid in clauses:
        if cid in cited_ids or any(c.startswith(cid + ".") for c in cited_ids):
            continue
        where = version.location("source", "clauses", cid)
        close = close_matches(cid, miscited, n=1, cutoff=0.5)
        out.append(Diagnostic("clause.uncovered", msg("clause {clause} is neither encoded by a rule, table, "
                                                      "definition, output or the decision nor listed under "
                                                      "not_computable (a note explains, it does not encode)",
                                                      clause=repr(cid)), where, clause=cid,
                              source_line=version.document.line_text(where.line) if version.document else None,
                              hint=msg("is it the clause cited as {written}, which is no clause of the source?",
                                       written=repr(close[0])) if close else None))
    return out

"""Cost: a worst-case count of the steps an expression takes for one claim, so that none can run away.

Its own pass over the checked trees (as cel-go's checker/cost.go), after inference: it reads only what
inference resolved and typed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.language.checked import Checked, Reporter, Resolved
from engine.language.syntax import Attr, Binary, Call, Comprehension, Expr, If, ListLit, Name, children, to_source
from engine.language.types import ListOf

if TYPE_CHECKING:
    from engine.policies.policyfile import Definition, Expression


class CostModel:
    def __init__(self, result: Checked, report: Reporter):
        self.result = result
        self.linked = result.linked
        self.report = report
        self.assumed: dict = {}
        self.sizes: dict = {}
        self.bounds: dict = {}  # definition name -> (its list's bound, the assumed lists it named): each found once
        self.shallow = False  # count a definition read by name as one step (it is computed once per claim)

    def check(self, expression: Expression) -> None:
        """Report `expression` when its worst case is over the limit, naming the lists whose size was assumed."""
        if expression.tree is None:
            return
        self.assumed = {}  # text of a list of unknown size -> where it is held
        self.sizes = {}  # text of each list looped over -> the most items it may hold
        steps = self.cost(expression.tree)
        if steps > LIMITS.evaluation_cost:
            self.report.error("cost.too_high", msg(
                    "this expression may take up to {steps} steps for one claim, over the limit of "
                    "{LIMITS_evaluation_cost}",
                    steps=format(steps, ','),
                    LIMITS_evaluation_cost=format(LIMITS.evaluation_cost, ',')), expression.tree, expression=expression,
                              hint=self._hint())

    def check_policy(self, expressions: list) -> None:
        """The policy as a whole: every definition is computed at most once per claim, and every rule, output,
        note, input check and the amount once, so one claim costs at most the sum of their own steps. Many
        expressions each cheap enough on its own may still add up past POLICY_LIMIT_POLICY_COST (issue 18)."""
        self.shallow = True
        try:
            costs = [(self.cost(e.tree), e, clause) for e, clause in expressions if e.tree is not None]
        finally:
            self.shallow = False
        total = sum(steps for steps, _, _ in costs)
        if total <= LIMITS.policy_cost or not costs:
            return
        steps, expression, clause = max(costs, key=lambda item: item[0])
        self.report.clause = clause
        self.report.error("cost.too_high", msg(
            "the definitions, rules, outputs, notes and checks of this policy together may take up to {total} steps "
            "for one claim, over the limit of {limit} for a policy; the costliest is this one ({steps} steps)",
            total=format(total, ","), limit=format(LIMITS.policy_cost, ","), steps=format(steps, ",")),
            expression.tree, expression=expression,
            hint=msg("{count} expressions add up: loop over shorter lists, or compute a count once in a definition and "
                     "read it by name", count=len(costs)))

    def _hint(self):
        assumed = format(LIMITS.list_items_assumed, ',')
        sizes = ", ".join(f"{text} ({format(n, ',')})" for text, n in self.sizes.items())
        if not self.sizes:  # no comprehension walked a list: the steps are items copied by joining lists
            return msg("joining lists with + copies every item, so a list joined with itself in each definition "
                       "doubles each time; build it with fewer joins, or from a list whose size is known")
        if not self.assumed:
            return msg("a comprehension inside a comprehension multiplies the sizes of its lists: {sizes}; "
                       "restructure, or loop over a shorter list", sizes=sizes)
        named = "; ".join(self.assumed.values())
        return msg("a comprehension inside a comprehension multiplies the sizes of its lists: {sizes}; no size is "
                   "known for {named}, so it is assumed to hold {assumed} items: give the fact a maxItems in the "
                   "input schema, or build the list from one whose size is known", sizes=sizes, named=named,
                   assumed=assumed)

    def _size(self, node: Expr) -> int:
        n = self.bound(node)
        self.sizes.setdefault(to_source(node), n)
        return n

    def bound(self, node: Expr, _seen: frozenset = frozenset()) -> int:
        """The most items the list `node` can hold: a literal's length, a schema's maxItems, through definitions,
        `+`, `??`, `if`, filters and list functions; else the assumed size (remembered for the message)."""
        t = self.result.types.get(id(node))
        if isinstance(node, ListLit):
            return len(node.items)
        if isinstance(t, ListOf) and t.bound is not None:
            return t.bound
        if isinstance(node, (Name, Attr)):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "definition":
                definition = cast("Definition", r.target)
                tree = definition.expr.tree
                if tree is not None and definition.name not in _seen and not definition.params:
                    model = self._model_of(r)
                    if model is not None:
                        # once per definition: a chain of definitions each doubling the last (d2: d1 + d1) would
                        # otherwise be walked 2^n times (issue 18)
                        if definition.name not in model.bounds:
                            before = dict(model.assumed)
                            found = model.bound(tree, _seen | {definition.name})
                            model.bounds[definition.name] = (found, {k: v for k, v in model.assumed.items()
                                                                     if k not in before})
                        found, named = model.bounds[definition.name]
                        self.assumed.update(named)
                        return found
        if isinstance(node, Binary) and node.op == "+":
            return self.bound(node.left, _seen) + self.bound(node.right, _seen)
        if isinstance(node, Binary) and node.op == "??":
            return max(self.bound(node.left, _seen), self.bound(node.right, _seen))
        if isinstance(node, If):
            return max(self.bound(node.then, _seen), self.bound(node.orelse, _seen))
        if isinstance(node, Comprehension) and node.kind == "filter":
            return self.bound(node.source, _seen)
        if isinstance(node, Call) and node.args:
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "builtin" and isinstance(self.result.types.get(id(node.args[0])), ListOf) \
                    and isinstance(t, ListOf):
                return self.bound(node.args[0], _seen)  # distinct, sort, ...: no more items than their list
        text = to_source(node)
        if isinstance(node, (Name, Attr)) and self.result.resolved.get(id(node)) is not None \
                and self.result.resolved[id(node)].kind == "definition":
            self.assumed.setdefault(text, msg("the list of definition {name}", name=text))
        else:
            self.assumed.setdefault(text, msg("the list {text}", text=text))
        return LIMITS.list_items_assumed

    def _model_of(self, r: Resolved) -> CostModel | None:
        """The cost model of the policy that defines what `r` resolved to (this one, or one it uses)."""
        if r.linked is None or r.linked is self.linked:
            return self
        for alias, target in self.linked.aliases.items():
            if target is r.linked and alias in self.result.aliases:
                model = CostModel(self.result.aliases[alias], self.report)
                model.assumed = {}
                return model
        return None

    def cost(self, node: Expr) -> int:
        own = 1
        if isinstance(node, Comprehension):
            return own + self.cost(node.source) + self._size(node.source) * (1 + self.cost(node.body))
        if isinstance(node, Name):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "definition":
                return own + (0 if self.shallow else self._definition_cost(r))
            return own
        if isinstance(node, Attr):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "definition":
                return own + (0 if self.shallow else self._definition_cost(r))
        if isinstance(node, Call):
            r = self.result.resolved.get(id(node))
            extra = 0
            if r is not None and r.kind == "function":
                extra = self._definition_cost(r)
            elif r is not None and r.kind == "builtin" and node.args and isinstance(
                    self.result.types.get(id(node.args[0])), ListOf):
                extra = self._size(node.args[0])
            return own + extra + sum(self.cost(a) for a in node.args)
        if isinstance(node, Binary) and node.op == "+" and isinstance(self.result.types.get(id(node)), ListOf):
            own += self.bound(node)  # joining lists copies every item: a list doubled in each definition is costly
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            r = self.result.resolved.get(id(node))
            if r is not None and r.kind == "list_member":
                own += self._size(node.right)
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

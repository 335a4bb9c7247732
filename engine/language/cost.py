"""Cost: a worst-case count of the steps an expression takes for one claim, so that none can run away.

Its own pass over the checked trees (as cel-go's checker/cost.go), after inference: it reads only what
inference resolved and typed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.language.checked import Checked, Reporter, Resolved
from engine.language.syntax import Attr, Binary, Call, Comprehension, Expr, ListLit, Name, children
from engine.language.types import ListOf

if TYPE_CHECKING:
    from engine.policies.policyfile import Definition, Expression


class CostModel:
    def __init__(self, result: Checked, report: Reporter):
        self.result = result
        self.linked = result.linked
        self.report = report

    def check(self, expression: Expression) -> None:
        """Report `expression` when its worst case is over the limit."""
        if expression.tree is None:
            return
        steps = self.cost(expression.tree)
        if steps > LIMITS.evaluation_cost:
            self.report.error("cost.too_high", msg(
                    "this expression may take up to {steps} steps for one claim, over the limit of "
                    "{LIMITS_evaluation_cost}",
                    steps=format(steps, ','),
                    LIMITS_evaluation_cost=format(LIMITS.evaluation_cost, ',')), expression.tree, expression=expression,
                              hint=msg(
                                      "a comprehension inside a comprehension multiplies; give the lists a maxItems in "
                                      "the input schema, or restructure"))

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

"""Check stage: resolve every name against the policy's namespace, infer and check every type, bound the cost.

Runs before any claim is seen. The work is split at its seams: `stages.py` lists the policy-level stages in
the order they run, `infer.py` types each kind of node, `cost.py` bounds what one claim may cost, and
`spelling.py` suggests names. The result (`Checked`, in `checked.py`) tells the compiler what every name
and call resolved to.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.core.diagnostics import Diagnostic
from engine.language.checked import Checked, Reporter, Resolved
from engine.language.cost import CostModel
from engine.language.infer import Inference
from engine.language.stages import Context, coverage, run_stages
from engine.language.types import Type

if TYPE_CHECKING:  # the policy layer sits above the language: its types are named, never imported
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Expression

__all__ = ["Checked", "Resolved", "check", "check_expression", "coverage"]


def check(linked: Linked, _cache: dict | None = None) -> Checked:
    """Check a linked policy (and, once each, the policies it uses)."""
    cache = _cache if _cache is not None else {}
    if id(linked) in cache:
        return cache[id(linked)]
    result = cache[id(linked)] = Checked(linked)
    report = Reporter(result)
    run_stages(Context(linked, result, report, Inference(linked, result, report), lambda used: check(used, cache)))
    result.diagnostics.sort(key=Diagnostic.sort_key)  # in file order, whichever stage found each
    return result


def check_expression(checked: Checked, expression: Expression) -> tuple[Checked, Type, list[Diagnostic]]:
    """Check one more expression in an already checked policy's namespace (for `policy eval` and the editor).
    Returns a copy of `checked` that also resolves the expression (for the compiler), its type, and its own
    diagnostics; `checked` itself is left as it was."""
    copy = Checked(checked.linked, resolved=dict(checked.resolved), types=dict(checked.types),
                   definition_types=checked.definition_types, reads_facts=checked.reads_facts,
                   aliases=checked.aliases, definition_costs=checked.definition_costs)
    report = Reporter(copy)
    t = Inference(checked.linked, copy, report).top(expression)
    CostModel(copy, report).check(expression)
    return copy, t, copy.diagnostics

"""What checking a linked policy produces (`Checked`, read by the compiler), and the one way it reports."""
from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from engine.core.diagnostics import Diagnostic
from engine.core.records import dataclass

if TYPE_CHECKING:  # the policy layer sits above the language: its types are named, never imported
    from engine.language.builtins import Builtin
    from engine.language.syntax import Expr
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Definition, Expression, Table


@dataclass
class Resolved:
    """What a name, attribute, call or membership test means, for the compiler."""

    # local | definition | function | table | fact | decision_date | alias | builtin | table_member | list_member | has
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
    definition_costs: dict = field(default_factory=dict)  # name -> worst-case steps (engine/language/cost.py)
    policy_cost: int = 0  # worst-case steps of everything one claim runs (cost.py, `PolicyCost`)
    diagnostics: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


class Reporter:
    """Adds diagnostics to a `Checked`: at a node of the expression being read, or at a place in a file.
    `expression` and `clause` say where checking is; each pass sets them as it goes."""

    def __init__(self, result: Checked):
        self.result = result
        self.expression: Expression | None = None
        self.clause: str | None = None

    def error(self, code: str, message: str, node: Expr | None, hint: str | None = None, severity: str = "error",
              expression: Expression | None = None) -> None:
        expression = expression or self.expression
        assert expression is not None  # every error is about the expression being checked
        source = expression.source
        offset = node.span[0] if node is not None else 0
        self.result.diagnostics.append(source.diagnostic(code, message, offset, hint=hint, clause=self.clause,
                                                         severity=severity))

    def at(self, code: str, message: str, location, severity: str = "error", hint: str | None = None,
           source_line: str | None = None) -> None:
        self.result.diagnostics.append(Diagnostic(code, message, location, severity=severity, hint=hint,
                                                  source_line=source_line))

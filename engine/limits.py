"""Every bound on what reading and evaluating may cost, in one place (docs/security.md).

Each can be changed with an environment variable POLICY_LIMIT_<NAME> (e.g. POLICY_LIMIT_CLAIM_LINE_BYTES).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace


class LimitsError(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    policy_file_bytes: int = 4 * 1024 * 1024  # one policy or cases file
    policy_nodes: int = 200_000  # values in one policy file, aliases counted each time they expand
    policy_depth: int = 64  # nesting in one policy file
    claim_file_bytes: int = 64 * 1024 * 1024  # one YAML or JSON claim file (JSON Lines are read line by line)
    claim_line_bytes: int = 1024 * 1024  # one JSON Lines claim
    claim_nodes: int = 2_000_000
    claim_depth: int = 32
    expression_length: int = 20_000  # characters in one expression
    expression_depth: int = 64  # nesting of operators and brackets
    expression_nodes: int = 4_000  # syntax-tree nodes in one expression
    number_digits: int = 40  # digits in one numeric literal
    definition_depth: int = 32  # definitions that use definitions that use ... (each one level)
    evaluation_cost: int = 50_000_000  # static worst-case steps of one expression (see checker)
    list_items_assumed: int = 100_000  # worst-case length of a list whose schema sets no maxItems


def from_environment(environ=os.environ) -> Limits:
    changes = {}
    for f in fields(Limits):
        name = f"POLICY_LIMIT_{f.name.upper()}"
        if name in environ:
            text = environ[name]
            if not text.isdigit() or int(text) <= 0:
                raise LimitsError(f"{name} must be a positive whole number, not {text!r}")
            changes[f.name] = int(text)
    return replace(Limits(), **changes)


try:
    LIMITS = from_environment()
    LIMITS_ERROR: str | None = None
except LimitsError as _exc:  # reported by the command line before it does anything
    LIMITS, LIMITS_ERROR = Limits(), str(_exc)

"""Every bound on what reading and evaluating may cost, in one place (docs/security.md).

Each can be changed with an environment variable POLICY_LIMIT_<NAME> (e.g. POLICY_LIMIT_CLAIM_LINE_BYTES), up to
a maximum the engine can honour: beyond it reading or recursion would fail before the limit was reached, or
memory would run out first.
"""
from __future__ import annotations

import os
import re
from dataclasses import field, fields, replace

from engine.core.i18n import msg
from engine.core.records import dataclass


class LimitsError(ValueError):
    pass


def _limit(default: int, maximum: int):
    return field(default=default, metadata={"maximum": maximum})


MiB = 1024 * 1024
# Checking and evaluating recurse through an expression and through every definition it builds on, up to
# 4 Python frames a level; Engine allows 20,000 frames. So expression_depth × (definition_depth + 1) is bounded.
NESTING_LEVELS = 4_000


@dataclass(frozen=True)
class Limits:
    policy_file_bytes: int = _limit(4 * MiB, 64 * MiB)  # one policy or cases file
    policy_nodes: int = _limit(200_000, 2_000_000)  # values in one policy file, aliases counted each time they expand
    policy_depth: int = _limit(64, 256)  # nesting in one policy file (PyYAML recurses: ~300 is its end)
    claim_file_bytes: int = _limit(64 * MiB, 1024 * MiB)  # one YAML or JSON claim file (JSON Lines: line by line)
    claim_line_bytes: int = _limit(1 * MiB, 64 * MiB)  # one JSON Lines claim
    claim_nodes: int = _limit(2_000_000, 20_000_000)
    claim_depth: int = _limit(32, 200)  # the claim validator stops at about 255 levels
    expression_length: int = _limit(20_000, 200_000)  # characters in one expression
    expression_depth: int = _limit(64, 2_000)  # height of an expression's syntax tree (see NESTING_LEVELS)
    expression_nodes: int = _limit(4_000, 100_000)  # syntax-tree nodes in one expression
    number_digits: int = _limit(40, 4_000)  # digits in one numeric literal (Python converts at most 4,300)
    definition_depth: int = _limit(32, 256)  # definitions that use definitions that use ... (each one level)
    evaluation_cost: int = _limit(50_000_000, 10 ** 12)  # static worst-case steps of one expression (see checker)
    policy_cost: int = _limit(100_000_000, 10 ** 13)  # the same, summed over every expression of one policy
    list_items_assumed: int = _limit(100_000, 10 ** 9)  # worst-case length of a list whose schema sets no maxItems


def from_environment(environ=os.environ) -> Limits:
    changes = {}
    for f in fields(Limits):
        name = f"POLICY_LIMIT_{f.name.upper()}"
        if name in environ:
            changes[f.name] = _read(name, environ[name], f.metadata["maximum"])
    limits = replace(Limits(), **changes)
    if limits.expression_depth * (limits.definition_depth + 1) > NESTING_LEVELS:
        raise LimitsError(msg(
            "POLICY_LIMIT_EXPRESSION_DEPTH × (POLICY_LIMIT_DEFINITION_DEPTH + 1) can be at most {most}, not {depth} × "
            "({definitions} + 1): checking and evaluating recurse through an expression and every definition it "
            "builds on", most=f"{NESTING_LEVELS:,}", depth=limits.expression_depth,
            definitions=limits.definition_depth))
    return limits


def _read(name: str, text: str, most: int) -> int:
    # ASCII digits only: int() would also take '١٠' (Arabic-Indic) and fail on '²'.
    if not re.fullmatch(r"[0-9]+", text) or not text.strip("0"):
        raise LimitsError(msg("{name} must be a positive whole number, not {text}", name=name, text=repr(text)))
    digits = text.lstrip("0")
    if len(digits) > len(str(most)) or int(digits) > most:
        shown = text if len(text) <= 24 else text[:24] + "…"
        raise LimitsError(msg("{name} can be at most {most} (the most the engine can honour), not {shown}", name=name,
                              most=f"{most:,}", shown=shown))
    return int(digits)


class _InForce:
    """The limits in force: each attribute is the one of the Limits last read from the environment (by `refresh`,
    which the command line calls at the start of every run), so that a run in a process that ran commands before
    (the tests, which run `policy` in their own process) reads its POLICY_LIMIT_* variables as a new process would.
    The values are the instance's own attributes, copied by `refresh`: reading one costs what reading a Limits'
    does (the YAML reader and the parser read them per node)."""

    def __repr__(self) -> str:
        return repr(_read_last)


def refresh(environ=os.environ) -> str | None:
    """Read the limits from the environment again; the message of a wrong variable (the built-in limits are then
    in force), or None."""
    global _read_last, LIMITS_ERROR
    try:
        _read_last, LIMITS_ERROR = from_environment(environ), None
    except LimitsError as exc:  # reported by the command line before it does anything, in the language it chose
        _read_last, LIMITS_ERROR = Limits(), exc.args[0]
    vars(LIMITS).update({f.name: getattr(_read_last, f.name) for f in fields(Limits)})
    return LIMITS_ERROR


_read_last = Limits()
LIMITS_ERROR: str | None = None
LIMITS: Limits = _InForce()  # type: ignore[assignment]  # every attribute of a Limits
refresh()

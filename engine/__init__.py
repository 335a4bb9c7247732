"""policy-engine: versioned policies as data, claims decided and explained clause by clause.

The public API is what docs/api.md documents, importable from here (`from engine import Engine`).
Each name is imported on first use, so `import engine` stays cheap for a command that needs little.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# name -> the module that defines it
_EXPORTS = {
    "Engine": "engine.api",
    "Evaluator": "engine.api",
    "Selection": "engine.api",
    "PolicyNotFound": "engine.api",
    "PolicyNotInForce": "engine.api",
    "PolicyInvalid": "engine.api",
    "LinkError": "engine.policies.linker",
    "Decision": "engine.decide.results",
    "RuleResult": "engine.decide.results",
    "Problem": "engine.decide.results",
    "PolicyStamp": "engine.decide.results",
    "ClaimError": "engine.decide.results",
    "explain": "engine.decide.explain",
    "RawClaim": "engine.claims.reader",
    "ClaimReader": "engine.claims.reader",
    "read_claims": "engine.claims.reader",
    "Diagnostic": "engine.core.diagnostics",
    "Location": "engine.core.diagnostics",
}

__all__ = [
    "ClaimError",
    "ClaimReader",
    "Decision",
    "Diagnostic",
    "Engine",
    "Evaluator",
    "LinkError",
    "Location",
    "PolicyInvalid",
    "PolicyNotFound",
    "PolicyNotInForce",
    "PolicyStamp",
    "Problem",
    "RawClaim",
    "RuleResult",
    "Selection",
    "explain",
    "read_claims",
]

if TYPE_CHECKING:
    from engine.api import Engine, Evaluator, PolicyInvalid, PolicyNotFound, PolicyNotInForce, Selection
    from engine.claims.reader import ClaimReader, RawClaim, read_claims
    from engine.core.diagnostics import Diagnostic, Location
    from engine.decide.explain import explain
    from engine.decide.results import ClaimError, Decision, PolicyStamp, Problem, RuleResult
    from engine.policies.linker import LinkError


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

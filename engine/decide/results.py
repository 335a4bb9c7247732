"""What a decision is: decisions, rule outcomes, errors in a claim's place, and their JSON forms.

Every later stage (claims, batch, explanation, audit, service) reads these; they import nothing of the
engine but the compiler's marker for a value that is absent.
"""
from __future__ import annotations

import json
from collections import deque
from dataclasses import field
from datetime import date
from decimal import Decimal
from itertools import starmap
from typing import Any

import orjson

from engine.core import lightimport
from engine.core.records import dataclass
from engine.language.compiler import MISSING

_AS_IS = frozenset((str, int, bool, type(None)))


def plain(value: Any) -> Any:
    """A value as JSON shows it: exact decimals and dates as strings."""
    kind = type(value)
    if kind in _AS_IS:  # the usual values, tested first, and not passed down again one by one below
        return value
    if kind is date:
        return value.isoformat()
    if kind is dict:
        return {k: v if type(v) in _AS_IS else plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _AS_IS else plain(v) for v in value]
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if value is MISSING:
        return None
    name = getattr(value, "name", None)
    return f"<{name}>" if name else str(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class RuleResult:
    """One rule's outcome for one claim. Built for every rule of every claim, so kept small: the clause,
    message and source are read from the rule itself when asked for."""

    __slots__ = ("rule", "outcome", "reads", "error", "head")

    def __init__(self, rule, outcome: str, reads: list | None = None, error: str | None = None,
                 head: dict | None = None):
        self.rule = rule
        self.outcome = outcome  # pass | fail | not_applicable | error
        self.reads = reads  # (name, value) in the order read; None when not explained
        self.error = error
        # the JSON every result of this rule and outcome starts with, when a program made it once (shared: copied,
        # never changed); json_bytes then need not look it up
        self.head = head

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def clauses(self) -> tuple:
        return self.rule.clauses

    @property
    def policy(self) -> str:
        return self.rule.owner.key

    @property
    def message(self) -> str:
        if self.outcome == "error":
            return self.error or ""
        messages = self.rule.messages
        if self.outcome == "not_applicable":
            return messages.get("not_applicable", "不适用 (not applicable)")
        return messages["pass" if self.outcome == "pass" else "fail"]

    def to_json(self, seen: dict | None = None) -> dict:
        data = self._head()
        if self.reads is not None:
            data["reads"] = reads_json(self.reads, seen)
        if self.error:
            data["error"] = self.error
        return data

    def __repr__(self) -> str:
        return f"RuleResult(id={self.id!r}, outcome={self.outcome!r}, policy={self.policy!r})"

    def __eq__(self, other: object) -> bool:
        """The same rule's result as JSON shows it: two decisions of one claim compare equal, as their JSON does."""
        if not isinstance(other, RuleResult):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # equal by value, and its reads can change: not a dict key

    def _head(self) -> dict:
        """A new dict of the id, outcome, clause, message and source."""
        if self.outcome == "error":
            return {"id": self.id, "outcome": self.outcome, "clause": ", ".join(self.clauses),
                    "message": self.message, "source": self.policy}
        # what is the same for every claim with this outcome is written once per rule and copied
        key = (id(self.rule), self.outcome)
        known = _HEADS.get(key)
        if known is None or known[0] is not self.rule:
            known = _HEADS[key] = (self.rule, {"id": self.id, "outcome": self.outcome,
                                               "clause": ", ".join(self.clauses), "message": self.message,
                                               "source": self.policy})
            if len(_HEADS) > 65_536:  # rules of programs long gone
                _HEADS.clear()
        return dict(known[1])

    def _raw_json(self) -> dict:
        """to_json() with the values read as they are, for json_bytes (orjson and _raw_default write them)."""
        data = self._head()
        if self.reads is not None:
            data["reads"] = _first_reads(self.reads)
        if self.error:
            data["error"] = self.error
        return data


_HEADS: dict = {}  # (id(rule), outcome) -> (rule, the JSON every such result starts with)
_STATIC: dict = {}  # (ids of policy, references, basis) -> (them, their JSON fragments): see Decision._static


def reads_json(reads: list, seen: dict | None = None) -> dict:
    """What was read, first value of each name, as JSON shows it. `seen` keeps the JSON of lists and records by
    identity while one decision is written: rules read the same list (a history) again and again."""
    out: dict = {}
    for name, value in reads:
        if name not in out:
            kind = type(value)
            if kind in _AS_IS:
                out[name] = value
            elif (kind is list or kind is dict) and seen is not None:
                known = seen.get(id(value))
                if known is None or known[0] is not value:
                    known = seen[id(value)] = (value, plain(value))
                out[name] = known[1]
            else:
                out[name] = plain(value)
    return out


def _first_reads(reads: list) -> dict:
    """{name: the first value read under that name}, in the order names were first read, values as they are."""
    out = dict(reads)  # when no name is read twice (most rules), the same dict, made in one call
    if len(out) != len(reads):
        out = {}
        deque(starmap(out.setdefault, reads), 0)  # setdefault keeps the first value of a name; the loop runs in C
    return out


def _raw_default(value: Any) -> Any:
    """What orjson cannot write itself (a Decimal, MISSING, ...), as plain() writes it."""
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return plain(value)


@dataclass(frozen=True)
class Problem:
    """An output or a note that could not be computed for this claim. Outputs and notes inform; they do not
    decide, so the decision stands (with a summary or without) and the problem is reported beside it."""

    kind: str  # output | note
    name: str
    code: str
    message: str

    def to_json(self) -> dict:
        return {self.kind: self.name, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class PolicyStamp:
    id: str
    version: str
    digest: str

    def to_json(self) -> dict:
        return {"id": self.id, "version": self.version, "digest": self.digest}


def combined_digest(policy: PolicyStamp, references: list, schemas: list) -> str:
    """The one digest of everything a decision used: every policy version (id, version, digest, role) and every
    input schema (name, digest). It is the sha256 of this JSON text, so an auditor can recompute it from a full
    record: {"policy":[ID,VERSION,DIGEST],"references":[[ID,VERSION,DIGEST,ROLE],...],"schemas":[[NAME,DIGEST],...]}
    with both lists sorted, no spaces, text as UTF-8."""
    data = {"policy": [policy.id, policy.version, policy.digest],
            "references": sorted([r.id, r.version, r.digest, role] for r, role in references),
            "schemas": sorted([name, digest] for name, digest in schemas)}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return "sha256:" + lightimport.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Basis:
    """What one program decides with: the root version, every other version with its role, the input schemas, and
    the combined digest of them all. Shared by every decision of the program."""

    policy: PolicyStamp
    references: tuple  # of (PolicyStamp, role)
    schemas: tuple  # of (schema file name, digest)
    combined: str

    @classmethod
    def of(cls, policy: PolicyStamp, references: list, schemas: list) -> Basis:
        # tuples: every decision of the program hands them out, and none may change them
        return cls(policy, tuple(references), tuple(schemas), combined_digest(policy, references, schemas))

    def schemas_json(self) -> list:
        return [{"name": name, "digest": digest} for name, digest in self.schemas]


@dataclass
class Decision:
    claim_id: str | None
    policy: PolicyStamp
    references: tuple  # of (PolicyStamp, role), the program's own
    decision_date: date
    eligible: bool
    amount: Decimal
    currency: str
    outputs: dict
    rules: list
    notes: list
    amount_reads: list | None = None  # what the amount expression read, when explained
    known_on: date | None = None  # the --known-on date the versions were chosen by, if any
    problems: list = field(default_factory=list)  # of Problem: outputs or notes that could not be computed
    basis: Basis | None = None  # every version and schema used, and their combined digest
    # Set when a pinned version decided on a date outside its own effective range ("what would these rules
    # say"): {"in_force": "ID@VERSION" or None} — the version in force on that date instead.
    out_of_force: dict | None = None

    @property
    def failed_rules(self) -> list[str]:
        return [r.id for r in self.rules if r.outcome == "fail"]

    def to_json(self, summary: bool = False) -> dict:
        data: dict[str, object] = {
            "claim_id": self.claim_id,
            "policy": self.policy.to_json(),
        }
        if self.basis is not None:
            data["combined_digest"] = self.basis.combined
        data |= {
            "decision_date": self.decision_date.isoformat(),
            "eligible": self.eligible,
            "amount": _decimal_text(self.amount),
            "currency": self.currency,
        }
        if self.known_on is not None:
            data["known_on"] = self.known_on.isoformat()
        if self.out_of_force is not None:
            data["out_of_force"] = self.out_of_force
        if summary:
            data["failed_rules"] = self.failed_rules
            return data
        data["references"] = [r.to_json() | {"role": role} for r, role in self.references]
        if self.basis is not None:
            data["schemas"] = self.basis.schemas_json()
        seen: dict = {}
        if self.amount_reads is not None:
            data["amount_reads"] = reads_json(self.amount_reads, seen)
        data["outputs"] = {k: plain(v) for k, v in self.outputs.items()}
        data["rules"] = [r.to_json(seen) for r in self.rules]
        data["notes"] = [dict(note) for note in self.notes]  # the caller's to change, not the decision's
        if self.problems:
            data["problems"] = [p.to_json() for p in self.problems]
        return data

    def json_bytes(self) -> bytes:
        """orjson.dumps(self.to_json()), byte for byte, made faster: the values read go to orjson as they are (it
        writes a date as plain() does, and _raw_default writes a Decimal or MISSING), and what every decision of one
        program shares (its versions, schemas and notes) is written once. Exact for every value a claim read from
        JSON or YAML text can hold (text, integers, booleans, null, dates, Decimals, lists, records): the readers
        never give a float or a tuple, which plain() would write as text. Raises TypeError where orjson cannot write
        the decision (an integer beyond 64 bits, a lone surrogate): orjson.dumps(to_json()) raises it too."""
        static = self._static()
        data: dict[str, object] = {"claim_id": self.claim_id, "policy": static[1]}
        if self.basis is not None:
            data["combined_digest"] = self.basis.combined
        data["decision_date"] = self.decision_date
        data["eligible"] = self.eligible
        data["amount"] = _decimal_text(self.amount)
        data["currency"] = self.currency
        if self.known_on is not None:
            data["known_on"] = self.known_on
        if self.out_of_force is not None:
            data["out_of_force"] = self.out_of_force
        data["references"] = static[2]
        if self.basis is not None:
            data["schemas"] = static[3]
        if self.amount_reads is not None:
            data["amount_reads"] = _first_reads(self.amount_reads)
        data["outputs"] = self.outputs
        rules: list[dict] = []
        data["rules"] = rules
        add = rules.append
        heads = _HEADS
        for r in self.rules:  # RuleResult._raw_json, inlined: a decision has a dozen rules or more
            head = r.head
            if head is None or r.error:
                known = None if r.error else heads.get((id(r.rule), r.outcome))
                if known is None or known[0] is not r.rule:
                    add(r._raw_json())
                    continue
                head = known[1]
            entry = head.copy()
            reads = r.reads
            if reads is not None:  # _first_reads, inlined
                first = dict(reads)
                if len(first) != len(reads):
                    first = {}
                    deque(starmap(first.setdefault, reads), 0)
                entry["reads"] = first
            add(entry)
        data["notes"] = self.notes
        if self.problems:
            data["problems"] = [p.to_json() for p in self.problems]
        return orjson.dumps(data, default=_raw_default)

    def _static(self) -> tuple:
        """(key objects, policy, references, schemas) as JSON fragments, shared by the decisions of one program."""
        key = (id(self.policy), id(self.references), id(self.basis))
        known = _STATIC.get(key)
        if known is None or known[0][0] is not self.policy or known[0][1] is not self.references \
                or known[0][2] is not self.basis:
            schemas = self.basis.schemas_json() if self.basis is not None else None
            known = _STATIC[key] = ((self.policy, self.references, self.basis),
                                    orjson.Fragment(orjson.dumps(self.policy.to_json())),
                                    orjson.Fragment(orjson.dumps([r.to_json() | {"role": role}
                                                                  for r, role in self.references])),
                                    orjson.Fragment(orjson.dumps(schemas)))
            if len(_STATIC) > 4096:  # programs long gone
                _STATIC.clear()
        return known


@dataclass
class ClaimError:
    """A claim that could not be decided: invalid facts, no policy in force, or a runtime problem."""

    claim_id: str | None
    code: str
    message: str
    path: str | None = None
    location: str | None = None  # file:line of the claim, where known
    policy: PolicyStamp | None = None
    decision_date: date | None = None
    details: dict = field(default_factory=dict)
    known_on: date | None = None  # the --known-on date versions were chosen by, so the error can be reproduced
    basis: Basis | None = None  # set when a program found the claim invalid or could not decide it
    out_of_force: dict | None = None  # as in Decision

    kind_by_prefix = (("claim.", "invalid"), ("policy.not_in_force", "not_in_force"), ("reference.", "not_in_force"))

    @property
    def kind(self) -> str:
        for prefix, kind in self.kind_by_prefix:
            if self.code.startswith(prefix):
                return kind
        return "undecided"

    def to_json(self, summary: bool = False) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.path:
            error["path"] = self.path
        if self.location:
            error["location"] = self.location
        error.update(self.details)
        data: dict = {"claim_id": self.claim_id}
        if self.policy:
            data["policy"] = self.policy.to_json()
        if self.basis is not None:
            data["combined_digest"] = self.basis.combined
        if self.decision_date:
            data["decision_date"] = self.decision_date.isoformat()
        if self.known_on:
            data["known_on"] = self.known_on.isoformat()
        if self.out_of_force is not None:
            data["out_of_force"] = self.out_of_force
        data["error"] = error
        return data


def stamp(version) -> PolicyStamp:
    return PolicyStamp(version.id, version.version, version.digest)

"""A policy's `ledger:` section: how its grants are recorded and read back as the fact its rules count.

The engine knows no field names. The section says which claim fact identifies the person, what a grant
record holds (each field taken from the claim or the decision), which claim fact the rules read earlier
grants from (and how each entry's fields come from a record), and whether a revoked grant still counts.
`policy check` holds every path of the section to the input schema (`ledger.field`, `ledger.history`).

    ledger:
      clause: 4.(4)
      person: {fact: applicant.id_number, missing: no identity number, nothing can be recorded}
      record: {item_code: claim.item.code, granted_on: decision.decision_date}
      history: {fact: history, fields: {item_code: item_code, granted_on: granted_on}}
      revoked: not_counted
"""
from __future__ import annotations

import copy
from dataclasses import field
from typing import TYPE_CHECKING, Any

from engine.core.diagnostics import Diagnostic, Location, cited
from engine.core.i18n import msg
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.language.types import BOOL, DATE, DECIMAL, ERROR, STRING, ListOf, Nullable, Prim, Record, Type, fits
from engine.policies.facts import claim_schema

if TYPE_CHECKING:
    from engine.policies.linker import Linked
    from engine.policies.policyfile import PolicyVersion
    from engine.policies.store import PolicyStore

# What `decision.FIELD` may name: the fields of a decision's JSON (engine/schemas/decision.schema.json).
DECISION_FIELDS: dict[str, Type] = {
    "decision_date": DATE, "known_on": DATE, "amount": DECIMAL, "currency": STRING, "claim_id": STRING,
    "eligible": BOOL, **{f"policy.{part}": STRING for part in ("id", "version", "digest")},
}


@dataclass
class Source:
    """Where one field of a grant record, or of a history entry, comes from."""

    text: str  # claim.PATH, decision.FIELD, or (for a history field) the record field's name
    location: Location

    @property
    def side(self) -> str:
        return self.text.split(".", 1)[0]

    @property
    def path(self) -> str:
        return self.text.split(".", 1)[1] if "." in self.text else ""


@dataclass
class LedgerSpec:
    clauses: tuple
    location: Location
    person_fact: str
    person_location: Location
    record: dict[str, Source]
    history_fact: str
    history_location: Location
    history_fields: dict[str, Source]
    book: str | None = None
    missing: str = ""
    revoked_counted: bool = False
    reading: str = ""
    owner: Any = None  # the PolicyVersion that declares it

    @property
    def book_name(self) -> str:
        """The ledger the grants are counted in: named, or that of the policy declaring the section."""
        return self.book or (self.owner.id if self.owner is not None else "")

    def to_json(self) -> dict:
        return {"book": self.book_name, "person": self.person_fact, "history": self.history_fact,
                "revoked": "counted" if self.revoked_counted else "not_counted",
                "declared_by": self.owner.key if self.owner is not None else None}


# -------------------------------------------------------------------------------------------------
# Reading (called by the policy-file reader for the section; the format check has run)


def read_ledger(reader, value, pv: PolicyVersion) -> LedgerSpec | None:
    """The section as read by `reader` (engine.policies.policyfile._Reader), or None when it is unusable
    (already reported by the format check)."""
    if not isinstance(value, dict) or not reader.good(("ledger",)):
        return None
    doc = reader.doc
    person: dict = value["person"] if isinstance(value.get("person"), dict) else {}
    history: dict = value["history"] if isinstance(value.get("history"), dict) else {}
    person_fact = reader.text(person, "fact", ("ledger", "person"), None)
    history_fact = reader.text(history, "fact", ("ledger", "history"), None)
    if person_fact is None or history_fact is None:
        return None
    record = {name: Source(text, doc.location(("ledger", "record", name)))
              for name, text in reader.entries(value.get("record"), dict)
              if isinstance(text, str) and reader.good(("ledger", "record", name))}
    fields = {name: Source(text, doc.location(("ledger", "history", "fields", name)))
              for name, text in reader.entries(history.get("fields"), dict)
              if isinstance(text, str) and reader.good(("ledger", "history", "fields", name))}
    return LedgerSpec(
        clauses=reader.clauses(value.get("clause"), ("ledger", "clause")), location=doc.key_location(("ledger",)),
        person_fact=person_fact, person_location=doc.location(("ledger", "person", "fact")),
        record=record, history_fact=history_fact, history_location=doc.location(("ledger", "history", "fact")),
        history_fields=fields, book=reader.text(value, "book", ("ledger",), None),
        missing=reader.text(person, "missing", ("ledger", "person")),
        revoked_counted=value.get("revoked") == "counted", reading=reader.text(value, "reading", ("ledger",)),
        owner=pv)


# -------------------------------------------------------------------------------------------------
# Checking against the input schema (`policy check`)


def check_ledger(store: PolicyStore, version: PolicyVersion) -> list[Diagnostic]:
    """The problems of `version`'s own ledger section: every path must name what the input schema has."""
    spec = getattr(version, "ledger", None)
    if spec is None:
        return []
    schema = claim_schema(store, version)
    if schema is None or schema.type is None:
        return []  # no usable input schema: reported where input.schema is written
    return _Checker(spec, version, schema.type).run()


class _Checker:
    def __init__(self, spec: LedgerSpec, version: PolicyVersion, facts: Record):
        self.spec, self.version, self.facts = spec, version, facts
        self.found: list[Diagnostic] = []

    def error(self, code: str, message: str, location: Location, hint: str | None = None) -> None:
        doc = self.version.document
        line = doc.line_text(location.line) if doc is not None else None
        self.found.append(Diagnostic(code, message, location, clause=cited(self.spec.clauses), source_line=line,
                                     hint=hint))

    def run(self) -> list[Diagnostic]:
        spec = self.spec
        person = self.fact_type(spec.person_fact, spec.person_location, "person.fact")
        if person is not None and person != ERROR and not isinstance(person, Prim):
            self.error("ledger.field", msg("person.fact {path} is {type}; a person is identified by a text or a "
                                           "number", path=spec.person_fact, type=str(person)), spec.person_location)
        record_types = {name: self.source_type(name, source) for name, source in spec.record.items()}
        history = self.fact_type(spec.history_fact, spec.history_location, "history.fact")
        if history is None or history == ERROR:
            return self.found
        item = history.item if isinstance(history, ListOf) else None
        if not isinstance(item, Record):
            self.error("ledger.history", msg("history.fact {path} is {type}, not a list of records: earlier grants "
                                             "are read as a list", path=spec.history_fact, type=str(history)),
                       spec.history_location)
            return self.found
        for name, source in spec.history_fields.items():
            wanted = item.field(name)
            if wanted is None:
                self.error("ledger.field", msg("{path} has no field {name}; its fields are {known}",
                                               path=spec.history_fact, name=name,
                                               known=", ".join(f.name for f in item.fields)),
                           source.location, hint=_close(name, [f.name for f in item.fields]))
                continue
            if source.text not in spec.record:
                self.error("ledger.field", msg("history field {name} is taken from {field}, which the grant record "
                                               "does not hold (ledger.record has {known})", name=name,
                                               field=source.text, known=", ".join(spec.record) or "nothing"),
                           source.location, hint=_close(source.text, list(spec.record)))
                continue
            got = record_types.get(source.text)
            if got is not None and got != ERROR and not fits(_plain(got), _plain(wanted.type)):
                self.error("ledger.history", msg("history field {name} holds {wanted}, but record field {field} "
                                                 "holds {got}", name=name, wanted=str(wanted.type), field=source.text,
                                                 got=str(got)), source.location)
        unmapped = [f.name for f in item.fields if not f.optional and f.name not in spec.history_fields]
        if unmapped:
            self.error("ledger.history", msg("history entries need {fields}, which history.fields does not give: a "
                                             "claim decided with the ledger's grants would be invalid",
                                             fields=", ".join(unmapped)), spec.history_location)
        return self.found

    def fact_type(self, path: str, location: Location, what: str) -> Type | None:
        """The type of the claim fact at the dotted path, or None (reported) when the schema has no such fact."""
        current: Type = self.facts
        walked: list[str] = []
        for part in path.split("."):
            current = _plain(current)
            found = current.field(part) if isinstance(current, Record) else None
            if found is None:
                known = [f.name for f in current.fields] if isinstance(current, Record) else []
                where = ".".join(walked) or msg("the claim")
                self.error("ledger.field", msg("{what} {path}: {where} has no fact {name}", what=what, path=path,
                                               where=where, name=part), location, hint=_close(part, known))
                return None
            walked.append(part)
            current = found.type
        return current

    def source_type(self, name: str, source: Source) -> Type | None:
        if source.side == "claim":
            return self.fact_type(source.path, source.location, msg("record field {name}:", name=name))
        if source.side == "decision" and source.path in DECISION_FIELDS:
            return DECISION_FIELDS[source.path]
        self.error("ledger.field", msg("{source} is not a field of a decision; a record field is taken from "
                                       "claim.PATH or from decision.FIELD ({known})", source=source.text,
                                       known=", ".join(DECISION_FIELDS)), source.location,
                   hint=_close(source.path, list(DECISION_FIELDS)))
        return None


def record_types(store: PolicyStore, spec: LedgerSpec) -> dict[str, Type]:
    """The type of each field of the grant record (ERROR where it cannot be known)."""
    owner = spec.owner
    schema = claim_schema(store, owner) if owner is not None else None
    if schema is None or schema.type is None:
        return {n: ERROR for n in spec.record}
    checker = _Checker(spec, owner, schema.type)
    return {n: checker.source_type(n, source) or ERROR for n, source in spec.record.items()}


def _plain(t: Type) -> Type:
    return t.inner if isinstance(t, Nullable) else t


def _close(name: str, names: list) -> str | None:
    close = close_matches(name, names, n=1, cutoff=0.6)
    return msg("did you mean {name}?", name=repr(close[0])) if close else None


# -------------------------------------------------------------------------------------------------
# Using it


def ledger_of(linked: Linked) -> LedgerSpec | None:
    """The ledger section a linked policy decides with: its own, else the nearest one it extends."""
    for version in linked.chain:
        spec = getattr(version, "ledger", None)
        if spec is not None:
            return spec
    return None


_MISSING = object()


def value_at(data, path: str):
    """The value at a dotted path of a claim's JSON, or None when any part is absent."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def with_fact(data: dict, path: str, value) -> dict:
    """A copy of the claim's JSON with the fact at the dotted path set to `value` (what was there is gone)."""
    out = copy.copy(data)
    holder = out
    parts = path.split(".")
    for part in parts[:-1]:
        inner = holder.get(part)
        holder[part] = copy.copy(inner) if isinstance(inner, dict) else {}
        holder = holder[part]
    holder[parts[-1]] = value
    return out


def project(spec: LedgerSpec, claim: dict, decision: dict) -> dict:
    """The grant record of a claim and its decision (both as JSON), in the order the section lists it."""
    sides = {"claim": claim, "decision": decision}
    return {name: value_at(sides.get(source.side), source.path) for name, source in spec.record.items()}


def history_entries(spec: LedgerSpec, records: list[dict]) -> list[dict]:
    """The history fact's entries for grant records (JSON values), each with the fields the section maps."""
    entries = []
    for record in records:
        entry = {name: record.get(source.text) for name, source in spec.history_fields.items()}
        entries.append({k: v for k, v in entry.items() if v is not None})
    return entries


@dataclass
class HistoryUsed:
    """Where a decision's history came from, kept with the decision so that it can be decided again."""

    source: str  # "ledger"
    fact: str
    entries: list
    book: str = ""
    grants: list = field(default_factory=list)  # the ids of the grants read

    def to_json(self) -> dict:
        return {"source": self.source, "book": self.book, "fact": self.fact, "grants": self.grants,
                "entries": self.entries}


def recorded_history(record: dict) -> tuple[str, list] | None:
    """(fact, entries) of a recorded decision that was decided with ledger history, else None."""
    history = record.get("history") if isinstance(record, dict) else None
    if isinstance(history, dict) and history.get("source") == "ledger" and isinstance(history.get("fact"), str) \
            and isinstance(history.get("entries"), list):
        return history["fact"], history["entries"]
    return None

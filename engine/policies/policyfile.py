"""Policy files: YAML text → a `PolicyVersion` whose expressions are parsed and whose tables are typed.

Every problem found is collected as a Diagnostic naming file, line, column and clause; loading goes on
past a bad part so that `policy check` reports all problems at once.
"""
from __future__ import annotations

import json
import re
from dataclasses import field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.core import lightimport, schemacheck
from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, note_at
from engine.core.frozen import FrozenDict
from engine.core.i18n import msg, series
from engine.core.isodate import parse_date
from engine.core.reasons import os_reason
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.language.syntax import Expr, SourceText, parse
from engine.language.types import (
    BOOL,
    DATE,
    DECIMAL,
    ERROR,
    INT,
    STRING,
    TYPE_NAMES,
    Field,
    Prim,
    Record,
    TableType,
    Type,
    parse_type_name,
)
from engine.policies.trojan import bidi_warnings
from engine.policies.yamlsource import (
    FOLDED_COMMENT,
    FOLDED_HINT,
    Document,
    folded_comment,
    gc_paused,
    plain_style,
    read_file,
    read_yaml,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "policy.schema.json"  # package data


@dataclass
class Expression:
    text: str
    tree: Expr | None  # None when it did not parse (already reported)
    source: SourceText


@dataclass
class Ref:
    policy_id: str
    version: str | None
    location: Location
    clauses: tuple = ()  # the clauses that make this reference, when the file cites them
    only: tuple = ()  # of an include: the names and ids taken from it (all, when empty)

    def __str__(self) -> str:
        return self.policy_id + (f"@{self.version}" if self.version else "")


@dataclass
class Table:
    name: str
    clauses: tuple
    keys: tuple
    type: TableType
    rows: dict  # key tuple -> row dict
    location: Location
    description: str = ""
    reading: str = ""
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)
    columns: dict = field(default_factory=dict)  # column -> Column: what its cells must also satisfy
    # row key -> (Document, path of the row, whether it is written as a list): where its cells are, worked out
    # only for the cell an error names (`cell_place`); an amended table holds rows of two files
    row_places: dict = field(default_factory=dict)
    amended_by: tuple = ()  # the amending versions that changed its rows

    def cell_place(self, key: tuple, column: str) -> tuple:
        """(Location, source line) of a cell: in the file that wrote its row."""
        place = self.row_places.get(key)
        names = [f.name for f in self.type.row.fields]
        if place is None or column not in names:
            return self.location, None
        doc, path, listed = place
        loc = doc.location(path + ((names.index(column),) if listed else (column,)))
        return loc, doc.line_text(loc.line)


@dataclass
class Column:
    """What a column's cells must be beyond their type: values of an input fact, values of another table's column."""
    name: str
    fact: str | None
    references: str | None  # TABLE.COLUMN
    location: Location


@dataclass
class OwnFact:
    """A fact a version reads beyond its input schema (`input.facts`)."""
    path: str  # applicant.contributions
    schema: dict
    clauses: tuple
    location: Location
    description: str = ""


@dataclass
class Definition:
    name: str
    expr: Expression
    params: tuple  # of Field
    declared_type: Type | None
    clauses: tuple
    location: Location
    description: str = ""
    reading: str = ""
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)


@dataclass
class Rule:
    id: str
    clauses: tuple
    when: Expression | None
    require: Expression
    messages: dict
    location: Location
    reading: str = ""
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)


@dataclass
class Output:
    name: str
    expr: Expression
    when: Expression | None
    clauses: tuple
    location: Location
    description: str = ""
    reading: str = ""
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)


@dataclass
class Note:
    id: str
    clauses: tuple
    when: Expression | None
    text: str
    location: Location
    reading: str = ""
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)


@dataclass
class InputCheck:
    id: str
    fact: str
    when: Expression | None
    require: Expression
    message: str
    location: Location
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)
    fact_location: Location | None = None  # where `fact:` is written: an unknown fact is said there


@dataclass
class AmountRule:
    expr: Expression
    currency: str
    clauses: tuple
    location: Location
    overrides: bool = False
    owner: PolicyVersion | None = None
    replaces: bool = False  # replaces the item of the version this one amends (`amends:`)


@dataclass
class PolicyVersion:
    id: str
    version: str
    title: str
    file: str
    effective_from: date
    effective_to: date | None
    issued_on: date
    review_by: date | None
    source: dict
    clauses: dict  # clause id -> text
    input_schema: str | None
    extends: Ref | None
    uses: dict  # alias -> Ref
    exports: tuple
    includes: list = field(default_factory=list)  # Ref: policies whose items this one reuses (`includes:`)
    tables: dict = field(default_factory=dict)
    definitions: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    not_computable: list = field(default_factory=list)
    decision: AmountRule | None = None
    ledger: Any = None  # engine.policies.ledgerspec.LedgerSpec: how grants are recorded and counted
    effective_clauses: tuple = ()  # the clauses that set the dates in force, when the file cites them
    own_facts: list = field(default_factory=list)  # OwnFact: what input.facts adds to the input schema
    facts_file: Any = None  # the plain data of input.facts when it names a file beside this one (for the digest)
    amends: str | None = None  # the label of the version this one amends: it states only what changes
    amended: PolicyVersion | None = None  # that version, once the store has resolved this one
    own_clauses: dict | None = None  # an amendment's own clauses (`clauses` then holds the resolved whole)
    documents: list = field(default_factory=list)  # every source document the resolved version draws on
    clause_docs: dict = field(default_factory=dict)  # clause id -> number of the document of its own that holds it
    table_amendments: dict = field(default_factory=dict)  # table -> (its add/replace/remove_rows, path)
    removals: dict = field(default_factory=dict)  # `remove:` kind -> names
    removed_names: frozenset = frozenset()  # definitions and tables an amendment took out (amend._still_used)
    cited_later: list = field(default_factory=list)  # an amendment's citations of others' clauses: (id, place, line)
    content: Any = None  # the plain data, for digests and structural diffs
    document: Document | None = None
    digest: str = ""
    # A repeal (`repeals: true`): no version of the policy is in force from effective_from until a later one
    # begins. The store keeps it apart from the versions (PolicyStore.repeals), so nothing decides under it.
    repeals: bool = False

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def location(self, *path) -> Location:
        return self.document.location(path) if self.document else Location(self.file)


@lru_cache(maxsize=1)
def policy_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _policy_validator():
    # Validate under the draft the schema declares (draft-07, the newest that editors' YAML language servers
    # understand), so that an editor and `policy check` read the format alike; numbers and dates follow the
    # engine's own rules, as for input schemas.
    from jsonschema.validators import extend, validator_for

    engine_rules = schemacheck.make_validator({})
    base = validator_for(policy_schema())
    shortcuts = {"items": _items_of(base.VALIDATORS["items"]), "not": _not_of(base.VALIDATORS["not"])}
    cls = extend(base, shortcuts, type_checker=engine_rules.TYPE_CHECKER)
    return cls(policy_schema(), format_checker=engine_rules.format_checker)


@lru_cache(maxsize=1)
def _policy_checker():
    # Compiled (jsonschema-rs), under the same draft, with the engine's own reading of a date: it answers "valid?"
    # in a fifth of the time the general validator takes to find no error (7% of the quick test loop).
    return lightimport.jsonschema_rs().validator_for(policy_schema(), validate_formats=True,
                                                     formats={"date": _is_calendar_date})


def _is_calendar_date(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def _policy_is_valid(value: dict) -> bool:
    """True only when the file follows the format (numbers and dates read as the engine reads them); False when it
    does not, or when the compiled validator cannot say (a value JSON has no word for): the general validator then
    finds and words every error, so the messages are the same either way."""
    try:
        return _policy_checker().is_valid(value)
    except ValueError:
        return False


def _items_of(general):
    """`items` as the draft validates it, with one shortcut: when the items' schema says only their type (a table's
    rows: arrays or mappings), an item of the right type is passed over without descending into it, which costs
    a validator of its own per item (66,000 rows, issue 11). Any other item is descended into as before, so every
    error, its path and its wording are the draft's."""

    def items(validator, schema, instance, parent):
        if not (isinstance(schema, dict) and "type" in schema and set(schema) <= {"type", "description"}
                and validator.is_type(instance, "array")):
            yield from general(validator, schema, instance, parent)
            return
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for index, item in enumerate(instance):
            if not any(validator.is_type(item, kind) for kind in types):
                yield from validator.descend(item, schema, path=index)

    return items


def _not_of(general):
    """`not` as the draft validates it, with one shortcut: `not: {anyOf: [{required: [...]}, ...]}` (a table that
    changes no rows) is decided by looking at the keys, where the draft's `anyOf` words an error of every branch
    that fails, quoting the whole table (66,000 rows) in it, only for `not` to drop it. When `not` fails, the
    draft words its own error, as before."""

    def not_(validator, schema, instance, parent):
        branches = schema.get("anyOf") if isinstance(schema, dict) and set(schema) == {"anyOf"} else None
        if not (isinstance(branches, list) and branches
                and all(isinstance(b, dict) and set(b) == {"required"} and isinstance(b["required"], list)
                        for b in branches)):
            yield from general(validator, schema, instance, parent)
            return
        if not validator.is_type(instance, "object") \
                or any(all(key in instance for key in b["required"]) for b in branches):
            yield from general(validator, schema, instance, parent)  # the anyOf holds: `not` fails, in its words

    return not_


def canonical_json(value: Any) -> str:
    """A stable text form for digests: sorted keys, decimals and dates as strings."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a digest")


def sha256(text: str) -> str:
    return "sha256:" + lightimport.sha256(text.encode("utf-8")).hexdigest()


def load_policy_file(path: Path, display: str | None = None,
                     text: str | None = None) -> tuple[PolicyVersion | None, list[Diagnostic]]:
    """Read, validate and parse one policy file (or `text` in its place: an editor's unsaved buffer). Returns
    (version or None, diagnostics): None when the file cannot be read, or when what places it in the store
    (id, version, dates, input, references) is unusable."""
    display = display or str(path)
    with gc_paused():
        try:
            doc = read_yaml(text if text is not None else read_file(path, display), display)
        except OSError as exc:
            return None, [Diagnostic("input.unreadable", msg("cannot read the file: {reason}", reason=os_reason(exc)),
                                     Location(display))]
        except DiagnosticError as exc:
            return None, exc.diagnostics
        return _Reader(doc, Path(path)).read()


def _mapping(value) -> dict:
    """A section that must be a mapping; one of the wrong kind (already reported) reads as empty."""
    return value if isinstance(value, dict) else {}


# Where "X is required but missing" would not say what to do
_MISSING_WORDS = {
    ("input", "schema"): msg("input.schema is missing: name the JSON Schema file (under schemas/) that claims follow; "
                             "only a policy that extends another may leave it out, and then reads its parent's"),
}


_THOUSANDS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\w.])")  # 5,200 or 1,000,000 in a row's text


class _Reader:
    def __init__(self, doc: Document, path: Path | None = None):
        self.doc = doc
        self.path = path  # the file read, for the files a version names beside itself
        self.diagnostics: list[Diagnostic] = bidi_warnings(doc.text, doc.file)  # Trojan Source (issue 18)
        self.clause_ids: list | None = []  # None: source.clauses is unreadable, so citations go unchecked
        self.bad: set = set()  # paths of the values the format check rejected (already reported)
        self.bad_names: set = set()  # paths of keys that are not usable names: their items are left out
        self.placeable = True  # False when the store could not place or link the version
        # An amendment may cite a clause of the version it amends, which only the store knows: (clause, place)
        # left for engine.policies.amend to look up; None when citations are checked here (any other version).
        self.cited_later: list | None = None

    def error(self, code: str, message: str, path, clause=None, hint=None, severity="error", at_key=False,
              notes: tuple = ()):
        loc = self.doc.key_location(path) if at_key else self.doc.location(path)
        clause = clause or self._clause_at(tuple(path))
        self.diagnostics.append(Diagnostic(code, message, loc, clause=clause, severity=severity,
                                           source_line=self.doc.line_text(loc.line), hint=hint, notes=notes))

    def read(self):
        value = self.doc.value
        if not isinstance(value, dict):
            self.error("schema.type", msg("a policy file must be a mapping of keys such as policy, version, rules"), ())
            return None, self.diagnostics
        self._validate(value)
        version = self._build(value)
        return (version if self.placeable else None), self.diagnostics

    def _validate(self, value: dict) -> None:
        """Report every departure from the format, each once, and remember where: building then leaves out
        exactly those values and reads the rest, so one mistake does not hide the others."""
        if _policy_is_valid(value):
            return  # most files are: the general validator is needed only to word what is wrong
        errors = list(_policy_validator().iter_errors(value))
        missing: dict = {}  # mapping path -> keys it requires but lacks
        for error in errors:
            if error.validator == "required":
                where, _ = schemacheck.describe_error(error)
                missing.setdefault(tuple(where[:-1]), set()).add(where[-1])
        misspelt: set = set()  # (mapping path, required key) reported as a misspelling instead
        for error in errors:
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                misspelt |= self._unknown_keys(error, missing.get(tuple(error.absolute_path), set()))
        for error in errors:
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                continue
            path, message = schemacheck.describe_error(error)
            if error.validator == "required" and (tuple(path[:-1]), path[-1]) in misspelt:
                continue  # one mistake, one error: `requrie:` is reported as a misspelling of require
            if error.validator == "required":
                message = _MISSING_WORDS.get(tuple(path), message)
            at_key = False
            if "propertyNames" in error.relative_schema_path:  # reported at the mapping; the fault is one key
                path, at_key = list(error.absolute_path) + [error.instance], True
                self.bad_names.add(tuple(path))
            if tuple(path) in self.bad:
                continue
            self.bad.add(tuple(path))
            wanted = error.validator_value if error.validator == "type" else ()
            hint = self._yaml_hint(path) if "string" in ((wanted,) if isinstance(wanted, str) else wanted) else None
            self.error("schema.invalid", message, path, hint=hint, at_key=at_key)

    def _unknown_keys(self, error, missing: set) -> set:
        """Each unknown key on its own line, reported where the key is written (its value may start on the
        next line, or be an alias whose text is elsewhere), with the key it is probably a misspelling of.
        Returns (mapping path, key) for each required key that a misspelling stands for."""
        allowed = error.schema.get("properties", {})
        stands_for = set()
        for key in error.instance:
            if key not in allowed:
                path, message = schemacheck.unknown_keys(list(error.absolute_path), [key], allowed, suggest=False)
                self.bad.add(tuple(path))
                close = close_matches(str(key), sorted(missing), n=1, cutoff=0.6) \
                    or close_matches(str(key), list(allowed), n=1, cutoff=0.6) \
                    or [k for k in CHINESE_KEYS.get(str(key), ()) if k in allowed][:1]
                hint = None
                if close:
                    hint = msg("did you mean {name}?", name=repr(close[0]))
                    if close[0] in missing:
                        hint = msg("did you mean {name}? ({key} is required here and missing)", name=repr(close[0]),
                                   key=close[0])
                        stands_for.add((tuple(error.absolute_path), close[0]))
                self.error("schema.invalid", message, path, at_key=True, hint=hint)
        return stands_for

    # -- reading values the format check accepted ----------------------------------------------------

    def good(self, path) -> bool:
        return tuple(path) not in self.bad

    def text(self, item, key: str, path, default=""):
        value = item.get(key) if isinstance(item, dict) else None
        return value if isinstance(value, str) and self.good(tuple(path) + (key,)) else default

    def day(self, item, key: str, path) -> date | None:
        text = self.text(item, key, path, None)
        try:
            return parse_date(text) if text is not None else None
        except ValueError:  # already reported by the format check
            return None

    def flag(self, item, key: str = "overrides") -> bool:
        return isinstance(item, dict) and item.get(key) is True

    def entries(self, container, kind) -> list[tuple]:
        """(key or index, item) of a mapping or list of the right kind; nothing when it is of the wrong kind."""
        if kind is dict and isinstance(container, dict):
            return list(container.items())
        if kind is list and isinstance(container, list):
            return list(enumerate(container))
        return []

    def _yaml_hint(self, path) -> str | None:
        node_value = _at(self.doc.value, path)
        if plain_style(self.doc, path) and not isinstance(node_value, str) and node_value is not None:
            raw = self.doc.scalars[tuple(path)].value
            return msg("YAML reads the unquoted {raw} as {value}; quote it: \"{text}\"", raw=repr(raw),
                       value=schemacheck.describe_value(node_value), text=raw)
        return None

    def expression(self, path) -> Expression:
        path = tuple(path)
        node = self.doc.scalars.get(path)
        text = _at(self.doc.value, path)
        if not isinstance(text, str) or not self.good(path):
            # Missing or not text (reported by the format check): an expression without a tree has no type,
            # so the checker raises nothing more about it or about what uses it.
            loc = self.doc.location(path)
            return Expression(text if isinstance(text, str) else "", None,
                              SourceText("", self.doc.file, line=loc.line, column=loc.column))
        if node is not None:
            source = SourceText.from_yaml_scalar(self.doc.file, self.doc.text, node)
            folded = folded_comment(source, node)
            if folded is not None:  # issue 18: YAML joined the lines first, so the comment hides the rest
                self.diagnostics.append(source.diagnostic("syntax.folded_comment", FOLDED_COMMENT, folded,
                                                          hint=FOLDED_HINT, clause=self._clause_at(path)))
        else:
            loc = self.doc.location(path)
            source = SourceText(text, self.doc.file, line=loc.line, column=loc.column)
        try:
            tree = parse(source)
        except DiagnosticError as exc:
            clause = self._clause_at(path)
            self.diagnostics.extend(Diagnostic(d.code, d.message, d.location, clause, d.severity, d.source_line, d.hint,
                                               d.notes)
                                    for d in exc.diagnostics)
            tree = None
        return Expression(text, tree, source)

    def _clause_at(self, path) -> str | None:
        # The clause of the enclosing rule, definition or table, for error messages.
        for cut in range(len(path), 0, -1):
            item = _at(self.doc.value, path[:cut])
            if isinstance(item, dict) and "clause" in item:
                clause = item["clause"]
                if isinstance(clause, str):
                    return clause
                if isinstance(clause, list) and all(isinstance(c, str) for c in clause):
                    return ", ".join(clause)
                return None
        return None

    def clauses(self, value, path) -> tuple:
        if not self.good(path) or not (isinstance(value, str) or isinstance(value, list)
                                       and all(isinstance(c, str) for c in value)):
            return ()  # reported by the format check
        ids = (value,) if isinstance(value, str) else tuple(value)
        for i, cid in enumerate(ids):
            if self.clause_ids is not None and cid not in self.clause_ids:
                where = path if isinstance(value, str) else path + (i,)
                if self.cited_later is not None:
                    self.cited_later.append((cid, self.doc.location(where), self.doc.line_text(
                        self.doc.location(where).line)))
                    continue
                close = close_matches(cid, list(self.clause_ids), n=1, cutoff=0.5)
                self.error("clause.unknown", msg("clause {clause} is not among source.clauses ({clauses})",
                                                 clause=repr(cid), clauses=", ".join(self.clause_ids)), where,
                           hint=_wide_comma(cid) or (msg("did you mean {name}?", name=repr(close[0])) if close
                                                     else None))
        return ids

    def ref(self, value, path) -> Ref | None:
        """The reference, or None when it cannot be read (then the version cannot be linked)."""
        if isinstance(value, dict):
            pid, version = self.text(value, "policy", path, None), self.text(value, "version", path, None)
            unreadable = pid is None or "version" in value and version is None
        else:
            pid, _, version = value.partition("@") if isinstance(value, str) else (None, "", None)
            unreadable = pid is None
        if unreadable or not self.good(path):
            self.placeable = False
            return None
        clauses = self.clauses(value["clause"], path + ("clause",)) if isinstance(value, dict) and "clause" in value \
            else ()
        only = tuple(x for x in value.get("only", ()) if isinstance(x, str)) if isinstance(value, dict) else ()
        return Ref(pid, version or None, self.doc.location(path), clauses, only)

    def _build(self, v: dict) -> PolicyVersion:
        """The version, from every part that can be read: a part the format check rejected is left out (an item
        without its identity) or read as empty (an expression, a message), so that the rest is still checked.
        Each section has its reader below; the ones that place the version in the store clear `placeable`
        when what they need is unusable."""
        if "amends" in v:
            self.cited_later = []
        pv = self._identity(v)
        if v.get("repeals") is True:
            self._repeal(v, pv)
            return pv
        if "amends" in v:
            self._amendment(v, pv)
        for key, read in (("tables", self._tables), ("definitions", self._definitions), ("rules", self._rules),
                          ("outputs", self._outputs), ("notes", self._notes), ("not_computable", self._not_computable),
                          ("decision", self._decision)):
            if key in v:
                read(v[key], pv)
        self._checks(v.get("input"), pv)
        if len(pv.documents) > 1:
            from engine.policies.sources import qualify  # several documents: every citation names its own

            qualify(pv)
        if isinstance(v.get("input"), dict) and "facts" in v["input"] and self.good(("input", "facts")):
            from engine.policies.facts import read_own_facts  # its own module: the format grows section by section

            read_own_facts(self, v["input"]["facts"], pv)
        if "ledger" in v:
            from engine.policies.ledgerspec import read_ledger

            pv.ledger = read_ledger(self, v["ledger"], pv)
        pv.cited_later = list(self.cited_later or ())
        return pv

    # -- sections ---------------------------------------------------------------------------------------

    def _identity(self, v: dict) -> PolicyVersion:
        """Id, version, dates, source, input schema and references: what places and links the version."""
        source = _mapping(v.get("source"))
        clauses = source.get("clauses")
        if not isinstance(clauses, dict) or not self.good(("source", "clauses")):
            clauses = None
        number = source.get("number") if isinstance(source.get("number"), str) else ""
        clause_docs = {cid: number for cid in clauses} if clauses is not None else {}
        documents = [self._source(source)] if source else []
        for i, extra in self.entries(v.get("sources"), list):  # more documents this version encodes
            more = extra.get("clauses") if isinstance(extra, dict) and self.good(("sources", i)) else None
            if not isinstance(more, dict):
                continue
            documents.append(self._source(extra))
            for cid, text in more.items():
                if cid in clause_docs:
                    self.error("clause.duplicate", msg(
                        "clause {cid} is also a clause of {other}: give the clauses of one version distinct ids "
                        "(such as 二批.一)", cid=repr(cid), other=clause_docs[cid]), ("sources", i, "clauses", cid),
                        at_key=True)
                    continue
                clause_docs[cid] = extra.get("number") if isinstance(extra.get("number"), str) else ""
                if clauses is not None:
                    clauses = dict(clauses, **{cid: text})
        self.clause_ids = list(clauses) if clauses is not None else None  # in document order, as officers read them
        eff = _mapping(v.get("effective"))
        pid, label = self.text(v, "policy", ()), self.text(v, "version", ())
        effective_from, issued_on = self.day(eff, "from", ("effective",)), self.day(v, "issued_on", ())
        inp = _mapping(v.get("input"))
        input_schema = self.text(inp, "schema", ("input",), None)
        # A transposition without input.schema reads its parent's (the linker takes it); otherwise no schema
        # means no facts to link against.
        schema_unusable = "input" in v and input_schema is None and (
            "schema" in inp or "extends" not in v and "amends" not in v)
        if not (pid and label and effective_from and issued_on) or schema_unusable:
            self.placeable = False
        pv = PolicyVersion(
            id=pid, version=label, title=self.text(v, "title", ()), file=self.doc.file,
            effective_from=effective_from or date.min,
            effective_to=self.day(eff, "to", ("effective",)),
            issued_on=issued_on or date.min,
            review_by=self.day(v, "review_by", ()),
            source=self._source(source),
            clauses={k: c if isinstance(c, str) else "" for k, c in clauses.items()} if clauses is not None else {},
            input_schema=input_schema,
            extends=self.ref(v["extends"], ("extends",)) if "extends" in v else None,
            uses={alias: self.ref(r, ("uses", alias)) for alias, r in self.entries(v.get("uses"), dict)
                  if ("uses", alias) not in self.bad_names},
            includes=[ref for i, r in self.entries(v.get("includes"), list)
                      if (ref := self.ref(r, ("includes", i))) is not None],
            exports=tuple(x for i, x in self.entries(v.get("exports"), list)
                          if isinstance(x, str) and self.good(("exports", i))),
            content=v, document=self.doc, documents=documents, clause_docs=clause_docs,
            effective_clauses=self.clauses(eff["clause"], ("effective", "clause")) if "clause" in eff else ())
        if pv.effective_to and pv.effective_to < pv.effective_from:
            self.error("version.dates", msg("effective.to is before effective.from"), ("effective", "to"))
        return pv

    def _repeal(self, v: dict, pv: PolicyVersion) -> None:
        """`repeals: true`: the notice that ends the policy holds only what places it and its source. Anything
        else would be read by nothing, so it is an error where it is written, not a silent no-op."""
        pv.repeals = True
        for key in v:
            if key not in REPEAL_KEYS:
                self.error("repeal.content", msg(
                    "a repeal holds no {key}: from its first day no version of {pid} is in force; a version that "
                    "takes effect later is a file of its own", key=key, pid=pv.id or msg("this policy")), (key,),
                    at_key=True)
        if "to" in _mapping(v.get("effective")):
            self.error("repeal.content", msg(
                "a repeal has no effective.to: it ends the policy from effective.from until a later version takes "
                "effect"), ("effective", "to"), at_key=True)

    def _source(self, source: dict) -> dict:
        issuers = source.get("issuers")
        return dict(source, number=self.text(source, "number", ("source",)),
                    title=self.text(source, "title", ("source",)),
                    issuers=[x for x in issuers if isinstance(x, str)] if isinstance(issuers, list) else [])

    def _amendment(self, v: dict, pv: PolicyVersion) -> None:
        """`amends:` and `remove:`: resolved by the store against the version amended (engine/policies/amend.py)."""
        pv.amends = self.text(v, "amends", (), None)
        for kind, names in self.entries(v.get("remove"), dict):
            pv.removals[kind] = [n for i, n in self.entries(names, list) if isinstance(n, str)
                                 and self.good(("remove", kind, i))]

    def _tables(self, tables, pv: PolicyVersion) -> None:
        for name, t in self.entries(tables, dict):
            if isinstance(t, dict) and any(k in t for k in ROW_CHANGES) and ("tables", name) not in self.bad_names:
                pv.table_amendments[name] = (t, ("tables", name))  # rows changed in the amended version's table
                continue
            table = self._table(name, t, ("tables", name)) if ("tables", name) not in self.bad_names else None
            if table:
                table.owner = pv
                pv.tables[name] = table

    def _definitions(self, definitions, pv: PolicyVersion) -> None:
        for name, d in self.entries(definitions, dict):
            if ("definitions", name) not in self.bad_names:
                pv.definitions[name] = self._definition(name, d, ("definitions", name), pv)

    def _rules(self, rules, pv: PolicyVersion) -> None:
        seen: dict = {}
        for i, r in self.entries(rules, list):
            path = ("rules", i)
            rid = self.text(r, "id", path, None)
            if rid is None:
                continue  # a rule is known by its id; without one there is nothing to refer to
            if rid in seen:
                first = self.doc.location(("rules", seen[rid], "id"))
                self.error("rule.duplicate", msg("rule id {rule} is used twice (first on line {line})",
                                                 rule=repr(rid), line=first.line),
                           path + ("id",), notes=(note_at(msg("first used here"), first, self.doc.text),))
                continue
            seen[rid] = i
            message = r.get("message") if isinstance(r.get("message"), dict) else {}
            messages = {k: self.text(message, k, path + ("message",))
                        for k in ("pass", "fail", "not_applicable") if k in message or k != "not_applicable"}
            pv.rules.append(Rule(
                id=rid, clauses=self.clauses(r.get("clause"), path + ("clause",)), when=self.condition(r, path),
                require=self.expression(path + ("require",)), messages=messages, location=self.doc.location(path),
                reading=self.text(r, "reading", path), overrides=self.flag(r), owner=pv,
                replaces=self.flag(r, "replaces")))

    def _outputs(self, outputs, pv: PolicyVersion) -> None:
        for name, o in self.entries(outputs, dict):
            path = ("outputs", name)
            if not isinstance(o, dict) or path in self.bad_names:
                continue
            pv.outputs[name] = Output(
                name=name, expr=self.expression(path + ("expr",)), when=self.condition(o, path),
                clauses=self.clauses(o.get("clause"), path + ("clause",)), location=self.doc.key_location(path),
                description=self.text(o, "description", path), reading=self.text(o, "reading", path),
                overrides=self.flag(o), owner=pv, replaces=self.flag(o, "replaces"))

    def _notes(self, notes, pv: PolicyVersion) -> None:
        for i, n in self.entries(notes, list):
            path = ("notes", i)
            nid = self.text(n, "id", path, None)
            if nid is None:
                continue
            pv.notes.append(Note(
                id=nid, clauses=self.clauses(n.get("clause"), path + ("clause",)), when=self.condition(n, path),
                text=self.text(n, "text", path), location=self.doc.location(path),
                reading=self.text(n, "reading", path), overrides=self.flag(n), owner=pv,
                replaces=self.flag(n, "replaces")))

    def _checks(self, inp, pv: PolicyVersion) -> None:
        for i, c in self.entries(inp.get("checks") if isinstance(inp, dict) else None, list):
            path = ("input", "checks", i)
            cid, fact = self.text(c, "id", path, None), self.text(c, "fact", path, None)
            if cid is None or fact is None:
                continue
            pv.checks.append(InputCheck(
                id=cid, fact=fact, when=self.condition(c, path), require=self.expression(path + ("require",)),
                message=self.text(c, "message", path), location=self.doc.location(path), overrides=self.flag(c),
                owner=pv, replaces=self.flag(c, "replaces"), fact_location=self.doc.location(path + ("fact",))))

    def _not_computable(self, entries, pv: PolicyVersion) -> None:
        for i, nc in self.entries(entries, list):
            if isinstance(nc, dict):
                clause = self.clauses(nc.get("clause"), ("not_computable", i, "clause"))
                pv.not_computable.append({"clause": nc["clause"] if clause else "",
                                          "reason": self.text(nc, "reason", ("not_computable", i))})

    def _decision(self, d, pv: PolicyVersion) -> None:
        if isinstance(d, dict) and self.good(("decision",)):
            pv.decision = AmountRule(
                expr=self.expression(("decision", "amount")), currency=self.text(d, "currency", ("decision",)),
                clauses=self.clauses(d.get("clause"), ("decision", "clause")),
                location=self.doc.location(("decision",)), overrides=self.flag(d), owner=pv,
                replaces=self.flag(d, "replaces"))

    def condition(self, item: dict, path) -> Expression | None:
        """The item's `when`, if it has one."""
        return self.expression(tuple(path) + ("when",)) if "when" in item else None

    def _definition(self, name, d, path, pv) -> Definition:
        if not isinstance(d, dict):  # the expression itself, or a value the format check rejected
            return Definition(name, self.expression(path), (), None, (), self.doc.key_location(path), owner=pv)
        params = []
        for pname, tname in self.entries(d.get("params"), dict):
            ptype = parse_type_name(tname) if isinstance(tname, str) else None
            if ptype is None:
                if isinstance(tname, str):
                    self.error("type.unknown", msg("unknown type {type} for parameter {name}; use one of {types}",
                                                   type=repr(tname), name=repr(pname), types=TYPE_NAMES),
                               path + ("params", pname))
                ptype = ERROR
            params.append(Field(pname, ptype))
        declared = None
        if isinstance(d.get("type"), str):
            declared = parse_type_name(d["type"])
            if declared is None:
                self.error("type.unknown", msg("unknown type {type}; use one of {types}", type=repr(d["type"]),
                                               types=TYPE_NAMES), path + ("type",))
        return Definition(
            name=name, expr=self.expression(path + ("expr",)), params=tuple(params), declared_type=declared,
            clauses=self.clauses(d["clause"], path + ("clause",)) if "clause" in d else (),
            location=self.doc.key_location(path), description=self.text(d, "description", path),
            reading=self.text(d, "reading", path), overrides=self.flag(d), owner=pv,
            replaces=self.flag(d, "replaces"))

    def _table(self, name, t, path) -> Table | None:
        """The table with every row that can be read: a bad row is reported and left out, so that the table's
        uses still resolve. None only when its columns or key cannot be read at all."""
        if not isinstance(t, dict):
            return None
        clauses = self.clauses(t.get("clause"), path + ("clause",))
        columns: dict = {}
        specs: dict = {}
        for cname, spec in self.entries(t.get("columns"), dict):
            tname = spec.get("type") if isinstance(spec, dict) else spec
            cpath = path + ("columns", cname) + (("type",) if isinstance(spec, dict) else ())
            if isinstance(spec, dict) and ("fact" in spec or "references" in spec):
                specs[cname] = Column(cname, self.text(spec, "fact", path + ("columns", cname), None),
                                      self.text(spec, "references", path + ("columns", cname), None),
                                      self.doc.key_location(path + ("columns", cname)))
            ctype = parse_type_name(tname) if isinstance(tname, str) else None
            if ctype is None or not isinstance(ctype, type(STRING)):
                if isinstance(tname, str):
                    self.error("table.column_type", msg("column {column} has unknown type {type}; use one of bool, "
                                                        "int, decimal, money, string, date",
                                                        column=repr(cname), type=repr(tname)), cpath)
                ctype = ERROR
            columns[cname] = ctype
        keys = [k for i, k in self.entries(t.get("key"), list) if isinstance(k, str)]
        if not columns or not keys:
            return None
        # A key column that is not a column stays a key of no type, so that lookups written with it still
        # have the arity the author meant and raise nothing more.
        unknown = [k for k in keys if k not in columns]
        for k in unknown:
            close = close_matches(str(k), [str(c) for c in columns], n=1, cutoff=0.6)
            self.error("table.key", msg("key column {column} is not among the columns", column=repr(k)),
                       path + ("key", keys.index(k)), hint=_wide_comma(str(k)) or (
                           msg("did you mean {name}?", name=repr(close[0])) if close
                           else msg("the columns are {columns}", columns=", ".join(map(str, columns)))))
        rows: dict = {}
        places: dict = {}
        exact = _exact_types(columns)
        for i, raw in self.entries(t.get("rows"), list):
            rpath = path + ("rows", i)
            row = self._row(raw, columns, rpath, exact) if isinstance(raw, (list, dict)) else None
            if row is None:
                continue
            key = tuple(row.get(k) for k in keys)
            if key in rows and not unknown:
                self.error("table.duplicate_row", msg("a second row for key {key}", key=", ".join(map(str, key))),
                           rpath)
                continue
            rows.setdefault(key, row)
            places[key] = (self.doc, rpath, isinstance(raw, list))
        row_type = Record(f"{name}[…]", tuple(Field(c, ct) for c, ct in columns.items()))
        ttype = TableType(name, tuple(Field(k, columns.get(k, ERROR)) for k in keys), row_type)
        return Table(name=name, clauses=clauses, keys=tuple(keys), type=ttype, rows=rows,
                     location=self.doc.key_location(path), description=self.text(t, "description", path),
                     reading=self.text(t, "reading", path), overrides=self.flag(t), columns=specs, row_places=places,
                     replaces=self.flag(t, "replaces"))

    def _row(self, raw, columns: dict, path, exact: tuple | None = None) -> dict | None:
        """The row as column → value, or None (every fault reported) when any cell cannot be read. A cell of the
        column's exact Python type (`_exact_types`) is taken as it is; any other is read by `_cell`."""
        names = list(columns)
        if exact is None:
            exact = _exact_types(columns)
        if isinstance(raw, list):
            if len(raw) != len(names):
                columns_named = ", ".join(names)
                line = self.doc.line_text(self.doc.location(path).line) or ""
                separated = _THOUSANDS.search(line) if len(raw) > len(names) else None
                self.error("table.row_shape", msg("the row has {count} cell; the columns are {columns}", count=1,
                                                  columns=columns_named) if len(raw) == 1 else
                           msg("the row has {count} cells; the columns are {columns}", count=len(raw),
                               columns=columns_named), path,
                           hint=msg("write {number} without the thousands comma ({plain}): in a row, a comma "
                                    "separates cells", number=separated.group(), plain=separated.group().replace(
                                        ",", "")) if separated else
                           next(filter(None, (_wide_comma(c) for c in raw if isinstance(c, str))), None))
                return None
            values, steps = raw, list(range(len(names)))
        else:
            extra = sorted(set(raw) - set(names))
            missing = [n for n in names if n not in raw]
            if extra or missing:
                faults = ([msg("has unknown columns {columns}", columns=", ".join(extra))] if extra else []) \
                    + ([msg("lacks {columns}", columns=", ".join(missing))] if missing else [])
                said = msg("{first}; {second}", first=faults[0], second=faults[1]) if len(faults) == 2 else faults[0]
                meant = [(str(e), c[0]) for e in extra if (c := close_matches(str(e), missing, n=1, cutoff=0.6))]
                self.error("table.row_shape", msg("the row {faults}", faults=said), path, hint=series(
                    msg("{written} is probably {name}, misspelt", written=repr(w), name=repr(c)) for w, c in meant)
                    if meant else None)
                return None
            values, steps = [raw[n] for n in names], names
        row = {}
        bad = False
        for name, value, kind, step in zip(names, values, exact, steps, strict=True):
            if type(value) is kind:
                row[name] = value
                continue
            row[name] = cell = self._cell(value, columns[name], path + (step,), name)
            bad = bad or cell is _BAD
        return None if bad else FrozenDict(row)  # shared by every decision that reads it

    def _cell(self, value, ctype: Type, path, column: str):
        if ctype == ERROR:
            return value  # the column's type is already reported as unknown
        wanted = {STRING: str, BOOL: bool}.get(ctype) if isinstance(ctype, Prim) else None
        if wanted is not None and isinstance(value, wanted) and not (wanted is not bool and isinstance(value, bool)):
            return value
        if ctype == INT and isinstance(value, int) and not isinstance(value, bool):
            return value
        if ctype == DECIMAL and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return Decimal(value)
        if ctype == DATE and isinstance(value, str):
            try:
                return parse_date(value)
            except ValueError:
                pass
        self.error("table.cell_type", msg("column {column} holds {type}, found {value}", column=repr(column),
                                          type=_CELL_WORDS.get(ctype, ctype),
                                          value=schemacheck.describe_value(value)),
                   path, hint=self._yaml_hint(path) if ctype in (STRING, DATE) else None)
        return _BAD


_BAD = object()
# a column's type as an officer reads it: a money column holds an amount, not "decimal"
_CELL_WORDS: dict = {STRING: msg("text"), INT: msg("a whole number"), DECIMAL: msg("an amount (a number, exact)"),
               BOOL: msg("true or false"), DATE: msg("a date written YYYY-MM-DD")}


def _exact_types(columns: dict) -> tuple:
    """For each column, the Python type a cell of it is taken as it is (what `_cell` would return unchanged), or
    None: a table of 66,000 rows reads its cells without comparing types per cell."""
    exact = {STRING: str, BOOL: bool, INT: int}
    return tuple(exact.get(ctype) if isinstance(ctype, Prim) else None for ctype in columns.values())

REPEAL_KEYS = ("policy", "version", "title", "effective", "issued_on", "source", "repeals")  # all a repeal holds
# keys written as the notice says them: the format's own key is offered for them
CHINESE_KEYS = {"条款": ("clause", "clauses"), "规则": ("rules",), "表": ("tables",), "定义": ("definitions",),
                 "说明": ("notes", "description"), "标题": ("title",), "版本": ("version",), "政策": ("policy",),
                 "金额": ("amount",), "条件": ("require", "when"), "提示": ("message",), "来源": ("source",),
                 "文号": ("number",), "生效": ("effective",), "发布日期": ("issued_on",), "印发日期": ("issued_on",),
                 "输出": ("outputs",), "决定": ("decision",), "行": ("rows",), "列": ("columns",), "键": ("key",),
                 "表达式": ("expr",), "编号": ("id",), "原文": ("clauses",), "发文机关": ("issuers",)}


def _wide_comma(text: str):
    """A hint for `[二，三]`: the Chinese input method's comma '，' does not separate the items of a YAML list, so
    the two items were read as one text."""
    if "，" not in text:
        return None
    return msg("{text} holds a full-width comma '，', which YAML does not read as a separator: write ', ' "
               "(half-width) between the items: {fixed}", text=repr(text), fixed=", ".join(
                   part.strip() for part in text.split("，")))


ROW_CHANGES = ("add_rows", "replace_rows", "remove_rows")  # what an amending version may say of a table's rows


def reader_for(version: PolicyVersion) -> _Reader:
    """A reader of `version`'s own file, to read parts that need another version first (an amendment's rows)."""
    assert version.document is not None
    reader = _Reader(version.document, Path(version.file))
    reader.clause_ids = list(version.own_clauses if version.own_clauses is not None else version.clauses)
    return reader


def _at(value, path):
    for p in path:
        try:
            value = value[p]
        except (KeyError, IndexError, TypeError):
            return None
    return value

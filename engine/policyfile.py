"""Policy files: YAML text → a `PolicyVersion` whose expressions are parsed and whose tables are typed.

Every problem found is collected as a Diagnostic naming file, line, column and clause; loading goes on
past a bad part so that `policy check` reports all problems at once.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import schemacheck
from .diagnostics import Diagnostic, DiagnosticError, Location
from .isodate import parse_date
from .syntax import Expr, SourceText, parse
from .types import DATE, DECIMAL, INT, STRING, BOOL, TYPE_NAMES, Field, Record, TableType, Type, parse_type_name
from .yamlsource import Document, plain_style, read_yaml

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "policy.schema.json"


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
    owner: "PolicyVersion | None" = None


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
    owner: "PolicyVersion | None" = None


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
    owner: "PolicyVersion | None" = None


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
    owner: "PolicyVersion | None" = None


@dataclass
class Note:
    id: str
    clauses: tuple
    when: Expression | None
    text: str
    location: Location
    reading: str = ""
    overrides: bool = False
    owner: "PolicyVersion | None" = None


@dataclass
class InputCheck:
    id: str
    fact: str
    when: Expression | None
    require: Expression
    message: str
    location: Location
    overrides: bool = False
    owner: "PolicyVersion | None" = None


@dataclass
class AmountRule:
    expr: Expression
    currency: str
    clauses: tuple
    location: Location
    overrides: bool = False
    owner: "PolicyVersion | None" = None


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
    tables: dict = field(default_factory=dict)
    definitions: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    not_computable: list = field(default_factory=list)
    decision: AmountRule | None = None
    content: Any = None  # the plain data, for digests and structural diffs
    document: Document | None = None
    digest: str = ""

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def location(self, *path) -> Location:
        return self.document.location(path) if self.document else Location(self.file)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@lru_cache(maxsize=1)
def policy_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _policy_validator():
    return schemacheck.make_validator(policy_schema())


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
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_policy_file(path: Path, display: str | None = None) -> tuple[PolicyVersion | None, list[Diagnostic]]:
    """Read, validate and parse one policy file. Returns (version or None, diagnostics)."""
    display = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic("input.unreadable", f"cannot read the file: {exc.strerror}", Location(display))]
    try:
        doc = read_yaml(data, display)
    except DiagnosticError as exc:
        return None, exc.diagnostics
    return _Reader(doc).read()


class _Reader:
    def __init__(self, doc: Document):
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        self.clause_ids: set = set()

    def error(self, code: str, message: str, path, clause=None, hint=None, severity="error"):
        loc = self.doc.location(path)
        clause = clause or self._clause_at(tuple(path))
        self.diagnostics.append(Diagnostic(code, message, loc, clause=clause, severity=severity,
                                           source_line=self.doc.line_text(loc.line), hint=hint))

    def read(self):
        value = self.doc.value
        if not isinstance(value, dict):
            self.error("schema.type", "a policy file must be a mapping of keys such as policy, version, rules", ())
            return None, self.diagnostics
        for path, message, wanted in schemacheck.validate_typed(_policy_validator(), value):
            self.error("schema.invalid", message, path, hint=self._yaml_hint(path) if "string" in wanted else None)
        if self.diagnostics:
            return None, self.diagnostics
        return self._build(value), self.diagnostics

    def _yaml_hint(self, path) -> str | None:
        node_value = _at(self.doc.value, path)
        if plain_style(self.doc, path) and not isinstance(node_value, str) and node_value is not None:
            raw = self.doc.scalars[tuple(path)].value
            return f"YAML reads the unquoted {raw!r} as {schemacheck.describe_value(node_value)}; quote it: \"{raw}\""
        return None

    def expression(self, path) -> Expression:
        path = tuple(path)
        node = self.doc.scalars.get(path)
        text = _at(self.doc.value, path)
        if node is not None:
            source = SourceText.from_yaml_scalar(self.doc.file, self.doc.text, node)
        else:
            loc = self.doc.location(path)
            source = SourceText(text, self.doc.file, line=loc.line, column=loc.column)
        try:
            tree = parse(source)
        except DiagnosticError as exc:
            clause = self._clause_at(path)
            self.diagnostics.extend(Diagnostic(d.code, d.message, d.location, clause, d.severity, d.source_line, d.hint)
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
        ids = (value,) if isinstance(value, str) else tuple(value)
        for i, cid in enumerate(ids):
            if cid not in self.clause_ids:
                where = path if isinstance(value, str) else path + (i,)
                self.error("clause.unknown", f"clause {cid!r} is not among source.clauses "
                           f"({', '.join(sorted(self.clause_ids))})", where)
        return ids

    def ref(self, value, path) -> Ref:
        if isinstance(value, dict):
            return Ref(value["policy"], value.get("version"), self.doc.location(path))
        pid, _, version = value.partition("@")
        return Ref(pid, version or None, self.doc.location(path))

    def _build(self, v: dict) -> PolicyVersion:
        self.clause_ids = set(v["source"]["clauses"])
        eff = v["effective"]
        pv = PolicyVersion(
            id=v["policy"], version=v["version"], title=v["title"], file=self.doc.file,
            effective_from=parse_date(eff["from"]),
            effective_to=parse_date(eff["to"]) if "to" in eff else None,
            issued_on=parse_date(v["issued_on"]),
            review_by=parse_date(v["review_by"]) if "review_by" in v else None,
            source=v["source"], clauses=dict(v["source"]["clauses"]),
            input_schema=(v.get("input") or {}).get("schema"),
            extends=self.ref(v["extends"], ("extends",)) if "extends" in v else None,
            uses={alias: self.ref(r, ("uses", alias)) for alias, r in (v.get("uses") or {}).items()},
            exports=tuple(v.get("exports") or ()),
            content=v, document=self.doc)
        if pv.effective_to and pv.effective_to < pv.effective_from:
            self.error("version.dates", "effective.to is before effective.from", ("effective", "to"))
        for name, t in (v.get("tables") or {}).items():
            table = self._table(name, t, ("tables", name))
            if table:
                table.owner = pv
                pv.tables[name] = table
        for name, d in (v.get("definitions") or {}).items():
            pv.definitions[name] = self._definition(name, d, ("definitions", name), pv)
        seen_rules: dict = {}
        for i, r in enumerate(v.get("rules") or ()):
            path = ("rules", i)
            if r["id"] in seen_rules:
                self.error("rule.duplicate", f"rule id {r['id']!r} is used twice (first at rule {seen_rules[r['id']] + 1})",
                           path + ("id",))
                continue
            seen_rules[r["id"]] = i
            pv.rules.append(Rule(
                r["id"], self.clauses(r["clause"], path + ("clause",)),
                self.expression(path + ("when",)) if "when" in r else None,
                self.expression(path + ("require",)), dict(r["message"]), self.doc.location(path),
                r.get("reading", ""), r.get("overrides", False), pv))
        for name, o in (v.get("outputs") or {}).items():
            path = ("outputs", name)
            pv.outputs[name] = Output(
                name, self.expression(path + ("expr",)),
                self.expression(path + ("when",)) if "when" in o else None,
                self.clauses(o["clause"], path + ("clause",)), self.doc.location(path),
                o.get("description", ""), o.get("reading", ""), o.get("overrides", False), pv)
        for i, n in enumerate(v.get("notes") or ()):
            path = ("notes", i)
            pv.notes.append(Note(n["id"], self.clauses(n["clause"], path + ("clause",)),
                                 self.expression(path + ("when",)) if "when" in n else None, n["text"],
                                 self.doc.location(path), n.get("reading", ""), n.get("overrides", False), pv))
        for i, c in enumerate((v.get("input") or {}).get("checks") or ()):
            path = ("input", "checks", i)
            pv.checks.append(InputCheck(c["id"], c["fact"],
                                        self.expression(path + ("when",)) if "when" in c else None,
                                        self.expression(path + ("require",)), c["message"],
                                        self.doc.location(path), c.get("overrides", False), pv))
        for i, nc in enumerate(v.get("not_computable") or ()):
            self.clauses(nc["clause"], ("not_computable", i, "clause"))
            pv.not_computable.append(dict(nc))
        if "decision" in v:
            d = v["decision"]
            pv.decision = AmountRule(self.expression(("decision", "amount")), d["currency"],
                                     self.clauses(d["clause"], ("decision", "clause")),
                                     self.doc.location(("decision",)), d.get("overrides", False), pv)
        return pv

    def _definition(self, name, d, path, pv) -> Definition:
        if isinstance(d, str):
            return Definition(name, self.expression(path), (), None, (), self.doc.location(path), owner=pv)
        params = []
        for pname, tname in (d.get("params") or {}).items():
            ptype = parse_type_name(tname)
            if ptype is None:
                self.error("type.unknown", f"unknown type {tname!r} for parameter {pname!r}; use one of {TYPE_NAMES}",
                           path + ("params", pname))
                ptype = STRING
            params.append(Field(pname, ptype))
        declared = None
        if "type" in d:
            declared = parse_type_name(d["type"])
            if declared is None:
                self.error("type.unknown", f"unknown type {d['type']!r}; use one of {TYPE_NAMES}", path + ("type",))
        clauses = self.clauses(d["clause"], path + ("clause",)) if "clause" in d else ()
        return Definition(name, self.expression(path + ("expr",)), tuple(params), declared, clauses,
                          self.doc.location(path), d.get("description", ""), d.get("reading", ""),
                          d.get("overrides", False), pv)

    def _table(self, name, t, path) -> Table | None:
        clauses = self.clauses(t["clause"], path + ("clause",))
        columns: dict = {}
        for cname, tname in t["columns"].items():
            ctype = parse_type_name(tname)
            if ctype is None or not isinstance(ctype, type(STRING)):
                self.error("table.column_type", f"column {cname!r} has unknown type {tname!r}; "
                           "use one of bool, int, decimal, money, string, date", path + ("columns", cname))
                ctype = STRING
            columns[cname] = ctype
        keys = tuple(t["key"])
        for i, k in enumerate(keys):
            if k not in columns:
                self.error("table.key", f"key column {k!r} is not among the columns", path + ("key", i))
                return None
        rows: dict = {}
        ok = True
        for i, raw in enumerate(t["rows"]):
            rpath = path + ("rows", i)
            row = self._row(raw, columns, rpath)
            if row is None:
                ok = False
                continue
            key = tuple(row[k] for k in keys)
            if key in rows:
                self.error("table.duplicate_row", f"a second row for key {', '.join(map(str, key))}", rpath)
                ok = False
                continue
            rows[key] = row
        if not ok:
            return None
        row_type = Record(f"{name} row", tuple(Field(c, ct) for c, ct in columns.items()))
        ttype = TableType(name, tuple(Field(k, columns[k]) for k in keys), row_type)
        return Table(name, clauses, keys, ttype, rows, self.doc.location(path), t.get("description", ""),
                     t.get("reading", ""), t.get("overrides", False))

    def _row(self, raw, columns: dict, path) -> dict | None:
        names = list(columns)
        if isinstance(raw, list):
            if len(raw) != len(names):
                self.error("table.row_shape", f"the row has {len(raw)} cell{'s' if len(raw) != 1 else ''}; "
                           f"the columns are {', '.join(names)}", path)
                return None
            cells = {n: (raw[i], path + (i,)) for i, n in enumerate(names)}
        else:
            extra = sorted(set(raw) - set(names))
            missing = [n for n in names if n not in raw]
            if extra or missing:
                self.error("table.row_shape", "the row " + "; ".join(
                    ([f"has unknown columns {', '.join(extra)}"] if extra else [])
                    + ([f"lacks {', '.join(missing)}"] if missing else [])), path)
                return None
            cells = {n: (raw[n], path + (n,)) for n in names}
        row = {}
        for name, (value, cpath) in cells.items():
            converted = self._cell(value, columns[name], cpath, name)
            if converted is _BAD:
                return None
            row[name] = converted
        return row

    def _cell(self, value, ctype: Type, path, column: str):
        wanted = {STRING: str, BOOL: bool}.get(ctype)
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
        self.error("table.cell_type", f"column {column!r} holds {ctype}, found {schemacheck.describe_value(value)}",
                   path, hint=self._yaml_hint(path) if ctype in (STRING, DATE) else None)
        return _BAD


_BAD = object()


def _at(value, path):
    for p in path:
        try:
            value = value[p]
        except (KeyError, IndexError, TypeError):
            return None
    return value

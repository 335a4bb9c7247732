"""What the editor asks about a policy file, answered from the engine's own stages (no LSP types here).

A document is checked as `policy check` checks it, with the editor's unsaved text read in place of the
file; hover, completion and go-to-definition read the checked namespace of the version the document is
(every name resolved as the checker resolved it, inherited ones included).
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from engine.api import Engine
from engine.core.diagnostics import Diagnostic, DiagnosticError, Note, text_lines
from engine.core.i18n import msg, plural, tr
from engine.core.records import dataclass
from engine.language.builtins import BUILTINS, DECISION_DATE
from engine.language.syntax import KEYWORDS, Attr, Comprehension, Index, Name, children, dotted
from engine.language.types import FunctionType, Record, Type, non_null
from engine.policies.store import PolicyStore, is_policy_file
from engine.policies.yamlsource import Document, read_yaml

_EXPRESSION_KEYS = {"when", "require", "expr", "amount"}
_CHAIN = re.compile(r"[\w.]+")


@dataclass
class Place:
    """Where something is defined: a file and a 1-based line and column."""

    file: str
    line: int
    column: int = 1
    length: int = 0  # of the name there, for a range


@dataclass
class Completion:
    label: str
    kind: str  # fact | definition | function | table | alias | builtin | keyword | clause | column
    detail: str = ""
    documentation: str = ""


class Analysis:
    """One document, read and checked with the text the editor holds."""

    def __init__(self, policies: Path, schemas: Path | None, path: Path, text: str):
        self.path = path
        self.text = text
        self.lines = text_lines(text)  # as the protocol and every location count lines
        # a file of the policies folder is found there, unless the editor has not saved it yet (a new version)
        inside = _inside(path, policies) and path.exists()
        extra = [] if inside or not is_policy_file(path) else [path]
        store = PolicyStore.load(policies, schemas, extra, unsaved={path: text})
        self.engine = Engine(store)
        self.display = store.display(path)
        self.version = next((v for vs in store.by_id.values() for v in vs if v.file == self.display), None)
        self.checked = None
        if self.version is not None:
            try:
                self.checked = self.engine.checked(self.engine.linked(self.version, self.version.effective_from))
            except Exception:  # a reference that cannot be resolved: check reports it; hover has less to say
                self.checked = None
        self.doc: Document | None
        try:
            self.doc = read_yaml(text, self.display)
        except DiagnosticError:
            self.doc = None

    # -- diagnostics ---------------------------------------------------------------------------------

    def diagnostics(self) -> list[Diagnostic]:
        """What `policy check FILE` reports for this file."""
        found = self.engine.check(date.today(), {self.display})
        here = [d for d in found if d.location.file == self.display]
        # an error in another file that this one causes (a version taking effect the same day, an amendment that
        # breaks an item it carries over) is shown here too, where its note points, with the error's own place
        for d in found:
            note = next((n for n in d.notes if n.location.file == self.display), None)
            if d.location.file != self.display and note is not None:
                here.append(Diagnostic(d.code, d.message, note.location, d.clause, d.severity, note.source_line, d.hint,
                                       (Note(msg("the error is reported here"), d.location, d.source_line),)))
        return here

    # -- what is under the cursor --------------------------------------------------------------------

    def _scalar_at(self, line: int, column: int):
        """(path, node) of the YAML scalar at 0-based line and column, or (None, None)."""
        if self.doc is None:
            return None, None
        for path, node in self.doc.scalars.items():
            start, end = node.start_mark, node.end_mark
            if (start.line, start.column) <= (line, column) <= (end.line, end.column):
                return path, node
        return None, None

    def _chain_at(self, line: int, column: int) -> str | None:
        """The dotted name under the cursor, up to the part the cursor is on (`applicant.social_insurance`
        when it is on social_insurance of applicant.social_insurance.region)."""
        text = self.lines[line] if line < len(self.lines) else ""
        for m in _CHAIN.finditer(text):
            if m.start() <= column <= m.end():
                chain = m.group()
                cut = chain.find(".", column - m.start())
                return (chain if cut < 0 else chain[:cut]).strip(".") or None
        return None

    def _context(self, line: int, column: int) -> str:
        path, _ = self._scalar_at(line, column)
        if path is None:
            before = self.lines[line][:column] if line < len(self.lines) else ""
            if re.search(r"\bclause:\s*(\[[^\]]*)?$", before):
                return "clause"
            return "expression"
        if "clause" in path[-2:]:
            return "clause"
        if path[-1] in _EXPRESSION_KEYS or (len(path) == 2 and path[0] == "definitions"):
            return "expression"
        if path[0] in ("extends", "uses"):
            return "reference"
        return "other"

    def _enclosing_params(self, line: int, column: int) -> dict:
        path, _ = self._scalar_at(line, column)
        if path and path[0] == "definitions" and self.checked is not None:
            definition = self.checked.linked.definitions.get(path[1])
            if definition is not None:
                return {p.name: p.type for p in definition.params}
        return {}

    # -- hover ---------------------------------------------------------------------------------------

    def hover(self, line: int, column: int) -> str | None:
        context = self._context(line, column)
        chain = self._chain_at(line, column)
        if context == "clause":
            clause = self._clause_word(line, column)
            return self._clause_text(clause, self.version) if clause else None
        if context == "reference":
            target = self._reference_target(line, column)
            return f"**{target.key}** {target.title}\n\n{target.file}" if target else None
        if context != "expression" or not chain or self.checked is None:
            return None
        return self._describe(chain, self._enclosing_params(line, column))

    def _clause_word(self, line: int, column: int) -> str | None:
        """The clause cited under the cursor: one of the file's own, or (in an amendment) one of the document it
        amends, by its id or written out with its document's number (`金人社发〔2024〕15号 四`, which holds a space)."""
        if self.version is None:
            return None
        text = self.lines[line]
        known = set(_written(self.version)) | set(self.version.clauses) | {
            k.rpartition(" ")[2] for k in self.version.clauses}
        found = [cid for cid in known for m in re.finditer(re.escape(cid), text)
                 if m.start() <= column <= m.end() and _bounded(text, m.start(), m.end())]
        return max(found, key=len) if found else None

    def _clause_text(self, clause: str, version) -> str | None:
        if version is None:
            return None
        if clause in _written(version):
            number = version.clause_docs.get(clause) or version.source.get("number", "")
            return f"**{clause}** ({number})\n\n{_written(version)[clause]}"
        # a clause of an earlier document of the version (an amendment's): as written in full, or by its id alone
        full = [k for k in version.clauses if k == clause or k.endswith(" " + clause)]
        if len(full) != 1:
            return None
        number, _, cid = full[0].rpartition(" ")
        return f"**{cid}** ({number})\n\n{version.clauses[full[0]]}"

    def _describe(self, chain: str, params: dict) -> str | None:
        assert self.checked is not None  # hover asks only when the version could be checked
        linked = self.checked.linked
        head, *rest = chain.split(".")
        if head in params and not rest:
            return tr("parameter `{name}`: `{type}`", name=head, type=params[head])
        if head == DECISION_DATE and not rest:
            return tr("`decision_date`: `date` — the day the claim is decided on (its applied_on, or --as-of)")
        facts = linked.schema.type if linked.schema else None
        if facts is not None and facts.field(head) is not None:
            return self._describe_fact(chain, facts)
        if head in linked.aliases:
            target = linked.aliases[head]
            if not rest:
                return tr("alias `{name}` → {version} {title}", name=head, version=target.version.key,
                          title=target.version.title)
            return self._describe_name(rest[0], target, self.checked.aliases.get(head))
        if not rest:
            if head in BUILTINS:
                return tr("built-in `{signature}`", signature=BUILTINS[head].signature)
            return self._describe_name(head, linked, self.checked)
        return None

    def _describe_fact(self, chain: str, facts: Record) -> str | None:
        assert self.checked is not None and self.checked.linked.schema is not None  # facts come from its schema
        t: Type = facts
        field = None
        for part in chain.split("."):
            record = non_null(t)
            field = record.field(part) if isinstance(record, Record) else None
            if field is None:
                return None
            t = field.type
        if field is None:
            return None
        description = _schema_description(self.checked.linked.schema.schema, chain.split("."))
        optional = tr(" (optional)") if field.optional else ""
        enum = "\n\n" + tr("one of: {values}", values=", ".join(map(str, field.enum))) if field.enum else ""
        described = f"\n\n{description}" if description else ""
        return tr("fact `{path}`: `{type}`", path=chain, type=t) + optional + described + enum

    def _describe_name(self, name: str, linked, checked) -> str | None:
        definition = linked.definitions.get(name)
        if definition is not None:
            t = checked.definition_types.get(name) if checked else None
            signature = f"{name}({', '.join(f'{p.name}: {p.type}' for p in definition.params)})" \
                if definition.params else name
            result = t.result if isinstance(t, FunctionType) else t
            owner = definition.owner
            lines = [tr("definition `{signature}`: `{type}`", signature=signature, type=result),
                     f"```\n{' '.join(definition.expr.text.split())}\n```"]
            if definition.description:
                lines.append(definition.description)
            lines += [self._clause_text(c, owner) or tr("clause {clause}", clause=c) for c in definition.clauses]
            if owner is not None:
                lines.append(tr("defined in {version} ({file}:{line})", version=owner.key, file=owner.file,
                                line=definition.location.line))
            return "\n\n".join(lines)
        table = linked.tables.get(name)
        if table is not None:
            columns = ", ".join(f"{f.name}: {f.type}" for f in table.type.row.fields)
            lines = [plural(len(table.rows), "table `{name}` key ({keys}); {count} row",
                            "table `{name}` key ({keys}); {count} rows", name=name, keys=", ".join(table.keys)),
                     columns]
            if table.description:
                lines.append(table.description)
            lines += [self._clause_text(c, table.owner) or tr("clause {clause}", clause=c) for c in table.clauses]
            if table.owner is not None:
                lines.append(tr("defined in {version} ({file}:{line})", version=table.owner.key, file=table.owner.file,
                                line=table.location.line))
            return "\n\n".join(lines)
        return None

    # -- completion ----------------------------------------------------------------------------------

    def completions(self, line: int, column: int) -> list[Completion]:
        before = self.lines[line][:column] if line < len(self.lines) else ""
        if self._context(line, column) == "clause" or re.search(r"\bclause:\s*(\[[^\]]*)?\s*$", before):
            if self.version is None:
                return []
            number = self.version.source.get("number", "")
            return [Completion(cid, "clause", self.version.clause_docs.get(cid) or number, text)
                    for cid, text in _written(self.version).items()]
        if self.checked is None:
            return []
        linked = self.checked.linked
        typed_match = re.search(r"([\w.]*)$", before)
        typed = typed_match.group(1) if typed_match else ""
        facts = linked.schema.type if linked.schema else None
        if "." in typed:
            base = typed.rsplit(".", 1)[0]
            head, *rest = base.split(".")
            if head in linked.aliases and not rest:
                target = linked.aliases[head]
                return [Completion(n, "definition" if n in target.definitions else "table", target.version.key)
                        for n in target.exports]
            if facts is None:
                return []
            t: Type = facts
            for part in base.split("."):
                record = non_null(t)
                field = record.field(part) if isinstance(record, Record) else None
                if field is None:
                    return []
                t = field.type
            record = non_null(t)
            if not isinstance(record, Record):
                return []
            return [Completion(f.name, "fact", str(f.type)) for f in record.fields]
        items = [Completion(f.name, "fact", str(f.type)) for f in (facts.fields if facts else ())]
        for name, definition in linked.definitions.items():
            known = self.checked.definition_types.get(name)
            items.append(Completion(name, "function" if definition.params else "definition", str(known or ""),
                                    definition.description))
        for name, table in linked.tables.items():
            items.append(Completion(name, "table", tr("key ({keys})", keys=", ".join(table.keys)), table.description))
            items += [Completion(f.name, "column", tr("{table} column: {type}", table=name, type=f.type))
                      for f in table.type.row.fields]
        items += [Completion(alias, "alias", target.version.key) for alias, target in linked.aliases.items()]
        items += [Completion(name, "builtin", b.signature) for name, b in BUILTINS.items()]
        items += [Completion("has", "builtin", "has(fact or lookup) -> bool"),
                  Completion(DECISION_DATE, "fact", "date")]
        items += [Completion(k, "keyword") for k in sorted(KEYWORDS)]
        unique: dict[tuple, Completion] = {}
        for item in items:
            unique.setdefault((item.label, item.kind), item)
        return list(unique.values())

    # -- go to definition ----------------------------------------------------------------------------

    def definition(self, line: int, column: int) -> Place | None:
        context = self._context(line, column)
        if context == "reference":
            target = self._reference_target(line, column)
            return Place(target.file, 1) if target else None
        if context == "clause":
            clause = self._clause_word(line, column)
            holder = _clause_holder(self.version, clause) if clause else None
            if holder is not None and holder[0].document is not None:
                loc = holder[0].document.key_location(("source", "clauses", holder[1]))
                return Place(loc.file, loc.line, loc.column)
            return None
        chain = self._chain_at(line, column)
        if not chain or self.checked is None:
            return None
        linked = self.checked.linked
        head, *rest = chain.split(".")
        if head in linked.aliases and len(rest) == 1:
            linked, head, rest = linked.aliases[head], rest[0], []
        if rest:
            return None
        item = linked.definitions.get(head) or linked.tables.get(head)
        if item is None or item.owner is None:
            return None
        return Place(item.owner.file, item.location.line, item.location.column)

    # -- find references -----------------------------------------------------------------------------

    def references(self, line: int, column: int, include_declaration: bool = True) -> list[Place]:
        """Every place that names what is under the cursor — a definition or table, a table's column, a fact path
        or a rule id — in this file and in every file that reaches it through `extends` or `uses`."""
        target = self._reference_at(line, column) if self.version is not None else None
        if target is None:
            return []
        found: list[Place] = []
        for version, linked in self._all_linked():
            found += self._uses_in(version, linked, target)
            if include_declaration:
                found += self._declared_in(version, linked, target)
        unique = {(p.file, p.line, p.column): p for p in found}
        return [unique[k] for k in sorted(unique)]

    def _all_linked(self) -> list:
        """(version, its namespace linked on its first day) for every version of the store that links."""
        out = []
        for versions in self.engine.store.by_id.values():
            for version in versions:
                try:
                    out.append((version, self.engine.linked(version, version.effective_from)))
                except Exception:  # a version whose references do not resolve: check reports it
                    continue
        return out

    def _reference_at(self, line: int, column: int) -> tuple | None:
        """What is under the cursor: ("item", owner key, name), ("column", owner key, table, column),
        ("fact", path) or ("rule", rule id)."""
        assert self.version is not None
        cursor = (line + 1, column + 1)
        linked = self.checked.linked if self.checked is not None else None
        candidates = []  # the innermost node under the cursor that names something
        for expression, bound in _expressions(self.version):
            for node, inside, start, names in _nodes(expression, bound):
                if names or not (start <= cursor <= _end(expression, node)):
                    continue
                found = _what(node, inside, linked)
                if found is not None:
                    candidates.append((start, found))
        if candidates:
            return max(candidates, key=lambda c: c[0])[1]
        word = self._word_at(line, column)
        for name, item in (*self.version.definitions.items(), *self.version.tables.items()):
            if name == word and item.location.line == cursor[0]:
                return ("item", self.version.key, name)
        for table_name, table in self.version.tables.items():
            doc = self.version.document
            for column_name in table.keys + tuple(f.name for f in table.type.row.fields):
                if column_name == word and doc is not None and \
                        doc.key_location(("tables", table_name, "columns", column_name)).line == cursor[0]:
                    return ("column", self.version.key, table_name, column_name)
        for rule in self.version.rules:
            if rule.id == word and rule.location.line == cursor[0]:
                return ("rule", rule.id)
        return None

    def _word_at(self, line: int, column: int) -> str | None:
        text = self.lines[line] if line < len(self.lines) else ""
        for m in re.finditer(r"\w+", text):
            if m.start() <= column <= m.end():
                return m.group()
        return None

    def _uses_in(self, version, linked, target: tuple) -> list[Place]:
        kind = target[0]
        if kind == "rule":
            return self._cases_naming(version, linked, target[1])
        if kind == "fact" and (linked.schema is None or self.checked is None or self.checked.linked.schema is None
                               or linked.schema.name != self.checked.linked.schema.name):
            return []  # a fact path means the same only where the same input schema is read
        places = []
        for expression, bound in _expressions(version):
            for node, inside, start, names in _nodes(expression, bound):
                if not names and _what(node, inside, linked) == target:
                    places.append(_place(expression, node, start))
        return places

    def _declared_in(self, version, linked, target: tuple) -> list[Place]:
        kind = target[0]
        if kind == "item":
            item = version.definitions.get(target[2]) or version.tables.get(target[2])
            if item is not None and (version.key == target[1] or _extends(linked, target[1])):
                return [Place(version.file, item.location.line, item.location.column, len(target[2]))]
        elif kind == "column":
            table = version.tables.get(target[2])
            if table is not None and version.document is not None and version.key == target[1]:
                loc = version.document.key_location(("tables", target[2], "columns", target[3]))
                return [Place(version.file, loc.line, loc.column, len(target[3]))]
        elif kind == "rule" and self._related(linked) and version.document is not None:
            written = version.document.value.get("rules") if isinstance(version.document.value, dict) else None
            places = []
            for index, rule in enumerate(written if isinstance(written, list) else []):
                if isinstance(rule, dict) and rule.get("id") == target[1]:
                    loc = version.document.location(("rules", index, "id"))
                    places.append(Place(version.file, loc.line, loc.column, len(target[1])))
            return places
        return []

    def _related(self, linked) -> bool:
        """Whether a linked version and this one share a version through `extends` (a rule id is inherited)."""
        if self.checked is None:
            return False
        return bool({v.key for v in linked.chain} & {v.key for v in self.checked.linked.chain})

    def _cases_naming(self, version, linked, rule_id: str) -> list[Place]:
        """The example cases beside a version related to this one that expect the rule to fail."""
        if not self._related(linked):
            return []
        cases = Path(version.file).with_name(Path(version.file).stem + ".cases.yaml")
        try:
            doc = read_yaml(cases.read_text(encoding="utf-8"), str(cases))
        except (OSError, UnicodeDecodeError, DiagnosticError):
            return []
        return [Place(str(cases), node.start_mark.line + 1, node.start_mark.column + 1, len(rule_id))
                for path, node in doc.scalars.items() if "failed_rules" in path and node.value == rule_id]

    def _reference_target(self, line: int, column: int):
        """The version an `extends` or `uses` entry at the cursor resolves to on this version's first day."""
        path, _ = self._scalar_at(line, column)
        if path is None or self.checked is None:
            return None
        linked = self.checked.linked
        if path[0] == "extends":
            return linked.chain[1] if len(linked.chain) > 1 else None
        if path[0] == "uses" and len(path) > 1 and path[1] in linked.aliases:
            return linked.aliases[path[1]].version
        return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def _schema_description(schema: dict, parts: list) -> str | None:
    """The description a JSON Schema gives the property at parts (following local $refs)."""
    node: Any = schema
    for part in parts:
        node = _deref(schema, node)
        node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    description = node.get("description") if isinstance(node, dict) else None
    return description or (_deref(schema, node).get("description") if isinstance(node, dict) else None)


def _deref(schema: dict, node):
    for _ in range(16):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target = schema
        for key in node["$ref"][2:].split("/"):
            target = target.get(key, {}) if isinstance(target, dict) else {}
        node = target
    return node


def _clause_holder(version, clause: str):
    """(the version whose file writes `clause` under source.clauses, the id written there): the version itself,
    or, for an amendment citing a clause of what it amends, the amended version (however far back)."""
    number, _, cid = clause.rpartition(" ") if clause not in _written(version) else ("", "", clause)
    current = version
    while current is not None:
        own = _written(current)
        if cid in own and (not number or (current.clause_docs.get(cid) or current.source.get("number")) == number):
            return current, cid
        current = current.amended
    return None


def _bounded(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands alone as a clause id: not part of a longer word of the line."""
    edges = " ,[]:{}'\"\t"
    return (start == 0 or text[start - 1] in edges) and (end == len(text) or text[end] in edges)


def _written(version) -> dict:
    """The clause ids a file cites, as written in it (an amendment's or several documents' version also holds them
    written out with their documents, for what it shows)."""
    return version.own_clauses if version.own_clauses is not None else version.clauses


# -- what expressions name (for find references) ------------------------------------------------------------------


def _expressions(version):
    """(expression, names bound in it: a definition's parameters) for every expression a version writes itself."""
    for definition in version.definitions.values():
        yield definition.expr, frozenset(p.name for p in definition.params)
    for item in (*version.rules, *version.outputs.values(), *version.notes, *version.checks,
                 *([version.decision] if version.decision is not None else [])):
        for attribute in ("when", "require", "expr"):
            expression = getattr(item, attribute, None)
            if expression is not None and getattr(expression, "tree", None) is not None:
                yield expression, frozenset()


def _nodes(expression, bound: frozenset):
    """(node, names bound around it, (line, column) where it starts, whether its head name is bound) for each node."""
    if expression.tree is None:
        return
    stack = [(expression.tree, bound)]
    while stack:
        node, names = stack.pop()
        head = _head(node)
        yield node, names, _at(expression, node.span[0]), head is not None and head in names
        if isinstance(node, Comprehension):
            stack += [(node.source, names), (node.body, names | {node.var})]
        else:
            stack += [(child, names) for child in children(node)]


def _head(node) -> str | None:
    while isinstance(node, (Attr, Index)):
        node = node.obj
    return node.name if isinstance(node, Name) else None


def _at(expression, offset: int) -> tuple:
    loc = expression.source.location(offset)
    return (loc.line, loc.column)


def _end(expression, node) -> tuple:
    return _at(expression, node.span[1])


def _what(node, bound: frozenset, linked) -> tuple | None:
    """What a node names in `linked`'s namespace, in the terms of _reference_at; None for anything else."""
    if linked is None:
        return None
    if isinstance(node, Name) and node.name not in bound:
        item = linked.definitions.get(node.name) or linked.tables.get(node.name)
        if item is not None and item.owner is not None:
            return ("item", item.owner.key, node.name)
        facts = linked.schema.type if linked.schema else None
        if facts is not None and facts.field(node.name) is not None:
            return ("fact", node.name)
        return None
    if not isinstance(node, Attr):
        return None
    if isinstance(node.obj, Index):  # table[key].column, the table named directly or through an alias
        table = node.obj.obj
        space, name = linked, dotted(table)
        if isinstance(table, Attr) and isinstance(table.obj, Name) and table.obj.name in linked.aliases:
            space, name = linked.aliases[table.obj.name], table.name
        found = space.tables.get(name) if name else None
        if found is not None and found.owner is not None:
            return ("column", found.owner.key, name, node.name)
        return None
    if isinstance(node.obj, Name) and node.obj.name in linked.aliases:
        space = linked.aliases[node.obj.name]
        item = space.definitions.get(node.name) or space.tables.get(node.name)
        return ("item", item.owner.key, node.name) if item is not None and item.owner is not None else None
    chain = dotted(node)
    facts = linked.schema.type if linked.schema else None
    if chain and facts is not None and facts.field(chain.split(".")[0]) is not None \
            and chain.split(".")[0] not in linked.definitions:
        return ("fact", chain)
    return None


def _place(expression, node, start: tuple) -> Place:
    """Where the name itself is: the last part of `a.b.c` or `t[k].c`, or the whole of a bare name."""
    if isinstance(node, Attr):
        line, column = _at(expression, node.span[1] - len(node.name))
        return Place(expression.source.file, line, column, len(node.name))
    return Place(expression.source.file, start[0], start[1], len(node.name))


def _extends(linked, owner_key: str) -> bool:
    return any(v.key == owner_key for v in linked.chain[1:])

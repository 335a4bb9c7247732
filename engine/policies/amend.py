"""Amendments: a version that states only what it changes in the version before it (`amends:`).

A revision that changes twenty lines of a long notice is written as those twenty lines: rows added to,
replaced in or removed from a table (`add_rows`, `replace_rows`, `remove_rows`), rules, definitions, outputs,
notes and input checks added, replaced (`replaces: true`, the labelled exception, as `overrides: true` is for
`extends`) or removed (`remove:`), clauses of its own document added. The store resolves each amending
version into the whole it stands for, so that everything after it — linking, checking, `policy show`,
`policy diff`, deciding — sees one complete version. Items carried over keep their owner (the version that
wrote them), so an error in one is reported in the file it is written in. The digest of an amending version
covers its own file and the digest of the version it amends: the resolved whole, and nothing else.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.diagnostics import Diagnostic, cited, note_at
from engine.core.i18n import msg
from engine.core.spelling import close_matches
from engine.language.syntax import Comprehension, Name, children
from engine.language.types import ERROR
from engine.policies.policyfile import Expression, PolicyVersion, Table, canonical_json, reader_for, sha256
from engine.policies.sources import cite, qualify

if TYPE_CHECKING:
    from engine.policies.store import PolicyStore

_KINDS = {"tables": msg("table"), "definitions": msg("definition"), "rules": msg("rule"), "outputs": msg("output"),
          "notes": msg("note"), "checks": msg("input check")}


def resolve_amendments(store: PolicyStore) -> None:
    """Resolve every amending version of the store, earliest first (an amendment may amend an amendment)."""
    for versions in store.by_id.values():
        for version in sorted(versions, key=lambda v: (v.effective_from, v.version)):
            if version.amends is not None:
                _resolve(store, version, sorted(versions, key=lambda v: (v.effective_from, v.version)))
            else:
                _rows_not_amending(store, version)


def _rows_not_amending(store: PolicyStore, v: PolicyVersion) -> None:
    """Row changes in a version that amends nothing would change nothing: said, never silently left out (a city's
    `replace_rows` of its province's table, decided with the province's amounts)."""
    for name, (raw, path) in v.table_amendments.items():
        changes = [k for k in ("add_rows", "replace_rows", "remove_rows") if k in raw]
        parent = v.extends.policy_id if v.extends is not None else None
        hint = msg("to change rows of {parent}'s table, write the whole table here with `overrides: true`",
                   parent=parent) if parent and any(name in p.tables for p in store.versions(parent)) else None
        _error(store, v, "table.rows_not_amending", msg(
            "table {name} changes rows ({how}), but this version amends nothing: the rows of a table are changed by "
            "an amendment of the same policy (amends:); a transposition that departs from rows of its parent's "
            "table states the whole table, with overrides: true", name=repr(name), how=", ".join(changes)),
            path + (changes[0],), hint=hint)


def _error(store: PolicyStore, version: PolicyVersion, code: str, message, path, clause=None, notes=(),
           hint=None) -> None:
    loc = version.location(*path)
    store.diagnostics.append(Diagnostic(code, message, loc, clause=clause, notes=notes, hint=hint,
                                        source_line=version.document.line_text(loc.line) if version.document else None))


def _copy_hint(b: PolicyVersion, before: list):
    """How to write the whole version instead: a copy of the last version before the repeal."""
    if not before:
        return None
    return msg("policy new {pid} --effective {day} --from {version} copies a version whole", pid=b.id,
               day=str(b.effective_from), version=before[-1].version)


def unresolved(version: PolicyVersion) -> bool:
    """An amendment whose amended version could not be taken: what it states alone is not a version to check
    (its replacements would replace nothing, its overrides override nothing). Its `amends` error says why."""
    return version.amends is not None and version.amended is None


def _resolve(store: PolicyStore, b: PolicyVersion, ordered: list) -> None:
    label = b.amends or ""
    a = store.get(b.id, label)
    unread = [f for f in store.unplaced.get(b.id, []) if Path(f).stem == label]
    if a is None and unread:  # the file of that version is there but has errors: say so, and nothing that follows
        _error(store, b, "reference.unreadable", msg(
            "{key} amends {label}, but the file of that version ({file}) could not be read; fix the errors reported "
            "there", key=b.key, label=repr(label), file=unread[0]), ("amends",))
        return
    repealed = store.repeal(b.id, label) if a is None else next(
        (r for r in store.repeals.get(b.id, []) if a.effective_from < r.effective_from <= b.effective_from), None)
    if repealed is not None:  # what is amended must be in force: after a repeal there is nothing to amend
        _error(store, b, "amend.not_previous", msg(
            "{key} amends {label}, but {repeal} repealed {pid} from {day}: an amendment follows a version in force; "
            "after a repeal, write the new version whole", key=b.key, label=repr(label), repeal=repealed.key,
            pid=b.id, day=str(repealed.effective_from)), ("amends",),
            hint=_copy_hint(b, [v for v in ordered if v.effective_from < repealed.effective_from]))
        return
    if a is None:
        labels = [v.version for v in ordered if v is not b]
        close = close_matches(label, labels + [Path(f).stem for f in store.unplaced.get(b.id, [])], n=1, cutoff=0.6)
        _error(store, b, "amend.unknown", msg("{key} amends {label}, but {pid} has no such version (it has {known})",
                                              key=b.key, label=repr(b.amends), pid=b.id,
                                              known=", ".join(labels) or msg("none")),
               ("amends",), hint=msg("did you mean {name}?", name=repr(close[0])) if close else None)
        return
    if unresolved(a):  # an amendment of an amendment that could not be resolved: point at that one's error
        _error(store, b, "reference.unreadable", msg(
            "{key} amends {label}, an amendment that could not be resolved itself; fix the error reported at its "
            "amends: ({file})", key=b.key, label=a.key, file=a.location("amends")), ("amends",))
        return
    earlier = [v for v in ordered if (v.effective_from, v.version) < (b.effective_from, b.version)]
    if not earlier or earlier[-1] is not a:
        _error(store, b, "amend.not_previous", msg(
            "{key} amends {label}, but the version in force before it is {previous}: an amendment states what "
            "changes in the version it follows", key=b.key, label=a.key,
            previous=earlier[-1].key if earlier else msg("none")), ("amends",))
        return
    b.amended = a
    if b.effective_to is None and a.effective_to is not None and a.effective_to >= b.effective_from:
        b.effective_to = a.effective_to  # an amendment changes the content, not how long the scheme runs
    b.own_clauses = dict(b.own_clauses if b.own_clauses is not None else b.clauses)
    b.documents = list(a.documents) + [d for d in b.documents if d not in a.documents]
    b.extends = b.extends or a.extends
    b.includes = list(a.includes) + [r for r in b.includes if str(r) not in {str(x) for x in a.includes}]
    b.uses = {**a.uses, **b.uses}
    b.exports = tuple(dict.fromkeys(a.exports + b.exports))
    if not b.input_schema:
        b.input_schema = a.input_schema
    b.own_facts = list(a.own_facts) + list(b.own_facts)
    b.not_computable = list(a.not_computable) + list(b.not_computable)
    removed = _removals(store, a, b)
    b.tables = _keyed(store, b, "tables", a.tables, b.tables, removed)
    for name, (raw, path) in b.table_amendments.items():
        _amend_rows(store, b, name, raw, path, b.tables)
    b.definitions = _keyed(store, b, "definitions", a.definitions, b.definitions, removed)
    b.outputs = _keyed(store, b, "outputs", a.outputs, b.outputs, removed)
    b.rules = _listed(store, b, "rules", a.rules, b.rules, removed)
    b.notes = _listed(store, b, "notes", a.notes, b.notes, removed)
    b.checks = _listed(store, b, "checks", a.checks, b.checks, removed)
    if b.ledger is None:  # the grants ledger section: kept unless the amendment gives a whole one of its own
        b.ledger = a.ledger
    if b.decision is None:
        b.decision = a.decision
    elif a.decision is not None and not b.decision.replaces:
        _error(store, b, "amend.conflict", msg(
            "the decision amount is already given by {key}, which this version amends; say `replaces: true` to "
            "replace it", key=a.key), ("decision",), clause=cited(b.decision.clauses))
    qualify(b)  # several documents now: every citation names its own
    _cite_amended(store, b)
    gone = set()
    for cid in removed.get("clauses", ()):
        for key in [k for k in b.clauses if k == cid or k.endswith(" " + cid) and k not in _own(b)]:
            del b.clauses[key]
            gone.add(key)
    _still_cited(store, b, gone)
    _still_used(store, b, removed)
    b.digest = sha256(canonical_json({"amends": a.digest, "version": b.digest}))


def _cite_amended(store: PolicyStore, b: PolicyVersion) -> None:
    """An amendment's citations of clauses of the document(s) it amends (a replaced rule that still carries out
    the earlier notice's 二.(一)): found in the resolved clauses, as written in full (N-1 二.(一)) or by the id alone
    when one earlier document has it, and written out in full; any other is `clause.unknown`."""
    if not b.cited_later:
        return
    own = set(_own(b))
    found: dict = {}
    for cid, where, line in b.cited_later:
        matches = [cid] if cid in b.clauses else [k for k in b.clauses if k.endswith(" " + cid) and k not in own]
        if len(matches) == 1:
            found[cid] = matches[0]
            continue
        choices = matches or [*(b.own_clauses or ()), *(k for k in b.clauses if k not in own)]
        bare = list(dict.fromkeys(k.rpartition(" ")[2] for k in choices))
        close = close_matches(cid, bare, n=1, cutoff=0.5) if not matches else []
        store.diagnostics.append(Diagnostic("clause.unknown", msg(
            "clause {clause} is in more than one earlier document: write it in full ({choices})", clause=repr(cid),
            choices=", ".join(matches)) if matches else msg(
            "clause {clause} is neither among source.clauses nor a clause of the version amended ({clauses})",
            clause=repr(cid), clauses=", ".join(choices)), where, source_line=line,
            hint=msg("did you mean {name}?", name=repr(close[0])) if close else None))
    if not found:
        return

    def rewritten(item):
        if item is None or item.owner not in (None, b) or not set(item.clauses) & set(found):
            return item
        item = copy.copy(item)
        item.clauses = tuple(found.get(c, c) for c in item.clauses)
        return item

    b.tables = {n: rewritten(t) for n, t in b.tables.items()}
    b.definitions = {n: rewritten(d) for n, d in b.definitions.items()}
    b.outputs = {n: rewritten(o) for n, o in b.outputs.items()}
    b.rules = [rewritten(r) for r in b.rules]
    b.notes = [rewritten(n) for n in b.notes]
    b.checks = [rewritten(c) for c in b.checks]
    b.decision = rewritten(b.decision)
    b.effective_clauses = tuple(found.get(c, c) for c in b.effective_clauses)


def _row_meant(key: tuple, rows: dict):
    """The key of the row probably meant (`junoir` for `junior`), if one is close."""
    shown = {", ".join(map(str, k)): k for k in rows}
    close = close_matches(", ".join(map(str, key)), list(shown), n=1, cutoff=0.75)
    return msg("did you mean {name}?", name=close[0]) if close else None


def _still_cited(store: PolicyStore, b: PolicyVersion, gone: set) -> None:
    """A clause taken out (`remove: {clauses: …}`) must not be cited by what is left: remove or replace that too."""
    if not gone:
        return
    items = [("table", n, t) for n, t in b.tables.items()] + [("definition", n, d) for n, d in b.definitions.items()] \
        + [("output", n, o) for n, o in b.outputs.items()] + [("rule", r.id, r) for r in b.rules] \
        + [("note", n.id, n) for n in b.notes] + ([("decision", "amount", b.decision)] if b.decision else [])
    for kind, name, item in items:
        cited_gone = [c for c in item.clauses if c in gone]
        if cited_gone:
            store.diagnostics.append(Diagnostic("clause.unknown", msg(
                "{kind} {name} cites {clauses}, which this version removes: remove or replace it too",
                kind=kind, name=repr(name), clauses=", ".join(cited_gone)), b.location("remove", "clauses")))


def _still_used(store: PolicyStore, b: PolicyVersion, removed: dict) -> None:
    """A definition or table taken out (`remove:`) must not be named by what is left: said at the `remove:` entry,
    with where it is still used. The check would otherwise report an unknown name in the file that wrote the
    item carried over, which this version did not change (engine.api leaves that one out)."""
    gone = {name: (kind, i) for kind in ("definitions", "tables") for i, name in enumerate(b.removals.get(kind, ()))
            if name in removed.get(kind, set())}
    if not gone:
        return
    for kind, name, item in _items_with_expressions(b):
        if item.owner is b:  # the amendment's own item: its unknown name is said where it is written
            continue
        for used in sorted(_names_in(item) & set(gone)):
            section, index = gone[used]
            where = item.location
            store.diagnostics.append(Diagnostic("name.unknown", msg(
                "{removed} is removed by this version, but {kind} {name} still uses it ({where}): remove or replace "
                "that too", removed=repr(used), kind=kind, name=repr(name), where=f"{where.file}:{where.line}"),
                b.location("remove", section, index),
                source_line=b.document.line_text(b.location("remove", section, index).line) if b.document else None))
    b.removed_names = frozenset(gone)


def _items_with_expressions(b: PolicyVersion) -> list:
    return [(msg("definition"), n, d) for n, d in b.definitions.items()] \
        + [(msg("output"), n, o) for n, o in b.outputs.items()] + [(msg("rule"), r.id, r) for r in b.rules] \
        + [(msg("note"), n.id, n) for n in b.notes] + [(msg("input check"), c.id, c) for c in b.checks] \
        + ([(msg("decision"), "amount", b.decision)] if b.decision else [])


def _names_in(item) -> set:
    """Every name an item's expressions read (a parameter of a definition is not one)."""
    found: set = set()
    bound = {p.name for p in getattr(item, "params", None) or ()}
    stack = [v.tree for f in dataclasses.fields(item) if isinstance(v := getattr(item, f.name), Expression)
             and v.tree is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.name)
        elif isinstance(node, Comprehension):
            bound.add(node.var)
        stack.extend(children(node))
    return found - bound


def _amended_key(b: PolicyVersion) -> str:
    return b.amended.key if b.amended is not None else ""


def _own(b: PolicyVersion) -> set:
    return {cite(b.clause_docs.get(c, ""), c) for c in b.clause_docs}


def _removals(store: PolicyStore, a: PolicyVersion, b: PolicyVersion) -> dict:
    """kind -> names that `remove:` takes out of the version amended; a name it does not have is an error."""
    present = {"tables": set(a.tables), "definitions": set(a.definitions), "outputs": set(a.outputs),
               "rules": {r.id for r in a.rules}, "notes": {n.id for n in a.notes}, "checks": {c.id for c in a.checks},
               "clauses": set(a.clauses) | {k.rpartition(" ")[2] for k in a.clauses}}
    removed: dict = {}
    for kind, names in b.removals.items():
        if kind not in present:
            continue  # a kind `remove:` does not take: the format check says so, at its key
        for i, name in enumerate(names):
            if name not in present[kind]:
                close = close_matches(name, sorted(present[kind]), n=1, cutoff=0.6)
                _error(store, b, "amend.nothing", msg(
                    "removes {kind} {name}, but {key}, which this version amends, has no such {kind}",
                    kind=_KINDS.get(kind, msg("clause")), name=repr(name), key=a.key), ("remove", kind, i),
                    hint=msg("did you mean {name}?", name=repr(close[0])) if close else None)
                continue
            removed.setdefault(kind, set()).add(name)
    return removed


def _conflict(store, b, kind: str, name: str, item, previous) -> None:
    text = previous.owner.document.text if previous.owner is not None and previous.owner.document else None
    store.diagnostics.append(Diagnostic(
        "amend.conflict", msg("{kind} {name} is already in {key}, which this version amends; say `replaces: true` "
                              "to replace it, or list it under `remove:`", kind=_KINDS[kind], name=repr(name),
                              key=_amended_key(b)), item.location, clause=cited(getattr(item, "clauses", ())),
        notes=(note_at(msg("written here"), previous.location, text),)))


def _nothing(store, b, kind: str, name: str, item) -> None:
    store.diagnostics.append(Diagnostic(
        "amend.nothing", msg("{kind} {name} says it replaces, but {key}, which this version amends, has no such "
                             "{kind}", kind=_KINDS[kind], name=repr(name), key=_amended_key(b)), item.location,
        clause=cited(getattr(item, "clauses", ()))))


def _keyed(store, b: PolicyVersion, kind: str, old: dict, new: dict, removed: dict) -> dict:
    out = {name: item for name, item in old.items() if name not in removed.get(kind, set())}
    for name, item in new.items():
        if name in out and not item.replaces:
            _conflict(store, b, kind, name, item, out[name])
            continue
        if name not in out and item.replaces:
            _nothing(store, b, kind, name, item)
        out[name] = item
    return out


def _listed(store, b: PolicyVersion, kind: str, old: list, new: list, removed: dict) -> list:
    out = [item for item in old if item.id not in removed.get(kind, set())]
    index = {item.id: i for i, item in enumerate(out)}
    for item in new:
        if item.id in index:
            if not item.replaces:
                _conflict(store, b, kind, item.id, item, out[index[item.id]])
                continue
            out[index[item.id]] = item  # a replacement keeps its place in the order
        else:
            if item.replaces:
                _nothing(store, b, kind, item.id, item)
            index[item.id] = len(out)
            out.append(item)
    return out


def _rows_left_out(store, table: Table) -> bool:
    """Whether the file stating `table` has a row error (a cell of the wrong type, a row of the wrong shape), by
    which a row was left out of it."""
    file = table.owner.file if table.owner is not None else None
    return any(d.code in ("table.cell_type", "table.row_shape", "table.cell_fact", "table.cell_reference")
               and d.location.file == file for d in store.diagnostics)


def _amend_rows(store, b: PolicyVersion, name: str, raw: dict, path: tuple, tables: dict) -> None:
    """Apply `add_rows`, `replace_rows` and `remove_rows` of table `name` to a copy of the amended table."""
    old: Table | None = tables.get(name)
    if old is None:
        _error(store, b, "amend.nothing", msg("table {name} changes rows, but {key}, which this version amends, has "
                                              "no table {name}", name=repr(name), key=_amended_key(b)), path)
        return
    reader = reader_for(b)
    columns = {f.name: f.type for f in old.type.row.fields}
    table = copy.copy(old)
    table.rows, table.row_places = dict(old.rows), dict(old.row_places)
    own = reader.clauses(raw.get("clause"), path + ("clause",))
    table.clauses = tuple(dict.fromkeys(old.clauses + tuple(cite(b.clause_docs.get(c, ""), c) for c in own)))
    table.amended_by = (*old.amended_by, b)
    for i, key_cells in reader.entries(raw.get("remove_rows"), list):
        rpath = path + ("remove_rows", i)
        key = tuple(key_cells) if isinstance(key_cells, list) else (key_cells,)
        typed = tuple(reader._cell(value, columns.get(k, ERROR), rpath, k)
                      for k, value in zip(old.keys, key, strict=False))
        if len(key) != len(old.keys):
            reader.error("table.row_shape", msg("a key of table {name} has {count} values: {keys}", name=repr(name),
                                                count=len(old.keys), keys=", ".join(old.keys)), rpath)
        elif typed not in table.rows:
            if not _rows_left_out(store, old):  # else the amended file's row error is the one to fix
                reader.error("amend.nothing", msg("removes the row {key} of table {name}, which {amended} does not "
                                                  "have", key=", ".join(map(str, key)), name=repr(name),
                                                  amended=_amended_key(b)), rpath, hint=_row_meant(typed, table.rows))
        else:
            del table.rows[typed]
    for section, must_exist in (("replace_rows", True), ("add_rows", False)):
        for i, cells in reader.entries(raw.get(section), list):
            rpath = path + (section, i)
            row = reader._row(cells, columns, rpath) if isinstance(cells, (list, dict)) else None
            if row is None:
                continue
            key = tuple(row.get(k) for k in old.keys)
            if must_exist and key not in table.rows:
                if not _rows_left_out(store, old):  # else the amended file's error left this row out: fix that one
                    reader.error("amend.nothing", msg("replaces the row {key} of table {name}, which {amended} does "
                                                      "not have (add it with add_rows)", key=", ".join(map(str, key)),
                                                      name=repr(name), amended=_amended_key(b)), rpath,
                                 hint=_row_meant(key, table.rows))
                continue
            if not must_exist and key in table.rows:
                reader.error("amend.conflict", msg("adds a row {key} to table {name}, which {amended} already has "
                                                   "(replace it with replace_rows)", key=", ".join(map(str, key)),
                                                   name=repr(name), amended=_amended_key(b)), rpath)
                continue
            table.rows[key] = row
            table.row_places[key] = (reader.doc, rpath, isinstance(cells, list))
    store.diagnostics.extend(reader.diagnostics)
    tables[name] = table

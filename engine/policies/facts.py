"""Own facts: the facts a version reads beyond its input schema (`input.facts`).

A transposition that needs one more fact (months of contributions, say) declares it in its own file, or in
a JSON file beside it, instead of editing the shared input schema: the shared schema, and so the digest of
every other version, stays as it is. The linked policy reads its input schema with these facts added; a claim
is read under the schema of its policy with the facts of every version of it (and of what it extends) added,
each optional, so that one reader serves every decision date.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core import schemacheck
from engine.core.diagnostics import Diagnostic, DiagnosticError
from engine.core.i18n import joined, msg
from engine.core.reasons import os_reason
from engine.language.types import Record, SchemaTypeError, schema_to_type
from engine.policies.policyfile import OwnFact, PolicyVersion, canonical_json, sha256
from engine.policies.yamlsource import read_file, read_yaml

if TYPE_CHECKING:
    from engine.policies.store import InputSchema, PolicyStore


# -- reading -----------------------------------------------------------------------------------------------


def read_own_facts(reader, value, pv: PolicyVersion) -> None:
    """Read `input.facts` (a mapping, or the name of a JSON file beside the policy file) into pv.own_facts."""
    if isinstance(value, str):
        _read_facts_file(reader, value, pv)
        return
    for path, entry in reader.entries(value, dict):
        where = ("input", "facts", path)
        if not isinstance(entry, dict) or not reader.good(where) or not isinstance(entry.get("schema"), dict):
            continue  # reported by the format check
        fact = OwnFact(path, entry["schema"], reader.clauses(entry.get("clause"), where + ("clause",)),
                       reader.doc.key_location(where), reader.text(entry, "description", where))
        if _usable(fact, lambda code, message, place, where=where: reader.error(code, message,
                                                                                 where + ("schema", *place))):
            pv.own_facts.append(fact)


def _read_facts_file(reader, name: str, pv: PolicyVersion) -> None:
    here = ("input", "facts")
    folder = reader.path.parent if reader.path is not None else None
    if Path(name).name != name or not name.endswith(".json") or folder is None:
        reader.error("facts.file", msg("input.facts names {name}: give the name of a .json file in the same folder "
                                       "as this policy file", name=repr(name)), here)
        return
    display = str(Path(reader.doc.file).parent / name)
    if (folder / name).is_symlink():
        reader.error("facts.file", msg("input.facts names {name}, which is a link: a link is never followed; put the "
                                       "file itself beside this one", name=repr(name)), here)
        return
    try:
        doc = read_yaml(read_file(folder / name, display), display)  # JSON is YAML: every value keeps its place
    except OSError as exc:
        reader.error("facts.file", msg("input.facts names {name}, which cannot be read: {why}", name=repr(name),
                                       why=os_reason(exc)), here)
        return
    except DiagnosticError as exc:
        reader.diagnostics.extend(exc.diagnostics)
        return
    data = doc.value
    if not isinstance(data, dict):
        reader.diagnostics.append(Diagnostic("facts.file", msg(
            "a facts file holds a mapping: fact path → {{schema, clause, description}}"), doc.location(())))
        return
    pv.facts_file = data

    def at(path):
        loc = doc.location(path)
        return loc, doc.line_text(loc.line)

    for path, entry in data.items():
        schema = entry.get("schema") if isinstance(entry, dict) else None
        clause = entry.get("clause") if isinstance(entry, dict) else None
        clauses = (clause,) if isinstance(clause, str) else tuple(c for c in clause if isinstance(c, str)) \
            if isinstance(clause, list) else ()
        if not isinstance(schema, dict) or not clauses:
            loc, line = at((path,))
            reader.diagnostics.append(Diagnostic("facts.file", msg(
                "fact {path} needs schema (a JSON Schema) and clause (the clause that asks for it)", path=repr(path)),
                loc, source_line=line))
            continue
        for i, cid in enumerate(clauses):
            if reader.clause_ids is not None and cid not in reader.clause_ids:
                loc, line = at((path, "clause") if isinstance(clause, str) else (path, "clause", i))
                reader.diagnostics.append(Diagnostic("clause.unknown", msg(
                    "clause {cid} is not among source.clauses ({known})", cid=repr(cid),
                    known=", ".join(reader.clause_ids)), loc, source_line=line))
        description = entry.get("description") if isinstance(entry.get("description"), str) else ""
        fact = OwnFact(str(path), schema, clauses, doc.key_location((path,)), description)

        def report(code, message, place, path=path):
            loc, line = at((path, "schema", *place))
            reader.diagnostics.append(Diagnostic(code, message, loc, source_line=line))

        if _usable(fact, report):
            pv.own_facts.append(fact)


def _usable(fact: OwnFact, report) -> bool:
    """Whether the fact's schema is a JSON Schema the engine can type; reported through `report(code, message,
    place)` when not, `place` being the path of the value at fault inside the fact's schema."""
    problems = schemacheck.schema_problems(fact.schema)
    if not problems:
        try:
            schema_to_type({"type": "object", "properties": {"fact": fact.schema}})
        except SchemaTypeError as exc:  # its path names facts inside this one (/fact/a), not places in the schema
            inner = exc.path.removeprefix("/fact").strip("/").replace("/", ".")
            problems = [((), msg("{path}: {problem}", path=inner, problem=exc.reason) if inner else exc.reason)]
    if not problems:
        return True
    place, _ = problems[0]
    said = [msg("{path}: {problem}", path="/".join(map(str, path)), problem=problem) if path else problem
            for path, problem in problems[:3]]
    report("facts.schema", msg("the schema of fact {path} is not usable: {problems}", path=repr(fact.path),
                               problems=joined(said, "; ")), place)
    return False


# -- the input schema with the facts added ---------------------------------------------------------------------


def with_facts(store: PolicyStore, base: InputSchema, versions, diagnostics: list | None = None) -> InputSchema:
    """`base` with the own facts of `versions` (in order; a later declaration of a path replaces an earlier one
    only in the claim reader's union, never within one linked policy) added. Remembered per store."""
    facts = [(v, f) for v in versions for f in v.own_facts]
    if not facts:
        return base
    key = (base.digest, tuple(v.key + v.digest for v in versions))
    cache = store.__dict__.setdefault("_with_facts", {})
    known = cache.get(key)
    found: list = []
    if known is not None:
        entry, found = known
    else:
        schema = copy.deepcopy(base.schema)
        declared: dict = {}
        for version, fact in facts:
            problem = _add(schema, fact.path, fact.schema, replace=fact.path in declared)
            if problem is not None:
                found.append(Diagnostic(problem[0], problem[1], fact.location, clause=", ".join(fact.clauses) or None,
                                        source_line=_line_at(fact.location)))
            else:
                declared[fact.path] = version
        record: Record | None
        try:
            record = schema_to_type(schema)
        except SchemaTypeError as exc:  # each fact was typed alone; together they still are, but say so if not
            found.append(Diagnostic("facts.schema", exc.args[0], facts[0][1].location))
            record = base.type
        entry = type(base)(base.name, schema, record, sha256(canonical_json(schema)),
                           facts_of=tuple(sorted({v.key for v in declared.values()})))
        cache[key] = (entry, found)
    if diagnostics is not None:
        diagnostics.extend(found)
    return entry


def _line_at(location) -> str | None:
    """The line of a file a fact is declared on (the policy file or its facts file), for the caret: read only when
    a fact cannot be added."""
    try:
        lines = Path(location.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[location.line - 1] if 0 < location.line <= len(lines) else None


def _resolve(schema: dict, node: dict) -> dict:
    """A node with its local $ref followed (a copy, so that other users of the definition are not changed)."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = dict(copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"})
        return merged
    return node


def _add(schema: dict, path: str, fact_schema: dict, replace: bool = False) -> tuple | None:
    """Add the fact at `path` to `schema` (changed in place); (code, message) when it cannot be added."""
    parts = path.split(".")
    node = schema
    for depth, part in enumerate(parts[:-1]):
        props = node.get("properties") if isinstance(node, dict) else None
        child = props.get(part) if isinstance(props, dict) else None
        if not isinstance(props, dict) or not isinstance(child, dict):
            import difflib  # only when a path is wrong

            close = difflib.get_close_matches(part, sorted(props), n=1) if isinstance(props, dict) else []
            if close:
                return "facts.parent", msg("fact {path}: the input schema has no record {record} to add it to "
                                           "(did you mean {meant}?)", path=repr(path),
                                           record=repr(".".join(parts[:depth + 1])),
                                           meant=repr(".".join(parts[:depth] + close + parts[depth + 1:])))
            return "facts.parent", msg("fact {path}: the input schema has no record {record} to add it to",
                                       path=repr(path), record=repr(".".join(parts[:depth + 1])))
        child = props[part] = _resolve(schema, child)
        if child.get("type") != "object" or not isinstance(child.get("properties"), dict):
            return "facts.parent", msg("fact {path}: {record} is not a record in the input schema, so it cannot "
                                       "hold another fact", path=repr(path), record=repr(".".join(parts[:depth + 1])))
        node = child
    props = node.setdefault("properties", {})
    if parts[-1] in props and not replace:
        return "facts.exists", msg("fact {path} is already in the input schema; an own fact adds a fact the schema "
                                   "lacks, it does not change one (read the fact as it is, or choose another name)",
                                   path=repr(path))
    props[parts[-1]] = copy.deepcopy(fact_schema)
    return None


def linked_schema(store: PolicyStore, base: InputSchema | None, version: PolicyVersion,
                  diagnostics: list) -> InputSchema | None:
    """The input schema `version` reads once linked: `base` (its own, or its parent's as linked) with its own facts."""
    if base is None or not version.own_facts:
        return base
    return with_facts(store, base, [version], diagnostics)


def claim_schema(store: PolicyStore, version: PolicyVersion) -> InputSchema | None:
    """The schema claims under `version`'s policy are read with: its input schema with the own facts of every
    version of the policy and of every policy it extends, each optional. None when it names no usable schema."""
    name = store.input_schema_name(version)
    base = store.schemas.get(name) if name else None
    if base is None:
        return None
    ids: list[str] = []
    pid: str | None = version.id
    seen: set = set()
    while pid and pid not in seen:
        seen.add(pid)
        ids.append(pid)
        parents = {v.extends.policy_id for v in store.by_id.get(pid, []) if v.extends}
        pid = next(iter(parents)) if len(parents) == 1 else None
    versions = [v for pid in reversed(ids) for v in store.by_id.get(pid, [])]
    return with_facts(store, base, versions)

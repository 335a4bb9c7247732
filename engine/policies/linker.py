"""Linking: one policy version plus the versions it extends and uses → one namespace to check.

A transposing policy (`extends`) inherits every table, definition, rule, output, note and input
check of the policy it extends. It may add new ones, and it may replace one only by saying
`overrides: true` — a clash without it, or an override of nothing, is a check error. This is the
labelled-exception idea: every departure from the parent is visible and named.
Policies named under `uses` are separate namespaces: only their exported names can be read.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import field

from engine.core.diagnostics import Diagnostic, cited, note_at
from engine.core.i18n import Message, msg, series
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.language.syntax import Comprehension, Name, children
from engine.policies.amend import unresolved
from engine.policies.columns import check_columns
from engine.policies.facts import linked_schema
from engine.policies.policyfile import AmountRule, Definition, InputCheck, Note, Output, PolicyVersion, Ref, Rule, Table
from engine.policies.store import InputSchema, PolicyStore

Picker = Callable[[Ref, PolicyVersion], "PolicyVersion | None"]


@dataclass
class Linked:
    version: PolicyVersion
    chain: tuple[PolicyVersion, ...]  # the version itself, then what it extends, nearest first
    aliases: dict[str, Linked]
    schema: InputSchema | None
    tables: dict[str, Table] = field(default_factory=dict)
    definitions: dict[str, Definition] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    checks: list[InputCheck] = field(default_factory=list)
    decision: AmountRule | None = None
    exports: tuple[str, ...] = ()
    includes: list[Linked] = field(default_factory=list)  # the policies whose items it reuses (`includes:`)

    @property
    def versions(self) -> list[PolicyVersion]:
        """Every version this decision depends on, each once: itself, its ancestors, what they use. Each linked
        namespace is walked once: a diamond of `uses` shares them (`link`), and walking it as a tree took 2^depth
        steps (issue 11)."""
        seen: dict = {}
        walked: set = set()

        def walk(linked: Linked) -> None:
            walked.add(id(linked))
            for v in linked.chain:
                seen.setdefault(v.key, v)
            for other in list(linked.aliases.values()) + linked.includes:
                if id(other) not in walked:  # all its versions are in `seen` already
                    walk(other)

        walk(self)
        return list(seen.values())

    @property
    def facts_unknown(self) -> bool:
        """True when this policy names an input schema that could not be loaded. That problem is reported once,
        at the `input.schema` line; the fact names are then unknown, not wrong, and a checker must not report
        each use of a fact as an unknown name."""
        return self.schema is None and any(v.input_schema for v in self.chain)

    @property
    def key(self) -> tuple:
        return tuple(sorted((v.key, v.digest) for v in self.versions))

    def role_of(self, version: PolicyVersion) -> str:
        if version is self.version:
            return "self"
        if version in self.chain:
            return "extends"
        return "includes" if any(version in inc.chain for inc in self.includes) else "uses"


class LinkError(Exception):
    """A reference cannot be resolved for this decision (no version in force, unknown id)."""

    def __init__(self, ref: Ref, message: str, code: str = "reference.not_in_force", hint: str | None = None):
        super().__init__(message)
        self.message = message  # a Message: str(exc) is its English, tr(exc.message) the officer's language
        self.ref = ref
        self.code = code
        self.hint = hint  # a policy id or version close to the one written, when there is one

    def on(self, day) -> str:
        """The message with the day of the decision in place of "that date" (when it speaks of one)."""
        if isinstance(self.message, Message) and "day" in self.message.args:
            return Message(self.message.template, {**self.message.args, "day": str(day)})
        return self.message

    def said_on(self, day) -> str:
        """The message for the day it was linked for: "no version in force on 2020-01-01" where it speaks of "that
        date", else the message with the day after it."""
        spoken = self.on(day)
        return spoken if spoken is not self.message else msg("{error} ({day})", error=self.message, day=str(day))

    @property
    def clause(self) -> str | None:
        """The clauses the reference cites, for the diagnostic made of this error."""
        return cited(self.ref.clauses)


def link(store: PolicyStore, version: PolicyVersion, pick: Picker, diagnostics: list[Diagnostic] | None = None,
         _stack: tuple = (), _done: dict | None = None) -> Linked:
    """Build the namespace of `version`. Raises LinkError when a reference has no version to take.

    Each version a link reaches is linked once (`_done`): a diamond of `uses` (p0 uses p1 and p2, each uses p3,
    ...) would otherwise be linked once per path, 2^depth times (issue 18)."""
    diagnostics = diagnostics if diagnostics is not None else []
    _done = {} if _done is None else _done
    if version.key in _done and version.id not in _stack:
        return _done[version.key]
    if version.id in _stack:
        cycle = " → ".join(_stack + (version.id,))
        raise LinkError(Ref(version.id, None, version.location()),
                        msg("policies refer to each other in a cycle: {cycle}", cycle=cycle), "reference.cycle")
    stack = _stack + (version.id,)

    parent = None
    def follow(ref: Ref) -> Linked:
        try:
            return link(store, _resolve(store, ref, version, pick), pick, diagnostics, stack, _done)
        except LinkError as exc:
            if exc.code == "reference.cycle" and not _stack:  # said at the root's own reference that starts it
                raise LinkError(ref, exc.message, exc.code) from None
            raise

    if version.extends:
        parent = follow(version.extends)

    aliases = {}
    for alias, ref in version.uses.items():
        aliases[alias] = follow(ref)
    included = [(ref, follow(ref)) for ref in version.includes]

    schema = store.schemas.get(version.input_schema) if version.input_schema else None
    if parent is None:
        linked = Linked(version, (version,), aliases, linked_schema(store, schema, version, diagnostics))
    else:
        if schema is None or parent.schema is not None and schema.name == parent.schema.name:
            schema = parent.schema  # the same claim, with the facts the parent added
        elif parent.schema is not None:
            diagnostics.append(Diagnostic(
                "extends.input",
                msg("reads {schema} but extends {parent}, which reads {theirs}; a transposition must read the same "
                    "claim", schema=schema.name, parent=parent.version.key, theirs=parent.schema.name),
                version.location("input", "schema")))
        schema = linked_schema(store, schema, version, diagnostics)
        linked = Linked(version, (version,) + parent.chain, {**parent.aliases, **aliases}, schema,
                        dict(parent.tables), dict(parent.definitions), dict(parent.outputs), list(parent.rules),
                        list(parent.notes), list(parent.checks), parent.decision, parent.exports)
        for alias in aliases:
            if alias in parent.aliases:
                diagnostics.append(Diagnostic("name.conflict",
                                              msg("alias {alias} is already used by {key}", alias=repr(alias),
                                                  key=parent.version.key),
                                              version.location("uses", alias)))
    for ref, other in included:
        _include(linked, ref, other, version, diagnostics)
    _merge(linked, version, diagnostics)
    check_columns(linked, diagnostics)
    _done[version.key] = linked
    return linked


def _resolve(store: PolicyStore, ref: Ref, by: PolicyVersion, pick: Picker) -> PolicyVersion:
    unread = store.unplaced.get(ref.policy_id)
    # A file of that policy that could not be read may be the very version wanted: say so, not "no such policy"
    # (nor "no version in force" on a day only that file would have covered).
    wanted = store.get(ref.policy_id, ref.version) if ref.version else pick(ref, by) if unread else None
    if unread and wanted is None:
        files = ", ".join(unread)
        message = (msg("{by} refers to {ref}, but the files of {pid} ({files}) could not be read; fix the errors "
                       "reported there", by=by.key, ref=str(ref), pid=ref.policy_id, files=files) if len(unread) > 1
                   else msg("{by} refers to {ref}, but the file of {pid} ({files}) could not be read; fix the errors "
                            "reported there", by=by.key, ref=str(ref), pid=ref.policy_id, files=files))
        raise LinkError(ref, message, "reference.unreadable")
    if not store.by_id.get(ref.policy_id):
        raise LinkError(ref, msg("{by} refers to {ref}, which no policy file defines", by=by.key, ref=ref.policy_id),
                        "reference.unknown", _close(ref.policy_id, store.by_id))
    if ref.version and store.get(ref.policy_id, ref.version) is None:
        versions = [v.version for v in store.versions(ref.policy_id)]
        raise LinkError(ref, msg("{by} pins {ref}, but {pid} has no such version (it has {known})", by=by.key,
                                 ref=str(ref), pid=ref.policy_id, known=", ".join(versions)), "reference.unknown",
                        _close(ref.version, versions))
    target = pick(ref, by)
    if target is None:
        repeals = store.repeals.get(ref.policy_id, [])
        hint = msg("{pid} is repealed from {days}; a policy that reads it needs a repeal or a version of its own "
                   "from then", pid=ref.policy_id,
                   days=series(msg("{day} ({document})", day=str(r.effective_from), document=r.source["number"]
                                       or r.key) for r in repeals)) \
            if repeals else None
        raise LinkError(ref, msg("{by} needs {pid}, which has no version in force on {day}", by=by.key,
                                 pid=ref.policy_id, day=msg("that date")), hint=hint)
    if unresolved(target):
        raise LinkError(ref, msg("{by} needs {target}, an amendment of {label} that could not be resolved; fix the "
                                 "error reported at its amends:", by=by.key, target=target.key,
                                 label=repr(target.amends)), "reference.unreadable")
    return target


def _line_of(item) -> str | None:
    """The line of its own file an item starts on, for the caret under it."""
    owner = item.owner
    return owner.document.line_text(item.location.line) if owner is not None and owner.document is not None else None


def _where(item) -> str:
    return f"{item.owner.key} ({item.location})" if item.owner else str(item.location)


def _first_defined(item) -> tuple:
    """A note at the item a conflicting one clashes with, in its own file."""
    owner = item.owner
    text = owner.document.text if owner is not None and owner.document is not None else None
    return (note_at(msg("first defined here by {key}", key=owner.key) if owner else msg("first defined here"),
                    item.location, text),)


def _close(name: str, names) -> str | None:
    close = close_matches(name, list(names), n=1, cutoff=0.6)
    return msg("did you mean {name}?", name=repr(close[0])) if close else None


def _include(linked: Linked, ref: Ref, included: Linked, version: PolicyVersion, diagnostics: list[Diagnostic]) -> None:
    """Merge what `version` includes from another policy (`includes:`): its tables, definitions, outputs, rules,
    notes and input checks, read in this namespace as if written here. A name that two sources give (the parent
    and an include, or two includes) is a clash, as under `extends`, unless this version itself replaces it."""
    where = included.version.key
    linked.includes.append(included)
    known = set(included.tables) | set(included.definitions) | set(included.outputs) | {
        x.id for x in included.rules + included.notes + included.checks}
    wanted = _with_what_they_read(included, set(ref.only) & known) if ref.only else set()
    for name in ref.only:
        if name not in known:
            diagnostics.append(Diagnostic("include.unknown", msg(
                "includes {name} from {key}, which has no table, definition, output, rule, note or input check of "
                "that name", name=repr(name), key=where), ref.location, cited(ref.clauses),
                hint=_close(name, known)))
    if included.schema is not None:
        if linked.schema is None:
            linked.schema = included.schema
        elif included.schema.name != linked.schema.name:
            diagnostics.append(Diagnostic(
                "extends.input", msg("includes {key}, which reads {theirs}, but this policy reads {ours}; what it "
                                     "includes must read the same claim", key=where, theirs=included.schema.name,
                                     ours=linked.schema.name), ref.location))
    for alias, target in included.aliases.items():
        known_alias = linked.aliases.get(alias)
        if known_alias is not None and known_alias.version.key != target.version.key:
            diagnostics.append(Diagnostic("name.conflict", msg(
                "alias {alias} of {key} names {theirs}, but here it names {ours}", alias=repr(alias), key=where,
                theirs=target.version.key, ours=known_alias.version.key), ref.location))
        else:
            linked.aliases.setdefault(alias, target)
    own = {"table": version.tables, "definition": version.definitions, "output": version.outputs,
           "rule": {r.id: r for r in version.rules}, "note": {n.id: n for n in version.notes},
           "input check": {c.id: c for c in version.checks}}

    words = {"table": msg("table"), "definition": msg("definition"), "output": msg("output"), "rule": msg("rule"),
             "note": msg("note"), "input check": msg("input check")}

    def clash(kind: str, name: str, item, previous) -> bool:
        if previous is None or previous is item:
            return False
        mine = own[kind].get(name)
        if mine is not None and mine.overrides:
            return False  # this version replaces it whichever source it came from
        diagnostics.append(Diagnostic(
            "override.conflict", msg("{kind} {name} comes both from {first} and from {second}, which this version "
                                     "includes; define it here with `overrides: true` to say which holds, or "
                                     "include only one", kind=words[kind], name=repr(name), first=_where(previous),
                                     second=_where(item)), ref.location,
            cited(getattr(item, "clauses", ())), notes=_first_defined(previous)))
        return True

    # What `only` did not list but a listed item reads is brought along, unless this policy has that name already
    # (its own, or inherited): then the listed item reads this policy's one, as if it had been written here.
    brought = wanted - set(ref.only)
    for kind, attr in (("table", "tables"), ("definition", "definitions"), ("output", "outputs")):
        items = getattr(linked, attr)
        for name, item in getattr(included, attr).items():
            if wanted and name not in wanted:
                continue
            if name in brought and (name in items or name in own[kind]):
                continue
            if not clash(kind, name, item, items.get(name)):
                items.setdefault(name, item)
    for kind, attr in (("rule", "rules"), ("note", "notes"), ("input check", "checks")):
        current = getattr(linked, attr)
        index = {x.id: x for x in current}
        for item in getattr(included, attr):
            if wanted and item.id not in wanted:
                continue
            if not clash(kind, item.id, item, index.get(item.id)) and item.id not in index:
                current.append(item)
                index[item.id] = item


def _free_names(node, bound: frozenset = frozenset()) -> Iterator[str]:
    """The names an expression reads that it does not bind itself (a comprehension's variable)."""
    if isinstance(node, Name):
        if node.name not in bound:
            yield node.name
        return
    if isinstance(node, Comprehension):
        yield from _free_names(node.source, bound)
        yield from _free_names(node.body, bound | {node.var})
        return
    for child in children(node):
        yield from _free_names(child, bound)


def _reads(item) -> set[str]:
    """The names an included item's expressions read (a table: the tables its columns refer to)."""
    if isinstance(item, Table):
        return {c.references.split(".", 1)[0] for c in item.columns.values() if c.references}
    params = frozenset(p.name for p in getattr(item, "params", ()))
    found: set[str] = set()
    for attr in ("expr", "when", "require"):
        expression = getattr(item, attr, None)
        if expression is not None and expression.tree is not None:
            found.update(_free_names(expression.tree, params))
    return found


def _with_what_they_read(included: Linked, chosen: set[str]) -> set[str]:
    """`chosen` (the names under `only:`) with every table, definition and output they read, transitively: a rule
    taken from another policy brings what it needs, so `only` lists what the officer wants, not its plumbing."""
    items: dict[str, list] = {}
    for item in included.rules + included.notes + included.checks:
        items.setdefault(item.id, []).append(item)
    for section in (included.outputs, included.definitions, included.tables):
        for name, named in section.items():
            items.setdefault(name, []).append(named)
    wanted, todo = set(chosen), list(chosen)
    while todo:
        for name in {read for item in items.get(todo.pop(), ()) for read in _reads(item)}:
            if name not in wanted and (name in included.tables or name in included.definitions
                                       or name in included.outputs):
                wanted.add(name)
                todo.append(name)
    return wanted


def _merge(linked: Linked, version: PolicyVersion, diagnostics: list[Diagnostic]) -> None:
    def place(kind: str, items: dict, name: str, item) -> None:
        previous = items.get(name)
        if previous is not None and previous.owner is not version and not item.overrides:
            diagnostics.append(Diagnostic(
                "override.conflict", msg("{kind} {name} is already defined by {where}; say `overrides: true` to "
                                         "replace it for this policy, or choose another name", kind=kind,
                                         name=repr(name), where=_where(previous)), item.location,
                cited(item.clauses), notes=_first_defined(previous), source_line=_line_of(item)))
            return
        if previous is None and item.overrides:
            diagnostics.append(Diagnostic(
                "override.nothing", msg("{kind} {name} says it overrides, but nothing it extends defines {name}",
                                        kind=kind, name=repr(name)),
                item.location, cited(item.clauses), hint=_close(name, items), source_line=_line_of(item)))
        items[name] = item

    for name, table in version.tables.items():
        place(msg("table"), linked.tables, name, table)
    for name, definition in version.definitions.items():
        place(msg("definition"), linked.definitions, name, definition)
    for name, output in version.outputs.items():
        place(msg("output"), linked.outputs, name, output)
    for kind, attr, key in ((msg("rule"), "rules", "id"), (msg("note"), "notes", "id"),
                            (msg("input check"), "checks", "id")):
        current = getattr(linked, attr)
        index = {getattr(item, key): i for i, item in enumerate(current)}
        for item in getattr(version, attr):
            name = getattr(item, key)
            if name in index:
                previous = current[index[name]]
                if not item.overrides:
                    diagnostics.append(Diagnostic(
                        "override.conflict", msg("{kind} {name} is already defined by {where}; say `overrides: "
                                                 "true` to replace it for this policy, or choose another id",
                                                 kind=kind, name=repr(name), where=_where(previous)), item.location,
                        cited(getattr(item, "clauses", ())), notes=_first_defined(previous)))  # a check cites none
                    continue
                current[index[name]] = item  # an override keeps the parent's place in the order
            else:
                if item.overrides:
                    diagnostics.append(Diagnostic(
                        "override.nothing", msg("{kind} {name} says it overrides, but nothing it extends defines it",
                                                kind=kind, name=repr(name)),
                        item.location, cited(getattr(item, "clauses", ())), hint=_close(name, index),
                        source_line=_line_of(item)))
                index[name] = len(current)
                current.append(item)
    if version.decision is not None:
        if linked.decision is not None and linked.decision.owner is not version and not version.decision.overrides:
            diagnostics.append(Diagnostic(
                "override.conflict", msg("the decision amount is already defined by {where}; say `overrides: true` "
                                         "to replace it", where=_where(linked.decision)), version.decision.location,
                cited(version.decision.clauses)))
        else:
            linked.decision = version.decision
    linked.exports = tuple(dict.fromkeys(linked.exports + version.exports))

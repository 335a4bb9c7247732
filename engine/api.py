"""The engine's Python API: load and check policies once, then evaluate many claims.

    from engine.api import Engine
    engine = Engine.load("policies")
    evaluator = engine.evaluator("city/training-subsidy")
    result = evaluator.evaluate({...claim facts...})         # Decision or ClaimError
    print(result.to_json())

The command line is a thin layer over this module.
"""
from __future__ import annotations

import dataclasses
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.claims.reader import ClaimReader, RawClaim, plain_claim, shape_problem
from engine.core.diagnostics import Diagnostic, cited, note_at, sorted_diagnostics
from engine.core.i18n import msg, plural
from engine.core.isodate import parse_date, suggested_date
from engine.core.records import dataclass
from engine.decide.program import Program, basis_of
from engine.decide.results import ClaimError, Decision, stamp
from engine.language.checker import Checked, check, coverage
from engine.language.types import Record
from engine.policies.amend import unresolved
from engine.policies.conventions import label_departures
from engine.policies.facts import claim_schema
from engine.policies.ledgerspec import check_ledger
from engine.policies.linker import Linked, LinkError, link
from engine.policies.placeholders import unfilled
from engine.policies.policyfile import PolicyVersion, Ref
from engine.policies.store import PolicyStore

Result = Decision | ClaimError


class PolicyNotFound(Exception):
    """The policy id or version named by the caller does not exist. Its one argument is a msg(): str(exc) is the
    English, and the command line shows it in the reader's language."""


class PolicyNotInForce(PolicyNotFound):
    """The policy (or one it refers to) has no version in force on the date asked for."""


def _said(exc: BaseException) -> str:
    """An exception's message, as the msg() it was raised with (a LinkError's), so it stays translatable."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


def _unread(files: list[str]):
    return plural(len(files), "{count} policy file could not be read ({files}): run `policy check`",
                  "{count} policy files could not be read ({files}): run `policy check`", files=", ".join(files[:3]))


def empty_pin(ref: str):
    """Why `ID@` (a pin left empty) is refused rather than read as no pin."""
    return msg("{value} names no version after its @ (write ID or ID@VERSION)", value=repr(ref))


def parse_policy_ref(text: str) -> tuple[str, str | None]:
    if not isinstance(text, str):
        raise TypeError(f"a policy is named by its ID or ID@VERSION text, not {type(text).__name__} {text!r}")
    pid, _, version = text.partition("@")
    return pid, version or None


@dataclass(frozen=True)
class Selection:
    """Which versions a decision may use."""

    version: str | None = None  # pin the root version; None: the one in force on the decision date
    known_on: date | None = None  # only versions issued by this date (what the office knew then)
    # A pinned version applies only within its effective range, unless asked otherwise (an auditor's "what would
    # these rules say", a what-if study): the decision then says so (`out_of_force`).
    any_date: bool = False
    # (policy id, version) pairs: these versions are used wherever the policy is referenced, instead of the one in
    # force on the decision date (verify reproduces a record with exactly the versions it recorded).
    pins: tuple = ()

    if TYPE_CHECKING:  # what a caller may give, for type checkers: known_on as text too, pins as any pairs
        def __init__(self, version: str | None = None, known_on: date | str | None = None, any_date: bool = False,
                     pins: Iterable[tuple[str, str]] = ()) -> None: ...

    def __post_init__(self) -> None:
        """The caller's mistakes said here, once, rather than as an internal error on every claim decided."""
        if self.version is not None and (not isinstance(self.version, str) or not self.version):
            raise TypeError(f"Selection.version is a version label (text) or None, not {self.version!r}")
        object.__setattr__(self, "known_on", _day_or_none("Selection.known_on", self.known_on))
        if not isinstance(self.any_date, bool):
            raise TypeError(f"Selection.any_date is True or False, not {self.any_date!r}")
        if isinstance(self.pins, (str, bytes)) or not isinstance(self.pins, (tuple, list)):
            raise TypeError(f"Selection.pins is a tuple of (policy id, version) pairs, not {self.pins!r}")
        pins: dict = {}
        for pin in self.pins:
            if not (isinstance(pin, (tuple, list)) and len(pin) == 2 and all(isinstance(p, str) and p for p in pin)):
                raise TypeError(f"each of Selection.pins is a (policy id, version) pair of texts, not {pin!r}")
            if pins.setdefault(pin[0], pin[1]) != pin[1]:
                raise ValueError(f"Selection.pins pins {pin[0]} twice, to {pins[pin[0]]} and to {pin[1]}")
        object.__setattr__(self, "pins", tuple((pid, version) for pid, version in self.pins))


def _day_or_none(name: str, value) -> date | None:
    """A date given as a `date` or its YYYY-MM-DD text (ValueError when it is none), or None."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise ValueError(f"{name} is a date or its YYYY-MM-DD text, not {type(value).__name__} {value!r}")


def _carried(carried: list, said: set) -> list[Diagnostic]:
    """The problems found in an item of another file only when checking a version that reads it (an amendment
    carrying it over, a transposition inheriting it): each with a note at that version's `amends:` or `extends:`,
    since the file it sits in checks clean alone. One the item's own version also has is said without the note."""
    out = []
    for version, d in carried:
        if d.sort_key() in said:
            continue
        said.add(d.sort_key())
        path = ("amends",) if version.amends else ("extends",) if version.extends else ("policy",)
        text = version.document.text if version.document else None
        out.append(dataclasses.replace(d, notes=d.notes + (note_at(msg(
            "found when checking {key}, which reads this item from here", key=version.key),
            version.location(*path), text),)))
    return out


def _not_said_at_remove(linked: Linked, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Without the unknown names, in the files an amendment carries items over from, of what its `remove:` took out:
    the amendment says each at its `remove:` entry, with where it is still used (engine.policies.amend)."""
    removing = [v for v in linked.versions if v.removed_names]
    if not removing:
        return diagnostics
    quoted = {repr(name) for v in removing for name in v.removed_names}
    carried = set()  # the files of the versions each removing one amends: what it carries over was written there
    for v in removing:
        earlier = v.amended
        while earlier is not None:
            carried.add(earlier.file)
            earlier = earlier.amended
    # (a city's own item naming what its province removed is the city's error: said in its file, as any other)
    return [d for d in diagnostics if not (d.code == "name.unknown" and d.location.file in carried
                                           and set(getattr(d.message, "args", {}).values()) & quoted)]


def not_a_version(repeal: PolicyVersion) -> str:
    """What to say when a repeal's label is given where a version is wanted."""
    return msg("{key} is a repeal, not a version to decide under or show: from {day} no version of {policy} is in "
               "force (see `policy timeline {policy}`)", key=repeal.key, day=str(repeal.effective_from),
               policy=repeal.id)


class Engine:
    """A policies folder, loaded: check it (`check`), choose what decides a claim (`evaluator`, `version_for`,
    `scenario`), and the stages behind them (`linked`, `program`). Made by `Engine.load`; docs/api.md."""

    def __init__(self, store: PolicyStore):
        # Checking and evaluating recurse along expressions and definition chains, whose depth the limits
        # bound; Python's default of 1000 frames is below that bound.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
        self.store = store
        self._programs: dict = {}
        self._checked: dict = {}
        self._links: dict = {}

    @classmethod
    def load(cls, policies: str | Path = "policies", schemas: str | Path | None = None,
             extra_files: Iterable[str | Path] = ()) -> Engine:
        """The policy files under `policies` (ID/VERSION.yaml) and the input schemas in `schemas` (default: the
        `schemas` folder beside `policies`), read and indexed; `extra_files`, policy files outside the folder, read
        as if in it. A file with problems does not stop the others: `check()` lists every problem."""
        return cls(PolicyStore.load(Path(policies), Path(schemas) if schemas else None,
                                    [Path(f) for f in extra_files]))

    # -- checking ----------------------------------------------------------------------------------

    def check(self, today: date | None = None, only: set[str] | None = None) -> list[Diagnostic]:
        """Every problem in the store, sorted: files, schemas, references, expressions, types, coverage.

        With `only` (file names), the problems of those files' versions — wherever they sit, such as an
        inherited rule that an override broke — and of the files themselves and the input schemas."""
        today = _day_or_none("today", today)
        policy_files = {v.file for versions in self.store.by_id.values() for v in versions}
        # with `only`, also what another file's error notes in one of them (two versions taking effect the same day)
        found = [d for d in self.store.diagnostics
                 if only is None or d.location.file in only or any(n.location.file in only for n in d.notes)
                 or d.location.file not in policy_files and not d.location.file.endswith((".yaml", ".yml"))]
        carried: list = []  # (version, diagnostic in another file), said once whatever checked it first
        for pid in self.store.ids():
            for version in self.store.versions(pid):
                if only is not None and version.file not in only:
                    continue
                if not unresolved(version):
                    found.extend(coverage(version))
                end = self.store.until(version)
                if today and version.review_by and version.review_by < today and (end is None or end >= today):
                    found.append(Diagnostic("version.review",
                                            msg("{version} was due for review on {day}", version=version.key,
                                                day=str(version.review_by)),
                                            version.location("review_by"), severity="warning",
                                            clause=cited(version.effective_clauses)))
                found.extend(unfilled(version))
                found.extend(label_departures(version))
                if unresolved(version):  # its `amends` error says why; what it states alone would only mislead
                    continue
                own = {version.file} | {f.location.file for f in version.own_facts}  # its facts file is its own
                for d in self._check_version(version):
                    if d.location.file in own:
                        found.append(d)
                    else:
                        carried.append((version, d))
                found.extend(check_ledger(self.store, version))
            for repeal in self.store.repeals.get(pid, []):
                if only is None or repeal.file in only:
                    found.extend(unfilled(repeal))
                    found.extend(label_departures(repeal))
        return sorted_diagnostics(found + _carried(carried, {d.sort_key() for d in found}))

    def _check_version(self, version: PolicyVersion) -> list[Diagnostic]:
        """Link and check `version` against every combination of referenced versions it can meet."""
        found: list[Diagnostic] = []
        last = self.store.until(version) or date.max
        # every day on which what this version refers to may change: a version begins or ends, a repeal begins
        days = {version.effective_from} | {day for day in self.store.change_days()
                                           if version.effective_from < day <= last}
        seen = set()
        unlinked: set = set()  # (code, place) of a reference already said unlinkable: said on its first day only
        for day in sorted(days):
            diagnostics: list[Diagnostic] = []
            try:
                linked = link(self.store, version, self._picker(day, None), diagnostics)
            except LinkError as exc:
                where = exc.ref.location
                if (exc.code, where) in unlinked:
                    continue
                unlinked.add((exc.code, where))
                line = version.document.line_text(where.line) if version.document and where.file == version.file \
                    else None
                found.append(Diagnostic(exc.code, exc.on(day), where, clause=exc.clause, source_line=line,
                                        hint=exc.hint))
                continue
            found.extend(diagnostics)
            if linked.key in seen or diagnostics:
                continue
            seen.add(linked.key)
            found.extend(_not_said_at_remove(linked, self._check_linked(linked).diagnostics))
        return found

    def checked(self, linked: Linked) -> Checked:
        """The checked namespace of a linked policy (checked once, then remembered)."""
        return self._check_linked(linked)

    def _check_linked(self, linked: Linked) -> Checked:
        checked = self._checked.get(linked.key)
        if checked is None:
            checked = self._checked[linked.key] = check(linked)
        return checked

    def _picker(self, day: date, known_on: date | None, pins: tuple = ()):
        pinned = dict(pins)

        def pick(ref: Ref, by: PolicyVersion) -> PolicyVersion | None:
            if ref.version:
                return self.store.get(ref.policy_id, ref.version)
            if ref.policy_id in pinned:
                return self.store.get(ref.policy_id, pinned[ref.policy_id])
            return self.store.in_force(ref.policy_id, day, known_on)

        return pick

    # -- resolving ----------------------------------------------------------------------------------

    def _unknown(self, policy_id: str) -> PolicyNotFound:
        broken = sorted({d.location.file for d in self.store.diagnostics if d.severity == "error"})
        known = ", ".join(self.store.ids()) or msg("none")
        if not broken:
            return PolicyNotFound(msg("no policy {policy}; known: {known}", policy=repr(policy_id), known=known))
        return PolicyNotFound(msg("no policy {policy}; known: {known}; {unread}", policy=repr(policy_id), known=known,
                                  unread=_unread(broken)))

    def version_for(self, policy_id: str, day: date | str, selection: Selection = Selection()) -> PolicyVersion | None:
        """The version of `policy_id` that decides on `day` under `selection` (its pin, its known-on date), or None
        when none is in force then. PolicyNotFound: no such policy or pinned version; ValueError: a day that is none."""
        day = _day_or_none("day", day) or date.min
        if not self.store.by_id.get(policy_id):
            raise self._unknown(policy_id)
        if selection.version:
            version = self.pinned_version(policy_id, selection.version)
            if selection.known_on and version.issued_on > selection.known_on:
                return None  # the office could not have known it
            end = self.store.until(version)
            if selection.any_date or (version.effective_from <= day and (end is None or day <= end)):
                return version
            return None
        return self.store.in_force(policy_id, day, selection.known_on)

    def none_in_force(self, policy_id: str, day: date, known_on: date | None = None) -> str:
        """Why `policy_id` has no version in force on `day`, in words: a repeal, a version the office did not
        know of yet (`known_on`), or the nearest version there is."""
        store = self.store
        unissued = store.in_force(policy_id, day)
        repeal = store.repealed_on(policy_id, day, known_on)
        nearest = store.nearest(policy_id, day)
        if repeal is not None and unissued is None:
            return msg("{policy} has no version in force on {day}: {document} repealed it from {start} ({version})",
                       policy=policy_id, day=str(day), start=str(repeal.effective_from),
                       document=repeal.source["number"] or repeal.title, version=repeal.key)
        if known_on and unissued is not None:
            return msg("{policy} has no version in force on {day}; {version} is in force then but was issued on "
                       "{issued}, after the known-on date {known_on}", policy=policy_id, day=str(day),
                       version=unissued.key, issued=str(unissued.issued_on), known_on=str(known_on))
        if nearest:
            return msg("{policy} has no version in force on {day}; the nearest version is {version}, in force from "
                       "{start}", policy=policy_id, day=str(day), version=nearest.key,
                       start=str(nearest.effective_from))
        return msg("{policy} has no version in force on {day}", policy=policy_id, day=str(day))

    def pinned_version(self, policy_id: str, version: str) -> PolicyVersion:
        """`policy_id@version`; PolicyNotFound if there is no such version."""
        found = self.store.get(policy_id, version)
        repeal = self.store.repeal(policy_id, version)
        if found is None and repeal is not None:
            raise PolicyNotFound(not_a_version(repeal))
        if found is None:
            labels = [v.version for v in self.store.versions(policy_id)]
            meant = suggested_date(version)  # 2025-3-1, 2025/3/1, 2025年3月1日 for the label 2025-03-01
            if meant is not None and meant in labels:
                raise PolicyNotFound(msg("{policy} has no version {version}: version labels are written YYYY-MM-DD, "
                                         "as {meant}", policy=policy_id, version=repr(version), meant=meant))
            raise PolicyNotFound(msg("{policy} has no version {version} (it has {known})", policy=policy_id,
                                     version=repr(version), known=", ".join(labels)))
        return found

    def linked(self, version: PolicyVersion, day: date, known_on: date | None = None, pins: tuple = ()) -> Linked:
        """The namespace of `version` with its references resolved on `day` (those in `pins` taken as pinned there).
        Raises LinkError."""
        if not isinstance(day, date) or isinstance(day, datetime):  # text is read; a datetime is not a day
            day = _day_or_none("day", day) or day
        if known_on is not None and (not isinstance(known_on, date) or isinstance(known_on, datetime)):
            known_on = _day_or_none("known_on", known_on)
        key = (version.key, day, known_on, pins)
        linked = self._links.get(key)
        if linked is None:
            # A new day usually picks versions already linked for another day: find out which, cheaply, before
            # linking again (a batch meets thousands of decision dates; linking one costs a millisecond).
            chosen = _chosen(version, self._picker(day, known_on, pins))
            linked = self._links.get(chosen) if chosen is not None else None
            if linked is not None:
                self._links[key] = linked
                return linked
            diagnostics: list[Diagnostic] = []
            linked = link(self.store, version, self._picker(day, known_on, pins), diagnostics)
            if diagnostics:
                raise PolicyInvalid(sorted_diagnostics(diagnostics))
            # Thousands of decision dates share a handful of combinations of versions: keep one namespace
            # per combination, and per day only a reference to it.
            linked = self._links.setdefault(linked.key, linked)
            if len(self._links) > 8192:  # days and combinations: keep memory flat over long batches
                self._links.clear()
            self._links[key] = linked
            if chosen is not None:
                self._links[chosen] = linked
        return linked

    def program(self, linked: Linked, explain: bool = True, outputs: bool = True) -> Program:
        """The compiled program of a linked policy (compiled once, then kept): with `explain`, it records what each
        rule read; with `outputs`, it computes the outputs and notes. PolicyInvalid: the policy has errors."""
        key = (linked.key, explain, outputs)
        program = self._programs.get(key)
        if program is None:
            checked = self._check_linked(linked)
            errors = [d for d in checked.diagnostics if d.severity == "error"]
            if errors:
                raise PolicyInvalid(errors)
            program = self._programs[key] = Program(checked, explain, outputs, basis=basis_of(linked, self.store))
        return program

    def scenario(self, policy_id: str, at: date | str | None = None, version: str | None = None,
                 known_on: date | str | None = None) -> Linked:
        """A fixed world for what-if studies: the version in force on `at` (or `version`), with every
        policy it refers to as in force on `at` (or on that version's first day)."""
        at, known_on = _day_or_none("at", at), _day_or_none("known_on", known_on)
        if not self.store.by_id.get(policy_id):
            raise self._unknown(policy_id)
        self._refuse_broken(policy_id)
        if version == "":  # `@` and nothing after it (`--from @`): a pin left empty, not "no pin"
            raise PolicyNotFound(empty_pin(f"{policy_id}@"))
        if version:
            chosen = self.version_for(policy_id, date.min, Selection(version, known_on, any_date=True))
            if chosen is None:  # it exists, but the office could not have known it then
                pinned = self.pinned_version(policy_id, version)
                raise PolicyNotInForce(msg("{version} was issued on {issued}, after the known-on date {known_on}",
                                           version=pinned.key, issued=str(pinned.issued_on), known_on=str(known_on)))
            day = at or chosen.effective_from
        else:
            if at is None:
                raise ValueError("a scenario needs a date or a version")
            chosen = self.version_for(policy_id, at, Selection(known_on=known_on))
            day = at
            if chosen is None:
                raise PolicyNotInForce(self.none_in_force(policy_id, at, known_on))
        try:
            return self.linked(chosen, day, known_on)
        except LinkError as exc:
            if exc.code == "reference.not_in_force":
                raise PolicyNotInForce(exc.said_on(day)) from None
            raise PolicyInvalid([Diagnostic(exc.code, exc.message, exc.ref.location, clause=exc.clause)]) from None

    def fixed_evaluator(self, linked: Linked, explain: bool = True) -> Evaluator:
        """Decides every claim, on its own decision date, under one fixed linked policy."""
        return FixedEvaluator(self, linked, explain)

    def evaluator(self, policy: str, selection: Selection = Selection(), explain: bool = True,
                  outputs: bool = True) -> Evaluator:
        """Decide claims under `policy` (ID or ID@VERSION). explain=False records no reads (faster);
        outputs=False also skips outputs and notes, for summaries (eligibility, amount, failed rules)."""
        pid, version = parse_policy_ref(policy)
        if policy.endswith("@"):  # a pin left empty (ID@ and no version) must not quietly decide by date
            raise PolicyNotFound(empty_pin(policy))
        if selection is None:
            selection = Selection()
        elif not isinstance(selection, Selection):
            raise TypeError(f"the selection is a Selection(...), not {type(selection).__name__} {selection!r}")
        for pinned_id, pinned in selection.pins:  # a misspelt pin would quietly decide with what is in force
            if not self.store.by_id.get(pinned_id):
                raise self._unknown(pinned_id)
            self.pinned_version(pinned_id, pinned)
        if version:
            selection = Selection(version, selection.known_on, selection.any_date, selection.pins)
        if not self.store.by_id.get(pid):
            raise self._unknown(pid)
        self._refuse_broken(pid)
        if selection.version:
            self.version_for(pid, date.min, selection)  # fail now for an unknown version
        return Evaluator(self, pid, selection, explain, outputs)

    def _refuse_broken(self, policy_id: str) -> None:
        """A decision must not quietly do without a file it may need (an older version would stand in)."""
        errors = self.store.errors_for(policy_id)
        if errors:
            raise PolicyInvalid(sorted_diagnostics(errors))


def _chosen(version: PolicyVersion, pick) -> tuple | None:
    """The versions linking `version` would take with `pick`, as a key (each version reached once, so a diamond
    of references costs its size, not its number of paths); None when linking itself must say what is wrong (a
    reference with no version to take, a cycle)."""
    edges: set = set()
    done: set = set()

    def visit(current: PolicyVersion, path: frozenset) -> bool:
        if current.key in done:
            return True
        refs = ([current.extends] if current.extends else []) + list(current.uses.values())
        for ref in refs:
            target = pick(ref, current)
            if target is None or target.id in path or target.id == current.id:
                return False
            if not visit(target, path | {current.id}):
                return False
            edges.add((current.key, str(ref), target.key))
        done.add(current.key)
        return True

    return ("chosen", version.key, tuple(sorted(edges))) if visit(version, frozenset()) else None


class PolicyInvalid(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.render() for d in diagnostics))


class Evaluator:
    """Decides claims under one policy id: the version in force on each decision date, or a pinned one."""

    def __init__(self, engine: Engine, policy_id: str, selection: Selection, explain: bool, outputs: bool = True):
        self.engine = engine
        self.policy_id = policy_id
        self.selection = selection
        self.explain = explain
        self.outputs = outputs
        self._readers: dict = {}
        self._claim_reader: tuple | None = None  # (store, the reader of its latest version): asked for every claim
        self._by_day: dict = {}
        self._by_span: dict = {}  # span of days (see _span) -> the program deciding every day in it
        self._boundaries: tuple = (None, [])  # (store, its sorted days on which some version begins or ends)
        self._out_of_force_by_day: dict = {}

    def _reader(self, version: PolicyVersion) -> ClaimReader:
        schema = claim_schema(self.engine.store, version)  # with the facts its versions add (input.facts)
        if schema is None or schema.type is None:
            raise PolicyInvalid([Diagnostic("input.none", msg("{version} declares no input schema, so it cannot "
                                                              "evaluate claims", version=version.key),
                                            version.location())])
        reader = self._readers.get(schema.digest)
        if reader is None:
            reader = self._readers[schema.digest] = ClaimReader(schema.schema, schema.type)
        return reader

    def input_type(self) -> Record | None:
        """The record type of the claims it decides (its input schema, with the facts its versions add)."""
        schema = claim_schema(self.engine.store, self._any_version())
        return schema.type if schema is not None else None

    def _any_version(self) -> PolicyVersion:
        if self.selection.version:
            return self.engine.pinned_version(self.policy_id, self.selection.version)
        versions = self.engine.store.versions(self.policy_id)
        return versions[-1]

    def evaluate(self, claim: Mapping[str, Any], as_of: date | str | None = None) -> Result:
        """Decide one claim given as plain data: JSON-like, dates as YYYY-MM-DD strings or `date` objects.
        `as_of` (a date, or YYYY-MM-DD) decides it on that day instead of its own; ValueError if it is no date."""
        return self.evaluate_raw(plain_claim(claim, "<claim>"), as_of)

    def evaluate_raw(self, raw: RawClaim, as_of: date | str | None = None) -> Result:
        """Decide a claim read by read_claims (its location goes into errors), on `as_of` instead of its own date
        when given: a Decision, or the ClaimError that says why it could not be decided."""
        if not isinstance(raw, RawClaim):
            raise TypeError(f"evaluate_raw takes a RawClaim (from read_claims, or RawClaim(data, location)), not "
                            f"{type(raw).__name__}: evaluate takes a claim as a dict")
        if isinstance(as_of, str):
            as_of = parse_date(as_of)  # the caller's mistake, not the claim's: raised, not returned
        elif as_of is not None and (not isinstance(as_of, date) or isinstance(as_of, datetime)):
            raise ValueError(f"as_of must be a date or its YYYY-MM-DD text, not {type(as_of).__name__} {as_of!r}")
        try:
            result = self._evaluate_raw(raw.parsed(), as_of)
            result.known_on = self.selection.known_on  # every answer says which versions it could know of
            return result
        except PolicyInvalid:
            raise  # the policy is broken for every claim: the caller reports it once
        except Exception as exc:  # a bug must cost one claim its decision, never the batch
            data = raw.data if isinstance(raw.data, dict) else {}
            claim_id = data.get("claim_id") if isinstance(data.get("claim_id"), str) else None
            shape = shape_problem(raw.data)  # data no reader saw (the API's): nested too deep, say
            if shape is not None:
                return ClaimError(claim_id, shape[0], shape[1], location=raw.location,
                                  details={"policy_id": self.policy_id}, known_on=self.selection.known_on)
            return ClaimError(claim_id, "evaluation.internal", msg("internal error while deciding: {kind}: {error}",
                                                                   kind=type(exc).__name__, error=str(exc)),
                              location=raw.location,
                              details={"policy_id": self.policy_id}, known_on=self.selection.known_on)

    def prepared(self, raw: RawClaim, as_of: date | None) -> Result | tuple[dict, date, str | None, Program]:
        """A parsed claim up to its decision: an error in its place, or (facts, decision date, claim id, program)."""
        reader = self.claim_reader()
        facts, error = reader.facts(raw)
        if error is not None:
            error.details.setdefault("policy_id", self.policy_id)
            return error
        assert facts is not None  # a claim without an error has its facts
        claim_id = reader.claim_id(raw.data)
        day = as_of or reader.decision_date(facts)
        if day is None:
            return ClaimError(claim_id, "claim.no_decision_date", msg("the claim has no decision date; pass --as-of"),
                              location=raw.location)
        program = self._program_on(day)
        if isinstance(program, ClaimError):
            return self.without_program(program, claim_id, raw.location, day)
        return facts, day, claim_id, program

    def claim_reader(self) -> ClaimReader:
        """The reader of this policy's claims (its input schema, with the facts its versions add), kept: it is asked
        for every claim."""
        known = self._claim_reader
        if known is None or known[0] is not self.engine.store:
            known = self._claim_reader = (self.engine.store, self._reader(self._any_version()))
        return known[1]

    def program_for(self, day: date) -> Program | ClaimError:
        """The program that decides claims on `day`, or why there is none (an error without a claim's place)."""
        return self._program_on(day)

    def without_program(self, error: ClaimError, claim_id: str | None, location: str, day: date) -> ClaimError:
        """A claim's error when no program decides on its day (program_for gave `error`)."""
        return ClaimError(claim_id, error.code, error.message, location=location, decision_date=day,
                          details=dict(error.details))

    def _evaluate_raw(self, raw: RawClaim, as_of: date | None) -> Result:
        ready = self.prepared(raw, as_of)
        if not isinstance(ready, tuple):
            return ready
        facts, day, claim_id, program = ready
        return self.finished(program.decide(facts, day, claim_id), raw, day)

    def finished(self, result: Result, raw: RawClaim, day: date) -> Result:
        """What a program's result gets from the evaluator (the columnar engine's decisions too)."""
        if self.selection.any_date and self.selection.version:
            result.out_of_force = self._out_of_force(day)
        if isinstance(result, ClaimError):
            if result.location is None:
                result.location = raw.location
            result.details.setdefault("policy_id", self.policy_id)
        return result

    def evaluate_many(self, claims: Iterable[RawClaim | Mapping[str, Any]],
                      as_of: date | str | None = None) -> Iterator[Result]:
        """Decide claims given as plain dicts or as RawClaims from engine.claims.reader.read_claims, in order. A bad
        `as_of` is refused here, not at the first result."""
        day = _day_or_none("as_of", as_of)
        if isinstance(claims, (Mapping, RawClaim, str, bytes)):  # one claim: iterated, its keys would each be a claim
            raise TypeError(f"evaluate_many takes an iterable of claims, not one {type(claims).__name__}: "
                            "use evaluate for one claim, or pass [claim]")

        def decided() -> Iterator[Result]:
            for i, claim in enumerate(claims):
                raw = claim if isinstance(claim, RawClaim) else plain_claim(claim, f"<claim {i}>")
                yield self.evaluate_raw(raw, day)

        return decided()

    def _out_of_force(self, day: date) -> dict | None:
        """When the pinned version is not in force on `day` but was asked for on any date: the version that is in
        force then (or None), and the pinned version's own range, for the decision to say so."""
        if day in self._out_of_force_by_day:
            return self._out_of_force_by_day[day]
        pinned = self.engine.pinned_version(self.policy_id, self.selection.version) if self.selection.version else None
        found = None
        end = self.engine.store.until(pinned) if pinned is not None else None
        if pinned is not None and not (pinned.effective_from <= day and (end is None or day <= end)):
            current = self.engine.store.in_force(self.policy_id, day, self.selection.known_on)
            found = {"in_force": current.key if current is not None else None,
                     "from": pinned.effective_from.isoformat(), "to": end.isoformat() if end else None}
        if len(self._out_of_force_by_day) < 10_000:
            self._out_of_force_by_day[day] = found
        return found

    def _span(self, day: date) -> int:
        """The span of days `day` lies in, between two consecutive days on which some version of the store takes
        effect or ends: every choice of versions (the one in force, the one a reference takes, whether a pinned one
        is in force) is the same on every day of a span, so the program is too."""
        store, days = self._boundaries
        if store is not self.engine.store:
            days = sorted(self.engine.store.change_days())
            self._boundaries = (self.engine.store, days)
            self._by_span.clear()
        return bisect_right(days, day)

    def _program_on(self, day: date) -> Program | ClaimError:
        program = self._by_day.get(day)
        if program is not None:
            return program
        # A batch meets thousands of decision dates and a handful of spans: a day not seen yet is decided by its
        # span's program without resolving versions again (a fresh engine's first pass as fast as a warm one's).
        span = self._span(day)
        program = self._by_span.get(span)
        if program is None:
            program = self._resolve(day)
            if not isinstance(program, Program):
                return program  # its message names the day: not kept
            self._by_span[span] = program
        if len(self._by_day) < 10_000:
            self._by_day[day] = program
        return program

    def _resolve(self, day: date) -> Program | ClaimError:
        """The program for `day`, or why there is none (the error names the day)."""
        version = self.engine.version_for(self.policy_id, day, self.selection)
        if version is None:
            store = self.engine.store
            if self.selection.version:
                pinned = self.engine.pinned_version(self.policy_id, self.selection.version)
                known_on = self.selection.known_on
                if known_on and pinned.issued_on > known_on:
                    return ClaimError(None, "policy.not_in_force", msg(
                        "{version} was issued on {issued}, after the known-on date {known_on}", version=pinned.key,
                        issued=str(pinned.issued_on), known_on=str(known_on)), details={"policy_id": self.policy_id})
                end = store.until(pinned)
                span = msg("from {start} to {end}", start=str(pinned.effective_from), end=str(end)) if end \
                    else msg("from {start}", start=str(pinned.effective_from))
                repeal = store.repealed_on(self.policy_id, day, known_on)
                if repeal is not None and repeal.effective_from > pinned.effective_from and end is not None \
                        and end < repeal.effective_from:
                    span = msg("{span}; {document} repealed it from {start}", span=span, start=str(
                        repeal.effective_from), document=repeal.source["number"] or repeal.key)
                return ClaimError(None, "policy.not_in_force", msg(
                    "{version} is not in force on {day} (it is in force {span})", version=pinned.key, day=str(day),
                    span=span), details={"policy_id": self.policy_id}
                    | ({"repealed_by": repeal.key} if repeal is not None and end is not None
                       and end < repeal.effective_from else {}))
            nearest = store.nearest(self.policy_id, day)
            repeal = store.repealed_on(self.policy_id, day, self.selection.known_on)
            repealed = repeal is not None and store.in_force(self.policy_id, day) is None
            return ClaimError(None, "policy.not_in_force",
                              self.engine.none_in_force(self.policy_id, day, self.selection.known_on),
                              details={"policy_id": self.policy_id,
                                       "nearest": stamp(nearest).to_json() if nearest else None}
                              | ({"repealed_by": repeal.key} if repealed and repeal is not None else {}))
        try:
            linked = self.engine.linked(version, day, self.selection.known_on, self.selection.pins)
        except LinkError as exc:
            return ClaimError(None, exc.code, exc.said_on(day),
                              details={"policy_id": exc.ref.policy_id})
        return self.engine.program(linked, self.explain, self.outputs)


class FixedEvaluator(Evaluator):
    def __init__(self, engine: Engine, linked: Linked, explain: bool):
        super().__init__(engine, linked.version.id, Selection(linked.version.version, any_date=True), explain)
        self.program = engine.program(linked, explain)

    def _program_on(self, day: date) -> Program:
        return self.program

    def _out_of_force(self, day: date) -> dict | None:
        return None  # a fixed world is a what-if study by definition: its report names both worlds

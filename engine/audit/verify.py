"""Reproduce recorded decisions: each record decided again from its claim and compared field by field.

A record is what `policy evaluate --format json` wrote for one claim: a whole decision, a `--summary`,
or an error (a claim that was not decided). It is decided again as `evaluate` would decide it now — on
its recorded decision date, with its recorded `known_on` — and every field the engine writes is
compared with the record. A record that is none of those three shapes is unreadable: it is reported,
never skipped, so every record is accounted for.
"""
from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import IO

from engine.api import Engine, PolicyInvalid, PolicyNotFound, Selection
from engine.audit.describe import ROLES
from engine.claims.reader import CLAIM_LIMITS, RawClaim, read_claims
from engine.core import schemacheck
from engine.core.i18n import Message, clauses, msg, series, tr
from engine.core.isodate import parse_date
from engine.core.reasons import json_kind
from engine.core.records import dataclass
from engine.core.shown import shown
from engine.decide.results import Decision
from engine.policies.ledgerspec import recorded_history, with_fact
from engine.policies.linker import LinkError

DECISION_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "decision.schema.json"  # package data

# The order in which missing fields are named (as `evaluate --format json` writes them).
FULL_FIELDS = ("claim_id", "policy", "decision_date", "eligible", "amount", "currency", "references",
               "amount_reads", "outputs", "rules", "notes")
ABSENT = object()  # a field one side does not have (JSON null is a value, None)


@dataclass
class Record:
    """One recorded result, read from DECISIONS; `problem` says why it cannot be verified as a record."""

    location: str
    data: dict | None = None
    kind: str | None = None  # decision | summary | error
    problem: str | None = None

    @property
    def fields(self) -> dict:
        """The recorded fields; only a readable record (no problem) is ever verified."""
        assert self.data is not None, self.problem
        return self.data

    @property
    def claim_id(self) -> str | None:
        value = self.data.get("claim_id") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def policy_id(self) -> str:
        policy = self.fields.get("policy")
        return policy["id"] if isinstance(policy, dict) else self.fields["error"]["policy_id"]


def read_records(path: str) -> Iterator[Record]:
    """Every record of DECISIONS in order, readable or not. An empty file yields none."""
    for raw in read_claims([path]):
        if raw.error is not None:
            if raw.error.code == "claim.empty":
                continue  # an empty document holds no record; the caller says there is nothing to verify
            # the reader is the claims' one: its words for a line too deep or too large are said of the record
            worded = _RECORD_WORDS.get(raw.error.code)
            yield Record(raw.location, problem=worded() if worded is not None else raw.error.message)
            continue
        kind, problem = _shape(raw.data)
        yield Record(raw.location, raw.data if problem is None and isinstance(raw.data, dict) else None, kind, problem)


_RECORD_WORDS = {
    "claim.too_deep": lambda: msg("the record nests deeper than {limit} levels", limit=CLAIM_LIMITS.max_depth),
    "claim.too_many_nodes": lambda: msg("the record holds more than {limit} values", limit=CLAIM_LIMITS.max_nodes),
}


def record_of(data, location: str) -> Record:
    """A record read from elsewhere than a file (the decision log), shaped as read_records shapes them."""
    kind, problem = _shape(data)
    return Record(location, data if problem is None else None, kind, problem)


@cache
def _validator(kind: str):
    """A validator of one kind of record: that branch of engine/schemas/decision.schema.json."""
    schema = json.loads(DECISION_SCHEMA.read_text(encoding="utf-8"))
    return schemacheck.make_validator({"$schema": schema["$schema"], "$defs": schema["$defs"],
                                       "$ref": f"#/$defs/{kind}"})


# Values verify compares with what the engine says now: one of the wrong type is a difference it reports
# (`amount: recorded 2500, now "2500"`), not a record it cannot read.
_COMPARED = {"eligible", "amount", "currency", "outputs", "amount_reads", "problems", "failed_rules"}
_COMPARED_IN_ENTRIES = {"rules", "notes", "references"}  # every field but the id by which entries are matched


def _compared(path: list) -> bool:
    """Whether a schema error at `path` is in a value verify compares, rather than in what it reads to
    compare (a container it walks, an id it matches by, the policy and dates it decides with)."""
    if not path:
        return False
    if path[0] in _COMPARED:  # the mappings and lists themselves must be what they are, to be walked
        return len(path) > 1 or path[0] not in ("outputs", "amount_reads", "failed_rules")
    if path[0] in _COMPARED_IN_ENTRIES:
        return len(path) > 2 and path[2] != "id" and path[2:] != ["reads"]
    return path[0] == "error" and len(path) > 1 and path[1] not in ("code", "policy_id")


def _shape(data) -> tuple[str | None, str | None]:
    """The kind of a record, or why it is not one that `evaluate --format json` writes (as
    engine/schemas/decision.schema.json describes it, and as verify needs it to be)."""
    if not isinstance(data, dict):
        return None, msg("a recorded decision is a JSON object, not {kind}", kind=json_kind(data))
    if "error" in data:
        kind = "error"
    elif "rules" in data:
        kind = "decision"
    elif "failed_rules" in data:
        kind = "summary"
    else:
        return None, msg("not a decision written by `policy evaluate --format json` "
                         "(it has no rules, failed_rules or error)")
    errors = [e for e in _validator(kind).iter_errors(data) if not _compared(list(e.absolute_path))]
    missing = [e.message.split("'")[1] for e in errors if e.validator == "required" and not e.absolute_path]
    if kind == "decision" and "amount_reads" not in data:  # written whenever a decision is explained
        missing.append("amount_reads")
    if missing:
        order = list(FULL_FIELDS) + ["error"]
        lacking = ", ".join(sorted(missing, key=lambda m: order.index(m) if m in order else len(order)))
        return None, (msg("the recorded error lacks {fields}", fields=lacking) if kind == "error"
                      else msg("the recorded decision lacks {fields}", fields=lacking))
    if errors:
        first = min(errors, key=lambda e: [str(p) for p in e.absolute_path])
        path, message = schemacheck.describe_error(first)
        if first.validator == "type" and first.schema.get("required"):  # say what the object holds
            message = msg("must be an object with the fields {fields}, found {found}",
                          fields=", ".join(first.schema["required"]), found=schemacheck.describe_value(first.instance))
        if first.validator in ("required", "additionalProperties"):  # the message names the key: say where
            path = path[:-1]
        return None, msg("{path}: {message}", path=schemacheck.json_path(path), message=message) if path else message
    if kind == "error" and "policy" not in data and not isinstance(data["error"].get("policy_id"), str):
        return None, msg("the recorded error names no policy (neither policy.id nor error.policy_id)")
    if kind != "error" and not isinstance(data["claim_id"], str):  # claims are matched to records by id
        return None, msg("claim_id must be a text")
    return kind, None


# -------------------------------------------------------------------------------------------------
# Claims, matched to records by claim id


@dataclass
class Claims:
    """CLAIMS indexed for matching. A claim id given twice with different facts is ambiguous: the record
    cannot be said to come from either, so it is reported rather than matched to whichever came last."""

    raws: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)  # locations of claims that could not be read
    _by_field: dict = field(default_factory=dict)

    def by_id(self, id_field: str) -> dict:
        index = self._by_field.get(id_field)
        if index is None:
            index = self._by_field[id_field] = {}
            for raw in self.raws:
                value = raw.data.get(id_field) if isinstance(raw.data, dict) else None
                if isinstance(value, (str, int)) and not isinstance(value, bool):
                    index.setdefault(str(value), []).append(raw)
        return index


def read_claim_index(paths: list[str], stdin: IO[bytes] | None) -> Claims:
    claims = Claims()
    for raw in read_claims(paths, stdin):
        raw = raw.parsed()
        claims.raws.append(raw)
        if raw.error is not None:
            claims.unreadable.append(raw.location)
    return claims


# -------------------------------------------------------------------------------------------------
# Verifying one record


@dataclass
class Outcome:
    record: Record
    status: str  # reproduced | differs | unreadable
    differences: list
    # How today's store would decide it, when it would use other versions than the record: {"versions": [what it
    # would use instead, and why], "changes": [what that changes in the answer]}. Not a difference: the record
    # is reproduced (or not) with the versions it names.
    today: dict | None = None

    def to_json(self) -> dict:
        data: dict[str, object] = {"location": self.record.location, "claim_id": self.record.claim_id,
                                   "status": self.status}
        if self.status == "unreadable":
            data["reason"] = self.record.problem
        else:
            data["differences"] = self.differences
            if self.today is not None:
                data["today"] = self.today
        return data

    def render(self) -> str:
        """The outcome in the chosen language (its JSON keeps the machine words and the English)."""
        location = tr(self.record.location) if isinstance(self.record.location, Message) \
            else shown(str(self.record.location))
        where = f"{shown(str(self.record.claim_id))} ({location})" if self.record.claim_id else location
        if self.status == "unreadable":
            return tr("{where}: UNREADABLE: {reason}", where=where, reason=self.record.problem)
        lines = [tr("{where}: reproduced", where=where) if self.status == "reproduced"
                 else tr("{where}: DIFFERS", where=where)]
        lines += [f"    {tr(d)}" for d in self.differences]
        if self.today is not None:
            versions = tr(clauses(self.today["versions"])) or "?"
            lines.append("    " + (tr("today's store would decide it differently: {versions}", versions=versions)
                                   if self.today["changes"] else
                                   tr("today's store would use other versions, with the same answer: {versions}",
                                      versions=versions)))
            lines += [f"        {tr(c)}" for c in self.today["changes"]]
        return "\n".join(lines)


class Verifier:
    def __init__(self, engine: Engine, claims: Claims):
        self.engine = engine
        self.claims = claims
        self._evaluators: dict = {}

    def check(self, record: Record, pinned: str | None = None) -> Outcome:
        """`pinned`: the version the decision was asked for (`ID@VERSION`), when the record's source says so (the
        service logs the request): a claim refused as no version in force is then asked about that version again."""
        if record.problem is not None:
            return Outcome(record, "unreadable", [])
        claim = self._claim(record)
        used = recorded_history(record.fields)
        if used is not None and not isinstance(claim, str) and isinstance(claim.data, dict):
            # decided with the grants ledger's history: decided again with the entries it recorded
            claim = RawClaim(with_fact(claim.data, *used), claim.location)
        differences, today = ([claim], None) if isinstance(claim, str) else self._differences(record, claim, pinned)
        return Outcome(record, "differs" if differences else "reproduced", differences, today)

    def _id_field(self, record: Record) -> str | None:
        """The claim id field of the record's policy, as its input schema names it (x-claim-id)."""
        store = self.engine.store
        version = store.get(record.policy_id, record.fields["policy"]["version"]) \
            if isinstance(record.fields.get("policy"), dict) else None
        for v in [version] if version else store.versions(record.policy_id)[::-1]:
            name = store.input_schema_name(v)  # its own, or that of the policy it extends
            schema = store.schemas.get(name) if name else None
            if schema is not None and schema.schema.get("x-claim-id"):
                return schema.schema["x-claim-id"]
        return None

    def _claim(self, record: Record) -> RawClaim | str:
        """The claim the record was decided from, or why none can be matched to it."""
        if record.claim_id is None:  # a claim that could not be read: the record can only name where it was
            location = record.fields["error"].get("location")
            if not isinstance(location, str):
                return msg("the record has neither a claim_id nor a location, so no claim can be matched to it")
            # the error's location is the claim's line, and where in it reading stopped
            raw = next((r for r in self.claims.raws if location == r.location or location.startswith(r.location + ":")),
                       None)
            return raw or msg("the record has no claim_id, and no claim of CLAIMS is at its location {location}",
                              location=location)
        if not self.engine.store.versions(record.policy_id):
            return msg("no policy {policy} in the policy store", policy=repr(record.policy_id))
        id_field = self._id_field(record)
        if id_field is None:
            return msg("the input schema of {policy} names no claim id field (x-claim-id), so no claim can be "
                       "matched to the record", policy=record.policy_id)
        found = self.claims.by_id(id_field).get(record.claim_id, [])
        if not found:
            unread = self.claims.unreadable
            if not unread:
                return msg("no claim with this id among CLAIMS")
            return msg("no claim with this id among CLAIMS ({count} claim(s) of CLAIMS could not be read: {where})",
                       count=len(unread), where=", ".join(unread[:3]) + (", …" if len(unread) > 3 else ""))
        if any(raw.data != found[0].data for raw in found[1:]):
            return msg("the claim id is given {count} times in CLAIMS with different facts ({where}): cannot tell "
                       "which one was decided", count=len(found), where=", ".join(r.location for r in found))
        return found[0]

    def _evaluator(self, policy_id: str, known_on, summary: bool, version: str | None = None, pins: tuple = (),
                   any_date: bool = True):
        key = (policy_id, known_on, summary, version, pins, any_date)
        evaluator = self._evaluators.get(key)
        if evaluator is None:
            # a pinned root is decided on its recorded date even if a later version has superseded it since
            selection = Selection(version, known_on, any_date=any_date and version is not None, pins=pins)
            evaluator = self._evaluators[key] = self.engine.evaluator(
                policy_id, selection, explain=not summary, outputs=not summary)
        return evaluator

    def _recorded_basis(self, record: Record, day, known_on) -> tuple[str | None, tuple, list[str]]:
        """The root version and the (id, version) pins the record was decided with, as far as the record tells,
        and what is wrong with them (a version that no longer exists, a combined digest no versions give)."""
        data = record.fields
        policy = data.get("policy")
        if not isinstance(policy, dict):
            return None, (), []  # decided by no version (no policy in force, a claim that could not be read)
        problems: list[str] = []
        root = self.engine.store.get(policy["id"], policy["version"])
        if root is None:
            problems.append(msg("{policy} is not in the policy store (its file removed since the decision, or never "
                                "there)", policy=f"{policy['id']}@{policy['version']}"))
        combined = data.get("combined_digest")
        if record.kind == "decision":
            pins: list[tuple] = []
            for ref in data["references"]:
                if not isinstance(ref.get("version"), str):
                    continue
                if self.engine.store.get(ref["id"], ref["version"]) is None:
                    problems.append(msg("{policy} is not in the policy store (its file removed since the decision, or "
                                        "never there)", policy=f"{ref['id']}@{ref['version']}"))
                else:
                    pins.append((ref["id"], ref["version"]))
            if isinstance(combined, str) and combined != _recomputed(data):
                problems.append(msg("the combined digest does not match the versions and schemas the record "
                                    "lists: recorded {recorded}, they give {computed}", recorded=combined,
                                    computed=_recomputed(data)))
            return (policy["version"] if root else None), tuple(sorted(pins)), problems
        if root is None or not isinstance(combined, str):
            return (policy["version"] if root else None), (), problems
        found = self._pins_giving(root, combined, day, known_on)
        if found is None:
            return policy["version"], (), problems + [
                msg("combined digest differs: recorded {recorded}; no versions in the store give it now, so a "
                    "policy file or schema it was decided with has changed (a --summary record does not list them: "
                    "record decisions in full to know which)", recorded=combined)]
        return policy["version"], found, problems

    def _pins_giving(self, root, combined: str, day, known_on) -> tuple | None:
        """The versions of the policies `root` refers to whose combined digest is `combined`: a summary or an
        error names only its root, and its digest says which of the versions that could have been in force were
        used. The latest candidates are tried first; None when no combination gives it."""
        from engine.decide.program import basis_of

        store = self.engine.store
        ids = sorted(store.needs(root.id) - {root.id})
        candidates = [[v for v in store.versions(pid, known_on) if day is None or v.effective_from <= day][::-1]
                      or store.versions(pid)[::-1] for pid in ids]
        tried = 0
        for combo in itertools.product(*candidates):
            tried += 1
            if tried > _MOST_COMBINATIONS:
                return None
            pins = tuple(sorted((v.id, v.version) for v in combo))
            try:
                linked = self.engine.linked(root, day or root.effective_from, known_on, pins)
            except (LinkError, PolicyInvalid):
                continue
            if basis_of(linked, store).combined == combined:
                return tuple(sorted((v.id, v.version) for v in linked.versions if v is not linked.version))
        return None

    def _decide(self, record: Record, raw: RawClaim, day, known_on, version: str | None, pins: tuple,
                any_date: bool = True):
        """The claim decided again: (result, its JSON) or a list with the reason it cannot be."""
        summary = record.kind == "summary"
        try:
            result = self._evaluator(record.policy_id, known_on, summary, version, pins, any_date).evaluate_raw(
                raw, day)
        except PolicyNotFound as exc:
            return [str(exc)]
        except PolicyInvalid as exc:
            first = exc.diagnostics[0]  # one line: the difference is that it cannot decide, `check` says the rest
            return [msg("the policy cannot decide claims now: {location}: {message} (run `policy check`)",
                        location=first.location, message=first.message)]
        now = result.to_json(summary=summary)
        now.pop("out_of_force", None)  # the recorded version is decided on its date whatever the store holds since
        return result, now

    def _differences(self, record: Record, raw: RawClaim, pinned: str | None = None) -> tuple[list[str], dict | None]:
        data = record.fields
        day = parse_date(data["decision_date"]) if "decision_date" in data else None
        known_on = parse_date(data["known_on"]) if "known_on" in data else None
        version, pins, problems = self._recorded_basis(record, day, known_on)
        if version is None and pinned:  # decided by no version, as asked for that one: asked for it again, in force
            decided = self._decide(record, raw, day, known_on, pinned, (), any_date=False)
        else:
            decided = self._decide(record, raw, day, known_on, version, pins)
        if isinstance(decided, list):
            return problems + decided, None
        result, now = decided
        differences = problems + self._issued_after_known_on(record, known_on) + self._compare(record, result, now, day)
        today = self._today(record, raw, result, now, day, known_on) if version is not None else None
        return differences, today

    def _issued_after_known_on(self, record: Record, known_on) -> list[str]:
        """A record decided with the versions known on a day lists only versions issued by then: one issued later
        means the record's known_on (or a version it lists) was changed, since no such decision could use it."""
        if known_on is None:
            return []
        listed = [record.fields.get("policy")] + list(record.fields.get("references") or [])
        found: list[str] = []
        for stamp in listed:
            if not isinstance(stamp, dict) or not isinstance(stamp.get("id"), str) \
                    or not isinstance(stamp.get("version"), str):
                continue
            version = self.engine.store.get(stamp["id"], stamp["version"])
            if version is not None and version.issued_on > known_on:
                found.append(msg("the record says it was decided with the versions known on {known_on}, but it lists "
                                 "{version}, issued {issued} (was the record's known_on changed?)", known_on=known_on,
                                 version=version.key, issued=version.issued_on))
        return found

    def _compare(self, record: Record, result, now: dict, day) -> list[str]:
        data = record.fields
        # The record's combined digest is today's: every file is as it was when the claim was decided, so a listed
        # digest that differs was changed in the record, not in the files.
        altered = isinstance(data.get("combined_digest"), str) and data["combined_digest"] == now.get("combined_digest")
        differences = self._root(record, now.get("policy"), day, altered)
        if record.kind == "error":
            if isinstance(result, Decision):
                return differences + [msg("recorded as not decided ({code}), now decided: eligible {eligible}, "
                                          "amount {amount}", code=data["error"]["code"],
                                          eligible=_show(now["eligible"]), amount=_show(now["amount"]))]
            # the location is where the claim sat in the file evaluate read, and CLAIMS may be another file
            recorded_error = {k: v for k, v in data["error"].items() if k != "location"}
            now_error = {k: v for k, v in now["error"].items() if k != "location"}
            return differences + _keyed("error", recorded_error, now_error, order=("code", "message"))
        if not isinstance(result, Decision):
            return differences + [msg("the claim is no longer decided: {code}: {message}", code=result.code,
                                      message=result.message)]
        if record.kind == "decision":
            differences += _references(data["references"], now["references"], day, self.engine.store,
                                       data.get("schemas"), altered)
            if "schemas" in data:
                differences += _schemas(data["schemas"], now.get("schemas", []), self.engine.store, altered)
        for name in ("eligible", "amount", "currency"):
            differences += _value(name, data[name], now[name])
        if record.kind == "summary":
            # listed in the order of the policy's rules, which is not part of the result
            if not _same(sorted(data["failed_rules"], key=_show), sorted(now["failed_rules"])):
                differences.append(msg("failed rules: recorded {recorded}, now {now}",
                                       recorded=_show(data["failed_rules"]), now=_show(now["failed_rules"])))
            return differences
        differences += _keyed(lambda n: msg("amount read {name}", name=n), data["amount_reads"], now["amount_reads"])
        differences += _keyed(lambda n: msg("output {name}", name=n), data["outputs"], now["outputs"])
        differences += _entries(lambda e: msg("rule {name}", name=e),
                                lambda e, n: msg("rule {entry} read {name}", entry=e, name=n),
                                data["rules"], now["rules"], "outcome")
        differences += _entries(lambda e: msg("note {name}", name=e),
                                lambda e, n: msg("note {entry} read {name}", entry=e, name=n),
                                data["notes"], now["notes"], None)
        # outputs and notes that could not be computed: written only when there are some
        differences += _value("problems", data.get("problems", []), now.get("problems", []))
        return differences

    def _today(self, record: Record, raw: RawClaim, result, now: dict, day, known_on) -> dict | None:
        """How today's store would decide the claim, when it would use other versions than those recorded: which
        versions instead, why (a later version, issued after the decision), and what that changes."""
        decided = self._decide(record, raw, day, known_on, None, ())
        if isinstance(decided, list):
            return {"versions": [], "changes": decided}
        today, today_json = decided
        used, now_used = _versions(result), _versions(today)
        if used == now_used:
            return None
        versions: list[str] = []
        for pid, label in sorted(now_used.items()):
            if used.get(pid) == label:
                continue
            version = self.engine.store.get(pid, label)
            now_version = f"{pid}@{label}"
            out_of_force = record.fields.get("out_of_force")
            if version is None:
                why = ""
            elif isinstance(out_of_force, dict) and out_of_force.get("in_force") == now_version:
                why = msg(" (in force then: the record was decided under a pinned version outside its dates, as "
                          "--any-date asked)")
            elif day is not None and version.issued_on > day:
                why = msg(" (in force from {start}, issued {issued}, after the decision date)",
                          start=version.effective_from, issued=version.issued_on)
            else:
                why = msg(" (in force from {start}, issued {issued}; added to the store after the decision)",
                          start=version.effective_from, issued=version.issued_on)
            versions.append(msg("{version} instead of @{recorded}{why}", version=now_version, recorded=used[pid],
                                why=why) if pid in used else
                            msg("{version} (not used by the record){why}", version=now_version, why=why))
        repeal = self._repeal(today_json, day)
        versions += [repeal] if repeal else []
        versions += [msg("{version} no longer used", version=f"{pid}@{label}") for pid, label in sorted(used.items())
                     if pid not in now_used]
        changes: list[str] = []
        if isinstance(today, Decision) != isinstance(result, Decision):
            changes.append(msg("decided: {recorded} with the versions recorded, {today} with today's",
                               recorded=_brief(now), today=_brief(today_json)))
        elif isinstance(today, Decision):
            for name in ("eligible", "amount", "currency"):
                changes += _value(name, now[name], today_json[name], today=True)
            if sorted(now.get("failed_rules") or result.failed_rules) != sorted(today.failed_rules):
                changes.append(msg("failed rules: {recorded} with the versions recorded, {today} with today's",
                                   recorded=_show(sorted(result.failed_rules)),
                                   today=_show(sorted(today.failed_rules))))
        else:
            changes += _value("error", now["error"].get("code"), today_json["error"].get("code"), today=True)
        return {"versions": versions, "changes": changes}

    def _repeal(self, today_json: dict, day) -> str | None:
        """The repeal that leaves today's store no version to decide with, and when it was issued."""
        repealed_by = (today_json.get("error") or {}).get("repealed_by")
        if not isinstance(repealed_by, str):
            return None
        pid, _, label = repealed_by.partition("@")
        repeal = self.engine.store.repeal(pid, label)
        if repeal is None:
            return None
        said = {"repeal": repealed_by, "start": repeal.effective_from, "document": repeal.source["number"],
                "issued": repeal.issued_on}
        if day is not None and repeal.issued_on > day:
            return msg("{repeal} repeals the policy from {start} ({document}, issued {issued}, after the decision "
                       "date)", **said)
        return msg("{repeal} repeals the policy from {start} ({document}, issued {issued}; added to the store after "
                   "the decision)", **said)

    def _root(self, record: Record, now_policy: dict | None, day, altered: bool = False) -> list[str]:
        """The policy's own version: still there, still the one that decides, same digest."""
        recorded = record.fields.get("policy")
        if recorded is None or now_policy is None:
            return []  # not decided now: the error says why
        pid, label, digest = recorded["id"], recorded["version"], recorded["digest"]
        differences: list[str] = []
        version = self.engine.store.get(pid, label)
        if now_policy["version"] != label:
            differences.append(msg("{policy}: recorded version {recorded}, now {now} resolves on {day}", policy=pid,
                                   recorded=label, now=now_policy["version"], day=day))
        elif now_policy["digest"] != digest and version is not None:
            differences.append(msg("{version} digest differs: recorded {recorded}, now {now} ({why})",
                                   version=f"{pid}@{label}", recorded=digest, now=now_policy["digest"],
                                   why=_changed_file(version, record.fields.get("schemas"), self.engine.store,
                                                     altered)))
        if version is None or day is None or "out_of_force" in record.fields:  # a pin asked for on any date says so
            return differences
        # Only the version's own dates: a later version (or a repeal) since may end it earlier in today's store,
        # but the decision was made before that was known, when the version was in force.
        end = version.effective_to
        if not (version.effective_from <= day and (end is None or day <= end)):
            span = msg("from {start} to {end}", start=str(version.effective_from), end=str(end)) if end \
                else msg("from {start}", start=str(version.effective_from))
            differences.insert(0, msg("the record says {version} decided it on {day}, but {version} is in force "
                                      "{span} (was the record's decision_date changed?)", version=f"{pid}@{label}",
                                      day=str(day), span=span))
        return differences


_MOST_COMBINATIONS = 4096  # versions tried to find those a summary was decided with, at most


def _versions(result) -> dict:
    """policy id -> version of every version a result was decided with (none for a claim no version decided)."""
    basis = getattr(result, "basis", None)
    if basis is None:
        return {result.policy.id: result.policy.version} if getattr(result, "policy", None) else {}
    return {basis.policy.id: basis.policy.version} | {r.id: r.version for r, _role in basis.references}


def _brief(data: dict) -> str:
    if "error" in data:
        return msg("not decided ({reason})", reason=data["error"].get("code"))
    return msg("eligible {amount}", amount=data["amount"]) if data["eligible"] else msg("not eligible")


def _recomputed(data: dict) -> str:
    """The combined digest of the versions and schemas a full record lists."""
    from engine.decide.results import PolicyStamp, combined_digest

    policy = data["policy"]
    refs = [(PolicyStamp(r["id"], r["version"], r["digest"]), r["role"]) for r in data["references"]]
    schemas = [(s["name"], s["digest"]) for s in data.get("schemas", [])]
    return combined_digest(PolicyStamp(policy["id"], policy["version"], policy["digest"]), refs, schemas)


def _altered() -> str:
    return msg("the record's combined digest is that of today's files, so the record was changed after the "
               "decision, not the file")


def _changed_file(version, recorded_schemas, store, altered: bool = False) -> str:
    """Which file made a version's digest change: its input schema, when the record lists that schema with
    another digest than it has now; else the policy file itself, or, where the digest covers more files than the
    record can tell apart (the versions an amendment builds on; the input schema, which a summary record does not
    list), each of them; none, when the record was `altered`."""
    if altered:
        return _altered()
    name = version.input_schema
    schema = store.schemas.get(name) if name else None
    old = next((s.get("digest") for s in recorded_schemas or () if s.get("name") == name), None)
    if old is not None and schema is not None and schema.digest != old:
        return msg("its input schema {file} changed after the decision", file=store.display(store.schemas_dir / name))
    files = [version.file]
    amended = version
    while amended is not None and amended.amends and len(files) < 50:  # the digest of each is in the amendment's
        amended = store.get(amended.id, amended.amends)
        if amended is not None:
            files.append(amended.file)
    if schema is not None and not recorded_schemas:  # the record cannot say whether the schema changed
        files.append(store.display(store.schemas_dir / name))
    if len(files) == 1:
        return msg("the file {file} changed after the decision", file=version.file)
    return msg("one of the files its digest covers changed after the decision: {files}", files=series(files))


# -------------------------------------------------------------------------------------------------
# Comparing fields


def _show(value) -> str:
    if value is ABSENT:
        return msg("(none)")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _value(label: str, recorded, now, today: bool = False) -> list[str]:
    """The value as recorded and now (or, `today`, as decided now and by today's store), where they differ."""
    if _same(recorded, now):
        return []
    if isinstance(recorded, dict) and isinstance(now, dict):  # a table row read: name the cells that differ
        differences: list[str] = []
        for key in dict.fromkeys(list(recorded) + list(now)):
            differences += _value(msg("{label}.{key}", label=label, key=key), recorded.get(key, ABSENT),
                                  now.get(key, ABSENT), today)
        return differences
    old, new = _show(recorded), _show(now)
    if old == new:  # the same text, different JSON types (2200 and "2200"): show both as JSON
        old, new = _typed(recorded), _typed(now)
    if today:
        # `recorded` is the claim decided again with the recorded versions, not the record (which may differ)
        return [msg("{label}: {recorded} with the versions recorded, {today} with today's", label=label, recorded=old,
                    today=new)]
    return [msg("{label}: recorded {recorded}, now {now}", label=label, recorded=old, now=new)]


def _typed(value) -> str:
    return msg("(none)") if value is ABSENT else json.dumps(value, ensure_ascii=False, default=str)


def _same(a, b) -> bool:
    """Equal as JSON values: types count (true is not 1, 2200 is not "2200"); the order of keys does not."""
    if isinstance(a, str) and isinstance(b, str):  # a message (engine.core.i18n.Message) is JSON text too
        return str(a) == str(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _keyed(label, recorded: dict, now: dict, order: tuple = ()) -> list[str]:
    """Each name on either side compared: 'LABEL: recorded A, now B', `label` a function giving the label of a
    name (or a word or message, followed by the name); (none) where a side lacks it."""
    names = [n for n in order if n in recorded or n in now] + list(recorded) + list(now)
    differences: list[str] = []
    for name in dict.fromkeys(names):
        named = label(name) if callable(label) else msg("{label} {name}", label=label, name=name)
        differences += _value(named, recorded.get(name, ABSENT), now.get(name, ABSENT))
    return differences


def _entries(label, read_label, recorded: list, now: list, headline: str | None) -> list[str]:
    """Entries with an id (rules, notes), matched by id; within each, every field and every read."""
    old_by_id = {e["id"]: e for e in recorded}
    new_by_id = {e["id"]: e for e in now}
    differences: list[str] = []
    for entry_id in dict.fromkeys(list(old_by_id) + list(new_by_id)):
        old, new = old_by_id.get(entry_id), new_by_id.get(entry_id)
        if old is not None and new is None:
            summary = f" {old.get(headline)}" if headline else ""
            differences.append(msg("{entry}: recorded{summary}, now not in the decision",
                                   entry=label(entry_id), summary=summary))
        elif new is not None and old is None:
            summary = f" {new.get(headline)}" if headline else ""
            differences.append(msg("{entry}: not recorded, now in the decision{summary}",
                                   entry=label(entry_id), summary=summary))
        elif old is not None and new is not None:
            fields = {k: v for k, v in old.items() if k not in ("id", "reads")}
            now_fields = {k: v for k, v in new.items() if k not in ("id", "reads")}
            differences += _keyed(label(entry_id), fields, now_fields, order=(headline,) if headline else ())
            if "reads" in old or "reads" in new:
                differences += _keyed(functools.partial(read_label, entry_id), old.get("reads") or {},
                                      new.get("reads") or {})
    return differences


def _schemas(recorded: list, now: list, store, altered: bool = False) -> list[str]:
    """Every input schema the decision read, with the same digest."""
    now_by_name = {s["name"]: s["digest"] for s in now}
    differences: list[str] = []
    for entry in recorded:
        name, digest = entry.get("name"), entry.get("digest")
        if name not in now_by_name:
            differences.append(msg("input schema {name}: recorded {digest}, now not read", name=name, digest=digest))
            continue
        now_digest = now_by_name.pop(name)
        if now_digest != digest and altered:
            differences.append(msg("input schema {name} digest differs: recorded {recorded}, now {now} ({why})",
                                   name=name, recorded=digest, now=now_digest, why=_altered()))
        elif now_digest != digest:
            differences.append(msg("input schema {name} digest differs: recorded {recorded}, now {now} (the file "
                                   "{file} changed after the decision)", name=name, recorded=digest, now=now_digest,
                                   file=store.display(store.schemas_dir / name)))
    differences += [msg("input schema {name}: not recorded, now read", name=name) for name in now_by_name]
    return differences


def _references(recorded: list, now: list, day, store=None, recorded_schemas=None, altered: bool = False) -> list[str]:
    """Every policy the decision read: the same version on the day, with the same digest and role."""
    recorded_by_id = {r["id"]: r for r in recorded}
    differences: list[str] = []
    for ref in now:
        old = recorded_by_id.pop(ref["id"], None)
        if old is None:
            differences.append(msg("now also depends on {version} ({role})", version=f"{ref['id']}@{ref['version']}",
                                   role=ROLES.get(ref["role"], ref["role"])))
        elif old.get("version") != ref["version"]:
            differences.append(msg("{policy}: recorded version {recorded}, now {now} resolves on {day}",
                                   policy=ref["id"], recorded=_show(old.get("version", ABSENT)), now=ref["version"],
                                   day=day))
        elif old.get("digest") != ref["digest"]:
            version = store.get(ref["id"], ref["version"]) if store is not None else None
            fields = dict(version=f"{ref['id']}@{ref['version']}", recorded=_show(old.get("digest", ABSENT)),
                          now=ref["digest"])
            differences.append(
                msg("{version} digest differs: recorded {recorded}, now {now} ({why})",
                    why=_changed_file(version, recorded_schemas, store, altered), **fields) if version is not None
                else msg("{version} digest differs: recorded {recorded}, now {now}", **fields))
        if old is not None and old.get("role") != ref["role"]:
            differences.append(msg("{policy} role: recorded {recorded}, now {now}", policy=ref["id"],
                                   recorded=_show(old.get("role", ABSENT)), now=ROLES.get(ref["role"], ref["role"])))
    differences += [msg("no longer depends on {policy}", policy=pid) for pid in recorded_by_id]
    return differences

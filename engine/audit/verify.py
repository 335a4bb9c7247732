"""Reproduce recorded decisions: each record decided again from its claim and compared field by field.

A record is what `policy evaluate --format json` wrote for one claim: a whole decision, a `--summary`,
or an error (a claim that was not decided). It is decided again as `evaluate` would decide it now — on
its recorded decision date, with its recorded `known_on` — and every field the engine writes is
compared with the record. A record that is none of those three shapes is unreadable: it is reported,
never skipped, so every record is accounted for.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

from engine.api import Engine, PolicyInvalid, PolicyNotFound, Selection
from engine.claims.reader import RawClaim, read_claims
from engine.core import schemacheck
from engine.core.isodate import parse_date
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
            yield Record(raw.location, problem=raw.error.message)
            continue
        kind, problem = _shape(raw.data)
        yield Record(raw.location, raw.data if problem is None and isinstance(raw.data, dict) else None, kind, problem)


def record_of(data, location: str) -> Record:
    """A record read from elsewhere than a file (the decision log), shaped as read_records shapes them."""
    kind, problem = _shape(data)
    return Record(location, data if problem is None else None, kind, problem)


def _json_kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a text", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


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
        return None, f"a recorded decision is a JSON object, not {_json_kind(data)}"
    if "error" in data:
        kind = "error"
    elif "rules" in data:
        kind = "decision"
    elif "failed_rules" in data:
        kind = "summary"
    else:
        return None, ("not a decision written by `policy evaluate --format json` "
                      "(it has no rules, failed_rules or error)")
    errors = [e for e in _validator(kind).iter_errors(data) if not _compared(list(e.absolute_path))]
    missing = [e.message.split("'")[1] for e in errors if e.validator == "required" and not e.absolute_path]
    if kind == "decision" and "amount_reads" not in data:  # written whenever a decision is explained
        missing.append("amount_reads")
    if missing:
        order = list(FULL_FIELDS) + ["error"]
        return None, (f"the recorded {'error' if kind == 'error' else 'decision'} lacks "
                      + ", ".join(sorted(missing, key=lambda m: order.index(m) if m in order else len(order))))
    if errors:
        first = min(errors, key=lambda e: [str(p) for p in e.absolute_path])
        path, message = schemacheck.describe_error(first)
        if first.validator == "type" and first.schema.get("required"):  # say what the object holds
            message = (f"must be an object with the fields {', '.join(first.schema['required'])}, "
                       f"found {schemacheck.describe_value(first.instance)}")
        if first.validator in ("required", "additionalProperties"):  # the message names the key: say where
            path = path[:-1]
        return None, f"{schemacheck.json_path(path)}: {message}" if path else message
    if kind == "error" and "policy" not in data and not isinstance(data["error"].get("policy_id"), str):
        return None, "the recorded error names no policy (neither policy.id nor error.policy_id)"
    if kind != "error" and not isinstance(data["claim_id"], str):  # claims are matched to records by id
        return None, "claim_id must be a text"
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
        where = f"{self.record.claim_id} ({self.record.location})" if self.record.claim_id else self.record.location
        if self.status == "unreadable":
            return f"{where}: UNREADABLE: {self.record.problem}"
        lines = [f"{where}: {'reproduced' if self.status == 'reproduced' else 'DIFFERS'}"]
        lines += [f"    {d}" for d in self.differences]
        if self.today is not None:
            verdict = "decide it differently" if self.today["changes"] else "use other versions, with the same answer"
            lines.append(f"    today's store would {verdict}: {'; '.join(self.today['versions']) or '?'}")
            lines += [f"        {c}" for c in self.today["changes"]]
        return "\n".join(lines)


class Verifier:
    def __init__(self, engine: Engine, claims: Claims):
        self.engine = engine
        self.claims = claims
        self._evaluators: dict = {}

    def check(self, record: Record) -> Outcome:
        if record.problem is not None:
            return Outcome(record, "unreadable", [])
        claim = self._claim(record)
        used = recorded_history(record.fields)
        if used is not None and not isinstance(claim, str) and isinstance(claim.data, dict):
            # decided with the grants ledger's history: decided again with the entries it recorded
            claim = RawClaim(with_fact(claim.data, *used), claim.location)
        differences, today = ([claim], None) if isinstance(claim, str) else self._differences(record, claim)
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
                return "the record has neither a claim_id nor a location, so no claim can be matched to it"
            # the error's location is the claim's line, and where in it reading stopped
            raw = next((r for r in self.claims.raws if location == r.location or location.startswith(r.location + ":")),
                       None)
            return raw if raw else f"the record has no claim_id, and no claim of CLAIMS is at its location {location}"
        if not self.engine.store.versions(record.policy_id):
            return f"no policy {record.policy_id!r} in the policy store"
        id_field = self._id_field(record)
        if id_field is None:
            return f"the input schema of {record.policy_id} names no claim id field (x-claim-id), so no claim " \
                         "can be matched to the record"
        found = self.claims.by_id(id_field).get(record.claim_id, [])
        if not found:
            unread = self.claims.unreadable
            hint = f" ({len(unread)} claim(s) of CLAIMS could not be read: {', '.join(unread[:3])}" \
                   f"{', …' if len(unread) > 3 else ''})" if unread else ""
            return f"no claim with this id among CLAIMS{hint}"
        if any(raw.data != found[0].data for raw in found[1:]):
            return (f"the claim id is given {len(found)} times in CLAIMS with different facts "
                          f"({', '.join(r.location for r in found)}): cannot tell which one was decided")
        return found[0]

    def _evaluator(self, policy_id: str, known_on, summary: bool, version: str | None = None, pins: tuple = ()):
        key = (policy_id, known_on, summary, version, pins)
        evaluator = self._evaluators.get(key)
        if evaluator is None:
            # a pinned root is decided on its recorded date even if a later version has superseded it since
            selection = Selection(version, known_on, any_date=version is not None, pins=pins)
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
        problems = []
        root = self.engine.store.get(policy["id"], policy["version"])
        if root is None:
            problems.append(f"{policy['id']}@{policy['version']} no longer exists in the policy store")
        combined = data.get("combined_digest")
        if record.kind == "decision":
            pins: list[tuple] = []
            for ref in data["references"]:
                if not isinstance(ref.get("version"), str):
                    continue
                if self.engine.store.get(ref["id"], ref["version"]) is None:
                    problems.append(f"{ref['id']}@{ref['version']} no longer exists in the policy store")
                else:
                    pins.append((ref["id"], ref["version"]))
            if isinstance(combined, str) and combined != _recomputed(data):
                problems.append("the combined digest does not match the versions and schemas the record lists: "
                                f"recorded {combined}, they give {_recomputed(data)}")
            return (policy["version"] if root else None), tuple(sorted(pins)), problems
        if root is None or not isinstance(combined, str):
            return (policy["version"] if root else None), (), problems
        found = self._pins_giving(root, combined, day, known_on)
        if found is None:
            return policy["version"], (), problems + [
                f"combined digest differs: recorded {combined}; no versions in the store give it now, so a policy "
                "file or schema it was decided with has changed (a --summary record does not list them: record "
                "decisions in full to know which)"]
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

    def _decide(self, record: Record, raw: RawClaim, day, known_on, version: str | None, pins: tuple):
        """The claim decided again: (result, its JSON) or a list with the reason it cannot be."""
        summary = record.kind == "summary"
        try:
            result = self._evaluator(record.policy_id, known_on, summary, version, pins).evaluate_raw(raw, day)
        except PolicyNotFound as exc:
            return [str(exc)]
        except PolicyInvalid as exc:
            first = exc.diagnostics[0]  # one line: the difference is that it cannot decide, `check` says the rest
            return [f"the policy cannot decide claims now: {first.location}: {first.message} (run `policy check`)"]
        now = result.to_json(summary=summary)
        now.pop("out_of_force", None)  # the recorded version is decided on its date whatever the store holds since
        return result, now

    def _differences(self, record: Record, raw: RawClaim) -> tuple[list[str], dict | None]:
        data = record.fields
        day = parse_date(data["decision_date"]) if "decision_date" in data else None
        known_on = parse_date(data["known_on"]) if "known_on" in data else None
        version, pins, problems = self._recorded_basis(record, day, known_on)
        decided = self._decide(record, raw, day, known_on, version, pins)
        if isinstance(decided, list):
            return problems + decided, None
        result, now = decided
        differences = problems + self._compare(record, result, now, day)
        today = self._today(record, raw, result, now, day, known_on) if version is not None else None
        return differences, today

    def _compare(self, record: Record, result, now: dict, day) -> list[str]:
        data = record.fields
        differences = self._root(record, now.get("policy"), day)
        if record.kind == "error":
            if isinstance(result, Decision):
                return differences + [f"recorded as not decided ({data['error']['code']}), now decided: eligible "
                                      f"{_show(now['eligible'])}, amount {_show(now['amount'])}"]
            # the location is where the claim sat in the file evaluate read, and CLAIMS may be another file
            recorded_error = {k: v for k, v in data["error"].items() if k != "location"}
            now_error = {k: v for k, v in now["error"].items() if k != "location"}
            return differences + _keyed("error", recorded_error, now_error, order=("code", "message"))
        if not isinstance(result, Decision):
            return differences + [f"the claim is no longer decided: {result.code}: {result.message}"]
        if record.kind == "decision":
            differences += _references(data["references"], now["references"], day, self.engine.store,
                                       data.get("schemas"))
            if "schemas" in data:
                differences += _schemas(data["schemas"], now.get("schemas", []), self.engine.store)
        for name in ("eligible", "amount", "currency"):
            differences += _value(name, data[name], now[name])
        if record.kind == "summary":
            # listed in the order of the policy's rules, which is not part of the result
            if not _same(sorted(data["failed_rules"], key=_show), sorted(now["failed_rules"])):
                differences.append(f"failed rules: recorded {_show(data['failed_rules'])}, "
                                   f"now {_show(now['failed_rules'])}")
            return differences
        differences += _keyed("amount read", data["amount_reads"], now["amount_reads"])
        differences += _keyed("output", data["outputs"], now["outputs"])
        differences += _entries("rule", data["rules"], now["rules"], "outcome")
        differences += _entries("note", data["notes"], now["notes"], None)
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
        versions = []
        for pid, label in sorted(now_used.items()):
            if used.get(pid) == label:
                continue
            version = self.engine.store.get(pid, label)
            was = f" instead of @{used[pid]}" if pid in used else " (not used by the record)"
            why = ""
            if version is not None:
                after = day is not None and version.issued_on > day
                why = (f" (in force from {version.effective_from}, issued {version.issued_on}"
                       + (", after the decision date" if after else "; added to the store after the decision")
                       + ")")
            versions.append(f"{pid}@{label}{was}{why}")
        versions += [f"{pid}@{label} no longer used" for pid, label in sorted(used.items()) if pid not in now_used]
        changes: list[str] = []
        if isinstance(today, Decision) != isinstance(result, Decision):
            changes.append(f"decided: recorded {_brief(now)}, today {_brief(today_json)}")
        elif isinstance(today, Decision):
            for name in ("eligible", "amount", "currency"):
                changes += [c.replace(", now ", ", today ") for c in _value(name, now[name], today_json[name])]
            if sorted(now.get("failed_rules") or result.failed_rules) != sorted(today.failed_rules):
                changes.append(f"failed rules: recorded {_show(sorted(result.failed_rules))}, today "
                               f"{_show(sorted(today.failed_rules))}")
        else:
            changes += [c.replace(", now ", ", today ") for c in
                        _value("error", now["error"].get("code"), today_json["error"].get("code"))]
        return {"versions": versions, "changes": changes}

    def _root(self, record: Record, now_policy: dict | None, day) -> list[str]:
        """The policy's own version: still there, still the one that decides, same digest."""
        recorded = record.fields.get("policy")
        if recorded is None or now_policy is None:
            return []  # not decided now: the error says why
        pid, label, digest = recorded["id"], recorded["version"], recorded["digest"]
        differences = []
        version = self.engine.store.get(pid, label)
        if now_policy["version"] != label:
            differences.append(f"{pid}: recorded version {label}, now {now_policy['version']} resolves on {day}")
        elif now_policy["digest"] != digest and version is not None:
            differences.append(f"{pid}@{label} digest differs: recorded {digest}, now {now_policy['digest']} "
                               f"({_changed_file(version, record.fields.get('schemas'), self.engine.store)})")
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
        return f"not decided ({data['error'].get('code')})"
    return f"eligible {data['amount']}" if data["eligible"] else "not eligible"


def _recomputed(data: dict) -> str:
    """The combined digest of the versions and schemas a full record lists."""
    from engine.decide.results import PolicyStamp, combined_digest

    policy = data["policy"]
    refs = [(PolicyStamp(r["id"], r["version"], r["digest"]), r["role"]) for r in data["references"]]
    schemas = [(s["name"], s["digest"]) for s in data.get("schemas", [])]
    return combined_digest(PolicyStamp(policy["id"], policy["version"], policy["digest"]), refs, schemas)


def _changed_file(version, recorded_schemas, store) -> str:
    """Which file made a version's digest change: its input schema, when the record lists that schema with
    another digest than it has now, else the policy file itself."""
    name = version.input_schema
    if name and recorded_schemas:
        old = next((s.get("digest") for s in recorded_schemas if s.get("name") == name), None)
        schema = store.schemas.get(name)
        if old is not None and schema is not None and schema.digest != old:
            return f"its input schema {store.display(store.schemas_dir / name)} changed after the decision"
    return f"the file {version.file} changed after the decision"


# -------------------------------------------------------------------------------------------------
# Comparing fields


def _show(value) -> str:
    if value is ABSENT:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _value(label: str, recorded, now) -> list[str]:
    if _same(recorded, now):
        return []
    if isinstance(recorded, dict) and isinstance(now, dict):  # a table row read: name the cells that differ
        differences = []
        for key in dict.fromkeys(list(recorded) + list(now)):
            differences += _value(f"{label}.{key}", recorded.get(key, ABSENT), now.get(key, ABSENT))
        return differences
    old, new = _show(recorded), _show(now)
    if old == new:  # the same text, different JSON types (2200 and "2200"): show both as JSON
        old, new = _typed(recorded), _typed(now)
    return [f"{label}: recorded {old}, now {new}"]


def _typed(value) -> str:
    return "(none)" if value is ABSENT else json.dumps(value, ensure_ascii=False, default=str)


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


def _keyed(label: str, recorded: dict, now: dict, order: tuple = ()) -> list[str]:
    """Each name on either side compared: '{label} NAME: recorded A, now B'; (none) where a side lacks it."""
    names = [n for n in order if n in recorded or n in now] + list(recorded) + list(now)
    differences = []
    for name in dict.fromkeys(names):
        differences += _value(f"{label} {name}", recorded.get(name, ABSENT), now.get(name, ABSENT))
    return differences


def _entries(label: str, recorded: list, now: list, headline: str | None) -> list[str]:
    """Entries with an id (rules, notes), matched by id; within each, every field and every read."""
    old_by_id = {e["id"]: e for e in recorded}
    new_by_id = {e["id"]: e for e in now}
    differences = []
    for entry_id in dict.fromkeys(list(old_by_id) + list(new_by_id)):
        old, new = old_by_id.get(entry_id), new_by_id.get(entry_id)
        if old is not None and new is None:
            summary = f" {old.get(headline)}" if headline else ""
            differences.append(f"{label} {entry_id}: recorded{summary}, now not in the decision")
        elif new is not None and old is None:
            summary = f" {new.get(headline)}" if headline else ""
            differences.append(f"{label} {entry_id}: not recorded, now in the decision{summary}")
        elif old is not None and new is not None:
            fields = {k: v for k, v in old.items() if k not in ("id", "reads")}
            now_fields = {k: v for k, v in new.items() if k not in ("id", "reads")}
            differences += _keyed(f"{label} {entry_id}", fields, now_fields, order=(headline,) if headline else ())
            if "reads" in old or "reads" in new:
                differences += _keyed(f"{label} {entry_id} read", old.get("reads") or {}, new.get("reads") or {})
    return differences


def _schemas(recorded: list, now: list, store) -> list[str]:
    """Every input schema the decision read, with the same digest."""
    now_by_name = {s["name"]: s["digest"] for s in now}
    differences = []
    for entry in recorded:
        name, digest = entry.get("name"), entry.get("digest")
        if name not in now_by_name:
            differences.append(f"input schema {name}: recorded {digest}, now not read")
            continue
        now_digest = now_by_name.pop(name)
        if now_digest != digest:
            differences.append(f"input schema {name} digest differs: recorded {digest}, now {now_digest} "
                               f"(the file {store.display(store.schemas_dir / name)} changed after the decision)")
    differences += [f"input schema {name}: not recorded, now read" for name in now_by_name]
    return differences


def _references(recorded: list, now: list, day, store=None, recorded_schemas=None) -> list[str]:
    """Every policy the decision read: the same version on the day, with the same digest and role."""
    recorded_by_id = {r["id"]: r for r in recorded}
    differences = []
    for ref in now:
        old = recorded_by_id.pop(ref["id"], None)
        if old is None:
            differences.append(f"now also depends on {ref['id']}@{ref['version']} ({ref['role']})")
        elif old.get("version") != ref["version"]:
            differences.append(f"{ref['id']}: recorded version {_show(old.get('version', ABSENT))}, now "
                               f"{ref['version']} resolves on {day}")
        elif old.get("digest") != ref["digest"]:
            version = store.get(ref["id"], ref["version"]) if store is not None else None
            where = f" ({_changed_file(version, recorded_schemas, store)})" if version is not None else ""
            differences.append(f"{ref['id']}@{ref['version']} digest differs: recorded "
                               f"{_show(old.get('digest', ABSENT))}, now {ref['digest']}{where}")
        if old is not None and old.get("role") != ref["role"]:
            differences.append(f"{ref['id']} role: recorded {_show(old.get('role', ABSENT))}, now {ref['role']}")
    differences += [f"no longer depends on {pid}" for pid in recorded_by_id]
    return differences

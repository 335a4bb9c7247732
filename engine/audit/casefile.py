"""Officers' example cases: claims with expected decisions, kept beside each policy version.

A file `VERSION.cases.yaml` next to `VERSION.yaml` holds a `base` claim and `cases`; each case
changes the base with a JSON merge patch (RFC 7386: a key set to null is removed) and states what
the decision must be. `policy test` and the test suite run them against that version, pinned.

A case keeps testing what it was written for. The version it tests is never superseded for it (a later
version of the same policy has cases of its own), and `written_against` names the versions of the other
policies the expectations were worked out with: a version added later does not change what a case tests.
Each case is also decided with today's store; a case whose answer the newer files change is listed apart,
not failed (`CaseChange`: old answer, new answer, which versions and table cells made the difference), and
`policy test --accept` writes the new answers and the new versions into the file (`accept`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import orjson

from engine.api import Engine, PolicyNotFound
from engine.claims.reader import RawClaim
from engine.core.diagnostics import DiagnosticError
from engine.core.i18n import joined, msg
from engine.core.isodate import parse_date
from engine.core.reasons import os_reason
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.decide.results import ClaimError, Decision, plain
from engine.policies.store import CASES_SUFFIX
from engine.policies.yamlsource import read_file, read_yaml

_EXPECT_KEYS = {"eligible", "amount", "failed_rules", "outputs", "error", "error_path", "not_in_force", "notes"}
_CASE_KEYS = {"name", "claim", "expect", "as_of"}
_FILE_KEYS = {"policy", "base", "cases", "written_against"}


def stamp_of(result) -> str:
    return f"{result.policy.id}@{result.policy.version}" if result.policy is not None else ""


def _case_shape(case) -> list:
    """What a case lacks of `name` and `expect`, with the key it most likely misspelt (`expcet:`)."""
    if not isinstance(case, dict):
        return [msg("each case needs `name` and `expect`")]
    problems = []
    for key in ("name", "expect"):
        if key in case and key == "expect" and not isinstance(case[key], dict):
            problems.append(msg("`expect` maps what is expected (eligible, amount, failed_rules, …) to its value"))
        elif key not in case:
            written = [k for k in case if k not in _CASE_KEYS]
            close = close_matches(key, [str(k) for k in written], n=1, cutoff=0.6)
            problems.append(msg("the case has no `{key}` (is {close} it, misspelt?)", key=key, close=repr(close[0]))
                            if close else msg("the case has no `{key}`", key=key))
    return problems


@dataclass
class CaseChange:
    """A case whose answer today's store changes: it still passes against what it was written for."""

    old: str  # the answer the case was written for, in words
    new: str  # the answer with today's store
    because: list  # the versions and the table cells (or other values read) that made the difference
    result: Decision | ClaimError  # today's, for --accept

    def to_json(self) -> dict:
        return {"old": self.old, "new": self.new, "because": self.because}


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    problems: list = field(default_factory=list)  # what differed, in words
    decision: Decision | ClaimError | None = None  # what the engine gave, for coverage
    change: CaseChange | None = None  # what today's store would answer instead, when it differs
    index: int | None = None  # the case's place in the file's `cases`
    superseded_by: str | None = None  # ID@VERSION that has superseded the tested version on the case's date

    @property
    def passed(self) -> bool:
        return not self.problems


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def case_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.cases.yaml")))
        elif path.name.endswith(".cases.yaml"):
            found.append(path)
        elif path.suffix in (".yaml", ".yml"):
            sibling = path.with_name(path.name[: -len(path.suffix)] + ".cases.yaml")
            if sibling.exists():
                found.append(sibling)
    return found


def _policy_key(path: Path) -> str | None:
    """The `policy:` written in a YAML file (a cases file's ID@VERSION, a policy file's ID), or None."""
    try:
        value = read_yaml(read_file(path, str(path)), str(path)).value
    except (DiagnosticError, OSError):
        return None
    key = value.get("policy") if isinstance(value, dict) else None
    if isinstance(key, str) and isinstance(value.get("version"), str) and "@" not in key:
        key += "@" + value["version"]
    return key if isinstance(key, str) else None


def tested_policy(path: Path) -> str | None:
    """ID@VERSION that a cases file tests, read from the files alone (no store): its `policy:`, or the
    policy file beside it."""
    return _policy_key(path) or _policy_key(path.with_name(path.name.replace(CASES_SUFFIX, ".yaml")))


def store_root(path: Path) -> Path | None:
    """The policies folder that holds the version a cases file sits beside: policies/ID/VERSION.cases.yaml,
    so the folder is as many levels up as the id has parts. None when that cannot be told."""
    key = tested_policy(path)
    parts = key.partition("@")[0].split("/") if key else []
    folder = path.resolve().parent
    if not parts or list(folder.parts[-len(parts):]) != parts:
        return None
    return folder.parents[len(parts) - 1]


THE_FILE = msg("(the file)")  # the name of a "case" that stands for a whole cases file which cannot be run


def _said(exc: BaseException) -> str:
    """What an exception says, as the msg() it was raised with when it was."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


def run_case_file(engine: Engine, path: Path, select=None) -> list[CaseResult]:
    """Run the cases of one file (only those whose name `select` accepts, when given)."""
    display = engine.store.display(path)
    try:
        doc = read_yaml(read_file(path, display), display)
    except DiagnosticError as exc:  # as `policy check` shows a YAML mistake: the column, the line, a caret, the hint
        d = exc.diagnostics[0]
        shown = [msg("column {column}: {message}", column=d.location.column, message=d.message)
                 if d.location.column else d.message, *d.excerpt()]
        return [CaseResult(display, d.location.line, THE_FILE,
                           shown + ([msg("hint: {hint}", hint=d.hint)] if d.hint else []))]
    except OSError as exc:
        return [CaseResult(display, 0, THE_FILE, [msg("cannot read: {reason}", reason=os_reason(exc))])]
    data = doc.value
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        return [CaseResult(display, 1, THE_FILE, [msg("a cases file is a mapping with `policy`, `base` and `cases`")])]
    policy = data.get("policy") or _policy_beside(engine, path)
    if not policy:
        return [CaseResult(display, 1, THE_FILE,
                           [msg("say which policy version these cases test: `policy: ID@VERSION`")])]
    if not isinstance(policy, str):
        return [CaseResult(display, doc.location(("policy",)).line, THE_FILE,
                           [msg("`policy:` is the text ID@VERSION of the version these cases test")])]
    try:
        engine.evaluator(policy)
        root = engine.pinned_version(*_pid_version(policy)) if "@" in str(policy) else None
    except PolicyNotFound as exc:
        pid, label = _pid_version(policy) if isinstance(policy, str) else (policy, None)
        repealing = label is not None and engine.store.repeal(pid, label) is not None
        return [CaseResult(display, doc.location(("policy",)).line, THE_FILE, [_said(exc)] + (
            [msg("hint: cases of claims decided after a repeal name the policy without a version, policy: {pid}, "
                 "and expect not_in_force: true", pid=pid)] if repealing else []))]
    written, problem = _written_against(data.get("written_against"), engine)
    if problem is not None:
        return [CaseResult(display, doc.location(("written_against",)).line, THE_FILE, [problem])]
    today_engine = _world(engine, root, None)
    evaluator = _world(engine, root, written).evaluator(policy)
    today = today_engine.evaluator(policy) if written is not None else None
    base = data.get("base") or {}
    results = []
    for unknown in sorted(set(data) - _FILE_KEYS, key=str):  # `writen_against:` would silently check nothing
        close = close_matches(str(unknown).strip(" \t\u3000"), sorted(_FILE_KEYS), n=1, cutoff=0.6)
        results.append(CaseResult(display, doc.key_location((unknown,)).line, THE_FILE, [
            msg("unknown key {key} at the top of the cases file (the keys are {keys})", key=repr(unknown),
                keys=", ".join(sorted(_FILE_KEYS)))] + ([msg("hint: did you mean {name}?", name=repr(close[0]))]
                                                       if close else [])))
    for i, case in enumerate(data["cases"]):
        line = doc.location(("cases", i)).line
        if not isinstance(case, dict) or "name" not in case or not isinstance(case.get("expect"), dict):
            named = msg("case {number}", number=i + 1)
            if isinstance(case, dict) and "name" in case:
                named = msg("case {number} ({name})", number=i + 1, name=str(case["name"]))
            results.append(CaseResult(display, line, named, _case_shape(case)))
            continue
        if select is not None and not select(str(case["name"])):
            continue
        result = CaseResult(display, line, str(case["name"]))
        for unknown in sorted(set(case["expect"]) - _EXPECT_KEYS, key=str):
            close = close_matches(str(unknown), sorted(_EXPECT_KEYS), n=1, cutoff=0.6)
            result.problems.append(msg("unknown expectation {name}: did you mean {close}?", name=repr(unknown),
                                       close=repr(close[0])) if close else
                                   msg("unknown expectation {names}; known: {known}", names=repr(unknown),
                                       known=", ".join(sorted(_EXPECT_KEYS))))
        for unknown in sorted(set(case) - _CASE_KEYS, key=str):  # other keys (`reading:`) are for people to read
            close = close_matches(str(unknown), sorted(_CASE_KEYS), n=1, cutoff=0.6)
            if close:  # ... unless it is one of the case's own, misspelt: read, it would change what is tested
                result.problems.append(msg("a case has no key {name}: did you mean {close}?", name=repr(unknown),
                                           close=repr(close[0])))
        wrong = _misshapen(case["expect"])
        if wrong:  # compared as written, a wrong shape passes ("false" is true) or makes no sense: said, not compared
            result.problems.extend(wrong)
            results.append(result)
            continue
        claim = merge_patch(base, case.get("claim") or {})
        as_of = case.get("as_of")
        try:
            as_of_date = parse_date(as_of) if as_of else None
        except ValueError:
            result.problems.append(msg("as_of {value} is not a date", value=repr(as_of)))
            results.append(result)
            continue
        raw = RawClaim(claim, f"{display}:{line}")
        decision = evaluator.evaluate_raw(raw, as_of_date)
        result.decision, result.index = decision, i
        result.problems.extend(compare(case["expect"], decision))
        if today is not None and result.passed:
            now = today.evaluate_raw(raw, as_of_date)
            if compare(case["expect"], now):
                result.change = CaseChange(brief(decision), brief(now), because(decision, now), now)
        if root is not None and decision.decision_date is not None:
            current = engine.store.in_force(root.id, decision.decision_date)
            repeal = engine.store.repealed_on(root.id, decision.decision_date)
            if current is not None and current.effective_from > root.effective_from:
                result.superseded_by = current.key
            elif current is None and repeal is not None and repeal.effective_from > root.effective_from:
                result.superseded_by = repeal.key  # a repeal took effect since: said as a successor is
        results.append(result)
    return results


# What each expectation is written as: a check of its own and the words that say it
_SHAPES = {
    "eligible": (lambda v: isinstance(v, bool), msg("true or false")),
    "not_in_force": (lambda v: isinstance(v, bool), msg("true or false")),
    "amount": (lambda v: isinstance(v, (int, float, str, Decimal)) and not isinstance(v, bool), msg("a number")),
    "failed_rules": (lambda v: v is None or isinstance(v, list) and all(isinstance(x, str) for x in v),
                     msg("a list of rule ids, such as [not_public_staff]")),
    "notes": (lambda v: v is None or isinstance(v, list) and all(isinstance(x, str) for x in v),
              msg("a list of note ids")),
    "outputs": (lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
                msg("a mapping of output names to values")),
    "error": (lambda v: isinstance(v, str), msg("an error code, such as claim.invalid")),
    "error_path": (lambda v: isinstance(v, str), msg("a fact's path, such as applicant.birth_date")),
}


def _misshapen(expect: dict) -> list[str]:
    """What is wrong with how the expectations are written: `eligible: "false"` would be compared as true."""
    problems: list[str] = []
    for name, value in expect.items():
        shape = _SHAPES.get(name)
        if shape is not None and not shape[0](value):
            problems.append(msg("expect.{name} is {what}, not {value}", name=name, what=shape[1],
                                value=_written(value)))
    return problems


def _written(value) -> str:
    """A value as the cases file wrote it (YAML's words: true, null, a quoted text)."""
    if isinstance(value, str):
        return repr(value)
    return orjson.dumps(value, default=str).decode()


def _pid_version(policy: str) -> tuple[str, str]:
    pid, _, version = str(policy).partition("@")
    return pid, version


def _written_against(value, engine: Engine) -> tuple[dict | None, str | None]:
    """`written_against: {ID: [VERSION, ...]}` as {id: set of versions}; or why it cannot be used."""
    if value is None:
        return None, None
    shape = msg("written_against maps each policy id to the list of its versions the cases were written against")
    if not isinstance(value, dict):
        return None, shape
    written: dict = {}
    for pid, versions in value.items():
        if not isinstance(versions, list) or not all(isinstance(v, (str, type(None))) or hasattr(v, "isoformat")
                                                     for v in versions):
            return None, shape
        labels = {v.isoformat() if hasattr(v, "isoformat") else str(v) for v in versions}
        missing = sorted(label for label in labels if engine.store.get(str(pid), label) is None)
        if missing:
            return None, msg("written_against names {versions}, which the policy store does not hold",
                             versions=", ".join(f"{pid}@{m}" for m in missing))
        written[str(pid)] = labels
    return written, None


def _world(engine: Engine, root, written: dict | None) -> Engine:
    """The store a case is decided in: the tested version is never superseded (later versions and repeals of its
    policy are left out), and each policy `written` names has only the versions it lists (and no repeal after
    them). Programs are shared."""
    if root is None and not written:
        return engine
    keep = dict(written or {})
    if root is not None:
        keep[root.id] = {v.version for v in engine.store.versions(root.id) if v.effective_from <= root.effective_from}
    by_id = {pid: [v for v in versions if pid not in keep or v.version in keep[pid]]
             for pid, versions in engine.store.by_id.items()}
    # a repeal after the last version kept is a later file too: the cases' world ends no earlier than they knew
    last = {pid: max((v.effective_from for v in by_id.get(pid, [])), default=None) for pid in keep}
    repeals = {pid: [r for r in found if pid not in keep or last[pid] is not None and r.effective_from <= last[pid]]
               for pid, found in engine.store.repeals.items()}
    world = Engine(dataclasses.replace(engine.store, by_id=by_id, repeals=repeals))
    world._programs, world._checked = engine._programs, engine._checked  # keyed by versions and digests
    return world


# a rule's outcome in words (the same words as the web pages')
OUTCOMES = {"pass": msg("pass"), "fail": msg("fail"), "not_applicable": msg("not_applicable"), "error": msg("error")}


def brief(result: Decision | ClaimError) -> str:
    """An answer in words: `eligible 2200`, `not eligible (within_deadline)`, `not decided (claim.invalid)`."""
    if isinstance(result, ClaimError):
        return msg("not decided ({code})", code=result.code)
    if result.eligible:
        return msg("eligible {amount}", amount=plain(result.amount)) if result.currency else msg("eligible")
    return msg("not eligible ({rules})", rules=", ".join(sorted(result.failed_rules)))


def because(old: Decision | ClaimError, new: Decision | ClaimError) -> list[str]:
    """What made two answers differ: each version used instead of another, each table cell (or other value) the
    amount read differently, each rule whose outcome flipped with the values it read differently."""
    reasons = []
    was, now = _used(old), _used(new)
    for pid in dict.fromkeys(list(was) + list(now)):
        if was.get(pid) != now.get(pid):
            reasons.append(f"{pid}@{was[pid]} → @{now[pid]}" if pid in was and pid in now else
                           msg("{version} now used", version=f"{pid}@{now[pid]}") if pid in now else
                           msg("{version} no longer used", version=f"{pid}@{was[pid]}"))
    if isinstance(old, Decision) and isinstance(new, Decision):
        reasons += _read_differently(msg("the amount read"), old.amount_reads, new.amount_reads)
        old_rules = {r.id: r for r in old.rules}
        for rule in new.rules:
            before = old_rules.get(rule.id)
            if before is not None and before.outcome != rule.outcome:
                read = _read_differently("", before.reads, rule.reads)
                change = msg("rule {id}: {old} → {new}", id=rule.id, old=OUTCOMES.get(before.outcome, before.outcome),
                             new=OUTCOMES.get(rule.outcome, rule.outcome))
                reasons.append(msg("{change} ({values})", change=change, values=joined([r.strip() for r in read], "; "))
                               if read else change)
    return reasons


def _used(result) -> dict:
    basis = getattr(result, "basis", None)
    if basis is None:
        return {}
    return {basis.policy.id: basis.policy.version} | {ref.id: ref.version for ref, _role in basis.references}


def _read_differently(label: str, old_reads, new_reads) -> list[str]:
    """'LABEL subsidy[A, junior]: amount 2200 → 2500' for each value read differently (a row: its cells)."""
    old: dict = {}
    for name, value in old_reads or []:
        old.setdefault(name, value)
    out = []
    seen = set()
    for name, value in new_reads or []:
        if name in seen:
            continue
        seen.add(name)
        before = old.get(name)
        if plain(before) == plain(value):
            continue
        if isinstance(before, dict) and isinstance(value, dict):
            cells = [f"{k} {plain(before.get(k))} → {plain(v)}" for k, v in value.items()
                     if plain(before.get(k)) != plain(v)]
            out.append(msg("{label} {name}: {cells}", label=label, name=name, cells=", ".join(cells)) if label
                       else f"{name}: {', '.join(cells)}")
        else:
            change = f"{plain(before)} → {plain(value)}"
            out.append(msg("{label} {name}: {change}", label=label, name=name, change=change) if label
                       else f"{name}: {change}")
    return out


def _policy_beside(engine: Engine, path: Path) -> str | None:
    sibling = path.with_name(path.name.replace(".cases.yaml", ".yaml"))
    for versions in engine.store.by_id.values():
        for v in versions:
            if Path(v.file).resolve() == sibling.resolve():
                return v.key
    return None


def compare(expect: dict, result: Decision | ClaimError) -> list[str]:
    problems: list[str] = []
    if isinstance(result, ClaimError):
        wanted_error = expect.get("error")
        if expect.get("not_in_force"):
            if result.kind != "not_in_force":
                problems.append(msg("expected no policy in force, got {code}: {message}", code=result.code,
                                    message=result.message))
        elif wanted_error:
            if result.code != wanted_error:
                problems.append(msg("expected error {wanted}, got {code}: {message}", wanted=wanted_error,
                                    code=result.code, message=result.message))
        else:
            problems.append(msg("expected a decision, got {code}: {message}", code=result.code, message=result.message))
        if "error_path" in expect and result.path != expect["error_path"]:
            problems.append(msg("expected the error at {wanted}, got it at {path}", wanted=expect["error_path"],
                                path=result.path))
        return problems
    if expect.get("error") or expect.get("not_in_force"):
        eligible = str(result.eligible).lower()
        return [msg("expected no policy in force, but the claim was decided (eligible: {eligible})", eligible=eligible)
                if expect.get("not_in_force") else
                msg("expected error {wanted}, but the claim was decided (eligible: {eligible})", wanted=expect["error"],
                    eligible=eligible)]
    if "eligible" in expect and bool(expect["eligible"]) != result.eligible:
        failed = ", ".join(result.failed_rules) or msg("none")
        problems.append(msg("expected eligible {wanted}, got {got} (failed rules: {failed})",
                            wanted=str(expect["eligible"]).lower(), got=str(result.eligible).lower(), failed=failed))
    if "amount" in expect and not _same_amount(expect["amount"], result.amount):
        problems.append(msg("expected amount {wanted}, got {got}", wanted=expect["amount"], got=plain(result.amount)))
    if "failed_rules" in expect and sorted(expect["failed_rules"] or []) != sorted(result.failed_rules):
        problems.append(msg("expected failed rules [{wanted}], got [{got}]",
                            wanted=", ".join(sorted(expect["failed_rules"] or [])),
                            got=", ".join(sorted(result.failed_rules))))
        known = [r.id for r in result.rules]
        stamp = stamp_of(result)
        for unknown in sorted(set(map(str, expect["failed_rules"] or [])) - set(known)):
            close = close_matches(unknown, known, n=1, cutoff=0.6)
            problems.append(msg("{rule} is no rule of {policy}: did you mean {name}?", rule=repr(unknown),
                                policy=stamp, name=repr(close[0])) if close else
                            msg("{rule} is no rule of {policy}", rule=repr(unknown), policy=stamp))
    for name, wanted in (expect.get("outputs") or {}).items():
        got = plain(result.outputs[name]) if name in result.outputs else None
        if name not in result.outputs:
            close = close_matches(str(name), list(result.outputs), n=1, cutoff=0.6)
            problems.append(msg("output {name}: {policy} has no such output; did you mean {close}?", name=repr(name),
                                policy=stamp_of(result), close=repr(close[0])) if close else
                            msg("output {name}: {policy} has no such output (it has {known})", name=repr(name),
                                policy=stamp_of(result), known=", ".join(result.outputs) or msg("none")))
        elif plain(wanted) != got:
            problems.append(msg("output {name}: expected {wanted}, got {got}", name=name, wanted=repr(plain(wanted)),
                                got=repr(got)))
    if "notes" in expect:
        got_notes = sorted(n["id"] for n in result.notes)
        if sorted(expect["notes"] or []) != got_notes:
            expected = ", ".join(sorted(expect["notes"] or []))
            problems.append(msg("expected notes [{wanted}], got [{got}]", wanted=expected, got=", ".join(got_notes)))
    return problems


# -------------------------------------------------------------------------------------------------
# --accept: the new answers written into the case file, as a change an officer can review


def accept(engine: Engine, path: Path, results: list[CaseResult]) -> tuple[str, str, int] | None:
    """The file's text before and after writing today's answers into its changed cases and today's versions into
    `written_against` (comments, order and layout kept), and how many cases changed; None when nothing changes."""
    from engine.policies import yamledit

    text = path.read_text(encoding="utf-8")
    data = yamledit.load(text)
    policy = data.get("policy") or _policy_beside(engine, path)
    root = engine.pinned_version(*_pid_version(policy)) if policy and "@" in str(policy) else None
    changed = [r for r in results if r.change is not None and r.index is not None]
    if not changed and data.get("written_against") is not None:
        return None
    for r in changed:
        assert r.change is not None  # chosen above for having one
        _write_expectation(data["cases"][r.index]["expect"], r.change.result)
    pins = yamledit.CommentedMap()
    needed = sorted(engine.store.needs(root.id) - {root.id}) if root is not None else []
    for pid in needed:
        labels = yamledit.CommentedSeq(yamledit.DoubleQuoted(v.version) for v in engine.store.versions(pid))
        labels.fa.set_flow_style()
        pins[pid] = labels
    if "written_against" in data:
        data["written_against"] = pins
    else:
        at = list(data).index("policy") + 1 if "policy" in data else 0
        data.insert(at, "written_against", pins)
        data.yaml_set_comment_before_after_key(
            "written_against", before="The versions of the policies it reads that these cases were worked out "
            "with: a version added later\ndoes not change what they test (`policy test` lists what it would change; "
            "`policy test --accept`\nwrites the new answers and versions here).")
    new = yamledit.dump(data)
    return (text, new, len(changed)) if new != text else None


def _write_expectation(expect, result: Decision | ClaimError) -> None:
    """Today's answer in the keys the case already states (and what a changed kind of answer needs)."""
    from engine.policies import yamledit

    def flow(items):
        seq = yamledit.CommentedSeq(items)
        seq.fa.set_flow_style()
        return seq

    if isinstance(result, ClaimError):
        for key in ("eligible", "amount", "failed_rules", "outputs", "notes", "error", "error_path", "not_in_force"):
            expect.pop(key, None)
        if result.kind == "not_in_force":
            expect["not_in_force"] = True
        else:
            expect["error"] = result.code
            if result.path:
                expect["error_path"] = result.path
        return
    for key in ("error", "error_path", "not_in_force"):
        expect.pop(key, None)
    expect["eligible"] = result.eligible
    if "amount" in expect or result.eligible:
        expect["amount"] = yamledit.DoubleQuoted(plain(result.amount))
    if "failed_rules" in expect:
        expect["failed_rules"] = flow(sorted(result.failed_rules))
    if isinstance(expect.get("outputs"), dict):
        for name in list(expect["outputs"]):
            old, value = expect["outputs"][name], plain(result.outputs.get(name))
            if isinstance(value, list):
                value = flow(value)
            elif isinstance(value, str) and type(old).__name__ == "_DateText":  # a date stays written as a date
                value = yamledit.date_text(value)
            expect["outputs"][name] = value
    if "notes" in expect:
        expect["notes"] = flow(sorted(n["id"] for n in result.notes))


def _same_amount(wanted, got: Decimal) -> bool:
    """An expected amount equals the decided one as money, however it is written: "3200", 3200, "3200.00"."""
    try:
        return Decimal(str(wanted)) == got
    except InvalidOperation:  # not a number at all: the message shows it beside the amount decided
        return False

"""Officers' example cases: claims with expected decisions, kept beside each policy version.

A file `VERSION.cases.yaml` next to `VERSION.yaml` holds a `base` claim and `cases`; each case
changes the base with a JSON merge patch (RFC 7386: a key set to null is removed) and states what
the decision must be. `policy test` and the test suite run them against that version, pinned.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.api import Engine, PolicyNotFound
from engine.claims.reader import RawClaim
from engine.core.diagnostics import DiagnosticError
from engine.core.isodate import parse_date
from engine.decide.results import ClaimError, Decision, plain
from engine.policies.store import CASES_SUFFIX
from engine.policies.yamlsource import read_file, read_yaml

_EXPECT_KEYS = {"eligible", "amount", "failed_rules", "outputs", "error", "error_path", "not_in_force", "notes"}


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    problems: list = field(default_factory=list)  # what differed, in words
    decision: Decision | ClaimError | None = None  # what the engine gave, for coverage

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


def run_case_file(engine: Engine, path: Path, select=None) -> list[CaseResult]:
    """Run the cases of one file (only those whose name `select` accepts, when given)."""
    display = engine.store.display(path)
    try:
        doc = read_yaml(read_file(path, display), display)
    except DiagnosticError as exc:
        d = exc.diagnostics[0]
        return [CaseResult(display, d.location.line, "(the file)", [d.message])]
    except OSError as exc:
        return [CaseResult(display, 0, "(the file)", [f"cannot read: {exc.strerror}"])]
    data = doc.value
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        return [CaseResult(display, 1, "(the file)", ["a cases file is a mapping with `policy`, `base` and `cases`"])]
    policy = data.get("policy") or _policy_beside(engine, path)
    if not policy:
        return [CaseResult(display, 1, "(the file)",
                           ["say which policy version these cases test: `policy: ID@VERSION`"])]
    try:
        evaluator = engine.evaluator(policy)
    except PolicyNotFound as exc:
        return [CaseResult(display, doc.location(("policy",)).line, "(the file)", [str(exc)])]
    base = data.get("base") or {}
    results = []
    for i, case in enumerate(data["cases"]):
        line = doc.location(("cases", i)).line
        if not isinstance(case, dict) or "name" not in case or not isinstance(case.get("expect"), dict):
            results.append(CaseResult(display, line, f"case {i + 1}", ["each case needs `name` and `expect`"]))
            continue
        if select is not None and not select(str(case["name"])):
            continue
        result = CaseResult(display, line, str(case["name"]))
        unknown = set(case["expect"]) - _EXPECT_KEYS
        if unknown:
            result.problems.append(f"unknown expectation {', '.join(sorted(unknown))}; "
                                   f"known: {', '.join(sorted(_EXPECT_KEYS))}")
        claim = merge_patch(base, case.get("claim") or {})
        as_of = case.get("as_of")
        try:
            as_of_date = parse_date(as_of) if as_of else None
        except ValueError:
            result.problems.append(f"as_of {as_of!r} is not a date")
            results.append(result)
            continue
        decision = evaluator.evaluate_raw(RawClaim(claim, f"{display}:{line}"), as_of_date)
        result.decision = decision
        result.problems.extend(compare(case["expect"], decision))
        results.append(result)
    return results


def _policy_beside(engine: Engine, path: Path) -> str | None:
    sibling = path.with_name(path.name.replace(".cases.yaml", ".yaml"))
    for versions in engine.store.by_id.values():
        for v in versions:
            if Path(v.file).resolve() == sibling.resolve():
                return v.key
    return None


def compare(expect: dict, result: Decision | ClaimError) -> list[str]:
    problems = []
    if isinstance(result, ClaimError):
        wanted_error = expect.get("error")
        if expect.get("not_in_force"):
            if result.kind != "not_in_force":
                problems.append(f"expected no policy in force, got {result.code}: {result.message}")
        elif wanted_error:
            if result.code != wanted_error:
                problems.append(f"expected error {wanted_error}, got {result.code}: {result.message}")
        else:
            problems.append(f"expected a decision, got {result.code}: {result.message}")
        if "error_path" in expect and result.path != expect["error_path"]:
            problems.append(f"expected the error at {expect['error_path']}, got it at {result.path}")
        return problems
    if expect.get("error") or expect.get("not_in_force"):
        return [f"expected {'no policy in force' if expect.get('not_in_force') else 'error ' + expect['error']}, "
                f"but the claim was decided (eligible: {result.eligible})"]
    if "eligible" in expect and bool(expect["eligible"]) != result.eligible:
        failed = ", ".join(result.failed_rules) or "none"
        problems.append(f"expected eligible {str(expect['eligible']).lower()}, got {str(result.eligible).lower()} "
                        f"(failed rules: {failed})")
    if "amount" in expect and str(expect["amount"]) != plain(result.amount):
        problems.append(f"expected amount {expect['amount']}, got {plain(result.amount)}")
    if "failed_rules" in expect and sorted(expect["failed_rules"] or []) != sorted(result.failed_rules):
        problems.append(f"expected failed rules [{', '.join(sorted(expect['failed_rules'] or []))}], "
                        f"got [{', '.join(sorted(result.failed_rules))}]")
    for name, wanted in (expect.get("outputs") or {}).items():
        got = plain(result.outputs.get(name, "(no such output)"))
        if plain(wanted) != got:
            problems.append(f"output {name}: expected {plain(wanted)!r}, got {got!r}")
    if "notes" in expect:
        got_notes = sorted(n["id"] for n in result.notes)
        if sorted(expect["notes"] or []) != got_notes:
            expected = ", ".join(sorted(expect["notes"] or []))
            problems.append(f"expected notes [{expected}], got [{', '.join(got_notes)}]")
    return problems

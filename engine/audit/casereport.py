"""What officers' example cases reach, and their results for CI: `policy test` coverage, JSON and JUnit XML.

Coverage is read off the decisions the cases produced (each rule's outcome, the facts, rows and
definitions it read), so it counts exactly what the engine evaluated, nothing inferred.
"""
from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import field

from engine.core.i18n import Message, alternatives, plural, tr
from engine.core.records import dataclass
from engine.decide.results import Decision


def _shown(text: str) -> str:
    """A message in the chosen language; an officer's own words (a case's name) as written."""
    return tr(text) if isinstance(text, Message) else text


OUTCOMES = ("pass", "fail", "not_applicable")


def name_selector(patterns) -> Callable[[str], bool] | None:
    """A test of case names for -k: a pattern with * ? [ is a glob, any other a substring; case is ignored.
    A name is selected when any pattern matches. None when no pattern is given (every case runs)."""
    patterns = [p.casefold() for p in patterns or () if p]
    if not patterns:
        return None

    def selected(name: str) -> bool:
        name = name.casefold()
        return any(fnmatch.fnmatchcase(name, p) if any(c in p for c in "*?[") else p in name for p in patterns)

    return selected


@dataclass
class Coverage:
    """What the cases of one policy version reached."""

    policy: str
    cases: int = 0
    rules: dict = field(default_factory=dict)  # rule id -> set of outcomes seen
    rule_clauses: dict = field(default_factory=dict)  # rule id -> clauses
    tables: dict = field(default_factory=dict)  # table name -> {key tuple: reached?}
    clauses: dict = field(default_factory=dict)  # clause id of the tested version -> reached?
    not_computable: list = field(default_factory=list)

    def add(self, decision: Decision, linked) -> None:
        """Count one decision; `linked` is the namespace it was decided in."""
        if not self.rules:
            self._start(linked)
        self.cases += 1
        reached_clauses: set = set()
        reads: list = list(decision.amount_reads or [])
        for r in decision.rules:
            self.rules.setdefault(r.id, set()).add(r.outcome)
            if r.outcome in ("pass", "fail"):
                reached_clauses.update(r.clauses)
            reads.extend(r.reads or [])
        if decision.eligible and linked.decision is not None:
            reached_clauses.update(linked.decision.clauses)
        for output in linked.outputs.values():  # outputs are computed for every claim
            reached_clauses.update(output.clauses)
        for name, _value in reads:
            table, key = _row_read(name)
            if table is not None and table in self.tables:
                if key in self.tables[table]:
                    self.tables[table][key] = True
                reached_clauses.update(linked.tables[table].clauses)
            elif name in linked.definitions:
                reached_clauses.update(linked.definitions[name].clauses)
        for cid in reached_clauses:
            for own in self.clauses:
                if cid == own or cid.startswith(own + "."):
                    self.clauses[own] = True

    def _start(self, linked) -> None:
        version = linked.version
        self.rules = {r.id: set() for r in linked.rules}
        self.rule_clauses = {r.id: r.clauses for r in linked.rules}
        self.tables = {name: {tuple(map(str, key)): False for key in t.rows} for name, t in linked.tables.items()}
        self.not_computable = [nc["clause"] for nc in version.not_computable if nc["clause"]]
        self.clauses = {cid: False for cid in version.clauses if cid not in self.not_computable}

    def to_json(self) -> dict:
        return {
            "policy": self.policy, "cases": self.cases,
            "rules": {rid: {o: o in seen for o in OUTCOMES} for rid, seen in self.rules.items()},
            "tables": {name: {"rows": len(rows), "reached": sum(rows.values()),
                              "not_reached": [list(k) for k, hit in rows.items() if not hit]}
                       for name, rows in self.tables.items()},
            "clauses": {"reached": [c for c, hit in self.clauses.items() if hit],
                        "not_reached": [c for c, hit in self.clauses.items() if not hit],
                        "not_computable": self.not_computable},
        }

    def render(self) -> str:
        both = [rid for rid, seen in self.rules.items() if {"pass", "fail"} <= seen]
        lines = [tr("coverage of {policy} ({cases}):", policy=self.policy,
                    cases=plural(self.cases, "{count} decided case", "{count} decided cases")),
                 "  " + tr("rules both passed and failed: {count} of {total}", count=len(both), total=len(self.rules))]
        for rid, seen in self.rules.items():
            never = {"pass", "fail"} - seen
            if never:
                clauses = ", ".join(self.rule_clauses.get(rid, ()))
                words = tr("never passed nor failed") if len(never) == 2 else \
                    tr("never passed") if "pass" in never else tr("never failed")
                lines.append(f"    {rid} [{clauses}]: {words}")
        for name, rows in self.tables.items():
            hit = sum(rows.values())
            lines.append("  " + tr("table {name}: {count} of {total} rows reached", name=name, count=hit,
                                   total=len(rows)))
            for key, reached in rows.items():
                if not reached:
                    lines.append("    " + tr("not reached: {key}", key=", ".join(map(str, key))))
        if self.tables:
            lines.append("    " + tr("(rows count what rules and the amount read; outputs are not traced)"))
        reached = [c for c, hit in self.clauses.items() if hit]
        missed = [c for c, hit in self.clauses.items() if not hit]
        lines.append("  " + tr("clauses reached: {count} of {total}", count=len(reached), total=len(self.clauses))
                     + (tr("; not reached: {clauses}", clauses=", ".join(missed)) if missed else ""))
        if self.not_computable:
            lines.append("  " + tr("not computable (not counted): {clauses}", clauses=", ".join(self.not_computable)))
        return "\n".join(lines)


def _row_read(name: str) -> tuple[str | None, tuple | None]:
    """A read recorded as `table[key, key]` → (table, key as text), else (None, None)."""
    if not name.endswith("]") or "[" not in name:
        return None, None
    table, _, inner = name[:-1].partition("[")
    return table, tuple(inner.split(", "))


_NOT_RUN = "not run"  # for CI tools, which read JUnit XML: the same words in every language


def junit_xml(files: list) -> bytes:
    """JUnit XML of the case files run: files is [(display name, [CaseResult], error text or None)]."""
    suites = ET.Element("testsuites", name="policy test")
    total = failures = 0
    for display, results, error in files:
        suite = ET.SubElement(suites, "testsuite", name=display)
        count = fail = 0
        if error is not None:
            count, fail = 1, 1
            case = ET.SubElement(suite, "testcase", name="(the file)", classname=display)
            ET.SubElement(case, "failure", message=_NOT_RUN).text = error
        for r in results:
            count += 1
            case = ET.SubElement(suite, "testcase", name=r.name, classname=display, file=r.file, line=str(r.line))
            if not r.passed:
                fail += 1
                ET.SubElement(case, "failure", message=r.problems[0]).text = "\n".join(r.problems)
        suite.set("tests", str(count))
        suite.set("failures", str(fail))
        suite.set("errors", "0")
        total, failures = total + count, failures + fail
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


class CaseRun:
    """One `policy test` run: prints each result as it comes (text or JSON lines), and at the end the totals,
    the coverage and the JUnit file."""

    def __init__(self, patterns, fmt: str, coverage: bool, echo, write):
        self.echo = echo  # echo(text, err=False): where the lines go
        self.write = write  # write(path, bytes): the JUnit file
        self.select = name_selector(patterns)
        self.patterns = list(patterns or ())
        self.fmt = fmt
        self.coverage = coverage
        self.passed = self.failed = 0
        self.changed: list = []  # (file, CaseResult) of cases whose answer today's store changes
        self.superseded: dict = {}  # file -> {successor ID@VERSION: cases dated after it took over}
        self.files: list = []
        self.coverages: dict = {}

    @property
    def selected_none(self) -> bool:
        return bool(self.patterns) and not (self.passed or self.failed)

    def _json(self, data: dict) -> None:
        import json

        self.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def not_run(self, display: str, subject: str) -> None:
        self.failed += 1
        message = tr("not run: {subject} has errors", subject=subject)
        self.files.append((display, [], message))
        if self.fmt == "json":
            self._json({"file": display, "passed": False, "not_run": True, "problems": [message]})
        else:
            self.echo(f"FAIL {display}: {message}")

    def file_done(self, engine, display: str, results: list) -> None:
        self.files.append((display, results, None))
        for r in results:
            if r.passed:
                self.passed += 1
            else:
                self.failed += 1
            if r.change is not None:
                self.changed.append((display, r))
            if r.superseded_by is not None:
                counts = self.superseded.setdefault(display, {})
                counts[r.superseded_by] = counts.get(r.superseded_by, 0) + 1
            if self.fmt == "json":
                line = {"file": r.file, "line": r.line, "name": r.name, "passed": r.passed, "problems": r.problems}
                if r.change is not None:
                    line["changed"] = r.change.to_json()
                self._json(line)
            elif not r.passed:
                self.echo(f"FAIL {r.file}:{r.line}: {_shown(r.name)}")
                for problem in r.problems:
                    self.echo(f"    {_shown(problem)}")
            if self.coverage and isinstance(r.decision, Decision):
                self._count(engine, r.decision)

    def _count(self, engine, decision: Decision) -> None:
        version = engine.store.get(decision.policy.id, decision.policy.version)
        linked = engine.linked(version, decision.decision_date, decision.known_on)
        key = version.key
        self.coverages.setdefault(key, Coverage(key)).add(decision, linked)

    def report_changes(self, accepted: bool) -> None:
        """The cases whose answer newer files change, apart from the failures: they still test what they were
        written for. Then the cases dated after their version was superseded, which still test it."""
        if self.fmt == "text" and self.changed:
            self.echo(tr("Cases whose answer newer files change (not failures; they still pass against the versions "
                         "they were written against):"))
            for _display, r in self.changed:
                self.echo(f"CHANGED {r.file}:{r.line}: {_shown(r.name)}")
                self.echo("    " + tr("{old} → {new}", old=r.change.old, new=r.change.new))
                for reason in r.change.because:
                    self.echo(f"      {_shown(reason)}")
            self.echo(tr("{count}: accepted into the case files", count=plural(
                len(self.changed), "{count} changed case", "{count} changed cases")) if accepted else
                tr("{count}: `policy test --accept` writes the new answers into the case files", count=plural(
                    len(self.changed), "{count} changed case", "{count} changed cases")))
        if self.fmt == "text":
            for display, successors in self.superseded.items():
                for successor, count in successors.items():
                    self.echo(tr("{display}: {count} dated on or after {successor} took effect: still tested against "
                                 "the version written for", display=display, successor=successor,
                                 count=plural(count, "{count} case", "{count} cases")))

    def finish(self, junit_path) -> None:
        if self.coverage:
            for cov in self.coverages.values():
                if self.fmt == "json":
                    self._json({"coverage": cov.to_json()})
                else:
                    self.echo(cov.render())
        if self.fmt == "json":
            self._json({"passed": self.passed, "failed": self.failed, "changed": len(self.changed)})
        else:
            self.echo(tr("{passed} passed, {failed} failed", passed=self.passed, failed=self.failed)
                      + (tr(", {changed} changed by newer files", changed=len(self.changed)) if self.changed else ""))
        if self.selected_none:
            self.echo(tr("no case name matches {patterns}", patterns=alternatives(self.patterns)), err=True)
        if junit_path is not None:
            self.write(junit_path, junit_xml(self.files))

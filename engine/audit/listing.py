"""The JSON forms of `policy list`, `timeline`, `show` and `check` for one store: what the command line
prints with --format json and what the decision service answers."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from engine.api import Engine
from engine.audit.describe import ROLES
from engine.core.diagnostics import Diagnostic, DiagnosticError, sorted_diagnostics
from engine.core.i18n import msg
from engine.decide.results import plain
from engine.policies.policyfile import PolicyVersion
from engine.policies.store import PolicyStore
from engine.policies.yamlsource import decode_text


def policy_list(store: PolicyStore) -> list[dict]:
    """Every policy id with its versions; `files_with_errors` when some of its files cannot be used."""
    rows = []
    for pid in sorted(set(store.ids()) | set(store.unplaced)):
        versions = store.versions(pid)
        files = sorted({d.location.file for d in store.errors_for(pid, references=False)})
        repeals = store.repeals.get(pid, [])
        rows.append({"id": pid, "title": versions[-1].title if versions else "",
                     "versions": [v.version for v in versions]}
                    | ({"repeals": [r.version for r in repeals]} if repeals else {})
                    | ({"files_with_errors": files} if files else {}))
    return rows


def timeline(store: PolicyStore, policy_id: str) -> list[dict]:
    """The versions of one policy with the dates each is in force and its source document, and its repeals
    (`"repeals": true`, from the day no version is in force) in their place by date."""
    rows = []
    entries = sorted(store.versions(policy_id) + store.repeals.get(policy_id, []),
                     key=lambda v: (v.effective_from, v.version))
    for v in entries:
        end = None if v.repeals else store.until(v)
        rows.append({"version": v.version, "from": v.effective_from.isoformat(), "to": end.isoformat() if end else None,
                     "issued_on": v.issued_on.isoformat(), "retroactive": v.issued_on > v.effective_from,
                     "review_by": v.review_by.isoformat() if v.review_by else None,
                     "document": v.source["number"], "title": v.source["title"], "digest": v.digest, "file": v.file}
                    | ({"repeals": True} if v.repeals else {}))
        changes = [] if v.repeals else underneath(store, v)
        if changes:
            rows[-1]["underneath"] = changes
    return rows


def underneath(store: PolicyStore, v: PolicyVersion) -> list[dict]:
    """The days, while `v` is in force, on which its effective content changes through a policy it extends or
    uses (however indirectly): {date, id, from, to, role, changes (how many, as `policy diff` counts them),
    what (in words)}. A day on which what it refers to cannot be linked is left out (`policy check` says why)."""
    from engine.audit.diff import diff_versions
    from engine.policies.linker import LinkError, link

    end = store.until(v)
    days = {day for day in store.change_days(store.needs(v.id) - {v.id})
            if v.effective_from < day and (end is None or day <= end)}

    def versions_on(day):
        try:
            linked = link(store, v, lambda ref, by: store.get(ref.policy_id, ref.version) if ref.version
                          else store.in_force(ref.policy_id, day), [])
        except LinkError:
            return None
        return {x.id: (x, linked.role_of(x)) for x in linked.versions if x is not linked.version}

    marks: list[dict] = []
    before = versions_on(v.effective_from)
    for day in sorted(days):
        now = versions_on(day)
        if now is None or before is None:
            before = now
            continue
        for pid in sorted(set(before) | set(now)):
            old, new = before.get(pid, (None, None))[0], now.get(pid, (None, None))[0]
            if old is new:
                continue
            count = len(diff_versions(old, new)["changes"]) if old is not None and new is not None else 0
            role = (now.get(pid) or before.get(pid))[1]
            # `what` in words: English where it is written as data (JSON), the reader's language where shown
            words = dict(id=pid, old=old.version if old else msg("(none)"), new=new.version if new else msg("(none)"),
                         role=ROLES.get(role, role), count=count)
            marks.append({"date": day.isoformat(), "id": pid, "from": old.version if old else None,
                          "to": new.version if new else None, "role": role, "changes": count,
                          "what": msg("{id} {old} → {new} ({role}; 1 change)", **words) if count == 1 else
                          msg("{id} {old} → {new} ({role}; {count} changes)", **words)})
        before = now
    return marks


def version(store: PolicyStore, v: PolicyVersion, reads: list[str] | None = None) -> dict:
    """One version: where it stands in the timeline, its digest, and its file's data as written."""
    end = store.until(v)
    data = {"id": v.id, "version": v.version, "title": v.title, "from": v.effective_from.isoformat(),
            "to": end.isoformat() if end else None, "issued_on": v.issued_on.isoformat(),
            "review_by": v.review_by.isoformat() if v.review_by else None, "file": v.file, "digest": v.digest,
            "input_schema": store.input_schema_name(v), "content": plain(v.content)}
    if reads is not None:
        data["reads"] = reads
    return data


def check(engine: Engine, today: date, files: set[str] | None = None) -> list[Diagnostic]:
    """`policy check`'s findings: the whole store's, or only those of `files` (display names) together with
    the input schemas they read, which the store reports once, at the first file naming a broken one."""
    diagnostics = engine.check(today, files)
    if files is not None:
        named = {v.input_schema for vs in engine.store.by_id.values() for v in vs if v.file in files and v.input_schema}
        schema_errors = [d for name in named for d in engine.store.schema_errors.get(name, [])]
        diagnostics = sorted_diagnostics(diagnostics + schema_errors)
    return diagnostics


def check_draft(root: Path, schemas: Path | None, place: Path, data: bytes, today: date) -> list[Diagnostic]:
    """Check one policy file given as bytes, as if it were at `place` in the store at `root` (replacing a file
    there, if one is): nothing is written anywhere."""
    try:
        text = decode_text(data, PolicyStore(root=root, schemas_dir=root).display(place))
    except DiagnosticError as exc:  # not UTF-8: said as `policy check` says it of a file
        return exc.diagnostics
    store = PolicyStore.load(root, schemas, extra_files=[place], unsaved={place: text})
    return check(Engine(store), today, {store.display(place)})


_POLICY_ID = re.compile(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+")  # as `policy new` holds them
_TOP_LEVEL = re.compile(rb"^(policy|version):[ \t]*[\"']?([^\"'\s#]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def draft_place(text: bytes) -> Path:
    """Where a draft's own top-level `policy:` and `version:` put it (ID/VERSION.yaml, relative to the policies
    folder), so that it is checked as that version, in place of the file the store has for it; draft.yaml beside
    the policies when it does not say (the check then says what is missing). For a draft that is no file yet: the
    service's check, an editor's unsaved document."""
    found = {key: value.decode("utf-8", "replace")
             for key, value in _TOP_LEVEL.findall(text[:1 << 16].removeprefix(b"\xef\xbb\xbf"))}
    policy_id, version = found.get(b"policy"), found.get(b"version")
    if policy_id and version and _POLICY_ID.fullmatch(policy_id) and "/" not in version and version not in (".", ".."):
        return Path(policy_id) / f"{version}.yaml"
    return Path("draft.yaml")

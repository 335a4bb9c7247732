"""The version store: every policy file under a folder, indexed by id and effective date."""
from __future__ import annotations

import itertools
import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import date
from pathlib import Path

from engine.core import lightimport, schemacheck
from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, Note, cited, note_at
from engine.core.i18n import joined, msg
from engine.core.reasons import json_reason, os_reason
from engine.core.records import dataclass
from engine.core.spelling import close_matches
from engine.language.builtins import add_days
from engine.language.types import Record, SchemaTypeError, schema_to_type
from engine.policies.policyfile import PolicyVersion, canonical_json, load_policy_file, sha256
from engine.policies.yamlsource import DEFAULT_LIMITS, gc_paused, read_file

CASES_SUFFIX = ".cases.yaml"


def is_policy_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.name.endswith((CASES_SUFFIX, ".cases.yml"))


_KINDS_OF_FILE = ((stat.S_ISFIFO, msg("a named pipe")), (stat.S_ISSOCK, msg("a socket")),
                  (stat.S_ISCHR, msg("a device")), (stat.S_ISBLK, msg("a device")))


def scan(root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The policy files under root, and a diagnostic for everything else there that is not plainly a policy's
    (issue 18): links (never followed: a link may lead out of the tree, to a file that must not be printed),
    named pipes and devices (never opened: reading one may never end), names a policy file almost has
    (`.YAML`), and other files (a warning: they are not read). Nothing is followed, opened or skipped in
    silence; names starting with a dot (editors' and version control's) are left alone."""
    files: list[Path] = []
    found: list[Diagnostic] = []

    def walk(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.append(Diagnostic("file.unreadable", msg("the folder cannot be read: {reason}",
                                                           reason=os_reason(exc)), Location(str(folder))))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed while the folder was read
            if stat.S_ISLNK(info.st_mode):
                found.append(Diagnostic("file.link", msg(
                    "a link inside the policies folder is never followed (nor read): put the file itself here"),
                    Location(str(path))))
            elif stat.S_ISDIR(info.st_mode):
                walk(path)
            elif not stat.S_ISREG(info.st_mode):
                kind = next((name for test, name in _KINDS_OF_FILE if test(info.st_mode)), msg("not a regular file"))
                found.append(Diagnostic("file.special", msg("this is {kind}, not a policy file; it is not read",
                                                            kind=kind), Location(str(path))))
            elif is_policy_file(path):
                files.append(path)
            elif path.name.lower().endswith((".yaml", ".yml")) and not path.name.endswith((".cases.yaml",
                                                                                           ".cases.yml")):
                found.append(Diagnostic("file.name", msg(
                    "the file name ends in {suffix}: a policy file ends in .yaml (lower case), so this one is "
                    "not read", suffix=path.name[path.name.rfind("."):]), Location(str(path)),
                    hint=msg("rename it to {name}", name=path.name[:path.name.rfind(".")] + ".yaml")))
            elif path.suffix == ".json":
                pass  # a version's own facts beside it (`input.facts`): read when, and only when, a version names it
            elif not path.name.endswith((CASES_SUFFIX, ".cases.yml")):
                found.append(Diagnostic("file.ignored", msg(
                    "not a policy file (those are policies/ID/VERSION.yaml); it is not read"), Location(str(path)),
                    severity="warning"))

    if root.is_dir():
        walk(root)
    return files, found


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except (OSError, ValueError):
        return False


def _unread(path: Path) -> str:
    """What the store cache keys a file the store did not read by: its size (the error names it)."""
    try:
        return f"unread:{os.stat(path).st_size}"
    except OSError:
        return "unread"


# content digest of a schema file -> the problems checking it against the metaschema found (none, mostly). The
# bytes decide them, and checking is most of reading a small store: a server reloading, the language server on
# every edit and the tests read the same schema files again and again.
_SCHEMA_PROBLEMS: dict[str, tuple[str, ...]] = {}


def _schema_problems(digest: str, schema: dict) -> list[str]:
    problems = _SCHEMA_PROBLEMS.get(digest)
    if problems is None:
        problems = tuple(schemacheck.check_schema(schema))
        if len(_SCHEMA_PROBLEMS) >= 256:
            _SCHEMA_PROBLEMS.clear()
        _SCHEMA_PROBLEMS[digest] = problems
    return list(problems)


def content_digest(data: bytes) -> str:
    """The digest of bytes a store was built from: the store cache is keyed by what was read, never by a file's
    size or time, which an edit and a revert can restore."""
    return lightimport.sha256(data).hexdigest()


def _normalised(content: dict) -> dict:
    """The file's data with table rows as column → value mappings: canonical JSON sorts keys, and a row
    written as a list means nothing without the order of its columns."""
    tables = content.get("tables")
    if not isinstance(tables, dict):
        return content
    out = dict(content, tables={})
    for name, table in tables.items():
        columns = list(table.get("columns", {})) if isinstance(table, dict) else []
        rows = table.get("rows", []) if isinstance(table, dict) else []
        as_maps = [dict(zip(columns, row, strict=False)) if isinstance(row, list) else row for row in rows]
        out["tables"][name] = dict(table, rows=as_maps) if isinstance(table, dict) else table
    return out


@dataclass
class InputSchema:
    name: str
    schema: dict
    type: Record | None
    digest: str
    facts_of: tuple = ()  # the versions whose own facts (input.facts) are added to the file's schema


@dataclass
class PolicyStore:
    root: Path
    schemas_dir: Path
    by_id: dict = field(default_factory=dict)  # id -> [PolicyVersion] by effective date
    repeals: dict = field(default_factory=dict)  # id -> [PolicyVersion with repeals=True] by effective date
    schemas: dict = field(default_factory=dict)  # file name -> InputSchema, or None when it cannot be used
    diagnostics: list = field(default_factory=list)
    # Which policy ids each file belongs to (displayed name -> ids): the id inside it and the id its place
    # implies, so that the errors of a file too broken to name its own id still stop what needs that id.
    file_ids: dict = field(default_factory=dict)
    unplaced: dict = field(default_factory=dict)  # id -> files of that id that could not be read as a version
    schema_errors: dict = field(default_factory=dict)  # schema file name -> its diagnostics (reported once)
    # str(path) -> content_digest of the bytes read (or why none were): what the store cache is keyed by
    read_digests: dict = field(default_factory=dict)

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, root: Path, schemas_dir: Path | None = None, extra_files: Sequence[Path] = (),
             unsaved: dict[Path, str] | None = None) -> PolicyStore:
        """The store of the files under root (and extra_files); `unsaved` maps a file's path to text read in
        place of the file's own (an editor's buffer)."""
        with gc_paused():  # the whole store: its versions are kept, and collecting them is what was slow
            return cls._load(Path(root), schemas_dir, extra_files, unsaved)

    @classmethod
    def _load(cls, root: Path, schemas_dir: Path | None, extra_files: Sequence[Path],
              unsaved: dict[Path, str] | None) -> PolicyStore:
        store = cls(root=root, schemas_dir=Path(schemas_dir) if schemas_dir else root.parent / "schemas")
        files, found = scan(root)
        for d in found:
            path = Path(d.location.file)
            store.diagnostics.append(Diagnostic(d.code, d.message, Location(store.display(path)), d.clause, d.severity,
                                                hint=d.hint))
            if d.severity == "error":  # what its place implies it belongs to may need it
                store.file_ids.setdefault(store.display(path), set()).update(filter(None, [store.implied_id(path)]))
        if not root.is_dir():
            store.diagnostics.append(Diagnostic("store.missing", msg("the policies folder does not exist"),
                                                Location(str(root))))
        placed = set(files)
        for extra in extra_files:
            if extra not in files:
                files.append(extra)
                if _inside(extra, root):  # a draft of a file of the tree (the service's check, an editor's buffer)
                    placed.add(extra)
        texts = {Path(p).resolve(): text for p, text in (unsaved or {}).items()}
        for path in files:
            store.add_file(path, texts.get(path.resolve()), placed=path in placed)
        from engine.policies.amend import resolve_amendments

        resolve_amendments(store)  # an amending version becomes the whole it stands for
        store._check_versions()
        return store

    def display(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)

    def implied_id(self, path: Path) -> str | None:
        """The policy id a file's place implies: policies/ID/VERSION.yaml."""
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve())
        except (OSError, ValueError):
            return None
        return rel.parent.as_posix() if len(rel.parts) > 1 else None

    def add_file(self, path: Path, text: str | None = None, placed: bool = False) -> PolicyVersion | None:
        """Read one file (or `text` in its place). A version whose file has errors is still added, so that
        `policy check` can check the rest of it; the commands that use its id refuse while it has errors
        (`errors_for`). A file `placed` in the store's tree must be policies/ID/VERSION.yaml, saying that id and
        version inside: a file elsewhere must never quietly become a version (issue 18)."""
        display = self.display(path)
        content: str | bytes | None = text
        version: PolicyVersion | None = None
        diagnostics: list[Diagnostic] = []
        if content is None:
            try:
                content = read_file(path, display, DEFAULT_LIMITS)  # bytes: the reader decodes them, and says where
                self.read_digests[str(path)] = content_digest(content)
            except DiagnosticError as exc:
                self.read_digests[str(path)] = _unread(path)
                self.diagnostics.extend(exc.diagnostics)
            except OSError as exc:
                self.read_digests[str(path)] = _unread(path)
                self.diagnostics.append(Diagnostic("input.unreadable", msg("cannot read the file: {reason}",
                                                   reason=os_reason(exc)), Location(display)))
        if content is not None:
            version, diagnostics = load_policy_file(path, display, content)  # type: ignore[arg-type]
        self.diagnostics.extend(diagnostics)
        if placed:
            self._check_place(path, display, version)
        ids = {pid for pid in (self.implied_id(path), version.id if version else None) if pid}
        self.file_ids.setdefault(display, set()).update(ids)
        if version is None:
            for pid in ids:
                self.unplaced.setdefault(pid, []).append(display)
            return None
        schema = self.input_schema(version.input_schema, version) if version.input_schema else None
        covered = {"policy": _normalised(version.content), "input_schema": schema.schema if schema else None}
        if version.facts_file is not None:  # the own facts kept beside the file are this version's content too
            covered["facts_file"] = version.facts_file
        version.digest = sha256(canonical_json(covered))
        (self.repeals if version.repeals else self.by_id).setdefault(version.id, []).append(version)
        return version

    def _check_place(self, path: Path, display: str, version: PolicyVersion | None) -> None:
        """policies/ID/VERSION.yaml, and the same id and version inside."""
        implied = self.implied_id(path)
        label = Path(path).name.rsplit(".", 1)[0]
        if implied is None:
            where = version.location("policy") if version else Location(display)
            self.diagnostics.append(Diagnostic("file.misplaced", msg(
                "a policy file must be at ID/VERSION.yaml inside the policies folder, not at its top"), where,
                hint=msg("move it to {place}", place=f"{version.id}/{version.version}.yaml") if version else None))
            return
        if version is None:
            return
        if version.id and version.id != implied:
            place = self.display(self.root / version.id / f"{version.version}.yaml")
            # which of the two is the typo: a folder already holding versions, or an id close to the folder's,
            # says the `policy:` line is; else the file may well belong elsewhere
            typo = self.implied_id(path) in self.by_id or bool(close_matches(version.id, [implied], n=1, cutoff=0.8))
            hint = (msg("write policy: {implied}, as its folder says; or, if {pid} is meant, move it to {place}",
                        implied=implied, pid=version.id, place=place) if typo else
                    msg("move it to {place}, or, if the folder is right, write policy: {implied}", place=place,
                        implied=implied))
            self.diagnostics.append(Diagnostic("file.misplaced", msg(
                "the file says policy {pid}, but its folder says {implied}: a policy file is at ID/VERSION.yaml",
                pid=version.id, implied=implied), version.location("policy"),
                source_line=version.document.line_text(version.location("policy").line) if version.document else None,
                hint=hint))
        elif version.version and version.version != label:
            self.diagnostics.append(Diagnostic("file.misplaced", msg(
                "the file says version {version}, but its name says {label}: a policy file is at ID/VERSION.yaml",
                version=version.version, label=label), version.location("version"),
                source_line=version.document.line_text(version.location("version").line) if version.document else None,
                hint=msg("rename it to {name}, or, if the name is right, write version: \"{label}\"",
                         name=f"{version.version}.yaml", label=label)))

    def input_schema(self, name: str, version: PolicyVersion) -> InputSchema | None:
        """The input schema `name`, read once. A schema that cannot be used is reported once, at the
        `input.schema` line of the first version that names it: every version reading it fails alike."""
        if name in self.schemas:
            return self.schemas[name]
        entry, problem, hint = self._read_schema(name)
        self.schemas[name] = entry
        if problem is not None:
            loc = version.location("input", "schema")
            code, message = problem
            d = Diagnostic(code, message, loc, source_line=version.document.line_text(loc.line)
                           if version.document else None, hint=hint)
            self.diagnostics.append(d)
            self.schema_errors[name] = [d]
        return entry

    def _read_schema(self, name: str) -> tuple:
        """(InputSchema or None, (code, message) or None, hint or None)."""
        path = self.schemas_dir / name
        where = self.display(path)
        if Path(name).name != name or not path.is_file():
            known = sorted(p.name for p in self.schemas_dir.glob("*.json")) if self.schemas_dir.is_dir() else []
            close = close_matches(name, known, n=1)
            message = msg("input schema {name} is not a file in {folder}", name=repr(name),
                          folder=self.display(self.schemas_dir))
            return None, ("schema.missing", message), (msg("did you mean {name}?", name=repr(close[0])) if close
                                                       else None)
        try:
            data = read_file(path, where, DEFAULT_LIMITS)
            digest = self.read_digests[str(path)] = content_digest(data)
            schema = json.loads(data.decode("utf-8"))
        except DiagnosticError:
            self.read_digests[str(path)] = _unread(path)
            return None, ("schema.unreadable", msg("input schema {name} is larger than the limit of {limit} bytes "
                                                   "({where})", name=repr(name), limit=DEFAULT_LIMITS.max_bytes,
                                                   where=where)), None
        except RecursionError:
            return None, ("schema.unreadable", msg("input schema {name} nests too deeply to read ({where})",
                                                   name=repr(name), where=where)), None
        except json.JSONDecodeError as exc:
            message = msg("input schema {name} is not valid JSON: {where}: {problem}", name=repr(name),
                          where=f"{where}:{exc.lineno}:{exc.colno}", problem=json_reason(exc.msg))
            return None, ("schema.unreadable", message), None
        except UnicodeDecodeError:
            return None, ("schema.unreadable", msg("input schema {name} is not UTF-8 text ({where})",
                                                   name=repr(name), where=where)), None
        except OSError as exc:
            return None, ("schema.unreadable", msg("input schema {name} cannot be read: {reason} ({where})",
                                                   name=repr(name), reason=os_reason(exc), where=where)), None
        if not isinstance(schema, dict):
            return None, ("schema.unreadable", msg("input schema {name} must be a JSON object ({where})",
                                                   name=repr(name), where=where)), None
        try:
            problems = _schema_problems(digest, schema)
            record = None if problems else schema_to_type(schema)
        except SchemaTypeError as exc:
            problems = [exc.args[0]]
        except RecursionError:
            problems = [msg("it nests too deeply")]
        if problems:
            shown = list(problems[:3])
            if len(problems) > 3:
                shown.append(msg("and {count} more", count=len(problems) - 3))
            return None, ("schema.invalid", msg("input schema {name} is not usable ({where}): {problems}",
                                                name=repr(name), where=where, problems=joined(shown, "; "))), None
        return InputSchema(name, schema, record, sha256(canonical_json(schema))), None, None

    def _check_versions(self) -> None:
        for pid in sorted(set(self.by_id) | set(self.repeals)):
            for listed in (self.by_id.get(pid, []), self.repeals.get(pid, [])):
                listed.sort(key=lambda v: (v.effective_from, v.version))
            versions = sorted(self.by_id.get(pid, []) + self.repeals.get(pid, []),
                              key=lambda v: (v.effective_from, v.version))
            labels: dict = {}
            for v in versions:
                if v.version in labels:
                    other = labels[v.version]
                    self.diagnostics.append(Diagnostic(
                        "version.duplicate", msg("{key} is defined twice (also in {file})", key=f"{pid}@{v.version}",
                                                 file=other.file),
                        v.location("version"), cited(v.effective_clauses),
                        notes=(_note(msg("also defined here"), other, "version"),)))
                labels.setdefault(v.version, v)
            # A later version that begins before an earlier one's `effective.to` supersedes it from its first day
            # (until() ends the earlier one there), as a later notice does: the notice that amends, shortens or
            # replaces a scheme in force is a new file, never an edit of the published one. Only two versions
            # beginning the same day leave a day with no answer.
            for before, after in itertools.pairwise(versions):
                if before.effective_from == after.effective_from:
                    self.diagnostics.append(Diagnostic(
                        "version.overlap", msg("{after} takes effect on {day}, the same day as {before} ({file}); one "
                                               "version must end before the next begins", after=after.key,
                                               day=after.effective_from, before=before.key, file=before.file),
                        after.location("effective", "from"), cited(after.effective_clauses),
                        notes=(_note(msg("{key} takes effect here", key=before.key), before, "effective", "from"),)))
            for repeal in self.repeals.get(pid, []):
                self._check_repeal(repeal)

    def _check_repeal(self, repeal: PolicyVersion) -> None:
        """A repeal ends a version in force the day before it; one that ends nothing is a mistake in its date
        or its id (an error), or a second notice about a policy already ended (a warning)."""
        earlier = [v for v in self.by_id.get(repeal.id, []) if v.effective_from < repeal.effective_from]
        where, clause = repeal.location("effective", "from"), cited(repeal.effective_clauses)
        if not earlier:
            known = ", ".join(v.version for v in self.by_id.get(repeal.id, [])) or msg("none")
            self.diagnostics.append(Diagnostic("repeal.nothing", msg(
                "{key} repeals {pid} from {day}, but no version of {pid} takes effect before then (it has {known})",
                key=repeal.key, pid=repeal.id, day=repeal.effective_from, known=known), where, clause))
            return
        day_before = add_days(repeal.effective_from, -1)
        if self.in_force(repeal.id, day_before) is None:
            last = earlier[-1]
            end = self.until(last)
            self.diagnostics.append(Diagnostic("repeal.nothing", msg(
                "{key} repeals {pid} from {day}, but no version of it is in force the day before: {last} ended on "
                "{end}", key=repeal.key, pid=repeal.id, day=repeal.effective_from, last=last.key, end=end),
                where, clause, severity="warning"))

    # -- asking ----------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return sorted(self.by_id)

    def needs(self, pid: str) -> set[str]:
        """`pid` and every id any of its versions extends or uses, however indirectly."""
        found, stack = set(), [pid]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            for v in self.by_id.get(current, []):
                stack.extend(ref.policy_id for ref in ([v.extends] if v.extends else []) + list(v.uses.values())
                             + list(v.includes))
        return found

    def errors_for(self, pid: str, references: bool = True) -> list[Diagnostic]:
        """The errors of every file that deciding under `pid` may need: its own files, those of the policies it
        extends or uses (unless `references` is False), and the input schemas they read. A decision must not
        quietly do without any of them."""
        needed = self.needs(pid) if references else {pid}
        files = {f for f, ids in self.file_ids.items() if ids & needed}
        found = [d for d in self.diagnostics if d.severity == "error" and d.location.file in files]
        if references:
            found += self.reference_errors(pid)
        for name in {v.input_schema for i in needed for v in self.by_id.get(i, []) if v.input_schema}:
            found += [d for d in self.schema_errors.get(name, []) if d not in found]
        return found

    def reference_errors(self, pid: str) -> list[Diagnostic]:
        """What makes `pid` unusable on every day, found from the ids alone: a reference to an id no file defines,
        or `extends`/`uses` that lead back to where they started (a policy extending itself, a cycle). A command
        deciding under `pid` names the broken reference (exit 1) instead of "no policy in force" for each claim."""
        found: list[Diagnostic] = []
        state: dict = {}  # id -> "open" while its references are followed, "done" after

        def visit(current: str, path: tuple) -> None:
            state[current] = "open"
            for v in self.by_id.get(current, []):
                for ref in ([v.extends] if v.extends else []) + list(v.uses.values()):
                    target = ref.policy_id
                    if target not in self.by_id:
                        if target not in self.unplaced:
                            close = close_matches(target, list(self.by_id), n=1, cutoff=0.6)
                            found.append(Diagnostic("reference.unknown", msg(
                                "{by} refers to {ref}, which no policy file defines", by=v.key, ref=target),
                                ref.location, cited(ref.clauses),
                                source_line=v.document.line_text(ref.location.line) if v.document else None,
                                hint=msg("did you mean {name}?", name=repr(close[0])) if close else None))
                    elif state.get(target) == "open":
                        cycle = " → ".join(path[path.index(target):] + (current, target)) if target in path \
                            else f"{current} → {target}"
                        found.append(Diagnostic("reference.cycle", msg(
                            "policies refer to each other in a cycle: {cycle}", cycle=cycle), ref.location,
                            cited(ref.clauses)))
                    elif target not in state:
                        visit(target, path + (current,))
            state[current] = "done"

        visit(pid, ())
        return found

    def declares_input(self, pid: str, version: str | None = None) -> bool:
        """Whether claims can be put to `pid` (or to that version): it, or a policy it extends, names an input."""
        return any(self.input_schema_name(v) for v in self.by_id.get(pid, [])
                   if version is None or v.version == version)

    def input_schema_name(self, version: PolicyVersion) -> str | None:
        """The input schema `version` reads: its own, or that of the policy it extends (a transposition reads the
        same claim as what it transposes; `policy check` holds them to that)."""
        seen = {version.id}
        while not version.input_schema and version.extends and version.extends.policy_id not in seen:
            seen.add(version.extends.policy_id)
            ref = version.extends
            parent = (self.get(ref.policy_id, ref.version) if ref.version
                      else (self.by_id.get(ref.policy_id) or [None])[-1])
            if parent is None:
                return None
            version = parent
        return version.input_schema or None

    def versions(self, pid: str, known_on: date | None = None) -> list[PolicyVersion]:
        versions = self.by_id.get(pid, [])
        if known_on is not None:
            versions = [v for v in versions if v.issued_on <= known_on]
        return versions

    def get(self, pid: str, version: str) -> PolicyVersion | None:
        return next((v for v in self.by_id.get(pid, []) if v.version == version), None)

    def in_force(self, pid: str, day: date, known_on: date | None = None) -> PolicyVersion | None:
        """The version in force on `day`: the latest to take effect by then, unless it has already ended or a
        repeal (known by `known_on`) has taken effect since."""
        current = None
        for v in self.versions(pid, known_on):
            if v.effective_from <= day:
                current = v
        if current is not None and current.effective_to is not None and day > current.effective_to:
            return None
        repeal = self.repealed_on(pid, day, known_on)
        if current is not None and repeal is not None and repeal.effective_from > current.effective_from:
            return None
        return current

    def repeal(self, pid: str, label: str) -> PolicyVersion | None:
        """The repeal of `pid` with that label, if its file is one."""
        return next((r for r in self.repeals.get(pid, []) if r.version == label), None)

    def repealed_on(self, pid: str, day: date, known_on: date | None = None) -> PolicyVersion | None:
        """The latest repeal of `pid` in effect on `day`, whether or not a version has taken effect since."""
        found = None
        for r in self.repeals.get(pid, []):
            if r.effective_from <= day and (known_on is None or r.issued_on <= known_on):
                found = r
        return found

    def until(self, version: PolicyVersion) -> date | None:
        """The last day `version` is in force: its own end, or the day before the next version or repeal."""
        later = [v for v in self.by_id.get(version.id, []) + self.repeals.get(version.id, [])
                 if v.effective_from > version.effective_from]
        ends = [version.effective_to] if version.effective_to else []
        if later:
            ends.append(add_days(min(v.effective_from for v in later), -1))
        return min(ends) if ends else None

    def change_days(self, ids: Iterable[str] | None = None) -> set[date]:
        """Every day on which what is in force may change for `ids` (all when None): a version or a repeal takes
        effect, or a version's own end has passed (a version in force until 9999-12-31 has no day after it)."""
        days: set[date] = set()
        for pid in (set(self.by_id) | set(self.repeals)) if ids is None else ids:
            for v in self.by_id.get(pid, []) + self.repeals.get(pid, []):
                days.add(v.effective_from)
                if not v.repeals and v.effective_to is not None and v.effective_to < date.max:
                    days.add(add_days(v.effective_to, 1))
        return days

    def nearest(self, pid: str, day: date) -> PolicyVersion | None:
        versions = self.by_id.get(pid, [])
        return min(versions, key=lambda v: abs((v.effective_from - day).days), default=None)


def _note(message: str, version: PolicyVersion, *path) -> Note:
    """A note at a place in another version's file, with its source line."""
    text = version.document.text if version.document else None
    return note_at(message, version.location(*path), text)

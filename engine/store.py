"""The version store: every policy file under a folder, indexed by id and effective date."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import schemacheck
from .builtins import add_days
from .diagnostics import Diagnostic, Location
from .policyfile import PolicyVersion, canonical_json, load_policy_file, sha256
from .types import Record, SchemaTypeError, schema_to_type

CASES_SUFFIX = ".cases.yaml"


def is_policy_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.name.endswith((CASES_SUFFIX, ".cases.yml"))


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
        as_maps = [dict(zip(columns, row)) if isinstance(row, list) else row for row in rows]
        out["tables"][name] = dict(table, rows=as_maps) if isinstance(table, dict) else table
    return out


@dataclass
class InputSchema:
    name: str
    schema: dict
    type: Record | None
    digest: str

    @property
    def validator(self):
        validator = self.__dict__.get("_validator")
        if validator is None:
            validator = self.__dict__["_validator"] = schemacheck.make_validator(self.schema)
        return validator

    def __getstate__(self):  # the validator is rebuilt on demand, not cached on disk
        return {k: v for k, v in self.__dict__.items() if k != "_validator"}


@dataclass
class PolicyStore:
    root: Path
    schemas_dir: Path
    by_id: dict = field(default_factory=dict)  # id -> [PolicyVersion] by effective date
    schemas: dict = field(default_factory=dict)  # file name -> InputSchema
    diagnostics: list = field(default_factory=list)

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, root: Path, schemas_dir: Path | None = None, extra_files: list[Path] = ()) -> "PolicyStore":
        root = Path(root)
        store = cls(root=root, schemas_dir=Path(schemas_dir) if schemas_dir else root.parent / "schemas")
        files = sorted(p for p in root.rglob("*") if p.is_file() and is_policy_file(p)) if root.is_dir() else []
        if not root.is_dir():
            store.diagnostics.append(Diagnostic("store.missing", "the policies folder does not exist", Location(str(root))))
        for extra in extra_files:
            if extra not in files:
                files.append(extra)
        for path in files:
            store.add_file(path)
        store._check_versions()
        return store

    def display(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)

    def add_file(self, path: Path) -> PolicyVersion | None:
        version, diagnostics = load_policy_file(path, self.display(path))
        self.diagnostics.extend(diagnostics)
        if version is None:
            return None
        schema = self.input_schema(version.input_schema, version) if version.input_schema else None
        version.digest = sha256(canonical_json({"policy": _normalised(version.content),
                                                "input_schema": schema.schema if schema else None}))
        self.by_id.setdefault(version.id, []).append(version)
        return version

    def input_schema(self, name: str, version: PolicyVersion) -> InputSchema | None:
        if name in self.schemas:
            return self.schemas[name]
        loc = version.location("input", "schema")
        path = self.schemas_dir / name
        if Path(name).name != name or not path.is_file():
            self.diagnostics.append(Diagnostic("schema.missing", f"input schema {name!r} is not a file in {self.schemas_dir}",
                                               loc))
            self.schemas[name] = None
            return None
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(schema, dict):
                raise ValueError("a schema must be a JSON object")
        except RecursionError:
            self.diagnostics.append(Diagnostic("schema.unreadable", "the schema nests too deeply to read",
                                               Location(self.display(path))))
            self.schemas[name] = None
            return None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            line = getattr(exc, "lineno", 0)
            self.diagnostics.append(Diagnostic("schema.unreadable", f"cannot read the schema: {exc}",
                                               Location(self.display(path), line, getattr(exc, "colno", 0))))
            self.schemas[name] = None
            return None
        try:
            problems = schemacheck.check_schema(schema)
            record = None
            if not problems:
                record = schema_to_type(schema)
        except SchemaTypeError as exc:
            problems = [str(exc)]
        except RecursionError:
            problems = ["it nests too deeply"]
        for problem in problems:
            self.diagnostics.append(Diagnostic("schema.invalid", f"the input schema is not usable: {problem}",
                                               Location(self.display(path))))
        entry = None if problems else InputSchema(name, schema, record, sha256(canonical_json(schema)))
        self.schemas[name] = entry
        return entry

    def _check_versions(self) -> None:
        for pid, versions in self.by_id.items():
            versions.sort(key=lambda v: (v.effective_from, v.version))
            labels: dict = {}
            for v in versions:
                if v.version in labels:
                    self.diagnostics.append(Diagnostic(
                        "version.duplicate", f"{pid}@{v.version} is defined twice (also in {labels[v.version].file})",
                        v.location("version")))
                labels.setdefault(v.version, v)
            for before, after in zip(versions, versions[1:]):
                if before.effective_from == after.effective_from:
                    self.diagnostics.append(Diagnostic(
                        "version.overlap", f"{after.key} takes effect on {after.effective_from}, the same day as "
                        f"{before.key} ({before.file}); one version must end before the next begins",
                        after.location("effective", "from")))
                elif before.effective_to and before.effective_to >= after.effective_from:
                    self.diagnostics.append(Diagnostic(
                        "version.overlap", f"{before.key} is in force until {before.effective_to}, after {after.key} "
                        f"takes effect on {after.effective_from}", before.location("effective", "to")))

    # -- asking ----------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return sorted(self.by_id)

    def versions(self, pid: str, known_on: date | None = None) -> list[PolicyVersion]:
        versions = self.by_id.get(pid, [])
        if known_on is not None:
            versions = [v for v in versions if v.issued_on <= known_on]
        return versions

    def get(self, pid: str, version: str) -> PolicyVersion | None:
        return next((v for v in self.by_id.get(pid, []) if v.version == version), None)

    def in_force(self, pid: str, day: date, known_on: date | None = None) -> PolicyVersion | None:
        """The version in force on `day`: the latest to take effect by then, unless it has already ended."""
        current = None
        for v in self.versions(pid, known_on):
            if v.effective_from <= day:
                current = v
        if current is not None and current.effective_to is not None and day > current.effective_to:
            return None
        return current

    def until(self, version: PolicyVersion) -> date | None:
        """The last day `version` is in force: its own end, or the day before the next version."""
        later = [v for v in self.by_id.get(version.id, []) if v.effective_from > version.effective_from]
        ends = [version.effective_to] if version.effective_to else []
        if later:
            ends.append(add_days(later[0].effective_from, -1))
        return min(ends) if ends else None

    def nearest(self, pid: str, day: date) -> PolicyVersion | None:
        versions = self.by_id.get(pid, [])
        return min(versions, key=lambda v: abs((v.effective_from - day).days), default=None)

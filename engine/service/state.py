"""The policies being served: one immutable snapshot at a time, swapped whole on reload.

A request takes the current snapshot once and uses only it, so it finishes on the store it started with.
A reload reads and checks the folder first; a store with errors is not swapped in, and the old one keeps
serving while /ready reports the errors.
"""
from __future__ import annotations

import threading
import time
from dataclasses import field
from datetime import date
from pathlib import Path

from engine.api import Engine, Evaluator, Selection
from engine.core.diagnostics import Diagnostic
from engine.core.records import dataclass
from engine.policies.cache import load_store
from engine.service.personal import personal_paths


@dataclass
class Snapshot:
    engine: Engine
    loaded_at: float
    warnings: int = 0
    _evaluators: dict = field(default_factory=dict)
    _personal: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def store(self):
        return self.engine.store

    def evaluator(self, policy: str, known_on: date | None, explain: bool) -> Evaluator:
        """engine.evaluator, kept: compiling a policy once serves every request. Raises as it does."""
        key = (policy, known_on, explain)
        evaluator = self._evaluators.get(key)
        if evaluator is None:
            evaluator = self.engine.evaluator(policy, Selection(known_on=known_on), explain=explain, outputs=explain)
            with self._lock:
                if len(self._evaluators) >= 4096:  # many known_on dates: stay bounded
                    self._evaluators.clear()
                self._evaluators[key] = evaluator
        return evaluator

    def personal(self, evaluator: Evaluator) -> list[tuple]:
        """The personal fields of the input schema claims under this policy are read with."""
        name = self.store.input_schema_name(evaluator._any_version())
        paths = self._personal.get(name)
        if paths is None:
            schema = self.store.schemas.get(name) if name else None
            paths = self._personal[name] = personal_paths(schema.schema) if schema else []
        return paths


def errors_of(engine: Engine) -> list[Diagnostic]:
    return [d for d in engine.check(date.today()) if d.severity == "error"]


class Policies:
    """The current snapshot and the outcome of the last reload."""

    def __init__(self, root: Path, schemas: Path | None):
        self.root = Path(root)
        self.schemas = Path(schemas) if schemas else None
        self.current: Snapshot = self._read()
        self.startup_errors = errors_of(self.current.engine)
        self.reload_errors: list[Diagnostic] = []  # of the last reload that was refused
        self.reloads = 0
        self._reloading = threading.Lock()

    def _read(self) -> Snapshot:
        engine = Engine(load_store(self.root, self.schemas))
        return Snapshot(engine, time.time())

    def reload(self) -> list[Diagnostic]:
        """Read and check the folder; swap it in when it has no error. Returns the errors (none: swapped)."""
        with self._reloading:
            snapshot = self._read()
            errors = errors_of(snapshot.engine)
            if errors:
                self.reload_errors = errors
                return errors
            self.current = snapshot  # one assignment: a request sees the old snapshot or the new, never a mix
            self.startup_errors = []
            self.reload_errors = []
            self.reloads += 1
            return []

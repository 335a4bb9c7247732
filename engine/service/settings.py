"""What `policy serve` was started with; handed to each worker process through the environment."""
from __future__ import annotations

import json
import os
from dataclasses import asdict

from engine.core.records import dataclass

ENVIRONMENT_VARIABLE = "POLICY_SERVE_SETTINGS"


@dataclass(frozen=True)
class Settings:
    policies: str = "policies"
    schemas: str | None = None
    database: str | None = None  # None: engine.db.location.default_url()
    tokens: str | None = None  # None: no tokens, loopback only, every caller has every role
    personal: str = "mask"  # keep | mask | hash (engine.service.personal)
    personal_key: str | None = None  # file holding the key for hash
    log: bool = True  # False only for measuring what logging costs (bench/)
    workers: int = 1
    session_key: str | None = None  # signs the web pages' session cookies; None: a new key per process
    database_seconds: float = 30.0  # the longest a request waits for the database (engine.service.deadline)

    def to_environment(self) -> None:
        os.environ[ENVIRONMENT_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(**json.loads(os.environ.get(ENVIRONMENT_VARIABLE, "{}")))

"""Where the embedded database lives, without importing SQLAlchemy (the CLI's help text names it at start-up)."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_sqlite_path() -> Path:
    return Path(platformdirs.user_data_dir("policy-engine")) / "decisions.sqlite3"


def default_url() -> str:
    """$POLICY_DATABASE, else an SQLite file in the user's data folder (created when first used)."""
    if os.environ.get("POLICY_DATABASE"):
        return os.environ["POLICY_DATABASE"]
    return f"sqlite:///{default_sqlite_path()}"

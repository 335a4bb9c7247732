"""Start-up cost: a command that decides claims must not pay for the service's libraries (issue 12, cold start).

Checked by what a fresh interpreter has imported, never by timing.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

SERVICE_ONLY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "psycopg")


@pytest.mark.parametrize("module", ["engine.cli.main", "engine.api"])
def test_the_command_line_and_the_api_import_no_service_library(module):
    probe = (f"import sys, {module}; "
             f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVICE_ONLY!r}))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"importing {module} loads {loaded}"

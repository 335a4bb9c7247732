"""Start-up cost: a command that decides claims must not pay for the service's libraries (issue 12, cold start).

Checked by what a fresh interpreter has imported, never by timing.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_ONLY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "psycopg")


@pytest.mark.parametrize("module", ["engine.cli.main", "engine.api"])
def test_the_command_line_and_the_api_import_no_service_library(module):
    probe = (f"import sys, {module}; "
             f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVICE_ONLY!r}))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"importing {module} loads {loaded}"


def test_every_command_is_found_in_the_module_the_group_names():
    import importlib

    from engine.cli.main import COMMAND_MODULES

    found = {command.name: name for name in set(COMMAND_MODULES.values())
             for command in importlib.import_module(f"engine.cli.{name}").COMMANDS}
    assert found == COMMAND_MODULES


# What a warm one-claim `evaluate` has no use for: the other commands' modules, and libraries only a cold start
# (parsing YAML expressions, validating policy files, hashing the engine's source), another command or --jobs needs.
# (difflib is not among them: click imports it whenever a short option such as -q is parsed.)
# (stdnum is imported when a resident identity number is first read; this claim gives none.)
NOT_ON_A_WARM_EVALUATE = ("engine.cli.officers", "engine.cli.authoring", "engine.cli.auditors", "engine.cli.service",
                          "engine.cli.ledger", "stdnum", "lark", "jsonschema", "importlib.metadata", "multiprocessing",
                          "platformdirs", "tempfile", "yaml")


def test_a_warm_one_claim_evaluate_imports_only_what_it_needs(tmp_path):
    fixtures = Path(__file__).parent / "fixtures"
    claim = tmp_path / "claim.json"
    claim.write_text((fixtures / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    args = ["--policies", str(fixtures / "store"), "--schemas", str(fixtures / "schemas"), "evaluate", str(claim),
            "--policy", "jinhua/digital-engineer-subsidy", "--format", "json", "-q"]
    probe = (f"import sys, contextlib, io, engine.cli.main as m\n"
             f"with contextlib.redirect_stdout(io.StringIO()): m.main({args!r})\n"
             f"print(' '.join(sorted(n for n in {NOT_ON_A_WARM_EVALUATE!r} if n in sys.modules)))")
    env = {**os.environ, "POLICY_CACHE": "1", "POLICY_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, check=True)  # fills the cache
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == [], f"a warm one-claim evaluate imports {loaded}"


def test_reading_a_resident_id_imports_stdnum_without_what_it_never_uses():
    probe = ("import sys; from engine.language.builtins import resident_id_valid\n"
             "assert resident_id_valid('11010519491231002X') and not resident_id_valid('110105194912310021')\n"
             "print(' '.join(n for n in ('pkgutil', 'pydoc', 'ssl') if n in sys.modules))\n"
             "import ssl, stdnum.util\n"
             "assert type(sys.modules['ssl']) is type(sys)  # whoever imports it later gets the real module\n"
             "assert stdnum.util.ssl.CERT_NONE == ssl.CERT_NONE\n"
             "assert stdnum.util.pydoc.splitdoc('a\\n\\nb') == ('a', 'b')")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"reading a resident id imports {loaded}"

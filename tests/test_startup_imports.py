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
                          "platformdirs", "tempfile", "yaml",
                          # OpenSSL (the interpreter's own SHA-256 does), and what jsonschema-rs imports for its
                          # build time (engine/core/lightimport.py)
                          "hashlib", "_hashlib", "email.utils", "socket")


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


def test_importing_jsonschema_rs_spares_email_utils_and_leaves_no_stand_in():
    probe = ("import sys; from engine.core import lightimport\n"
             "rs = lightimport.jsonschema_rs()\n"
             "assert rs.validator_for({'format': 'email'}, validate_formats=True).is_valid('a@example.org')\n"
             "assert not rs.validator_for({'format': 'email'}, validate_formats=True).is_valid('not an address')\n"
             "print(' '.join(n for n in ('email.utils', 'socket') if n in sys.modules))\n"
             "import email.utils\n"
             "assert type(sys.modules['email.utils']) is type(sys)\n"
             "assert email.utils.formataddr(('a', 'b@c')) == 'a <b@c>'")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"importing jsonschema-rs imports {loaded}"


@pytest.mark.parametrize("text", [
    "Tue, 27 Oct 2026 10:17:51 +0000", "Mon, 29 Feb 2016 23:59:59 -0830", "Sun, 01 Jan 2006 00:00:00 +1400",
    "Sat, 31 Dec 2022 12:00:00 -0000",  # no zone known: a naive time, as the real function gives
    "27 Oct 2026 10:17:51 GMT", "Tue, 27 Oct 2026 10:17 +0000",  # other forms: the real function's answer
])
def test_the_stand_in_parsedate_gives_what_email_utils_gives(text):
    import email.utils

    from engine.core.lightimport import _parsedate_to_datetime

    mine, real = _parsedate_to_datetime(text), email.utils.parsedate_to_datetime(text)
    assert (mine, mine.tzinfo) == (real, real.tzinfo)


def test_the_sha256_of_start_up_is_hashlib_s():
    import hashlib

    from engine.core.lightimport import sha256

    for data in (b"", b"policy", bytes(range(256)) * 1000):
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("collector", ["enabled", "disabled"])
def test_the_console_script_leaves_the_garbage_collector_as_it_found_it(collector):
    # the collector is paused while the command's modules are imported, and only then
    probe = ("import contextlib, gc, io, sys\n"
             f"gc.enable() if {collector == 'enabled'} else gc.disable()\n"
             "sys.argv = ['policy', 'list', '--policies', 'nowhere']\n"
             "from engine.cli import run\n"
             "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
             "    code = run()\n"
             "print(code, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == str(collector == "enabled"), out

"""The package as a user gets it: sdist and wheel built, the wheel installed into a new virtual environment,
and the `policy` command run from a folder outside the checkout on a copy of the policies."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
CLAIM = ROOT / "examples" / "eligible-blockchain-junior.yaml"

pytestmark = pytest.mark.slow


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # Without build isolation: setuptools comes from this environment, so building needs no network. The wheel
    # is built from the sdist, as `python -m build` does, so both carry what they must.
    built = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (found,) = dist.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new environment holding the wheel. Its dependencies are this environment's (a .pth file names its
    site-packages after the new one's own), so installing needs no network and the package under test is the
    wheel's, never the checkout's."""
    env = tmp_path_factory.mktemp("venv")
    made = _run([sys.executable, "-m", "venv", "--without-pip", env])
    assert made.returncode == 0, made.stderr
    python = env / "bin" / "python"
    installed = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                      "--disable-pip-version-check", "-q", wheel])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return env


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder far from the checkout holding a copy of the policies and their input schemas."""
    work = tmp_path / "office"
    shutil.copytree(ROOT / "policies", work / "policies")
    shutil.copytree(ROOT / "schemas", work / "schemas")
    shutil.copy(CLAIM, tmp_path / "claim.yaml")
    return work


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICY_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "POLICY_CACHE_DIR": str(tmp_path / "cache"), **extra}


def test_the_wheel_holds_the_engine_and_its_own_schemas_and_no_other_top_level_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"engine", wheel.name.split("-")[0] + "-" +
                                                wheel.name.split("-")[1] + ".dist-info"}
    for data in ("engine/schemas/policy.schema.json", "engine/schemas/decision.schema.json",
                 "engine/language/grammar.lark", "engine/py.typed", "engine/COMMIT"):
        assert data in names
    assert not any(n.startswith("schemas/") or n.startswith("policies/") for n in names)


def test_version_names_the_package_and_the_commit_it_was_built_from(venv, tmp_path):
    done = _run([venv / "bin" / "policy", "--version"], cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "policy-engine 0.1.0"
    if (ROOT / ".git").exists():
        head = _run(["git", "-C", ROOT, "rev-parse", "HEAD"]).stdout.strip()
        assert second == f"commit {head} (recorded when the package was built)"
    else:
        assert second.startswith("commit ")


def test_the_installed_engine_is_the_wheels(venv, tmp_path):
    done = _run([venv / "bin" / "python", "-c", "import engine, engine.api; print(engine.__file__)"],
                cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(venv)


@pytest.mark.parametrize("how", ["--policies", "POLICY_DIR", "current folder"])
def test_check_and_evaluate_find_the_policies_each_way(venv, outside, tmp_path, how):
    policy = venv / "bin" / "policy"
    claim = tmp_path / "claim.yaml"
    if how == "--policies":
        cwd, env, given = tmp_path, _env(tmp_path), ["--policies", outside / "policies"]
    elif how == "POLICY_DIR":
        cwd, env, given = tmp_path, _env(tmp_path, POLICY_DIR=str(outside / "policies")), []
    else:
        cwd, env, given = outside, _env(tmp_path), []
    checked = _run([policy, *given, "check"], cwd=cwd, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stderr.startswith("0 errors, 0 warnings in ")
    decided = _run([policy, *given, "evaluate", claim, "--policy", POLICY, "--format", "json"], cwd=cwd, env=env)
    assert decided.returncode == 0, decided.stdout + decided.stderr
    decision = json.loads(decided.stdout)
    assert decision["policy"]["id"] == POLICY and decision["eligible"] is True

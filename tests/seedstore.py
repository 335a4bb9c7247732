"""The seed policies as they are pinned for the tests that are about them: a copy of exactly these version files
(and their cases files) from policies/, so that adding any file under policies/ — a new version of a seed policy,
another city — changes nothing these tests see. The copy is made once per process."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_VERSIONS = ("china/retirement-age/1978-06-02", "china/retirement-age/2025-01-01",
                 "zhejiang/digital-engineer/2023-09-16", "jinhua/digital-engineer-subsidy/2024-05-01")


def seed_only(where: Path) -> Path:
    """The seed versions, their cases files and the schemas copied to where/policies and where/schemas."""
    for name in SEED_VERSIONS:
        for suffix in (".yaml", ".cases.yaml"):
            source = ROOT / "policies" / (name + suffix)
            if source.exists():
                (where / "policies" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, where / "policies" / (name + suffix))
    shutil.copytree(ROOT / "schemas", where / "schemas", dirs_exist_ok=True)
    return where / "policies"


_HOME = Path(tempfile.mkdtemp(prefix="seed-policies-"))
atexit.register(shutil.rmtree, _HOME, True)
SEED_HOME = _HOME  # holds policies/ and schemas/: a command run here with `--policies policies` sees the seed
SEED_POLICIES = seed_only(_HOME)
SEED_SCHEMAS = _HOME / "schemas"

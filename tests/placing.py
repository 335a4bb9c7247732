"""Where a test writes a policy file: policies/ID/VERSION.yaml, as the store asks (issue 18), with the id and
version read from the text itself. A text too broken to say them goes to unnamed/policy.yaml."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

# libyaml's loader where PyYAML has it (only the id and version are read here; the engine reads the file itself)
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def policy_path(policies: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        data = yaml.load(text, Loader=SafeLoader)
    except Exception:  # a test's broken text: fall back to the words it starts with
        data = None
    if isinstance(data, dict) and isinstance(data.get("policy"), str) and isinstance(data.get("version"), str):
        path = Path(policies) / data["policy"] / f"{data['version']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    pid = re.search(r"^policy:[ \t]*[\"']?([^\"'\s#]+)", text, re.M)
    version = re.search(r"^version:[ \t]*[\"']?([^\"'\s#]+)", text, re.M)
    if pid and version:
        path = Path(policies) / pid.group(1) / f"{version.group(1)}.yaml"
    else:
        path = Path(policies) / "unnamed" / "policy.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

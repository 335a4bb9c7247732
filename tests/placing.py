"""Where a test writes a policy file: policies/ID/VERSION.yaml, as the store asks (issue 18), with the id and
version read from the text itself. A text too broken to say them goes to unnamed/policy.yaml."""
from __future__ import annotations

import json
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


def policy_text(pid: str = "test/policy", *, version: str = "1", effective: str = "2020-01-01",
                issued_on: str = "2020-01-01", schema: str | None = "t.schema.json", tables: dict | None = None,
                definitions: dict | None = None, rules: list | None = None, outputs: dict | None = None,
                decision: str | None = None, top: str = "") -> str:
    """A small test policy's text: one clause `c`, the input schema `schema`, and each table, definition, rule (a
    `require` text, or a dict with `when` and `require`) and output on its own line(s); `top` goes after the input."""
    lines = [f"policy: {pid}", f'version: "{version}"', "title: T", "effective:", f"  from: {effective}",
             f"issued_on: {issued_on}", "source:", "  number: N", "  title: T", "  issuers: [X]", "  clauses:",
             "    c: text", "not_computable:", "  - {clause: c, reason: r}"]
    if schema:
        lines += ["input:", f"  schema: {schema}"]
    if top:
        lines += top.strip("\n").split("\n")
    if tables:
        lines.append("tables:")
        lines += [f"  {name}: {json.dumps(t, ensure_ascii=False)}" for name, t in tables.items()]
    if definitions:
        lines.append("definitions:")
        lines += [f"  {name}: {json.dumps(d, ensure_ascii=False)}" for name, d in definitions.items()]
    if rules:
        lines.append("rules:")
        for i, rule in enumerate(rules):
            rule = {"require": rule} if isinstance(rule, str) else rule
            lines += [f"  - id: r{i}", "    clause: c"]
            if "when" in rule:
                lines.append(f"    when: {json.dumps(rule['when'], ensure_ascii=False)}")
            lines += [f"    require: {json.dumps(rule['require'], ensure_ascii=False)}",
                      "    message: {pass: ok, fail: refused}"]
    if outputs:
        lines.append("outputs:")
        for name, expr in outputs.items():
            lines += [f"  {name}:", "    clause: c", f"    expr: {json.dumps(expr, ensure_ascii=False)}"]
    if decision:
        lines += ["decision:", "  clause: c", "  currency: CNY",
                  f"  amount: {json.dumps(decision, ensure_ascii=False)}"]
    return "\n".join(lines) + "\n"

"""A small policy store written for the authoring tests (fmt, new, test, the language server): one grant
policy with a table, two rules, an output and an amount, its input schema and example cases. Fictional."""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "grant-claim.schema.json",
    "x-claim-id": "claim_id",
    "x-decision-date": "applied_on",
    "type": "object",
    "required": ["claim_id", "applied_on", "person"],
    "additionalProperties": False,
    "properties": {
        "claim_id": {"type": "string"},
        "applied_on": {"type": "string", "format": "date"},
        "person": {
            "type": "object", "required": ["age", "level"], "additionalProperties": False,
            "properties": {"age": {"type": "integer", "description": "Age in whole years."},
                           "level": {"type": "string", "enum": ["junior", "senior"]}},
        },
    },
}

POLICY = """\
# 虚构示例 / fictional demonstration policy
policy: demo/grant
version: "2024-01-01"
title: 示例补贴
effective:
  from: 2024-01-01
issued_on: 2023-12-01
source:
  number: 示例〔2023〕1号
  title: 示例补贴通知
  issuers: [示例局]
  clauses:
    一: 年满十八周岁。
    二: 补贴标准见附表。
    三: 本通知自 2024 年 1 月 1 日起施行。
input:
  schema: grant-claim.schema.json
tables:
  amounts:
    clause: 二
    key: [level]
    columns: {level: string, amount: money}
    rows:
      - [junior, 100]
      - [senior, 300]
definitions:
  adult:
    clause: 一
    expr: person.age >= 18
rules:
  - id: is_adult
    clause: 一
    require: adult
    message:
      pass: 已满十八周岁
      fail: 未满十八周岁
  - id: level_known
    clause: 二
    require: person.level in amounts
    message: {pass: 等级在附表中, fail: 等级不在附表中}
outputs:
  level_amount:
    clause: 二
    expr: amounts[person.level].amount
decision:
  clause: 二
  amount: amounts[person.level].amount
  currency: CNY
not_computable:
  - {clause: 三, reason: 以 effective.from 表示。}
"""

CASES = """\
policy: demo/grant@2024-01-01
base:
  claim_id: C-1
  applied_on: 2024-02-01
  person: {age: 30, level: junior}
cases:
  - name: adult junior
    expect: {eligible: true, amount: "100"}
  - name: minor junior
    claim: {person: {age: 17}}
    expect: {eligible: false, failed_rules: [is_adult]}
  - name: adult junior, wrongly expected senior amount
    expect: {eligible: true, amount: "300"}
"""


def write_store(root: Path) -> Path:
    """policies/ and schemas/ under root; returns the policies folder."""
    policies = root / "policies"
    folder = policies / "demo" / "grant"
    folder.mkdir(parents=True)
    (folder / "2024-01-01.yaml").write_text(POLICY, encoding="utf-8")
    (folder / "2024-01-01.cases.yaml").write_text(CASES, encoding="utf-8")
    (root / "schemas").mkdir()
    (root / "schemas" / "grant-claim.schema.json").write_text(json.dumps(SCHEMA, indent=1), encoding="utf-8")
    return policies

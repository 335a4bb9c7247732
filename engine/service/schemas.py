"""Schemas the OpenAPI document states: requests, and decisions as engine/schemas/decision.schema.json
defines them, each with the decision_id it is logged under."""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from engine.service.errors import ERROR_SCHEMA

DECISION_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "decision.schema.json"
DATE = {"type": ["string", "null"], "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "YYYY-MM-DD"}

EVALUATE_PROPERTIES: dict = {
        "policy": {"type": "string", "minLength": 1, "description": "ID, or ID@VERSION to pin a version."},
        "claim": {"type": "object", "description": "The claim's facts, as the policy's input schema describes them."},
        "as_of": DATE | {"description": "Decide on this date instead of the claim's own (--as-of)."},
        "known_on": DATE | {"description": "Use only versions issued on or before this date (--known-on)."},
        "explain": {"type": "boolean", "default": True,
                    "description": "true: the whole decision with the facts each rule read; false: the summary "
                                   "(`--summary`)."},
        "history": {"enum": ["claim", "ledger"], "default": "claim",
                    "description": "ledger: decide with the person's history from the grants ledger instead of the "
                                   "claim's (nothing is recorded; the decision's `history` says so). docs/ledger.md"},
}
EVALUATE_REQUEST = {"type": "object", "required": ["policy", "claim"], "additionalProperties": False,
                    "properties": EVALUATE_PROPERTIES}


@lru_cache(maxsize=1)
def components() -> dict:
    """Decision, its parts (Decision_stamp, ...), EvaluateRequest and Error, for components/schemas."""
    schema = json.loads(DECISION_SCHEMA.read_text(encoding="utf-8"))
    defs = copy.deepcopy(schema["$defs"])

    def rewrite(node):
        if isinstance(node, dict):
            return {k: ("#/components/schemas/Decision_" + v.rsplit("/", 1)[1] if k == "$ref" else rewrite(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    out = {f"Decision_{name}": rewrite(node) for name, node in defs.items()}
    for name in ("decision", "summary", "error"):
        part = out[f"Decision_{name}"]
        part["properties"] = {"decision_id": {"type": "string", "description": "Where the log keeps it."}} \
            | part["properties"]
        part["required"] = ["decision_id"] + list(part.get("required", []))
    out["Decision"] = {"description": schema["description"] + " Each carries the decision_id it is logged under.",
                       "oneOf": rewrite(schema["oneOf"])}
    out["EvaluateRequest"] = EVALUATE_REQUEST
    out["Error"] = ERROR_SCHEMA
    return out


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict, description: str = "") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict:
    # the OpenAPI document is in English, the same in every language
    words = {401: "No token, or one the service does not know", 403: "The token's role may not do this",
             404: "No such policy, version or decision", 413: "The body is larger than the limit the message names",
             422: "The request is malformed: the message names the field",
             503: "The decision log cannot be written, or the policy's files have errors"}
    return {status: json_body(ref("Error"), words[status]) for status in statuses}

"""Personal data in the decision log: fields an input schema marks `"x-personal": true` are masked (left
out of the logged claim) or hashed (left out, with a keyed hash noted beside it) when so configured.

The hash is an HMAC with the office's key: a resident ID number has few enough possible values that a
plain hash could be reversed by trying them all.
"""
from __future__ import annotations

import copy
import hashlib
import hmac

from engine.core.schemacheck import json_path

MODES = ("keep", "mask", "hash")
EACH = object()  # in a path: every item of a list


def personal_paths(schema: dict) -> list[tuple]:
    """Paths (keys, and EACH for list items) of every property the schema marks personal."""
    found: list[tuple] = []
    defs = schema.get("$defs") or schema.get("definitions") or {}

    def walk(node, path: tuple, seen: frozenset) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")) and ref not in seen:
            walk(defs.get(ref.rsplit("/", 1)[1]), path, seen | {ref})
        if node.get("x-personal") is True and path:
            found.append(path)
            return
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, path + (name,), seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + (EACH,), seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key) or []:
                walk(sub, path, seen)

    walk(schema, (), frozenset())
    return list(dict.fromkeys(found))


class Masker:
    def __init__(self, mode: str = "mask", key: bytes | None = None):
        if mode not in MODES:
            raise ValueError(f"personal data is kept, masked or hashed ({', '.join(MODES)}), not {mode!r}")
        if mode == "hash" and not key:
            raise ValueError("hashing personal data needs a key (--personal-key FILE)")
        self.mode = mode
        self.key = key

    def apply(self, claim, paths: list[tuple]) -> tuple[object, list[dict], list]:
        """The claim as it may be logged, a note per value taken out (its path and how), and the values taken out,
        so that what quotes them (a message saying a malformed ID number does not have the required form) can be
        cleared of them too (`scrubbed`)."""
        if self.mode == "keep" or not paths or not isinstance(claim, dict):
            return claim, [], []
        found = [(where, holder, key) for path in paths for where, holder, key in _locate(claim, path, ())]
        if not found:
            return claim, [], []
        logged = copy.deepcopy(claim)
        notes, values = [], []
        for where, _, _ in found:
            holder = logged
            for part in where[:-1]:
                holder = holder[part]
            value = holder.pop(where[-1])
            values.append(value)
            note = {"path": json_path(where), "how": "masked" if self.mode == "mask" else "hashed"}
            if self.key is not None:  # hash
                text = value if isinstance(value, str) else repr(value)
                note["hmac_sha256"] = hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()
            notes.append(note)
        return logged, notes, values


MASK = "***"  # what a message says in place of a personal value it quoted


def scrubbed(result, values: list):
    """The result's JSON with every personal value taken out of the claim also taken out where the result holds it
    (a fact a rule read) and of the messages that quote it (a value refused as malformed is quoted in full). A
    value of fewer than two characters, or a number of fewer than four digits, identifies nobody and is left: it
    would blank unrelated text."""
    texts = sorted({text for text in (_text_of(v) for v in values) if text}, key=len, reverse=True)
    if not texts:
        return result

    def clear(node, key=None):
        if isinstance(node, dict):
            return {k: v if k in _IDENTITY else clear(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [clear(item, key) for item in node]
        if isinstance(node, str) and node in texts:  # the value itself (a fact a rule read)
            return MASK
        if isinstance(node, str) and key == "message":  # quoted in words
            for text in texts:
                node = node.replace(text, MASK)
        return node

    return clear(result)


# what names the decision rather than quotes the claim: kept, or the record could not be matched and verified (a
# claim id that happens to be the person's ID number is logged in its own column anyway)
_IDENTITY = frozenset(("claim_id", "policy", "references", "combined_digest", "decision_date", "known_on", "currency",
                       "code", "path", "location", "policy_id", "nearest", "out_of_force"))


def _text_of(value) -> str | None:
    if isinstance(value, str):
        return value if len(value) >= 2 else None
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if len(text.strip("-").replace(".", "")) >= 4 else None


def _locate(node, path: tuple, where: tuple):
    """(concrete path, holder, key) of each value at `path` that the claim has."""
    head, rest = path[0], path[1:]
    if head is EACH:
        if isinstance(node, list):
            for i, item in enumerate(node):
                if rest:
                    yield from _locate(item, rest, where + (i,))
        return
    if not isinstance(node, dict) or head not in node:
        return
    if not rest:
        yield where + (head,), node, head
    else:
        yield from _locate(node[head], rest, where + (head,))

"""The long explanation of every error code, for `policy explain CODE`: what the code means and how to put it
right, in 简体中文 and English, with a wrong and a right example.

The texts live in explanations.yaml beside this module, keyed by the codes of the registry (errors.py), so the
registry stays a short list that many changes can add to without touching each other's words. Each entry says
how its examples are reproduced (`check:`), and tests/test_explanations.py holds every example to it: the
wrong one really draws the code, the right one does not. An entry whose code cannot be drawn from a snippet
says why (`no_example:`).
"""
from __future__ import annotations

from dataclasses import field
from functools import cache
from pathlib import Path

import yaml

from engine.core.i18n import language
from engine.core.records import dataclass

FILE = Path(__file__).resolve().parent / "explanations.yaml"

# How an entry's examples are reproduced (tests/test_explanations.py):
#   policy  a part of a policy file, laid over the demonstration policy (mappings merged, other values replaced)
#   file    the whole policy file
#   store   several files, each after a line `# file: PATH` (PATH under the folder holding policies/ and schemas/)
#   claim   a claim file decided under the demonstration policy
#   decide  a part of a policy file (as `policy`), then the demonstration claim decided under it
#   none    not reproducible from a snippet: `no_example` says why
CHECKS = ("policy", "file", "store", "claim", "decide", "none")


@dataclass(frozen=True)
class Explanation:
    code: str
    texts: dict  # language -> {"summary", "meaning", "fix"} (English has no summary: the registry's is English)
    check: str = "none"
    wrong: str = ""
    right: str = ""
    no_example: dict = field(default_factory=dict)  # language -> why the code has no example
    limits: dict = field(default_factory=dict)  # POLICY_LIMIT_* variables the examples are checked with

    def text(self, part: str, lang: str | None = None) -> str:
        """`part` (summary, meaning, fix) in `lang` (default: the chosen language), else in English."""
        words = self.texts.get(lang or language()) or {}
        return words.get(part) or (self.texts.get("en") or {}).get(part, "")

    def why_no_example(self, lang: str | None = None) -> str:
        return self.no_example.get(lang or language()) or self.no_example.get("en", "")


@cache
def explanations() -> dict[str, Explanation]:
    with FILE.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return {code: Explanation(code, {lang: dict(entry.get(lang) or {}) for lang in ("zh", "en")},
                              entry.get("check", "none"), _text(entry.get("wrong")), _text(entry.get("right")),
                              dict(entry.get("no_example") or {}), dict(entry.get("limits") or {}))
            for code, entry in data.items()}


def _text(value) -> str:
    return (value or "").rstrip("\n")


def explanation(code: str) -> Explanation | None:
    return explanations().get(code)

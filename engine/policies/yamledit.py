"""Comment-preserving YAML editing (ruamel.yaml round trip), for tools that rewrite officers' files.

Reading for decisions is yamlsource's job (safe, bounded, positions); this module only rewrites text an
officer keeps: comments, quotes, flow and block styles survive a load and a dump. Dates stay the text
written (as yamlsource reads them), so a date that is not one (2024-02-30) is kept, not refused, and
`null` stays `null`.
"""
from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as DoubleQuoted

WIDTH = 4096  # never let the emitter wrap a line by itself: folding is the formatter's decision

__all__ = ["CommentedMap", "CommentedSeq", "DoubleQuoted", "date_text", "load", "dump"]


class _DateText(str):
    """A plain date as written: written back plain, never converted."""


def date_text(text: str) -> str:
    """A date written plain (2024-05-01), as the officer would write it."""
    return _DateText(text)


def _yaml() -> YAML:
    y = YAML()  # round trip
    y.preserve_quotes = True
    y.width = WIDTH
    y.indent(mapping=2, sequence=4, offset=2)
    y.constructor.add_constructor("tag:yaml.org,2002:timestamp",
                                  lambda constructor, node: _DateText(constructor.construct_scalar(node)))
    y.representer.add_representer(_DateText, lambda r, data: r.represent_scalar("tag:yaml.org,2002:timestamp",
                                                                                str(data)))
    y.representer.add_representer(type(None), lambda r, data: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def load(text: str):
    """The document as ruamel's commented data (CommentedMap, CommentedSeq, styled strings)."""
    return _yaml().load(text)


def dump(data) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()

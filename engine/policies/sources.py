"""Several source documents in one version: every citation names its document.

A version usually encodes one document, and its clause ids (四.(四), 附件2) are that document's. A version
that draws on several — an amendment (its own notice plus the one it amends), or a file listing more
documents under `sources:` — cites clauses of different documents that may share an id (both have a 一).
Such a version's citations are written out in full, `浙人社发〔2023〕36号 四.(四)`, wherever they are shown:
decisions, `policy show`, `policy diff`, diagnostics. A version of one document is shown as before.
"""
from __future__ import annotations

import copy

from engine.policies.policyfile import PolicyVersion


def cite(number: str, clause: str) -> str:
    return f"{number} {clause}" if number else clause


def _qualified(owner: PolicyVersion | None, clauses: tuple) -> tuple:
    docs = owner.clause_docs if owner is not None else {}
    return tuple(cite(docs[c], c) if c in docs else c for c in clauses)


def _item(item, owner_default: PolicyVersion):
    if item is None:
        return None
    new = _qualified(item.owner or owner_default, item.clauses)
    if new == tuple(item.clauses):
        return item
    qualified = copy.copy(item)  # the version that wrote it keeps its own, unqualified
    qualified.clauses = new
    return qualified


def qualify(pv: PolicyVersion) -> None:
    """Write out every citation of `pv` with its document (in place; items of other versions are copied)."""
    if pv.own_clauses is None:
        pv.own_clauses = dict(pv.clauses)  # the ids as written, for coverage and the editor
    pv.clauses = {cite(d.get("number", ""), cid): text for d in pv.documents
                  for cid, text in (d.get("clauses") if isinstance(d.get("clauses"), dict) else {}).items()
                  if isinstance(text, str)}
    pv.tables = {name: _item(t, pv) for name, t in pv.tables.items()}
    pv.definitions = {name: _item(d, pv) for name, d in pv.definitions.items()}
    pv.outputs = {name: _item(o, pv) for name, o in pv.outputs.items()}
    pv.rules = [_item(r, pv) for r in pv.rules]
    pv.notes = [_item(n, pv) for n in pv.notes]
    pv.decision = _item(pv.decision, pv)
    pv.effective_clauses = _qualified(pv, pv.effective_clauses)


def qualified_view(pv: PolicyVersion) -> PolicyVersion:
    """`pv` with its citations written out, leaving `pv` itself as it is (to compare it with a version of several
    documents)."""
    if len(pv.documents) > 1:
        return pv
    view = copy.copy(pv)
    view.own_clauses = None
    qualify(view)
    return view

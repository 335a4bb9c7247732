"""Warnings at what departs from the conventions of a policy folder without being wrong: a version labelled with a
date that is not the day it takes effect (`ID@2024-05-01` read by an auditor as "in force from 2024-05-01")."""
from __future__ import annotations

from engine.core.diagnostics import Diagnostic, cited
from engine.core.i18n import msg
from engine.core.isodate import parse_date


def label_departures(version) -> list[Diagnostic]:
    """A warning when `version`'s label is a calendar date other than its `effective.from` (often a copied file
    whose label or date was left as it was); a label that is not a date is the officer's choice."""
    try:
        labelled = parse_date(version.version)
    except (TypeError, ValueError):
        return []
    if labelled == version.effective_from:
        return []
    where = version.location("version")
    first = str(version.effective_from)
    return [Diagnostic(
        "version.label", msg("{version} is labelled {label} but takes effect on {day}: by convention a version is "
                             "labelled with its first day", version=version.key, label=version.version, day=first),
        where, severity="warning", clause=cited(version.effective_clauses),
        source_line=version.document.line_text(where.line) if version.document else None,
        hint=msg("if it takes effect on {day}, label it {day} (and name its file {day}.yaml); if on {label}, correct "
                 "effective.from", day=first, label=version.version))]

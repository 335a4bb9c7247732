"""Auditors' and officers' tools over decided policies: show, diff, impact, verify, example cases."""

"""Web pages for auditors and officers, served by the decision service under `/` (see docs/ui.md)."""

"""Shared by every stage: diagnostics and their locations, calendar dates, limits, JSON Schema wording."""

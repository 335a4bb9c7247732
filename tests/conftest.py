"""Shared test set-up. Tests that start processes or search with hypothesis are marked `slow`, so that
`./dev test -m "not slow"` is the quick inner loop and `./dev test` runs everything."""
from __future__ import annotations

import inspect

import pytest

# Whole modules whose every test starts processes, builds packages or searches with hypothesis.
SLOW_MODULES = {"test_bench_agreement", "test_hostile_memory", "test_hostile_properties",
                "test_language_properties", "test_packaging"}
# A test whose own body calls one of these starts a process.
PROCESS_CALLS = ("run_process(", "subprocess.", "_run_json(", "run_cli(", "_policy_check(", "limited(")


def _starts_processes(function) -> bool:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return any(call in source for call in PROCESS_CALLS)


def pytest_collection_modifyitems(items):
    for item in items:
        function = getattr(item, "function", None)
        if (item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES
                or getattr(function, "is_hypothesis_test", False)
                or (function is not None and _starts_processes(function))):
            item.add_marker(pytest.mark.slow)

"""Shared test set-up. Tests that start processes, search with hypothesis or compare two ways of deciding thousands
of claims are marked `slow`, so that `./dev test -m "not slow"` is the quick inner loop and `./dev test` runs
everything.

A test left unmarked that starts a process anyway (a subprocess, or a worker of --jobs) fails in the quick loop,
saying so: the quick loop stays quick without anyone measuring it. And the longest modules run first, so that under
pytest-xdist none of them is left to the end of one worker while the other waits.

The engine's caches go to one folder of the run (never the user's), and an xdist worker ends without the
interpreter's teardown once its reports are sent."""
from __future__ import annotations

import atexit
import gc
import multiprocessing.process
import os
import subprocess
import sys

import pytest

# Whole modules whose every test starts processes (servers, browsers, clusters, terminals), builds packages or
# searches with hypothesis, and the differential ones that decide thousands of claims two ways (columnar and per
# claim, Parquet and JSON Lines, every JSON layout, every benchmark claim's bytes). The quick loop does not even
# import them.
SLOW_MODULES = {"test_bench_agreement", "test_hostile_memory", "test_hostile_properties", "test_hostile_trees",
                "test_language_properties", "test_packaging", "test_codegen_safety",
                "test_new_files_keep_the_suite_green", "test_service", "test_service_faults", "test_service_openapi",
                "test_service_running", "test_hostile_service", "test_ledger_service", "test_web_browser",
                "test_authoring_watch", "test_progress_terminal", "test_columnar", "test_parquet",
                "test_claims_formats", "test_decision_bytes", "test_impact_columnar"}
QUICK_LOOP = "not slow"
# A test whose own body (or a function or lambda inside it) names one of these starts a process.
PROCESS_NAMES = frozenset({"run_process", "subprocess", "limited"})
# The modules that take longest (real clusters, servers, browsers, big generated inputs, property searches), longest
# first by their time in a whole run (2026-12-03), then the longest of the quick loop's: they start first, the short
# ones fill in around them, so that neither worker is left with a long module at the end.
LONG_FIRST = ["test_distributed", "test_web_browser", "test_hostile_trees", "test_service", "test_ledger_service",
              "test_parquet", "test_language_properties", "test_hostile_properties", "test_service_faults",
              "test_new_files_keep_the_suite_green", "test_audit_commands", "test_hostile_inputs", "test_explanations",
              "test_impact_columnar", "test_service_running", "test_hostile_memory", "test_startup_cache",
              "test_packaging", "test_columnar", "test_bench_agreement", "test_parquet_output", "test_cases_survive",
              "test_cli_language", "test_output_parts", "test_policyfiles_faults", "test_limits", "test_messages",
              "test_ledger_cli", "test_policyfiles_loading", "test_authoring_fmt"]


def _starts_processes(function) -> bool:
    # The names a test's code objects use, not its source text: reading the source of two thousand tests cost
    # every xdist worker a second of collection.
    code = getattr(function, "__code__", None)
    pending = [code] if code is not None else []
    while pending:
        code = pending.pop()
        if not PROCESS_NAMES.isdisjoint(code.co_names):
            return True
        pending += [const for const in code.co_consts if hasattr(const, "co_names")]
    return False


def _module(item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1]


def pytest_ignore_collect(collection_path, config):
    if config.getoption("markexpr", "") == QUICK_LOOP and collection_path.stem in SLOW_MODULES:
        return True  # importing them (servers' and browsers' libraries) was most of the quick loop's collection
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        function = getattr(item, "function", None)
        if (_module(item) in SLOW_MODULES
                or getattr(function, "is_hypothesis_test", False)
                or (function is not None and _starts_processes(function))):
            item.add_marker(pytest.mark.slow)
    # A stable sort: within a module the order stays the file's (its module-scoped fixtures are set up once).
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item), len(LONG_FIRST)))


def pytest_configure(config):
    """Young garbage collections ten thousand allocations apart instead of 700. A run keeps hundreds of thousands of
    objects alive (modules, test items, the engine's caches of parsed trees and stores) and makes millions more:
    at Python's default each worker walked its whole heap in full collections several dozen times, a fifth of the
    quick loop's CPU. Garbage is still collected; the processes the tests start keep Python's default."""
    gc.set_threshold(10_000, 10, 10)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config):
    """A pytest-xdist worker ends here once it has sent its last report, after the exit handlers (temporary folders,
    coverage data): the interpreter's own teardown, which frees every object of the run one by one, cost each
    worker one to two seconds of CPU while the run waited for it. First of the hooks: pytest's own then collects
    garbage over the whole heap to look for unraisable exceptions, which no report could carry any more (half a
    second to a second of each worker's end)."""
    if hasattr(config, "workerinput"):
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@pytest.fixture(scope="session", autouse=True)
def _one_cache_folder_for_the_run(tmp_path_factory):
    """The engine's caches (the built parser, compiled code, stores) in one folder of the run's own, never the
    user's, unless a test chooses another: the `policy` processes the tests start find the parser and code built
    once, not each (the cost of a cold start, a third of a short command's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "policy-cache"))
        patch.delenv("POLICY_CACHE", raising=False)
        yield


@pytest.fixture(autouse=True)
def _limits_of_the_environment():
    """The command line reads POLICY_LIMIT_* on every run: a test that ran it under its own leaves the limits of the
    environment (restored by then) to the next test."""
    yield
    from engine.core import limits

    limits.refresh()


@pytest.fixture(autouse=True)
def _quick_tests_start_no_process(request, monkeypatch):
    """In a test not marked slow, starting a process is an error that says how to mark the test."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow (or its module in "
                             "SLOW_MODULES of tests/conftest.py), so that `./dev test -m \"not slow\"` stays quick")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)  # --jobs N's workers

"""Schemathesis against the running service's /openapi.json: generated requests, valid and not, never
get a 500, and every answer matches the status codes, media types and schemas the document states.
Bounded: a few examples per operation."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi import checks
from service_helpers import ThreadServer, copy_store

pytestmark = pytest.mark.slow  # real servers: seconds each to start


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx, value):
    return value.encode() if isinstance(value, str) else bytes(value)


@schemathesis.serializer("application/yaml")
def _yaml(ctx, value):
    return value.encode() if isinstance(value, str) else bytes(value)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    folder = tmp_path_factory.mktemp("openapi")
    policies, schemas = copy_store(folder)
    with ThreadServer(policies, schemas, f"sqlite:///{folder / 'log.sqlite3'}") as server:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")


CHECKS = [checks.status_code_conformance, checks.content_type_conformance, checks.response_schema_conformance]


def test_no_500_and_every_answer_as_documented(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14
    calls: list = []
    for operation in operations:
        examples(operation, calls)()
    assert {label for label, _ in calls} == {operation.label for operation in operations}
    assert not [c for c in calls if c[1] >= 500]


def examples(operation, calls: list):
    """A hypothesis test calling one operation with generated requests (the API's own checks, below)."""
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def call(case):
        response = case.call_and_validate(checks=CHECKS, excluded_checks=EXCLUDED, timeout=120)
        calls.append((operation.label, response.status_code))

    return call


# Checks of what the API means rather than of its document: that a well-formed request for an unknown policy
# is accepted, that every malformed one is refused... They guess, and the tests above check meaning.
EXCLUDED = [checks.positive_data_acceptance, checks.negative_data_rejection, checks.missing_required_header,
            checks.unsupported_method, checks.ignored_auth, checks.use_after_free, checks.ensure_resource_availability]

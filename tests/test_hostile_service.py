"""Hostile policy trees under the decision service (issue 18): the files that stop no command line stop no
request either. A real `policy serve` on loopback over a tree holding a named pipe, a 64 GiB sparse file, a
link out of the tree and a policy whose cost explodes: it starts, decides the other policies, refuses the
hostile one with its error, and checks a hostile draft without hanging (the client's timeout is the bound)."""
from __future__ import annotations

import json
import os

import httpx
import pytest
from service_helpers import ThreadServer, auth, copy_store
from test_hostile_trees import CITY, GOOD, small_policy

pytestmark = pytest.mark.slow  # a real server

DOUBLING = "definitions:\n" + "\n".join(["  d0: '[training.hours, 1]'"] + [f"  d{i + 1}: d{i} + d{i}"
                                                                          for i in range(40)]) \
           + "\noutputs:\n  n: {clause: c, expr: length(d40)}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-service")
    policies, schemas = copy_store(folder)
    city_folder = policies / "wenzhou" / "digital-engineer-subsidy"
    os.mkfifo(city_folder / "2025-06-01.yaml")
    with (city_folder / "2025-01-01.yaml").open("wb") as handle:
        handle.truncate(64 * 1024 ** 3)
    (city_folder / "2025-09-01.yaml").symlink_to("/etc/passwd")
    small_policy(folder.joinpath("tree"), "t/doubling", DOUBLING)  # written beside, moved in below
    (policies / "t").mkdir()
    (folder / "tree" / "policies" / "t" / "doubling").rename(policies / "t" / "doubling")
    with ThreadServer(policies, schemas, f"sqlite:///{folder / 'log.sqlite3'}") as running:
        yield running


# A hang is what these tests catch: the client's timeout fails the test (httpx.ReadTimeout) instead of waiting.
# Speed is not asserted here (it belongs in bench/), so the bound is generous for a loaded machine.
HANG = 120


def _evaluate(server, policy: str) -> httpx.Response:
    claim = json.loads(GOOD.read_text(encoding="utf-8"))
    return httpx.post(server.url + "/v1/evaluate", json={"policy": policy, "claim": claim},
                      headers=auth("developer"), timeout=HANG)


def test_the_other_policies_are_decided_beside_hostile_files(server):
    response = _evaluate(server, CITY)
    assert response.status_code == 200 and response.json()["amount"] == "2200", response.text
    assert "root:" not in response.text


def test_the_hostile_policy_is_refused_with_its_error_not_a_hang(server):
    response = _evaluate(server, "t/doubling")
    # documented in docs/service.md: a policy whose files have errors is 503, with the diagnostics of `check`
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "service.policy_has_errors"
    assert {d["code"] for d in error["diagnostics"]} == {"cost.too_high"}
    assert any("joining lists" in d.get("hint", "") for d in error["diagnostics"])  # the words of the real cause


def test_a_hostile_draft_is_checked_in_bounded_time(server):
    draft = ('policy: t/doubling\nversion: "2"\ntitle: T\neffective: {from: 2021-01-01}\nissued_on: 2021-01-01\n'
             "source: {number: N, title: T, issuers: [X], clauses: {c: text}}\n"
             "input: {schema: training-claim.schema.json}\n" + DOUBLING)
    response = httpx.post(server.url + "/v1/check", params={"path": "t/doubling/2.yaml"}, content=draft.encode(),
                          headers=auth("officer"), timeout=HANG)
    assert response.status_code == 200, response.text
    assert "cost.too_high" in response.text

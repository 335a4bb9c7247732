"""The decision service over HTTP: a real `policy serve` on a loopback port, its log in SQLite and in a
PostgreSQL server the tests start themselves. Answers are compared with the command line's own output."""
from __future__ import annotations

import json
import subprocess
import time

import orjson
import pytest
import sqlalchemy
from clirun import run_policy
from service_helpers import (
    FIXTURES,
    JINHUA,
    TOKENS,
    Postgres,
    ThreadServer,
    auth,
    copy_store,
    http,
    stream_batch,
    write_tokens,
)

pytestmark = pytest.mark.slow  # real servers: seconds each to start

CLAIMS = (FIXTURES / "claims.jsonl").read_bytes().splitlines()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="module")
def store(folder):
    return copy_store(folder)


@pytest.fixture(scope="module")
def postgres():
    with Postgres() as pg:
        yield pg


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, folder, store):
    """The service with tokens, its log in each database."""
    if request.param == "sqlite":
        database = f"sqlite:///{folder / 'log.sqlite3'}"
    else:
        database = request.getfixturevalue("postgres").url
    with ThreadServer(*store, database, tokens=write_tokens(folder)) as running:
        yield running


def cli(store, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The command line's answer, in this process (the server is the process these tests are about)."""
    return run_policy("--policies", store[0], "--schemas", store[1], *args, stdin=stdin)


def lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def evaluate(server, claim, role="developer", **fields):
    return http.post(server.url + "/v1/evaluate", json={"policy": JINHUA, "claim": claim} | fields,
                      headers=auth(role), timeout=30)


def without_id(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "decision_id"}


# -------------------------------------------------------------------------------------------------
# Deciding: the same JSON as `policy evaluate --format json`


@pytest.mark.parametrize("explain", [True, False])
def test_evaluate_answers_as_the_command_line_does(server, store, explain):
    args = ["evaluate", "-", "--policy", JINHUA, "--format", "json", "--quiet"] + ([] if explain else ["--summary"])
    expected = lines(cli(store, *args, stdin=b"\n".join(CLAIMS)).stdout)
    for claim, want in zip(CLAIMS[:12], expected[:12], strict=True):
        response = evaluate(server, json.loads(claim), explain=explain)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["decision_id"] and without_id(answer) == want


def test_a_claim_that_is_invalid_or_not_in_force_is_a_decided_outcome(server):
    invalid = evaluate(server, {"claim_id": "X-1", "applied_on": "2024-06-15"})
    assert invalid.status_code == 200
    assert invalid.json()["error"]["code"] == "claim.invalid" and invalid.json()["claim_id"] == "X-1"
    claim = json.loads(CLAIMS[0]) | {"applied_on": "2024-01-10"}  # before Jinhua's policy took effect
    early = evaluate(server, claim)
    assert early.status_code == 200 and early.json()["error"]["code"] == "policy.not_in_force"
    for answer in (invalid.json(), early.json()):
        logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}", headers=auth("auditor")).json()
        assert logged["result"] == without_id(answer)


def test_as_of_known_on_and_a_pinned_version(server):
    claim = json.loads(CLAIMS[0])
    answer = evaluate(server, claim | {"applied_on": "2023-01-01"}, as_of="2024-06-15", explain=False).json()
    assert answer["decision_date"] == "2024-06-15" and answer["eligible"] is True
    answer = evaluate(server, claim, known_on="2024-01-01", explain=False).json()
    assert answer["error"]["code"] == "policy.not_in_force" and answer["known_on"] == "2024-01-01"
    pinned = http.post(server.url + "/v1/evaluate", headers=auth("developer"),
                        json={"policy": JINHUA + "@2024-05-01", "claim": claim, "explain": False}).json()
    assert pinned["policy"]["version"] == "2024-05-01"


@pytest.mark.parametrize("body, field", [
    (b'{"policy": "jinhua/digital-engineer-subsidy"}', "claim"),
    (b'{"claim": {}}', "policy"),
    (b'{"policy": "jinhua/digital-engineer-subsidy", "claim": []}', "claim"),
    (b'{"policy": "jinhua/digital-engineer-subsidy", "claim": {}, "as_of": "2024-6-1"}', "as_of"),
    (b'{"policy": "jinhua/digital-engineer-subsidy", "claim": {}, "known_on": 20240601}', "known_on"),
    (b'{"policy": "jinhua/digital-engineer-subsidy", "claim": {}, "explain": "yes"}', "explain"),
    (b'{"policy": "jinhua/digital-engineer-subsidy", "claim": {}, "asof": "2024-06-01"}', "asof"),
    (b'{"policy": 7, "claim": {}}', "policy"),
    (b'{"policy": "a", "policy": "b", "claim": {}}', "body"),
    (b'not json', "body"),
    (b'[1, 2]', "body"),
])
def test_a_malformed_body_is_422_naming_the_field(server, body, field):
    response = http.post(server.url + "/v1/evaluate", content=body, headers=auth("developer"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_a_body_beyond_the_claim_limit_is_413(server):
    response = http.post(server.url + "/v1/evaluate", headers=auth("developer"), timeout=60,
                          content=b'{"policy": "p", "claim": {"x": "' + b"x" * (2 << 20) + b'"}}')
    assert response.status_code == 413
    # the limit as set and documented (1 MiB), not the size with the request's envelope added
    assert response.json()["error"]["message"] == \
        "the body is larger than 1,048,576 bytes (POLICY_LIMIT_CLAIM_LINE_BYTES)"


def test_unknown_policies_and_versions_are_404(server):
    assert evaluate(server, {}, policy="nowhere/at-all").status_code == 404
    response = http.post(server.url + "/v1/evaluate", headers=auth("developer"),
                          json={"policy": JINHUA + "@1999-01-01", "claim": {}})
    assert response.status_code == 404 and "has no version '1999-01-01'" in response.json()["error"]["message"]
    response = http.post(server.url + "/v1/evaluate", headers=auth("developer"),
                          json={"policy": "china/retirement-age", "claim": {}})
    assert response.status_code == 422 and response.json()["error"]["field"] == "policy"


def test_a_pin_left_empty_is_a_malformed_request_not_a_missing_policy(server):
    """`ID@` is refused as the command line refuses it (a usage error there, 422 here), naming the field."""
    for route, params, body in (("/v1/evaluate", {}, {"policy": JINHUA + "@", "claim": {}}),
                                ("/v1/evaluate:batch", {"policy": JINHUA + "@"}, None)):
        response = http.post(server.url + route, params=params, headers=auth("developer"),
                             **({"json": body} if body else {"content": b"{}\n"}))
        error = response.json()["error"]
        assert response.status_code == 422 and error["location"] == "policy", response.text
        assert "names no version after its @" in error["message"]
    for sides, side in (({"from": "@", "to": "2025-03-01"}, "from"), ({"from": "2024-06-01", "to": "@"}, "to")):
        response = http.get(server.url + "/v1/diff", params={"policy": "zhejiang/digital-engineer"} | sides,
                            headers=auth("developer"))
        error = response.json()["error"]
        assert response.status_code == 422 and error["location"] == side, response.text
        assert "names no version after its @ (write a date YYYY-MM-DD or @VERSION)" in error["message"]


def test_batch_streams_the_command_lines_in_order(server, store):
    expected = lines(cli(store, "evaluate", str(FIXTURES / "claims.jsonl"), "--policy", JINHUA, "--format", "json",
                         "--quiet").stdout)
    body = b"\n".join(CLAIMS) + b"\n\nnot json\n"
    response = http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA}, content=body,
                          headers=auth("developer"), timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
    got = lines(response.content)
    assert len(got) == len(CLAIMS) + 1
    for answer, want in zip(got[:-1], expected, strict=True):
        want = want | ({"error": want["error"] | {"location": answer["error"]["location"]}} if "error" in want else {})
        assert without_id(answer) == want
    assert got[-1]["error"]["code"] == "claim.json" and got[-1]["error"]["location"].startswith("<request>:32")
    ids = [a["decision_id"] for a in got]
    assert len(set(ids)) == len(ids)
    for decision_id in (ids[0], ids[-1]):  # the line that is not JSON is logged as received, and reproduces
        verified = http.post(f"{server.url}/v1/decisions/{decision_id}/verify", headers=auth("auditor")).json()
        assert verified["status"] == "reproduced", verified


@pytest.mark.parametrize("split", [None, 1, 2])
def test_a_batch_body_that_starts_with_a_byte_order_mark_loses_no_claim(server, split):
    """However the body arrives (the mark split across the first pieces, too), a BOM is no part of the first line."""
    body = b"\xef\xbb\xbf" + b"\n".join(CLAIMS[:3]) + b"\n"
    content = body if split is None else iter([body[:split], body[split:]])
    got = lines(http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA, "explain": "false"},
                          content=content, headers=auth("developer"), timeout=60).content)
    assert [g.get("claim_id") for g in got] == [json.loads(c)["claim_id"] for c in CLAIMS[:3]]
    assert not any("error" in g and g["error"]["code"] == "claim.json" for g in got)


def test_batch_cuts_lines_at_the_limit_as_the_command_line_does(server, store, monkeypatch, tmp_path):
    """A line as long as the limit, followed by a line feed, is too long, in a body as in a file; the last line,
    without one, may be as long as the limit."""
    from engine.core.limits import LIMITS  # the server runs in this process: it reads the limit at each request

    monkeypatch.setattr(LIMITS, "claim_line_bytes", len(CLAIMS[0]))
    body = CLAIMS[0] + b"\n" + CLAIMS[0]
    response = http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA}, content=body,
                          headers=auth("developer"), timeout=60)
    (tmp_path / "claims.jsonl").write_bytes(body)
    monkeypatch.setenv("POLICY_LIMIT_CLAIM_LINE_BYTES", str(len(CLAIMS[0])))
    expected = lines(cli(store, "evaluate", str(tmp_path / "claims.jsonl"), "--policy", JINHUA, "--format", "json",
                         "--quiet").stdout)
    got = lines(response.content)
    assert [a.get("error", {}).get("code") for a in got] == [e.get("error", {}).get("code") for e in expected] == [
        "claim.too_large", None]


def test_batch_refuses_before_streaming(server):
    response = http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA, "as_of": "soon"},
                          content=CLAIMS[0], headers=auth("developer"))
    assert response.status_code == 422 and response.json()["error"]["field"] == "as_of"
    response = http.post(server.url + "/v1/evaluate:batch", content=CLAIMS[0], headers=auth("developer"))
    assert response.status_code == 422 and response.json()["error"]["field"] == "policy"


def test_a_client_that_disconnects_stops_the_batch(server):
    """Claims are sent slowly, answers read as they come; the client goes away after ten; nothing more is
    decided, and nothing answered is missing from the log."""
    claim = json.loads(CLAIMS[0])
    marker = f"GONE-{time.time_ns()}"

    def slowly():
        for i in range(400):
            yield orjson.dumps(claim | {"claim_id": f"{marker}-{i}"}) + b"\n"
            time.sleep(0.05)

    answers = stream_batch(server.port, f"policy={JINHUA}&explain=false", slowly(), auth("developer"))
    for answered, (status, _) in enumerate(answers, 1):
        assert status == 200
        if answered == 10:
            break
    answers.close()  # the client goes away
    first = _settled_count(server, marker)
    time.sleep(0.5)  # ten more claims' time at the pace they were sent
    assert _count_logged(server, marker) == first  # nothing more is decided
    assert 10 <= first < 30


def _settled_count(server, marker: str) -> int:
    """The number of logged decisions of `marker` once two readings a fifth of a second apart agree."""
    before = -1
    for _ in range(300):
        now = _count_logged(server, marker)
        if now == before:
            return now
        before = now
        time.sleep(0.2)
    raise AssertionError(f"the log of {marker} still grows after a minute: {before}")


def _count_logged(server, marker: str) -> int:
    count, after = 0, None
    while True:
        page = http.get(server.url + "/v1/decisions", params={"policy": JINHUA, "limit": 1000} |
                         ({"after": after} if after else {}), headers=auth("auditor")).json()
        count += sum(1 for d in page["decisions"] if (d["claim_id"] or "").startswith(marker))
        if page["next"] is None:
            return count
        after = page["next"]


# -------------------------------------------------------------------------------------------------
# The log


def test_the_logged_record_holds_what_reproduces_the_decision(server):
    claim = json.loads(CLAIMS[0])
    answer = evaluate(server, claim).json()
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}", headers=auth("auditor")).json()
    assert logged["result"] == without_id(answer)
    assert logged["caller"]["role"] == "developer" and len(logged["caller"]["token"]) == 12
    assert TOKENS["developer"] not in json.dumps(logged)
    assert logged["policy"] == answer["policy"]
    versions = {v["id"]: v for v in logged["versions"]}
    assert versions[JINHUA]["role"] == "decides" and "zhejiang/digital-engineer" in versions
    assert all(v["digest"].startswith("sha256:") for v in logged["versions"])
    assert logged["combined_digest"] == answer["combined_digest"]
    assert logged["engine_version"] and logged["claim_digest"].startswith("sha256:")
    assert logged["request"] == {"policy": JINHUA, "as_of": None, "known_on": None, "explain": True}
    assert logged["claim"] == claim and logged["masked"] == [] and logged["outcome"] == "eligible"


def test_personal_fields_are_masked_in_the_log(server):
    claim = json.loads(CLAIMS[0])
    claim["applicant"]["id_number"] = "330702199003070011"
    answer = evaluate(server, claim).json()
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}", headers=auth("auditor")).json()
    assert "id_number" not in logged["claim"]["applicant"]
    assert logged["masked"] == [{"path": "applicant.id_number", "how": "masked"}]
    verified = http.post(f"{server.url}/v1/decisions/{answer['decision_id']}/verify", headers=auth("auditor"))
    assert verified.json()["status"] == "reproduced"  # the number was only checked, never read by a rule
    # a claim id that is the person's number names the record: kept, so that it is still matched and verified
    claim["claim_id"] = claim["applicant"]["id_number"]
    answer = evaluate(server, claim).json()
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}", headers=auth("auditor")).json()
    assert logged["result"]["claim_id"] == claim["claim_id"]
    verified = http.post(f"{server.url}/v1/decisions/{answer['decision_id']}/verify", headers=auth("auditor"))
    assert verified.json()["status"] == "reproduced", verified.text


@pytest.mark.parametrize("malformed", ["33070219900307001", "3307021990030700112",
                                       "３３０７０２１９９００３０７００１１"])
def test_a_malformed_personal_number_is_not_logged_in_the_message_that_refuses_it(server, malformed):
    """The refusal quotes the value it refuses; a typing error of one digit is still the person's number."""
    claim = json.loads(CLAIMS[0])
    claim["applicant"]["id_number"] = malformed
    answer = evaluate(server, claim).json()
    assert answer["error"]["code"] == "claim.invalid" and malformed in json.dumps(answer, ensure_ascii=False)
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}", headers=auth("auditor"))
    assert malformed not in logged.content.decode() and logged.json()["masked"][0]["path"] == "applicant.id_number"
    assert "'***' does not have the required form" in logged.json()["result"]["error"]["message"]


def test_search_by_claim_policy_and_day(server):
    claim = json.loads(CLAIMS[1]) | {"claim_id": f"SEARCH-{time.time_ns()}"}
    ids = [evaluate(server, claim, explain=False).json()["decision_id"] for _ in range(3)]
    found = http.get(server.url + "/v1/decisions", params={"claim_id": claim["claim_id"]},
                      headers=auth("auditor")).json()
    assert [d["decision_id"] for d in found["decisions"]] == ids and found["next"] is None
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page = http.get(server.url + "/v1/decisions", headers=auth("auditor"),
                     params={"claim_id": claim["claim_id"], "policy": JINHUA + "@2024-05-01", "from": today,
                             "to": today, "limit": 2}).json()
    assert [d["decision_id"] for d in page["decisions"]] == ids[:2] and page["next"]
    rest = http.get(server.url + "/v1/decisions", headers=auth("auditor"),
                     params={"claim_id": claim["claim_id"], "after": page["next"]}).json()
    assert [d["decision_id"] for d in rest["decisions"]] == ids[2:]
    none = http.get(server.url + "/v1/decisions", headers=auth("auditor"),
                     params={"claim_id": claim["claim_id"], "to": "2000-01-01"}).json()
    assert none["decisions"] == []
    last_day = http.get(server.url + "/v1/decisions", headers=auth("auditor"),  # the last day there is: no bound
                         params={"claim_id": claim["claim_id"], "from": "0001-01-01", "to": "9999-12-31"})
    assert [d["decision_id"] for d in last_day.json()["decisions"]] == ids, last_day.text
    bad = http.get(server.url + "/v1/decisions", headers=auth("auditor"), params={"from": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "from"
    # a filter that would match nothing, or everything, without saying so
    for params, field in (({"policy": JINHUA + "@"}, "policy"), ({"policy": ""}, "policy"),
                          ({"policy": "@2024-05-01"}, "policy"),
                          ({"from": "2026-12-31", "to": "2026-01-01"}, "from")):
        refused = http.get(server.url + "/v1/decisions", headers=auth("auditor"), params=params)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field, params
    assert http.get(server.url + "/v1/decisions/no-such-id", headers=auth("auditor")).status_code == 404
    # a misspelt policy is not "nothing was decided under it"; a known one with nothing logged is an empty page
    for policy, words in (("jinhua/digital-engineer-subsidyy", "no such policy in the store; known: "),
                          (JINHUA + "@2024-13-01", "versions of " + JINHUA + ": 2024-05-01")):
        unheard = http.get(server.url + "/v1/decisions", headers=auth("auditor"), params={"policy": policy})
        error = unheard.json()["error"]
        assert unheard.status_code == 404 and error["code"] == "request.unknown_policy", unheard.text
        assert error["location"] == "policy" and words in error["message"]
    quiet = http.get(server.url + "/v1/decisions", headers=auth("auditor"),
                     params={"policy": "china/retirement-age", "claim_id": claim["claim_id"]})
    assert quiet.status_code == 200 and quiet.json()["decisions"] == []


def test_verify_gives_the_report_of_policy_verify(server, store, folder):
    claim = json.loads(CLAIMS[2])
    answer = evaluate(server, claim).json()
    report = http.post(f"{server.url}/v1/decisions/{answer['decision_id']}/verify", headers=auth("auditor")).json()
    decisions, claims = folder / "one.jsonl", folder / "claims.jsonl"
    decisions.write_bytes(orjson.dumps(without_id(answer)) + b"\n")
    claims.write_bytes(CLAIMS[2] + b"\n")
    expected = lines(cli(store, "verify", str(decisions), str(claims), "--format", "json").stdout)[0]
    assert report["status"] == "reproduced" == expected["status"]
    assert report["differences"] == expected["differences"] and report["claim_id"] == expected["claim_id"]
    assert http.post(f"{server.url}/v1/decisions/nope/verify", headers=auth("auditor")).status_code == 404


def test_verify_asks_a_pinned_request_about_its_version_again(server, store):
    """Asked for zhejiang@2023-09-16 on a day a later version is in force, the claim was not decided (no version in
    force); verify asks about that version again, so the record is reproduced (not: now decided under the later one)."""
    claim = json.loads(CLAIMS[3]) | {"claim_id": f"PIN-{time.time_ns()}"}  # applied on 2025-03-01
    answer = evaluate(server, claim, policy="zhejiang/digital-engineer@2023-09-16").json()
    assert answer["error"]["code"] == "policy.not_in_force"
    report = http.post(f"{server.url}/v1/decisions/{answer['decision_id']}/verify", headers=auth("auditor")).json()
    assert report["status"] == "reproduced", report
    by_id = cli(store, "verify", "--database", server.database, "--decision", answer["decision_id"], "--format", "json")
    assert lines(by_id.stdout)[0]["status"] == "reproduced"


def test_verify_of_a_batch_line_refused_before_it_was_read_says_why_it_cannot_be_decided_again(server):
    """A line too large to keep, or not UTF-8, is logged as refused; the log has no faithful copy of it, so verify
    says so (unreadable, with why) instead of a difference it made up by reading what the log kept."""
    from engine.core.limits import LIMITS

    body = (b'{"claim_id":"BIG","p":"' + b"x" * (LIMITS.claim_line_bytes + 10) + b'"}\n'
            + b'{"claim_id":"\xd5\xe3"}\n')
    got = lines(http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA}, content=body,
                          headers=auth("developer"), timeout=60).content)
    assert [g["error"]["code"] for g in got] == ["claim.too_large", "claim.encoding"]
    for answer, words in zip(got, ("too large (claim.too_large)", "not UTF-8 (claim.encoding)"), strict=True):
        report = http.post(f"{server.url}/v1/decisions/{answer['decision_id']}/verify",
                           headers=auth("auditor")).json()
        assert report["status"] == "unreadable" and words in report["reason"], report


def test_policy_verify_reads_the_log(server, store):
    claim = json.loads(CLAIMS[3]) | {"claim_id": f"CLI-{time.time_ns()}"}
    answer = evaluate(server, claim).json()
    by_id = cli(store, "verify", "--database", server.database, "--decision", answer["decision_id"], "--format", "json")
    assert by_id.returncode == 0, by_id.stderr
    assert lines(by_id.stdout)[0]["status"] == "reproduced"
    by_claim = cli(store, "verify", "--database", server.database, "--claim-id", claim["claim_id"])
    assert by_claim.returncode == 0 and b"1 reproduced, 0 differ" in by_claim.stderr
    nothing = cli(store, "verify", "--database", server.database, "--claim-id", "never-logged")
    assert nothing.returncode == 2 and b"nothing to verify" in nothing.stderr
    assert cli(store, "verify", "--database", server.database).returncode == 64


def test_the_log_is_append_only(server):
    # a row of its own: the guards fire per row, and under xdist this module's server may have logged nothing yet
    assert evaluate(server, json.loads(CLAIMS[0]) | {"claim_id": f"APPEND-{time.time_ns()}"}).status_code == 200
    engine = sqlalchemy.create_engine(server.database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        for statement in ("UPDATE decisions SET outcome = 'eligible'", "DELETE FROM decisions"):
            with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


# -------------------------------------------------------------------------------------------------
# Policies: the JSON forms of list, timeline, show, diff and check


def test_policies_timeline_show_and_diff_are_the_command_lines(server, store):
    get = lambda path, **params: http.get(server.url + path, params=params, headers=auth("officer"))  # noqa: E731
    assert get("/v1/policies").json() == lines(cli(store, "list", "--format", "json").stdout)
    assert get(f"/v1/policies/{JINHUA}/timeline").json() == lines(cli(store, "timeline", JINHUA, "--format",
                                                                       "json").stdout)
    shown = get("/v1/policies/zhejiang/digital-engineer@2023-09-16", as_of="2024-06-01").json()
    timeline = {row["version"]: row for row in get("/v1/policies/zhejiang/digital-engineer/timeline").json()}
    assert shown["content"]["policy"] == "zhejiang/digital-engineer" and shown["reads"] == []
    assert shown["digest"] == timeline["2023-09-16"]["digest"] and shown["to"] == "2025-02-28"
    jinhua = get(f"/v1/policies/{JINHUA}@2024-05-01", as_of="2025-04-01").json()
    assert jinhua["reads"] == ["extends zhejiang/digital-engineer@2025-03-01", "uses china/retirement-age@2025-01-01"]
    diff = get("/v1/diff", policy="zhejiang/digital-engineer", **{"from": "@2023-09-16", "to": "@2025-03-01"})
    want = lines(cli(store, "diff", "zhejiang/digital-engineer@2023-09-16", "zhejiang/digital-engineer@2025-03-01",
                     "--format", "json").stdout)[0]
    assert diff.json() == want
    by_date = get("/v1/diff", policy=JINHUA, **{"from": "2024-06-01", "to": "2025-04-01"})
    assert by_date.json() == lines(cli(store, "diff", JINHUA, "--from", "2024-06-01", "--to", "2025-04-01",
                                       "--format", "json").stdout)[0]
    assert get("/v1/policies/nowhere/timeline").status_code == 404
    assert get("/v1/policies/zhejiang/digital-engineer@1900-01-01").status_code == 404
    not_yet = get("/v1/diff", policy=JINHUA, **{"from": "2020-01-01", "to": "2025-04-01"})
    # a policy that is there, with no version that day: said so (the command line's exit 3), not "no such policy"
    assert not_yet.status_code == 404 and not_yet.json()["error"]["code"] == "policy.not_in_force"
    assert not_yet.json()["error"]["location"] == "from"
    assert get("/v1/diff", policy="nowhere/x", **{"from": "2024-06-01", "to": "2025-04-01"}).json()["error"][
        "code"] == "request.unknown_policy"
    assert get("/v1/diff", policy=JINHUA, **{"from": "when", "to": "2025-04-01"}).status_code == 422


def test_check_a_draft_as_policy_check_does(server, store, folder):
    good = (store[0] / "zhejiang/digital-engineer/2025-03-01.yaml").read_bytes()
    draft = good.replace(b'version: "2025-03-01"', b'version: "2026-01-01"', 1).replace(
        b"from: 2025-03-01", b"from: 2026-01-01", 1).replace(b"require: ", b"require: nonexistent_name and ", 1)
    place = "zhejiang/digital-engineer/2026-01-01.yaml"
    response = http.post(server.url + "/v1/check", params={"path": place, "today": "2025-01-01"}, content=draft,
                          headers=auth("officer"), timeout=120)
    assert response.status_code == 200
    report = response.json()
    assert report["errors"] >= 1
    assert not (store[0] / place).exists()  # written nowhere
    # the same file, put there, checked by the command line
    (store[0] / place).write_bytes(draft)
    try:
        expected = lines(cli(store, "check", str(store[0] / place), "--format", "json", "--today",
                             "2025-01-01").stdout)
    finally:
        (store[0] / place).unlink()
    assert [d | {"file": None} for d in report["diagnostics"]] == [d | {"file": None} for d in expected]
    assert all(d["file"].endswith(place) for d in report["diagnostics"])
    clean = http.post(server.url + "/v1/check", params={"path": "zhejiang/digital-engineer/2025-03-01.yaml",
                                                         "today": "2025-01-01"}, content=good, headers=auth("officer"),
                       timeout=120)
    assert clean.json()["errors"] == 0
    # without ?path=, where its own policy: and version: put it (in place of the store's file for that version)
    unplaced = http.post(server.url + "/v1/check", params={"today": "2025-01-01"}, content=good,
                         headers=auth("officer"), timeout=120).json()
    assert unplaced == clean.json()
    named = http.post(server.url + "/v1/check", params={"today": "2025-01-01"}, content=draft,
                      headers=auth("officer"), timeout=120).json()
    assert named == report
    for path in ("../outside.yaml", "/etc/x.yaml", "a/b.cases.yaml", "a/b.txt"):
        refused = http.post(server.url + "/v1/check", params={"path": path}, content=good, headers=auth("officer"),
                             timeout=60)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "path"


# -------------------------------------------------------------------------------------------------
# Who may do what


ENDPOINTS = [  # method, path, role it needs (None: any known token)
    ("POST", "/v1/evaluate", "developer"),
    ("POST", "/v1/evaluate:batch?policy=" + JINHUA, "developer"),
    ("GET", "/v1/decisions", "auditor"),
    ("GET", "/v1/decisions/some-id", "auditor"),
    ("POST", "/v1/decisions/some-id/verify", "auditor"),
    ("POST", "/v1/check", "officer"),
    ("POST", "/v1/admin/reload", "admin"),
    ("GET", "/v1/policies", None),
    ("GET", f"/v1/policies/{JINHUA}/timeline", None),
    ("GET", f"/v1/policies/{JINHUA}@2024-05-01", None),
    ("GET", f"/v1/diff?policy={JINHUA}&from=2024-06-01&to=2025-04-01", None),
]


@pytest.mark.parametrize("method, path, role", ENDPOINTS)
def test_roles(server, method, path, role):
    def call(headers):
        return http.request(method, server.url + path, headers=headers, content=b"{}", timeout=120).status_code

    assert call({}) == 401
    assert call({"Authorization": "Bearer not-a-token-anyone-has"}) == 401
    assert call({"Authorization": "Basic " + TOKENS["admin"]}) == 401
    for other in TOKENS:
        status = call(auth(other))
        if role is None or other in (role, "admin"):
            assert status not in (401, 403), (other, status)
        else:
            assert status == 403, (other, status)


@pytest.mark.parametrize("method, path", [("POST", "/v1/evaluate:batch"), ("GET", "/v1/grants"),
                                          ("GET", "/v1/decisions?x=1"), ("GET", "/v1/decisions?limit=abc"),
                                          ("GET", "/v1/policies?x=1")])
def test_without_a_token_the_answer_is_401_whatever_the_parameters(server, method, path):
    """Not a 422 listing what the route takes: nobody without a token learns it."""
    answer = http.request(method, server.url + path, timeout=120)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "auth.token"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="policy-engine"'  # RFC 6750: how to authenticate


def test_health_ready_and_metrics_need_no_token(server):
    assert http.get(server.url + "/health").json() == {"status": "alive"}
    for probe in ("/health", "/ready"):  # load balancers ask with HEAD
        assert http.head(server.url + probe).status_code == 200, probe
    # HEAD wherever GET is answered: its status and headers, no body
    got, headed = (http.request(m, server.url + "/v1/policies", headers=auth("developer")) for m in ("GET", "HEAD"))
    assert headed.status_code == 200 and headed.content == b"" and got.content
    assert headed.headers["content-type"] == got.headers["content-type"]
    assert http.head(server.url + "/v1/policies").status_code == 401  # as its GET, without a token
    assert http.head(server.url + "/v1/evaluate", headers=auth("developer")).status_code == 405  # no GET there
    ready = http.get(server.url + "/ready").json()
    assert ready["ready"] is True and ready["database"] == "reachable" and ready["policies"]["versions"] == 6
    evaluate(server, json.loads(CLAIMS[0]))
    text = http.get(server.url + "/metrics").text
    assert 'policy_http_requests_total{method="POST",route="/v1/evaluate",status="200"}' in text
    assert 'policy_http_request_duration_seconds_bucket{le="0.005",route="/v1/evaluate"}' in text
    assert 'policy_decisions_total{outcome="eligible"}' in text
    assert "policy_decision_log_write_failures_total 0.0" in text
    assert http.get(server.url + "/openapi.json").json()["paths"]["/v1/evaluate"]["post"]
    assert http.get(server.url + "/docs").status_code == 200

"""The grants ledger over HTTP: a real `policy serve`, its database in SQLite and in a PostgreSQL server the
tests start. Concurrent grants of one person are decided one at a time; an Idempotency-Key gives one grant
and the same answer; a server killed between deciding and committing leaves nothing half-written.

The policy is the fictional tests/fixtures/ledger store: at most 3 grants a year, the same item and grade
never twice, its ledger section naming fields the seed policies do not have."""
from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest
import sqlalchemy
from service_helpers import FIXTURES, Postgres, Server, ThreadServer, auth, http, write_tokens

pytestmark = pytest.mark.slow  # real servers: seconds each to start

STORE = FIXTURES / "ledger" / "store"
SCHEMAS = FIXTURES / "ledger" / "schemas"
POLICY = "fict/counted-grant"
RUNS = 5  # repetitions of each race, each with a person of its own


WRONG_HISTORY = {"code": "request.invalid", "location": "history", "field": "history",
                 "message": "history: claim (the claim's own) or ledger (the grants ledger's; nothing is recorded)"}


def claim(person: str | None, item: str, grade: str = "a", applied_on: str = "2024-03-01", past=None) -> dict:
    data = {"claim_id": f"C-{uuid.uuid4().hex[:8]}", "applied_on": applied_on, "item": item, "grade": grade}
    if person is not None:
        data["person"] = person
    if past is not None:
        data["past"] = past
    return data


def post_grant(server: Server | ThreadServer, body: dict, key: str | None, role: str = "officer"):
    headers = auth(role) | ({"Idempotency-Key": key} if key else {})
    return http.post(server.url + "/v1/grants", json=body, headers=headers)


def race(server: Server | ThreadServer, bodies_and_keys: list) -> list:
    """Every request sent at the same moment, each from its own thread; the answers in request order."""
    barrier = threading.Barrier(len(bodies_and_keys))
    answers: list = [None] * len(bodies_and_keys)

    def send(i, body, key):
        barrier.wait()
        answers[i] = post_grant(server, body, key)

    threads = [threading.Thread(target=send, args=(i, b, k)) for i, (b, k) in enumerate(bodies_and_keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return answers


def failed_rules(answer) -> list:
    return [r["id"] for r in answer.json()["decision"]["rules"] if r["outcome"] == "fail"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("ledger")


@pytest.fixture(scope="module")
def postgres():
    with Postgres() as pg:
        yield pg


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, folder):
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'ledger.sqlite3'}"
    return request.getfixturevalue("postgres").url


@pytest.fixture(scope="module")
def server(database, folder):
    with ThreadServer(STORE, SCHEMAS, database, tokens=write_tokens(folder)) as running:
        yield running


def test_eight_items_at_once_give_exactly_three_grants(server):
    for run in range(RUNS):
        person = f"P8-{run}-{uuid.uuid4().hex[:6]}"
        answers = race(server, [(({"policy": POLICY, "claim": claim(person, f"i{i}")}), f"k-{uuid.uuid4()}")
                                for i in range(1, 9)])
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * 3 + [409] * 5, [a.text for a in answers]
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.json()["error"]["code"] == "ledger.refused"
            assert failed_rules(refused) == ["three_a_year"]
        listed = http.get(server.url + "/v1/grants", params={"person": person}, headers=auth("auditor")).json()
        assert len(listed["grants"]) == 3
        granted = {a.json()["grant"]["grant_id"] for a in answers if a.status_code == 201}
        assert {g["grant_id"] for g in listed["grants"]} == granted


def test_the_same_item_twice_at_once_gives_one_grant(server):
    for run in range(RUNS):
        person = f"P2-{run}-{uuid.uuid4().hex[:6]}"
        answers = race(server, [({"policy": POLICY, "claim": claim(person, "i1", "b")}, f"k-{uuid.uuid4()}")
                                for _ in range(2)])
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert failed_rules(refused) == ["never_twice"]


def test_one_key_sent_at_once_gives_one_grant_and_the_same_answer(server):
    person = f"PK-{uuid.uuid4().hex[:6]}"
    body = {"policy": POLICY, "claim": claim(person, "i2")}
    key = f"k-{uuid.uuid4()}"
    answers = race(server, [(body, key)] * 4)
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1  # byte for byte
    listed = http.get(server.url + "/v1/grants", params={"person": person}, headers=auth("auditor")).json()
    assert len(listed["grants"]) == 1
    again = post_grant(server, body, key)
    assert again.status_code == 201 and again.content == answers[0].content
    assert again.headers["idempotent-replayed"] == "true"
    other = post_grant(server, {"policy": POLICY, "claim": claim(person, "i3")}, key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "ledger.idempotency_conflict"


def test_one_key_sent_by_two_tokens_gives_each_its_own_grant(server):
    """Keys are per caller: another token's same key is another request, never the first caller's answer."""
    key = f"k-{uuid.uuid4()}"
    people = [f"PT-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    sent = [({"policy": POLICY, "claim": claim(person, "i1")}, role)
            for person, role in zip(people, ("officer", "admin"), strict=True)]
    first = [post_grant(server, body, key, role) for body, role in sent]
    assert [a.status_code for a in first] == [201, 201], [a.text for a in first]
    assert [a.json()["grant"]["person"] for a in first] == people
    assert not any("idempotent-replayed" in a.headers for a in first)
    for (body, role), answer, person in zip(sent, first, people, strict=True):
        again = post_grant(server, body, key, role)  # each caller's own answer, byte for byte
        assert again.status_code == 201 and again.content == answer.content
        assert again.headers["idempotent-replayed"] == "true"
        listed = http.get(server.url + "/v1/grants", params={"person": person}, headers=auth("auditor")).json()
        assert [g["grant_id"] for g in listed["grants"]] == [answer.json()["grant"]["grant_id"]]


def test_the_claims_own_history_is_never_used(server):
    person = f"PH-{uuid.uuid4().hex[:6]}"
    full = [{"item": f"x{i}", "grade": "a", "on": "2024-01-0" + str(i)} for i in range(1, 4)]
    answer = post_grant(server, {"policy": POLICY, "claim": claim(person, "i1", past=full)}, f"k-{uuid.uuid4()}")
    assert answer.status_code == 201, answer.text
    decision = answer.json()["decision"]
    assert decision["history"]["source"] == "ledger" and decision["history"]["entries"] == []
    second = post_grant(server, {"policy": POLICY, "claim": claim(person, "i2")}, f"k-{uuid.uuid4()}")
    assert second.json()["decision"]["history"]["entries"] == [{"item": "i1", "grade": "a", "on": "2024-03-01"}]
    # the logged decision keeps the history it used: the auditor's verify reproduces it
    verified = http.post(server.url + f"/v1/decisions/{second.json()['decision']['decision_id']}/verify",
                         headers=auth("auditor")).json()
    assert verified["status"] == "reproduced", verified


def test_requests_the_ledger_refuses(server):
    missing = post_grant(server, {"policy": POLICY, "claim": claim(None, "i1")}, "k-no-person")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "ledger.no_person"
    assert "没有 person" in missing.json()["error"]["message"]
    no_key = post_grant(server, {"policy": POLICY, "claim": claim("P", "i1")}, None)
    assert no_key.status_code == 422 and no_key.json()["error"]["field"] == "Idempotency-Key"
    twice = http.post(server.url + "/v1/grants", json={"policy": POLICY, "claim": claim("P", "i1")},
                      headers=[*auth("officer").items(), ("Idempotency-Key", "a1"), ("Idempotency-Key", "a2")])
    assert twice.status_code == 422 and "given 2 times" in twice.json()["error"]["message"]
    developer = post_grant(server, {"policy": POLICY, "claim": claim("P", "i1")}, "k-dev", role="developer")
    assert developer.status_code == 403
    unknown = post_grant(server, {"policy": "fict/none", "claim": claim("P", "i1")}, "k-unknown")
    assert unknown.status_code == 404
    bad = post_grant(server, {"policy": POLICY, "claim": claim("P", "i9")}, f"k-{uuid.uuid4()}")
    assert bad.status_code == 409 and failed_rules(bad) == ["listed"]
    # the decision a grant follows must be in the log: the audit trail may not lead nowhere
    nowhere = post_grant(server, {"policy": POLICY, "claim": claim("P", "i1"), "decision_id": str(uuid.uuid4())},
                         f"k-{uuid.uuid4()}")
    assert nowhere.status_code == 422 and nowhere.json()["error"]["field"] == "decision_id", nowhere.text
    previewed = claim(f"PV-{uuid.uuid4().hex[:6]}", "i1")
    preview = http.post(server.url + "/v1/evaluate", headers=auth("developer"),
                        json={"policy": POLICY, "claim": previewed, "history": "ledger"}).json()
    follows = post_grant(server, {"policy": POLICY, "claim": previewed, "decision_id": preview["decision_id"]},
                         f"k-{uuid.uuid4()}")
    assert follows.status_code == 201, follows.text
    # ... and be this claim's: a grant for another claim may not say it follows that preview
    other = post_grant(server, {"policy": POLICY, "claim": claim(f"PO-{uuid.uuid4().hex[:6]}", "i1"),
                                "decision_id": preview["decision_id"]}, f"k-{uuid.uuid4()}")
    assert other.status_code == 422 and other.json()["error"]["field"] == "decision_id", other.text
    assert f"is of claim {previewed['claim_id']!r}" in other.json()["error"]["message"]
    # a key is UTF-8 text (a case number in Chinese is one); bytes that are no UTF-8 are refused
    for key, status in (("案件-4711-" + uuid.uuid4().hex[:6], 201), (None, 422)):
        header = key.encode() if key else b"\xff\xfe"
        answer = http.post(server.url + "/v1/grants", json={"policy": POLICY, "claim": claim(f"PK-{key}", "i1")},
                           headers=auth("officer") | {"Idempotency-Key": header})
        assert answer.status_code == status, answer.text


def test_a_revoked_grant_no_longer_counts(server):
    person = f"PR-{uuid.uuid4().hex[:6]}"
    first = post_grant(server, {"policy": POLICY, "claim": claim(person, "i4")}, f"k-{uuid.uuid4()}").json()
    grant_id = first["grant"]["grant_id"]
    again = post_grant(server, {"policy": POLICY, "claim": claim(person, "i4")}, f"k-{uuid.uuid4()}")
    assert again.status_code == 409 and failed_rules(again) == ["never_twice"]
    revoked = http.post(server.url + f"/v1/grants/{grant_id}/revoke", json={"reason": "paid in error"},
                        headers=auth("officer"))
    assert revoked.status_code == 200 and revoked.json()["revoked"]["reason"] == "paid in error"
    twice = http.post(server.url + f"/v1/grants/{grant_id}/revoke", json={"reason": "again"}, headers=auth("officer"))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ledger.already_revoked"
    assert http.post(server.url + "/v1/grants/nope/revoke", json={"reason": "x"},
                     headers=auth("officer")).status_code == 404
    third = post_grant(server, {"policy": POLICY, "claim": claim(person, "i4")}, f"k-{uuid.uuid4()}")
    assert third.status_code == 201, third.text
    history = http.get(server.url + f"/v1/people/{person}/history", params={"policy": POLICY},
                       headers=auth("auditor")).json()
    assert len(history["grants"]) == 2 and history["grants"][0]["revoked"] is not None
    assert history["entries"] == [{"item": "i4", "grade": "a", "on": "2024-03-01"}]
    # a parameter that would be ignored, or match nothing, without saying so
    for path, params, field in ((f"/v1/people/{person}/history", {"on": "2024-06-15"}, "on"),
                                (f"/v1/people/{person}/history", {"policy": ""}, "policy"),
                                ("/v1/grants", {"person": person, "book": ""}, "book")):
        refused = http.get(server.url + path, params=params, headers=auth("auditor"))
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field, (path, params)
    before_any = http.get(server.url + f"/v1/people/{person}/history", params={"policy": POLICY, "on": "1900-01-01"},
                          headers=auth("auditor"))  # a known policy, no version that day: as /v1/diff says it
    error = before_any.json()["error"]
    assert before_any.status_code == 404 and (error["code"], error["location"]) == ("policy.not_in_force", "on")


def _rows(database: str, table: str) -> int:
    engine = sqlalchemy.create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def test_killed_between_deciding_and_committing_then_retried(database, folder, tmp_path):
    hold = tmp_path / "hold"
    hold.write_text("hold")
    env = {"POLICY_LEDGER_TEST_HOLD_BEFORE_COMMIT": str(hold)}
    tokens = str(write_tokens(folder))
    person = f"PX-{uuid.uuid4().hex[:6]}"
    body = {"policy": POLICY, "claim": claim(person, "i5")}
    key = f"k-{uuid.uuid4()}"
    server = Server(STORE, SCHEMAS, database, "--tokens", tokens, env=env).start()
    grants_before, keys_before = _rows(database, "grants"), _rows(database, "idempotency_keys")
    outcome: list = []

    def send():
        try:
            outcome.append(post_grant(server, body, key))
        except Exception as exc:  # the server died under the request
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    reached = Path(str(hold) + ".reached")
    deadline = time.monotonic() + 60
    while not reached.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reached.exists(), "the grant never reached the point before its commit"
    server.kill()  # SIGKILL
    sender.join(60)
    assert outcome and isinstance(outcome[0], Exception)
    assert _rows(database, "grants") == grants_before  # nothing of the grant, not a partial row
    assert _rows(database, "idempotency_keys") == keys_before
    with ThreadServer(STORE, SCHEMAS, database, tokens=tokens) as restarted:
        retried = post_grant(restarted, body, key)
        assert retried.status_code == 201, retried.text
        again = post_grant(restarted, body, key)
        assert again.content == retried.content
    assert _rows(database, "grants") == grants_before + 1


def test_grants_survive_a_restart(database, folder):
    tokens = str(write_tokens(folder))
    person = f"PS-{uuid.uuid4().hex[:6]}"
    with ThreadServer(STORE, SCHEMAS, database, tokens=tokens) as first:
        granted = post_grant(first, {"policy": POLICY, "claim": claim(person, "i6")}, f"k-{uuid.uuid4()}").json()
    with ThreadServer(STORE, SCHEMAS, database, tokens=tokens) as second:
        listed = http.get(second.url + "/v1/grants", params={"person": person}, headers=auth("auditor")).json()
        assert [g["grant_id"] for g in listed["grants"]] == [granted["grant"]["grant_id"]]
        one = http.get(second.url + f"/v1/grants/{granted['grant']['grant_id']}", headers=auth("auditor")).json()
        assert orjson.loads(orjson.dumps(one["record"])) == {"item": "i6", "grade": "a", "granted_on": "2024-03-01",
                                                              "amount": "600", "version": "2024-01-01"}
        again = post_grant(second, {"policy": POLICY, "claim": claim(person, "i6")}, f"k-{uuid.uuid4()}")
        assert again.status_code == 409


def test_evaluate_with_the_ledgers_history_previews_and_records_nothing(server):
    person = f"PV-{uuid.uuid4().hex[:6]}"
    for i in (1, 2, 3):
        assert post_grant(server, {"policy": POLICY, "claim": claim(person, f"i{i}")}, f"k-{uuid.uuid4()}") \
            .status_code == 201
    body = {"policy": POLICY, "claim": claim(person, "i4", past=[]), "history": "ledger"}
    seen = http.post(server.url + "/v1/evaluate", json=body, headers=auth("developer")).json()
    assert seen["eligible"] is False and [r["id"] for r in seen["rules"] if r["outcome"] == "fail"] == ["three_a_year"]
    assert seen["history"]["source"] == "ledger" and len(seen["history"]["grants"]) == 3
    own = http.post(server.url + "/v1/evaluate", json=body | {"history": "claim"}, headers=auth("developer")).json()
    assert own["eligible"] is True and "history" not in own
    listed = http.get(server.url + "/v1/grants", params={"person": person}, headers=auth("auditor")).json()
    assert len(listed["grants"]) == 3  # the preview recorded nothing
    verified = http.post(server.url + f"/v1/decisions/{seen['decision_id']}/verify", headers=auth("auditor")).json()
    assert verified["status"] == "reproduced", verified
    wrong = http.post(server.url + "/v1/evaluate", json=body | {"history": "both"}, headers=auth("developer"))
    assert wrong.status_code == 422 and wrong.json()["error"] == WRONG_HISTORY
    nobody = http.post(server.url + "/v1/evaluate", json=body | {"claim": claim(None, "i4")}, headers=auth("developer"))
    assert nobody.status_code == 422 and nobody.json()["error"]["code"] == "ledger.no_person"


def test_a_batch_with_the_ledgers_history_decides_each_claim_with_its_persons_grants(server):
    first, second = (f"PB-{uuid.uuid4().hex[:6]}" for _ in range(2))
    granted = [post_grant(server, {"policy": POLICY, "claim": claim(first, f"i{i}")}, f"k-{uuid.uuid4()}").json()
               for i in (1, 2)]
    lines = [claim(first, "i3", past=[]), claim(first, "i1", past=[]), claim(second, "i1",
             past=[{"item": "i1", "grade": "a", "on": "2024-01-02"}]), claim(None, "i1")]
    body = b"".join(orjson.dumps(c) + b"\n" for c in lines) + b"not json\n"
    answered = http.post(server.url + "/v1/evaluate:batch", params={"policy": POLICY, "history": "ledger"},
                         content=body, headers=auth("developer"))
    assert answered.status_code == 200, answered.text
    answers = [orjson.loads(line) for line in answered.content.splitlines()]
    assert [a["claim_id"] for a in answers] == [c["claim_id"] for c in lines] + [None]
    ids = [g["grant"]["grant_id"] for g in granted]
    assert answers[0]["eligible"] is True and answers[0]["history"]["grants"] == ids
    assert answers[1]["eligible"] is False and answers[1]["history"]["grants"] == ids
    assert [r["id"] for r in answers[1]["rules"] if r["outcome"] == "fail"] == ["never_twice"]
    # the second person's own `past` (an i1 already) is not used: the ledger has nothing of them
    assert answers[2]["eligible"] is True and answers[2]["history"] == {
        "source": "ledger", "book": POLICY, "fact": "past", "grants": [], "entries": []}
    assert answers[3]["error"]["code"] == "ledger.no_person" and answers[3]["error"]["location"] == "<request>:4"
    assert answers[4]["error"]["code"] == "ledger.claim_not_decided" and "decision_id" not in answers[4]
    listed = http.get(server.url + "/v1/grants", params={"person": first}, headers=auth("auditor")).json()
    assert [g["grant_id"] for g in listed["grants"]] == ids  # nothing recorded
    for answer in answers[:3]:
        logged = http.get(server.url + f"/v1/decisions/{answer['decision_id']}", headers=auth("auditor")).json()
        assert logged["request"]["history"] == "ledger"
        verified = http.post(server.url + f"/v1/decisions/{answer['decision_id']}/verify",
                             headers=auth("auditor")).json()
        assert verified["status"] == "reproduced", verified
    summaries = http.post(server.url + "/v1/evaluate:batch", headers=auth("developer"), content=body,
                          params={"policy": POLICY, "history": "ledger", "explain": "false"})
    assert [orjson.loads(line).get("eligible") for line in summaries.content.splitlines()] == \
        [True, False, True, None, None]
    wrong = http.post(server.url + "/v1/evaluate:batch", params={"policy": POLICY, "history": "both"}, content=body,
                      headers=auth("developer"))
    assert wrong.status_code == 422 and wrong.json()["error"] == WRONG_HISTORY


def test_several_worker_processes_still_decide_one_person_at_a_time(postgres, folder):
    """The lock is in the database, not in a process: two uvicorn workers, PostgreSQL."""
    with Server(STORE, SCHEMAS, postgres.url, "--tokens", str(write_tokens(folder)), "--workers", "2") as running:
        for run in range(3):
            person = f"PW-{run}-{uuid.uuid4().hex[:6]}"
            answers = race(running, [({"policy": POLICY, "claim": claim(person, f"i{i}")}, f"k-{uuid.uuid4()}")
                                     for i in range(1, 9)])
            assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5, [a.text for a in answers]

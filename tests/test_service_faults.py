"""Faults: the server killed during a batch, the database stopped under load. An acknowledged decision is
always in the log, whole; a decision that cannot be logged is never given."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy
from clirun import run_policy
from service_helpers import FIXTURES, JINHUA, Postgres, Server, copy_store, http, stream_batch

pytestmark = pytest.mark.slow  # real servers: seconds each to start

CLAIM = json.loads((FIXTURES / "claims.jsonl").read_bytes().splitlines()[0])


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.sqlite3'}"
    else:
        with Postgres() as pg:
            yield pg.url


def rows(url: str, prefix: str) -> list[dict]:
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            found = connection.execute(sqlalchemy.text("SELECT * FROM decisions WHERE claim_id LIKE :p"),
                                       {"p": prefix + "%"})
            return [dict(row._mapping) for row in found]
    finally:
        engine.dispose()


def test_sigkill_during_a_batch_loses_no_acknowledged_decision(tmp_path, database):
    store = copy_store(tmp_path)
    marker = f"KILL-{time.time_ns()}"
    claims = (orjson.dumps(CLAIM | {"claim_id": f"{marker}-{i:05}"}) + b"\n" for i in range(20_000))
    server = Server(*store, database).start()
    acknowledged = []
    try:
        for status, line in stream_batch(server.port, f"policy={JINHUA}", claims):
            assert status == 200
            acknowledged.append(json.loads(line))
            if len(acknowledged) == 700:
                server.kill()  # SIGKILL: no clean-up of any kind
                break
    finally:
        server.stop()
    logged = {row["decision_id"]: row for row in rows(database, marker)}
    assert len(logged) < 20_000  # it was killed midway
    for answer in acknowledged:
        row = logged[answer["decision_id"]]  # every acknowledged decision is there ...
        assert json.loads(row["result"]) == {k: v for k, v in answer.items() if k != "decision_id"}
    for row in logged.values():  # ... and every row there is whole
        assert all(row[name] is not None for name in ("decided_at", "policy_id", "claim", "claim_digest", "result",
                                                      "versions", "outcome", "engine_version", "request"))
        assert json.loads(row["claim"])["claim_id"] == row["claim_id"]
        assert json.loads(row["result"])["claim_id"] == row["claim_id"]
    # the log opens again after the kill, and what it holds reproduces (the command in this process: the server
    # is the process these tests are about)
    verified = run_policy("--policies", store[0], "--schemas", store[1], "verify", "--database", database,
                          "--decision", acknowledged[0]["decision_id"], "--decision", acknowledged[-1]["decision_id"])
    assert verified.returncode == 0 and b"2 reproduced" in verified.stderr, verified.stderr.decode()


def test_database_stopped_gives_503_and_the_service_recovers(tmp_path):
    store = copy_store(tmp_path)
    request = {"policy": JINHUA, "claim": CLAIM, "explain": False}
    with Postgres() as pg, Server(*store, pg.url) as server:
        def evaluate():
            return http.post(server.url + "/v1/evaluate", json=request, timeout=60)

        given = [evaluate().json()["decision_id"] for _ in range(5)]
        pg.stop("immediate")
        down = evaluate()
        assert down.status_code == 503
        error = down.json()["error"]
        assert error["code"] == "log.unavailable" and "no decision was given" in error["message"]
        assert "decision_id" not in down.text
        chinese = http.post(server.url + "/v1/evaluate", json=request, headers={"Accept-Language": "zh-CN"}, timeout=60)
        assert "无法写入决定日志" in chinese.json()["error"]["message"], chinese.text  # all of it, not the end only
        batch = http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA},
                           content=orjson.dumps(CLAIM) + b"\n", timeout=60)
        assert batch.status_code == 503
        ready = http.get(server.url + "/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        metrics = http.get(server.url + "/metrics").text
        assert "policy_decision_log_write_failures_total 3.0" in metrics
        # the ledger too: 503 ledger.unavailable, nothing recorded (docs/service.md, docs/ledger.md)
        person = CLAIM | {"applicant": CLAIM["applicant"] | {"id_number": "330702199003070011"}}
        grant = {"policy": JINHUA, "claim": person}
        key = {"Idempotency-Key": "FICT-DOWN-grant"}
        refused = [http.post(server.url + "/v1/grants", json=grant, headers=key, timeout=60),
                   http.post(server.url + "/v1/evaluate:batch", params={"policy": JINHUA, "history": "ledger"},
                             content=orjson.dumps(person) + b"\n", timeout=60)]
        for answer, said in zip(refused, ("nothing was recorded", "the ledger cannot be read"), strict=True):
            assert answer.status_code == 503, answer.text
            error = answer.json()["error"]
            assert error["code"] == "ledger.unavailable" and said in error["message"], error
        pg.start()
        deadline = time.monotonic() + 60
        while (answer := evaluate()).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answer.status_code == 200
        given.append(answer.json()["decision_id"])
        assert http.get(server.url + "/ready").json()["ready"] is True
        granted = http.post(server.url + "/v1/grants", json=grant, headers=key, timeout=60)
        assert granted.status_code == 201 and "idempotent-replayed" not in granted.headers  # the key was not kept
        logged = {r["decision_id"] for r in rows(pg.url, CLAIM["claim_id"])}
        assert set(given) <= logged


def _postgres_processes(pg: Postgres) -> list[int]:
    """The postmaster and every process it started (the backends holding the service's connections)."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == postmaster:
            children.append(int(entry.name))
    return [postmaster, *children]


def test_a_database_that_stops_answering_gets_503_within_the_deadline(tmp_path):
    """A stalled PostgreSQL (its processes stopped: the kernel still acknowledges every packet, so no TCP timeout
    fires) held requests for ever on the connections already open. Now each route answers 503 at
    --database-timeout, /ready within 5 s, and the service serves again when the database does."""
    store = copy_store(tmp_path)
    request = {"policy": JINHUA, "claim": CLAIM, "explain": False}
    with Postgres() as pg, Server(*store, pg.url, "--database-timeout", "2") as server:
        def evaluate():
            return http.post(server.url + "/v1/evaluate", json=request, timeout=60)

        given = [evaluate().json()["decision_id"] for _ in range(3)]
        assert http.get(server.url + "/v1/decisions", params={"limit": 1}).status_code == 200
        stopped = _postgres_processes(pg)
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            down = evaluate()
            assert down.status_code == 503 and down.json()["error"]["code"] == "log.unavailable", down.text
            assert "did not answer within 2 s" in down.json()["error"]["message"]
            for route in ("/v1/decisions", f"/v1/decisions/{given[0]}", "/v1/grants?person=330702199003070011"):
                answer = http.get(server.url + route, timeout=60)
                assert answer.status_code == 503 and answer.json()["error"]["retry"] is True, (route, answer.text)
            ready = http.get(server.url + "/ready", timeout=60)
            assert ready.status_code == 503 and "did not answer" in ready.json()["database"]
            assert time.monotonic() - started < 40  # five answers, none waiting for the database
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 60
        while (answer := evaluate()).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answer.status_code == 200
        given.append(answer.json()["decision_id"])
        assert set(given) <= {r["decision_id"] for r in rows(pg.url, CLAIM["claim_id"])}


def test_a_batch_whose_log_stops_midway_ends_with_the_503s_error_retry_included(tmp_path):
    """Every line answered before it is logged; the last says why the rest were not, as the 503 would."""
    store = copy_store(tmp_path)
    with Postgres() as pg, Server(*store, pg.url) as server:
        lines = (orjson.dumps(dict(CLAIM, claim_id=f"MID-{i}")) + b"\n" for i in range(200_000))
        answers = []
        for status, line in stream_batch(server.port, f"policy={JINHUA}&explain=false", lines):
            assert status == 200
            answers.append(json.loads(line))
            if len(answers) == 50:
                pg.stop("immediate")
            if "decision_id" not in answers[-1]:
                break
    last = answers[-1]["error"]
    assert last["code"] == "log.unavailable" and last["retry"] is True, last

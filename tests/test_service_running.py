"""Running the service: refusals at start, reloading policies while serving, personal data in the log."""
from __future__ import annotations

import faulthandler
import json
import signal
import subprocess
import time

import httpx
import pytest
import sqlalchemy
from clirun import run_policy
from service_helpers import FIXTURES, JINHUA, Server, copy_store, http

pytestmark = pytest.mark.slow  # real servers: seconds each to start

CLAIM = json.loads((FIXTURES / "claims.jsonl").read_bytes().splitlines()[0])


def serve(*args: str) -> subprocess.CompletedProcess:
    """`policy serve` that is expected to refuse before it listens, in the test's own process: a refusal is the
    command's exit code and words, which a process of its own (a quarter of a second of imports each) only repeats.
    Should it listen after all, a watchdog ends the test's process, printing where it waits."""
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        done = run_policy("--policies", FIXTURES / "store", "--schemas", FIXTURES / "schemas", "serve", *args)
    finally:
        faulthandler.cancel_dump_traceback_later()
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_without_tokens_only_loopback(tmp_path):
    refused = serve("--host", "0.0.0.0", "--database", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert refused.returncode == 64
    assert "without --tokens the service listens only on a loopback address" in refused.stderr


def test_a_port_in_use_is_refused_in_words_before_it_says_serving(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = serve("--port", str(port), "--database", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert refused.returncode == 69, refused.stderr
    assert refused.stderr.splitlines() == [f"policy: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_a_log_that_can_only_be_read_is_refused_at_start(tmp_path):
    """It would answer /ready, then refuse every decision with `retry: true`."""
    from engine.db.database import connect, migrate

    made = connect(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    migrate(made)
    made.dispose()
    refused = serve("--database", f"sqlite:///file:{tmp_path / 'log.sqlite3'}?mode=ro&uri=true")
    assert refused.returncode == 69, refused.stderr
    assert "cannot be written (attempt to write a readonly database), so no decision could be given" in refused.stderr
    assert "serving" not in refused.stderr


def test_a_bad_tokens_file_is_refused(tmp_path):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("short: developer\n")
    refused = serve("--tokens", str(tokens))
    assert refused.returncode == 64 and "at least 16 characters" in refused.stderr
    tokens.write_text("12345678901234567890: developer\n")  # YAML reads it as a number; the secret is not printed
    refused = serve("--tokens", str(tokens))
    assert refused.returncode == 64 and "token 1234… is read by YAML as a number, not text: quote it" in refused.stderr
    assert "12345678901234567890" not in refused.stderr
    tokens.write_text("a-long-enough-token-here: superuser\n")
    refused = serve("--tokens", str(tokens))
    assert refused.returncode == 64 and "roles are developer, officer, auditor, admin" in refused.stderr
    # a token listed twice would keep only its last roles, silently
    tokens.write_text("a-long-enough-token-here: developer\nother-long-enough-token: officer\n"
                      "a-long-enough-token-here: auditor\n")
    refused = serve("--tokens", str(tokens))
    assert refused.returncode == 64 and "a token is given twice (lines 1 and 3)" in refused.stderr


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(sqlalchemy.text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    engine.dispose()
    refused = serve("--database", url)
    assert refused.returncode == 69
    assert "schema revision 9999_from_the_future, which this version of policy-engine does not know" in refused.stderr
    assert "Traceback" not in refused.stderr
    unreachable = serve("--database", "postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 69 and "cannot use the database" in unreachable.stderr
    assert serve("--database", "mysql://x@y/z").returncode == 69
    # a mistyped folder: refused, and nothing made there (a new empty ledger would forget every grant)
    typo = tmp_path / "no-such-folder" / "decisions.sqlite3"
    refused = serve("--database", f"sqlite:///{typo}")
    assert refused.returncode == 69 and f"the folder {typo.parent} does not exist" in refused.stderr
    assert not typo.parent.exists()


def test_hash_needs_a_key():
    refused = serve("--personal-data", "hash")
    assert refused.returncode == 64 and "--personal-key" in refused.stderr


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    folder = tmp_path_factory.mktemp("running")
    store = copy_store(folder)
    key = folder / "key"
    key.write_text("the office's secret key\n")
    with Server(*store, f"sqlite:///{folder / 'log.sqlite3'}", "--personal-data", "hash", "--personal-key",
                str(key)) as server:
        yield server, store


def decide(server, claim=CLAIM) -> dict:
    response = http.post(server.url + "/v1/evaluate", json={"policy": JINHUA, "claim": claim, "explain": False},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_hashed_personal_fields(running):
    server, _ = running
    claim = json.loads(json.dumps(CLAIM))
    claim["applicant"]["id_number"] = "330702199003070011"
    answer = decide(server, claim)
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}").json()
    assert "id_number" not in logged["claim"]["applicant"]
    [note] = logged["masked"]
    assert note["path"] == "applicant.id_number" and note["how"] == "hashed" and len(note["hmac_sha256"]) == 64
    again = decide(server, claim)
    logged_again = http.get(f"{server.url}/v1/decisions/{again['decision_id']}").json()
    assert logged_again["masked"] == logged["masked"]  # the same person, the same hash: findable, not readable


def test_without_tokens_a_loopback_caller_has_every_role_and_is_logged_as_local(running):
    """docs/service.md: without a tokens file every caller on loopback has every role and is logged as `local`,
    with no token; its Idempotency-Keys are the caller `local`'s."""
    server, _ = running
    claim = json.loads(json.dumps(CLAIM))
    claim["claim_id"] = "FICT-LOCAL-01"
    claim["applicant"]["id_number"] = "330702199003070011"
    answer = decide(server, claim)  # a developer's endpoint
    logged = http.get(f"{server.url}/v1/decisions/{answer['decision_id']}")  # an auditor's
    assert logged.status_code == 200 and logged.json()["caller"] == {"role": "local", "token": None}
    headers = {"Idempotency-Key": "FICT-LOCAL-01-grant"}
    granted = http.post(server.url + "/v1/grants", json={"policy": JINHUA, "claim": claim}, headers=headers,
                        timeout=30)  # an officer's
    assert granted.status_code == 201, granted.text
    assert granted.json()["grant"]["recorded_by"] == {"role": "local", "token": None}
    again = http.post(server.url + "/v1/grants", json={"policy": JINHUA, "claim": claim}, headers=headers, timeout=30)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == granted.content


def _wait_for(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_reload_keeps_the_old_store_on_errors_and_swaps_a_clean_one(running):
    server, (policies, _) = running
    file = policies / "jinhua/digital-engineer-subsidy/2024-05-01.yaml"
    original = file.read_bytes()
    before = decide(server)
    try:
        file.write_bytes(original.replace(b"require: ", b"require: no_such_name and ", 1))
        refused = http.post(server.url + "/v1/admin/reload", timeout=60).json()
        assert refused["reloaded"] is False and refused["errors"]
        assert any(e["code"].startswith("name.") or "no_such_name" in e["message"] for e in refused["errors"])
        ready = http.get(server.url + "/ready").json()
        assert ready["ready"] is True and ready["policies"]["reload_errors"] == refused["errors"]
        assert decide(server)["policy"] == before["policy"]  # the old store keeps serving

        # a clean change, picked up on SIGHUP: a new digest
        file.write_bytes(original + b"\n# a comment changes no data\nreview_by: 2030-01-01\n")
        server.signal(signal.SIGHUP)
        assert _wait_for(lambda: http.get(server.url + "/ready").json()["policies"]["reload_errors"] == [])
        after = decide(server)
        assert after["policy"]["digest"] != before["policy"]["digest"]
        verified = http.post(f"{server.url}/v1/decisions/{before['decision_id']}/verify").json()
        assert verified["status"] == "differs" and "digest differs" in verified["differences"][0]
    finally:
        file.write_bytes(original)
        http.post(server.url + "/v1/admin/reload", timeout=60)


def test_a_request_in_flight_finishes_on_its_store(running):
    """A long batch started before a reload answers every claim under the version it started with."""
    server, (policies, _) = running
    file = policies / "jinhua/digital-engineer-subsidy/2024-05-01.yaml"
    original = file.read_bytes()
    before = decide(server)["policy"]["digest"]
    body = b"".join(json.dumps(CLAIM | {"claim_id": f"FLIGHT-{i}"}).encode() + b"\n" for i in range(3000))
    try:
        file.write_bytes(original + b"\nreview_by: 2031-01-01\n")
        with httpx.Client(timeout=120) as client, client.stream(
                "POST", server.url + "/v1/evaluate:batch", params={"policy": JINHUA, "explain": "false"},
                content=body) as response:
            digests = []
            for i, line in enumerate(response.iter_lines()):
                if i == 1:
                    assert http.post(server.url + "/v1/admin/reload", timeout=60).json()["reloaded"]
                digests.append(json.loads(line)["policy"]["digest"])
        assert len(digests) == 3000 and set(digests) == {before}
        assert decide(server)["policy"]["digest"] != before
    finally:
        file.write_bytes(original)
        http.post(server.url + "/v1/admin/reload", timeout=60)


def test_a_client_that_goes_away_mid_body_leaves_one_quiet_line_not_a_traceback(tmp_path):
    """Routine behind proxies: a body cut short by the client was an "Exception in ASGI application" with a
    traceback per request in the server's log."""
    import socket

    with Server(*copy_store(tmp_path), f"sqlite:///{tmp_path / 'log.sqlite3'}") as server:
        for route in ("/v1/evaluate", "/v1/grants", "/v1/check"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
                connection.sendall(f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                   "Idempotency-Key: k-gone\r\nContent-Length: 1000\r\n\r\n{\"policy\"".encode())
        assert http.get(server.url + "/health").status_code == 200
        time.sleep(1)
    output = server.output()
    assert "Traceback" not in output and "ClientDisconnect" not in output, output

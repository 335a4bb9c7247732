"""Real servers for the service tests: `policy serve` on a free loopback port, the same app on uvicorn in a thread of
the test's own process (ThreadServer), and a PostgreSQL server of our own (initdb and pg_ctl into a temporary
folder, on a loopback port)."""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
POLICY = str(Path(sys.executable).parent / "policy")
JINHUA = "jinhua/digital-engineer-subsidy"
TOKENS = {"developer": "dev-token-0123456789abcdef", "officer": "officer-token-0123456789ab",
          "auditor": "auditor-token-0123456789ab", "admin": "admin-token-0123456789abcd"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_store(into: Path) -> tuple[Path, Path]:
    """A copy of the fixture store and its schemas, for tests that change files."""
    policies, schemas = into / "store", into / "schemas"
    shutil.copytree(FIXTURES / "store", policies)
    shutil.copytree(FIXTURES / "schemas", schemas)
    return policies, schemas


def write_tokens(folder: Path) -> Path:
    path = folder / "tokens.yaml"
    path.write_text("".join(f"{token}: {role}\n" for role, token in TOKENS.items()), encoding="utf-8")
    return path


def auth(role: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def _holds_listening_socket(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the socket listening on `port` (Linux's /proc), so that an answer on the port is
    its own and not another server's; None where /proc cannot say."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:] + Path("/proc/net/tcp6").read_text().splitlines()[1:]
        inodes = {fields[9] for fields in map(str.split, lines)
                  if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port}  # 0A: LISTEN
        held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return None
    return any(f"socket:[{inode}]" in held for inode in inodes)


class Server:
    """`policy serve` in a subprocess; `url` once /health answers."""

    def __init__(self, policies: Path, schemas: Path, database: str, *args: str, port: int | None = None,
                 env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database
        self.command = [POLICY, "--policies", str(policies), "--schemas", str(schemas), "serve", "--port",
                        str(self.port), "--database", database, "--log-level", "warning", *args]
        self.env = os.environ | (env or {})
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Server:
        # A free port can be taken by another process between free_port() and the bind (other test workers,
        # other suites on the machine): then another port, and another server's /health is not taken for ours.
        for _ in range(3):
            started = self._start(timeout)
            if started is not None:
                return started
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.command[self.command.index("--port") + 1] = str(self.port)
        raise AssertionError("policy serve found no free port three times")

    def _start(self, timeout: float) -> Server | None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                if "address already in use" in output.lower():
                    return None
                raise AssertionError(f"policy serve ended ({self.process.returncode}): {output}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    ours = _holds_listening_socket(self.process.pid, self.port)
                    if ours is None:  # no /proc to ask: ours answered, or another's on a port ours could not bind
                        time.sleep(0.3)
                        ours = self.process.poll() is None
                    if ours:
                        return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"policy serve did not answer within {timeout}s: {self.output()}")

    def output(self) -> str:
        if self.process and self.process.poll() is not None and self.process.stdout:
            return self.process.stdout.read().decode(errors="replace")
        return ""

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ThreadServer:
    """The app `policy serve` serves (the same settings, log migrated first, on uvicorn with the same options), in a
    thread of the test's own process on a loopback port; `url` once it listens. For the tests of what the service
    answers: a `policy serve` process costs most of a second of CPU to start (its imports), this a tenth. Where the
    process is what is tested (its signals, a SIGKILL, its options, --workers), Server."""

    def __init__(self, policies: Path, schemas: Path, database: str, *, tokens: Path | None = None):
        from engine.service.settings import Settings

        self.database = database
        self.settings = Settings(policies=str(Path(policies).resolve()), schemas=str(Path(schemas).resolve()),
                                 database=database, tokens=str(Path(tokens).resolve()) if tokens else None,
                                 session_key=os.urandom(32).hex())
        self.server = None
        self.thread: threading.Thread | None = None

    def start(self, timeout: float = 90) -> ThreadServer:
        import uvicorn

        from engine.cli.service import uvicorn_options
        from engine.db.database import connect, migrate
        from engine.service.app import create_app

        database = connect(self.database)
        migrate(database)  # as `policy serve` does, before it starts uvicorn
        database.dispose()
        # Bound here, so the port is ours before uvicorn starts: no race with other servers for a free port.
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        self.port = listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # log_config=None: uvicorn's messages go to the root logger (shown with a failing test), not to the stderr
        # of the test that happened to start the server.
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning",
                                log_config=None, **uvicorn_options())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listening]}, daemon=True,
                                       name=f"uvicorn-{self.port}")
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the service did not start within {timeout}s (see the log above)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.server.should_exit = True
            self.thread.join(60)
            assert not self.thread.is_alive(), "the service did not stop within 60 s"

    def __enter__(self) -> ThreadServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -------------------------------------------------------------------------------------------------
# PostgreSQL


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def need_postgres() -> Path:
    """The PostgreSQL binaries, or a skip saying why (under CI a failure: there they must be installed)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        reason = ("PostgreSQL is not installed (Debian package `postgresql`; ./dev installs it when run as "
                  "root): the PostgreSQL log tests need initdb and pg_ctl under /usr/lib/postgresql/*/bin")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return bin_dir


class Postgres:
    """A PostgreSQL server of its own in a temporary folder, on a loopback port, trusting local users.
    initdb refuses to run as root: as root it runs as the `postgres` user the Debian package creates.

    initdb runs once per test process, into a folder copied for each server (initdb costs most of a second of CPU,
    the copy a few hundredths): each server still has a cluster of its own."""

    _initialised: Path | None = None  # the data folder initdb made in this process, never started

    def __init__(self):
        self.bin = need_postgres()
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self.folder = self._folder()
        self.data = self.folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _folder(self) -> Path:
        # not under pytest's folder: only root may enter that, and the server runs as postgres
        folder = Path(tempfile.mkdtemp(prefix="policy-test-pg-"))
        if self.user is not None:
            os.chown(folder, self.user.pw_uid, self.user.pw_gid)
        return folder

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.user else []
        return subprocess.run(prefix + list(command), capture_output=True, text=True, check=check, cwd=self.folder)

    def init(self) -> Postgres:
        if Postgres._initialised is None or not Postgres._initialised.is_dir():
            template = self._folder() / "pgdata"
            self._run(str(self.bin / "initdb"), "-D", str(template), "-U", "postgres", "-A", "trust", "--no-sync",
                      "-E", "UTF8", "--locale=C")
            Postgres._initialised = template
            atexit.register(shutil.rmtree, template.parent, True)
        self._run("cp", "-a", str(Postgres._initialised), str(self.data))  # as its owner, with its modes
        return self

    def start(self) -> Postgres:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=on"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                  "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def __enter__(self) -> Postgres:
        return self.init().start()

    def __exit__(self, *exc) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def stream_batch(port: int, query: str, lines, headers: dict | None = None):
    """POST /v1/evaluate:batch sending `lines` while reading the answers, as a streaming client must (httpx
    sends the whole body before it reads: with a long batch both sides would wait on full buffers).
    Yields (status, line) for each answer line; the connection closes when the caller stops."""
    import http.client
    import threading

    connection = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = f"POST /v1/evaluate:batch?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
    connection.sendall(head.encode())

    def send():
        try:
            for line in lines:
                connection.sendall(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the reader went away

    threading.Thread(target=send, daemon=True).start()
    response = http.client.HTTPResponse(connection)
    try:
        response.begin()
        while line := response.readline():
            yield response.status, line
    except (OSError, http.client.HTTPException):
        return
    finally:
        connection.close()


# One client for the tests: a loaded machine can take more than httpx's default 5 seconds to answer.
http = httpx.Client(timeout=120)

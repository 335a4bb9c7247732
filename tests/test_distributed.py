"""`policy evaluate --dask` and `policy impact --dask` on real Dask clusters: `local:2`, and a `dask scheduler` with
two `dask worker` processes on 127.0.0.1 started and stopped here. The lines, counts and exit code are those of
one process; a worker killed in the middle of a run loses no claim and writes none twice. All marked slow.

The command runs in the test's own process (run_policy), also while a thread of the test kills a worker: the
cluster's workers are the processes (a `policy` process of its own cost most of a second of imports). A `local:2`
cluster costs two new workers (two seconds of CPU), so one run starts one (the command starts and stops its cluster
alike for evaluate and impact); the other runs go to the module's scheduler, whose workers are started once, with a
temporary folder of their own that shows they leave no copy of the store behind. The runs a worker is killed in
decide a smaller file: it only has to be still going."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from clirun import run_policy

from engine.claims.partitions import Partition, partitions

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STORE = ["--policies", str(ROOT / "tests" / "fixtures" / "store"), "--schemas", str(ROOT / "tests" / "fixtures" /
                                                                                  "schemas")]
POLICY = "jinhua/digital-engineer-subsidy"


def _dask_or_skip() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("Dask is part of the dev set-up (pip install 'policy-engine[dask]')")
        pytest.skip("Dask is not installed (pip install 'policy-engine[dask]')")


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory) -> Path:
    """The bytes `python bench/generate.py 6000 --seed 16` writes, then lines no reader takes, and a blank one, at
    the end: their numbers must hold."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    path = tmp_path_factory.mktemp("dask-claims") / "claims.jsonl"
    path.write_bytes(b"".join(generate._dumps(claim) + b"\n" for claim in generate.claims(6000, 16))
                     + b'\n{"claim_id": "dup", "claim_id": "dup"}\nnot json\n')
    return path


def test_partitions_cut_at_line_boundaries_and_number_their_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [f'{{"n": {i}}}\n'.encode() * (1 + i % 3) for i in range(200)]
    path.write_bytes(b"".join(lines) + b'{"last": true}')
    data = path.read_bytes()
    parts = list(partitions([str(path)], size=1024))
    assert len(parts) > 3
    assert parts[0].start == 0 and parts[-1].end == len(data)
    line = 1
    for before, after in zip(parts, parts[1:], strict=False):
        assert before.end == after.start and data[before.end - 1:before.end] == b"\n"
    for part in parts:
        assert part.first_line == line
        line += data[part.start:part.end].count(b"\n")
    assert list(partitions([str(path.with_suffix(".yaml"))])) == [Partition(0, str(path.with_suffix(".yaml")))]


def _one_process(claims_file: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_policy(*STORE, "evaluate", str(claims_file), "--policy", POLICY, "--format", "json", *extra, cwd=ROOT,
                      env=env)


@pytest.fixture(scope="module")
def few_claims(claims_file, tmp_path_factory) -> Path:
    """The first 2,000 claims of `claims_file` and its two bad lines: the full decisions of 18 partitions of 100 KB,
    while a worker is killed once the first 200 KB of them are written."""
    lines = claims_file.read_bytes().splitlines(keepends=True)
    path = tmp_path_factory.mktemp("dask-few") / "claims.jsonl"
    path.write_bytes(b"".join(lines[:2000] + lines[-3:]))
    return path


@pytest.fixture(scope="module")
def alone(claims_file):
    """The one-process answers the clusters' are compared with, each computed once for the module (read only), in
    the test's own process: the same command without --dask, on `claims_file` or the file given."""
    answers: dict[tuple, subprocess.CompletedProcess] = {}

    def answer(*extra: str, claims: Path = claims_file) -> subprocess.CompletedProcess:
        if (claims, extra) not in answers:
            answers[claims, extra] = run_policy(*STORE, "evaluate", str(claims), "--policy", POLICY, "--format",
                                                "json", *extra, cwd=ROOT)
        return answers[claims, extra]

    return answer


@pytest.mark.slow
def test_local_cluster_gives_the_lines_counts_and_exit_code_of_one_process(claims_file, alone,
                                                                          scheduler_and_two_workers):
    _dask_or_skip()
    address, _ = scheduler_and_two_workers
    for extra, cluster in ((["--summary"], "local:2"), ([], address)):
        one = alone(*extra)
        on_cluster = _one_process(claims_file, *extra, "--dask", cluster, "--partition-bytes", "400000")
        assert on_cluster.returncode == one.returncode == 2, on_cluster.stderr.decode()
        assert on_cluster.stdout == one.stdout
        assert on_cluster.stderr.decode().splitlines()[0] == one.stderr.decode().splitlines()[0]


def _parts(folder: Path) -> bytes:
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"part-{i:05d}.jsonl" for i in range(len(names))], names  # no temporary or duplicate part
    return b"".join((folder / name).read_bytes() for name in names)


@pytest.mark.slow
def test_a_cluster_writes_a_folder_of_parts_or_one_file_as_one_process_writes_its_output(
        claims_file, alone, scheduler_and_two_workers, tmp_path):
    address, _ = scheduler_and_two_workers
    one = alone("--summary")
    folder = tmp_path / "parts"
    on_cluster = _one_process(claims_file, "--summary", "--dask", address, "--partition-bytes", "400000",
                              "--output", f"{folder}/")
    assert on_cluster.returncode == one.returncode == 2, on_cluster.stderr.decode()
    assert on_cluster.stdout == b"" and on_cluster.stderr == one.stderr, on_cluster.stderr.decode()
    assert _parts(folder) == one.stdout and len(list(folder.iterdir())) > 3
    target = tmp_path / "decisions.jsonl"
    into_file = _one_process(claims_file, "--summary", "--dask", address, "--partition-bytes", "400000", "-o",
                             str(target))
    assert into_file.returncode == 2 and into_file.stdout == b"" and target.read_bytes() == one.stdout
    again = _one_process(claims_file, "--summary", "--dask", address, "--output", str(folder))
    assert again.returncode == 73 and b"is not empty" in again.stderr and b"Traceback" not in again.stderr


IMPACT = ["impact", POLICY, "--from", "2025-02-01", "--to", "2025-04-01", "--format", "json"]


@pytest.fixture(scope="module")
def impact_alone(claims_file):
    """The report of `policy impact` claim by claim in one process (in the test's own), computed once."""
    return run_policy(*STORE, *IMPACT, str(claims_file), "--per-claim", cwd=ROOT)


@pytest.mark.slow
def test_scheduler_and_two_workers_give_the_impact_report_of_one_process(claims_file, impact_alone,
                                                                          scheduler_and_two_workers, scheduler):
    address, _ = scheduler_and_two_workers
    for mode in ("--per-claim", "--columnar"):
        on_cluster = run_policy(*STORE, *IMPACT, str(claims_file), mode, "-v", "--dask", address,
                                "--partition-bytes", "300000", cwd=ROOT)
        assert on_cluster.returncode == impact_alone.returncode, on_cluster.stderr.decode()
        assert on_cluster.stdout == impact_alone.stdout
    said = on_cluster.stderr.decode()
    decided = re.search(r"columnar engine: (\d+) claims decided by columns, (\d+) by the per-claim engine", said)
    assert decided and sum(map(int, decided.groups())) == 6002, said  # the workers' counts, merged
    workers_temporary = scheduler[3]
    assert list(workers_temporary.glob("policy-store-*")) == []  # the workers' copies of the store are gone


@pytest.mark.parametrize("spec, said", [
    ("tcp://127.0.0.1:99999", "its port is a number from 1 to 65535"),
    ("tcp://127.0.0.1:port", "its port is a number from 1 to 65535"),
    ("tcp://scheduler", "has no port: a scheduler listens on 8786 unless it was told otherwise, so "
                        "tcp://scheduler:8786"),
    ("tcp://", "it is a host and a port"),
    ("tcp://127.0.0.1:8786/status", "it is a host and a port"),
    ("tcp://user@host:8786", "it is a host and a port"),
    ("inproc://x", "it begins with tcp://, tls://, ws:// or wss://"),
    ("http://scheduler:8786", "it begins with tcp://, tls://, ws:// or wss://"),
    ("scheduler:8786", "--dask takes local:N or a scheduler address such as tcp://host:8786, not 'scheduler:8786'"),
])
def test_a_malformed_scheduler_address_is_said_in_words(spec, said):
    from engine.distributed.cluster import scheduler_address

    with pytest.raises(ValueError) as refused:
        scheduler_address(spec)
    assert said in str(refused.value)


@pytest.mark.parametrize("spec, host, port", [("tcp://127.0.0.1:8786", "127.0.0.1", 8786),
                                              ("TLS://[::1]:9000", "::1", 9000),
                                              ("ws://scheduler.example:443", "scheduler.example", 443)])
def test_a_scheduler_address_is_its_host_and_port(spec, host, port):
    from engine.distributed.cluster import scheduler_address

    assert scheduler_address(spec) == (host, port)


@pytest.mark.slow
def test_a_bad_scheduler_is_a_usage_error_or_unavailable(claims_file):
    _dask_or_skip()
    wrong = _one_process(claims_file, "--summary", "--dask", "local:zero")
    assert wrong.returncode == 64 and b"local:N" in wrong.stderr
    out_of_range = _one_process(claims_file, "--summary", "--dask", "tcp://127.0.0.1:99999")
    assert out_of_range.returncode == 64 and b"from 1 to 65535" in out_of_range.stderr
    waiting = _one_process(claims_file, "--summary", "--dask", "tcp://127.0.0.1:1", env={"POLICY_DASK_TIMEOUT": "x"})
    assert waiting.returncode == 64 and b"POLICY_DASK_TIMEOUT is how long to wait" in waiting.stderr
    # Refused at once, whatever the deadline: nothing listens there.
    gone = _one_process(claims_file, "--summary", "--dask", f"tcp://127.0.0.1:{_free_port()}",
                        env={"POLICY_DASK_TIMEOUT": "10m"})
    assert gone.returncode == 69 and b"cannot reach the Dask scheduler" in gone.stderr
    assert b"nothing listens on port" in gone.stderr and gone.stderr.count(b"\n") == 1
    stdin = _one_process(Path("-"), "--summary", "--dask", "local:1")
    assert stdin.returncode == 64
    unset = _one_process(claims_file, "--summary", "--dask", "")  # `--dask "$SCHEDULER"`, the variable unset
    assert unset.returncode == 64 and b"--dask" in unset.stderr and unset.stdout == b""


@pytest.mark.slow
def test_a_server_that_is_not_a_scheduler_is_unavailable_within_the_deadline(claims_file):
    """Something listens, and never answers Dask's handshake: Dask itself would wait for ever."""
    _dask_or_skip()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes connections it is never asked to accept
        port = silent.getsockname()[1]
        stalled = _one_process(claims_file, "--summary", "--dask", f"tcp://127.0.0.1:{port}",
                               env={"POLICY_DASK_TIMEOUT": "1s"})
    assert stalled.returncode == 69, stalled.stderr.decode()
    assert b"did not answer as a Dask scheduler within 1 s" in stalled.stderr
    assert stalled.stdout == b""


def _interrupted(claims_file: Path, tmp_path: Path, *extra: str, after_bytes: int = 0,
                 wait: float = 0.0) -> tuple[subprocess.Popen, bytes, str]:
    """The command of `_one_process` given a terminal's Ctrl-C (SIGINT to its whole process group) once its output
    holds `after_bytes`, or after `wait` seconds; never a hang."""
    out = tmp_path / "out.jsonl"
    with out.open("wb") as handle:
        process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *STORE, "evaluate", str(claims_file),
                                    "--policy", POLICY, "--format", "json", *extra], cwd=ROOT, stdout=handle,
                                   stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        time.sleep(wait)
        while out.stat().st_size < after_bytes and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise AssertionError("the command did not stop within 60 s of Ctrl-C") from None
    return process, out.read_bytes(), err.decode()


@pytest.mark.slow
def test_ctrl_c_stops_a_run_on_a_local_cluster_at_a_partition(claims_file, tmp_path):
    """The terminal sends SIGINT to the workers of local:N too: they must not die of it, each with a traceback,
    while the command waits for ever for their results."""
    _dask_or_skip()
    process, data, err = _interrupted(claims_file, tmp_path, "--dask", "local:2", "--partition-bytes", "100000",
                                      after_bytes=200_000)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    written = data.count(b"\n")
    assert data.endswith(b"\n") and f"interrupted after {written} claims were written" in err


@pytest.mark.slow
def test_ctrl_c_stops_the_wait_for_a_scheduler_that_does_not_answer(claims_file, tmp_path):
    _dask_or_skip()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete, and Dask's handshake is never answered
        started = time.monotonic()
        process, data, err = _interrupted(claims_file, tmp_path, "--summary", "--dask",
                                          f"tcp://127.0.0.1:{silent.getsockname()[1]}", wait=3)
    assert process.returncode == 130 and data == b"", err
    assert time.monotonic() - started < 15  # not the 20 s the scheduler is waited for
    assert "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_workers(address: str, n: int, timeout: float = 120) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A `dask scheduler` on 127.0.0.1 for the module, and the `dask worker` processes it has (started by
    `scheduler_and_two_workers`): starting each costs a second of CPU, and only a worker a test kills needs a new
    one. (address, the workers, a function that starts one more, the workers' temporary folder)"""
    _dask_or_skip()
    dask = shutil.which("dask", path=str(BIN)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    temporary = tmp_path_factory.mktemp("dask-workers-tmp")  # where the workers write their copies of the store
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                               stdout=(logs / "scheduler").open("wb"), stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    workers: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                                   "--no-dashboard", "--host", "127.0.0.1"],
                                  stdout=(logs / f"worker{len(workers)}").open("wb"), stderr=subprocess.STDOUT,
                                  env=env | {"TMPDIR": str(temporary)}, start_new_session=True)
        workers.append(worker)
        return worker

    try:
        yield address, workers, start_worker, temporary
    finally:
        # The workers first, while their scheduler can still hear them say goodbye: a worker whose scheduler
        # has gone waits for it (tens of seconds) before it ends.
        _stop(workers)
        _stop([process])


@pytest.fixture()
def scheduler_and_two_workers(scheduler):
    """The module's scheduler with two live workers: one a test killed is replaced first."""
    address, workers, start_worker, _ = scheduler
    alive = [worker for worker in workers if worker.poll() is None]
    while len(alive) < 2:
        alive.append(start_worker())
    _wait_for_workers(address, 2)
    return address, alive


@pytest.mark.slow
def test_scheduler_and_two_workers_give_the_lines_of_one_process(claims_file, alone, scheduler_and_two_workers):
    address, _ = scheduler_and_two_workers
    one = alone("--summary")
    on_cluster = _one_process(claims_file, "--summary", "--dask", address, "--partition-bytes", "300000")
    assert on_cluster.returncode == one.returncode, on_cluster.stderr.decode()
    assert on_cluster.stdout == one.stdout


@pytest.mark.slow
def test_a_workers_address_for_the_schedulers_is_said_in_words(claims_file, scheduler_and_two_workers):
    from distributed import Client

    address, _ = scheduler_and_two_workers
    with Client(address, timeout=30) as client:
        worker = next(iter(client.scheduler_info()["workers"]))
    mistaken = _one_process(claims_file, "--summary", "--dask", worker)
    said = mistaken.stderr.decode()
    assert mistaken.returncode == 69 and "is a Dask server but not a scheduler (a worker's address?)" in said, said
    assert "TypeError" not in said and said.count("\n") == 1


@pytest.mark.slow
def test_a_relative_path_reaches_the_workers_of_a_scheduler(few_claims, scheduler_and_two_workers):
    """The workers run in a folder of their own: a path relative to this command's folder is sent absolute, so they
    read the claims instead of each claim being `claim.unreadable`."""
    address, _ = scheduler_and_two_workers
    args = (*STORE, "evaluate", few_claims.name, "--policy", POLICY, "--format", "json", "--summary")
    one = run_policy(*args, cwd=few_claims.parent)
    on_cluster = run_policy(*args, "--dask", address, "--partition-bytes", "100000", cwd=few_claims.parent)
    assert on_cluster.returncode == one.returncode, on_cluster.stderr.decode()
    assert b"claim.unreadable" not in on_cluster.stdout
    # the same decisions; the error records of the two bad lines name the file by its absolute path
    assert on_cluster.stdout.replace(str(few_claims).encode(), few_claims.name.encode()) == one.stdout


@pytest.mark.slow
def test_scheduler_and_two_workers_write_parquet_parts_holding_the_lines_of_one_process(
        claims_file, alone, scheduler_and_two_workers, tmp_path):
    from tests.test_parquet_output import row_as_summary, rows_of  # pyarrow: part of the dask extra

    address, _ = scheduler_and_two_workers
    one = alone("--summary")
    folder = tmp_path / "parts"
    on_cluster = run_policy(*STORE, "evaluate", str(claims_file), "--policy", POLICY, "--summary", "--format",
                            "parquet", "--dask", address, "--partition-bytes", "300000", "--output", f"{folder}/",
                            cwd=ROOT)
    assert on_cluster.returncode == one.returncode and on_cluster.stdout == b"", on_cluster.stderr.decode()
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) > 3 and names == [f"part-{i:05d}.parquet" for i in range(len(names))]
    assert [row_as_summary(row) for row in rows_of(folder)] == [orjson.loads(line) for line in one.stdout.splitlines()]


def _kill_mid_run(claims_file: Path, address: str, started, kill, *extra: str, stdout=None) -> tuple:
    """(exit code, standard output, standard error) of a run of full decisions on the cluster (slower than
    summaries, so the run is still going), with `kill()` called once `started()` says it is well under way. The
    command runs in the test's own process (the workers are the processes a test kills), watched by a thread."""
    finished, killed = threading.Event(), threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 300
        while not finished.is_set() and time.monotonic() < deadline:
            if started():
                if not finished.is_set():
                    kill()
                    killed.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = run_policy(*STORE, "evaluate", str(claims_file), "--policy", POLICY, "--format", "json", "--dask",
                         address, "--partition-bytes", "100000", *extra, cwd=ROOT, stdout=stdout)
    finally:
        finished.set()
        watcher.join()
    assert killed.is_set(), "the run ended before a worker could be killed: make the input larger"
    return run.returncode, run.stdout, run.stderr


@pytest.mark.slow
def test_scheduler_and_two_workers_write_the_parts_of_one_process(few_claims, alone, scheduler_and_two_workers,
                                                                  tmp_path):
    address, workers = scheduler_and_two_workers
    one = alone(claims=few_claims)
    folder = tmp_path / "parts"
    code, stdout, stderr = _kill_mid_run(
        few_claims, address, lambda: folder.is_dir() and len(list(folder.glob("part-*"))) >= 2,
        workers[0].kill, "--output", f"{folder}/")  # mid-part, most likely: its temporary part is never renamed
    assert code == one.returncode, stderr.decode()
    assert stdout == b"" and _parts(folder) == one.stdout


def _kill_mid_run_to(out: Path, claims_file: Path, address: str, kill) -> tuple[int, bytes]:
    """(exit code, standard error) of _kill_mid_run writing to `out`, killing once it has written 200 KB."""
    with out.open("wb") as sink:
        code, _, err = _kill_mid_run(claims_file, address, lambda: out.stat().st_size >= 200_000, kill, stdout=sink)
    return code, err


@pytest.mark.slow
def test_a_killed_worker_loses_no_claim_and_writes_none_twice(few_claims, alone, scheduler_and_two_workers,
                                                             tmp_path):
    address, workers = scheduler_and_two_workers
    one = alone(claims=few_claims)
    out = tmp_path / "out.jsonl"
    code, stderr = _kill_mid_run_to(out, few_claims, address, workers[0].kill)  # SIGKILL: no goodbye
    assert code == one.returncode, stderr.decode()
    assert out.read_bytes() == one.stdout


@pytest.mark.slow
def test_a_run_whose_every_worker_dies_sends_the_store_again_to_the_next(few_claims, alone, scheduler, tmp_path):
    # The store is scattered once; Dask re-runs a dead worker's tasks but cannot recompute scattered data, so when
    # the only worker holding it dies, every task that needs it is cancelled: the run must send it again.
    address, workers, start_worker, _ = scheduler
    alive = [worker for worker in workers if worker.poll() is None]
    _stop(alive[1:])  # one worker is left of those before (each costs a second of CPU to start), or a new one
    only = alive[0] if alive else start_worker()
    _wait_for_workers(address, 1)
    one = alone(claims=few_claims)
    out = tmp_path / "out.jsonl"

    def kill_the_only_worker() -> None:
        only.kill()  # the one copy of the store goes with it
        start_worker()

    code, stderr = _kill_mid_run_to(out, few_claims, address, kill_the_only_worker)
    assert code == one.returncode, stderr.decode()
    assert out.read_bytes() == one.stdout


@pytest.mark.parametrize(("address", "code", "said"), [
    ("tls://127.0.0.1:9", 69, "cannot reach the Dask scheduler at tls://127.0.0.1:9"),
    ("tcp://127.0.0.1:8786/path", 64, "is not a scheduler address: it is a host and a port"),
    ("inproc://x", 64, "is not a scheduler address"),
])
def test_a_scheduler_address_dask_cannot_use_is_said_in_one_line(address, code, said):
    """TLS without certificates and the like were exit 70 with Dask's exception; a malformed address was Python's
    own words ("not enough values to unpack")."""
    claims = ROOT / "tests" / "fixtures" / "claims.jsonl"
    done = run_policy(*STORE, "evaluate", str(claims), "--policy", POLICY, "--summary", "--dask", address, cwd=ROOT)
    err = done.stderr.decode()
    assert done.returncode == code and said in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1

"""The cluster of `--dask SCHEDULER`: a local one started here, or a running scheduler reached at its address.

An address is checked in words before Dask sees it, and reached in two steps that each have a deadline: a TCP
connection (so that a port nobody listens on is said at once, not after the deadline), then Dask's handshake, in a
thread of its own, because Dask waits for ever when something other than a scheduler answers (a web server)."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from engine.core.i18n import tr
from engine.core.records import dataclass

SCHEMES = ("tcp", "tls", "ws", "wss")  # Dask's schemes that reach another machine
WAIT = "20s"  # for the scheduler to answer; POLICY_DASK_TIMEOUT changes it


class ClusterUnavailable(Exception):
    """The scheduler could not be reached or started, or Dask is not installed."""


@dataclass
class Cluster:
    client: object
    cluster: object | None = None
    workers: int = 1

    def close(self) -> None:
        self.client.close()  # type: ignore[attr-defined]
        if self.cluster is not None:
            self.cluster.close()  # type: ignore[attr-defined]


def connect(spec: str, interrupted: Callable[[], None] = lambda: None) -> Cluster:
    """`local:N` (a cluster of N worker processes on this machine, started and stopped here) or the address of a
    running scheduler (tcp://host:8786). ValueError: the spec is malformed; ClusterUnavailable: nothing to run on.
    `interrupted` is called while waiting for the scheduler: it raises to stop waiting (after Ctrl-C)."""
    try:
        import distributed
    except ImportError:
        raise ClusterUnavailable(tr("--dask needs Dask: pip install 'policy-engine[dask]'")) from None
    # Dask's own log lines (a key it reschedules, a connection it retries, a worker's heartbeat that outlives the
    # scheduler at shutdown) are not the user's output: what matters reaches us as an exception, said in one line.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if spec.startswith("local:"):
        return _local(distributed, spec)
    host, port = scheduler_address(spec)
    seconds = _wait()
    _listening(spec, host, port, seconds)
    client = _handshake(distributed, spec, seconds, interrupted)
    return Cluster(client, None, len(client.scheduler_info().get("workers", {})) or 1)


def scheduler_address(spec: str) -> tuple[str, int]:
    """(host, port) of a scheduler's address such as tcp://host:8786, or ValueError saying what is wrong."""
    scheme, separator, rest = spec.partition("://")
    if not separator:
        raise ValueError(tr("--dask takes local:N or a scheduler address such as tcp://host:8786, not {spec!r}",
                            spec=spec))
    if scheme.lower() not in SCHEMES:
        raise ValueError(tr("{spec} is not a scheduler address: it begins with tcp://, tls://, ws:// or wss://",
                            spec=spec))
    parts = urlsplit("//" + rest)
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = -1
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc or not parts.hostname:
        raise ValueError(tr("{spec} is not a scheduler address: it is a host and a port, such as tcp://host:8786",
                            spec=spec))
    if port is None:
        raise ValueError(tr("{spec} has no port: a scheduler listens on 8786 unless it was told otherwise, so "
                            "tcp://{host}:8786", spec=spec, host=parts.netloc))
    if not 1 <= port <= 65535:
        raise ValueError(tr("{spec} is not a scheduler address: its port is a number from 1 to 65535", spec=spec))
    return parts.hostname, port


def _wait() -> float:
    from dask.utils import parse_timedelta

    value = os.environ.get("POLICY_DASK_TIMEOUT", WAIT)
    try:
        seconds = parse_timedelta(value)
    except (ValueError, KeyError, TypeError):
        seconds = None
    if not seconds or seconds <= 0:
        raise ValueError(tr("POLICY_DASK_TIMEOUT is how long to wait for the scheduler, such as 20s or 2m, not "
                            "{value!r}", value=value))
    return float(seconds)


def _listening(spec: str, host: str, port: int, seconds: float) -> None:
    def unavailable(problem: str) -> ClusterUnavailable:
        return ClusterUnavailable(tr("cannot reach the Dask scheduler at {spec}: {problem}", spec=spec,
                                     problem=problem))

    try:
        socket.create_connection((host, port), timeout=seconds).close()
    except socket.gaierror:
        raise unavailable(tr("there is no host named {host}", host=host)) from None
    except ConnectionRefusedError:
        raise unavailable(tr("nothing listens on port {port} of {host}", port=port, host=host)) from None
    except TimeoutError:
        raise unavailable(tr("{host} did not answer within {seconds:g} s", host=host, seconds=seconds)) from None
    except OSError as exc:  # no route to the host, the network down
        raise unavailable(exc.strerror or type(exc).__name__) from None


def _handshake(distributed, spec: str, seconds: float, interrupted: Callable[[], None]):
    made: list = []

    def make() -> None:
        try:
            made.append(distributed.Client(spec, timeout=seconds))
        except BaseException as exc:  # noqa: BLE001 -- handed over to the caller's thread
            made.append(exc)

    thread = threading.Thread(target=make, name="dask-handshake", daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds + 1  # Dask's own deadline first, where it keeps one
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.1)
        interrupted()
    if not made:
        raise ClusterUnavailable(tr("cannot reach the Dask scheduler at {spec}: what listens there did not answer "
                                    "as a Dask scheduler within {seconds:g} s", spec=spec, seconds=seconds))
    if isinstance(made[0], BaseException):
        exc = made[0]
        if isinstance(exc, TypeError):  # another Dask server (a worker, a nanny) answered a scheduler's question
            raise ClusterUnavailable(tr("cannot reach the Dask scheduler at {spec}: what answers there is a Dask "
                                        "server but not a scheduler (a worker's address?)", spec=spec)) from None
        if isinstance(exc, ValueError):  # an address Dask cannot use after all
            raise ValueError(tr("{spec} is not a scheduler address such as tcp://host:8786: {problem}", spec=spec,
                                problem=str(exc) or type(exc).__name__)) from None
        raise ClusterUnavailable(tr("cannot reach the Dask scheduler at {spec}: {problem}", spec=spec,
                                    problem=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)) \
            from None
    return made[0]


def _local(distributed, spec: str) -> Cluster:
    try:
        n = int(spec.removeprefix("local:"))
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        raise ValueError(tr("local:N takes a number of workers from 1 to 256, not {spec!r}", spec=spec))
    _workers_from_a_fork_server()
    # No dashboard; the scheduler's HTTP server (which it starts even so) on any free port of loopback, not on
    # 8787, whose "already in use" warning another cluster on the machine would otherwise print.
    with _interrupts_ignored():
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.CRITICAL,
                                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    return Cluster(distributed.Client(cluster), cluster, n)


@contextlib.contextmanager
def _interrupts_ignored():
    """SIGINT ignored while the local workers (and the fork server they come from) start: they inherit it, and a
    Python started with SIGINT ignored keeps ignoring it. A terminal's Ctrl-C goes to the whole process group; the
    workers must not die of it (each with a traceback, the command then waiting for ever for their results): the
    command stops at the next partition and closes the cluster, as a local batch stops its worker processes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _workers_from_a_fork_server() -> None:
    """A local cluster's workers forked from one fork server, which imports Dask once, rather than spawned, each
    importing it again (half a second of CPU a worker) — where the platform has one and Dask's configuration keeps
    its default way (distributed.worker.multiprocessing-method: spawn). The fork server starts with the first
    cluster of the process: its workers see the environment of that moment."""
    import multiprocessing

    import dask

    key = "distributed.worker.multiprocessing-method"
    if dask.config.get(key) == "spawn" and "forkserver" in multiprocessing.get_all_start_methods():
        dask.config.set({key: "forkserver"})

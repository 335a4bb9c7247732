"""Batches on a Dask cluster: partitions of the input decided by workers, written in input order by the caller.

The input is cut into partitions: a JSON Lines file into byte ranges that start and end at line boundaries
(each knows the number of its first line, so error records name the same `file:line` as one process), a Parquet
file into its row groups, any other file into one partition of its own. With --output DIR/ each task writes its
partition's part itself (engine.decide.output), under a temporary name renamed when whole. Workers read their
partitions from the files themselves (the files must be where every worker can read them: a shared or network file
system).

The store travels once: the driver scatters its files to every worker with their digest; a worker loads and
compiles it once per digest, and checks both the digest of what it received and the digest of every version it
loaded against the driver's before it decides anything. A task is a pure function of its partition, so when a
worker dies, Dask runs the task again on another worker; results are taken only from finished tasks, in input
order, so no claim is lost or written twice.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import field, replace
from datetime import date
from pathlib import Path

from engine.claims.partitions import PARTITION_BYTES, Partition, claims_of, partitions
from engine.core.i18n import msg, tr
from engine.core.records import dataclass
from engine.decide.batch import CHUNK, COLUMNAR_CHUNK, Counts, OutputFormat, _chunks, _decide_chunk
from engine.decide.output import part_name, part_suffix, sweep, write_whole
from engine.distributed.cluster import Cluster, ClusterUnavailable


class WorkerRefused(Exception):
    """A worker's store is not the driver's (its digest differs), or the policy is broken there."""


@dataclass(frozen=True)
class StoreFiles:
    """Every file of a store (policies and input schemas), with the digest of all of them."""

    digest: str
    files: tuple  # ((folder, relative path, bytes), ...): folder is "policies" or "schemas"
    versions: tuple  # ((version key, version digest), ...) as the driver loaded them

    @classmethod
    def of(cls, store) -> StoreFiles:
        files = []
        for folder, root in (("policies", Path(store.root)), ("schemas", Path(store.schemas_dir))):
            if root.is_dir():
                files += [(folder, p.relative_to(root).as_posix(), p.read_bytes())
                          for p in sorted(root.rglob("*")) if p.is_file()]
        files_tuple = tuple(files)
        return cls(_digest(files_tuple), files_tuple, _versions(store))


def _digest(files: tuple) -> str:
    h = hashlib.sha256()
    for folder, name, data in files:
        for part in (folder.encode(), name.encode("utf-8"), data):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
    return h.hexdigest()


def _versions(store) -> tuple:
    every = [*store.by_id.values(), *store.repeals.values()]  # a repeal changes what is in force as a version does
    return tuple(sorted((v.key, v.digest) for versions in every for v in versions))


@dataclass(frozen=True)
class EvaluateJob:
    """What every task of `policy evaluate --dask` needs besides its partition."""

    policy_id: str
    version: str | None
    known_on: date | None
    any_date: bool
    as_of: date | None
    fmt: OutputFormat
    parts: str | None = None  # --output DIR/: each task writes its partition's part there, and sends back no lines
    count: int = 0  # partitions of the run, for the parts' names


@dataclass(frozen=True)
class ImpactJob:
    """What every task of `policy impact --dask` needs: each side as Engine.scenario's arguments."""

    policy_id: str
    before: str  # --from: a date (YYYY-MM-DD) or @VERSION, as the command line took it
    after: str  # --to
    columnar: bool = False  # each partition compared by columns first (engine.columnar.impact)


# -- on the workers ---------------------------------------------------------------------------------------------

_ENGINES: dict = {}  # store digest -> Engine, loaded once per worker process
_EVALUATORS: dict = {}


def _engine(store: StoreFiles):
    from engine.api import Engine

    engine = _ENGINES.get(store.digest)
    if engine is not None:
        return engine
    if _digest(store.files) != store.digest:
        raise WorkerRefused(msg("the store received has digest {received}, not {sent}",
                                received=_digest(store.files)[:12], sent=store.digest[:12]))
    folder = Path(tempfile.mkdtemp(prefix=f"policy-store-{store.digest[:12]}-"))
    try:
        for sub, name, data in store.files:
            target = folder / sub / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / "policies").mkdir(exist_ok=True)
        engine = Engine.load(folder / "policies", folder / "schemas")
    finally:  # the engine holds what it read: every run would otherwise leave a copy of the store behind
        shutil.rmtree(folder, ignore_errors=True)
    if _versions(engine.store) != store.versions:
        raise WorkerRefused(msg("the versions this worker loaded do not have the driver's digests"))
    _ENGINES[store.digest] = engine
    return engine


def decide_partition(store: StoreFiles, job: EvaluateJob, part: Partition) -> tuple:
    """(index, output bytes, Counts, columnar Stats) of one partition; ("refused", message) or ("invalid",
    diagnostics) when the worker cannot decide under this store."""
    from engine.api import PolicyInvalid, Selection
    from engine.columnar.batch import Stats

    try:
        engine = _engine(store)
        key = (store.digest, job.policy_id, job.version, job.known_on, job.any_date, job.fmt.summary)
        evaluator = _EVALUATORS.get(key)
        if evaluator is None:
            summary = job.fmt.summary
            evaluator = _EVALUATORS[key] = engine.evaluator(
                job.policy_id, Selection(job.version, job.known_on, job.any_date), explain=not summary,
                outputs=not summary)
        stats = Stats()
        out, counts = [], Counts()
        claims = claims_of(part, record=evaluator.input_type())
        for chunk in _chunks(claims, COLUMNAR_CHUNK if job.fmt.columnar else CHUNK):
            data, c = _decide_chunk(evaluator, chunk, job.as_of, job.fmt, stats)
            out.append(data)
            counts.merge(c)
        if job.parts is None:
            return part.index, b"".join(out), counts, stats
        write_whole(Path(job.parts) / part_name(part.index, job.count, part_suffix(job.fmt)), out, job.fmt)
        return part.index, b"", counts, stats
    except WorkerRefused as exc:
        return "refused", exc.args[0]  # the msg(), shown in the driver's language
    except PolicyInvalid as exc:
        return "invalid", exc.diagnostics


def impact_partition(store: StoreFiles, job: ImpactJob, part: Partition) -> tuple:
    """(index, ImpactReport of the partition, claim id -> locations, columnar Stats or None) of one partition."""
    from engine.api import PolicyInvalid
    from engine.audit.impact import compare

    try:
        engine = _engine(store)
        key = (store.digest, "impact", job)
        sides = _EVALUATORS.get(key)
        if sides is None:
            from engine.audit.impact import side  # as the command line decides each side

            sides = _EVALUATORS[key] = tuple(side(engine, job.policy_id, text)[0] for text in (job.before, job.after))
        seen: dict = {}
        stats = None
        if job.columnar:
            from engine.columnar.batch import Stats

            stats = Stats()
        report = compare(sides[0], sides[1], claims_of(part, record=sides[0].input_type()), "", "", seen=seen,
                         by_columns=job.columnar, stats=stats)
        return part.index, report, seen, stats
    except WorkerRefused as exc:
        return "refused", exc.args[0]  # the msg(), shown in the driver's language
    except PolicyInvalid as exc:
        return "invalid", exc.diagnostics


# -- on the driver ----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    counts: Counts = field(default_factory=Counts)
    refused: str | None = None
    invalid: list | None = None
    stats: object = None

    def stopped_by(self, result: tuple) -> bool:
        """True when a partition could not be decided at all (the store refused, or its files are invalid):
        kept here, and the run stops."""
        if result[0] == "refused":
            self.refused = result[1]
        elif result[0] == "invalid":
            self.invalid = result[1]
        else:
            return False
        return True


# How often a partition is sent again after the store it needs was lost with every worker that held a copy, and how
# long a run waits for a worker to send it to.
_RESHIPPED = 3
_WORKER_WAIT = 120


def _in_order(cluster: Cluster, function: Callable, store: StoreFiles, job, parts: Iterator[Partition],
              handle: Callable[[tuple], bool]) -> None:
    """Submit a task per partition, at most a few per worker in flight, and hand each result over in input
    order; stop early when `handle` says so.

    The store goes to every worker once (scattered), not with each task. Dask re-runs the task of a worker that
    dies, but data scattered is not recomputed: when the last worker holding the store's copy dies (the workers
    that joined after the store was sent have none), the scheduler forgets the store and cancels every task that
    needs it. Then the store is sent again, once a worker is there to take it, and those partitions are submitted
    again; a result is still handed over once, in order."""
    from concurrent.futures import CancelledError

    client = cluster.client
    shipped: list = []  # [the store's future, how many times it was sent]
    pending: deque = deque()
    limit = max(4, 3 * cluster.workers)
    run = os.urandom(6).hex()

    def ship() -> None:
        try:
            client.wait_for_workers(1, timeout=_WORKER_WAIT)  # type: ignore[attr-defined]
        except TimeoutError:
            raise ClusterUnavailable(tr("the Dask cluster has had no worker for {seconds} s", seconds=_WORKER_WAIT)) \
                from None
        [future] = client.scatter([store], broadcast=True, hash=False)  # type: ignore[attr-defined]
        shipped[:] = [future, len(shipped) and shipped[1] + 1]

    def task(part: Partition, attempt: int = 0) -> tuple:
        """(part, the store's sending it needs, its future)"""
        return part, shipped[1], client.submit(function, shipped[0], job, part,  # type: ignore[attr-defined]
                                               key=f"{function.__name__}-{run}-{part.index}-{attempt}", pure=False,
                                               retries=2)

    def result(part: Partition, sending: int, future) -> tuple:
        # The client is not told that the scheduler forgot the store; it learns it from the tasks cancelled.
        for attempt in range(1, _RESHIPPED + 1):
            try:
                return future.result()
            except CancelledError:
                if sending == shipped[1]:  # not sent again since this task was submitted
                    ship()
                part, sending, future = task(part, attempt)
        return future.result()

    ship()
    for part in parts:
        pending.append(task(part))
        while len(pending) >= limit:
            if not handle(result(*pending.popleft())):
                return
    while pending:
        if not handle(result(*pending.popleft())):
            return


def evaluate(cluster: Cluster, store: StoreFiles, job: EvaluateJob, paths: list[str],
             write: Callable[[bytes], None], on_progress: Callable[[int], None] | None = None,
             partition_bytes: int = PARTITION_BYTES) -> Outcome:
    from engine.columnar.batch import Stats

    outcome = Outcome(stats=Stats())

    def handle(result: tuple) -> bool:
        if outcome.stopped_by(result):
            return False
        _, data, counts, stats = result
        write(data)
        outcome.counts.merge(counts)
        outcome.stats.merge(stats)  # type: ignore[attr-defined]
        if on_progress:
            on_progress(counts.total)
        return True

    if job.parts is None:
        _in_order(cluster, decide_partition, store, job, partitions(paths, partition_bytes), handle)
        return outcome
    parts = list(partitions(paths, partition_bytes))  # their number names the parts
    try:
        _in_order(cluster, decide_partition, store, replace(job, count=len(parts)), iter(parts), handle)
    finally:
        sweep(Path(job.parts))
    return outcome


def impact(cluster: Cluster, store: StoreFiles, job: ImpactJob, paths: list[str], before: str, after: str,
           on_progress: Callable[[int], None] | None = None, partition_bytes: int = PARTITION_BYTES):
    """The ImpactReport over every partition, merged in input order: the report one process makes."""
    from engine.audit.impact import ImpactReport, merge_into

    report = ImpactReport(before, after)
    seen: dict = {}
    outcome = Outcome()

    def handle(result: tuple) -> bool:
        if outcome.stopped_by(result):
            return False
        _, part_report, part_seen, stats = result
        if stats is not None:
            if outcome.stats is None:
                outcome.stats = stats
            else:
                outcome.stats.merge(stats)  # type: ignore[attr-defined]
        merge_into(report, part_report)
        for claim_id, where in part_seen.items():
            seen.setdefault(claim_id, []).extend(where)
        if on_progress:
            on_progress(part_report.claims)
        return True

    _in_order(cluster, impact_partition, store, job, partitions(paths, partition_bytes), handle)
    report.duplicate_ids = {cid: where for cid, where in seen.items() if len(where) > 1}
    return report, outcome

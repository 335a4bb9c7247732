"""The `--dask SCHEDULER` form of `policy evaluate` and `policy impact`: the command line's side of
engine/distributed (its options, exit codes, a lost cluster said in one line), kept here so that the command
modules only hand over to it."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from engine.cli.common import option
from engine.core.i18n import msg, tr

EXIT_UNAVAILABLE = 69  # the cluster could not be reached or started (sysexits EX_UNAVAILABLE)
def _scheduler(ctx, param, value: str | None) -> str | None:
    """`--dask ""` (an unset variable in `--dask "$SCHEDULER"`) is a mistake, not a request to run here."""
    if value is not None and not value.strip():
        raise click.BadParameter(tr("takes local:N or a scheduler address such as tcp://host:8786, not {value!r}",
                                    value=value))
    return value


DASK_OPTION = option("--dask", "dask", default=None, metavar="SCHEDULER", callback=_scheduler,
                     help=msg("Decide on a Dask cluster: local:N or a scheduler address, tcp://host:8786 "
                              "(docs/scale.md)."))
PARTITION_OPTION = option("--partition-bytes", type=click.IntRange(1 << 10, 1 << 34), default=8 << 20,
                          show_default=True, help=msg("With --dask: bytes of JSON Lines per task (docs/scale.md)."))


@contextmanager
def _on_cluster(spec: str, progress) -> Iterator:
    """The cluster of SPEC for the block, closed after it; a cluster that cannot be had, or is lost, said in one
    line (exit 69), a malformed SPEC a usage error. `progress` (the run's counter) stops the wait for a scheduler
    after Ctrl-C, as it stops the run."""
    from engine.cli.common import usage
    from engine.distributed.cluster import ClusterUnavailable, connect

    try:
        cluster = connect(spec, lambda: progress(0))
    except ValueError as exc:
        usage(exc.args[0] if exc.args else str(exc))
    except ClusterUnavailable as exc:
        _unavailable(exc)
    from distributed.comm.core import CommClosedError  # importable: connecting needed Dask

    try:
        yield cluster
    except ClusterUnavailable as exc:  # every worker gone mid-run, and none came back
        _unavailable(exc)
    except CommClosedError as exc:  # the scheduler itself gone mid-run
        _unavailable(tr("lost the Dask scheduler at {spec}: {problem}", spec=spec, problem=str(exc)))
    finally:
        cluster.close()


def _unavailable(exc: Exception | str) -> NoReturn:
    click.echo(f"policy: {exc}", err=True)
    sys.exit(EXIT_UNAVAILABLE)


def _files_only(spec: str, claims: list[str]) -> list[str]:
    """The claims files as the workers are to open them. A scheduler's workers run in folders of their own (on other
    machines, where the files are shared): a relative path is taken from this folder, as this command reads it,
    and sent absolute (locations in error records then show it so). A local cluster's workers share this folder."""
    from engine.cli.common import usage

    if "-" in claims:
        usage(tr("--dask reads files that every worker can read, not standard input: save the claims to a file"))
    if spec.startswith("local:"):
        return claims
    return [os.path.abspath(c) for c in claims]


def _stopped(outcome, subject: str) -> None:
    from engine.cli.common import EXIT_POLICY, refuse

    if outcome.invalid:
        refuse(outcome.invalid, subject)
    if outcome.refused:
        message = tr("a worker refused the store: {problem}", problem=outcome.refused)
        click.echo(f"policy: {message}", err=True)
        sys.exit(EXIT_POLICY)


def evaluate(engine, spec: str, claims: list[str], pid: str, pinned, known_on, any_date, as_of, output_format,
             write, progress, partition_bytes: int, parts: str | None = None):
    """Counts of `policy evaluate CLAIMS --dask SPEC`; the lines are written in input order through `write`, or,
    with `parts` (a folder), by the workers, a part per partition."""
    from engine.distributed.runner import EvaluateJob, StoreFiles
    from engine.distributed.runner import evaluate as run

    claims = _files_only(spec, claims)
    with _on_cluster(spec, progress) as cluster:
        job = EvaluateJob(pid, pinned, known_on, any_date, as_of, output_format, parts)
        outcome = run(cluster, StoreFiles.of(engine.store), job, claims, write, progress, partition_bytes)
    _stopped(outcome, pid)
    return outcome.counts, outcome.stats


def impact(engine, spec: str, claims: list[str], policy_id: str, from_: str, to: str, before: str, after: str,
           progress, partition_bytes: int, columnar: bool = False, stats=None):
    """The ImpactReport of `policy impact … --dask SPEC`, as one process makes it; with `columnar`, the workers
    compare by columns first, and what the columns did is merged into `stats`."""
    from engine.distributed.runner import ImpactJob, StoreFiles
    from engine.distributed.runner import impact as run

    claims = _files_only(spec, claims)
    with _on_cluster(spec, progress) as cluster:
        job = ImpactJob(policy_id, from_, to, columnar)
        report, outcome = run(cluster, StoreFiles.of(engine.store), job, claims, before, after, progress,
                              partition_bytes)
    _stopped(outcome, policy_id)
    if stats is not None and outcome.stats is not None:
        stats.merge(outcome.stats)
    return report

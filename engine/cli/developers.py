"""Commands for developers: evaluate."""
from __future__ import annotations

import os
import stat
import sys

import click

from engine.api import PolicyInvalid, PolicyNotFound, Selection
from engine.cli.cluster import DASK_OPTION, PARTITION_OPTION
from engine.cli.common import (
    DATE,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_UNDECIDED,
    POLICY_REF,
    command,
    engine_of,
    option,
    refuse,
    refuse_if_broken,
    refuse_inputless,
    refuse_unusable_store,
    said,
    standard_input,
    table_format_option,
    usage,
)
from engine.core.i18n import msg, tr


@command(help=msg(
    "Decide CLAIMS (YAML, JSON, JSON Lines or Parquet files, or - for standard input) under a policy.\n\n"
    "Every claim gets one result, in input order: a decision, or an error that says what is wrong."))
@click.argument("claims", nargs=-1, required=True)
@option("--policy", "policy", required=True, type=POLICY_REF, help=msg("ID or ID@VERSION (pinned)."))
@option("--as-of", type=DATE, default=None, help=msg("Decision date for every claim (default: each claim's own)."))
@option("--known-on", type=DATE, default=None, help=msg("Use only versions issued on or before this date."))
@option("--any-date", is_flag=True,
        help=msg("With ID@VERSION: decide under that version even on dates it is not in force (superseded, or not "
                 "yet in force): what these rules would say. Each such decision says so (out_of_force)."))
@table_format_option
@option("--summary", is_flag=True, help=msg("JSON: only id, policy, date, eligibility, amount and failed rules."))
@option("--verbose", "-v", is_flag=True, help=msg("Text: also show the facts each rule read. "
            "Summaries: say which expressions the columnar engine ran per claim."))
@option("--columnar/--per-claim", "by_columns", default=None,
        help=msg("Summaries: decide chunks of claims by columns, or claim by claim (the same lines). Default: by "
                 "columns for files of 8 MiB or more together, where they are faster (bench/RESULTS.md)."))
@option("--jobs", "-j", type=click.IntRange(0, 256), default=1,
        help=msg("Worker processes (0: one per core). Output stays in input order."))
@option("--quiet", "-q", is_flag=True, help=msg("No progress bar and no closing counts on standard error."))
@option("--database", metavar="URL", default=None,
        help=msg("Decide with each person's history from the grants ledger in this database instead of the "
                 "claim's (recording nothing; docs/ledger.md)."))
@DASK_OPTION
@option("--output", "-o", "output", default=None, metavar="PATH",
        help=msg("Write the records to PATH instead of standard output: a file, which appears whole when the run "
                 "ends; or, for DIR/ (or an existing folder, which must be empty), a folder of parts "
                 "part-00000.jsonl …, one per partition of the input, in input order (docs/scale.md)."))
@PARTITION_OPTION
@click.pass_context
def evaluate(ctx, claims, policy, as_of, known_on, any_date, fmt, summary, verbose, by_columns, jobs, quiet, database,
             dask, output, partition_bytes):
    from engine.claims.reader import read_claims
    from engine.decide import batch
    from engine.decide.progress import progress_bar

    if list(claims).count("-") > 1:  # the second would find standard input read to its end: an empty claim
        usage(msg("standard input (-) is given more than once: it can be read only once"))
    engine = engine_of(ctx)
    refuse_unusable_store(engine.store)
    pid, pinned = policy
    refuse_if_broken(engine.store, pid)
    if any_date and not pinned:
        usage(msg("--any-date applies a pinned version: give --policy ID@VERSION"))
    try:
        evaluator = engine.evaluator(pid, Selection(pinned, known_on, any_date), explain=not summary,
                                     outputs=not summary)
    except PolicyNotFound as exc:
        usage(said(exc))
    refuse_inputless(engine, pid, pinned)
    parquet = _refuse_unfit_parquet(fmt, summary, output)
    if parquet:
        fmt = "json"  # the summary lines every path writes, which the Parquet output turns into rows
    if database:
        if parquet:
            usage(msg("--database writes to standard output: --format parquet cannot be combined with it"))
        if dask:
            usage(msg("--database and --dask cannot be combined: the ledger is read by one process"))
        if output:
            usage(msg("--database writes to standard output: leave out --output"))
        from engine.cli.ledger import evaluate_with_ledger

        ctx.exit(evaluate_with_ledger(engine, evaluator, list(claims), database, as_of, fmt, summary, verbose, quiet))
    jobs = jobs or batch.default_jobs()
    columnar = summary and fmt == "json" and (columns_pay(claims) if by_columns is None else by_columns)
    if columnar and verbose:  # this run's statistics, not also those of an earlier run in the same process
        from engine.columnar.batch import STATS, Stats

        vars(STATS).update(vars(Stats()))
    folder, out = _output(output, claims, parquet)
    raws = read_claims(list(claims), standard_input(), lazy=jobs > 1 or columnar,  # columns parse lines themselves
                       record=evaluator.input_type())
    show_progress = not quiet and sys.stderr.isatty()
    total = batch.count_lines(list(claims)) if show_progress else None
    try:
        with progress_bar(total, enabled=show_progress, output=out) as bar, batch.StopAtRecord() as stop:
            output_format = batch.OutputFormat(fmt, summary, verbose, columnar, parquet)
            if dask:
                from engine.cli import cluster

                # the counter stops the run at the next partition after Ctrl-C, as it stops a local batch
                counts, stats = cluster.evaluate(engine, dask, list(claims), pid, pinned, known_on, any_date, as_of,
                                                 output_format, bar.write, stop.counter(bar), partition_bytes,
                                                 str(folder.resolve()) if folder else None)
            elif folder:
                from engine.decide.output import decide_into_parts

                counts = decide_into_parts(evaluator, folder, list(claims), standard_input(), as_of, output_format,
                                           jobs, stop.counter(bar), partition_bytes)
            else:
                counts = batch.run(evaluator, raws, bar.write, as_of, output_format, jobs, stop.counter(bar))
        out.flush()
    except PolicyInvalid as exc:
        _abort(out)
        refuse(exc.diagnostics, pid)
    except batch.Interrupted as exc:  # Ctrl-C: stopped between two records, every one written is whole
        if _abort(out):
            click.echo(tr("policy: interrupted; {file} was not written", file=output), err=True)
        else:
            out.flush()
            click.echo(tr("policy: interrupted after {count} claims were written (each one whole); the rest were "
                          "not decided", count=exc.written), err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except BaseException:
        _abort(out)
        raise
    if hasattr(out, "commit"):
        out.commit()
    if not quiet:
        click.echo(counts.line(), err=True)
    if columnar and verbose:
        from engine.columnar.batch import STATS

        click.echo((stats if dask else STATS).report(), err=True)
    ctx.exit(_exit_for(counts))


# Deciding by columns pays once a batch makes up for importing NumPy and building the column programs (about 0.15 s
# of a run): on the bench, some 6,000 claims, 5 MB of JSON Lines (bench/RESULTS.md, issue 16).
COLUMNS_FROM_BYTES = 8 << 20


def columns_pay(claims) -> bool:
    """Whether a summary run (or `policy impact`) decides by columns when neither --columnar nor --per-claim is given:
    for regular files of COLUMNS_FROM_BYTES or more together. Standard input, of unknown length, and anything else is
    decided claim by claim (the reader reports what cannot be read)."""
    total = 0
    for name in claims:
        try:
            status = os.stat(name) if name != "-" else None
        except (OSError, ValueError):
            return False
        if status is None or not stat.S_ISREG(status.st_mode):
            return False
        total += status.st_size
    return total >= COLUMNS_FROM_BYTES


PARQUET_NAMES = (".parquet", ".parq")


def _refuse_unfit_parquet(fmt: str, summary: bool, output: str | None) -> bool:
    """Whether the records are written as Parquet; a usage error where that cannot be, or where a file named as
    Parquet would be given other records."""
    if fmt != "parquet":
        if output and output.lower().endswith(PARQUET_NAMES):
            usage(msg("--output {path} is named as a Parquet file: add --format parquet --summary to write one, or "
                      "give another name", path=output))
        return False
    if not summary:
        usage(msg("--format parquet writes summaries, one row a claim: add --summary"))
    if not output:
        usage(msg("--format parquet writes a file: give --output FILE.parquet, or --output DIR/ for a folder of "
                  "parts"))
    return True


def _output(output: str | None, claims, parquet: bool = False) -> tuple:
    """(folder of parts or None, the stream records are written to) for --output."""
    from engine.decide.output import FileOutput, OutputRefused, is_folder, prepare_folder

    if output is None:
        return None, sys.stdout.buffer
    if any(name != "-" and os.path.exists(name) and os.path.samefile(name, output) for name in claims
           if os.path.exists(output)):
        usage(msg("--output {path} is one of the claims files: write the records elsewhere", path=output))
    try:
        if parquet:
            from engine.decide.parquet_output import ParquetFileOutput, summary_schema

            summary_schema()  # pyarrow is there, before any claim is decided
        if is_folder(output):
            return prepare_folder(output), sys.stdout.buffer
        return None, ParquetFileOutput(output) if parquet else FileOutput(output)
    except OutputRefused as exc:
        click.echo(f"policy: {exc}", err=True)
        sys.exit(exc.exit_code)


def _abort(out) -> bool:
    """Drop an --output FILE that was being written (it stays as it was); False for standard output."""
    if hasattr(out, "abort"):
        out.abort()
        return True
    return False


def _exit_for(counts) -> int:
    if counts.invalid:
        return EXIT_INVALID
    if counts.undecided:
        return EXIT_UNDECIDED
    if counts.not_in_force:
        return EXIT_NOT_IN_FORCE
    return EXIT_OK


COMMANDS = [evaluate]

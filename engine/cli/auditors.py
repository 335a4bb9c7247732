"""Commands for auditors: diff, impact, verify."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from engine.api import Engine, PolicyInvalid, PolicyNotFound, PolicyNotInForce
from engine.cli.cluster import DASK_OPTION, PARTITION_OPTION
from engine.cli.common import (
    DATE,
    EXIT_INVALID,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_POLICY,
    EXIT_USAGE,
    POLICY_REF,
    command,
    echo_json,
    engine_of,
    fail_on_store_errors,
    format_option,
    option,
    said,
    usage,
)
from engine.core.i18n import msg, plural, tr
from engine.core.isodate import parse_date

_TWO_VERSIONS = msg("give two pinned versions, ID@A ID@B, or one ID with --from and --to")


def _side(engine: Engine, policy_id: str, text: str, label: str):
    """`@VERSION` or a date → a fixed linked policy for what-if comparisons."""
    try:
        if text.startswith("@"):
            return engine.scenario(policy_id, version=text[1:])
        try:
            day = parse_date(text)
        except ValueError as exc:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # written as a date, but none: say why (2024-02 has 29 days)
                usage(msg("{option} takes a date (YYYY-MM-DD) or @VERSION: {problem}", option=label,
                          problem=said(exc)))
            usage(msg("{option} takes a date (YYYY-MM-DD) or @VERSION, not {text}", option=label, text=repr(text)))
        return engine.scenario(policy_id, at=day)
    except PolicyNotInForce as exc:
        click.echo(f"policy: {tr(said(exc))}", err=True)
        sys.exit(EXIT_NOT_IN_FORCE)
    except PolicyNotFound as exc:
        click.echo(f"policy: {tr(said(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except PolicyInvalid as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        sys.exit(EXIT_POLICY)


@command(help=msg(
    "Structural difference between two versions: `diff ID@A ID@B` or `diff ID --from DATE --to DATE`; or between "
    "two policies: `diff ID1 ID2 --on DATE` (two cities' transpositions), or `diff ID1@A ID2@B`.\n\n"
    "Shows dates and source, rules, table cells, definitions, outputs and references that changed, then what "
    "changed underneath in the policies it extends or uses."))
@click.argument("policies", nargs=-1, required=True, type=POLICY_REF)
@option("--from", "from_", default=None, help=msg("Compare the versions in force on this date ..."))
@option("--to", default=None, help=msg("... with those in force on this date."))
@option("--on", "on", default=None, help=msg("Two policies: compare the versions of each in force on this date."))
@format_option
@click.pass_context
def diff(ctx, policies, from_, to, on, fmt):
    from engine.audit.diff import diff_linked, render_diff

    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    if on and len(policies) == 2 and all(version for _, version in policies):
        usage(msg("--on chooses the version of a policy given without @VERSION; both are pinned here: leave out "
                  "--on"))
    if len(policies) == 2 and not (from_ or to) and policies[0][0] != policies[1][0]:
        # two policies side by side: each pinned, or each as in force on --on (with what it refers to then)
        sides = []
        for pid, version in policies:
            if not version and not on:
                usage(msg("to compare two policies, pin each (ID@VERSION) or give --on DATE; {policy} has neither",
                          policy=pid))
            sides.append(_side(engine, pid, "@" + version if version else on, "--on"))
        a, b = sides
    elif len(policies) == 2 and not (from_ or to or on):
        (pa, va), (pb, vb) = policies
        if not (va and vb):
            usage(_TWO_VERSIONS)
        a, b = _side(engine, pa, "@" + va, "ID@A"), _side(engine, pb, "@" + vb, "ID@B")
    elif len(policies) == 1 and from_ and to:
        pid, pinned = policies[0]
        if pinned:
            usage(msg("with --from and --to, give the policy ID without @VERSION"))
        if on:
            usage(msg("--on is for two policies side by side; one policy is compared --from one date or version "
                      "--to another: leave out --on"))
        a, b = _side(engine, pid, from_, "--from"), _side(engine, pid, to, "--to")
    else:
        usage(_TWO_VERSIONS)
    result = diff_linked(a, b)
    if a.version.id != b.version.id:
        result["compared"] = [a.version.key, b.version.key]  # two policies: the header names both
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(render_diff(result))


@command(help=msg(
    "Decide every claim under two versions and report what changes.\n\n"
    "A DATE stands for the versions in force on that date (the policy and all it refers to); @VERSION pins the "
    "policy's own version, and what it refers to is resolved at each claim's decision date. Each claim is decided "
    "on its own decision date under both. Exit 2 when there is nothing to compare (no claims, or none decided under "
    "either version) or a claim id is given more than once."))
@click.argument("policy_id")
@click.argument("claims", nargs=-1, required=True)
@option("--from", "from_", required=True, help=msg("DATE or @VERSION: the policy as it was ..."))
@option("--to", required=True, help=msg("DATE or @VERSION: ... against the policy as it is here."))
@format_option
@option("--quiet", "-q", is_flag=True, help=msg("No progress bar."))
@option("--columnar/--per-claim", "by_columns", default=None,
        help=msg("Decide chunks of claims by columns under both versions first, and claim by claim only the claims "
                 "that change (the same report), or every claim claim by claim. Default: by columns for files of 8 "
                 "MiB or more together, where they are faster (bench/RESULTS.md)."))
@option("--verbose", "-v", is_flag=True,
        help=msg("By columns: say how many claims the columns compared and which expressions ran per claim."))
@DASK_OPTION
@PARTITION_OPTION
@click.pass_context
def impact(ctx, policy_id, claims, from_, to, fmt, quiet, by_columns, verbose, dask, partition_bytes):
    from engine.audit.impact import compare, render_impact, side
    from engine.claims.reader import read_claims
    from engine.cli.developers import columns_pay
    from engine.decide.batch import count_lines
    from engine.decide.progress import progress_bar

    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    for text, label in ((from_, "--from"), (to, "--to")):
        _side(engine, policy_id, text, label)  # the exit code of a side that cannot be had
    try:
        (before, before_label), (after, after_label) = (side(engine, policy_id, text) for text in (from_, to))
    except PolicyInvalid as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        ctx.exit(EXIT_POLICY)
    columnar = columns_pay(claims) if by_columns is None else by_columns
    stats = None
    if columnar:
        from engine.columnar.batch import Stats

        stats = Stats()
    show = not quiet and sys.stderr.isatty()
    with progress_bar(count_lines(list(claims)) if show else None, enabled=show) as advance:
        if dask:
            from engine.cli import cluster

            report = cluster.impact(engine, dask, list(claims), policy_id, from_, to, before_label,
                                    after_label, advance, partition_bytes, columnar, stats)
        else:
            raws = read_claims(list(claims), sys.stdin.buffer, lazy=columnar,  # columns parse lines themselves
                               record=before.input_type())
            report = compare(before, after, raws, before_label, after_label, advance, by_columns=columnar,
                             stats=stats)
    if stats is not None and verbose:
        click.echo(stats.report(), err=True)
    if not report.claims:
        click.echo(tr("policy: no claims in {files}: nothing to compare", files=", ".join(claims)), err=True)
        ctx.exit(EXIT_INVALID)
    if fmt == "json":
        echo_json(report.to_json())
    else:
        click.echo(render_impact(report))
    # The report is printed either way; these make its figures unfit to rely on, so the exit says so.
    problems = []
    if len(report.not_decided) == report.claims:
        problems.append(tr("no claim could be decided under either version: nothing to compare"))
    unread = sorted({n["location"] for n in report.not_decided if n["before"].get("error") == "claim.unreadable"})
    if unread and len(report.not_decided) != report.claims:  # a file named that is not in the study at all
        problems.append(tr("{files} could not be read, so the report leaves out whatever claims it holds",
                           files=", ".join(unread)))
    if report.duplicate_ids:
        problems.append(plural(len(report.duplicate_ids), "{count} claim id given more than once, and each of its "
                               "claims is counted in the totals", "{count} claim ids given more than once, and each "
                               "of their claims is counted in the totals"))
    for problem in problems:
        click.echo(f"policy: {problem}", err=True)
    ctx.exit(EXIT_INVALID if problems else EXIT_OK)


@command(help=msg(
    "Reproduce recorded DECISIONS (JSON or JSON Lines from `evaluate --format json`, or - for standard input) from "
    "their CLAIMS, or "
    "decisions from the service's log (--database URL) from the claims logged with them.\n\n"
    "Each record is decided again on its recorded date (and known-on date) and every field is compared; claims are "
    "matched to records by claim id. Exit 0 when every record is reproduced, 1 when one differs, 2 when one cannot "
    "be read or there is none to verify."))
@click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False, allow_dash=True),
                required=False)
@click.argument("claims", nargs=-1,  # a mistyped path would make every record "differ": said as the mistake it is
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@format_option
@option("--database", metavar="URL", default=None,
        help=msg("Verify decisions from the service's log instead (with --decision or the filters below)."))
@option("--decision", "decision_ids", multiple=True, metavar="ID", help=msg("With --database: this decision."))
@option("--claim-id", default=None, help=msg("With --database: the decisions about this claim."))
@option("--policy", "policy_filter", default=None, metavar="ID[@VERSION]",
        help=msg("With --database: the decisions under this policy."))
@option("--from", "since", type=DATE, default=None, help=msg("With --database: decided on or after this day (UTC)."))
@option("--to", "until", type=DATE, default=None, help=msg("With --database: decided on or before this day (UTC)."))
@click.pass_context
def verify(ctx, decisions, claims, fmt, database, decision_ids, claim_id, policy_filter, since, until):
    from engine.audit.verify import Verifier, read_claim_index, read_records

    filters = decision_ids or claim_id or policy_filter or since or until
    if database is None:
        if filters:
            usage(msg("--decision, --claim-id, --policy, --from and --to select decisions of a log: give --database "
                      "URL"))
        if decisions is None or not claims:
            usage(msg("give DECISIONS and CLAIMS, or --database URL with --decision ID or a filter"))
        if [str(decisions), *claims].count("-") > 1:
            usage(msg("standard input (-) is given more than once: it can be read only once"))
    elif decisions is not None or claims:
        usage(msg("--database verifies the claims logged with the decisions: give no DECISIONS or CLAIMS files"))
    elif not filters:
        usage(msg("--database needs --decision ID or a filter (--claim-id, --policy, --from, --to): the whole log "
                  "is rarely what is meant"))
    elif since and until and since > until:  # as the service refuses it: nothing could match, and that is a typo
        usage(msg("--from {since} is after --to {until}: nothing could match", since=since, until=until))
    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    counts = {"reproduced": 0, "differs": 0, "unreadable": 0}
    if database is None:
        verifier = Verifier(engine, read_claim_index(list(claims), sys.stdin.buffer))
        outcomes = ((verifier.check(record), None) for record in read_records(str(decisions)))
        source = str(decisions)
    else:
        outcomes = _logged_outcomes(ctx, engine, database, decision_ids, claim_id, policy_filter, since, until)
        source = None
    for outcome, logged in outcomes:
        counts[outcome.status] += 1
        if fmt == "json":
            from engine.service.verifying import report

            echo_json(report(logged, outcome) if logged else outcome.to_json())
        else:
            click.echo(outcome.render())
    if not sum(counts.values()):  # verifying nothing must not pass for a clean audit
        click.echo(tr("policy: {file} holds no recorded decision: nothing to verify", file=source) if source
                   else tr("policy: the log holds no recorded decision that matches: nothing to verify"), err=True)
        ctx.exit(EXIT_INVALID)
    click.echo(tr("{reproduced} reproduced, {differs} differ, {unreadable} unreadable", **counts), err=True)
    # an unreadable record is input the check could not cover: it outranks a difference, as in evaluate
    ctx.exit(EXIT_INVALID if counts["unreadable"] else EXIT_POLICY if counts["differs"] else EXIT_OK)


def _logged_outcomes(ctx, engine, url, decision_ids, claim_id, policy, since, until):
    """(Outcome, logged record) for each decision of the log that was asked for, in the order logged."""
    from engine.cli.service import EXIT_DATABASE
    from engine.db.database import DatabaseError, open_existing, reason
    from engine.db.decisions import DecisionLog
    from engine.service.verifying import check_logged

    try:
        log = DecisionLog(open_existing(url))
    except DatabaseError as exc:
        click.echo(f"policy: {tr(said(exc))}", err=True)
        ctx.exit(EXIT_DATABASE)
    try:
        if decision_ids:
            for decision_id in decision_ids:
                logged = log.get(decision_id)
                if logged is None:
                    usage(msg("no decision {decision} in the log", decision=repr(decision_id)))
                yield check_logged(engine, logged), logged
            return
        after = None
        while True:
            page = log.search(claim_id, policy, since, until, after, limit=500)
            for logged in page:
                yield check_logged(engine, logged), logged
            if len(page) < 500:
                return
            after = page[-1]["seq"]
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        click.echo(tr("policy: the decision log cannot be read: {reason}", reason=reason(exc)), err=True)
        ctx.exit(EXIT_DATABASE)


COMMANDS = [diff, impact, verify]

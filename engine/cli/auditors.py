"""Commands for auditors: diff, impact, verify."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.api import Engine, PolicyInvalid, PolicyNotFound, PolicyNotInForce
from engine.cli.common import (
    EXIT_INVALID,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_POLICY,
    EXIT_USAGE,
    POLICY_REF,
    echo_json,
    engine_of,
    fail_on_store_errors,
    format_option,
    usage,
)
from engine.core.isodate import parse_date


def _side(engine: Engine, policy_id: str, text: str, label: str):
    """`@VERSION` or a date → a fixed linked policy for what-if comparisons."""
    try:
        if text.startswith("@"):
            return engine.scenario(policy_id, version=text[1:])
        try:
            day = parse_date(text)
        except ValueError:
            usage(f"{label} takes a date (YYYY-MM-DD) or @VERSION, not {text!r}")
        return engine.scenario(policy_id, at=day)
    except PolicyNotInForce as exc:
        click.echo(f"policy: {exc}", err=True)
        sys.exit(EXIT_NOT_IN_FORCE)
    except PolicyNotFound as exc:
        click.echo(f"policy: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except PolicyInvalid as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        sys.exit(EXIT_POLICY)


@click.command()
@click.argument("policies", nargs=-1, required=True, type=POLICY_REF)
@click.option("--from", "from_", default=None, help="Compare the versions in force on this date ...")
@click.option("--to", default=None, help="... with those in force on this date.")
@format_option
@click.pass_context
def diff(ctx, policies, from_, to, fmt):
    """Structural difference between two versions: `diff ID@A ID@B` or `diff ID --from DATE --to DATE`.

    Shows dates and source, rules, table cells, definitions, outputs and references that changed, then
    what changed underneath in the policies it extends or uses.
    """
    from engine.audit.diff import diff_linked, render_diff

    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    if len(policies) == 2 and not (from_ or to):
        (pa, va), (pb, vb) = policies
        if not (va and vb):
            usage("give two pinned versions, ID@A ID@B, or one ID with --from and --to")
        if pa != pb:
            usage(f"diff compares two versions of one policy, not {pa} with {pb}; a transposition's departures "
                   "from what it extends are its `overrides: true` entries (policy show)")
        a, b = _side(engine, pa, "@" + va, "ID@A"), _side(engine, pb, "@" + vb, "ID@B")
    elif len(policies) == 1 and from_ and to:
        pid, pinned = policies[0]
        if pinned:
            usage("with --from and --to, give the policy ID without @VERSION")
        a, b = _side(engine, pid, from_, "--from"), _side(engine, pid, to, "--to")
    else:
        usage("give two pinned versions, ID@A ID@B, or one ID with --from and --to")
    result = diff_linked(a, b)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(render_diff(result))


@click.command()
@click.argument("policy_id")
@click.argument("claims", nargs=-1, required=True)
@click.option("--from", "from_", required=True, help="DATE or @VERSION: the policy as it was ...")
@click.option("--to", required=True, help="DATE or @VERSION: ... against the policy as it is here.")
@format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def impact(ctx, policy_id, claims, from_, to, fmt, quiet):
    """Decide every claim under two versions and report what changes.

    A DATE stands for the versions in force on that date (the policy and all it refers to); @VERSION pins
    the policy's own version. Each claim is decided on its own decision date under both. Exit 2 when
    there is nothing to compare (no claims, or none decided under either version) or a claim id is
    given more than once.
    """
    from engine.audit.impact import compare, render_impact, scenario_label
    from engine.claims.reader import read_claims
    from engine.decide.batch import count_lines
    from engine.decide.progress import progress_bar

    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    a, b = _side(engine, policy_id, from_, "--from"), _side(engine, policy_id, to, "--to")
    try:
        before, after = engine.fixed_evaluator(a), engine.fixed_evaluator(b)
    except PolicyInvalid as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        ctx.exit(EXIT_POLICY)
    show = not quiet and sys.stderr.isatty()
    with progress_bar(count_lines(list(claims)) if show else None, enabled=show) as advance:
        report = compare(before, after, read_claims(list(claims), sys.stdin.buffer),
                         scenario_label(a), scenario_label(b), advance)
    if not report.claims:
        click.echo(f"policy: no claims in {', '.join(claims)}: nothing to compare", err=True)
        ctx.exit(EXIT_INVALID)
    if fmt == "json":
        echo_json(report.to_json())
    else:
        click.echo(render_impact(report))
    # The report is printed either way; these make its figures unfit to rely on, so the exit says so.
    problems = []
    if len(report.not_decided) == report.claims:
        problems.append("no claim could be decided under either version: nothing to compare")
    if report.duplicate_ids:
        problems.append(f"{len(report.duplicate_ids)} claim id(s) given more than once, and each of their claims "
                        "is counted in the totals")
    for problem in problems:
        click.echo(f"policy: {problem}", err=True)
    ctx.exit(EXIT_INVALID if problems else EXIT_OK)


@click.command()
@click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("claims", nargs=-1, required=True)
@format_option
@click.pass_context
def verify(ctx, decisions, claims, fmt):
    """Reproduce recorded DECISIONS (JSON or JSON Lines from `evaluate --format json`) from their CLAIMS.

    Each record is decided again on its recorded date (and known-on date) and every field is compared;
    claims are matched to records by claim id. Exit 0 when every record is reproduced, 1 when one
    differs, 2 when one cannot be read or DECISIONS holds none.
    """
    from engine.audit.verify import Verifier, read_claim_index, read_records

    engine = engine_of(ctx)
    fail_on_store_errors(engine.store)
    verifier = Verifier(engine, read_claim_index(list(claims), sys.stdin.buffer))
    counts = {"reproduced": 0, "differs": 0, "unreadable": 0}
    for record in read_records(str(decisions)):
        outcome = verifier.check(record)
        counts[outcome.status] += 1
        if fmt == "json":
            echo_json(outcome.to_json())
        else:
            click.echo(outcome.render())
    if not sum(counts.values()):  # verifying nothing must not pass for a clean audit
        click.echo(f"policy: {decisions} holds no recorded decision: nothing to verify", err=True)
        ctx.exit(EXIT_INVALID)
    click.echo(f"{counts['reproduced']} reproduced, {counts['differs']} differ, {counts['unreadable']} unreadable",
               err=True)
    # an unreadable record is input the check could not cover: it outranks a difference, as in evaluate
    ctx.exit(EXIT_INVALID if counts["unreadable"] else EXIT_POLICY if counts["differs"] else EXIT_OK)


COMMANDS = [diff, impact, verify]

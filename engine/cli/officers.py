"""Commands for policy officers: check, list, timeline, show, test."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from engine.api import (
    Engine,
    PolicyInvalid,
    PolicyNotFound,
    Selection,
    parse_policy_ref,
)
from engine.audit import listing
from engine.cli.common import (
    DATE,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_POLICY,
    POLICY_REF,
    command,
    echo_json,
    engine_of,
    engine_with,
    format_option,
    inside,
    option,
    policies_folder,
    refuse_if_broken,
    refuse_unusable_store,
    report,
    require_paths,
    said,
    same_path,
    usage,
    write_output,
)
from engine.core.i18n import msg, plural, series, tr
from engine.policies.linker import LinkError
from engine.policies.store import is_policy_file

CHECK_SHOWN = 200  # diagnostics `policy check` prints as text (docs/cli.md); JSON has them all


@command(help=msg(
    "Check policy files: schema, expressions, types, references, versions and clause coverage.\n\n"
    "With PATHs, report only problems in those files or folders (the whole store is still read, so references "
    "resolve; files outside it are read too). Exit 0 when there is no error, 1 otherwise."))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
@option("--today", type=DATE, default=None, help=msg("The date review_by is compared with (default: today)."))
@option("--watch", is_flag=True, help=msg("Check again whenever a policy or schema file is saved (Ctrl-C stops)."))
@click.pass_context
def check(ctx, paths, fmt, today, watch):
    if watch:
        from engine.cli.watching import watch_files

        obj = ctx.find_root().obj
        watch_files([Path(obj["policies"]), Path(obj["schemas"] or Path(obj["policies"]).parent / "schemas"),
                     *paths], lambda: _check_once(ctx, paths, fmt, today))
    ctx.exit(_check_once(ctx, paths, fmt, today))


def _check_once(ctx, paths, fmt, today) -> int:
    """One check of the store (the files read afresh): print what it found, and return the exit code."""
    ctx.find_root().obj["engine"] = None
    only = None
    if paths:
        require_paths(paths)
        files = sorted({f.resolve() for p in paths for f in ([p] if p.is_file() else p.rglob("*"))
                        if f.is_file() and is_policy_file(f)})
        if not files:
            usage(tr("no policy files (*.yaml, not *.cases.yaml) in {paths}", paths=", ".join(map(str, paths))))
        engine = engine_with(ctx, [f for f in files if not inside(f, ctx.find_root().obj["policies"])])
        only = {engine.store.display(f) for f in files}
    else:
        engine = engine_of(ctx)
    diagnostics = listing.check(engine, today or date.today(), only)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if fmt == "json":
        for d in diagnostics:
            echo_json(d.to_json())
    else:
        for d in diagnostics[:CHECK_SHOWN]:  # the rest are counted: a file of 12,000 mistakes is fixed from the top
            click.echo(d.render())
        if len(diagnostics) > CHECK_SHOWN:
            click.echo(tr("… and {count} more not shown (`policy check --format json` lists every one)",
                          count=format(len(diagnostics) - CHECK_SHOWN, ",")))
        versions = sum(len(v) for v in engine.store.by_id.values())
        click.echo(tr("{errors}, {warnings} in {versions}",
                      errors=plural(errors, "{count} error", "{count} errors"),
                      warnings=plural(warnings, "{count} warning", "{count} warnings"),
                      versions=plural(versions, "{count} policy version", "{count} policy versions")), err=True)
    return EXIT_POLICY if errors else EXIT_OK


def _repealed(store, pid: str) -> str:
    """The repeals of a policy, and the version in force again after the last of them: a repealed policy whose
    later notice enacted it anew must not read as one no longer in force."""
    repeals = store.repeals[pid]
    last = max(repeals, key=lambda r: r.effective_from)
    again = [v for v in store.versions(pid) if v.effective_from > last.effective_from]
    text = tr("[repealed: {labels}]", labels=series(r.version for r in repeals))
    if again:
        text = tr("[repealed: {labels}; in force again from {version}]",
                  labels=series(r.version for r in repeals), version=again[0].version)
    return text


@command("list", help=msg("List every policy id with its versions; an id whose files have errors is marked."))
@format_option
@click.pass_context
def list_policies(ctx, fmt):
    store = engine_of(ctx).store
    refuse_unusable_store(store)
    broken_ids = []
    for row in listing.policy_list(store):
        pid, title, files = row["id"], row["title"], row.get("files_with_errors")
        if files:
            broken_ids.append(pid)
        if fmt == "json":
            echo_json(row)
        else:
            mark = "  " + tr("[errors in {files}]", files=", ".join(files)) if files else ""
            labels = tr("({versions})", versions=series(row["versions"]) if row["versions"]
                        else msg("no version could be read"))
            if row.get("repeals"):
                labels += "  " + _repealed(store, pid)
            click.echo(f"{pid}  {title}  {labels}{mark}" if title else f"{pid}  {labels}{mark}")
    if broken_ids:
        click.echo(plural(len(broken_ids), "{count} policy has files with errors and cannot be used until they are "
                          "fixed; run `policy check`", "{count} policies have files with errors and cannot be used "
                          "until they are fixed; run `policy check`"), err=True)


@command(help=msg("Versions of one policy with the dates each is in force and its source document."))
@click.argument("policy_id")
@format_option
@click.pass_context
def timeline(ctx, policy_id, fmt):
    store = engine_of(ctx).store
    refuse_unusable_store(store)
    refuse_if_broken(store, policy_id, references=False)
    versions = store.versions(policy_id)
    if not versions:
        usage(msg("no policy {policy}; known: {known}", policy=repr(policy_id), known=", ".join(store.ids())))
    for row in listing.timeline(store, policy_id):
        if fmt == "json":
            echo_json(row)
        else:
            late = "  " + tr("RETROACTIVE (issued after it took effect)") if row["retroactive"] else ""
            review = "  " + tr("review by {day}", day=row["review_by"]) if row["review_by"] else ""
            if row.get("repeals"):
                click.echo(tr("{version}  REPEALED from {start}  issued {issued}  {document}  {file}",
                              version=row["version"], start=row["from"], issued=row["issued_on"],
                              document=row["document"], file=row["file"]) + late)
                continue
            click.echo(tr("{version}  in force {start} .. {end}  issued {issued}  {document}  {file}",
                          version=row["version"], start=row["from"], end=row["to"] or tr("now"),
                          issued=row["issued_on"], document=row["document"], file=row["file"]) + review + late)
            for mark in row.get("underneath", []):  # its effective content changed through a referenced policy
                click.echo("    " + tr("{day}  underneath: {what}", day=mark["date"], what=mark["what"]))


@command(help=msg("Show one version: source, references, tables, definitions, rules and outputs."))
@click.argument("policy", type=POLICY_REF)
@option("--as-of", type=DATE, default=None, help=msg("Show the version in force on this date."))
@format_option
@click.pass_context
def show(ctx, policy, as_of, fmt):
    engine = engine_of(ctx)
    refuse_unusable_store(engine.store)
    pid, version_label = policy
    refuse_if_broken(engine.store, pid)
    try:
        version = engine.version_for(pid, as_of or date.today(), Selection(version_label, any_date=True))
    except PolicyNotFound as exc:
        usage(said(exc))
    if version is None:
        click.echo(tr(engine.none_in_force(pid, as_of or date.today())), err=True)
        ctx.exit(EXIT_NOT_IN_FORCE)
    from engine.audit.describe import describe_version, role, version_json

    reads = None
    if as_of:  # what this version reads on that date: the versions it extends and uses
        try:
            linked = engine.linked(version, as_of)
            reads = [f"{linked.role_of(v) if fmt == 'json' else role(linked.role_of(v))} {v.key}"
                     for v in linked.versions if v is not version]
        except (LinkError, PolicyInvalid) as exc:
            why = exc.said_on(as_of) if isinstance(exc, LinkError) else said(exc)
            reads = [tr("(cannot resolve: {error})", error=why)]
    if fmt == "json":
        echo_json(version_json(version, engine.store, as_of, reads))
    else:
        click.echo(describe_version(version, engine.store, as_of, reads))


@command("test", help=msg(
    "Run officers' example cases (*.cases.yaml beside each policy version).\n\n"
    "Cases run against the policies folder that holds the version they sit beside (its schemas/ beside it), unless "
    "--policies is given."))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@option("-k", "patterns", multiple=True, metavar="PATTERN",
        help=msg("Run only cases whose name contains PATTERN (or matches it, with * ? [ ]); repeatable."))
@format_option
@option("--junit-xml", "junit", type=click.Path(path_type=Path), default=None,
        help=msg("Also write the results as JUnit XML to this file (for CI)."))
@option("--coverage", "show_coverage", is_flag=True,
        help=msg("Report the rules (passed, failed), table rows and clauses the cases reach, and those none do."))
@option("--accept", is_flag=True,
        help=msg("Write the new answers of the cases that newer files change into the case files, with the "
                 "versions they now read (written_against); comments and layout are kept."))
@click.pass_context
def test_cases(ctx, paths, patterns, fmt, junit, show_coverage, accept):
    from engine.audit.casefile import accept as accept_changes
    from engine.audit.casefile import (
        case_files,
        run_case_file,
        store_root,
        tested_policy,
    )
    from engine.audit.casereport import CaseRun

    require_paths(paths)
    if accept and patterns:
        usage(msg("--accept writes whole case files: run it without -k"))
    files = case_files(list(paths) or [policies_folder(ctx)])
    if not files:
        click.echo(tr("no example cases found (*.cases.yaml)"), err=True)
        ctx.exit(EXIT_POLICY)
    run = CaseRun(patterns, fmt, show_coverage, click.echo, write_output)
    for f in files:
        engine = _engine_for_cases(ctx, f, store_root)
        key = tested_policy(f)
        subject = parse_policy_ref(key)[0] if key else tr("the policy")
        errors = engine.store.errors_for(subject) if key else []
        if not errors:
            try:
                results = run_case_file(engine, f, run.select)
            except PolicyInvalid as exc:  # errors the files do not show, such as a type error found by checking
                errors = exc.diagnostics
        if errors:
            run.not_run(engine.store.display(f), subject)
            if fmt == "text":
                report(errors, tr("{subject} has errors", subject=subject))
            continue
        run.file_done(engine, engine.store.display(f), results)
        if accept:
            written = accept_changes(engine, f, results)
            if written is not None:
                _show_change(engine.store.display(f), *written, fmt)
                f.write_text(written[1], encoding="utf-8")
    run.report_changes(accept)
    run.finish(junit)
    ctx.exit(EXIT_POLICY if run.failed or run.selected_none else EXIT_OK)


def _show_change(display: str, old: str, new: str, count: int, fmt: str) -> None:
    """What --accept wrote, as a unified diff an officer can review (and version control shows again)."""
    import difflib

    if fmt == "json":
        echo_json({"file": display, "accepted": count})
        return
    if count:
        click.echo(tr("{display}: {count} accepted", display=display,
                      count=plural(count, "{count} new answer", "{count} new answers")), err=True)
    else:
        click.echo(tr("{display}: written_against added (the versions its cases were written against)",
                      display=display), err=True)
    click.echo("".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                            f"{display} (before)", f"{display} (accepted)")), nl=False)


def _engine_for_cases(ctx: click.Context, cases: Path, store_root) -> Engine:
    """The engine of the policies folder the cases belong to (the one in use when --policies is given)."""
    obj = ctx.find_root().obj
    root = None if obj["policies_given"] else store_root(cases)
    if root is None or same_path(root, obj["policies"]):
        return engine_of(ctx)
    engines = obj.setdefault("engines", {})
    if root not in engines:
        from engine.policies.cache import load_store

        engines[root] = Engine(load_store(root, obj["schemas"]))
    return engines[root]


COMMANDS = [check, list_policies, timeline, show, test_cases]

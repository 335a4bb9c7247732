"""The `policy` command line: a thin layer over engine.api.

Exit codes (docs/cli.md):
  0  everything checked or decided (a claim that is not eligible is still decided)
  1  policy files have errors, or example cases failed
  2  some claim is invalid (bad facts, unreadable input)
  3  some claim has no policy version in force on its decision date
  4  some claim could not be decided (the policy needed a value the claim lacks)
  64 the command was used wrongly (unknown option, unknown policy id or version)
  70 an internal error (a bug): the message names it; POLICY_DEBUG=1 shows the traceback
When claims end differently, the first that applies of 2, 4, 3 is returned.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

import click

from engine.api import Engine, PolicyInvalid, PolicyNotFound, Selection
from engine.core.diagnostics import sorted_diagnostics
from engine.core.isodate import parse_date
from engine.policies.linker import LinkError
from engine.policies.store import is_policy_file

EXIT_OK, EXIT_POLICY, EXIT_INVALID, EXIT_NOT_IN_FORCE, EXIT_UNDECIDED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 64, 70


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateType()


def _default_policies() -> Path:
    env = os.environ.get("POLICY_DIR")
    if env:
        return Path(env)
    local = Path("policies")
    return local if local.is_dir() else Path(".")


def _engine(ctx: click.Context) -> Engine:
    obj = ctx.find_root().obj
    if obj.get("engine") is None:
        from engine.policies.cache import load_store

        obj["engine"] = Engine(load_store(obj["policies"], obj["schemas"]))
    return obj["engine"]


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--policies", type=click.Path(path_type=Path), default=None,
              help="Folder of policy files (default: $POLICY_DIR, else ./policies, else the current folder).")
@click.option("--schemas", type=click.Path(path_type=Path), default=None,
              help="Folder of input schemas (default: schemas/ beside the policies folder).")
@click.pass_context
def cli(ctx: click.Context, policies: Path | None, schemas: Path | None) -> None:
    """Check, inspect and evaluate versioned policies written as data."""
    ctx.ensure_object(dict)
    ctx.obj["policies"] = policies or _default_policies()
    ctx.obj["policies_given"] = policies is not None
    ctx.obj["schemas"] = schemas
    ctx.obj["engine"] = None


# -------------------------------------------------------------------------------------------------
# Policy officers


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--today", type=DATE, default=None, help="The date review_by is compared with (default: today).")
@click.pass_context
def check(ctx, paths, fmt, today):
    """Check policy files: schema, expressions, types, references, versions and clause coverage.

    With PATHs, report only problems in those files or folders (the whole store is still read, so
    references resolve; files outside it are read too). Exit 0 when there is no error, 1 otherwise.
    """
    only = None
    if paths:
        _require_paths(paths)
        files = sorted({f.resolve() for p in paths for f in ([p] if p.is_file() else p.rglob("*"))
                        if f.is_file() and is_policy_file(f)})
        if not files:
            _usage(f"no policy files (*.yaml, not *.cases.yaml) in {', '.join(map(str, paths))}")
        engine = _engine_with(ctx, [f for f in files if not _inside(f, ctx.find_root().obj["policies"])])
        only = {engine.store.display(f) for f in files}
    else:
        engine = _engine(ctx)
    diagnostics = engine.check(today or date.today(), only)
    if only is not None:  # a broken input schema is reported once, at the first file naming it: show it here too
        named = {v.input_schema for vs in engine.store.by_id.values() for v in vs if v.file in only and v.input_schema}
        schema_errors = [d for name in named for d in engine.store.schema_errors.get(name, [])]
        diagnostics = sorted_diagnostics(diagnostics + schema_errors)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if fmt == "json":
        for d in diagnostics:
            _echo_json(d.to_json())
    else:
        for d in diagnostics:
            click.echo(d.render())
        versions = sum(len(v) for v in engine.store.by_id.values())
        click.echo(f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
                   f"in {versions} policy version{'s' if versions != 1 else ''}", err=True)
    ctx.exit(EXIT_POLICY if errors else EXIT_OK)


def _require_paths(paths) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _usage(f"no such file or folder: {', '.join(missing)}")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def _engine_with(ctx: click.Context, extra_files: list[Path]) -> Engine:
    """The store plus files from outside it, read fresh (never cached, never kept)."""
    if not extra_files:
        return _engine(ctx)
    obj = ctx.find_root().obj
    return Engine.load(obj["policies"], obj["schemas"], extra_files)


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def list_policies(ctx, fmt):
    """List every policy id with its versions; an id whose files have errors is marked."""
    store = _engine(ctx).store
    _refuse_unusable_store(store)
    broken_ids = []
    for pid in sorted(set(store.ids()) | set(store.unplaced)):
        versions = store.versions(pid)
        title = versions[-1].title if versions else ""
        files = sorted({d.location.file for d in store.errors_for(pid, references=False)})
        if files:
            broken_ids.append(pid)
        if fmt == "json":
            _echo_json({"id": pid, "title": title, "versions": [v.version for v in versions]}
                       | ({"files_with_errors": files} if files else {}))
        else:
            mark = f"  [errors in {', '.join(files)}]" if files else ""
            labels = ", ".join(v.version for v in versions) or "no version could be read"
            click.echo(f"{pid}  {title}  ({labels}){mark}" if title else f"{pid}  ({labels}){mark}")
    if broken_ids:
        click.echo(f"{len(broken_ids)} polic{'y has' if len(broken_ids) == 1 else 'ies have'} files with errors "
                   "and cannot be used until they are fixed; run `policy check`", err=True)


@cli.command()
@click.argument("policy_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def timeline(ctx, policy_id, fmt):
    """Versions of one policy with the dates each is in force and its source document."""
    store = _engine(ctx).store
    _refuse_unusable_store(store)
    _refuse_if_broken(store, policy_id, references=False)
    versions = store.versions(policy_id)
    if not versions:
        _usage(f"no policy {policy_id!r}; known: {', '.join(store.ids())}")
    for v in versions:
        end = store.until(v)
        row = {"version": v.version, "from": v.effective_from.isoformat(), "to": end.isoformat() if end else None,
               "issued_on": v.issued_on.isoformat(), "retroactive": v.issued_on > v.effective_from,
               "review_by": v.review_by.isoformat() if v.review_by else None,
               "document": v.source["number"], "title": v.source["title"], "digest": v.digest, "file": v.file}
        if fmt == "json":
            _echo_json(row)
        else:
            late = "  RETROACTIVE (issued after it took effect)" if row["retroactive"] else ""
            review = f"  review by {row['review_by']}" if row["review_by"] else ""
            click.echo(f"{v.version}  in force {row['from']} .. {row['to'] or 'now'}  issued {row['issued_on']}  "
                       f"{row['document']}  {v.file}{review}{late}")


@cli.command()
@click.argument("policy")
@click.option("--as-of", type=DATE, default=None, help="Show the version in force on this date.")
@click.pass_context
def show(ctx, policy, as_of):
    """Show one version: source, references, tables, definitions, rules and outputs."""
    engine = _engine(ctx)
    _refuse_unusable_store(engine.store)
    pid, _, version_label = policy.partition("@")
    _refuse_if_broken(engine.store, pid)
    try:
        version = engine.version_for(pid, as_of or date.today(), Selection(version_label or None, any_date=True))
    except PolicyNotFound as exc:
        _usage(str(exc))
    if version is None:
        click.echo(f"{pid} has no version in force on {as_of or date.today()}", err=True)
        ctx.exit(EXIT_NOT_IN_FORCE)
    from engine.audit.describe import describe_version

    reads = None
    if as_of:  # what this version reads on that date: the versions it extends and uses
        try:
            linked = engine.linked(version, as_of)
            reads = [f"{linked.role_of(v)} {v.key}" for v in linked.versions if v is not version]
        except (LinkError, PolicyInvalid) as exc:
            reads = [f"(cannot resolve: {exc})"]
    click.echo(describe_version(version, engine.store, as_of, reads))


def _fail_on_store_errors(store) -> None:
    """Refuse (exit 1) when what the running command needs has errors: the store itself (a missing folder), or
    the policies the command names, with everything they extend or use. Other policies' errors do not stop
    it. A command that names no policy (verify) refuses on any error."""
    _refuse_unusable_store(store)
    params = click.get_current_context().params
    named = [params[k] for k in ("policy", "policy_id") if isinstance(params.get(k), str)]
    named += [p for p in params.get("policies") or () if isinstance(p, str)]
    for text in named:
        _refuse_if_broken(store, text.partition("@")[0])
    if not named:
        _refuse([d for d in store.diagnostics if d.severity == "error"], "the policy store")


def _refuse_unusable_store(store) -> None:
    _refuse([d for d in store.diagnostics if d.code.startswith("store.")], "the policy store")


def _refuse_if_broken(store, policy_id: str, references: bool = True) -> None:
    _refuse(store.errors_for(policy_id, references), policy_id)


_SHOWN = 5  # errors printed before `policy check` is suggested: the full list is its job


def _refuse(errors: list, subject: str) -> None:
    """Print the first few errors and exit 1; nothing when there are none."""
    if errors:
        _report(errors, f"{subject} cannot be used while these errors remain")
        sys.exit(EXIT_POLICY)


def _report(errors: list, what: str) -> None:
    errors = sorted_diagnostics(errors)
    for d in errors[:_SHOWN]:
        click.echo(d.render(), err=True)
    if len(errors) > _SHOWN:
        click.echo(f"… and {len(errors) - _SHOWN} more", err=True)
    files = sorted({d.location.file for d in errors if d.location.file.endswith((".yaml", ".yml"))})
    where = " " + " ".join(files) if 0 < len(files) <= 3 else ""
    click.echo(f"policy: {what}; run `policy check{where}`", err=True)


# -------------------------------------------------------------------------------------------------
# Developers


@cli.command()
@click.argument("claims", nargs=-1, required=True)
@click.option("--policy", "policy", required=True, help="ID or ID@VERSION (pinned).")
@click.option("--as-of", type=DATE, default=None, help="Decision date for every claim (default: each claim's own).")
@click.option("--known-on", type=DATE, default=None, help="Use only versions issued on or before this date.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--summary", is_flag=True, help="JSON: only id, policy, date, eligibility, amount and failed rules.")
@click.option("--verbose", "-v", is_flag=True, help="Text: also show the facts each rule read.")
@click.option("--jobs", "-j", type=click.IntRange(0, 256), default=1,
              help="Worker processes (0: one per core). Output stays in input order.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no closing counts on standard error.")
@click.pass_context
def evaluate(ctx, claims, policy, as_of, known_on, fmt, summary, verbose, jobs, quiet):
    """Decide CLAIMS (YAML, JSON or JSON Lines files, or - for standard input) under a policy.

    Every claim gets one result, in input order: a decision, or an error that says what is wrong.
    """
    from engine.decide import batch
    from engine.claims.reader import read_claims
    from engine.decide.progress import progress_bar

    engine = _engine(ctx)
    _refuse_unusable_store(engine.store)
    pid, _, pinned = policy.partition("@")
    _refuse_if_broken(engine.store, pid)
    try:
        evaluator = engine.evaluator(policy, Selection(known_on=known_on), explain=not summary, outputs=not summary)
    except PolicyNotFound as exc:
        _usage(str(exc))
    if not engine.store.declares_input(pid, pinned or None):
        _usage(f"{policy} declares no input (no input.schema), so claims cannot be decided under it; other "
               "policies can only read it (through `uses`)")
    jobs = jobs or batch.default_jobs()
    out = sys.stdout.buffer
    raws = read_claims(list(claims), sys.stdin.buffer, lazy=jobs > 1)
    show_progress = not quiet and sys.stderr.isatty()
    total = batch.count_lines(list(claims)) if show_progress else None
    try:
        with progress_bar(total, enabled=show_progress) as advance:
            counts = batch.run(evaluator, raws, out.write, as_of, batch.OutputFormat(fmt, summary, verbose), jobs,
                               advance)
        out.flush()
    except PolicyInvalid as exc:
        _refuse(exc.diagnostics, policy)
    if not quiet:
        click.echo(counts.line(), err=True)
    ctx.exit(_exit_for(counts))


def _exit_for(counts) -> int:
    if counts.invalid:
        return EXIT_INVALID
    if counts.undecided:
        return EXIT_UNDECIDED
    if counts.not_in_force:
        return EXIT_NOT_IN_FORCE
    return EXIT_OK


# -------------------------------------------------------------------------------------------------
# Auditors


def _side(engine: Engine, policy_id: str, text: str, label: str):
    """`@VERSION` or a date → a fixed linked policy for what-if comparisons."""
    try:
        if text.startswith("@"):
            return engine.scenario(policy_id, version=text[1:])
        try:
            day = parse_date(text)
        except ValueError:
            _usage(f"{label} takes a date (YYYY-MM-DD) or @VERSION, not {text!r}")
        return engine.scenario(policy_id, at=day)
    except PolicyNotFound as exc:
        click.echo(f"policy: {exc}", err=True)
        sys.exit(EXIT_NOT_IN_FORCE if "in force" in str(exc) else EXIT_USAGE)
    except PolicyInvalid as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        sys.exit(EXIT_POLICY)


@cli.command()
@click.argument("policies", nargs=-1, required=True)
@click.option("--from", "from_", default=None, help="Compare the versions in force on this date ...")
@click.option("--to", default=None, help="... with those in force on this date.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def diff(ctx, policies, from_, to, fmt):
    """Structural difference between two versions: `diff ID@A ID@B` or `diff ID --from DATE --to DATE`.

    Shows dates and source, rules, table cells, definitions, outputs and references that changed, then
    what changed underneath in the policies it extends or uses.
    """
    from engine.audit.diff import diff_linked, render_diff

    engine = _engine(ctx)
    _fail_on_store_errors(engine.store)
    if len(policies) == 2 and not (from_ or to):
        (pa, _, va), (pb, _, vb) = (p.partition("@") for p in policies)
        if not (va and vb):
            _usage("give two pinned versions, ID@A ID@B, or one ID with --from and --to")
        if pa != pb:
            _usage(f"diff compares two versions of one policy, not {pa} with {pb}; a transposition's departures "
                   "from what it extends are its `overrides: true` entries (policy show)")
        a, b = _side(engine, pa, "@" + va, "ID@A"), _side(engine, pb, "@" + vb, "ID@B")
    elif len(policies) == 1 and from_ and to:
        a, b = _side(engine, policies[0], from_, "--from"), _side(engine, policies[0], to, "--to")
    else:
        _usage("give two pinned versions, ID@A ID@B, or one ID with --from and --to")
    result = diff_linked(a, b)
    if fmt == "json":
        _echo_json(result)
    else:
        click.echo(render_diff(result))


@cli.command()
@click.argument("policy_id")
@click.argument("claims", nargs=-1, required=True)
@click.option("--from", "from_", required=True, help="DATE or @VERSION: the policy as it was ...")
@click.option("--to", required=True, help="DATE or @VERSION: ... against the policy as it is here.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def impact(ctx, policy_id, claims, from_, to, fmt, quiet):
    """Decide every claim under two versions and report what changes.

    A DATE stands for the versions in force on that date (the policy and all it refers to); @VERSION pins
    the policy's own version. Each claim is decided on its own decision date under both. Exit 2 when
    there is nothing to compare (no claims, or none decided under either version) or a claim id is
    given more than once.
    """
    from engine.decide.batch import count_lines
    from engine.claims.reader import read_claims
    from engine.audit.impact import compare, render_impact, scenario_label
    from engine.decide.progress import progress_bar

    engine = _engine(ctx)
    _fail_on_store_errors(engine.store)
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
        _echo_json(report.to_json())
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


@cli.command()
@click.argument("decisions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("claims", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def verify(ctx, decisions, claims, fmt):
    """Reproduce recorded DECISIONS (JSON or JSON Lines from `evaluate --format json`) from their CLAIMS.

    Each record is decided again on its recorded date (and known-on date) and every field is compared;
    claims are matched to records by claim id. Exit 0 when every record is reproduced, 1 when one
    differs, 2 when one cannot be read or DECISIONS holds none.
    """
    from engine.audit.verify import Verifier, read_claim_index, read_records

    engine = _engine(ctx)
    _fail_on_store_errors(engine.store)
    verifier = Verifier(engine, read_claim_index(list(claims), sys.stdin.buffer))
    counts = {"reproduced": 0, "differs": 0, "unreadable": 0}
    for record in read_records(str(decisions)):
        outcome = verifier.check(record)
        counts[outcome.status] += 1
        if fmt == "json":
            _echo_json(outcome.to_json())
        else:
            click.echo(outcome.render())
    if not sum(counts.values()):  # verifying nothing must not pass for a clean audit
        click.echo(f"policy: {decisions} holds no recorded decision: nothing to verify", err=True)
        ctx.exit(EXIT_INVALID)
    click.echo(f"{counts['reproduced']} reproduced, {counts['differs']} differ, {counts['unreadable']} unreadable",
               err=True)
    # an unreadable record is input the check could not cover: it outranks a difference, as in evaluate
    ctx.exit(EXIT_INVALID if counts["unreadable"] else EXIT_POLICY if counts["differs"] else EXIT_OK)


@cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def test_cases(ctx, paths):
    """Run officers' example cases (*.cases.yaml beside each policy version).

    Cases run against the policies folder that holds the version they sit beside (its schemas/ beside
    it), unless --policies is given.
    """
    from engine.audit.casefile import case_files, run_case_file, store_root, tested_policy

    _require_paths(paths)
    files = case_files(list(paths) or [Path(ctx.find_root().obj["policies"])])
    if not files:
        click.echo("no example cases found (*.cases.yaml)", err=True)
        ctx.exit(EXIT_POLICY)
    passed = failed = 0
    for f in files:
        engine = _engine_for_cases(ctx, f, store_root)
        key = tested_policy(f)
        subject = key.partition("@")[0] if key else "the policy"
        errors = engine.store.errors_for(subject) if key else []
        if not errors:
            try:
                results = run_case_file(engine, f)
            except PolicyInvalid as exc:  # errors the files do not show, such as a type error found by checking
                errors = exc.diagnostics
        if errors:
            failed += 1
            click.echo(f"FAIL {engine.store.display(f)}: not run: {subject} has errors")
            _report(errors, f"{subject} has errors")
            continue
        for r in results:
            if r.passed:
                passed += 1
            else:
                failed += 1
                click.echo(f"FAIL {r.file}:{r.line}: {r.name}")
                for problem in r.problems:
                    click.echo(f"    {problem}")
    click.echo(f"{passed} passed, {failed} failed")
    ctx.exit(EXIT_POLICY if failed else EXIT_OK)


def _engine_for_cases(ctx: click.Context, cases: Path, store_root) -> Engine:
    """The engine of the policies folder the cases belong to (the one in use when --policies is given)."""
    obj = ctx.find_root().obj
    root = None if obj["policies_given"] else store_root(cases)
    if root is None or _same(root, obj["policies"]):
        return _engine(ctx)
    engines = obj.setdefault("engines", {})
    if root not in engines:
        from engine.policies.cache import load_store

        engines[root] = Engine(load_store(root, obj["schemas"]))
    return engines[root]


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _usage(message: str):
    click.echo(f"policy: {message}", err=True)
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    from engine.core.limits import LIMITS_ERROR

    if LIMITS_ERROR:
        click.echo(f"policy: {LIMITS_ERROR}", err=True)
        return EXIT_USAGE
    try:
        code = cli.main(args=argv, prog_name="policy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error of ours
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so plainly, without a traceback unless asked
        if os.environ.get("POLICY_DEBUG"):
            raise
        click.echo(f"policy: internal error: {type(exc).__name__}: {exc} (set POLICY_DEBUG=1 for details)", err=True)
        return EXIT_INTERNAL
    return code if isinstance(code, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

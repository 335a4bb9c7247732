"""Tools around a policy file for the officers who write it: fmt, new, eval, repl, lsp."""
from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click

from engine.api import PolicyInvalid, PolicyNotFound, Selection
from engine.cli.common import (
    DATE,
    EXIT_INVALID,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_POLICY,
    EXIT_UNDECIDED,
    POLICY_REF,
    command,
    echo_json,
    engine_of,
    format_option,
    option,
    policies_folder,
    refuse,
    refuse_if_broken,
    refuse_unusable_store,
    require_paths,
    said,
    usage,
)
from engine.core.i18n import alternatives, msg, plural, tr
from engine.decide.probe import Probe, claim_facts, evaluate_expression
from engine.decide.results import plain
from engine.language.compiler import MISSING
from engine.policies.facts import claim_schema
from engine.policies.linker import LinkError


class _Session:
    """The namespace an expression is evaluated in: a policy version linked on a day, and a claim's facts."""

    def __init__(self, ctx: click.Context, policy: tuple, claim_file: Path | None, as_of: date | None):
        self.ctx = ctx
        self.engine = engine_of(ctx)
        refuse_unusable_store(self.engine.store)
        self.policy_id, self.version_label = policy
        refuse_if_broken(self.engine.store, self.policy_id)
        try:
            self.engine.version_for(self.policy_id, date.min, Selection(self.version_label, any_date=True))
        except PolicyNotFound as exc:
            usage(said(exc))
        self.as_of = as_of
        self.claim: object = None
        self.claim_file: Path | None = None
        if claim_file is not None:
            self.load_claim(claim_file)

    def load_claim(self, path: Path) -> None:
        """Read the claim of `path`. A file that is not there is a wrong command line (click.UsageError); one that
        cannot be read, or holds no single claim, is _ClaimUnusable (exit 2), said as `policy evaluate` says it."""
        from engine.claims.reader import read_claims

        if not str(path) or str(path) == ".":
            raise click.UsageError(tr("name the claim file: :claim FILE"))
        if path.is_dir():
            raise click.UsageError(tr("{path} is a folder, not a claim file", path=str(path)))
        if not path.is_file():
            raise click.UsageError(tr("no such claim file: {path}", path=str(path)))
        raws = list(read_claims([str(path)]))
        if len(raws) != 1:
            raise _ClaimUnusable(tr("{path} holds {count} claims; give a file with one", path=str(path),
                                    count=len(raws)))
        raw = raws[0].parsed()
        if raw.error is not None:
            raise _ClaimUnusable(f"{raw.error.location}: {tr('error')}[{raw.error.code}]: {tr(raw.error.message)}")
        self.claim, self.claim_file = raw.data, path

    def use_claim(self, path: Path) -> None:
        """Load the claim of `path` and keep it only if it is valid: otherwise _ClaimUnusable, the one before kept."""
        before = self.claim, self.claim_file
        self.load_claim(path)
        error = self.resolve()[3]
        if error is not None:
            self.claim, self.claim_file = before
            raise _ClaimUnusable(tr("the claim is invalid: [{code}] {message}", code=error.code,
                                    message=tr(error.message)))

    def resolve(self):
        """(checked namespace, facts, decision date, claim error) for the current claim and date."""
        store = self.engine.store
        reader = None
        facts, claim_error = {}, None
        any_version = store.get(self.policy_id, self.version_label) if self.version_label \
            else store.versions(self.policy_id)[-1]
        schema = claim_schema(store, any_version)
        if schema is not None:
            from engine.claims.reader import ClaimReader

            reader = ClaimReader(schema.schema, schema.type)
            facts, claim_error = claim_facts(reader, self.claim, str(self.claim_file))
        day = self.as_of or (reader.decision_date(facts) if reader and facts else None) or date.today()
        version = self.engine.version_for(self.policy_id, day, Selection(self.version_label, any_date=True))
        if version is None:
            raise _NotInForce(tr(self.engine.none_in_force(self.policy_id, day)))
        try:
            linked = self.engine.linked(version, day)
        except LinkError as exc:
            raise _NotInForce(tr(exc.said_on(day))) from None
        return self.engine.checked(linked), facts, day, claim_error, version

    def evaluate(self, text: str) -> tuple[Probe, object]:
        checked, facts, day, claim_error, version = self.resolve()
        if claim_error is not None:
            return Probe(text, claim_error=claim_error), (version, day)
        return evaluate_expression(checked, text, facts, day), (version, day)


class _NotInForce(Exception):
    pass


class _ClaimUnusable(Exception):
    """A claim file that cannot be read, or a claim that is invalid (exit 2): args[0] says where and why."""


def _render(probe: Probe, where) -> str:
    version, day = where
    lines = []
    if probe.claim_error is not None:
        e = probe.claim_error
        return tr("the claim is invalid: [{code}] {message}", code=e.code, message=tr(e.message))
    if probe.diagnostics:
        return "\n".join(d.render() for d in probe.diagnostics)
    for w in probe.warnings:
        lines.append(w.render())
    if probe.fault is not None:
        lines.append(f"{tr('error')}[{probe.fault.code}]: {tr(probe.fault.message)}")
    else:
        lines.append(f"{_show(probe.value)}  : {probe.type}")
    lines.append("  " + tr("in {policy} on {day}", policy=version.key, day=str(day)))
    first: dict = {}
    for name, value in probe.reads:
        first.setdefault(name, value)
    reads = list(first.items())
    if reads:
        lines.append("  " + tr("reads:"))
        absent = tr("(absent)")
        lines += [f"    {name} = {absent if value is MISSING else _show(value)}" for name, value in reads]
    return "\n".join(lines)


def _show(value) -> str:
    """A value as an expression would write it: text quoted, numbers and dates bare."""
    if isinstance(value, (Decimal, date)) and not isinstance(value, bool):
        return str(plain(value))
    return json.dumps(plain(value), ensure_ascii=False)


def _exit_code(probe: Probe) -> int:
    if probe.diagnostics:
        return EXIT_POLICY
    if probe.claim_error is not None:
        return EXIT_INVALID
    if probe.fault is not None:
        return EXIT_UNDECIDED
    return EXIT_OK


_CLAIM_HELP = msg("A claim (YAML or JSON) whose facts the expression reads.")


@command("eval", help=msg(
    "Evaluate EXPRESSION in a policy's namespace against a claim: its value, its type and what it read.\n\n"
    "Errors are reported as `policy check` reports them (exit 1); a value the claim does not give is exit 4, an "
    "invalid claim exit 2."))
@click.argument("expression")
@option("--policy", "policy", required=True, type=POLICY_REF, help=msg("ID or ID@VERSION whose names it uses."))
@option("--claim", "claim_file", type=click.Path(path_type=Path), default=None, help=_CLAIM_HELP)
@option("--as-of", type=DATE, default=None,
        help=msg("Decision date (default: the claim's own, else today); picks the version in force."))
@format_option
@click.pass_context
def eval_expression(ctx, expression, policy, claim_file, as_of, fmt):
    try:
        session = _Session(ctx, policy, claim_file, as_of)
        probe, where = session.evaluate(expression)
    except _NotInForce as exc:
        click.echo(f"policy: {tr(said(exc))}", err=True)
        ctx.exit(EXIT_NOT_IN_FORCE)
    except _ClaimUnusable as exc:
        click.echo(f"policy: {exc.args[0]}", err=True)
        ctx.exit(EXIT_INVALID)
    except PolicyInvalid as exc:
        refuse(exc.diagnostics, policy[0])
    if fmt == "json":
        version, day = where
        echo_json(probe.to_json() | {"policy": version.key, "decision_date": day.isoformat()})
    else:
        click.echo(_render(probe, where))
    ctx.exit(_exit_code(probe))


_REPL_HELP = msg("Type an expression to evaluate it. Commands:\n"
                 "  :claim FILE     read the facts from FILE\n"
                 "  :as-of DATE     decide on DATE (:as-of with no date: the claim's own date)\n"
                 "  :names          the definitions, tables and facts in scope\n"
                 "  :quit           leave (or Ctrl-D)")


@command(help=msg("Evaluate expressions one line at a time in a policy's namespace (:help lists the commands)."))
@option("--policy", "policy", required=True, type=POLICY_REF, help=msg("ID or ID@VERSION whose names it uses."))
@option("--claim", "claim_file", type=click.Path(path_type=Path), default=None, help=_CLAIM_HELP)
@option("--as-of", type=DATE, default=None, help=msg("Decision date (default: the claim's own, else today)."))
@click.pass_context
def repl(ctx, policy, claim_file, as_of):
    try:
        session = _Session(ctx, policy, None, as_of)
        if claim_file is not None:
            session.use_claim(claim_file)
    except click.UsageError as exc:
        usage(exc.message)
    except _ClaimUnusable as exc:
        click.echo(f"policy: {exc.args[0]}", err=True)
        ctx.exit(EXIT_INVALID)
    interactive = sys.stdin.isatty()
    click.echo(tr("{policy} — :help for commands, :quit to leave",
                  policy=policy[0] + ("@" + policy[1] if policy[1] else "")))
    while True:
        try:
            line = input("policy> " if interactive else "")
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if not interactive:
            click.echo(f"policy> {line}")
        if line in (":quit", ":q", ":exit"):
            break
        try:
            click.echo(_repl_line(session, line))
        except click.UsageError as exc:
            click.echo(exc.message)
        except _ClaimUnusable as exc:
            click.echo(exc.args[0])
        except _NotInForce as exc:
            click.echo(tr(said(exc)))
        except PolicyInvalid as exc:
            click.echo("\n".join(d.render() for d in exc.diagnostics))
    ctx.exit(EXIT_OK)


def _repl_line(session: _Session, line: str) -> str:
    command, _, argument = line.partition(" ")
    argument = argument.strip()
    if command == ":help":
        return tr(_REPL_HELP)
    if command == ":claim":
        session.use_claim(Path(argument))
        return tr("claim {file}", file=argument)
    if command == ":as-of":
        session.as_of = DATE.convert(argument, None, None) if argument else None
        return tr("as of {day}", day=str(session.as_of) if session.as_of else tr("the claim date"))
    if command == ":names":
        checked = session.resolve()[0]
        linked = checked.linked
        facts = [f.name for f in linked.schema.type.fields] if linked.schema else []
        return "\n".join(tr("{label}: {names}", label=label, names=", ".join(names) or "-") for label, names in (
            (msg("definitions"), list(linked.definitions)), (msg("tables"), list(linked.tables)),
            (msg("aliases"), list(linked.aliases)), (msg("facts"), facts)))
    if command.startswith(":"):
        return tr("unknown command {command}; :help lists the commands", command=command)
    probe, where = session.evaluate(line)
    return _render(probe, where)


@command("fmt", help=msg(
    "Rewrite policy and case files (*.yaml) in one canonical layout, keeping comments.\n\n"
    "Key order, quotes and long expressions (folded at spaces) are made canonical; the data is never changed (the "
    "digest stays the same) and formatting twice changes nothing. Default: the policies folder."))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@option("--check", "check_only", is_flag=True, help=msg("Change nothing; exit 1 when a file is not in the layout."))
@click.pass_context
def fmt(ctx, paths, check_only):
    from engine.core.diagnostics import DiagnosticError
    from engine.policies.layout import format_text
    from engine.policies.yamlsource import read_file, read_yaml

    roots = list(paths) or [Path(ctx.find_root().obj["policies"])]
    require_paths(roots)
    files = sorted({f for p in roots for f in ([p] if p.is_file() else p.rglob("*"))
                    if f.is_file() and f.suffix in (".yaml", ".yml")})
    if not files:
        usage(msg("no YAML files in {paths}", paths=", ".join(map(str, roots))))
    changed = broken = 0
    for f in files:
        try:
            text = read_file(f, str(f)).decode("utf-8")
            before = read_yaml(text, str(f)).value
        except (DiagnosticError, UnicodeDecodeError, OSError) as exc:
            broken += 1
            for d in getattr(exc, "diagnostics", ()):
                click.echo(d.render(), err=True)
            click.echo(tr("policy: {file} cannot be read, so it was not formatted", file=str(f)), err=True)
            continue
        formatted = format_text(text, cases=f.name.endswith(".cases.yaml"))
        if formatted == text:
            continue
        if read_yaml(formatted, str(f)).value != before:  # never change what the file says
            broken += 1
            click.echo(tr("policy: {file} was left alone: its layout cannot be made canonical without changing its "
                          "data", file=str(f)), err=True)
            continue
        changed += 1
        if check_only:
            click.echo(tr("would reformat {file}", file=str(f)))
        else:
            f.write_bytes(formatted.encode("utf-8"))  # the line ends as formatted, on every platform
            click.echo(tr("reformatted {file}", file=str(f)))
    done = plural(changed, "{count} file would be reformatted", "{count} files would be reformatted") if check_only \
        else plural(changed, "{count} file reformatted", "{count} files reformatted")
    click.echo(done + tr(", {count} already canonical", count=len(files) - changed - broken)
               + (tr(", {count} not readable", count=broken) if broken else ""), err=True)
    ctx.exit(EXIT_POLICY if broken or (check_only and changed) else EXIT_OK)


@command("new", help=msg(
    "Scaffold a new version of POLICY_ID to edit, as policies/POLICY_ID/EFFECTIVE.yaml.\n\n"
    "An existing policy: a copy of a version with the version, dates and document marked for editing, or, with "
    "--amend, an amendment of the version before it that states only what changes. A new policy: the required "
    "sections with comments in Chinese saying what to fill in."))
@click.argument("policy_id")
@option("--effective", type=DATE, required=True, help=msg("The new version's first day in force (also its label)."))
@option("--from", "from_version", default=None, metavar="VERSION",
        help=msg("Copy this version (default: the one in force on --effective, else the latest)."))
@option("--issued", type=DATE, default=None, help=msg("The notice's date of issue (default: today)."))
@option("--amend", is_flag=True,
        help=msg("Scaffold an amendment (amends:) of the version in force just before --effective: only what "
                 "the new notice changes, everything else carried over."))
@option("--repeal", is_flag=True,
        help=msg("Scaffold a repeal (repeals: true): from --effective on, no version of POLICY_ID is in force until "
                 "a later one takes effect."))
@click.pass_context
def new(ctx, policy_id, effective, from_version, issued, amend, repeal):
    import re

    from engine.policies.scaffold import new_policy_text, next_version_text

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+", policy_id):
        usage(msg("{policy} is not a policy id: lower-case letters, digits and -, two or more parts joined by /",
                  policy=repr(policy_id)))
    store = engine_of(ctx).store
    refuse_unusable_store(store)
    label = effective.isoformat()
    target = Path(ctx.find_root().obj["policies"]) / policy_id / f"{label}.yaml"
    if store.get(policy_id, label) is not None or target.exists():
        usage(msg("{version} exists already ({file})", version=f"{policy_id}@{label}", file=str(target)))
    versions = store.versions(policy_id)
    other = _other_policys_version(store, policy_id, from_version, versions)
    if other is not None:  # a new policy begun from another's file: a city transposing as another city did
        text = next_version_text(Path(other.file).read_text(encoding="utf-8"), other.key, effective,
                                 issued or date.today())
        text = re.sub(rf"^policy:[ \t]*['\"]?{re.escape(other.id)}['\"]?", f"policy: {policy_id}", text, count=1,
                      flags=re.MULTILINE)
        _write_new(target, text, tr("a copy of {version}", version=other.key), label)
        return
    if from_version is not None and store.get(policy_id, from_version) is None:
        known = ", ".join(v.version for v in versions) or tr("none")
        usage(msg("{policy} has no version {version} (it has {known})", policy=policy_id, version=repr(from_version),
                  known=known))
    if amend and repeal:
        usage(msg("--amend and --repeal cannot be given together: a repeal changes nothing, it ends the policy"))
    if repeal:
        text, what = _repeal(store, policy_id, effective, from_version, versions, issued or date.today())
    elif amend:
        text, what = _amendment(store, policy_id, effective, from_version, versions, issued or date.today())
    elif versions:
        source = store.get(policy_id, from_version) if from_version else \
            store.in_force(policy_id, effective) or versions[-1]
        _refuse_breaking_amendments(versions, effective)
        if source.amends is not None:  # its copy would say it amends a version that is no longer the one before
            usage(tr("{source} is an amendment of {amends} (amends:), so a copy of it would be one too, of a version "
                     "that is not the one before it: give --amend to amend {source} with everything carried over, "
                     "or --from a version that is whole", source=source.key, amends=source.amends))
        # a version's file name is relative to the current folder, or absolute (PolicyStore.display)
        text = next_version_text(Path(source.file).read_text(encoding="utf-8"), source.key, effective,
                                 issued or date.today())
        what = tr("a copy of {version}", version=source.key)
    else:
        if from_version:
            usage(msg("{policy} is a new policy: there is no version to copy", policy=policy_id))
        text = new_policy_text(policy_id, effective, issued or date.today())
        what = tr("a new policy")
        from engine.core.spelling import close_matches

        # a typo: every part alike (demo/grnat for demo/grant), not another policy with the same last part
        close = [c for c in close_matches(policy_id, store.ids(), n=3, cutoff=0.8)
                 if len(c.split("/")) == len(policy_id.split("/"))
                 and all(close_matches(a, [b], n=1, cutoff=0.75) for a, b in zip(policy_id.split("/"), c.split("/"),
                                                                                 strict=True))][:1]
        if close:  # a misspelt id makes a new policy beside the one meant: said, since the file is made anyway
            click.echo(tr("note: {policy} is a new policy; {close} exists: if you meant it, delete the new file and "
                          "run policy new {close} --effective {day}", policy=policy_id, close=close[0],
                          day=effective.isoformat()), err=True)
    if repeal:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(tr("created {file} ({what})", file=str(target), what=what))
        click.echo(tr("next: edit it, then run `policy check {file}` and `policy timeline {policy}`",
                      file=str(target), policy=policy_id))
        return
    _write_new(target, text, what, label)


def _write_new(target: Path, text: str, what: str, label: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(tr("created {file} ({what})", file=str(target), what=what))
    click.echo(tr("next: edit it, then run `policy check {file}` and add example cases beside it ({cases})",
                  file=str(target), cases=target.with_name(label + ".cases.yaml").name))


def _other_policys_version(store, policy_id: str, from_version: str | None, versions: list):
    """`--from OTHER@VERSION`: the version of another policy a new one begins from, or None when --from names a
    version of this policy (or is not given). A usage error for what cannot be copied."""
    if from_version is None or "@" not in from_version:
        return None
    other_id, _, label = from_version.partition("@")
    if other_id == policy_id:
        usage(msg("give --from {label}: a version of {policy} is named by its label alone", label=label,
                  policy=policy_id))
    if versions:
        usage(msg("{policy} has versions already: its next one begins from one of them (--from VERSION), not from "
                  "another policy", policy=policy_id))
    source = store.get(other_id, label)
    if source is None:
        known = ", ".join(v.version for v in store.versions(other_id)) or tr("none")
        usage(msg("{policy} has no version {version} (it has {known})", policy=other_id, version=repr(label),
                  known=known))
    if source.amends is not None:
        usage(msg("{source} is an amendment (amends: {amends}), which states only what it changes: begin from a "
                  "version that is whole, such as {other}@{amends}", source=source.key, amends=source.amends,
                  other=other_id))
    return source


def _amendment(store, policy_id: str, effective: date, from_version: str | None, versions: list, issued: date):
    """(text, what it is) of an amendment of the version in force just before `effective` (`amends:` must name
    that one: engine/policies/amend.py), or a usage error saying why there is none."""
    from engine.policies.scaffold import amendment_text

    earlier = [v for v in versions if v.effective_from < effective]
    if not earlier:
        usage(tr("{pid} has no version before {day} to amend", pid=policy_id, day=effective.isoformat())
              if versions else tr("{pid} is a new policy: there is no version to amend", pid=policy_id))
    previous = max(earlier, key=lambda v: (v.effective_from, v.version))
    if from_version is not None and from_version != previous.version:
        usage(tr("an amendment amends the version in force just before it: {previous}, not {version}",
                 previous=previous.key, version=from_version))
    repealed = [r for r in store.repeals.get(policy_id, []) if previous.effective_from < r.effective_from < effective]
    if repealed:
        usage(tr("{repeal} repealed {pid} from {day}: there is no version in force to amend; copy one whole with "
                 "--from {version} instead of --amend", repeal=repealed[-1].key, pid=policy_id,
                 day=str(repealed[-1].effective_from), version=previous.version))
    _refuse_breaking_amendments(versions, effective)
    return amendment_text(previous, effective, issued), tr("an amendment of {version}", version=previous.key)


def _repeal(store, policy_id: str, effective: date, from_version: str | None, versions: list, issued: date):
    """(text, what it is) of a repeal from `effective` of the version in force the day before, or a usage error
    saying why there is nothing to repeal (repeal.nothing)."""
    from engine.language.builtins import add_days
    from engine.policies.scaffold import repeal_text

    if from_version is not None:
        usage(tr("a repeal ends the version in force the day before it: leave out --from"))
    if not versions:
        usage(tr("{pid} is a new policy: there is no version to repeal", pid=policy_id))
    previous = store.in_force(policy_id, add_days(effective, -1))
    if previous is None:
        usage(tr("{pid} has no version in force on {day} to repeal", pid=policy_id,
                 day=add_days(effective, -1).isoformat()))
    return repeal_text(previous, effective, issued), tr("a repeal of {version}", version=previous.key)


def _refuse_breaking_amendments(versions: list, effective: date) -> None:
    """A usage error when a new version on `effective` would come between a later amendment and the version it
    amends (amend.not_previous): the scaffold must pass `policy check`."""
    earlier = [v for v in versions if v.effective_from < effective]
    if not earlier:
        return
    previous = max(earlier, key=lambda v: (v.effective_from, v.version))
    later = next((v for v in versions if v.effective_from > effective and v.amends == previous.version), None)
    if later is not None:
        usage(tr("{later} amends {previous}: a version between them would break it", later=later.key,
                 previous=previous.key))


@command(help=msg(
    "Run the language server for policy files on standard input and output (for an editor).\n\n"
    "Each open policy file is checked as `policy check` checks it, on every change; hover shows a name's type, "
    "definition, clause and the clause's text; completion offers fact paths, definitions, tables, columns, built-in "
    "functions and clause ids; go to definition follows names across extends and uses."))
@option("--stdio", is_flag=True, help=msg("Accepted, as editors send it: standard input and output are the only "
                                          "transport."))
@click.pass_context
def lsp(ctx, stdio):
    from engine.lsp.server import run

    ctx.exit(run(policies_folder(ctx), ctx.find_root().obj["schemas"]))


@command(help=msg(
    "Explain an error code (such as yaml.syntax): what it means, a wrong and a right example, where the docs say "
    "more. The codes are those of the engine's registry (engine/core/errors.py); without CODE, every code with its "
    "summary."))
@click.argument("code", required=False)
@click.pass_context
def explain(ctx, code):
    import difflib

    from engine.core.errors import CODES, lookup
    from engine.core.explanations import explanation

    if code is None:  # the list to choose from
        for known in sorted(CODES.values(), key=lambda e: e.code):
            more = explanation(known.code)
            summary = (more.text("summary") if more else "") or known.summary
            click.echo(f"{known.code}  ({tr(known.severity)}) {summary}")
        return
    # as written in a report, typed in capitals, or copied with its label (error[clause.unknown], 错误[clause.unknown])
    import re

    labelled = re.search(r"\[([A-Za-z_.]+)\]", code)
    code = labelled.group(1) if labelled else code
    entry = lookup(code) or lookup(code.strip().lower())
    if entry is None:
        close = difflib.get_close_matches(code.strip().lower(), list(CODES), n=3, cutoff=0.6)
        usage(tr("no error code {code}", code=repr(code))
              + (tr("; did you mean {names}?", names=alternatives(close)) if close else ""))
    more = explanation(entry.code)
    summary = (more.text("summary") if more else "") or entry.summary
    lines = [f"{entry.code} ({tr(entry.severity)}): {summary}"]
    if more is None:
        lines += ["", entry.explanation] if entry.explanation else []
        examples = (entry.wrong, entry.right)
    else:
        for title, part in ((tr("What it means:"), "meaning"), (tr("How to fix it:"), "fix")):
            if more.text(part):
                lines += ["", title] + ["    " + line for line in more.text(part).strip().split("\n")]
        examples = (more.wrong, more.right)
        if more.limits:
            lines += ["", tr("(the examples are checked with {limits})",
                             limits=", ".join(f"{name}={value}" for name, value in more.limits.items()))]
        if more.check in ("policy", "decide") and not more.wrong.startswith("#"):
            lines += ["", tr("The examples are parts of a policy file; the rest of the file is left out.")]
        if more.check == "none" and more.why_no_example():
            lines += ["", tr("No example: {reason}", reason=more.why_no_example().strip())]
    for title, example in ((tr("wrong:"), examples[0]), (tr("right:"), examples[1])):
        if example:
            lines += ["", title] + ["    " + line for line in example.split("\n")]
    lines += ["", tr("more: {docs}", docs=entry.docs)]
    click.echo("\n".join(lines))


COMMANDS = [fmt, new, eval_expression, repl, lsp, explain]

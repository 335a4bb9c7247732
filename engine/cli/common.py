"""What every command shares: exit codes, option types, the engine of the run, and how refusals are reported."""
from __future__ import annotations

import json
import os
import re
import sys
from datetime import date
from pathlib import Path

import click

from engine.api import Engine, empty_pin, parse_policy_ref
from engine.core.diagnostics import sorted_diagnostics
from engine.core.i18n import language, msg, tr
from engine.core.isodate import parse_date

EXIT_OK, EXIT_POLICY, EXIT_INVALID, EXIT_NOT_IN_FORCE, EXIT_UNDECIDED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 64, 70
EXIT_OUTPUT, EXIT_INTERRUPTED, EXIT_PIPE = 74, 130, 141  # the output cannot be written; Ctrl-C; the reader left


class _ShownInLanguage:
    """A help text kept as written (an English template, or msg()) and translated each time it is read, so that
    one process shows help in whichever language --lang or the locale chose."""

    _help: str | None = None

    @property
    def help(self) -> str | None:
        return tr(self._help) if self._help else self._help

    @help.setter
    def help(self, value: str | None) -> None:
        self._help = value


class Option(_ShownInLanguage, click.Option):
    """An option whose help is shown in the chosen language."""

    def __init__(self, param_decls=None, help: str | None = None, **attributes) -> None:
        super().__init__(param_decls, help=help, **attributes)
        self._help = help  # the msg() itself, with its arguments: click keeps a cleaned copy of its English text


class _Formatter(click.HelpFormatter):
    """Click's help layout, its headings in the chosen language and its text wrapped at terminal columns
    (engine/cli/helptext.py: a Chinese line is as wide as an English one, and breaks where Chinese breaks)."""

    def write_heading(self, heading: str) -> None:
        self.write(" " * self.current_indent + tr("{heading}:", heading=heading) + "\n")

    def write_text(self, text: str) -> None:
        from engine.cli.helptext import wrap_text

        indent = " " * self.current_indent
        self.write(wrap_text(text, self.width, initial_indent=indent, subsequent_indent=indent,
                             preserve_paragraphs=True) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        from engine.cli.helptext import width, wrap_text

        rows = list(rows)
        first_col = min(max((width(first) for first, _ in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(" " * self.current_indent + first)
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_text(second, max(self.width - first_col - 2, 10), preserve_paragraphs=True).splitlines()
            self.write("\n".join([lines[0]] + [" " * (first_col + self.current_indent) + line if line else ""
                                                for line in lines[1:]]) + "\n" if lines else "\n")


def _without_aside(found: re.Match) -> str:
    """What is left of `before（aside）after`: a space where a Latin word then meets a Chinese one (CSV 或)."""
    before, after = found[1], found[2]
    space = before and after and not before.isspace() and not after.isspace() and before.isascii() != after.isascii()
    return before + (" " if space else "") + after


class _Context(click.Context):
    formatter_class = _Formatter


class Command(_ShownInLanguage, click.Command):
    """A command whose help, and its options' help, is shown in the chosen language."""

    context_class = _Context

    def get_short_help_str(self, limit: int = 45) -> str:
        text = super().get_short_help_str(limit)
        if language() == "zh" and self.help:  # Chinese has no spaces to cut at: its first clause, without asides
            first = re.sub(r"(.?)（[^）]*）(.?)", _without_aside, self.help.split("\n\n")[0])
            text = re.split(r"[。；：]", first)[0]
        return text

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # made once and kept by click, whatever the language then
        if option is not None:
            option.help = tr(msg("Show this message and exit."))
        return option


class Group(Command, click.Group):
    """A group of commands, shown in the chosen language, whose commands are too."""

    command_class = Command


def option(*declarations: str, **attributes):
    """click.option, its help (a msg()) shown in the chosen language."""
    return click.option(*declarations, cls=Option, **attributes)


def command(name: str | None = None, **attributes):
    """click.command, its help (a msg()) and its options' shown in the chosen language."""
    return click.command(name, cls=Command, **attributes)


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(tr(exc.args[0]), param, ctx)


DATE = DateType()


def default_policies() -> Path:
    env = os.environ.get("POLICY_DIR")
    if env:
        return Path(env)
    local = Path("policies")
    return local if local.is_dir() else Path(".")


def policies_folder(ctx: click.Context) -> Path:
    """The policies folder, refused as a usage error (exit 64) when it is not there: a mistyped --policies or
    $POLICY_DIR is a wrong command line, not a broken policy store."""
    obj = ctx.find_root().obj
    folder = Path(obj["policies"])
    if not folder.is_dir():
        given = "--policies" if obj.get("policies_given") else "$POLICY_DIR"
        usage(tr("the policies folder {folder} (from {given}) does not exist or is not a folder",
                 folder=str(folder), given=given))
    return folder


def engine_of(ctx: click.Context) -> Engine:
    obj = ctx.find_root().obj
    if obj.get("engine") is None:
        from engine.policies.cache import load_store

        obj["engine"] = Engine(load_store(policies_folder(ctx), obj["schemas"]))
    return obj["engine"]


def standard_input():
    """Standard input as bytes, or None when it is closed (`<&-`): the reader then says so for `-`."""
    return sys.stdin.buffer if sys.stdin is not None else None


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def require_paths(paths) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        usage(tr("no such file or folder: {paths}", paths=", ".join(missing)))


def inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def engine_with(ctx: click.Context, extra_files: list[Path]) -> Engine:
    """The store plus files from outside it, read fresh (never cached, never kept)."""
    if not extra_files:
        return engine_of(ctx)
    obj = ctx.find_root().obj
    return Engine.load(policies_folder(ctx), obj["schemas"], extra_files)


def fail_on_store_errors(store) -> None:
    """Refuse (exit 1) when what the running command needs has errors: the store itself (a missing folder), or
    the policies the command names, with everything they extend or use. Other policies' errors do not stop
    it. A command that names no policy (verify) refuses on any error."""
    refuse_unusable_store(store)
    params = click.get_current_context().params
    named = [params[k] for k in ("policy", "policy_id") if params.get(k)]
    named += list(params.get("policies") or ())
    for ref in named:
        refuse_if_broken(store, ref if isinstance(ref, str) else ref[0])
    if not named:
        refuse([d for d in store.diagnostics if d.severity == "error"], "the policy store")


def refuse_unusable_store(store) -> None:
    refuse([d for d in store.diagnostics if d.code.startswith("store.")], "the policy store")


def refuse_if_broken(store, policy_id: str, references: bool = True) -> None:
    refuse(store.errors_for(policy_id, references), policy_id)


SHOWN = 5  # errors printed before `policy check` is suggested: the full list is its job


def refuse_inputless(engine, pid: str, pinned: str | None) -> None:
    """A usage error for a policy that declares no input: claims are never decided under it (`evaluate`, `grant`)."""
    if not engine.store.declares_input(pid, pinned):
        usage(msg("{policy} declares no input (no input.schema), so claims cannot be decided under it; other "
                  "policies can only read it (through `uses`)", policy=pid + ("@" + pinned if pinned else "")))


def refuse(errors: list, subject: str) -> None:
    """Print the first few errors and exit 1; nothing when there are none."""
    if errors:
        report(errors, tr("{subject} cannot be used while these errors remain", subject=subject))
        sys.exit(EXIT_POLICY)


def report(errors: list, what: str) -> None:
    errors = sorted_diagnostics(errors)
    for d in errors[:SHOWN]:
        click.echo(d.render(), err=True)
    if len(errors) > SHOWN:
        click.echo(tr("… and {count} more", count=len(errors) - SHOWN), err=True)
    files = sorted({d.location.file for d in errors if d.location.file.endswith((".yaml", ".yml"))})
    where = " " + " ".join(files) if 0 < len(files) <= 3 else ""
    click.echo(tr("policy: {what}; run `policy check{where}`", what=what, where=where), err=True)


def same_path(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def said(exc: BaseException) -> str:
    """What an exception says, as the msg() it was raised with when it was (so it can be shown in any language)."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


def write_output(path, data: bytes | str) -> None:
    """Write a report or an export to the file asked for, or say why it cannot be (exit 74), as evaluate's --output
    does: a folder that does not exist, a disk that is full, a file that may not be written."""
    try:
        if isinstance(data, bytes):
            Path(path).write_bytes(data)
        else:
            Path(path).write_text(data, encoding="utf-8")
    except OSError as exc:
        from engine.core.reasons import os_reason

        click.echo(tr("policy: cannot write the output to {file}: {reason}", file=str(path), reason=os_reason(exc)),
                   err=True)
        sys.exit(EXIT_OUTPUT)


def usage(message: str):
    click.echo(f"policy: {tr(message)}", err=True)
    sys.exit(EXIT_USAGE)


class PolicyRefType(click.ParamType):
    """ID or ID@VERSION → (id, version or None)."""

    name = "ID[@VERSION]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        pid, version = parse_policy_ref(value)
        if not pid:
            self.fail(tr("{value} names no policy (write ID or ID@VERSION)", value=repr(value)), param, ctx)
        if value.endswith("@"):
            self.fail(tr(empty_pin(value)), param, ctx)
        return pid, version


POLICY_REF = PolicyRefType()


def format_option(function):
    """--format text|json, the same on every command that has it."""
    return option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                  help=msg("text for people, json (one object per line) for programs."))(function)


def table_format_option(function):
    """--format text|json|parquet: a batch's summaries can also be a table file."""
    return option("--format", "fmt", type=click.Choice(["text", "json", "parquet"]), default="text",
                  help=msg("text for people, json (one object per line) for programs, parquet (with --summary and "
                           "--output) for tables: one row a claim."))(function)

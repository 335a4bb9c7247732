"""The `policy` command line: a thin layer over engine.api.

Exit codes (docs/cli.md):
  0  everything checked or decided (a claim that is not eligible is still decided)
  1  policy files have errors, or example cases failed
  2  some claim is invalid (bad facts, unreadable input)
  3  some claim has no policy version in force on its decision date
  4  some claim could not be decided (the policy needed a value the claim lacks)
  64 the command was used wrongly (unknown option, unknown policy id or version)
  70 an internal error (a bug): the message names it; POLICY_DEBUG=1 shows the traceback
  74 the output could not be written (a full disk, standard output closed): nothing about the policies
  130 interrupted (Ctrl-C, SIGINT): every record written is whole, and the message says how many
  141 the reader of the output went away (`| head`): a quiet stop, as other Unix tools make (128 + SIGPIPE)
When claims end differently, the first that applies of 2, 4, 3 is returned.

Each command group is a module of its own (officers, developers, auditors); this one holds the group,
its shared options and the entry point that turns every outcome into an exit code.
A command's module is imported when the command is run (or listed by --help): a one-claim `evaluate` does not
pay for the others.
"""
from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from pathlib import Path

import click

from engine.cli import clickwords
from engine.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_PIPE,
    EXIT_USAGE,
    Group,
    Option,
    default_policies,
    option,
)
from engine.core.i18n import LANGUAGES, msg, set_language, tr

clickwords.install()


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from engine.core.version import describe

        click.echo(describe())
        ctx.exit(EXIT_OK)


# Every command, by the module (engine/cli/NAME.py) whose COMMANDS list holds it; tests/test_startup_imports.py
# checks this against the modules.
COMMAND_MODULES = {
    "check": "officers", "list": "officers", "timeline": "officers", "show": "officers", "test": "officers",
    "fmt": "authoring", "new": "authoring", "eval": "authoring", "repl": "authoring", "lsp": "authoring",
    "explain": "authoring", "evaluate": "developers", "diff": "auditors", "impact": "auditors", "verify": "auditors",
    "serve": "service", "grant": "ledger", "ledger": "ledger",
}


class _Commands(Group):
    """The group, importing a command's module the first time the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"engine.cli.{COMMAND_MODULES[cmd_name]}")
            for command in module.COMMANDS:
                if command.name not in self.commands:
                    command.params.append(_language_option())
                    self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]},
             help=msg("Check, inspect and evaluate versioned policies written as data."))
@option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
        help=msg("Print the package version and the commit it was built from, then exit."))
@option("--policies", type=click.Path(path_type=Path), default=None,
        help=msg("Folder of policy files (default: $POLICY_DIR, else ./policies, else the current folder)."))
@option("--schemas", type=click.Path(path_type=Path), default=None,
        help=msg("Folder of input schemas (default: schemas/ beside the policies folder)."))
@click.pass_context
def cli(ctx: click.Context, policies: Path | None, schemas: Path | None) -> None:
    ctx.ensure_object(dict)
    ctx.obj["policies"] = policies or default_policies()
    ctx.obj["policies_given"] = policies is not None
    ctx.obj["schemas"] = schemas
    ctx.obj["engine"] = None


def _choose_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        set_language(value)


def _language_option() -> click.Option:
    """--lang, accepted before the command and by every command: the language of messages (codes stay)."""
    return Option(["--lang"], type=click.Choice(LANGUAGES), default=None, expose_value=False, is_eager=True,
                  callback=_choose_language,
                  help=msg("Language of messages: zh (简体中文) or en (default: $POLICY_LANG, else the locale)."))


cli.params.append(_language_option())


def _language_asked(argv: list[str]) -> str | None:
    """The --lang of a command line, read before click parses it: click's own messages about a wrong option
    (found before --lang itself is reached) and help asked for before --lang are then in that language too."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = arg.partition("=")[2] if arg.startswith("--lang=") else \
            argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None
        if value in LANGUAGES:
            return value
    return None


def main(argv: list[str] | None = None) -> int:
    from engine.core import limits

    _prepare_streams()
    # The command does no linear algebra, yet NumPy (imported by the columnar engine, pyarrow and Dask) loads OpenBLAS,
    # which starts a thread per core and spins them: 50-80 ms of CPU a run, more than the rest of importing NumPy. A
    # value the user has set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # each run chooses afresh (tests call main many times in one process)
    set_language(_language_asked(sys.argv[1:] if argv is None else list(argv)))
    # read afresh on every run, as a new process would read them: a process that ran commands before (the tests)
    # may have other POLICY_LIMIT_* variables now
    problem = limits.refresh()
    if problem:
        click.echo(f"policy: {tr(problem)}", err=True)
        return EXIT_USAGE
    try:
        code = cli.main(args=argv, prog_name="policy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted()
        click.echo(tr("policy: aborted"), err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except SystemExit as exc:
        if _PACIFIED is not None and isinstance(sys.stdout, _PACIFIED):  # click's way of saying EPIPE
            return _pipe_closed()
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        return _interrupted()
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRORS:
            return _internal(exc)
        _silence_stdout()
        click.echo(tr("policy: cannot write the output: {reason}", reason=exc.strerror or str(exc)), err=True)
        return EXIT_OUTPUT
    except Exception as exc:  # a bug: say so plainly, without a traceback unless asked
        return _internal(exc)
    return code if isinstance(code, int) else EXIT_OK


# A write can fail for these reasons without any fault of the policies or of the engine (issue 18).
_OUTPUT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF, errno.EPIPE}
try:
    from click.utils import _PacifyFlushWrapper as _PACIFIED
except ImportError:  # pragma: no cover - a click without it reports EPIPE as exit 1
    _PACIFIED = None  # type: ignore[assignment,misc]


def _internal(exc: BaseException) -> int:
    if os.environ.get("POLICY_DEBUG"):
        raise exc
    click.echo(tr("policy: internal error: {kind}: {error} (set POLICY_DEBUG=1 for details)",
                  kind=type(exc).__name__, error=str(exc)), err=True)
    return EXIT_INTERNAL


def _prepare_streams() -> None:
    """Standard error closed (`2>&-`): messages go nowhere, and the output is still written. Text the streams
    cannot encode (a lone surrogate from a policy's string) is written escaped (`\\ud800`), never a crash."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the rest of the process
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not a text stream (tests capture)
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the final flush cannot fail again (the Python docs' way)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def _pipe_closed() -> int:
    _silence_stdout()
    return EXIT_PIPE


def _interrupted() -> int:
    click.echo(tr("policy: interrupted"), err=True)
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""`policy serve`: the decision service on uvicorn (engine/service), its log in engine.db."""
from __future__ import annotations

import os
import secrets
import signal
import socket
from pathlib import Path

import click

from engine.cli.common import (
    EXIT_USAGE,
    command,
    option,
    policies_folder,
    said,
    usage,
)
from engine.core.i18n import msg, tr
from engine.core.reasons import os_reason

EXIT_DATABASE = 69  # the database cannot be used (unreachable, or from a newer version)


def _default_database() -> str:
    from engine.db.location import default_sqlite_path

    return str(default_sqlite_path())


@command(help=msg(
    "Serve decisions over HTTP, every one logged before it is answered (docs/service.md).\n\n"
    "The OpenAPI description is at /openapi.json and its pages at /docs. SIGHUP or POST /v1/admin/reload reads the "
    "policy files again; a store with errors is refused and the previous one keeps serving."))
@option("--host", default="127.0.0.1", show_default=True,
        help=msg("Address to listen on. Without --tokens only a loopback address is allowed."))
@option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@option("--database", metavar="URL", default=None,
        help=msg("SQLAlchemy URL of the decision log: sqlite:///FILE or postgresql://USER@HOST:PORT/NAME. "
                 "Default: $POLICY_DATABASE, else the SQLite file {path} (created when first used).",
                 path=_default_database()))
@option("--tokens", type=click.Path(path_type=Path, dir_okay=False), default=None,
        help=msg("YAML map of bearer token → role (developer, officer, auditor, admin). Without it the service "
                 "binds to loopback only and every caller has every role."))
@option("--database-timeout", "database_seconds", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
        metavar="SECONDS", help=msg("The longest a request waits for the database; then it is answered 503 (a "
                                    "database that stops answering must not hold requests for ever)."))
@option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help=msg("Worker processes."))
@option("--personal-data", "personal", type=click.Choice(["keep", "mask", "hash"]), default="mask",
        show_default=True, help=msg("What the log keeps of the fields the input schema marks \"x-personal\": "
                                    "the value, nothing (mask), or a keyed hash of it (hash)."))
@option("--personal-key", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
        help=msg("File holding the secret key for --personal-data hash."))
@option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
        show_default=True)
@option("--benchmark-without-log", "no_log", is_flag=True, hidden=True,
        help=msg("Give decisions WITHOUT logging them: only for measuring what the log costs (bench/)."))
@click.pass_context
def serve(ctx, host, port, database, database_seconds, tokens, workers, personal, personal_key, log_level,
          no_log):
    from engine.db.database import DatabaseError, connect, migrate, shown, writable
    from engine.db.location import default_url
    from engine.service.auth import Tokens, TokensError, loopback_name
    from engine.service.settings import Settings

    if tokens is None and not loopback_name(host):
        usage(msg("without --tokens the service listens only on a loopback address (127.0.0.1, ::1), not {host}: "
                  "give a tokens file to serve other machines", host=host))
    if tokens is not None:
        try:
            Tokens.load(tokens)
        except TokensError as exc:
            usage(said(exc))
    if personal == "hash" and personal_key is None:
        usage(msg("--personal-data hash needs --personal-key FILE (the secret the hashes are keyed with)"))
    policies = policies_folder(ctx)
    url = database or default_url()
    try:
        engine = connect(url)
        revision = migrate(engine)  # once, before any worker starts
        read_only = writable(engine)
        engine.dispose()
    except DatabaseError as exc:
        click.echo(f"policy: {tr(said(exc))}", err=True)
        ctx.exit(EXIT_DATABASE)
    if read_only:  # it would answer /ready, then refuse every decision
        click.echo(tr("policy: the decision log {log} cannot be written ({reason}), so no decision could be given",
                      log=shown(url), reason=read_only), err=True)
        ctx.exit(EXIT_DATABASE)
    obj = ctx.find_root().obj
    settings = Settings(policies=str(policies.resolve()),
                        schemas=str(Path(obj["schemas"]).resolve()) if obj["schemas"] else None,
                        database=url, tokens=str(tokens.resolve()) if tokens else None, personal=personal,
                        personal_key=str(personal_key.resolve()) if personal_key else None, log=not no_log,
                        workers=workers, session_key=secrets.token_hex(32), database_seconds=database_seconds)
    settings.to_environment()
    try:  # listening before saying "serving": a port in use is said in words, not as uvicorn's exit 3
        listening = _listen(host, port)
    except OSError as exc:
        click.echo(tr("policy: cannot listen on {address}: {reason}", address=f"{host}:{port}",
                      reason=os_reason(exc)), err=True)
        ctx.exit(EXIT_DATABASE)
    who = tr("bearer tokens from {file}", file=str(tokens)) if tokens \
        else tr("no tokens: loopback only, every caller has every role")
    click.echo(tr("policy: serving {policies} on {address} ({who}); decision log {log} at schema {revision}",
                  policies=settings.policies, address=_address(host, listening.getsockname()[1]), who=who,
                  log=shown(url), revision=revision), err=True)
    if no_log:
        click.echo(tr("policy: THE DECISION LOG IS OFF (--benchmark-without-log): decisions are not logged"),
                   err=True)
    _run(listening, host, port, workers, log_level)
    ctx.exit(0)


def uvicorn_options() -> dict:
    """How `policy serve` runs uvicorn, besides where it listens and what it logs (the tests' in-process servers
    run it so too)."""
    return {"loop": "auto", "http": "auto", "access_log": False, "server_header": False,
            # a worker loading a large policy store must not be taken for dead and restarted
            "timeout_worker_healthcheck": 120}


def _address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"  # an IPv6 address in brackets


def _listen(host: str, port: int) -> socket.socket:
    """The socket the service listens on, bound as uvicorn binds it (and handed to it, so none can take the port
    in between); OSError when the address cannot be had."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                              socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening


def _run(listening: socket.socket, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        """SIGHUP reloads the policies in every worker, instead of restarting the workers."""

        def handle_hup(self) -> None:
            for process in self.processes:
                if process.pid:
                    os.kill(process.pid, signal.SIGHUP)

    config = uvicorn.Config("engine.service.app:from_environment", factory=True, host=host, port=port,
                            workers=workers, log_level=log_level, **uvicorn_options())
    if workers == 1:
        uvicorn.Server(config).run(sockets=[listening])
        return
    Supervisor(config, sockets=[listening]).run()


COMMANDS = [serve]
__all__ = ["serve", "EXIT_DATABASE", "EXIT_USAGE"]

"""The decision service's HTTP API (FastAPI on uvicorn). Every decision goes through engine.api and is in
the log before it is answered.

    uvicorn --factory engine.service.app:from_environment    (what `policy serve` runs)
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from engine.api import PolicyInvalid, PolicyNotFound, PolicyNotInForce, empty_pin, not_a_version, parse_policy_ref
from engine.audit import listing
from engine.claims.reader import RawClaim, read_json
from engine.core.i18n import msg, tr
from engine.core.isodate import parse_date
from engine.core.limits import LIMITS
from engine.core.reasons import json_kind
from engine.db import jsontext
from engine.db.database import connect, migrate, reachable
from engine.db.decisions import DecisionLog, LogUnavailable
from engine.db.location import default_url
from engine.service import schemas
from engine.service.auth import LOCAL, Caller, Tokens, loopback_name
from engine.service.batch import BatchResponse
from engine.service.deadline import DatabaseSlow, waited, within
from engine.service.deciding import Asked, decide
from engine.service.errors import (
    ROUTE_WORDS,
    ServiceError,
    SpokenLanguage,
    bad_request,
    error_response,
    policy_filter,
    said,
)
from engine.service.grants import add_routes as add_ledger_routes
from engine.service.grants import ledger_history_answers, ledger_history_batch
from engine.service.metrics import Metrics
from engine.service.personal import Masker
from engine.service.settings import Settings
from engine.service.state import Policies, Snapshot
from engine.service.verifying import check_logged, report

log = logging.getLogger("engine.service")
ANY_ROLE = None


class Service:
    """What the routes share: the policies served, the log, who may call, and the counters."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tokens = Tokens.load(Path(settings.tokens)) if settings.tokens else None
        key = Path(settings.personal_key).read_bytes().strip() if settings.personal_key else None
        self.masker = Masker(settings.personal, key)
        self.metrics = Metrics()
        self.database = connect(settings.database or default_url())
        self._log: DecisionLog | None = None
        self._policies: Policies | None = None
        self._ledger = None  # engine.ledger.book.Ledger, made by engine.service.grants on first use

    def start(self) -> None:
        migrate(self.database)  # a no-op when `policy serve` already brought it up to date
        self._log = DecisionLog(self.database)
        self._policies = Policies(Path(self.settings.policies), Path(self.settings.schemas) if self.settings.schemas
                                  else None)
        errors = self._policies.startup_errors
        if errors:
            log.warning("the policy files have %d error(s) (run `policy check`; /ready lists them): the policies "
                        "that need those files answer 503 until they are fixed and reloaded", len(errors))

    @property
    def log(self) -> DecisionLog:
        if self._log is None:
            raise RuntimeError("the service has not started")
        return self._log

    @property
    def policies(self) -> Policies:
        if self._policies is None:
            raise RuntimeError("the service has not started")
        return self._policies

    def stop(self) -> None:
        if self._log:
            self._log.close()
        if self._ledger is not None:
            self._ledger.close()
        self.database.dispose()

    def caller(self, request: Request, role: str | None) -> Caller:
        if self.tokens is None:
            return LOCAL
        found = self.tokens.caller(request.headers.get("authorization"))
        if found is None:
            raise ServiceError(401, "auth.token", msg("send a known token: Authorization: Bearer TOKEN"),
                               headers={"WWW-Authenticate": 'Bearer realm="policy-engine"'})  # RFC 6750
        if role is None:
            return found
        if not found.may(role):
            raise ServiceError(403, "auth.role", msg("this needs the {role} role; the token has {roles}", role=role,
                                                     roles=", ".join(sorted(found.roles))))
        return Caller(role if role in found.roles else "admin", found.roles, found.token_id)

    async def commit(self, rows: list[dict]) -> None:
        """Rows into the log, waiting for the commit; 503 when it fails, so no unlogged decision goes out."""
        if not self.settings.log:
            return
        try:
            await waited(self.log.submit(rows), self.settings.database_seconds)
        except (LogUnavailable, DatabaseSlow) as exc:
            self.metrics.log_failures.inc(len(rows))
            raise ServiceError(503, "log.unavailable", msg("{problem}; no decision was given", problem=said(exc)),
                               retry=True) from None

    async def evaluate(self, asked: Asked, raw: RawClaim, caller: Caller) -> dict:
        """One claim decided and logged: the answer of POST /v1/evaluate (the web pages' claims too)."""
        snapshot = self.policies.current
        evaluator = _evaluator(snapshot, asked)
        try:
            if asked.history == "ledger":
                answers = await ledger_history_answers(self, snapshot, evaluator, raw, asked, caller)
            else:
                answers = decide(evaluator, [raw], asked, caller, self.masker, snapshot.personal(evaluator))
        except PolicyInvalid as exc:
            raise _invalid(asked.policy, exc) from None
        await self.commit([row for _, row in answers])
        self.count(answers)
        return answers[0][0]

    def count(self, answers: list) -> None:
        for _, row in answers:
            self.metrics.decisions.labels(row["outcome"]).inc()

    def reload(self) -> list:
        errors = self.policies.reload()
        self.metrics.reloads.labels("refused" if errors else "done").inc()
        if errors:
            log.warning("reload refused: %d error(s) in the policy files; the previous policies keep serving",
                        len(errors))
        else:
            log.info("policies reloaded")
        return errors


HISTORIES = ("claim", "ledger")
# What a query parameter of the wrong kind is told, by pydantic's type of error: every kind the routes' parameters
# can meet (text with a length, whole numbers with bounds, true/false); another kind keeps pydantic's English
VALIDATION_WORDS = {"missing": msg("required"), "bool_parsing": msg("true or false"), "bool_type": msg("true or false"),
                    "string_too_short": msg("must not be empty"), "int_parsing": msg("a whole number"),
                    "int_type": msg("a whole number")}
BOUND_WORDS = {"string_too_long": lambda ctx: msg("at most {bound} characters", bound=ctx.get("max_length")),
               "greater_than_equal": lambda ctx: msg("at least {bound}", bound=ctx.get("ge")),
               "less_than_equal": lambda ctx: msg("at most {bound}", bound=ctx.get("le"))}


def _validation_problem(error: dict):
    if error["type"] in BOUND_WORDS:
        return BOUND_WORDS[error["type"]](error.get("ctx") or {})
    return VALIDATION_WORDS.get(error["type"], error["msg"])


HISTORY_CHOICE = msg("claim (the claim's own) or ledger (the grants ledger's; nothing is recorded)")


def _date(name: str, value) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(name, msg("a date is written YYYY-MM-DD, as text, not {kind}", kind=json_kind(value)))
    try:
        return parse_date(value)
    except ValueError as exc:
        raise bad_request(name, said(exc)) from None


def _evaluator(snapshot: Snapshot, asked: Asked):
    if asked.policy.endswith("@"):  # a malformed reference, as on the command line: not a policy that is missing
        raise bad_request("policy", empty_pin(asked.policy))
    try:
        evaluator = snapshot.evaluator(asked.policy, asked.known_on, asked.explain)
    except PolicyNotFound as exc:
        raise ServiceError(404, "request.unknown_policy", said(exc)) from None
    except PolicyInvalid as exc:
        raise _invalid(asked.policy, exc) from None
    pid, version = parse_policy_ref(asked.policy)
    if not snapshot.store.declares_input(pid, version):
        raise bad_request("policy", msg("{policy} declares no input (no input.schema), so claims cannot be decided "
                                        "under it; other policies can only read it (through `uses`)",
                                        policy=asked.policy))
    return evaluator


def unheard_of(store, policy: str) -> str | None:
    """Why a log search for `policy` (ID or ID@VERSION) that found nothing names something the store has never heard
    of, or None when the store has it: a misspelt id is not "nothing was decided under it"."""
    pid, _, version = policy.partition("@")
    versions = [v.version for v in store.versions(pid)]
    if not versions:
        return msg("no decision of {policy} in the log, and no such policy in the store; known: {known}",
                   policy=repr(pid), known=", ".join(store.ids()))
    if version and version not in versions and store.repeal(pid, version) is None:  # a repeal decides nothing
        return msg("no decision of {policy} in the log, and no such version in the store (versions of {id}: "
                   "{known})", policy=repr(policy), id=pid, known=", ".join(versions))
    return None


def _invalid(policy: str, exc: PolicyInvalid) -> ServiceError:
    return ServiceError(503, "service.policy_has_errors", msg("{policy} cannot be used while its files have errors; "
                                                              "run `policy check`", policy=policy),
                        diagnostics=[d.to_json() for d in exc.diagnostics])


def _envelope(body: bytes) -> tuple[Asked, RawClaim]:
    raw = read_json(body, "<request>")
    if raw.error is not None:
        raise bad_request("body", raw.error.message)
    data = raw.data
    if not isinstance(data, dict):
        raise bad_request("body", msg("the request is a JSON object with policy and claim"))
    unknown = sorted(set(data) - set(schemas.EVALUATE_PROPERTIES))
    if unknown:
        raise bad_request(unknown[0], msg("no such field (the fields are {fields})",
                                          fields=", ".join(schemas.EVALUATE_PROPERTIES)))
    for name in ("policy", "claim"):
        if name not in data:
            raise bad_request(name, msg("required"))
    if not isinstance(data["policy"], str) or not data["policy"]:
        raise bad_request("policy", msg("ID or ID@VERSION, as text"))
    if not isinstance(data["claim"], dict):
        raise bad_request("claim", msg("a claim is a JSON object"))
    explain = data.get("explain", True)
    if not isinstance(explain, bool):
        raise bad_request("explain", msg("true or false"))
    history = data.get("history", "claim")
    if history not in HISTORIES:
        raise bad_request("history", HISTORY_CHOICE)
    asked = Asked(data["policy"], _date("as_of", data.get("as_of")), _date("known_on", data.get("known_on")), explain,
                  history)
    return asked, RawClaim(data["claim"], "<request>")


async def _body(request: Request, limit: int, limit_name: str, envelope: int = 0) -> bytes:
    """The request body, refused (413) as soon as it grows past `limit` and the `envelope` around what the limit
    is of (the JSON fields around a claim): never held whole beyond it. The message names the limit as set."""
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit + envelope:
            raise ServiceError(413, "request.too_large", msg("the body is larger than {limit} bytes ({name})",
                                                             limit=format(limit, ","), name=limit_name),
                               location="body", field="body")
        parts.append(part)
    return b"".join(parts)


def _reads_pages(request: Request) -> bool:
    """A browser asking for a page: outside the API (/v1/…, /health, /metrics, /openapi.json), accepting HTML."""
    path = request.url.path
    api = path.startswith(("/v1/", "/openapi", "/docs", "/static/")) or path in ("/v1", "/health", "/ready", "/metrics")
    return not api and "text/html" in request.headers.get("accept", "")


def _json(data, status: int = 200) -> Response:
    try:
        body = orjson.dumps(data)
    except TypeError:  # exact decimals of a logged claim
        body = jsontext.dumps(data).encode()
    return Response(body, status, media_type="application/json")


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _sent_to_this_service(request: Request) -> None:  # async: no thread of the pool for it
    """Without tokens every caller has every role, which is safe only for programs on this machine. Two kinds of
    request a browser makes for another site would reach it too, and are refused (403): one addressed to a name
    that is not loopback (a site whose name resolves to 127.0.0.1, "DNS rebinding", would read decisions), and a
    request that changes something, sent by a page of another origin (a form or fetch() of another site would
    decide, grant or revoke in the reader's name). Programs (curl, clients) send no Origin and are not affected."""
    if request.app.state.service.tokens is not None:
        return  # a bearer token, which another site cannot send, or the web pages' CSRF token, guards every change
    host = request.headers.get("host")
    if host is not None and not loopback_name(_host_name(host)):
        raise ServiceError(403, "auth.host", msg(
            "without a tokens file the service answers only requests addressed to loopback (127.0.0.1, localhost, "
            "::1), not {host}", host=repr(host[:100])), location="header", field="Host")
    origin = request.headers.get("origin")
    if request.method not in _SAFE_METHODS and origin is not None \
            and (host is None or origin.partition("://")[2] != host):
        raise ServiceError(403, "auth.origin", msg(
            "a request from the page of another site ({origin}) may not change anything here: without a tokens "
            "file, only programs on this machine and the service's own pages may", origin=repr(origin[:100])),
                           location="header", field="Origin")


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: `127.0.0.1:8000`, `[::1]:8000`, `localhost`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


async def _known_query_parameters_once(request: Request) -> None:  # async: no thread of the pool for it
    """The API's query parameters as its routes declare them, each given once: an unknown one (`?asof=` for `as_of`)
    is refused, as an unknown field of a body is, and so is one given twice (`?policy=a&policy=b`): ignoring the
    first or taking the last would silently decide otherwise than the caller meant."""
    route = request.scope.get("route")
    if not request.url.path.startswith("/v1/") or route is None:
        return
    # Every /v1 route needs a known token: said first (401), before anything about the request's parameters, so
    # that nobody without one learns what a route takes from its 422s.
    request.app.state.service.caller(request, None)
    found = _QUERY_PARAMETERS.get(id(route))
    if found is None or found[0] is not route:
        found = _QUERY_PARAMETERS[id(route)] = (route, frozenset(_query_names(route.dependant)))
    known = found[1]
    seen: set = set()
    for name, _ in request.query_params.multi_items():
        if name not in known:
            raise bad_request(name, msg("this route takes no such query parameter (it takes {known})",
                                        known=", ".join(sorted(known)) or msg("none")))
        if name in seen:
            raise bad_request(name, msg("given more than once; a query parameter takes one value"))
        seen.add(name)


def _query_names(dependant):
    """The query parameters a route's function and its dependencies declare, by the names a request gives them."""
    for field in dependant.query_params:
        yield field.alias
    for inner in dependant.dependencies:
        yield from _query_names(inner)


_QUERY_PARAMETERS: dict = {}  # id(route) -> (route, the names of its query parameters); routes live as their app


def create_app(settings: Settings) -> FastAPI:
    service = Service(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(service.start)
        loop = asyncio.get_running_loop()
        # SIGHUP: where the platform has it, and where the app runs in the main thread (an app embedded in a thread
        # of another program is reloaded through POST /v1/admin/reload; uvloop says ValueError there, asyncio
        # RuntimeError)
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, service.reload))
        if not settings.log:
            log.warning("the decision log is OFF (a benchmark setting): decisions are given without being logged")
        yield
        service.stop()

    app = FastAPI(title="policy-engine decision service", version=schemas_version(), lifespan=lifespan,
                  dependencies=[Depends(_sent_to_this_service), Depends(_known_query_parameters_once)],
                  description="Decides claims under versioned policies through engine.api; every decision is "
                              "logged before it is answered. See docs/service.md.")
    app.state.service = service

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        page = getattr(request.app.state, "error_page", None)
        if page is not None and _reads_pages(request):  # refused before a page's own handler ran (auth.host, …)
            return page(request, exc, exc.details.get("headers"))
        return exc.response()

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect):
        # routine behind proxies and impatient clients: one line, no traceback; nobody reads the answer
        log.info("%s %s: the client went away before its request was whole", request.method, request.url.path)
        return Response(status_code=499)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or first["loc"][0]
        problem = _validation_problem(first)
        return error_response(422, "request.invalid", msg("{what}: {message}", what=field, message=problem),
                              location=field, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = ROUTE_WORDS.get(exc.detail, str(exc.detail))
        headers = dict(exc.headers) if exc.headers else None
        page = getattr(request.app.state, "error_page", None)
        if page is not None and _reads_pages(request):  # a browser at a mistyped address gets a page, not JSON
            return page(request, ServiceError(exc.status_code, "request.route", message), headers)
        return error_response(exc.status_code, "request.route", message, headers=headers)

    # -- deciding -----------------------------------------------------------------------------------

    @app.post("/v1/evaluate", tags=["decide"], summary="Decide one claim (developer)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": schemas.ref("EvaluateRequest")}}}},
              responses={200: schemas.json_body(schemas.ref("Decision"), "The decision, or the error record of a "
                                                "claim that is invalid or has no policy in force (a decided outcome)")}
              | schemas.errors(401, 403, 404, 413, 422, 503))
    async def evaluate(request: Request):
        caller = service.caller(request, "developer")
        body = await _body(request, LIMITS.claim_line_bytes, "POLICY_LIMIT_CLAIM_LINE_BYTES", envelope=4096)
        asked, raw = _envelope(body)
        return _json(await service.evaluate(asked, raw, caller))

    @app.post("/v1/evaluate:batch", tags=["decide"], summary="Decide claims sent as JSON Lines (developer)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/x-ndjson": {"schema": {"type": "string",
                                                      "description": "One claim per line (JSON Lines)"}}}}},
              responses={200: {"description": "One JSON line per claim, in order, each as /v1/evaluate answers it; "
                                              "with history=ledger, {\"claim_id\", \"error\"} (not logged) for a "
                                              "claim the ledger cannot be asked about; a last line "
                                              "{\"error\": ...} when the log failed midway",
                               "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}
              | schemas.errors(401, 403, 404, 422, 503))
    async def evaluate_batch(request: Request, policy: str = Query(..., min_length=1, description="ID or ID@VERSION"),
                             as_of: str | None = Query(None, description="YYYY-MM-DD: decide every claim on it"),
                             known_on: str | None = Query(None, description="YYYY-MM-DD"),
                             explain: bool = Query(True, description="false: summaries"),
                             history: str = Query("claim", description="claim: each claim's own history; ledger: "
                                                  "each person's grants from the grants ledger (recording nothing), "
                                                  "as `history` of /v1/evaluate",
                                                  json_schema_extra={"enum": list(HISTORIES)})):
        caller = service.caller(request, "developer")
        if history not in HISTORIES:
            raise bad_request("history", HISTORY_CHOICE)
        asked = Asked(policy, _date("as_of", as_of), _date("known_on", known_on), explain, history)
        snapshot = service.policies.current
        evaluator = _evaluator(snapshot, asked)
        personal = snapshot.personal(evaluator)

        async def decide_lines(raws: list[RawClaim]) -> bytes:
            try:
                if history == "ledger":
                    answers = await ledger_history_batch(service, snapshot, evaluator, raws, asked, caller)
                else:
                    answers = decide(evaluator, raws, asked, caller, service.masker, personal)
            except PolicyInvalid as exc:
                raise _invalid(asked.policy, exc) from None
            logged = [pair for pair in answers if pair[1] is not None]
            await service.commit([row for _, row in logged])
            service.count(logged)
            return b"".join(orjson.dumps(answer) + b"\n" for answer, _ in answers)

        return BatchResponse(decide_lines)

    # -- the log ------------------------------------------------------------------------------------

    @app.get("/v1/decisions/{decision_id}", tags=["log"], summary="A logged decision (auditor)",
             responses={200: schemas.json_body({"type": "object"}, "The logged record")}
             | schemas.errors(401, 403, 404, 422, 503))
    def get_decision(request: Request, decision_id: str):
        service.caller(request, "auditor")
        return _json(_shown(_logged(service, decision_id)))

    @app.get("/v1/decisions", tags=["log"], summary="Search the log (auditor)",
             responses={200: schemas.json_body({"type": "object", "required": ["decisions", "next"],
                                                "properties": {"decisions": {"type": "array"},
                                                               "next": {"type": ["integer", "null"]}}},
                                               "Logged records in the order they were logged; `next` is the "
                                               "`after` of the next page, or null")}
             | schemas.errors(401, 403, 404, 422, 503))
    def search_decisions(request: Request, claim_id: str | None = None,
                         policy: str | None = Query(None, description="ID or ID@VERSION"),
                         from_: str | None = Query(None, alias="from", description="YYYY-MM-DD: decided on or after"),
                         to: str | None = Query(None, description="YYYY-MM-DD: decided on or before"),
                         after: int | None = Query(None, ge=0, le=2**62, description="the `next` of the last page"),
                         limit: int = Query(100, ge=1, le=1000)):
        service.caller(request, "auditor")
        since, until = _date("from", from_), _date("to", to)
        policy = policy_filter("policy", policy)
        if since and until and since > until:
            raise bad_request("from", msg("{since} is after to ({until}): nothing can be decided in between",
                                          since=str(since), until=str(until)))
        try:
            found = within(settings.database_seconds, service.log.search, claim_id, policy, since, until, after,
                           limit)
        except Exception as exc:
            raise _log_down(exc) from None
        if not found and after is None and policy is not None and (
                why := unheard_of(service.policies.current.store, policy)):
            raise ServiceError(404, "request.unknown_policy", why, location="policy", field="policy")
        return _json({"decisions": [_shown(r) for r in found],
                      "next": found[-1]["seq"] if len(found) == limit else None})

    @app.post("/v1/decisions/{decision_id}/verify", tags=["log"], summary="Decide a logged decision again (auditor)",
              responses={200: schemas.json_body({"type": "object", "required": ["status"]},
                                                "The report of `policy verify --format json` for this record")}
              | schemas.errors(401, 403, 404, 422, 503))
    def verify_decision(request: Request, decision_id: str):
        service.caller(request, "auditor")
        logged = _logged(service, decision_id)
        snapshot = service.policies.current
        # decided again with the policy files as the service loaded them, which may be older than the files on
        # disk (picked up on SIGHUP or /v1/admin/reload): the answer says which load, and whether a reload failed
        checked = {"loaded_at": datetime.fromtimestamp(snapshot.loaded_at, UTC).isoformat(),
                   "reload_failed": bool(service.policies.reload_errors)}
        return _json(report(logged, check_logged(snapshot.engine, logged)) | {"policies": checked})

    # -- policies -----------------------------------------------------------------------------------

    @app.get("/v1/policies", tags=["policies"], summary="Every policy with its versions (any role)",
             responses={200: schemas.json_body({"type": "array", "items": {"type": "object"}}, "As `policy list "
                                               "--format json`, one object per policy")} | schemas.errors(401))
    def list_policies(request: Request):
        service.caller(request, ANY_ROLE)
        return _json(listing.policy_list(service.policies.current.store))

    @app.get("/v1/policies/{policy_id:path}/timeline", tags=["policies"], summary="A policy's versions (any role)",
             responses={200: schemas.json_body({"type": "array", "items": {"type": "object"}},
                                               "As `policy timeline --format json`")}
             | schemas.errors(401, 404, 422, 503))
    def policy_timeline(request: Request, policy_id: str):
        service.caller(request, ANY_ROLE)
        store = service.policies.current.store
        _refuse_broken(store, policy_id, references=False)
        if not store.versions(policy_id):
            known = ", ".join(store.ids())
            raise ServiceError(404, "request.unknown_policy", msg("no policy {policy}; known: {known}",
                                                                  policy=repr(policy_id), known=known))
        return _json(listing.timeline(store, policy_id))

    @app.get("/v1/policies/{ref:path}", tags=["policies"], summary="One version, ID@VERSION (any role)",
             responses={200: schemas.json_body({"type": "object"}, "The version: dates, digest and its file's data")}
             | schemas.errors(401, 404, 422, 503))
    def show_policy(request: Request, ref: str,
                    as_of: str | None = Query(None, description="YYYY-MM-DD: also list what it reads then")):
        service.caller(request, ANY_ROLE)
        engine = service.policies.current.engine
        pid, version_label = parse_policy_ref(ref.rstrip("/"))
        day = _date("as_of", as_of)
        if not pid:
            raise ServiceError(404, "request.unknown_policy", msg(
                "name a policy version: /v1/policies/ID@VERSION (or /v1/policies for them all)"))
        if not version_label:
            raise ServiceError(404, "request.unknown_policy", msg(
                "name a version: /v1/policies/{policy}@VERSION (or /v1/policies/{policy}/timeline for them all)",
                policy=pid))
        _refuse_broken(engine.store, pid)
        version = engine.store.get(pid, version_label)
        repeal = engine.store.repeal(pid, version_label)
        if version is None and repeal is not None:
            raise ServiceError(404, "request.unknown_policy", not_a_version(repeal))
        if version is None:
            known = ", ".join(v.version for v in engine.store.versions(pid)) or msg("none")
            raise ServiceError(404, "request.unknown_policy", msg("no version {ref} (versions of {policy}: {known})",
                                                                  ref=repr(ref), policy=pid, known=known))
        reads = None
        if day:
            try:
                linked = engine.linked(version, day)
                reads = [f"{linked.role_of(v)} {v.key}" for v in linked.versions if v is not version]
            except Exception as exc:  # LinkError, PolicyInvalid: said in place of what it reads
                reads = [tr("(cannot resolve: {error})", error=said(exc))]
        return _json(listing.version(engine.store, version, reads))

    @app.get("/v1/diff", tags=["policies"], summary="What changed between two versions or two dates (any role)",
             responses={200: schemas.json_body({"type": "object"}, "As `policy diff --format json`")}
             | schemas.errors(401, 404, 422, 503))
    def diff(request: Request, policy: str = Query(..., min_length=1, description="The policy ID"),
             from_: str = Query(..., alias="from", description="YYYY-MM-DD, or @VERSION"),
             to: str = Query(..., description="YYYY-MM-DD, or @VERSION")):
        from engine.audit.diff import diff_linked

        service.caller(request, ANY_ROLE)
        engine = service.policies.current.engine
        _refuse_broken(engine.store, policy)
        sides = []
        for name, text in (("from", from_), ("to", to)):
            if text == "@":
                raise bad_request(name, msg("'@' names no version after its @ (write a date YYYY-MM-DD or @VERSION)"))
            try:
                if text.startswith("@"):
                    sides.append(engine.scenario(policy, version=text[1:]))
                else:
                    sides.append(engine.scenario(policy, at=_date(name, text)))
            except PolicyNotInForce as exc:  # a policy that is there, with no version on that day: not a typo
                raise ServiceError(404, "policy.not_in_force", said(exc), location=name, field=name) from None
            except PolicyNotFound as exc:
                raise ServiceError(404, "request.unknown_policy", said(exc)) from None
            except PolicyInvalid as exc:
                raise _invalid(policy, exc) from None
        return _json(diff_linked(*sides))

    @app.post("/v1/check", tags=["policies"], summary="Check a draft policy file, written nowhere (officer)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/yaml": {"schema": {"type": "string", "description": "The policy file's text"}}}}},
              responses={200: schemas.json_body({"type": "object", "required": ["errors", "warnings", "diagnostics"]},
                                                "The diagnostics of `policy check --format json` for the draft")}
              | schemas.errors(401, 403, 413, 422))
    async def check(request: Request,
                    path: str | None = Query(None, description="Where the draft would sit in the policies folder, "
                                             "e.g. ID/VERSION.yaml (it replaces a file there, if one is); by "
                                             "default where its own `policy:` and `version:` put it"),
                    today: str | None = Query(None, description="YYYY-MM-DD: the date review_by is compared with")):
        service.caller(request, "officer")
        place = _draft_place(path) if path is not None else None
        body = await _body(request, LIMITS.policy_file_bytes, "POLICY_LIMIT_POLICY_FILE_BYTES")
        place = place or listing.draft_place(body)
        day = _date("today", today) or date.today()
        root = service.policies.root
        diagnostics = await asyncio.to_thread(listing.check_draft, root, service.policies.schemas, root / place,
                                              body, day)
        errors = sum(1 for d in diagnostics if d.severity == "error")
        return _json({"errors": errors, "warnings": len(diagnostics) - errors,
                      "diagnostics": [d.to_json() for d in diagnostics]})

    # -- running ------------------------------------------------------------------------------------

    @app.post("/v1/admin/reload", tags=["admin"], summary="Read the policy files again (admin)",
              responses={200: schemas.json_body({"type": "object"}, "Reloaded, or refused with the errors (the "
                                                "previous policies keep serving)")} | schemas.errors(401, 403))
    async def reload(request: Request):
        service.caller(request, "admin")
        errors = await asyncio.to_thread(service.reload)
        return _json({"reloaded": not errors, "errors": [d.to_json() for d in errors]})

    @app.get("/health", tags=["running"], summary="Alive", responses={200: schemas.json_body({"type": "object"})})
    def health():
        return _json({"status": "alive"})

    @app.get("/ready", tags=["running"], summary="Policies loaded and the database reachable",
             responses={200: schemas.json_body({"type": "object"}, "Ready"),
                        503: schemas.json_body({"type": "object"}, "Not ready: `database` says why")})
    def ready():
        policies = service.policies
        try:  # a probe must tell a stalled database from a slow answer: it waits 5 s at most
            database = within(min(5.0, settings.database_seconds), reachable, service.database)
        except DatabaseSlow as exc:
            database = tr(exc.args[0])
        snapshot = policies.current
        body = {"ready": database is None, "database": database or "reachable",
                "policies": {"versions": sum(len(v) for v in snapshot.store.by_id.values()),
                             "loaded_at": snapshot.loaded_at, "reloads": policies.reloads,
                             "errors": [d.to_json() for d in policies.startup_errors],
                             "reload_errors": [d.to_json() for d in policies.reload_errors]},
                "log": "on" if settings.log else "OFF (benchmark setting)"}  # a value, the same in every language
        return _json(body, 200 if database is None else 503)

    @app.get("/metrics", tags=["running"], summary="Prometheus metrics",
             responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}})
    def metrics():
        return Response(service.metrics.render(), media_type=service.metrics.content_type)

    add_ledger_routes(app, service, _evaluator, _invalid)
    _with_components(app)
    from engine.web.pages import add_pages  # the pages for people, over the same functions as the routes above

    add_pages(app, service)
    app.add_middleware(SpokenLanguage)  # error messages in the language of the request's Accept-Language
    app.add_middleware(_MetricsMiddleware, metrics=service.metrics)
    app.add_middleware(_HeadAsGet)
    return app


class _HeadAsGet:
    """HEAD wherever GET is answered (HTTP asks it; load balancers, probes and link checkers send it): the GET's
    status and headers, without its body. FastAPI's routes take only the methods they name."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the body's parts are left out; its end is still said
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(dict(scope, method="GET"), receive, headers_only)


class _MetricsMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app = metrics.middleware(app)

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def _with_components(app: FastAPI) -> None:
    """The generated OpenAPI document, with the decision schemas it refers to."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(schemas.components())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document


def _refuse_broken(store, policy_id: str, references: bool = True) -> None:
    errors = store.errors_for(policy_id, references)
    if errors:
        raise _invalid(policy_id, PolicyInvalid(errors))


def _draft_place(path: str) -> Path:
    place = Path(path)
    if place.is_absolute() or ".." in place.parts or not path or place.suffix not in (".yaml", ".yml") \
            or place.name.endswith((".cases.yaml", ".cases.yml")):
        raise bad_request("path", msg("a relative path inside the policies folder, ending in .yaml (not .cases.yaml)"))
    return place


def _log_down(exc: Exception) -> ServiceError:
    from engine.db.database import reason

    return ServiceError(503, "log.unavailable", msg("the decision log cannot be read: {reason}", reason=reason(exc)),
                        retry=True)


def _logged(service: Service, decision_id: str) -> dict:
    try:
        found = within(service.settings.database_seconds, service.log.get, decision_id)
    except Exception as exc:
        raise _log_down(exc) from None
    if found is None:
        raise ServiceError(404, "decision.unknown", msg("no decision {decision} in the log",
                                                        decision=repr(decision_id)))
    return found


def _shown(record: dict) -> dict:
    """A logged record with its claim as JSON (read exactly, as it was logged)."""
    if record["claim"] is None:  # unreadable (engine.db.decisions.record says which)
        return record
    raw = read_json(record["claim"].encode(), "<log>")
    return record | {"claim": raw.data if raw.error is None else record["claim"]}


def schemas_version() -> str:
    from engine.service.deciding import ENGINE_VERSION

    return ENGINE_VERSION


def from_environment() -> FastAPI:
    """The app as `policy serve` configured it (uvicorn --factory)."""
    return create_app(Settings.from_environment())

"""The grants ledger's routes: record a grant (decided against the ledger, one person at a time), revoke it,
and read a person's grants and history. See docs/ledger.md.

    POST /v1/grants                   (officer, Idempotency-Key)   201 granted | 409 refused | 422
    POST /v1/grants/{grant_id}/revoke (officer)
    GET  /v1/grants?person=…          (auditor)
    GET  /v1/grants/{grant_id}        (auditor)
    GET  /v1/people/{person}/history  (auditor)
"""
from __future__ import annotations

from fastapi import FastAPI, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from engine.api import PolicyInvalid, parse_policy_ref
from engine.claims.reader import read_json
from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.db import jsontext
from engine.db.database import reason
from engine.ledger.book import Ledger
from engine.ledger.granting import LedgerRefusal, counted, decision_json, grant, preview_batch, preview_result
from engine.policies.ledgerspec import history_entries
from engine.service import schemas
from engine.service.deadline import DatabaseSlow, in_thread, within
from engine.service.deciding import Asked, answer_and_row
from engine.service.errors import ServiceError, bad_request, error_json, policy_filter

GRANT_FIELDS = ("policy", "claim", "decision_id")
MAX_KEY = 200

GRANT_REQUEST = {"type": "object", "required": ["policy", "claim"], "additionalProperties": False, "properties": {
    "policy": {"type": "string", "minLength": 1, "description": "ID, or ID@VERSION."},
    "claim": {"type": "object", "description": "The claim; the history it carries is replaced by the ledger's."},
    "decision_id": {"type": "string", "description": "The logged decision (e.g. a preview) this grant follows."}}}
GRANTED = {"type": "object", "required": ["grant", "decision"], "properties": {
    "grant": {"type": "object", "required": ["grant_id", "amount", "person", "book", "record"]},
    "decision": {"type": "object", "required": ["decision_id", "history"]}}}
REFUSED = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "object", "required": ["code", "message"]},
    "decision": {"type": "object", "description": "The decision against the ledger: which rule failed."}}}


def ledger_of(service) -> Ledger:
    """The service's ledger, on the service's database (created on first use)."""
    ledger = service._ledger
    if ledger is None:
        ledger = service._ledger = Ledger(str(service.database.url.render_as_string(hide_password=False)),
                                          reader=service.database)
    return ledger


def _unavailable(exc: Exception) -> ServiceError:
    return ServiceError(503, "ledger.unavailable", msg("the ledger cannot be used: {reason}; nothing was recorded",
                                                       reason=reason(exc)), retry=True)


def _idempotency_key(request: Request) -> str:
    """The Idempotency-Key header, read as UTF-8 (HTTP hands it over as Latin-1 bytes): printable, 1 to MAX_KEY
    characters."""
    given = request.headers.getlist("idempotency-key")
    if len(given) > 1:  # which one the client meant cannot be known: taking the first would be a guess
        raise bad_request("Idempotency-Key", msg("given {count} times; send one Idempotency-Key", count=len(given)))
    raw = given[0] if given else ""
    try:
        key = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        key = ""
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise bad_request("Idempotency-Key", msg("send a header Idempotency-Key: 1 to {most} printable characters "
                                                 "in UTF-8 (letters, digits, punctuation; no control characters), new "
                                                 "for each grant request", most=MAX_KEY))
    return key


def _unanswered(exc: DatabaseSlow) -> ServiceError:
    """A write the database did not answer in time may still be committed when it does: the same request again
    (with its Idempotency-Key) is answered with what was recorded, or records it."""
    return ServiceError(503, "ledger.unavailable", msg("the ledger cannot be used: {reason}; it may still be "
                                                       "recorded: send the same request again, with the same "
                                                       "Idempotency-Key, for its answer", reason=reason(exc)),
                        retry=True)


def _unreadable(exc: Exception) -> ServiceError:
    """For the routes that only read: nothing was to be recorded."""
    return ServiceError(503, "ledger.unavailable", msg("the ledger cannot be read: {reason}", reason=reason(exc)),
                        retry=True)


def _answer(status: int, body: str, headers: dict | None = None) -> Response:
    return Response(body.encode(), status, headers=headers, media_type="application/json")


def _refusal(exc: LedgerRefusal) -> Response:
    body = exc.body()
    body["error"] = error_json(exc.code, exc.message)  # in the request's language (a refusal is not remembered)
    return _answer(exc.status, jsontext.dumps(body))


def add_routes(app: FastAPI, service, evaluator_of, invalid) -> None:
    """Add the ledger's routes. `evaluator_of(snapshot, Asked)` and `invalid(policy, exc)` are the app's own."""

    @app.post("/v1/grants", tags=["ledger"], summary="Record a grant, decided against the ledger (officer)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": GRANT_REQUEST}}},
                  "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                                  "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
                                  "description": "The same key with the same request gives the first answer again "
                                                 "and records nothing more; with another request, 422."}]},
              responses={201: schemas.json_body(GRANTED, "Granted: the grant and the decision against the ledger"),
                         409: schemas.json_body(REFUSED, "Not granted: the decision says which rule failed against "
                                                         "the ledger")}
              | schemas.errors(401, 403, 404, 413, 503)
              | {422: schemas.json_body(REFUSED, "Malformed, an Idempotency-Key sent with another request, no person, "
                                                 "no ledger section, or a claim that cannot be decided (`decision`)")})
    async def record_grant(request: Request):
        caller = service.caller(request, "officer")
        key = _idempotency_key(request)
        data = _object(await _body(request), GRANT_FIELDS)
        follows = data.get("decision_id")
        if follows is not None and not isinstance(follows, str):
            raise bad_request("decision_id", msg("the decision_id of a logged decision, as text"))
        if follows is not None:  # the grant's link to the decision it follows must lead somewhere
            try:
                followed = await in_thread(service.settings.database_seconds, service.log.get, follows)
            except (SQLAlchemyError, DatabaseSlow) as exc:
                raise _unavailable(exc) from None
            if followed is None:
                raise bad_request("decision_id", msg("no decision {decision} in the log: give the decision_id of a "
                                                     "logged decision of this claim, or none",
                                                     decision=repr(follows)))
            _refuse_another_claims(followed, data)
        snapshot = service.policies.current
        evaluator = evaluator_of(snapshot, Asked(data["policy"]))
        try:
            answer = await in_thread(
                service.settings.database_seconds, grant, snapshot.engine, evaluator, ledger_of(service),
                policy=data["policy"], claim=data["claim"], key=key, follows=follows, caller=caller,
                masker=service.masker, personal=snapshot.personal(evaluator))
        except LedgerRefusal as exc:
            return _refusal(exc)
        except PolicyInvalid as exc:
            raise invalid(data["policy"], exc) from None
        except DatabaseSlow as exc:
            raise _unanswered(exc) from None
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        if not answer.replayed and answer.outcome:
            service.metrics.decisions.labels(answer.outcome).inc()
        return _answer(answer.status, answer.body, {"Idempotent-Replayed": "true"} if answer.replayed else None)

    def _refuse_another_claims(followed: dict, data: dict) -> None:
        """The decision a grant follows is one of this claim under this policy: a link to another person's
        decision would make the log say this grant followed what it did not."""
        claim_id = data["claim"].get("claim_id") if isinstance(data.get("claim"), dict) else None
        policy_id = parse_policy_ref(data["policy"])[0] if isinstance(data.get("policy"), str) else None
        if claim_id is not None and followed["claim_id"] != claim_id:
            raise bad_request("decision_id", msg(
                "decision {decision} is of claim {other}, not of this claim ({claim})",
                decision=repr(followed["decision_id"]), other=repr(followed["claim_id"]), claim=repr(claim_id)))
        if policy_id is not None and followed["policy"]["id"] != policy_id:
            raise bad_request("decision_id", msg("decision {decision} was made under {other}, not {policy}",
                                                 decision=repr(followed["decision_id"]), other=followed["policy"]["id"],
                                                 policy=policy_id))

    @app.post("/v1/grants/{grant_id}/revoke", tags=["ledger"], summary="Revoke a grant (officer)",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "type": "object", "required": ["reason"], "additionalProperties": False,
                  "properties": {"reason": {"type": "string", "minLength": 1}}}}}}},
              responses={200: schemas.json_body({"type": "object"}, "The grant, marked revoked (nothing is deleted)")}
              | schemas.errors(401, 403, 404, 422, 503) | {409: schemas.json_body(schemas.ref("Error"),
                                                                                  "Already revoked")})
    async def revoke_grant(request: Request, grant_id: str):
        caller = service.caller(request, "officer")
        data = _object(await _body(request), ("reason",), required=("reason",))
        if not isinstance(data["reason"], str) or not data["reason"].strip():
            raise bad_request("reason", msg("say why the grant is revoked, as text"))
        ledger = ledger_of(service)

        def revoke():
            found = ledger.grant(grant_id)
            if found is None:
                raise ServiceError(404, "ledger.unknown_grant", msg("no grant {grant_id} in the ledger",
                                                                 grant_id=repr(grant_id)))
            with ledger.person(found.book, found.person) as connection:
                again = ledger.grant(grant_id, connection)
                if again is not None and again.revoked is not None:
                    raise ServiceError(409, "ledger.already_revoked", msg(
                        "grant {grant} was revoked on {day}: {reason}", grant=grant_id, day=again.revoked["at"],
                        reason=again.revoked["reason"]))
                ledger.revoke(connection, grant_id, data["reason"].strip(), caller.role, caller.token_id)
            return ledger.grant(grant_id)

        try:
            revoked = await in_thread(service.settings.database_seconds, revoke)
        except DatabaseSlow as exc:
            raise ServiceError(503, "ledger.unavailable", msg(
                "the ledger cannot be used: {reason}; the revocation may still be recorded: read the grant to see",
                reason=reason(exc)), retry=True) from None
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        return _answer(200, jsontext.dumps(revoked.to_json()))

    @app.get("/v1/grants", tags=["ledger"], summary="A person's grants (auditor)",
             responses={200: schemas.json_body({"type": "object", "required": ["grants"]}, "In recording order, "
                                               "revoked ones marked")} | schemas.errors(401, 403, 422, 503))
    def list_grants(request: Request, person: str = Query(..., min_length=1, max_length=200),
                    book: str | None = Query(None, description="Only this ledger book")):
        service.caller(request, "auditor")
        if book is not None and not book.strip():  # an empty book is none: it would list nothing, silently
            raise bad_request("book", msg("name a ledger book, or leave book out for every book"))
        try:
            found = within(service.settings.database_seconds, ledger_of(service).grants_of, None, book, person)
        except (SQLAlchemyError, DatabaseSlow) as exc:
            raise _unreadable(exc) from None
        return _answer(200, jsontext.dumps({"grants": [g.to_json() for g in found]}))

    @app.get("/v1/grants/{grant_id}", tags=["ledger"], summary="One grant (auditor)",
             responses={200: schemas.json_body({"type": "object"}, "The grant")}
             | schemas.errors(401, 403, 404, 422, 503))
    def get_grant(request: Request, grant_id: str):
        service.caller(request, "auditor")
        try:
            found = within(service.settings.database_seconds, ledger_of(service).grant, grant_id)
        except (SQLAlchemyError, DatabaseSlow) as exc:
            raise _unreadable(exc) from None
        if found is None:
            raise ServiceError(404, "ledger.unknown_grant", msg("no grant {grant_id} in the ledger",
                                                                 grant_id=repr(grant_id)))
        return _answer(200, jsontext.dumps(found.to_json()))

    @app.get("/v1/people/{person}/history", tags=["ledger"], summary="A person's history as a policy reads it "
             "(auditor)",
             responses={200: schemas.json_body({"type": "object", "required": ["person", "grants"]},
                                               "The grants, and with `policy` the history entries its rules read")}
             | schemas.errors(401, 403, 404, 422, 503))
    def person_history(request: Request, person: str,
                       policy: str | None = Query(None, description="ID: the entries as this policy's rules read "
                                                  "them (its book, revoked grants as it counts them)"),
                       on: str | None = Query(None, description="YYYY-MM-DD: the version in force then (default "
                                              "today)")):
        from engine.service.app import _date

        service.caller(request, "auditor")
        policy = policy_filter("policy", policy)
        if policy is None and on is not None:  # `on` chooses the version of a policy: without one it means nothing
            raise bad_request("on", msg("on chooses the version of the policy given: give policy too, or leave on out"))
        ledger = ledger_of(service)
        body: dict = {"person": person}
        try:
            if policy is None:
                found = within(service.settings.database_seconds, ledger.grants_of, None, None, person)
                body["grants"] = [g.to_json() for g in found]
                return _answer(200, jsontext.dumps(body))
            spec = _spec(service, policy, _date("on", on), evaluator_of)
            found = within(service.settings.database_seconds, ledger.grants_of, None, spec.book_name, person)
        except (SQLAlchemyError, DatabaseSlow) as exc:
            raise _unreadable(exc) from None
        body |= {"book": spec.book_name, "fact": spec.history_fact, "grants": [g.to_json() for g in found],
                 "entries": history_entries(spec, [g.record for g in counted(spec, found)])}
        return _answer(200, jsontext.dumps(body))


async def ledger_history_answers(service, snapshot, evaluator, raw, asked: Asked, caller) -> list:
    """/v1/evaluate with "history": "ledger": [(answer, log row)] of the claim decided with the ledger's history
    (recorded nowhere but in the decision log). A claim the ledger cannot be asked about is a 422."""
    from datetime import UTC, datetime

    parsed = raw.parsed()
    if not isinstance(parsed.data, dict):
        raise bad_request("claim", msg("a claim is a JSON object"))

    def decide():
        result, used = preview_result(snapshot.engine, evaluator, ledger_of(service), parsed.data, asked.as_of)
        data = decision_json(result, used, summary=not asked.explain)
        return [answer_and_row(evaluator.policy_id, parsed, raw, result, data, jsontext.dumps(asked.to_json()),
                               caller, service.masker, snapshot.personal(evaluator), datetime.now(UTC))]

    try:
        return await in_thread(service.settings.database_seconds, decide)
    except LedgerRefusal as exc:
        raise ServiceError(exc.status, exc.code, exc.message) from None
    except (SQLAlchemyError, DatabaseSlow) as exc:
        raise _unreadable(exc) from None


async def ledger_history_batch(service, snapshot, evaluator, raws: list, asked: Asked, caller) -> list:
    """POST /v1/evaluate:batch?history=ledger: for each claim, (answer, log row) decided with its person's
    grants from the ledger (read in one query for the group), or (error line, None) for a claim the ledger cannot
    be asked about (what /v1/evaluate answers with a 422; not logged)."""
    from datetime import UTC, datetime

    def decide():
        parsed = [raw.parsed() for raw in raws]
        request = jsontext.dumps(asked.to_json())
        personal = snapshot.personal(evaluator)
        now = datetime.now(UTC)
        out: list = []
        for raw, parse, one in zip(raws, parsed, preview_batch(snapshot.engine, evaluator, ledger_of(service),
                                                               parsed, asked.as_of), strict=True):
            if isinstance(one, LedgerRefusal):
                claim_id = parse.data.get("claim_id") if isinstance(parse.data, dict) else None
                out.append(({"claim_id": claim_id if isinstance(claim_id, str) else None,
                             "error": error_json(one.code, one.message, location=parse.location)}, None))
                continue
            result, used = one
            data = decision_json(result, used, summary=not asked.explain)
            out.append(answer_and_row(evaluator.policy_id, parse, raw, result, data, request, caller, service.masker,
                                      personal, now))
        return out

    try:
        return await in_thread(service.settings.database_seconds, decide)
    except (SQLAlchemyError, DatabaseSlow) as exc:
        raise _unreadable(exc) from None


def _spec(service, policy: str, day, evaluator_of):
    from datetime import date

    from engine.policies.ledgerspec import ledger_of as spec_of

    snapshot = service.policies.current
    evaluator_of(snapshot, Asked(policy))  # 404 / 503 as /v1/evaluate answers them
    pid, label = parse_policy_ref(policy)
    engine = snapshot.engine
    version = engine.store.get(pid, label) if label else engine.version_for(pid, day or date.today())
    if version is None:  # a known policy with no version on that day: as /v1/diff says it
        raise ServiceError(404, "policy.not_in_force", engine.none_in_force(pid, day or date.today()), location="on",
                           field="on")
    spec = spec_of(engine.linked(version, day or version.effective_from))
    if spec is None:
        raise ServiceError(422, "ledger.not_declared", msg("{policy} declares no ledger section", policy=version.key))
    return spec


async def _body(request: Request) -> bytes:
    from engine.service.app import _body as read

    return await read(request, LIMITS.claim_line_bytes + 4096, "POLICY_LIMIT_CLAIM_LINE_BYTES")


def _object(body: bytes, fields: tuple, required: tuple = ("policy", "claim")) -> dict:
    raw = read_json(body, "<request>")
    if raw.error is not None:
        raise bad_request("body", raw.error.message)
    data = raw.data
    if not isinstance(data, dict):
        raise bad_request("body", msg("the request is a JSON object with {fields}", fields=", ".join(fields)))
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise bad_request(unknown[0], msg("no such field (the fields are {fields})", fields=", ".join(fields)))
    for name in required:
        if name not in data:
            raise bad_request(name, msg("required"))
    if "policy" in required and (not isinstance(data["policy"], str) or not data["policy"]):
        raise bad_request("policy", msg("ID or ID@VERSION, as text"))
    if "claim" in required and not isinstance(data["claim"], dict):
        raise bad_request("claim", msg("a claim is a JSON object"))
    return data


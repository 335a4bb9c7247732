"""The pages: server-rendered HTML over the same functions the JSON routes call (engine.audit, the service's
evaluate and verify), so a page shows exactly what the API answers. Every page reads without JavaScript;
static/app.js only adds conveniences (open or close every rule at once).

URLs are stable: /policies, /policies/ID/timeline, /policies/ID@VERSION, /policies/ID/diff?from=&to=,
/policies/ID/try, /policies/ID/impact, /decisions, /decisions/DECISION_ID, /check, /signin.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import secrets
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from engine.api import PolicyInvalid, PolicyNotFound, Selection, not_a_version, parse_policy_ref
from engine.audit import listing
from engine.audit.describe import version_json
from engine.core.diagnostics import text_lines
from engine.core.i18n import LANGUAGES, Message, clauses, msg, speaking, tr
from engine.core.isodate import parse_date
from engine.core.limits import LIMITS
from engine.db.database import reason
from engine.db.signouts import SignedOut
from engine.service.app import unheard_of
from engine.service.auth import Caller
from engine.service.errors import ServiceError, policy_filter, said
from engine.web import claimform, render
from engine.web.session import COOKIE, LIFETIME, Session, Sessions, SessionsUnknown

log = logging.getLogger("engine.web")
LANG_COOKIE = "policy_lang"
# Words the templates translate from data (an item's kind, a rule's outcome, a change and its section, a logged
# outcome): listed here so that `./dev messages` extracts them.
WORDS = (msg("table"), msg("definition"), msg("rule"), msg("output"), msg("amount"), msg("note"), msg("pass"),
         msg("fail"), msg("not_applicable"), msg("error"), msg("added"), msg("removed"), msg("changed"),
         msg("clause"), msg("cell"), msg("row"), msg("version"), msg("uses"), msg("decision"), msg("not computable"),
         msg("input check"), msg("reference"), msg("eligible"), msg("not_eligible"), msg("invalid"),
         msg("not_in_force"), msg("undecided"))
HERE = Path(__file__).resolve().parent


class SignInFirst(Exception):
    pass


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("engine.web", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["tr"] = tr
    env.filters["tr"] = tr
    env.filters["clauses"] = lambda items: tr(clauses(items))
    env.filters["signed"] = lambda text: text if str(text).startswith("-") or str(text) in ("0", "0.00") else f"+{text}"
    env.filters["shown"] = render.shown
    env.filters["q"] = lambda text: quote(str(text), safe="/@")
    env.filters["pretty"] = _pretty
    return env


class Page:
    """One request to a page: who reads it, in which language, and its session."""

    def __init__(self, request: Request, sessions: Sessions):
        self.request = request
        asked = request.query_params.get("lang")
        self.set_language = asked if asked in LANGUAGES else None
        cookie = request.cookies.get(LANG_COOKIE)
        self.lang = self.set_language or (cookie if cookie in LANGUAGES else "zh")
        self.session = sessions.read(request.cookies.get(COOKIE))
        self.new_session: Session | None = None
        if self.session is None:  # an anonymous session carries the CSRF secret of the sign-in form
            self.new_session = self.session = sessions.issue()
        self.csrf = sessions.csrf(self.session)
        self.caller: Caller | None = None

    def url_in(self, lang: str) -> str:
        """This page in another language; for the answer to a form (a POST), the page the form was sent from."""
        path, query = self.request.url.path, dict(self.request.query_params)
        if self.request.method != "GET":
            sent_from = urlsplit(self.request.headers.get("referer", ""))
            same_site = sent_from.netloc in ("", self.request.url.netloc) and sent_from.path.startswith("/")
            path, query = (sent_from.path, dict(parse_qsl(sent_from.query))) if same_site else ("/policies", {})
        return f"{_local(path)}?{urlencode(query | {'lang': lang})}"


def add_pages(app: FastAPI, service) -> None:
    key = bytes.fromhex(service.settings.session_key) if service.settings.session_key else secrets.token_bytes(32)
    sessions = Sessions(key, service.tokens, SignedOut(service.database) if service.tokens is not None else None)
    env = _environment()
    router = APIRouter(include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def html(page: Page, template: str, status: int = 200, **data) -> Response:
        signed_in = page.caller is not None and service.tokens is not None
        body = env.get_template(template + ".html").render(page=page, caller=page.caller, signed_in=signed_in,
                                                           tokens=service.tokens is not None, **data)
        response = HTMLResponse(body, status)
        return _cookies(page, response)

    def error_page(request: Request, error: ServiceError, headers: dict | None = None) -> Response:
        """The error page for a request no page route took (an unknown address, a method a page does not take)."""
        page = Page(request, sessions)
        with contextlib.suppress(SignInFirst, ServiceError):  # who is reading, for the menu: signed in or not
            who(page, None)
        with speaking(page.lang):
            response = html(page, "error", error.status, error=error)
        response.headers.update(headers or {})
        return response

    app.state.error_page = error_page

    def _cookies(page: Page, response: Response) -> Response:
        # never kept, in the browser's back-forward cache either: Back after signing out must not show the page
        response.headers["Cache-Control"] = "no-store"
        secure = page.request.url.scheme == "https"
        if page.new_session is not None:
            response.set_cookie(COOKIE, page.new_session.value, max_age=LIFETIME, httponly=True, samesite="lax",
                                secure=secure, path="/")
        if page.set_language:
            response.set_cookie(LANG_COOKIE, page.set_language, max_age=365 * 86400, samesite="lax", secure=secure,
                                path="/")
        return response

    def who(page: Page, role: str | None):
        """The caller, by the bearer token of the request or the session; the role as the API asks it."""
        request = page.request
        if request.headers.get("authorization") or service.tokens is None:
            page.caller = service.caller(request, role)
            return page.caller
        try:
            found = sessions.caller(page.session)
        except SessionsUnknown as exc:
            raise _session_store_down(exc) from None
        if found is None:
            raise SignInFirst()
        page.caller = found
        if role is not None and not found.may(role):
            raise ServiceError(403, "auth.role", tr("this page needs the {role} role; your token has {roles}",
                                                    role=role, roles=", ".join(sorted(found.roles))))
        return found

    async def csrf_checked(page: Page) -> dict:
        try:  # a field may be as large as a policy file (a pasted draft, pasted claims); an upload has no limit here
            form: dict = dict(await page.request.form(max_part_size=LIMITS.policy_file_bytes))
        except HTTPException:  # python-multipart's limits (a field too large, too many fields), as a 400
            size = format(LIMITS.policy_file_bytes, ",")
            if page.request.url.path.endswith("/try"):  # the one form with no file to upload instead
                raise ServiceError(413, "request.too_large", tr(
                    "the form cannot be read: a text pasted into it may be up to {size} bytes", size=size)) from None
            raise ServiceError(413, "request.too_large", tr(
                "the form cannot be read: a text pasted into it may be up to {size} bytes; upload a larger file "
                "instead", size=size)) from None
        sent = str(form.get("csrf") or "")
        # a request that carries a known bearer token cannot come from another site's form; any other needs the token
        bearer = service.tokens is not None and service.tokens.caller(page.request.headers.get("authorization"))
        if not bearer and not sessions.csrf_ok(page.session, sent):
            raise ServiceError(403, "auth.csrf", tr("the form is out of date or was sent from another site: "
                                                    "reload the page and send it again"))
        return form

    def page_route(method: str, path: str):
        def wrap(handler):
            async def run(request: Request, **params):
                page = Page(request, sessions)
                with speaking(page.lang):
                    try:
                        return await handler(page, **params)
                    except SignInFirst:
                        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                        return _cookies(page, RedirectResponse(f"/signin?{urlencode({'next': target})}", 303))
                    except ServiceError as exc:
                        return html(page, "error", exc.status, error=exc)
                    except Exception:  # a bug: said on the page, its traceback only in the server's log
                        log.exception("page %s failed", request.url.path)
                        return html(page, "error", 500, error=ServiceError(
                            500, "service.internal", tr("the page failed; the server's log says why")))
            # FastAPI reads the route's parameters from its signature: the request and the path's own
            names = [p for p in inspect.signature(handler).parameters if p != "page"]
            run.__signature__ = inspect.Signature(
                [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
                + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str) for n in names])
            run.__name__ = handler.__name__
            router.add_api_route(path, run, methods=[method], response_class=HTMLResponse)
            return run
        return wrap

    def store():
        return service.policies.current.store

    def engine():
        return service.policies.current.engine

    # -- signing in ---------------------------------------------------------------------------------

    @page_route("GET", "/")
    async def home(page: Page):
        return RedirectResponse("/policies" + (f"?lang={page.set_language}" if page.set_language else ""), 303)

    @page_route("GET", "/signin")
    async def signin_form(page: Page):
        target = _local(page.request.query_params.get("next"))
        if service.tokens is None:  # without tokens there is nothing to sign in to: every page is open
            return _cookies(page, RedirectResponse(target, 303))
        return html(page, "signin", next=target, error=None)

    @page_route("POST", "/signin")
    async def signin(page: Page):
        form = await csrf_checked(page)
        target = _local(form.get("next"))
        if service.tokens is None:
            return _cookies(page, RedirectResponse(target, 303))
        token = str(form.get("token") or "")
        if not token.strip():
            return html(page, "signin", 422, next=target, error=tr("enter the token the service gave you"))
        session = sessions.sign_in(token)
        if session is None:
            return html(page, "signin", 401, next=target,
                        error=tr("this token is not known to the service"))
        page.new_session = session
        return _cookies(page, RedirectResponse(target, 303))

    @page_route("POST", "/signout")
    async def signout(page: Page):
        await csrf_checked(page)
        try:
            sessions.sign_out(page.session)
        except SessionsUnknown as exc:
            raise _session_store_down(exc) from None
        page.new_session = sessions.issue()
        return _cookies(page, RedirectResponse("/signin", 303))

    # -- policies -----------------------------------------------------------------------------------

    @page_route("GET", "/policies")
    async def policies(page: Page):
        who(page, None)
        today = date.today()
        rows = []
        for item in listing.policy_list(store()):
            versions = store().versions(item["id"])
            in_force = store().in_force(item["id"], today) if versions else None
            repeals = store().repeals.get(item["id"], [])
            ended = max((r for r in repeals if r.effective_from <= today), key=lambda r: r.effective_from,
                        default=None) if in_force is None else None
            entries = sorted(versions + repeals, key=lambda v: (v.effective_from, v.version))
            rows.append(item | {"versions": [{"version": v.version, "from": v.effective_from.isoformat(),
                                              "in_force": v is in_force, "document": v.source.get("number"),
                                              "title": v.source.get("title"), "repeals": v.repeals}
                                             for v in entries],
                                "in_force": in_force.version if in_force else None,
                                "repealed_on": ended.effective_from.isoformat() if ended else None,
                                "declares_input": any(store().declares_input(item["id"], v.version) for v in versions)})
        return html(page, "policies", rows=rows, today=today)

    @page_route("GET", "/policies/{policy_id:path}/timeline")
    async def timeline(page: Page, policy_id: str):
        who(page, None)
        errors, days = [], {}
        for name in ("as_of", "known_on"):  # a day that is none: said above the form, which keeps the others
            try:
                days[name] = _day(page, name)
            except ServiceError as exc:
                errors.append(tr(exc.message))
                days[name] = None
        return timeline_page(page, policy_id, days["as_of"], days["known_on"], 422 if errors else 200,
                             errors=errors)

    def timeline_page(page: Page, policy_id: str, as_of, known_on, status: int = 200, errors=(),
                      compare: dict | None = None):
        """The timeline page; with `errors` said above its forms, and the compare form holding what was typed."""
        rows = _timeline_rows(policy_id)
        current = None
        reads: list = []
        if as_of:
            found = engine().version_for(policy_id, as_of, Selection(known_on=known_on))
            current = found.version if found else None
            if found:
                try:
                    linked = engine().linked(found, as_of, known_on)
                    reads = [{"role": linked.role_of(v), "key": v.key, "id": v.id, "version": v.version}
                             for v in linked.versions if v is not found]
                except Exception as exc:  # LinkError, PolicyInvalid: said in place of what it reads
                    reads = [{"role": "error", "key": _link_error(exc, as_of)}]
        for r in rows:
            r["current"] = r["version"] == current
            r["href"] = None if r.get("repeals") else f"/policies/{quote(policy_id)}@{quote(r['version'])}"
        marks = _underneath(policy_id, rows)
        for m in marks:  # what changed that day: the day before against the day
            before = (date.fromisoformat(m["date"]) - timedelta(days=1)).isoformat()
            m["diff"] = f"/policies/{quote(policy_id)}/diff?{urlencode({'from': before, 'to': m['date']})}"
        chart = render.timeline_svg(rows, date.today(), marks, as_of, {
            "title": tr("Versions of {policy} on a date axis", policy=policy_id), "open": tr("open-ended"),
            "issued": tr("issued on"), "as_of": tr("as of"), "repealed": tr("repealed from")})
        return html(page, "timeline", status, policy_id=policy_id, rows=rows, chart=chart, marks=marks,
                    as_of=as_of, known_on=known_on, current=current, reads=reads, errors=list(errors),
                    compare=compare or {}, dates=[r["from"] for r in rows],
                    declares_input=store().declares_input(policy_id))

    @page_route("GET", "/policies/{policy_id:path}/diff")
    async def diff(page: Page, policy_id: str):
        from engine.audit.diff import diff_linked

        who(page, None)
        _known(policy_id)
        sides, texts, errors, status = [], [], [], 422
        for name in ("from", "to"):
            text = (page.request.query_params.get(name) or "").strip()
            texts.append(text)
            if not text:
                errors.append(tr("{field}: give a date (YYYY-MM-DD) or @VERSION", field=name))
                continue
            try:
                if text.startswith("@"):
                    sides.append(engine().scenario(policy_id, version=text[1:]))
                else:
                    sides.append(engine().scenario(policy_id, at=_parse(name, text)))
            except ServiceError as exc:  # a day that is none
                errors.append(tr(exc.message))
            except PolicyNotFound as exc:  # no such version, or none in force that day (PolicyNotInForce)
                errors.append(tr("{what}: {message}", what=name, message=said(exc)))
                status = 404
            except PolicyInvalid as exc:
                raise _invalid(policy_id, exc) from None
        if errors:  # the timeline again, each mistake said above the compare form, which keeps what was typed
            return timeline_page(page, policy_id, None, None, status, errors=errors,
                                 compare={"from": texts[0], "to": texts[1]})
        result = diff_linked(*sides)
        return html(page, "diff", policy_id=policy_id, result=result, texts=texts,
                    groups=_by_clause(result["changes"], sides[1].version.clauses, sides[0].version.clauses),
                    underneath=[(sub, _by_clause(sub["changes"], {}, {})) for sub in result.get("underneath", [])])

    @page_route("GET", "/compare")
    async def compare(page: Page):
        """Two policies side by side (a transposition beside another city's, say): each ID@VERSION, or ID as in
        force on the date `on`; the same diff as two versions of one policy."""
        from engine.audit.diff import diff_linked

        who(page, None)
        q = page.request.query_params
        on = _day(page, "on")
        sides, texts = [], []
        for name in ("left", "right"):
            text = (q.get(name) or "").strip()
            texts.append(text)
            policy_filter(name, text or None)
            pid, label = parse_policy_ref(text)
            if not pid:
                raise ServiceError(422, "request.invalid", tr("{field}: give a policy, ID or ID@VERSION", field=name))
            if not label and on is None:
                raise ServiceError(422, "request.invalid", tr("{field}: {policy} without @VERSION needs the date "
                                                              "on", field=name, policy=pid))
            _known(pid)
            try:
                sides.append(engine().scenario(pid, version=label) if label else engine().scenario(pid, at=on))
            except PolicyNotFound as exc:
                raise ServiceError(404, "request.unknown_policy", said(exc)) from None
            except PolicyInvalid as exc:
                raise _invalid(pid, exc) from None
        result = diff_linked(*sides)
        return html(page, "diff", policy_id=f"{sides[0].version.key} ↔ {sides[1].version.key}", result=result,
                    texts=[sides[0].version.key, sides[1].version.key], two_policies=True,
                    groups=_by_clause(result["changes"], sides[1].version.clauses, sides[0].version.clauses),
                    underneath=[(sub, _by_clause(sub["changes"], {}, {})) for sub in result.get("underneath", [])])

    @page_route("GET", "/policies/{policy_id:path}/try")
    async def try_form(page: Page, policy_id: str):
        who(page, "developer")
        fields = _fields(policy_id)
        return html(page, "try", policy_id=policy_id, fields=fields, values={}, errors={}, other_errors=[],
                    pasted="", result=None, form={})

    @page_route("POST", "/policies/{policy_id:path}/try")
    async def try_claim(page: Page, policy_id: str):
        from engine.claims.reader import RawClaim, read_document, read_json
        from engine.db import jsontext
        from engine.service.deciding import Asked

        caller = who(page, "developer")
        form = await csrf_checked(page)
        fields = _fields(policy_id)
        pasted = str(form.get("claim_text") or "").strip()
        values = {k: str(v) for k, v in form.items() if k not in ("csrf", "claim_text")}
        unreadable: dict = {}
        raw: RawClaim
        if pasted:
            raws = list(read_document(pasted.encode(), "<pasted>"))
            raw = raws[0] if len(raws) == 1 else RawClaim(None, "<pasted>", None)
            if len(raws) != 1:
                unreadable["claim_text"] = tr("paste one claim (a mapping), not a list of {count}", count=len(raws))
            elif raw.error is not None:  # a paste that is not YAML or JSON: said at the box, no decision logged
                place = re.match(r"<pasted>:(\d+):(\d+)", str(raw.error.location or raw.location or ""))
                where = tr("line {line}, column {column}", line=place[1], column=place[2]) + ": " if place else ""
                unreadable["claim_text"] = f"[{raw.error.code}] {where}{tr(raw.error.message)}"
            else:
                raw = read_json(jsontext.dumps(raw.data).encode(), "<pasted>")
        else:
            claim, unreadable = claimform.claim_of(fields, values)
            raw = read_json(jsontext.dumps(claim).encode(), "<form>")
        if unreadable:  # said at the box, and above the form too (the box is far down a long form)
            return html(page, "try", 422, policy_id=policy_id, fields=fields, values=values, errors={
                k: [v] for k, v in unreadable.items()}, other_errors=[
                    {"path": None, "message": v} for k, v in unreadable.items() if k == "claim_text"],
                pasted=pasted, result=None, form=form)
        try:
            asked = Asked(policy_id, _parse("as_of", form.get("as_of")) if form.get("as_of") else None,
                          _parse("known_on", form.get("known_on")) if form.get("known_on") else None, True)
        except ServiceError as exc:  # a date that is none: said above the form, which keeps what was entered
            said_alone = exc.message.args.get("message", exc.message) if isinstance(exc.message, Message) \
                else exc.message  # "as_of: …" is shown beside its field's name already
            return html(page, "try", exc.status, policy_id=policy_id, fields=fields, values=values, errors={},
                        other_errors=[{"path": exc.details.get("field"), "message": said_alone}], pasted=pasted,
                        result=None, form=form)
        answer = await service.evaluate(asked, raw, caller)
        errors: dict = {}
        other: list = []
        if "error" in answer and str(answer["error"].get("code", "")).startswith("claim."):
            # what is wrong with the claim, by field; no policy in force, or a claim that cannot be decided, is
            # the decision's own answer, shown above (the claim is not invalid)
            problems = answer["error"].get("problems") or [{"path": answer["error"].get("path"),
                                                            "message": answer["error"]["message"]}]
            if pasted:
                errors, other = {}, problems
            else:
                errors, other = claimform.errors_by_field(fields, problems)
        return html(page, "try", policy_id=policy_id, fields=fields, values=values, errors=errors,
                    other_errors=other, pasted=pasted, result=_decision_view(answer), form=form)

    @page_route("GET", "/policies/{policy_id:path}/impact")
    async def impact_form(page: Page, policy_id: str):
        who(page, "auditor")
        _known(policy_id)
        return html(page, "impact", policy_id=policy_id, form={}, error=None,
                    dates=[r["from"] for r in _timeline_rows(policy_id)])

    @page_route("POST", "/policies/{policy_id:path}/impact")
    async def impact(page: Page, policy_id: str):
        from engine.audit.impact import compare, side
        from engine.claims.reader import BOM, read_lines

        who(page, "auditor")
        form = await csrf_checked(page)
        _known(policy_id)
        data = await _uploaded(form.get("claims"))
        data = data or str(form.get("claims_text") or "").encode()
        dates = [r["from"] for r in _timeline_rows(policy_id)]
        shown_form = {k: v for k, v in form.items() if isinstance(v, str)}
        if not data.strip():
            return html(page, "impact", 422, policy_id=policy_id, form=shown_form, dates=dates,
                        error=tr("upload claims as JSON Lines, or paste them"))
        sides = []
        for name in ("from", "to"):
            text = str(form.get(name) or "").strip()
            try:
                if not text.startswith("@"):
                    text = _parse(name, text).isoformat()  # a date that is none is said as the form's mistake
                sides.append(side(engine(), policy_id, text))  # as `policy impact --from/--to` takes it
            except PolicyNotFound as exc:
                return html(page, "impact", 422, policy_id=policy_id, form=shown_form,
                            dates=dates, error=tr("{what}: {message}", what=name, message=said(exc)))
            except ServiceError as exc:  # a date that is none: said above the form, which keeps what was entered
                return html(page, "impact", exc.status, policy_id=policy_id, form=shown_form,
                            dates=dates, error=tr(exc.message))
            except PolicyInvalid as exc:
                raise _invalid(policy_id, exc) from None
        (before, before_label), (after, after_label) = sides
        # at line feeds only, as `policy impact` reads a file (JSON allows a lone CR), and without a byte order mark
        lines = data.removeprefix(BOM).split(b"\n")
        total = sum(1 for line in lines if line.strip())  # the claims: not the empty line after the last line feed
        # The page is streamed: its head at once, a line of progress every half second while the claims are
        # decided (CSS shows only the last; no script needed), then the report.
        prefix, _, suffix = env.get_template("impact.html").render(
            page=page, caller=page.caller, signed_in=page.caller is not None and service.tokens is not None,
            tokens=service.tokens is not None, policy_id=policy_id, form=shown_form, error=None,
            dates=dates, streaming=True).partition("<!--REPORT-->")
        done = [0]
        labels = (before_label, after_label)

        def advance(count: int) -> None:
            done[0] += count

        async def stream():
            with speaking(page.lang):
                yield prefix.encode()
                work = asyncio.ensure_future(asyncio.to_thread(compare, before, after,
                                                               read_lines(lines, "<upload>"), *labels, advance))
                shown = -1
                while not work.done():
                    await asyncio.wait([work], timeout=0.5)
                    if done[0] != shown and not work.done():
                        shown = done[0]
                        line = escape(tr("{done} of {total} claims decided", done=shown, total=total))
                        yield f'<p class="progress-line" role="status">{line}</p>\n'.encode()
                try:
                    report = work.result()
                    result = report.to_json()
                except Exception:  # said on the page; the headers are gone already
                    log.exception("impact failed")
                    failed = escape(tr("the page failed; the server's log says why"))
                    yield f'<p class="error" role="alert">{failed}</p>'.encode()
                    yield suffix.encode()
                    return
                if shown >= 0:  # the last line shown says the end, not where the last half second left it
                    line = escape(tr("{done} of {total} claims decided", done=total, total=total))
                    yield f'<p class="progress-line" role="status">{line}</p>\n'.encode()
                yield str(env.get_template("_impact_report.html").module.impact_report(
                    result, *_impact_figures(result), _impact_words(report))).encode()
                yield suffix.encode()

        return _cookies(page, StreamingResponse(stream(), media_type="text/html; charset=utf-8"))

    # -- the log ------------------------------------------------------------------------------------

    @page_route("GET", "/decisions")
    async def decisions(page: Page):
        who(page, "auditor")
        q = page.request.query_params
        claim_id = q.get("claim_id") or None
        policy = policy_filter("policy", q.get("policy") or None)  # the form's empty field is no filter
        after = q.get("after")
        if after is not None and not (after.isascii() and after.isdigit() and len(after) <= 18):
            raise ServiceError(422, "request.invalid", tr("after: a whole number, the last row's of the page before"),
                               location="after", field="after")
        found = await asyncio.to_thread(_search, claim_id, policy, int(after) if after else None)
        unheard = unheard_of(service.policies.current.store, policy) if policy and not found and not after else None
        more = None
        if len(found) == PAGE_ROWS:  # the next page, with the same filters
            more = "/decisions?" + urlencode({k: v for k, v in (("claim_id", claim_id), ("policy", policy),
                                                                 ("after", found[-1]["seq"])) if v})
        return html(page, "decisions", found=found, claim_id=claim_id or "", policy=policy or "", unheard=unheard,
                    more=more, page_rows=PAGE_ROWS)

    @page_route("GET", "/decisions/{decision_id}")
    async def decision(page: Page, decision_id: str):
        who(page, "auditor")
        logged = await asyncio.to_thread(_logged, decision_id)
        return html(page, "decision", logged=logged, view=_decision_view(_result(logged)), verified=None)

    @page_route("POST", "/decisions/{decision_id}/verify")
    async def verify(page: Page, decision_id: str):
        from engine.service.verifying import check_logged, report

        who(page, "auditor")
        await csrf_checked(page)
        record = await asyncio.to_thread(_record, decision_id)
        verified = report(record, await asyncio.to_thread(check_logged, engine(), record))
        logged = _shown(record)
        return html(page, "decision", logged=logged, view=_decision_view(_result(logged)), verified=verified)

    # -- drafts -------------------------------------------------------------------------------------

    @page_route("GET", "/check")
    async def check_form(page: Page):
        who(page, "officer")
        return html(page, "check", draft="", path="", report=None)

    @page_route("POST", "/check")
    async def check(page: Page):
        from engine.service.app import _draft_place

        who(page, "officer")
        form = await csrf_checked(page)
        data = await _uploaded(form.get("file"))
        data = data or str(form.get("draft") or "").replace("\r\n", "\n").encode()
        path = str(form.get("path") or "").strip()
        place = _draft_place(path) if path else listing.draft_place(data)  # by default where policy: and version: say
        path = path or place.as_posix()
        root = service.policies.root
        diagnostics = await asyncio.to_thread(listing.check_draft, root, service.policies.schemas, root / place,
                                              data, date.today())
        found = [d.to_json() for d in diagnostics]
        text = data.decode("utf-8", "replace")
        lines = text_lines(text)  # as the findings' locations count lines (not at U+2028 or a form feed)
        if lines and not lines[-1]:
            lines = lines[:-1]  # the end of the last line
        marked: dict = {}
        for d in found:
            line = (d.get("location") or {}).get("line") if isinstance(d.get("location"), dict) else d.get("line")
            if isinstance(line, int):
                marked.setdefault(line, []).append(d)
        return html(page, "check", draft=text, path=path, report={
            "errors": sum(1 for d in diagnostics if d.severity == "error"),
            "warnings": sum(1 for d in diagnostics if d.severity != "error"), "diagnostics": found},
            lines=lines, marked=marked)

    # -- a version (last: its path takes what the ones above did not) ---------------------------------

    @page_route("GET", "/policies/{ref:path}")
    async def version(page: Page, ref: str):
        who(page, None)
        pid, label = parse_policy_ref(ref)
        if not label:
            if store().versions(pid):
                return RedirectResponse(f"/policies/{quote(pid)}/timeline", 303)
            _known(pid)
        _refuse_broken(pid)
        v = store().get(pid, label)
        repeal = store().repeal(pid, label) if v is None else None
        if repeal is not None:
            raise ServiceError(404, "request.unknown_policy", tr(not_a_version(repeal)))
        if v is None:
            known = ", ".join(x.version for x in store().versions(pid)) or "-"
            raise ServiceError(404, "request.unknown_policy", tr("no version {ref} (versions of {policy}: {known})",
                                                                 ref=ref, policy=pid, known=known))
        day = _day(page, "as_of")
        end = store().until(v)
        if day is None:
            today = date.today()
            day = today if v.effective_from <= today and (end is None or today <= end) else v.effective_from
        sections, link_error = [], None
        try:
            linked = engine().linked(v, day)
            versions = [v] + [x for x in linked.versions if x is not v]
            roles = {x.key: linked.role_of(x) for x in linked.versions if x is not v}
        except Exception as exc:  # LinkError, PolicyInvalid: the version alone, with why
            versions, roles, link_error = [v], {}, _link_error(exc, day)
        anchors = _anchors(v, versions)
        for x in versions:
            sections.append(_section(x, roles.get(x.key, "self"), anchors))
        return html(page, "version", v=version_json(v, store()), sections=sections, day=day,
                    link_error=link_error, anchors=anchors, linked=render.linked_expression,
                    declares_input=store().declares_input(v.id, v.version))

    # -- helpers that read the store ----------------------------------------------------------------

    def _known(policy_id: str) -> None:
        if not store().versions(policy_id):
            raise ServiceError(404, "request.unknown_policy", tr("no policy {policy}; known: {known}",
                                                                 policy=policy_id, known=", ".join(store().ids())))

    def _refuse_broken(policy_id: str) -> None:
        errors = store().errors_for(policy_id)
        if errors:
            raise _invalid(policy_id, PolicyInvalid(errors))

    def _invalid(policy_id: str, exc: PolicyInvalid) -> ServiceError:
        return ServiceError(503, "service.policy_has_errors", tr("{policy} cannot be used while its files have "
                                                                 "errors; run `policy check`", policy=policy_id),
                            diagnostics=[d.to_json() for d in exc.diagnostics])

    def _timeline_rows(policy_id: str) -> list[dict]:
        _known(policy_id)
        errors = store().errors_for(policy_id, False)
        if errors:
            raise _invalid(policy_id, PolicyInvalid(errors))
        return listing.timeline(store(), policy_id)

    def _underneath(policy_id: str, rows: list[dict]) -> list[dict]:
        """The days content changed through a referenced policy while a version of this one was in force: the
        audit timeline's own list where it gives one, else the referenced policies' versions taking effect."""
        given = [m for r in rows for m in r.get("underneath", []) or []]
        if given:
            return [{"date": m.get("date") or m.get("from"), "what": tr(m["what"]) if m.get("what") else
                     f"{m.get('id', '')}@{m.get('version', '')}"} for m in given if m.get("date") or m.get("from")]
        marks = []
        for r in rows:
            v = store().get(policy_id, r["version"])
            if v is None:  # a repeal: it reads nothing
                continue
            refs = ([v.extends] if v.extends else []) + list(v.uses.values())
            begin, end = v.effective_from, store().until(v)
            for ref in refs:
                ref_id = getattr(ref, "id", None) or parse_policy_ref(str(ref))[0]
                for other in store().versions(ref_id):
                    if begin < other.effective_from and (end is None or other.effective_from <= end):
                        marks.append({"date": other.effective_from.isoformat(), "what": tr(
                            "{version} reads {reference} from this day", version=r["version"],
                            reference=other.key)})
        return sorted(marks, key=lambda m: m["date"])

    def _fields(policy_id: str) -> list:
        _known(policy_id)
        _refuse_broken(policy_id)
        versions = store().versions(policy_id)
        name = store().input_schema_name(versions[-1])
        schema = store().schemas.get(name) if name else None
        if schema is None:
            raise ServiceError(422, "request.invalid", tr("{policy} declares no input (no input.schema), so claims "
                                                          "cannot be decided under it", policy=policy_id))
        return claimform.fields_of(schema.schema)

    def _clause_text(source: str | None, clause: str) -> list[tuple[str, str]]:
        if not source:
            return []
        pid, label = parse_policy_ref(source)
        v = store().get(pid, label) if label else None
        clauses = v.clauses if v is not None else {}
        return [(c, clauses.get(c, "")) for c in (p.strip() for p in str(clause or "").split(",")) if c]

    def _decision_view(answer: dict) -> dict:
        rules = []
        for rule in answer.get("rules") or []:
            rules.append(rule | {"clause_texts": _clause_text(rule.get("source"), rule.get("clause")),
                                 "cells": {k: v for k, v in (rule.get("reads") or {}).items() if "[" in k},
                                 "facts": {k: v for k, v in (rule.get("reads") or {}).items() if "[" not in k}})
        notes = [n | {"clause_texts": _clause_text(n.get("source"), n.get("clause"))}
                 for n in answer.get("notes") or []]
        return {"answer": answer, "rules": rules, "notes": notes}

    def _record(decision_id: str) -> dict:
        from engine.service.app import _logged as logged_record

        return logged_record(service, decision_id)

    def _logged(decision_id: str) -> dict:
        return _shown(_record(decision_id))

    def _search(claim_id, policy, after) -> list[dict]:
        from engine.service.app import _log_down
        from engine.service.deadline import within

        try:
            return within(service.settings.database_seconds, service.log.search, claim_id, policy, None, None, after,
                          PAGE_ROWS)
        except Exception as exc:
            raise _log_down(exc) from None

    app.include_router(router)


PAGE_ROWS = 100  # decisions a page of the log shows


def _session_store_down(exc: SessionsUnknown) -> ServiceError:
    """A signed-in page while the database is down: whether its session was signed out cannot be known."""
    return ServiceError(503, "log.unavailable", tr("the database cannot be reached to check this session: {reason}; "
                                                   "try again shortly", reason=reason(exc.args[0])), retry=True)


def _shown(record: dict) -> dict:
    from engine.service.app import _shown as shown_record

    return shown_record(record)


def _pretty(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _result(logged: dict) -> dict:
    import orjson

    result = logged.get("result")
    if isinstance(result, str):
        try:
            result = orjson.loads(result)
        except orjson.JSONDecodeError:
            result = {}
    return {"decision_id": logged["decision_id"]} | (result if isinstance(result, dict) else {})


async def _uploaded(value) -> bytes:
    """The content of a file input (empty when no file was chosen)."""
    return await value.read() if isinstance(value, UploadFile) else b""


def _local(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site's address)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/policies"
    return target


def _link_error(exc: Exception, day) -> str:
    """Why a version cannot be linked on `day`, in the page's language."""
    said_on = getattr(exc, "said_on", None)
    return tr(said_on(day)) if said_on is not None else tr(said(exc))


def _parse(name: str, text) -> date:
    try:
        return parse_date(str(text))
    except ValueError as exc:
        raise ServiceError(422, "request.invalid", msg("{what}: {message}", what=name, message=said(exc)),
                           field=name) from None


def _day(page: Page, name: str) -> date | None:
    text = page.request.query_params.get(name)
    return _parse(name, text) if text else None


def _impact_figures(result: dict) -> tuple[dict, list]:
    counts = _counts(result)
    charts = [render.bars_svg(tr("Claims by outcome"), [
        (tr("before"), [(tr("eligible"), counts["eligible_before"], "yes"),
                        (tr("not eligible"), counts["ineligible_before"], "no")]),
        (tr("after"), [(tr("eligible"), counts["eligible_after"], "yes"),
                       (tr("not eligible"), counts["ineligible_after"], "no")])]),
        render.bars_svg(tr("Total amount"), [(tr("amount"), [
            (tr("before"), Decimal(result["total_amount"]["before"]), "before"),
            (tr("after"), Decimal(result["total_amount"]["after"]), "after")])])]
    return counts, charts


def _impact_words(report) -> dict:
    """What `policy impact` says in words beside its counts, for the page: each changed claim before, after and
    why; the rules whose outcome changed; what the amounts read differently."""
    from engine.audit.impact import claim_change, rule_moves

    return {"changed": [(c, *claim_change(c)) for c in report.changed_claims],
            "rules": [(rule_id, rule_moves(counts)) for rule_id, counts in sorted(report.rules.items())],
            "amount_causes": sorted(report.amount_causes.items()),
            "reasons_changed": report.reasons_changed,
            "undecided": (report.undecided_before, report.undecided_after)}


def _counts(result: dict) -> dict:
    changed = result["changed_claims"]
    direction = result["direction"]
    eligible_before = sum(1 for c in changed if (c.get("before") or {}).get("eligible") is True)
    eligible_after = sum(1 for c in changed if (c.get("after") or {}).get("eligible") is True)
    return {"changed": result["changed"], "claims": result["claims"], **direction,
            "eligible_before": eligible_before, "ineligible_before": len(changed) - eligible_before,
            "eligible_after": eligible_after, "ineligible_after": len(changed) - eligible_after}


def _by_clause(changes: list[dict], clauses: dict, old_clauses: dict) -> list[dict]:
    """Changes grouped by the clause they encode, in the document's order; those of no clause last."""
    groups: dict = {}
    for change in changes:
        for clause in [c.strip() for c in str(change.get("clause") or "").split(",") if c.strip()] or [""]:
            groups.setdefault(clause, []).append(change)
            break
    order = list(clauses) + [c for c in old_clauses if c not in clauses]
    ordered = sorted(groups, key=lambda c: (c == "", order.index(c) if c in order else len(order), c))
    return [{"clause": c, "text": clauses.get(c) or old_clauses.get(c) or "", "changes": groups[c]} for c in ordered]


def _anchors(root, versions: list) -> dict:
    """Name → the id of its definition on the version page: the root's own and inherited names unqualified,
    what it uses as alias.name."""
    anchors: dict = {}
    for x in versions:
        if x is root or (root.extends and x.id == getattr(root.extends, "id", None)) or x.id in _extended(root,
                                                                                                          versions):
            for name in list(x.definitions) + list(x.tables):  # what an expression can name (never an output)
                anchors.setdefault(name, _anchor(x, name))
    for alias, ref in root.uses.items():
        ref_id = getattr(ref, "id", None) or parse_policy_ref(str(ref))[0]
        for x in versions:
            if x.id == ref_id:
                for name in list(x.definitions) + list(x.tables):
                    anchors.setdefault(f"{alias}.{name}", _anchor(x, name))
    return anchors


def _extended(root, versions: list) -> set:
    """The ids of the chain of policies `root` extends, among the linked versions."""
    by_id = {x.id: x for x in versions}
    chain, current = set(), root
    while current is not None and current.extends:
        ref_id = getattr(current.extends, "id", None) or parse_policy_ref(str(current.extends))[0]
        if ref_id in chain:
            break
        chain.add(ref_id)
        current = by_id.get(ref_id)
    return chain


def _anchor(version, name: str) -> str:
    return "d-" + quote(f"{version.id}-{name}", safe="").replace("%", "_")


def _section(x, role: str, anchors: dict) -> dict:
    """One source document clause by clause, each with what encodes it or why it is not computable."""
    items: dict = {}

    def add(clauses, entry):
        for n, clause in enumerate(clauses or [""]):
            # an item citing several clauses is shown beside each; the first is the one its links go to
            items.setdefault(clause, []).append(entry if n == 0 else entry | {"anchor": None})

    for name, t in x.tables.items():
        columns = [f.name for f in t.type.row.fields]
        add(t.clauses, {"kind": "table", "name": name, "anchor": _anchor(x, name), "columns": columns,
                        "key_columns": list(t.keys), "rows": [[row[c] for c in columns] for row in t.rows.values()],
                        "description": t.description, "reading": t.reading})
    for name, d in x.definitions.items():
        add(d.clauses, {"kind": "definition", "name": name, "anchor": _anchor(x, name), "expr": d.expr.text,
                        "params": ", ".join(f"{p.name}: {p.type}" for p in d.params), "description": d.description,
                        "reading": d.reading, "overrides": d.overrides})
    for r in x.rules:
        add(r.clauses, {"kind": "rule", "name": r.id, "anchor": _anchor(x, "rule-" + r.id),
                        "when": r.when.text if r.when else None, "expr": r.require.text,
                        "fail": r.messages.get("fail"), "reading": r.reading, "overrides": r.overrides})
    for name, o in x.outputs.items():
        add(o.clauses, {"kind": "output", "name": name, "anchor": _anchor(x, "output-" + name), "expr": o.expr.text,
                        "when": o.when.text if o.when else None, "description": o.description,
                        "reading": o.reading, "overrides": o.overrides})
    if x.decision:
        add(x.decision.clauses, {"kind": "amount", "name": "amount", "anchor": _anchor(x, "amount"),
                                 "expr": x.decision.expr.text, "currency": x.decision.currency})
    for n in x.notes:
        add(n.clauses, {"kind": "note", "name": n.id, "anchor": _anchor(x, "note-" + n.id), "text": n.text,
                        "when": n.when.text if n.when else None})
    reasons: dict = {}
    for nc in x.not_computable:
        for clause in [nc["clause"]] if isinstance(nc["clause"], str) else nc["clause"]:
            reasons[clause] = nc["reason"]
    clauses = []
    for cid, text in x.clauses.items():
        clauses.append({"id": cid, "text": text, "encodings": items.pop(cid, []), "reason": reasons.get(cid)})
    extra = [{"id": cid, "text": "", "encodings": entries, "reason": reasons.get(cid)}
             for cid, entries in items.items()]
    # a clause whose parts are encoded (二 through 二.(一), 二.(二)) is covered, as `policy check` counts it
    covered = {c["id"] for c in clauses if c["encodings"] or c["reason"]}
    for c in clauses:
        c["by_parts"] = not c["encodings"] and not c["reason"] and any(i.startswith(c["id"] + ".") for i in covered)
    encoded = sum(1 for c in clauses if c["encodings"] or c["by_parts"])
    not_computable = sum(1 for c in clauses if not c["encodings"] and not c["by_parts"] and c["reason"])
    return {"version": x, "role": role, "clauses": clauses + extra, "checks": list(x.checks),
            "coverage": {"clauses": len(clauses), "encoded": encoded, "not_computable": not_computable,
                         "uncovered": len(clauses) - encoded - not_computable},
            "anchors": anchors}

"""The web pages without a browser: the claim form made from a schema, names linked in expressions, signed
session cookies, and, over HTTP against a real `policy serve`, sign-in, CSRF, roles and languages."""
from __future__ import annotations

import datetime as dt
import html as html_text
import json
import re
import time
from datetime import date

import pytest
from service_helpers import FIXTURES, JINHUA, TOKENS, ThreadServer, auth, copy_store, http, write_tokens

from engine.service.auth import Tokens
from engine.web import claimform, render
from engine.web.pages import _local
from engine.web.session import Sessions

SCHEMA = json.loads((FIXTURES / "schemas" / "training-claim.schema.json").read_text(encoding="utf-8"))
CLAIM = json.loads((FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0])


def _by_path(fields, found=None):
    found = {} if found is None else found
    for f in fields:
        found[f.path] = f
        _by_path(f.children, found)
    return found


def test_the_form_follows_the_schema():
    fields = _by_path(claimform.fields_of(SCHEMA))
    assert fields["applicant.sex"].kind == "select" and fields["applicant.sex"].options == ["male", "female"]
    assert fields["training.level"].options == ["junior", "intermediate", "senior"]  # through $ref
    assert fields["applied_on"].kind == "date" and fields["applied_on"].required
    assert fields["applicant.employed"].kind == "boolean"
    assert fields["applicant.female_retirement_base"].options == [50, 55]
    assert fields["training.hours"].kind == "integer"
    assert fields["history"].kind == "list"
    assert fields["applicant.social_insurance"].kind == "object" and not fields["applicant.social_insurance"].required


def test_the_form_gives_back_the_claim_it_was_filled_with():
    fields = claimform.fields_of(SCHEMA)
    claim, unreadable = claimform.claim_of(fields, claimform.flat_values(CLAIM))
    assert unreadable == {} and claim == CLAIM
    # an optional part left empty is not in the claim; text that is no number stays text, for the validator
    values = claimform.flat_values(CLAIM) | {"training.hours": "eighty", "history": "[1,"}
    claim, unreadable = claimform.claim_of(fields, values)
    assert claim["training"]["hours"] == "eighty" and "graduate" not in claim["applicant"]
    assert list(unreadable) == ["history"]


def test_problems_are_placed_by_the_input_their_path_names():
    fields = claimform.fields_of(SCHEMA)
    placed, elsewhere = claimform.errors_by_field(fields, [
        {"path": "applicant.hukou_region", "message": "bad region"},
        {"path": "history[2].level", "message": "bad level"},
        {"path": "training", "message": "training is required but missing"},
        {"path": "", "message": "the claim as a whole"}])
    assert placed == {"applicant.hukou_region": ["bad region"], "history": ["bad level"],
                      "training": ["training is required but missing"]}
    assert elsewhere == [{"path": "", "message": "the claim as a whole"}]


@pytest.mark.parametrize("as_of", [date(1, 1, 1), date(9999, 12, 31), None])
def test_a_timeline_spans_any_dates_of_the_calendar_with_few_year_ticks(as_of):
    rows = [{"from": "1978-06-02", "to": "2024-12-31", "issued_on": "1978-06-02", "href": "/a", "version": "a"},
            {"from": "2025-01-01", "to": None, "issued_on": "2024-09-13", "href": "/b", "version": "b"}]
    labels = {"title": "t", "issued": "i", "as_of": "as of", "open": "now"}
    svg = str(render.timeline_svg(rows, date(2026, 12, 7), [], as_of, labels))
    assert svg.startswith("<svg") and svg.count('class="axis"') <= 32  # at most 31 year ticks, and the as-of date


def test_names_in_an_expression_link_to_their_definitions_and_strings_stay_text():
    html = str(render.linked_expression('在金华(r) and x.y == "在金华" or retirement.retirement_date(d)',
                                        {"在金华": "d-a", "retirement.retirement_date": "d-b", "x": "d-x"}))
    assert '<a class="name" href="#d-a">在金华</a>(r)' in html
    assert '<span class="str">&#34;在金华&#34;</span>' in html
    assert '<a class="name" href="#d-b">retirement.retirement_date</a>' in html
    assert '<a class="name" href="#d-x">x</a>.y' in html
    assert "<script>" not in str(render.linked_expression("<script>", {}))


def test_a_session_cookie_is_signed_and_expires(tmp_path):
    tokens = Tokens.load(write_tokens(tmp_path))
    sessions = Sessions(b"k" * 32, tokens)
    session = sessions.sign_in(TOKENS["auditor"])
    assert TOKENS["auditor"] not in session.value  # the token's id, never the token
    assert sessions.caller(sessions.read(session.value)).roles == {"auditor"}
    who, expires, nonce, signature = session.value.split(".")
    assert sessions.read(f"{who}.{int(expires) + 1}.{nonce}.{signature}") is None  # changed: refused
    assert Sessions(b"o" * 32, tokens).read(session.value) is None  # another key
    past = f"{who}.{int(time.time()) - 1}.{nonce}"
    assert sessions.read(f"{past}.{sessions._sign(past)}") is None  # expired
    assert sessions.sign_in("not-a-token-of-this-service") is None
    assert sessions.csrf_ok(session, sessions.csrf(session)) and not sessions.csrf_ok(session, "x")


@pytest.mark.parametrize(("target", "goes"), [
    ("/decisions/1?x=2", "/decisions/1?x=2"), ("//evil.example/", "/policies"), ("https://evil.example/", "/policies"),
    (None, "/policies"), ("/\\evil", "/policies")])
def test_after_signing_in_only_a_path_of_this_site(target, goes):
    assert _local(target) == goes


# -- over HTTP ----------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _no_cookie_kept_between_tests():
    """The shared client keeps the cookies a page sets (the language chosen with ?lang=, a session): each test
    starts without them, as a new reader does, whichever test ran before it."""
    http.cookies.clear()
    yield
    http.cookies.clear()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-http")
    with ThreadServer(*copy_store(folder), f"sqlite:///{folder / 'log.sqlite3'}",
                      tokens=write_tokens(folder)) as running:
        yield running


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


@pytest.mark.slow
def test_signing_in_sets_a_session_and_forms_need_their_csrf_token(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=120) as browser:
        first = browser.get("/policies")
        assert first.status_code == 303 and first.headers["location"] == "/signin?next=%2Fpolicies"
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=lax" in first.headers["set-cookie"]
        form = browser.get("/signin")
        refused = browser.post("/signin", data={"token": TOKENS["auditor"], "csrf": "forged"})
        assert refused.status_code == 403 and "auth.csrf" in refused.text
        unknown = browser.post("/signin", data={"token": "x" * 20, "csrf": _csrf(form.text)})
        assert unknown.status_code == 401
        empty = browser.post("/signin?lang=en", data={"token": " ", "csrf": _csrf(form.text)})
        assert empty.status_code == 422 and "enter the token the service gave you" in empty.text
        signed = browser.post("/signin", data={"token": TOKENS["auditor"], "csrf": _csrf(form.text),
                                               "next": "/decisions"})
        assert signed.status_code == 303 and signed.headers["location"] == "/decisions"
        assert browser.get("/decisions").status_code == 200
        assert browser.get(f"/policies/{JINHUA}/try").status_code == 403  # the developer's page
        check = browser.get("/check")
        assert check.status_code == 403 and "officer" in check.text
        # an Authorization header that is no known token does not stand in for the form's token
        garbage = browser.post("/signin", data={"token": TOKENS["auditor"]}, headers={"Authorization": "garbage"})
        assert garbage.status_code == 403 and "auth.csrf" in garbage.text


def test_signing_out_ends_the_session_on_every_copy_of_its_cookie(server):
    """A cookie kept (or copied from a shared office computer) before signing out no longer opens a page."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=120) as browser:
        form = browser.get("/signin")
        assert browser.post("/signin", data={"token": TOKENS["officer"], "csrf": _csrf(form.text)}).status_code == 303
        kept = browser.cookies["policy_session"]
        page = browser.get("/check")
        assert page.status_code == 200
        # kept by no cache, the back-forward cache either: Back after signing out asks the service again
        assert page.headers["cache-control"] == "no-store"
        out = browser.post("/signout", data={"csrf": _csrf(page.text)})
        assert out.status_code == 303 and browser.cookies["policy_session"] != kept
    with httpx.Client(base_url=server.url, timeout=120, cookies={"policy_session": kept}) as copied:
        again = copied.get("/check")
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")
    # another session of the same token is not signed out with it
    with httpx.Client(base_url=server.url, timeout=120) as other:
        form = other.get("/signin")
        assert other.post("/signin", data={"token": TOKENS["officer"], "csrf": _csrf(form.text)}).status_code == 303
        assert other.get("/check").status_code == 200


def test_the_menu_offers_only_the_pages_the_reader_may_open(server):
    developer = http.get(f"{server.url}/policies", headers=auth("developer")).text
    assert 'href="/decisions"' not in developer and 'href="/check"' not in developer
    auditor = http.get(f"{server.url}/policies", headers=auth("auditor")).text
    assert 'href="/decisions"' in auditor and 'href="/check"' not in auditor
    admin = http.get(f"{server.url}/policies", headers=auth("admin")).text
    assert 'href="/decisions"' in admin and 'href="/check"' in admin
    # and the links of the pages: trying a claim is a developer's, an impact study an auditor's
    try_link, impact_link = f'href="/policies/{JINHUA}/try"', f'href="/policies/{JINHUA}/impact"'
    officer = http.get(f"{server.url}/policies", headers=auth("officer")).text
    assert try_link not in officer and impact_link not in officer
    assert try_link in developer and impact_link not in developer
    assert try_link not in auditor and impact_link in auditor
    assert try_link in admin and impact_link in admin
    for url in (f"/policies/{JINHUA}/timeline", f"/policies/{JINHUA}@2024-05-01"):
        shown = http.get(server.url + url, headers=auth("officer")).text
        assert try_link not in shown and impact_link not in shown, url


def test_a_browser_at_an_unknown_address_gets_a_page_and_an_api_client_json(server):
    page = http.get(f"{server.url}/nope", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "request.route" in page.text and "没有这个路径" in page.text  # the pages' language: Chinese by default
    wrong = http.get(f"{server.url}/signout?lang=en", headers={"Accept": "text/html"})
    assert wrong.status_code == 405 and "this route does not take that method" in wrong.text
    assert "Allow" in wrong.headers
    api = http.get(f"{server.url}/v1/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "request.route"
    # the menu of the error page is the reader's: an auditor's links, not a visitor's
    known = http.get(f"{server.url}/nope", headers=auth("auditor") | {"Accept": "text/html"})
    assert known.status_code == 404 and 'href="/decisions"' in known.text and 'href="/check"' not in known.text


def test_the_language_link_of_a_forms_answer_goes_to_the_page_the_form_was_on(server):
    page = http.post(f"{server.url}/check?lang=en", headers=auth("officer") | {"Referer": f"{server.url}/check"},
                     data={"draft": "policy: x\n", "path": "draft.yaml"})
    assert 'href="/check?lang=zh"' in page.text


def test_a_pasted_text_larger_than_a_form_field_may_be_is_a_413_page(server):
    """Not "the page failed" (500): Starlette's limit of a field, raised through python-multipart."""
    page = http.post(f"{server.url}/check?lang=en", headers=auth("officer"),
                     data={"draft": "a" * (4 * 1024 * 1024 + 1), "path": "draft.yaml"})
    assert page.status_code == 413 and "request.too_large" in page.text
    assert "a text pasted into it may be up to 4,194,304 bytes; upload a larger file instead" in page.text
    tried = http.post(f"{server.url}/policies/{JINHUA}/try?lang=zh", headers=auth("developer"),
                      data={"claim_text": "a" * (4 * 1024 * 1024 + 1)})
    assert tried.status_code == 413 and "无法读取表单：粘贴的文字最多 4,194,304 字节" in tried.text
    assert "上传" not in tried.text.split('role="alert"')[1].split("</p>")[0]  # no upload on that form
    fits = http.post(f"{server.url}/check?lang=en", headers=auth("officer"),
                     data={"draft": "#" + "a" * (2 * 1024 * 1024), "path": "draft.yaml"})
    assert fits.status_code == 200  # a draft larger than Starlette's 1 MiB default is read


@pytest.mark.slow
def test_pages_take_the_bearer_token_as_the_api_does(server):
    assert http.get(f"{server.url}/policies", headers=auth("developer")).status_code == 200
    page = http.post(f"{server.url}/policies/{JINHUA}/try", headers=auth("developer"),
                     data={"claim_text": json.dumps(CLAIM)})
    assert page.status_code == 200 and "2200 CNY" in page.text
    decision_id = re.search(r"/decisions/([0-9a-f-]{36})", page.text).group(1)
    logged = http.get(f"{server.url}/v1/decisions/{decision_id}", headers=auth("auditor")).json()
    assert logged["claim_id"] == CLAIM["claim_id"]  # the page's decision is in the log, as the API's are
    assert http.get(f"{server.url}/policies", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.slow
def test_messages_on_a_chinese_page_are_chinese(server):
    """What the engine says about a claim, a date or a version, shown on a page, in the page's language (the JSON of
    the API keeps its English)."""
    claim = {k: v for k, v in CLAIM.items() if k != "applicant"}
    page = http.post(f"{server.url}/policies/{JINHUA}/try?lang=zh", headers=auth("developer"),
                     data={"claim_text": json.dumps(claim)})
    assert "缺少必填的 applicant" in page.text and "is required but missing" not in page.text
    bad = http.get(f"{server.url}/policies/{JINHUA}/timeline?as_of=2024/05/01&lang=zh", headers=auth("auditor"))
    assert bad.status_code == 422 and "不是" in bad.text and "is not a calendar date" not in bad.text
    unknown = http.get(f"{server.url}/policies/{JINHUA}/diff?from=@2099-01-01&to=2025-06-01&lang=zh",
                       headers=auth("auditor"))
    assert unknown.status_code == 404 and "has no version" not in unknown.text


@pytest.mark.slow
def test_a_version_page_counts_the_clauses_as_policy_check_does(server):
    """Jinhua's 二 is encoded through 二.(一) and 二.(二): `policy check` finds every clause covered; so does the
    page."""
    page = http.get(f"{server.url}/policies/{JINHUA}@2024-05-01?lang=zh", headers=auth("auditor"))
    assert page.status_code == 200
    assert re.search(r"12 条中 \d+ 条已编码，\d+ 条不可计算，0 条两者皆无", page.text), \
        re.findall(r"12 条中[^<]*", page.text)
    assert "由其下各项（二.…）编码" in page.text


@pytest.mark.slow
@pytest.mark.parametrize("side", ["2024/05/01", "@2099-01-01", "2000-01-01"])
def test_a_bad_side_of_an_impact_keeps_the_form_and_says_why(server, side):
    """A date that is none, a version that does not exist, a day no version is in force: said above the form, with
    the pasted claims still there to correct and send again (not an error page that loses them)."""
    claims = (FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0]
    page = http.post(f"{server.url}/policies/{JINHUA}/impact?lang=zh", headers=auth("auditor"),
                     data={"from": side, "to": "2025-06-01", "claims_text": claims})
    assert page.status_code in (404, 422) and "FICT-JH-01" in page.text and 'class="error"' in page.text
    assert "Traceback" not in page.text and "页面出错" not in page.text


@pytest.mark.slow
def test_a_bad_date_on_the_try_page_keeps_the_claim(server):
    page = http.post(f"{server.url}/policies/{JINHUA}/try?lang=zh", headers=auth("developer"),
                     data={"claim_text": json.dumps(CLAIM), "as_of": "2024/06/15"})
    assert page.status_code == 422 and CLAIM["claim_id"] in page.text and "as_of" in page.text
    assert "<code>as_of</code>: " in page.text and "</code>: as_of" not in page.text  # its name once, not twice


@pytest.mark.slow
def test_no_policy_in_force_on_the_try_page_is_the_decisions_answer_not_an_invalid_claim(server):
    page = http.post(f"{server.url}/policies/{JINHUA}/try?lang=en", headers=auth("developer"),
                     data={"claim_text": json.dumps(CLAIM), "as_of": "1900-01-01"})
    assert page.status_code == 200 and "<code>policy.not_in_force</code>" in page.text
    assert "The claim is invalid" not in page.text


def test_a_pasted_claim_that_is_no_yaml_is_said_with_its_place_above_the_form_too(server):
    page = http.post(f"{server.url}/policies/{JINHUA}/try?lang=zh", headers=auth("developer"),
                     data={"claim_text": "claim_id: ["})
    summary = page.text.split('id="claim-errors"')[1].split("</div>")[0]
    assert page.status_code == 422 and "第 1 行第 11 列" in summary and "[ 在本行没有闭合" in summary, summary


def test_a_paste_that_is_no_claim_is_said_at_the_box_and_logs_nothing(server):
    """Logged, it could never be verified (the log keeps no text it can read again): it is the form's mistake."""
    before = http.get(f"{server.url}/v1/decisions", headers=auth("auditor"), params={"limit": 1000}).json()
    page = http.post(f"{server.url}/policies/{JINHUA}/try?lang=en", headers=auth("developer"),
                     data={"claim_text": "{{{"})
    assert page.status_code == 422 and "{{{" in page.text and "claim." in page.text
    after = http.get(f"{server.url}/v1/decisions", headers=auth("auditor"), params={"limit": 1000}).json()
    assert len(after["decisions"]) == len(before["decisions"])


@pytest.mark.slow
def test_languages_and_unknown_things(server):
    zh = http.get(f"{server.url}/policies", headers=auth("auditor"))
    assert '<html lang="zh-CN">' in zh.text and "<h1>政策</h1>" in zh.text
    en = http.get(f"{server.url}/policies?lang=en", headers=auth("auditor"))
    assert '<html lang="en">' in en.text and "<h1>Policies</h1>" in en.text
    assert "policy_lang=en" in en.headers["set-cookie"]
    missing = http.get(f"{server.url}/policies/no/such@1", headers=auth("auditor"))
    assert missing.status_code == 404 and "request.unknown_policy" in missing.text
    bad_date = http.get(f"{server.url}/policies/{JINHUA}/diff?from=2024-13-01&to=2025-01-01", headers=auth("auditor"))
    assert bad_date.status_code == 422 and "from" in bad_date.text
    assert http.get(f"{server.url}/static/app.css").status_code == 200
    paths = http.get(f"{server.url}/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/health", "/ready", "/metrics"))]  # pages: no API


@pytest.mark.slow
def test_without_tokens_the_pages_need_no_sign_in(tmp_path):
    with ThreadServer(*copy_store(tmp_path), f"sqlite:///{tmp_path / 'log.sqlite3'}") as running:
        page = http.get(f"{running.url}/policies")
        assert page.status_code == 200 and JINHUA in page.text
        assert "退出" not in page.text  # nobody to sign out
        signin = http.get(f"{running.url}/signin", params={"next": "/decisions"})  # and nothing to sign in to
        assert signin.status_code == 303 and signin.headers["location"] == "/decisions"


@pytest.mark.slow
def test_without_tokens_another_site_can_neither_change_nor_read_anything(tmp_path):
    """Without tokens every caller has every role: a page of another site posting to the service (a hidden form,
    fetch()) and a name of another site resolving to 127.0.0.1 (DNS rebinding) must not pass for a local program."""
    with ThreadServer(*copy_store(tmp_path), f"sqlite:///{tmp_path / 'log.sqlite3'}") as running:
        body = {"policy": JINHUA, "claim": CLAIM, "explain": False}
        evaluate = running.url + "/v1/evaluate"
        posted = http.post(evaluate, content=json.dumps(body), headers={"Content-Type": "text/plain",
                                                                        "Origin": "https://elsewhere.example"})
        assert posted.status_code == 403 and posted.json()["error"]["code"] == "auth.origin"
        assert posted.json()["error"]["field"] == "Origin"
        assert http.get(f"{running.url}/v1/decisions?limit=5").json()["decisions"] == []  # nothing was decided
        rebound = http.get(f"{running.url}/v1/decisions?limit=5", headers={"Host": "elsewhere.example:8000"})
        assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "auth.host"
        page = http.get(f"{running.url}/policies", headers={"Host": "elsewhere.example", "Accept": "text/html"})
        assert page.status_code == 403 and "elsewhere.example" in page.text and JINHUA not in page.text
        assert page.headers["content-type"].startswith("text/html") and "auth.host" in page.text  # a page to read
        # programs send no Origin; the service's own pages send their own; loopback is reached by any of its names
        assert http.post(evaluate, json=body).status_code == 200
        assert http.post(evaluate, json=body, headers={"Origin": running.url}).status_code == 200
        for host in (f"localhost:{running.port}", f"127.0.0.1:{running.port}", "[::1]:8000", "LOCALHOST"):
            assert http.get(f"{running.url}/v1/policies", headers={"Host": host}).status_code == 200, host


@pytest.mark.slow
def test_with_tokens_a_known_token_is_enough_from_anywhere(server):
    """A bearer token, which no other site's page can send, guards every route: Origin and Host are not asked."""
    answer = http.get(f"{server.url}/v1/policies", headers=auth("admin") | {"Host": "decisions.office.example",
                                                                            "Origin": "https://tools.office.example"})
    assert answer.status_code == 200


@pytest.mark.slow
def test_every_page_of_every_fixture_policy_answers(server):
    """Each version, timeline and diff of the fixture store renders (a new kind of item must not break a page),
    with ids of its own: each link within the page goes to the one element it names (an item citing two clauses,
    a table and an output of one name)."""
    failures = []
    for policy in http.get(f"{server.url}/v1/policies", headers=auth("admin")).json():
        pid, versions = policy["id"], policy["versions"]
        urls = [f"/policies/{pid}/timeline?as_of=2025-06-01", f"/policies/{pid}/timeline?as_of=0001-01-01",
                f"/policies/{pid}/timeline?as_of=9999-12-31",  # the calendar's ends, as any other day
                f"/policies/{pid}/diff?from=@{versions[0]}&to=@{versions[-1]}"]
        urls += [f"/policies/{pid}@{v}" for v in versions]
        for url in urls:
            page = http.get(server.url + url, headers=auth("admin"))
            if page.status_code != 200:
                failures.append((url, page.status_code))
            ids = re.findall(r' id="([^"]+)"', page.text)
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            dangling = sorted(set(re.findall(r'href="#([^"]+)"', page.text)) - set(ids))
            if repeated or dangling:
                failures.append((url, repeated, dangling))
    assert failures == []


@pytest.mark.slow
def test_two_policies_side_by_side(server):
    page = http.get(f"{server.url}/compare", headers=auth("auditor"), params={
        "left": f"{JINHUA}@2024-05-01", "right": "wenzhou/digital-engineer-subsidy", "on": "2024-10-01"})
    assert page.status_code == 200
    assert f"{JINHUA}@2024-05-01 ↔ wenzhou/digital-engineer-subsidy@2024-09-01" in page.text
    assert 'class="changed"' in page.text  # their clauses differ
    undated = http.get(f"{server.url}/compare", headers=auth("auditor"), params={"left": JINHUA, "right": JINHUA})
    assert undated.status_code == 422


def test_an_uploaded_line_with_a_carriage_return_inside_is_one_claim(server):
    """JSON allows a carriage return between tokens: the upload is read as `policy impact` reads a file."""
    lines = (FIXTURES / "claims.jsonl").read_bytes().splitlines(keepends=True)[:2]
    lines[0] = lines[0].replace(b'","', b'",\r"', 1)
    response = http.post(f"{server.url}/policies/{JINHUA}/impact", headers=auth("auditor"),
                         data={"from": "2025-02-01", "to": "2025-04-01"},
                         files={"claims": ("claims.jsonl", b"".join(lines), "application/x-ndjson")})
    assert response.status_code == 200
    assert "<strong>2</strong>" in response.text and "<strong>3</strong>" not in response.text


@pytest.mark.slow
@pytest.mark.parametrize("sides", [("@2024-05-01", "2025-04-01"), ("2024-06-01", "@2024-05-01")])
def test_the_impact_page_reports_what_policy_impact_reports(server, capsys, sides):
    """A side pinned with @VERSION is the policy's own version, what it refers to taken on each claim's date, on
    the page as on the command line; and the page says in words what the command line says."""
    from clirun import invoke

    claims = FIXTURES / "claims.jsonl"
    code, out, _ = invoke(capsys, "--policies", FIXTURES / "store", "--schemas", FIXTURES / "schemas", "impact",
                          JINHUA, claims, "--from", sides[0], "--to", sides[1], "--format", "json")
    expected = json.loads(out)
    page = http.post(f"{server.url}/policies/{JINHUA}/impact?lang=zh", headers=auth("auditor"),
                     data={"from": sides[0], "to": sides[1]},
                     files={"claims": ("claims.jsonl", claims.read_bytes(), "application/x-ndjson")}).text
    assert re.search(r"决定有变化: <strong>(\d+)</strong>", page).group(1) == str(expected["changed"])
    total = expected["total_amount"]
    signed = total["difference"] if total["difference"].startswith("-") else f"+{total['difference']}"
    assert f"{total['before']} → {total['after']} ({signed})" in page  # the sign says which way it went
    # the chart labels each total as exactly as the words do (not 3.1311e+06)
    assert f'class="value">{total["before"]}</text>' in page and f'class="value">{total["after"]}</text>' in page
    for rule_id in expected["rules"]:
        assert f"<code>{rule_id}</code>" in page
    # words, not the report's JSON: no dictionaries and no English keys in the Chinese page
    assert "{" not in page.split('id="impact-title"')[1].split("</section>")[0]
    assert not re.search(r"amount_changed_by|rules_changed|decision_changed|amount_difference", page)


@pytest.mark.slow
@pytest.mark.parametrize("sides, status, said", [
    ({"from": "2020-01-01", "to": "2025-01-01"}, 404, "from: jinhua/digital-engineer-subsidy has no version in force "
                                                       "on 2020-01-01"),
    ({"from": "2024-6-1", "to": "x"}, 422, "to: 'x' is not a calendar date"),  # both sides said, not the first only
])
def test_a_comparison_that_cannot_be_made_is_said_on_the_timeline_keeping_what_was_typed(server, sides, status, said):
    page = http.get(f"{server.url}/policies/{JINHUA}/diff", params=sides | {"lang": "en"},
                    headers=auth("auditor") | {"Accept": "text/html"})
    text = html_text.unescape(page.text)
    assert page.status_code == status and said in text
    assert "Compare two dates or versions" in text  # the timeline page, with its form
    for name, value in sides.items():
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', page.text), name
    if sides["to"] == "x":
        assert "from: '2024-6-1' is not a calendar date written YYYY-MM-DD; write it 2024-06-01" in text


@pytest.mark.slow
def test_a_day_that_is_none_on_the_timeline_is_said_above_its_form(server):
    page = http.get(f"{server.url}/policies/{JINHUA}/timeline", params={"as_of": "2024-02-30", "lang": "en"},
                    headers=auth("auditor") | {"Accept": "text/html"})
    assert page.status_code == 422 and "2024-02 has 29 days" in page.text and "Versions of" in page.text


@pytest.mark.slow
def test_a_claim_id_with_a_right_to_left_mark_turns_nothing_around_it(server):
    """U+202E in a claim's id would show the rest of the heading, or of the log's row, reversed: an auditor could
    read another id. Text of the claim is isolated."""
    claim = dict(CLAIM, claim_id="RTL-\u202e-1")
    decided = http.post(f"{server.url}/v1/evaluate", headers=auth("developer"),
                        json={"policy": JINHUA, "claim": claim, "explain": False}).json()
    page = http.get(f"{server.url}/decisions/{decided['decision_id']}", headers=auth("auditor")).text
    assert "<bdi>RTL-\u202e-1</bdi>" in page
    listed = http.get(f"{server.url}/decisions?claim_id=RTL-%E2%80%AE-1", headers=auth("auditor")).text
    assert "<td><bdi>RTL-\u202e-1</bdi></td>" in listed


@pytest.mark.slow
def test_the_impact_page_shows_the_claims_neither_version_could_decide(server):
    """As `policy impact` lists them: a report of only unreadable claims must not read as "nothing changes"."""
    good = (FIXTURES / "claims.jsonl").read_bytes().splitlines(keepends=True)[0]
    response = http.post(f"{server.url}/policies/{JINHUA}/impact?lang=zh", headers=auth("auditor"),
                         data={"from": "2024-06-01", "to": "2025-06-01", "claims_text": "not json\n[1]\n"
                               + good.decode() + good.decode()})
    assert response.status_code == 200
    assert "2 份申请在两个版本下都无法判定" in response.text
    assert response.text.count("claim.json") >= 2 and "<stdin>" not in response.text
    assert "FICT-JH-01: &lt;upload&gt;:3, &lt;upload&gt;:4" in response.text  # the id given twice, and where


@pytest.mark.slow
def test_impact_of_a_large_upload_streams_progress_then_the_report(server):
    claims = (FIXTURES / "claims.jsonl").read_bytes() * 100  # 3000 claims
    page = http.get(f"{server.url}/policies/{JINHUA}/impact", headers=auth("auditor"))
    assert page.status_code == 200
    with http.stream("POST", f"{server.url}/policies/{JINHUA}/impact", headers=auth("auditor"),
                     data={"from": "2025-02-01", "to": "2025-04-01"},
                     files={"claims": ("claims.jsonl", claims, "application/x-ndjson")}) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert "<strong>3000</strong>" in text and text.rstrip().endswith("</html>")
    progress = [int(n) for n in re.findall(r'class="progress-line" role="status">已决定 (\d+) / 3000', text)]
    assert progress == sorted(progress)  # a line every half second while it decides, the report after them
    assert not progress or progress[-1] == 3000  # the last line left on the page says the end
    assert text.index("</svg>") > (text.rindex("progress-line") if progress else 0)


@pytest.mark.slow
def test_an_unchanged_version_pasted_without_a_path_checks_clean(server):
    """The check page puts a draft where its own policy: and version: say (in place of the store's file), as the
    API does: no file.misplaced, version.duplicate or version.overlap for a file that is right."""
    draft = (FIXTURES / "store" / "jinhua" / "digital-engineer-subsidy" / "2024-05-01.yaml").read_text(encoding="utf-8")
    page = http.post(f"{server.url}/check", headers=auth("officer"), data={"draft": draft, "path": ""})
    assert page.status_code == 200
    assert not re.search(r"file\.misplaced|version\.duplicate|version\.overlap", page.text)
    assert 'value="jinhua/digital-engineer-subsidy/2024-05-01.yaml"' in page.text  # where it was checked


@pytest.mark.slow
def test_an_empty_draft_is_said_without_a_line_zero(server):
    page = http.post(f"{server.url}/check?lang=zh", headers=auth("officer"), data={"draft": "", "path": ""})
    assert "input.empty" in page.text and "第 0 行" not in page.text and "#line-0" not in page.text


def test_a_draft_with_a_pasted_line_separator_marks_the_line_an_editor_shows(server):
    """U+2028 in a quoted title (pasted from a PDF) ends a line for YAML and for str.splitlines, not in an editor:
    the finding and the marked line of the draft are both the editor's line 7."""
    draft = ('policy: jinhua/draft\nversion: "2026-01-01"\ntitle: "金华\u2028草案"\nrules:\n  - id: a\n'
             "    clause: 一\n      require: x\n")
    page = http.post(f"{server.url}/check", headers=auth("officer"), data={"draft": draft, "path": "draft.yaml"})
    assert page.status_code == 200
    marked = re.findall(r'<tr id="line-(\d+)" class="marked"><td class="ln">\d+</td><td><pre><mark>([^<]*)</mark>',
                        page.text)
    assert marked == [("7", "      require: x")]


@pytest.mark.slow
def test_the_log_pages_show_policy_amount_caller_and_what_today_would_decide(tmp_path):
    """A decision logged while a province version was missing, verified after it came back: the page says what
    `policy verify` says, in the page's language, and the log's list and page show what the log holds."""
    policies, schemas = copy_store(tmp_path)
    later = policies / "zhejiang" / "digital-engineer" / "2025-03-01.yaml"
    kept = later.read_bytes()
    later.unlink()
    claim = json.loads((FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[3])
    with ThreadServer(policies, schemas, f"sqlite:///{tmp_path / 'log.sqlite3'}",
                      tokens=write_tokens(tmp_path)) as running:
        decided = http.post(f"{running.url}/v1/evaluate", headers=auth("developer"),
                            json={"policy": JINHUA, "claim": claim}).json()
        decision_id, amount = decided["decision_id"], decided["amount"]
        listed = http.get(f"{running.url}/decisions?lang=en", headers=auth("auditor")).text
        row = re.search(rf'<tr><td><a href="/decisions/{decision_id}">.*?</tr>', listed, re.S).group(0)
        assert f"{JINHUA}@2024-05-01" in row and f"{amount} CNY" in row
        page = http.get(f"{running.url}/decisions/{decision_id}?lang=en", headers=auth("auditor")).text
        assert re.search(r"<dt>Caller</dt><dd>developer \(\w+\)</dd>", page)
        assert re.search(rf"<dt>Asked for</dt><dd><code>{JINHUA}</code></dd>", page)
        # what was asked for says why the versions are what they are: a decision as of a day, with known-on
        asked = http.post(f"{running.url}/v1/evaluate", headers=auth("developer"), json={
            "policy": JINHUA, "claim": claim, "as_of": "2025-03-02", "known_on": "2025-02-09"}).json()
        page = http.get(f"{running.url}/decisions/{asked['decision_id']}?lang=en", headers=auth("auditor")).text
        assert (f"<code>{JINHUA}</code>; decided as of 2025-03-02; with the versions known on 2025-02-09 "
                "(--known-on)") in page
        # a policy that takes no claims (it declares no input) links to no page that would decide one
        for url in ("/policies/china/retirement-age/timeline", "/policies/china/retirement-age@1978-06-02"):
            shown = http.get(f"{running.url}{url}", headers=auth("auditor")).text
            assert "/try" not in shown and "/impact" not in shown, url
        assert f"/policies/{JINHUA}/impact" in http.get(f"{running.url}/policies/{JINHUA}/timeline",
                                                        headers=auth("auditor")).text
        later.write_bytes(kept)
        assert http.post(f"{running.url}/v1/admin/reload", headers=auth("admin")).status_code == 200
        verified = http.post(f"{running.url}/decisions/{decision_id}/verify?lang=zh", headers=auth("auditor"))
        api = http.post(f"{running.url}/v1/decisions/{decision_id}/verify", headers=auth("auditor")).json()
    assert verified.status_code == 200 and api["status"] == "reproduced" and api["today"]["changes"]
    # checked against the load made by the reload above, which worked
    assert api["policies"]["reload_failed"] is False
    assert dt.datetime.fromisoformat(api["policies"]["loaded_at"]) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    section = re.search(r'<section class="verified.*?</section>', verified.text, re.S).group(0)
    assert "已复现" in section and "按今天的政策库，决定会不同" in section
    assert "zhejiang/digital-engineer@2025-03-01" in section
    assert "recorded" not in section.split("<details>")[0]  # the lines in Chinese, as `policy verify` says them


def test_the_timeline_page_shows_a_repeal_without_a_version_link(tmp_path):
    policies, schemas = copy_store(tmp_path)
    (policies / JINHUA / "2026-01-01.yaml").write_text(
        f'policy: {JINHUA}\nversion: "2026-01-01"\ntitle: 关于废止的通知\nrepeals: true\n'
        "effective:\n  from: 2026-01-01\nissued_on: 2025-12-01\n"
        "source:\n  number: 金人社发〔2025〕9号（虚构）\n  title: 关于废止的通知\n"
        "  issuers: [金华市人力资源和社会保障局]\n  clauses:\n    一: 自2026年1月1日起废止。\n", encoding="utf-8")
    with ThreadServer(policies, schemas, f"sqlite:///{tmp_path / 'log.sqlite3'}") as running:
        page = http.get(f"{running.url}/policies/{JINHUA}/timeline?lang=en&as_of=2026-02-01")
        rows = http.get(f"{running.url}/v1/policies/{JINHUA}/timeline").json()
        version_page = http.get(f"{running.url}/policies/{JINHUA}@2026-01-01?lang=en")
        listed = http.get(f"{running.url}/policies?lang=en").text  # today is after the repeal
    assert page.status_code == 200
    row = re.search(r'<tr class="repeal">.*?</tr>', page.text, re.S).group(0)
    assert "repealed from" in row and "2026-01-01" in row and "<a " not in row
    assert 'class="repeal"><title>repealed from 2026-01-01</title>' in page.text  # its mark on the chart
    assert f'href="/policies/{JINHUA}@2026-01-01"' not in page.text
    assert "No version in force on 2026-02-01" in page.text
    assert [(r["version"], r["to"], r.get("repeals", False)) for r in rows] == [
        ("2024-05-01", "2025-12-31", False), ("2026-01-01", None, True)]
    assert version_page.status_code == 404 and "is a repeal" in version_page.text
    row = re.search(rf'<tr>\s*<th scope="row"><a href="/policies/{JINHUA}/timeline">.*?</tr>', listed, re.S).group(0)
    assert "repeal from 2026-01-01" in row and "none: repealed from 2026-01-01" in row
    assert "@2026-01-01" not in row  # a repeal has no version page to go to


@pytest.mark.slow
def test_a_search_for_a_policy_the_store_never_had_says_so_beside_the_form(server):
    """An empty list under a misspelt id would read as "nothing was decided under it"."""
    page = http.get(f"{server.url}/decisions", params={"policy": JINHUA + "x", "lang": "zh"},
                    headers=auth("auditor"))
    assert page.status_code == 200 and f'value="{JINHUA}x"' in page.text
    said = r'<p class="error" role="alert">日志中没有 .* 的决定，政策库中也没有这项政策'
    assert re.search(said, page.text), page.text
    quiet = http.get(f"{server.url}/decisions", params={"policy": "china/retirement-age", "lang": "en"},
                     headers=auth("auditor"))
    assert "No decision matches." in quiet.text and 'role="alert"' not in quiet.text


def test_the_check_page_names_the_line_column_and_clause_of_each_finding(server):
    """As `policy check` does: an officer looks for the column, and for the clause the rule encodes."""
    text = (FIXTURES / "store" / "jinhua" / "digital-engineer-subsidy" / "2024-05-01.yaml").read_text(encoding="utf-8")
    rule = text.index("  - id: ", text.index("\nrules:"))
    require = text.index("    require: ", rule) + len("    require: ")
    broken = text[:require] + "misspelt_name and " + text[require:]
    page = http.post(f"{server.url}/check?lang=zh", headers=auth("officer"),
                     data={"draft": broken, "path": "jinhua/digital-engineer-subsidy/2024-05-01.yaml"})
    line = broken[:require].count("\n") + 1
    assert re.search(rf"第 {line} 行第 14 列（条款 [^）]+）: 未知的名称 &#39;misspelt_name&#39;", page.text), page.text


@pytest.mark.slow
def test_the_log_page_goes_on_to_the_next_page_with_its_filters(server):
    """A page of 100: the newest decisions must be reachable without knowing their claim id."""
    marker = f"PAGES-{time.time_ns()}"
    body = b"".join(json.dumps(dict(CLAIM, claim_id=marker)).encode() + b"\n" for _ in range(101))
    decided = http.post(f"{server.url}/v1/evaluate:batch", params={"policy": JINHUA, "explain": "false"},
                        content=body, headers=auth("developer"), timeout=120)
    assert decided.status_code == 200
    first = http.get(f"{server.url}/decisions", params={"claim_id": marker, "lang": "en"}, headers=auth("auditor"))
    assert first.text.count(f"<bdi>{marker}</bdi>") == 100
    more = re.search(r'<a href="([^"]+)" rel="next">Next 100 decisions', first.text).group(1).replace("&amp;", "&")
    assert f"claim_id={marker}" in more
    second = http.get(server.url + more, headers=auth("auditor"))
    assert second.text.count(f"<bdi>{marker}</bdi>") == 1 and 'rel="next"' not in second.text
    bad = http.get(f"{server.url}/decisions", params={"after": "-1"}, headers=auth("auditor"))
    assert bad.status_code == 422

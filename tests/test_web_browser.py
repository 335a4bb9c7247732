"""The web pages in a real browser (Debian's chromium, headless, through Playwright) against a real
`policy serve` on a loopback port: what a person does, click by click, with a screenshot of each page."""
from __future__ import annotations

import json
import re

import pytest
from service_helpers import FIXTURES, JINHUA, TOKENS, ThreadServer, copy_store, write_tokens
from web_helpers import need_chromium, screenshots

pytestmark = pytest.mark.slow  # a server and a browser: seconds to start

CLAIM = json.loads((FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0])  # FICT-JH-01: eligible
WENZHOU = "wenzhou/digital-engineer-subsidy"
BROKEN = ("policy: jinhua/draft\nversion: \"2026-01-01\"\nrules:\n  - id: a\n    clause: 一\n      require: x\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    with ThreadServer(*copy_store(folder), f"sqlite:///{folder / 'log.sqlite3'}",
                      tokens=write_tokens(folder)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    executable = need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--lang=zh-CN"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return screenshots(tmp_path_factory.mktemp("screenshots"))


# The session cookies of each role, once it has signed in through the form here.
_SESSIONS: dict[str, list] = {}


@pytest.fixture(scope="module")
def tab(browser, server):
    """One page of one browser context for the module: a new page costs a renderer process (a quarter of a second
    of a test's time); each test starts it afresh from no cookies (`page`)."""
    context = browser.new_context(base_url=server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)  # a loaded machine
    opened = context.new_page()
    _SESSIONS.clear()  # sessions signed by another server's key
    yield opened
    context.close()


@pytest.fixture
def page(tab):
    """The module's page, signed out and with no language chosen: no cookie of a test before (each test's first step
    loads a page)."""
    tab.context.clear_cookies()
    return tab


def sign_in(page, role: str = "admin") -> None:
    """Signed in as `role` on the page of the policies. The first time by the form, as a person signs in; then with
    the session cookie that gave (signed by the server, read again on every request), which is what the browser
    keeps between pages anyway."""
    if role in _SESSIONS:
        page.context.add_cookies(_SESSIONS[role])
        page.goto("/policies")
        assert page.get_by_role("heading", name="政策", exact=True).is_visible()
        return
    page.goto("/signin")
    page.get_by_label("令牌").fill(TOKENS[role])
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/policies$"))
    _SESSIONS[role] = page.context.cookies()


def test_signing_in_opens_the_policies_in_chinese(page, shots):
    page.goto("/policies")
    assert "/signin" in page.url  # not signed in: sent to sign in, and back afterwards
    page.get_by_label("令牌").fill("not-a-token-of-this-service")
    page.locator("main").get_by_role("button", name="登录").click()
    assert page.locator("#token-error").is_visible()
    page.get_by_label("令牌").fill(TOKENS["auditor"])
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/policies$"))
    assert page.get_by_role("heading", name="政策", exact=True).is_visible()
    assert page.get_by_role("link", name=JINHUA).first.is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "policy_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.screenshot(path=str(shots / "policies.png"))


def test_a_version_shows_each_clause_beside_what_encodes_it(page, shots):
    sign_in(page)
    page.goto(f"/policies/{JINHUA}@2024-05-01?as_of=2024-06-15")
    clause = page.locator(".clause", has=page.locator("h3", has_text=re.compile("^四$"))).first
    assert "相关专业技术等级证书核发之日起12个月内" in clause.locator(".text").inner_text()
    assert "within_deadline" in clause.locator(".encoding").inner_text()
    assert page.locator("code.digest").first.inner_text().startswith("sha256:")
    assert "条款覆盖" in page.locator(".coverage").first.inner_text()
    # the provincial document it extends, with its amount table as a table
    assert page.locator("table.data.small th", has_text="amount").count() >= 1
    # a name in an expression links to its definition
    clause.get_by_role("link", name="claim_deadline").first.click()
    assert page.url.endswith("claim_deadline")
    assert page.locator(".item:target").inner_text().startswith("定义")
    page.goto(f"/policies/{JINHUA}@2024-05-01?as_of=2024-06-15")
    page.screenshot(path=str(shots / "version.png"))


def test_a_timeline_two_dates_and_the_changed_cell(page, shots):
    sign_in(page)
    page.get_by_role("link", name=JINHUA).first.click()
    page.wait_for_url(re.compile("/timeline"))
    page.get_by_label("截至日期", exact=True).fill("2025-06-01")
    page.get_by_role("button", name="显示", exact=True).click()
    assert "2025-06-01 有效" in page.locator("p.status").inner_text()
    assert page.locator("svg.timeline").is_visible()
    page.screenshot(path=str(shots / "timeline.png"), full_page=True)
    page.get_by_label("从（日期或 @版本）").fill("2024-06-01")
    page.get_by_label("到（日期或 @版本）").fill("2025-06-01")
    page.get_by_role("button", name="显示差异").click()
    page.wait_for_url(re.compile("/diff"))
    # the city's own file is unchanged; the province it extends changed the blockchain junior amount
    cell = page.locator("table.diff tr", has_text="2-02-10-15, junior").filter(has_text="amount").first
    assert cell.locator("del").inner_text() == "2200" and cell.locator("ins").inner_text() == "2500"
    assert page.locator("h2", has_text="所依据的政策：zhejiang/digital-engineer").is_visible()
    assert page.locator("table.diff tr.added").count() >= 1  # the second batch's rows
    cell.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "diff.png"))


def test_two_cities_transpositions_side_by_side_on_a_date(page, shots):
    sign_in(page, "auditor")
    page.get_by_label("政策（ID 或 ID@版本）", exact=True).fill(JINHUA)
    page.get_by_label("另一项政策（ID 或 ID@版本）").fill(WENZHOU)
    page.get_by_label("日期（用于未写 @版本 的 ID）").fill("2025-06-01")
    page.get_by_role("button", name="显示差异").click()
    page.wait_for_url(re.compile("/compare"))
    # each policy as in force on that day
    assert page.locator("h1").inner_text().endswith(f"{JINHUA}@2024-05-01 ↔ {WENZHOU}@2024-09-01")
    # the deadline the two cities set differently: 12 months in Jinhua, 6 in Wenzhou
    cell = page.locator("table.diff tr.changed", has_text="claim_deadline").filter(has_text="expr").first
    assert cell.locator("del").inner_text() == "add_months(level_certificate.issued_on, 12)"
    assert cell.locator("ins").inner_text() == "add_months(level_certificate.issued_on, 6)"
    clause = page.locator("section.clause-changes", has=cell)
    assert "核发之日起6个月内" in clause.locator("blockquote.clause-text").inner_text()  # as Wenzhou has it
    assert page.locator("table.diff tr.removed th", has_text="在金华参保").count() == 1
    assert page.locator("table.diff tr.added th", has_text="在温州参保").count() == 1
    cell.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "compare.png"))


def fill_claim(page, claim: dict, prefix: str = "") -> None:
    """Each field of the form filled with the claim's value, or its choice chosen, as a person does."""
    # Which fields are choices, read from the page at once (a question to the page per field cost a second).
    choices = set(page.eval_on_selector_all("select[name]", "fields => fields.map(e => e.name)"))
    _fill(page, claim, prefix, choices)


def _fill(page, claim: dict, prefix: str, choices: set) -> None:
    for key, value in claim.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            _fill(page, value, path + ".", choices)
            continue
        field = page.locator(f'[name="{path}"]')
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if path in choices:
            field.select_option(text)
        else:
            field.fill(text)


def test_a_claim_from_the_form_decided_and_explained(page, shots):
    sign_in(page)
    page.goto(f"/policies/{JINHUA}/try")
    assert page.get_by_label("sex").evaluate("e => e.tagName") == "SELECT"  # an enum is a choice
    assert page.get_by_label("birth_date").get_attribute("type") == "date"
    fill_claim(page, CLAIM)
    page.get_by_role("button", name="作出决定").click()
    assert re.fullmatch(r"符合条件: 2200 CNY", page.locator(".outcome").inner_text())
    rule = page.locator("details.rule", has=page.locator("summary", has_text="institution_catalogued"))
    assert not rule.locator(".clause-text").first.is_visible()
    rule.locator("summary").click()
    assert "浙江大学" in rule.locator(".clause-text").first.inner_text()  # 附件1 as published
    facts = rule.locator("table").first.inner_text()
    assert "training.institution" in facts and "浙江大学" in facts
    assert "institutions[浙江大学, 2-02-10-15]" in rule.inner_text()  # the catalogue row it read
    rule.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "claim.png"))


def test_a_bad_claim_shows_the_error_by_the_field(page, shots):
    sign_in(page)
    page.goto(f"/policies/{JINHUA}/try")
    fill_claim(page, CLAIM | {"applicant": CLAIM["applicant"] | {"hukou_region": "33070"}})
    page.get_by_role("button", name="作出决定").click()
    error = page.locator("#f-applicant-hukou_region-error")
    assert "33070" in error.inner_text()
    assert page.get_by_label("hukou_region").get_attribute("aria-invalid") == "true"
    described = page.get_by_label("hukou_region").get_attribute("aria-describedby")
    assert described.endswith("f-applicant-hukou_region-error")
    assert "claim.invalid" in page.locator(".outcome").inner_text()
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "claim-error.png"))


def test_a_logged_decision_opened_and_verified(page, shots):
    sign_in(page)
    page.goto(f"/policies/{JINHUA}/try")
    page.get_by_label("粘贴的申请").fill(json.dumps(CLAIM | {"claim_id": "FICT-WEB-VERIFY"}, ensure_ascii=False))
    page.get_by_role("button", name="作出决定").click()
    page.locator("section.decision dd a").first.click()  # the decision id, in the log
    page.wait_for_url(re.compile("/decisions/"))
    assert page.get_by_role("heading", name=re.compile("日志中的决定")).is_visible()
    page.get_by_role("button", name=re.compile("核验")).click()
    assert page.locator("section.verified").inner_text().startswith("已复现")
    page.screenshot(path=str(shots / "decision.png"))


def test_a_broken_draft_shows_its_line(page, shots):
    sign_in(page)
    page.goto("/check")
    page.get_by_label("政策文件", exact=True).fill(BROKEN)
    page.get_by_role("button", name="检查", exact=True).click()
    marked = page.locator("tr.marked")
    assert marked.count() >= 1
    assert marked.first.get_attribute("id") == "line-6" and "require: x" in marked.first.inner_text()
    assert "yaml.syntax" in page.locator("ol.diagnostics").inner_text()
    page.screenshot(path=str(shots / "check.png"))


def test_impact_of_two_dates_on_uploaded_claims(page, shots):
    sign_in(page)
    page.goto(f"/policies/{JINHUA}/impact")
    page.get_by_label("从（日期或 @版本）").fill("2025-02-01")
    page.get_by_label("到（日期或 @版本）").fill("2025-04-01")
    page.get_by_label("申请（JSON Lines 文件）").set_input_files(str(FIXTURES / "claims.jsonl"))
    page.get_by_role("button", name="比较").click()
    counts = page.locator("ul.counts").inner_text()
    assert re.search(r"申请:\s*30", counts)
    assert page.locator("svg.chart").count() == 2
    assert page.locator("table.data tbody tr").count() >= 1
    page.screenshot(path=str(shots / "impact.png"), full_page=True)


def test_english_and_the_keyboard(page):
    sign_in(page)
    page.goto("/policies?lang=en")
    assert page.get_by_role("heading", name="Policies", exact=True).is_visible()
    page.goto("/policies")  # the choice is kept
    assert page.get_by_role("heading", name="Policies", exact=True).is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.goto(f"/policies/{JINHUA}/try?lang=zh")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length)).map(e => e.name)""")
    assert unlabelled == []
    # a rule of the explanation opens from the keyboard
    fill_claim(page, CLAIM)
    page.get_by_role("button", name="作出决定").click()
    summary = page.locator("details.rule summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("details.rule").first.get_attribute("open") is not None


def test_a_role_the_token_lacks_is_refused_on_the_page(page):
    sign_in(page, "developer")
    response = page.goto("/decisions")
    assert response.status == 403
    assert "auditor" in page.locator("p.error").inner_text()


def test_on_a_phone_the_timeline_keeps_readable_labels_and_the_page_does_not_overflow(page):
    sign_in(page)
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        page.goto("/policies/china/retirement-age/timeline")
        chart = page.locator("svg.timeline")
        assert chart.bounding_box()["width"] >= 640  # drawn at a readable size, in a box that scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the page itself does not
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})

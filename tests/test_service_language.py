"""The service's error messages in the language of the request's Accept-Language (简体中文 when it prefers Chinese,
else English), as `policy --lang` chooses for the command line; codes, `location` and the rest of an error the same
in both. A real `policy serve` on a loopback port."""
from __future__ import annotations

import pytest
from service_helpers import JINHUA, ThreadServer, auth, copy_store, http, write_tokens

from engine.service.errors import language_of

pytestmark = pytest.mark.slow  # a real server: seconds to start

ZH, EN = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service-language")
    policies, schemas = copy_store(folder)
    with ThreadServer(policies, schemas, f"sqlite:///{folder / 'log.sqlite3'}", tokens=write_tokens(folder)) as running:
        yield running


def error(response) -> dict:
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


def test_a_malformed_request_in_both_languages_names_its_location(server):
    asked = {"policy": JINHUA}  # no claim
    zh = error(http.post(server.url + "/v1/evaluate", json=asked, headers=auth("developer") | ZH))
    en = error(http.post(server.url + "/v1/evaluate", json=asked, headers=auth("developer") | EN))
    plain = error(http.post(server.url + "/v1/evaluate", json=asked, headers=auth("developer")))
    assert zh == {"code": "request.invalid", "message": "claim：必填", "location": "claim", "field": "claim"}
    assert en == plain == {"code": "request.invalid", "message": "claim: required", "location": "claim",
                           "field": "claim"}
    zh = error(http.post(server.url + "/v1/evaluate", json={"policy": JINHUA, "claim": {}, "as_of": 20250101},
                         headers=auth("developer") | ZH))
    assert zh == {"code": "request.invalid", "message": "as_of：日期应写成文字 YYYY-MM-DD，不能是数字",
                  "location": "as_of", "field": "as_of"}


def test_refusals_and_unknown_things_in_both_languages(server):
    response = http.post(server.url + "/v1/evaluate", json={"policy": JINHUA, "claim": {}}, headers=ZH)
    assert response.status_code == 401
    assert error(response) == {"code": "auth.token", "message": "请发送服务认可的令牌：Authorization: Bearer 令牌"}
    response = http.get(server.url + "/v1/decisions", headers=auth("developer") | ZH)
    assert response.status_code == 403
    assert error(response) == {"code": "auth.role", "message": "这需要 auditor 角色；该令牌的角色为 developer"}
    response = http.get(server.url + "/v1/decisions", headers=auth("developer") | EN)
    assert error(response)["message"] == "this needs the auditor role; the token has developer"
    response = http.post(server.url + "/v1/evaluate", json={"policy": JINHUA + "@1999-01-01", "claim": {}},
                         headers=auth("developer") | ZH)
    assert response.status_code == 404
    assert error(response) == {"code": "request.unknown_policy",
                               "message": f"{JINHUA} 没有版本 '1999-01-01'（已有的版本：2024-05-01）"}
    response = http.get(server.url + "/v1/nothing-here", headers=ZH)
    assert (response.status_code, error(response)) == (404, {"code": "request.route", "message": "没有这个路径"})
    response = http.get(server.url + "/v1/nothing-here", headers=EN)
    assert error(response) == {"code": "request.route", "message": "no such route"}


def test_a_batch_s_refusal_and_a_malformed_query_in_both_languages(server):
    batch = server.url + "/v1/evaluate:batch"
    ndjson = {"Content-Type": "application/x-ndjson"}
    response = http.post(batch, params={"policy": JINHUA + "@1999-01-01"}, content=b"{}\n",
                         headers=auth("developer") | ndjson | ZH)
    assert response.status_code == 404
    assert error(response)["message"] == f"{JINHUA} 没有版本 '1999-01-01'（已有的版本：2024-05-01）"
    for headers, message in ((ZH, "explain：true 或 false"), (EN, "explain: true or false")):
        response = http.post(batch, params={"policy": JINHUA, "explain": "perhaps"}, content=b"{}\n",
                             headers=auth("developer") | ndjson | headers)
        assert response.status_code == 422
        assert error(response) == {"code": "request.invalid", "message": message, "location": "explain",
                                   "field": "explain"}
    response = http.get(server.url + "/v1/diff", params={"policy": "", "from": "2024-06-01", "to": "2025-06-01"},
                        headers=auth("developer") | ZH)
    assert response.status_code == 422
    assert error(response)["location"] == "policy" and error(response)["message"] == "policy：不能为空"


@pytest.mark.parametrize("path, params, location, zh, en", [
    ("/v1/decisions", {"limit": "0"}, "limit", "limit：不能小于 1", "limit: at least 1"),
    ("/v1/decisions", {"limit": "5000"}, "limit", "limit：不能大于 1000", "limit: at most 1000"),
    ("/v1/decisions", {"after": "-1"}, "after", "after：不能小于 0", "after: at least 0"),
    ("/v1/decisions", {"limit": "ten"}, "limit", "limit：整数", "limit: a whole number"),
    ("/v1/grants", {"person": "x" * 201}, "person", "person：最多 200 个字符", "person: at most 200 characters"),
    ("/v1/grants", {}, "person", "person：必填", "person: required"),
])
def test_a_query_parameter_out_of_its_bounds_in_both_languages(server, path, params, location, zh, en):
    for headers, message in ((ZH, zh), (EN, en)):
        response = http.get(server.url + path, params=params, headers=auth("auditor") | headers)
        assert response.status_code == 422
        assert error(response) == {"code": "request.invalid", "message": message, "location": location,
                                   "field": location}


def test_a_query_parameter_given_twice_is_refused_not_taken_last(server):
    """`?policy=a&policy=b` must not decide under b (or a) silently: 422 naming the parameter, nothing decided."""
    batch = server.url + "/v1/evaluate:batch"
    ndjson = {"Content-Type": "application/x-ndjson"}
    twice = [("policy", JINHUA), ("policy", JINHUA + "@2024-05-01")]
    for headers, message in ((ZH, "policy：给了不止一次；查询参数只能有一个值"),
                             (EN, "policy: given more than once; a query parameter takes one value")):
        response = http.post(batch, params=twice, content=b"{}\n", headers=auth("developer") | ndjson | headers)
        assert response.status_code == 422
        assert error(response) == {"code": "request.invalid", "message": message, "location": "policy",
                                   "field": "policy"}
    response = http.get(server.url + "/v1/decisions", params=[("limit", "5"), ("limit", "6")],
                        headers=auth("auditor") | EN)
    assert response.status_code == 422 and error(response)["location"] == "limit"
    once = http.post(batch, params={"policy": JINHUA}, content=b"{}\n", headers=auth("developer") | ndjson | EN)
    assert once.status_code == 200


@pytest.mark.parametrize("path, params, known", [
    ("/v1/evaluate:batch", {"policy": JINHUA, "asof": "2024-06-01"}, "as_of, explain, history, known_on, policy"),
    ("/v1/decisions", {"claimid": "NOPE"}, "after, claim_id, from, limit, policy, to"),
])
def test_an_unknown_query_parameter_is_refused_naming_those_the_route_takes(server, path, params, known):
    """A misspelt parameter (`asof` for `as_of`) must not be ignored: the claims would be decided on their own dates,
    or every decision listed, without a word."""
    ndjson = {"Content-Type": "application/x-ndjson"}
    role = "developer" if path.startswith("/v1/evaluate") else "auditor"
    send = http.post if path.startswith("/v1/evaluate") else http.get
    extra = {"content": b"{}\n"} if send is http.post else {}
    wrong = next(name for name in params if name not in ("policy",))
    for headers, words in ((ZH, f"此路径没有这个查询参数（它接受：{known}）"),
                           (EN, f"this route takes no such query parameter (it takes {known})")):
        response = send(server.url + path, params=params, headers=auth(role) | ndjson | headers, **extra)
        assert response.status_code == 422
        colon = "：" if headers is ZH else ": "
        assert error(response) == {"code": "request.invalid", "message": f"{wrong}{colon}{words}",
                                   "location": wrong, "field": wrong}


@pytest.mark.parametrize("header, language", [
    (None, "en"), ("", "en"), ("zh", "zh"), ("zh-CN", "zh"), ("zh-Hant-TW", "zh"), ("ZH-cn", "zh"), ("en", "en"),
    ("fr-FR, zh;q=0.5", "zh"), ("en-US,zh;q=0.8", "en"), ("zh;q=0.4, en;q=0.6", "en"), ("zh;q=0, en", "en"),
    ("*", "en"), ("de, fr", "en"), ("zh;q=oops, en", "en"), ("en;q=0.5, zh;q=0.5", "en"),
])
def test_which_language_an_accept_language_header_chooses(header, language):
    assert language_of(header) == language

"""Bad input is a 4xx in the contract's shape (a page for people), never a 5xx (issue 9).

One test per root cause the bounded fuzz found: numbers past Python's int-conversion limit in
JSON, malformed path parameters, text fields with what cannot be stored or printed, credit
codes, and the framework's own refusals (unknown route, wrong method, wrong media type).
"""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.codes import make_payment_code
from tests.functional.support import (
    JSON,
    NOTE,
    assert_error,
    body_of,
    counting_aws_calls,
    create_note,
    issued_bill,
)

HUGE = "9" * 5_000  # past CPython's 4,300-digit int conversion limit
VALID_PATH = {"payment_code": make_payment_code("340100", 2026, 1), "bill_code": "34010126",
              "bill_number": "0000000001", "out_trade_no": "ABCDEFGH12345678", "kind": "pdf",
              "date": "2026-06-15", "channel": "wechatpay"}


def _routes(predicate) -> list[tuple[str, str]]:
    import app as application

    return sorted((path, method) for path, methods in application.app.routes.items()
                  for method, entry in methods.items() if predicate(path, method, entry))


def _filled(path: str, **values: str) -> str:
    for name in VALID_PATH:
        path = path.replace("{" + name + "}", values.get(name, VALID_PATH[name]))
    for part in path.split("/"):
        if part.startswith("{"):
            path = path.replace(part, values.get(part[1:-1], "x1"))
    return path


def _every_credential(world) -> list[dict[str, str]]:
    stack = world.stack
    keys = [u["api_key"] for u in stack["units"] + stack["reimbursers"]]
    if isinstance(stack.get("finance"), dict) and stack["finance"].get("api_key"):
        keys.append(stack["finance"]["api_key"])
    return [{"Authorization": f"Bearer {key}"} for key in keys]


JSON_ROUTES = _routes(lambda path, method, entry: method in ("POST", "PUT", "PATCH")
                      and not path.startswith("/callbacks/")
                      and "application/json" in (entry.content_types or []))


def test_every_json_route_is_listed():
    assert ("/v1/notes", "POST") in JSON_ROUTES and ("/v1/reimbursements", "POST") in JSON_ROUTES
    assert len(JSON_ROUTES) >= 8


BODYLESS = {("/v1/notes/{payment_code}/cancel", "POST"),  # read no body
            ("/v1/admin/remittances/{date}/instruct", "POST")}


def test_every_json_route_refuses_a_five_thousand_digit_integer_with_a_400(world, client):
    """One world for every route (a world per route would take minutes on this machine)."""
    body = '{"total_fen": ' + HUGE + ', "reason": "x", "channel": "wechatpay"}'
    wrong = {}
    for path, method in JSON_ROUTES:
        answers = [client.http.request(method, _filled(path), headers={**JSON, **auth},
                                       body=body)
                   for auth in [{}, *_every_credential(world)]]
        refused = [body_of(a)["error"] for a in answers if a.status_code == 400]
        if any(not 400 <= a.status_code < 500 for a in answers) or (
                (path, method) not in BODYLESS
                and not any("more than 20 digits" in e["fields"].get("body", "")
                            for e in refused)):
            wrong[f"{method} {path}"] = [(a.status_code, a.body[:120]) for a in answers]
    assert not wrong, wrong


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"total_fen": 1e999}', '{"total_fen": NaN}', '{"payer": ' * 40 + "1" + "}" * 40,
], ids=["deep-array", "infinite", "nan", "deep-object"])
def test_a_note_body_too_deep_or_with_impossible_numbers_is_a_400(world, client, body):
    error = assert_error(client.http.post("/v1/notes", headers=world.auth(), body=body), 400,
                         "body")
    assert "invalid JSON" in error["fields"]["body"]


# --- path parameters ---------------------------------------------------------------------

PATH_ROUTES = _routes(lambda path, method, entry: "{" in path)


def _is_page(path: str) -> bool:
    from chalicelib.api.refusals import PAGE_ROOTS  # the payers' pages and the consoles

    return path.split("/")[1] in PAGE_ROOTS


def test_every_path_parameter_empty_or_too_long_is_refused_before_any_store(world, client,
                                                                            monkeypatch):
    wrong = {}
    for path, method in PATH_ROUTES:
        params = [p[1:-1] for p in path.split("/") if p.startswith("{")]
        for name in params:
            for bad in ("", "9" * 2_049):
                url = _filled(path, **{name: bad})
                if url.endswith("/"):  # an empty last segment is another route (trailing /)
                    continue
                with counting_aws_calls(monkeypatch) as calls:
                    r = client.http.request(method, url, headers={**JSON, **world.auth()},
                                            body=b"{}")
                kind = r.headers.get("Content-Type", "")
                ok = r.status_code in (400, 404) and len(calls) == 0 and (
                    kind.startswith("text/html") if _is_page(path)
                    else name in body_of(r)["error"]["fields"] or r.status_code == 404)
                if not ok:
                    wrong[f"{method} {url[:80]}"] = (r.status_code, calls.calls, r.body[:200])
    assert not wrong, wrong


def test_an_empty_payment_code_in_the_notice_path_is_a_400_not_a_500(world, client):
    assert_error(client.http.get("/v1/notes//notice.pdf", headers=world.auth()), 400,
                 "payment_code")


def test_a_payment_code_of_4301_digits_is_a_400_naming_it(world, client):
    error = assert_error(client.http.get("/v1/notes/" + "3" * 4_301, headers=world.auth()), 400,
                         "payment_code")
    assert error["code"] == "invalid_payment_code"


# --- text fields -------------------------------------------------------------------------

BAD_TEXT = {"lone-surrogate": "凭证\ud800", "nul": "V\x00001", "control": "V\x1b[31m",
            "non-character": "V\ufdd0", "bidi-override": "V\u202e100", "zero-width-only": "\u200b\u200b",
            "too-long": "V" * 65}


def _json(value: object) -> str:
    return json.dumps(value)  # ASCII escapes: a lone surrogate travels as \ud800


@pytest.mark.parametrize("bad", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_a_voucher_number_that_cannot_be_stored_is_a_400_and_nothing_is_recorded(
        world, client, bad):
    _, bill = issued_bill(world, client)
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    r = client.http.post("/v1/reimbursements", headers=world.auth(0, "reimbursers"),
                         body=_json({**body, "voucher_no": bad}))
    assert_error(r, 400, "voucher_no")
    path = f"/v1/reimbursements/{bill['bill_code']}/{bill['bill_number']}"
    assert client.http.delete(path, headers=world.auth(0, "reimbursers")).status_code == 404


def test_a_good_voucher_number_is_still_recorded(world, client):
    _, bill = issued_bill(world, client)
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    r = client.http.post("/v1/reimbursements", headers=world.auth(0, "reimbursers"),
                         body=_json({**body, "voucher_no": " 记-2026-06-0015 "}))
    assert r.status_code == 201 and body_of(r)["voucher_no"] == "记-2026-06-0015"


@pytest.mark.parametrize("action", ["reversal", "void"])
@pytest.mark.parametrize("bad", [BAD_TEXT["nul"], BAD_TEXT["lone-surrogate"],
                                 BAD_TEXT["zero-width-only"], "因" * 201],
                         ids=["nul", "lone-surrogate", "zero-width-only", "too-long"])
def test_a_reason_that_cannot_be_stored_is_a_400_naming_it(world, client, action, bad):
    _, bill = issued_bill(world, client)
    path = f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/{action}"
    assert_error(client.http.post(path, headers=world.auth(), body=_json({"reason": bad})), 400,
                 "reason")
    status = client.http.post("/v1/verifications", headers=world.auth(0, "reimbursers"),
                              body=_json({k: bill[k] for k in ("bill_code", "bill_number",
                                                               "check_code")}))
    assert body_of(status)["status"] == "normal"


@pytest.mark.parametrize(("field", "value"), [
    ("name", "\u200b\u3000\u200d"), ("name", "张\x00三"), ("name", "张\ud800"),
    ("phone", "138\x0012345678"),
])
def test_a_payer_field_of_only_invisible_or_control_characters_is_a_400(world, client, field,
                                                                          value):
    payer = {**NOTE["payer"], field: value}
    r = client.http.post("/v1/notes", headers=world.auth(), body=_json({**NOTE, "payer": payer}))
    assert_error(r, 400, f"payer.{field}")


def test_an_organisation_credit_code_must_carry_its_gb32100_check_character(world, client):
    payer = {"name": "福建某某有限公司", "type": "organization"}
    for wrong in ("91350100M000100Y44", "91350100M000100Y4I", "9135010OM000100Y43"):
        r = client.http.post("/v1/notes", headers=world.auth(),
                             body=_json({**NOTE, "payer": {**payer, "credit_code": wrong}}))
        assert_error(r, 400, "payer.credit_code")
    note = create_note(world, client, {**NOTE, "payer": {**payer,
                                                          "credit_code": "91350100M000100Y43"}})
    assert note["status"] == "unpaid"


# --- the framework's own refusals --------------------------------------------------------


def test_an_unknown_route_is_a_404_in_the_contracts_shape(client):
    for path in ("/v1/nowhere", "/v1/notes/x/y/z", "/"):
        error = assert_error(client.http.get(path), 404)
        assert error["code"] == "route_not_found"
    error = assert_error(client.http.get("/v1/nowhere", headers={"Authorization": "Bearer k"}),
                         404)
    assert "Authorization" not in json.dumps(error)


def test_an_unknown_page_path_is_a_404_page(client):
    r = client.http.get("/pay", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "页面不存在" in r.body.decode()


def test_a_method_a_json_route_does_not_have_is_a_405_in_the_contracts_shape(world, client):
    r = client.http.request("PATCH", "/v1/notes", headers=world.auth(), body=b"{}")
    error = assert_error(r, 405)
    assert error["code"] == "method_not_allowed" and "POST" in r.headers["Allow"]


def test_a_media_type_a_route_does_not_take_is_a_415_in_the_contracts_shape(world, client):
    r = client.http.post("/callbacks/alipay", headers=JSON, body=b"{}")
    assert assert_error(r, 415)["code"] == "unsupported_media_type"
    r = client.http.post("/v1/verifications/file", body=b"x",
                         headers={**world.auth(0, "reimbursers"), "Content-Type": "text/csv"})
    assert assert_error(r, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("POST", "/verify", JSON, 415),
    ("POST", "/lookup", {"Content-Type": "multipart/form-data; boundary=x"}, 415),
    ("DELETE", "/my-bills", {}, 405),
    ("PUT", "/reimburse", {}, 405),
])
def test_a_page_refused_by_the_framework_answers_a_page(client, method, path, headers, status):
    r = client.http.request(method, path, headers={**headers, "Accept": "text/html"}, body=b"{}")
    assert r.status_code == status and r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.body.decode() and '"error"' not in r.body.decode()


def test_the_pay_form_posted_by_a_browser_gets_its_error_as_a_page(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", body=b"channel=paypal",
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/html")
    r = client.http.post(f"/v1/public/notes/{code}/pay", body=b'{"channel": "paypal"}',
                         headers=JSON)
    assert_error(r, 400)

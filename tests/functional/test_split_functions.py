"""The callbacks and the reversal run in functions of their own: each serves API Gateway proxy
events through the same app, for its own routes only."""

import base64
import json

import app as application
from devstack.notifications import alipay_notification
from tests.functional.test_other_channels import new_note, open_order, payments


def proxy_event(resource: str, path: str, body: bytes, headers: dict, **path_params) -> dict:
    return {"resource": resource, "path": path, "httpMethod": "POST",
            "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": path_params or None, "stageVariables": None,
            "requestContext": {"resourcePath": resource, "httpMethod": "POST", "path": path,
                               "stage": "api", "identity": {"sourceIp": "203.0.113.9"}},
            "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def invoke(client, name: str, event: dict) -> dict:
    return client.lambda_.invoke(name, event).payload


def test_the_callbacks_function_records_a_genuine_notification(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "alipay")
    body, headers = alipay_notification(world.stack, order["out_trade_no"], 10000,
                                        now=world.clock())
    answer = invoke(client, "callbacks",
                    proxy_event("/callbacks/alipay", "/callbacks/alipay", body, headers))
    assert answer["statusCode"] == 200
    sent = base64.b64decode(answer["body"]) if answer.get("isBase64Encoded") else answer["body"]
    assert sent in (b"success", "success")
    assert len(payments(world)) == 1


def test_the_callbacks_function_refuses_every_other_route(world, client):
    event = proxy_event("/v1/notes", "/v1/notes", b"{}", {"Content-Type": "application/json"})
    answer = invoke(client, "callbacks", event)
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"]["code"] == "not_found"


def test_the_reversal_function_refuses_a_callback(world, client):
    event = proxy_event("/callbacks/alipay", "/callbacks/alipay", b"a=b",
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert invoke(client, "reverse_bill", event)["statusCode"] == 404
    assert payments(world) == []


def test_every_callback_route_of_the_app_is_served_by_the_callbacks_function():
    routes = {path for path in application.app.routes if path.startswith("/callbacks/")}
    assert routes == set(application.CALLBACK_ROUTES)
    assert set(application.REVERSAL_ROUTES) <= set(application.app.routes)


def test_the_reversal_function_serves_the_unit_consoles_reversal_form(world, client):
    """The console's 冲红 form posts to a route of the signing function (app.REVERSAL_ROUTES),
    which checks the session, the CSRF token and the person's right as any console view."""
    from urllib.parse import urlencode

    from tests.functional.support import issued_bill
    from tests.functional.test_console_sign_in import sign_in

    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    resource = "/console/unit/bills/{bill_code}/{bill_number}/reversal"
    path = f"/console/unit/bills/{bill['bill_code']}/{bill['bill_number']}/reversal"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "; ".join(cookies)}
    params = {"bill_code": bill["bill_code"], "bill_number": bill["bill_number"]}
    forged = proxy_event(resource, path, urlencode({"confirm": "yes", "reason": "退费"}).encode(),
                         headers, **params)
    assert invoke(client, "reverse_bill", forged)["statusCode"] == 403  # no CSRF token
    body = urlencode({"confirm": "yes", "reason": "退费", "csrf_token": token}).encode()
    answer = invoke(client, "reverse_bill", proxy_event(resource, path, body, headers, **params))
    assert answer["statusCode"] == 303, answer
    assert world.deps.bills.get(bill["bill_code"], bill["bill_number"]).status.value == "reversed"

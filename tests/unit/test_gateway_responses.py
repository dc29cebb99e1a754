"""Production's API Gateway answers its own refusals in the contract's error shape too.

Chalice's local gateway is made to answer like these (``devstack.gateway``); here the
template that configures the real one is read: every gateway response a client can meet has a
JSON body of the contract's shape, and an unknown route is a 404 as locally.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "resources.json"


def _responses() -> dict:
    body = json.loads(TEMPLATE.read_text())["Resources"]["RestAPI"]["Properties"]
    return body["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]


@pytest.mark.parametrize("kind", ["DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN",
                                  "UNSUPPORTED_MEDIA_TYPE", "REQUEST_TOO_LARGE", "THROTTLED",
                                  "BAD_REQUEST_BODY", "ACCESS_DENIED", "INTEGRATION_TIMEOUT"])
def test_each_gateway_response_is_the_contracts_error_shape(kind):
    template = _responses()[kind]["responseTemplates"]["application/json"]
    # API Gateway substitutes $context.error.messageString with a quoted JSON string.
    error = json.loads(template.replace("$context.error.messageString", '"Forbidden"'))["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] and error["message"] and isinstance(error["fields"], dict)


def test_an_unknown_route_is_a_404_as_locally():
    from chalicelib.api.refusals import unknown_route

    missing = _responses()["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    status, _, body = unknown_route("/v1/nowhere", "GET", {})
    local = json.loads(body)["error"]
    production = json.loads(missing["responseTemplates"]["application/json"])["error"]
    assert status == 404 and local == production

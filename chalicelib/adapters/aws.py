"""boto3 clients, built once per process on first use, pointed at the local stack when asked."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import Settings


@cache
def _client(service: str, region: str, endpoint: str | None) -> Any:
    import boto3  # deferred: ~180 ms of cold start, paid only by paths that need AWS

    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint)


def client(service: str, settings: Settings) -> Any:
    endpoint = settings.dynamodb_endpoint_url if service == "dynamodb" \
        else settings.aws_endpoint_url
    return _client(service, settings.region, endpoint)

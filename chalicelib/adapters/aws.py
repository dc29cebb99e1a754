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


_RETRYABLE_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "RequestThrottled", "SlowDown",
    "TransactionInProgressException", "InternalServerError", "InternalError",
    "ServiceUnavailable", "ServiceUnavailableException", "KMSInternalException",
    "LimitExceededException"})


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` is AWS failing, not us: throttling, a 5xx, a timeout or a lost
    connection, as botocore raises it or as pynamodb wraps it. Sent again, the request may
    succeed, so the edge answers 503 (the one mapping of these errors, ``api/errors.py``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        if isinstance(current, BotoCoreError):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return error.get("Code") in _RETRYABLE_CODES or int(status or 0) >= 500
        current = getattr(current, "cause", None) or current.__cause__  # pynamodb keeps botocore's
    return False

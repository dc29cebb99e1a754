"""Which failures of AWS become 503 (worth a retry) and which stay our own bugs (500)."""

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from pynamodb.exceptions import PutError, QueryError

from chalicelib.adapters.aws import is_unavailable


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")


def test_throttling_timeouts_and_5xx_are_unavailable():
    assert is_unavailable(client_error("ProvisionedThroughputExceededException", 400))
    assert is_unavailable(client_error("ThrottlingException", 400))
    assert is_unavailable(client_error("SomethingNew", 503))
    assert is_unavailable(ConnectTimeoutError(endpoint_url="https://dynamodb"))
    assert is_unavailable(ReadTimeoutError(endpoint_url="https://s3"))


def test_a_pynamodb_error_is_judged_by_the_botocore_error_it_wraps():
    assert is_unavailable(QueryError("failed", client_error("InternalServerError", 500)))
    assert not is_unavailable(PutError("failed", client_error("ValidationException", 400)))


def test_our_own_mistakes_are_not_unavailable():
    assert not is_unavailable(client_error("ValidationException", 400))
    assert not is_unavailable(client_error("ResourceNotFoundException", 400))
    assert not is_unavailable(KeyError("x"))

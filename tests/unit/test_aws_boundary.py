"""AWS failing leaves an adapter as ``ServiceUnavailable`` (``adapters/aws.py``'s boundary);
a refused condition, our own errors and our bugs pass through unchanged."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError
from botocore.stub import Stubber
from pynamodb.exceptions import PutError, QueryError

import chalicelib.adapters
from chalicelib.adapters.aws import aws_boundary
from chalicelib.domain.errors import NotFound, ServiceUnavailable

# Adapters named for an AWS service (STYLE.md: one adapter per outside system, one file each);
# pynamodb's own classes (models, indexes, attributes) are not adapters.
AWS_MODULES = ("dynamo_", "s3_", "sqs_", "sns_", "secrets", "signers")
NOT_AWS = {"chalicelib.adapters.signers.LocalSigner"}  # signs with key files on disk


def client_error(code: str, status: int, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def raising(exc: BaseException):
    def call(*_args, **_kwargs):
        raise exc
    return call


def test_throttling_a_5xx_or_a_timeout_leaves_a_guarded_call_as_service_unavailable():
    for failure in (client_error("ThrottlingException", 400), client_error("Anything", 503),
                    ConnectTimeoutError(endpoint_url="https://sqs"),
                    QueryError("failed", client_error("InternalServerError", 500))):
        with pytest.raises(ServiceUnavailable) as raised:
            aws_boundary(raising(failure))()
        assert raised.value.__cause__ is failure
        assert raised.value.code == "service_unavailable"


def test_a_refused_condition_passes_unchanged_for_the_adapter_to_judge():
    duplicate = PutError("failed", client_error("ConditionalCheckFailedException", 400))
    with pytest.raises(PutError) as raised:
        aws_boundary(raising(duplicate))()
    assert raised.value is duplicate


def test_our_own_errors_and_bugs_pass_unchanged():
    for ours in (NotFound("没有"), KeyError("bug"), client_error("ValidationException", 400)):
        with pytest.raises(type(ours)) as raised:
            aws_boundary(raising(ours))()
        assert raised.value is ours


def test_a_generator_fails_as_unavailable_while_it_is_read():
    @aws_boundary
    def rows():
        yield 1
        raise client_error("ProvisionedThroughputExceededException", 400, "Scan")

    read = rows()
    assert next(read) == 1
    with pytest.raises(ServiceUnavailable):
        next(read)


def test_a_decorated_class_guards_its_public_static_and_class_methods_not_its_private_ones():
    throttled = client_error("ThrottlingException", 400)

    @aws_boundary
    class Adapter:
        def get(self):
            raise throttled

        @staticmethod
        def scan():
            raise throttled

        @classmethod
        def build(cls):
            raise throttled

        def _raw(self):
            raise throttled

    for call in (Adapter().get, Adapter.scan, Adapter().scan, Adapter.build):
        with pytest.raises(ServiceUnavailable):
            call()
    with pytest.raises(ClientError):
        Adapter()._raw()


@pytest.fixture
def dynamodb_stub(monkeypatch):
    """A botocore Stubber on the connection pynamodb's unit model uses (a fresh one)."""
    from chalicelib.adapters.dynamo_models import UnitModel

    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(UnitModel, "_connection", None)
    monkeypatch.setattr(UnitModel.Meta, "region", "cn-north-1")
    with Stubber(UnitModel._get_connection().connection.client) as stub:
        yield stub
    stub.assert_no_pending_responses()


def test_a_throttled_dynamodb_read_leaves_the_units_adapter_as_unavailable(dynamodb_stub):
    from chalicelib.adapters.dynamo_units import DynamoUnits

    dynamodb_stub.add_client_error("get_item", "ProvisionedThroughputExceededException", "x",
                                   400)
    with pytest.raises(ServiceUnavailable):
        DynamoUnits().get("340100001")


def test_a_refused_condition_keeps_its_meaning_behind_the_boundary(dynamodb_stub):
    from chalicelib.adapters.dynamo_units import DynamoUnits

    dynamodb_stub.add_client_error("update_item", "ConditionalCheckFailedException", "x", 400)
    with pytest.raises(NotFound, match="unknown unit"):
        DynamoUnits().set_signing_kid("340100999", "unit-x")


def test_throttled_sqs_and_kms_calls_leave_their_adapters_as_unavailable():
    from chalicelib.adapters.signers import KmsSigner
    from chalicelib.adapters.sqs_jobs import SqsJobs

    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                    region_name="cn-north-1")
    sqs, kms = session.client("sqs"), session.client("kms")
    with Stubber(sqs) as sqs_stub, Stubber(kms) as kms_stub:
        sqs_stub.add_client_error("send_message", "ThrottlingException", "x", 400)
        kms_stub.add_client_error("sign", "KMSInternalException", "x", 500)
        with pytest.raises(ServiceUnavailable):
            SqsJobs(sqs, "https://sqs/issue", "https://sqs/sms").issue_bill("3401002600000000001")
        with pytest.raises(ServiceUnavailable):
            KmsSigner(kms).sign("alias/unit", b"bill")


def test_every_aws_adapter_class_is_behind_the_boundary():
    classes = []
    for module in pkgutil.iter_modules(chalicelib.adapters.__path__):
        if not module.name.startswith(AWS_MODULES):
            continue
        loaded = importlib.import_module(f"chalicelib.adapters.{module.name}")
        classes += [c for _, c in inspect.getmembers(loaded, inspect.isclass)
                    if c.__module__ == loaded.__name__ and not issubclass(c, Exception)
                    and not any(b.__module__.startswith("pynamodb") for b in c.__mro__)
                    and f"{c.__module__}.{c.__qualname__}" not in NOT_AWS
                    and any(not n.startswith("_") for n in vars(c))]
    assert len(classes) >= 20
    outside = [c.__qualname__ for c in classes if not getattr(c, "__aws_boundary__", False)]
    assert outside == []

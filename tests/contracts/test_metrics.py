"""Metrics: FakeMetrics against CloudWatchMetrics on moto. A count published is the metric's
datapoint at that moment, under the stage's dimension (what the operations alarm watches);
CloudWatch failing is ``ServiceUnavailable``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.errors import ServiceUnavailable
from tests.contracts.conftest import client

NOW = datetime(2026, 6, 16, 0, 0, tzinfo=UTC)


def published_on_moto(name: str) -> list[float]:
    answer = client("cloudwatch").get_metric_statistics(
        Namespace="FiscalBills", MetricName=name,
        Dimensions=[{"Name": "Stage", "Value": "prod"}], StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW + timedelta(minutes=5), Period=60, Statistics=["Maximum"])
    return [point["Maximum"] for point in answer["Datapoints"]]


class Refusing:
    def put_metric_data(self, **request: Any) -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}},
                          "PutMetricData")


@pytest.fixture(params=["fake", "moto"])
def metrics(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(metrics, published(name) → the values published)."""
    if request.param == "fake":
        from tests.fakes import FakeMetrics

        fake = FakeMetrics()
        return fake, lambda name: [float(v) for n, v in fake.published if n == name]
    from chalicelib.adapters.cloudwatch_metrics import CloudWatchMetrics

    request.getfixturevalue("aws")
    return CloudWatchMetrics(client("cloudwatch"), "prod", lambda: NOW), published_on_moto


class TestMetrics:
    def test_a_count_published_is_the_metrics_datapoint(self, metrics):
        sink, published = metrics
        sink.put_count("MerchantCredentialsDue", 3)
        assert published("MerchantCredentialsDue") == [3.0]
        assert published("SomethingElse") == []

    def test_cloudwatch_failing_is_service_unavailable(self):
        from chalicelib.adapters.cloudwatch_metrics import CloudWatchMetrics

        with pytest.raises(ServiceUnavailable):
            CloudWatchMetrics(Refusing(), "prod", lambda: NOW).put_count("X", 1)

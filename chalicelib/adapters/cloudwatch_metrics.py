"""Metrics as CloudWatch custom metrics (``PutMetricData``), for the operations alarms.

Each datapoint goes to the namespace ``FiscalBills`` with the stage as its one dimension
(``Stage=prod``), so that a staging stack in the same account never moves production's alarm
(``infra/resources.json`` watches ``Stage=prod``). The local stack, which has no CloudWatch,
logs the datapoint instead (``LoggedMetrics``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.aws import aws_boundary

log = logging.getLogger(__name__)
NAMESPACE = "FiscalBills"


@aws_boundary
class CloudWatchMetrics:
    """Metrics over CloudWatch ``PutMetricData`` (one request per datapoint)."""

    def __init__(self, client: Any, stage: str, clock: Callable[[], datetime]) -> None:
        self._cloudwatch, self._stage, self._clock = client, stage, clock

    def put_count(self, name: str, value: int) -> None:
        self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=[{
            "MetricName": name, "Dimensions": [{"Name": "Stage", "Value": self._stage}],
            "Timestamp": self._clock(), "Value": float(value), "Unit": "Count"}])
        log.info("metric %s=%d", name, value)


class LoggedMetrics:
    """Metrics on the local stack: each datapoint logged, nothing sent."""

    def put_count(self, name: str, value: int) -> None:
        log.info("metric %s=%d (local stack: not sent to CloudWatch)", name, value)

"""JobState: a scheduled job's progress between invocations, one item in the counters table.

A job that cannot finish in one Lambda invocation (``services/integrity.py``: the archive check)
saves where it stopped and the next invocation resumes there. Saves are conditional on the
version read, so two overlapping runs cannot both move the cursor (the function's reserved
concurrency of 1 already keeps them apart; this holds even without it).
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import is_conditional_failure
from chalicelib.config import Settings
from chalicelib.domain.errors import Conflict


class JobStateModel(Model):
    class Meta:
        table_name = "counters"  # set from the settings in DynamoJobState
        region: str | None = None
        host: str | None = None

    counter_id = UnicodeAttribute(hash_key=True)  # "job#<name>"
    state = UnicodeAttribute()  # JSON
    version = NumberAttribute()


@aws_boundary
class DynamoJobState:
    def __init__(self, settings: Settings) -> None:
        JobStateModel.Meta.table_name = settings.table("COUNTERS")
        JobStateModel.Meta.region = settings.region
        JobStateModel.Meta.host = settings.dynamodb_endpoint_url
        JobStateModel._connection = None

    def load(self, job: str) -> tuple[dict[str, Any], int]:
        """The job's saved state and its version (``({}, 0)`` before the first save)."""
        try:
            row = JobStateModel.get(f"job#{job}", consistent_read=True)
        except DoesNotExist:
            return {}, 0
        return json.loads(row.state), int(row.version)

    def save(self, job: str, state: dict[str, Any], version: int) -> None:
        """Save ``state`` as version ``version + 1``; Conflict if someone saved since the load."""
        condition = (JobStateModel.counter_id.does_not_exist() if version == 0
                     else JobStateModel.version == version)
        try:
            JobStateModel(f"job#{job}", state=json.dumps(state, sort_keys=True),
                          version=version + 1).save(condition=condition)
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict(f"job {job} state moved under us", code="job_state_moved") from exc
            raise

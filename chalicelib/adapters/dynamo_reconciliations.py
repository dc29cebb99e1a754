"""Reconciliation results (``ReconciliationStore``) in one DynamoDB table.

Per day and channel (hash key ``{date}#{channel}``): the ``#day`` row (``ChannelDay``) and one
row per judged line (``ReconLine``), each a compact JSON ``doc`` with its ``status`` and, once
matched or resolved, ``settled``. A line is written only where nothing settled is (condition
``attribute_not_exists(settled)``), so a re-run, however it races another run or a person
resolving, never changes what was matched or resolved. Reading a day is one Query, paged by
pynamodb (1 MB a page).
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import ReconciliationModel, is_conditional_failure
from chalicelib.domain.reconciliation import ChannelDay, ReconLine

DAY_ROW = "#day"


def _key(date: str, channel: str) -> str:
    return f"{date}#{channel}"


@aws_boundary
class DynamoReconciliations:
    """ReconciliationStore (see ``services/ports.py``)."""

    @staticmethod
    def day(date: str, channel: str) -> ChannelDay | None:
        try:
            row = ReconciliationModel.get(_key(date, channel), DAY_ROW, consistent_read=True)
        except ReconciliationModel.DoesNotExist:
            return None
        return ChannelDay.of_row(row.doc)

    @staticmethod
    def put_day(day: ChannelDay) -> None:
        ReconciliationModel(_key(day.date, day.channel), DAY_ROW, status=day.status,
                            doc=day.as_row()).save()

    @staticmethod
    def lines(date: str, channel: str) -> Iterator[ReconLine]:
        for row in ReconciliationModel.query(_key(date, channel),
                                             ReconciliationModel.line_id > DAY_ROW,
                                             consistent_read=True):
            yield ReconLine.of_row(row.doc)

    @staticmethod
    def get_line(date: str, channel: str, line_id: str) -> ReconLine | None:
        try:
            row = ReconciliationModel.get(_key(date, channel), line_id, consistent_read=True)
        except ReconciliationModel.DoesNotExist:
            return None
        return ReconLine.of_row(row.doc)

    @staticmethod
    def put_line(line: ReconLine) -> bool:
        """Write the line unless a settled one is there; False when one was."""
        row = ReconciliationModel(_key(line.date, line.channel), line.line_id,
                                  status=line.status, doc=line.as_row(),
                                  settled="yes" if line.is_settled else None)
        try:
            row.save(condition=ReconciliationModel.settled.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    @staticmethod
    def resolve(line: ReconLine) -> bool:
        """Keep ``line`` (now resolved) only if the stored one is still open; False if not."""
        row = ReconciliationModel(_key(line.date, line.channel), line.line_id)
        try:
            row.update(actions=[ReconciliationModel.doc.set(line.as_row()),
                                ReconciliationModel.status.set(line.status),
                                ReconciliationModel.settled.set("yes")],
                       condition=ReconciliationModel.line_id.exists()
                       & ReconciliationModel.settled.does_not_exist())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

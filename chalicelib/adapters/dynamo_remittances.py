"""RemittanceStore over one DynamoDB table (``remittances``, hash key ``pk``).

``day#<date>``: the day's remittances once instructed, as one item (a compact JSON ``doc`` and
a ``version``): instructing is one conditional put (the day must not exist), each confirmation
one put conditional on the version read, so two people confirming at once cannot lose either.
A day of a thousand units is ~150 KB, within DynamoDB's 400 KB item.
``accounts#<unit_code>``: the unit's account settings (fee item or ``*`` → account).
"""

from __future__ import annotations

from pynamodb.exceptions import PutError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import RemittanceModel, is_conditional_failure
from chalicelib.domain.remittance import RemittanceDay


@aws_boundary
class DynamoRemittances:
    """RemittanceStore (see ``services/ports.py``)."""

    @staticmethod
    def account_settings(unit_code: str) -> dict[str, str]:
        try:
            row = RemittanceModel.get(f"accounts#{unit_code}", consistent_read=True)
        except RemittanceModel.DoesNotExist:
            return {}
        return dict(row.doc)

    @staticmethod
    def set_account(unit_code: str, item_code: str, account: str) -> None:
        key = f"accounts#{unit_code}"
        try:
            row = RemittanceModel.get(key, consistent_read=True)
            row.doc = {**row.doc, item_code: account}
            row.save()
        except RemittanceModel.DoesNotExist:
            RemittanceModel(key, doc={item_code: account}).save()

    @staticmethod
    def get_day(date: str) -> RemittanceDay | None:
        try:
            row = RemittanceModel.get(f"day#{date}", consistent_read=True)
        except RemittanceModel.DoesNotExist:
            return None
        return RemittanceDay.of_doc(row.doc, int(row.version))

    @staticmethod
    def put_day(day: RemittanceDay) -> bool:
        condition = (RemittanceModel.pk.does_not_exist() if day.version == 1
                     else RemittanceModel.version == day.version - 1)
        try:
            RemittanceModel(f"day#{day.date}", doc=day.to_doc(), version=day.version).save(
                condition=condition)
            return True
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise

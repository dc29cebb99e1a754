"""Bill templates the finance department defined, in DynamoDB: one row a version, written once.

A version is added with a condition that no row has its key, so two edits made at once of the
same version cannot both land (the second is a ``Conflict``), and a stored version never
changes: a bill made from it renders the same forever (it also carries its own copy). Reads of
a version are cached in the process for good, since the row cannot change; the lists (versions
of one template, the newest of each) are read when asked, which only the finance department's
pages and routes do. The table is small: the service bounds templates and versions
(``services/bill_template_admin``), so a scan reads at most a few hundred rows.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import BillTemplateModel, is_conditional_failure
from chalicelib.domain.bill_templates import BillTemplate
from chalicelib.domain.errors import Conflict
from chalicelib.domain.template_data import StoredTemplate, template_from_stored, template_to_data

MAX_ROWS = 2000  # a bound on one scan, above what the service lets the table hold


def _stored(row: BillTemplateModel) -> StoredTemplate:
    return StoredTemplate(template=template_from_stored(row.doc), made_at=row.made_at,
                          made_by=row.made_by)


@aws_boundary
class DynamoBillTemplates:
    """BillTemplateStore over the bill-templates table."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, int], BillTemplate] = {}

    def add(self, stored: StoredTemplate) -> None:
        tpl = stored.template
        try:
            BillTemplateModel(tpl.template_id, tpl.version, name=tpl.name,
                              doc=template_to_data(tpl), made_at=stored.made_at,
                              made_by=stored.made_by).save(
                condition=BillTemplateModel.template_id.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict(f"模板 {tpl.ref} 已存在，请刷新后再修改",
                               code="template_version_exists") from None
            raise
        self._versions[(tpl.template_id, tpl.version)] = tpl

    def get(self, template_id: str, version: int) -> BillTemplate | None:
        key = (template_id, version)
        if key not in self._versions:
            try:
                row = BillTemplateModel.get(template_id, version, consistent_read=True)
            except DoesNotExist:
                return None
            self._versions[key] = template_from_stored(row.doc)
        return self._versions[key]

    def versions(self, template_id: str) -> list[StoredTemplate]:
        return [_stored(row) for row in BillTemplateModel.query(template_id, limit=MAX_ROWS)]

    def newest(self) -> list[StoredTemplate]:
        newest: dict[str, BillTemplateModel] = {}
        for row in BillTemplateModel.scan(limit=MAX_ROWS):
            if row.template_id not in newest or row.version > newest[row.template_id].version:
                newest[row.template_id] = row
        return [_stored(newest[k]) for k in sorted(newest)]

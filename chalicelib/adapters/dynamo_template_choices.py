"""The finance department's choice of bill template per kind, in DynamoDB, as a warm process
sees it.

The table holds one row per bill kind that has a choice (a dozen at most). Every note and
direct bill asks for its kind's template, so a process reads the whole table once and answers
from that copy for ``CHOICE_CACHE_SECONDS``; a choice made through it is seen at once by it and
within the minute by every other warm process (as units and keys are, ``cached_units``). A
note made in that minute carries the template it was checked against, so nothing is
inconsistent: its bill is drawn from the template its fields were validated for.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import TemplateChoiceModel
from chalicelib.domain.bill_templates import TemplateChoice
from chalicelib.domain.units import KEY_CACHE_SECONDS

CHOICE_CACHE_SECONDS = KEY_CACHE_SECONDS
MAX_ROWS = 100  # far more than there are bill kinds: a bound on one scan, not a policy


@aws_boundary
class DynamoTemplateChoices:
    """TemplateChoices over the template-choices table, with a per-process copy."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._copy: tuple[float, dict[str, TemplateChoice]] | None = None

    def _rows(self) -> dict[str, TemplateChoice]:
        now = self._now()
        if self._copy is None or now - self._copy[0] >= CHOICE_CACHE_SECONDS:
            rows = {row.kind_code: TemplateChoice(
                kind_code=row.kind_code, template_id=row.template_id,
                version=int(row.template_version), chosen_at=row.chosen_at,
                chosen_by=row.chosen_by) for row in TemplateChoiceModel.scan(limit=MAX_ROWS)}
            self._copy = (now, rows)
        return self._copy[1]

    def get(self, kind_code: str) -> TemplateChoice | None:
        return self._rows().get(kind_code)

    def all(self) -> list[TemplateChoice]:
        rows = self._rows()
        return [rows[k] for k in sorted(rows)]

    def put(self, choice: TemplateChoice) -> None:
        TemplateChoiceModel(choice.kind_code, template_id=choice.template_id,
                            template_version=choice.version, chosen_at=choice.chosen_at,
                            chosen_by=choice.chosen_by).save()
        self._copy = None

"""A batch of verifications: each bill stands on its own, but our stores failing fails it all."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services.verification import verify_batch

READER = Unit(unit_code="340100901", name="某报销单位", kind=UnitKind.REIMBURSING,
              region_code="340100")
ITEM = {"bill_code": "34010126", "bill_number": "0000000001", "check_code": "abc123"}


class Down:
    """A store whose every call fails as AWS failing leaves an adapter (``aws_boundary``)."""

    def __getattr__(self, name: str):
        def call(*_args, **_kwargs):
            raise ServiceUnavailable("服务暂时不可用，请稍后重试")
        return call


def test_a_malformed_bill_is_reported_on_its_own_line(deps):
    answer = verify_batch(deps, READER, {"items": [{"bill_code": "x"}, ITEM]}, "unit@203.0.113.9")
    assert [r["result"] for r in answer["results"]] == ["invalid", "not_found"]


def test_a_store_failing_fails_the_whole_batch_instead_of_calling_its_bills_invalid(deps):
    deps.overrides["bills"] = Down()
    with pytest.raises(ServiceUnavailable):
        verify_batch(deps, READER, {"items": [ITEM]}, "unit@203.0.113.9")

"""A payer's "my bills" list: issuance puts each bill under the payer's phone key, not the text.

The index is written by the issuing job (and by a reversal, for the red bill), so a payer sees a
bill once it is issued, whatever becomes of the text message: the SMS queue may be slow, the
provider may refuse, the number may not take texts.
"""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.services.issuance import issue_bill
from chalicelib.services.lifecycle import reverse_bill
from chalicelib.services.phones import phone_key
from chalicelib.services.sms import send_bill_sms
from tests.unit.scenario import PHONE, UNIT, paid_note


def listed(deps, phone: str = PHONE) -> list[str]:
    return [entry.bill.bill_id for entry in
            deps.payer_bills.bills_of(phone_key(deps.payer_pepper, phone))]


def test_a_bill_is_listed_for_its_payer_once_issued_before_any_text_is_sent(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    assert ref is not None
    assert deps.sms.sent == []  # the SMS job has not run
    assert listed(deps) == [ref.bill_code + ref.bill_number]


def test_a_bill_whose_text_fails_is_listed_all_the_same(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    assert ref is not None
    deps.sms.fail_next(1)
    with pytest.raises(ServiceUnavailable):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert listed(deps) == [ref.bill_code + ref.bill_number]


def test_an_issuance_that_stopped_before_indexing_indexes_when_it_runs_again(deps):
    note = paid_note(deps)
    real = deps.payer_bills

    class Down:
        def index(self, bill_id: str, phone_key: str, sort_key: str) -> None:
            raise ServiceUnavailable("dynamodb down")

    deps.overrides["payer_bills"] = Down()
    with pytest.raises(ServiceUnavailable):
        issue_bill(deps, note.payment_code)  # the bill is complete; the index write failed
    deps.overrides["payer_bills"] = real
    assert listed(deps) == []
    ref = issue_bill(deps, note.payment_code)  # SQS delivers the job again
    assert ref is not None and listed(deps) == [ref.bill_code + ref.bill_number]


def test_a_red_bill_is_listed_for_its_payer_once_the_reversal_is_done(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    assert ref is not None
    unit = deps.units.get(UNIT.unit_code)
    red, made = reverse_bill(deps, unit, ref.bill_code, ref.bill_number, {"reason": "退费"})
    assert made and deps.sms.sent == []
    assert set(listed(deps)) == {ref.bill_code + ref.bill_number,
                                 red.bill_code + red.bill_number}


def test_a_bill_without_a_payer_phone_is_listed_for_nobody(deps):
    ref = issue_bill(deps, paid_note(deps, payer={"name": "张三", "type": "individual"}).payment_code)
    assert ref is not None
    assert deps.payer_bills.keys == {}

"""A payer's "my bills" list: issuance puts each bill under the payer's phone key, not the text.

The index keys are written by the issuing job, in the write that completes the bill (and by a
reversal, for the red bill), so a payer sees a bill once it is issued, whatever becomes of the
text message: the SMS queue may be slow, the provider may refuse, the number may not take texts.
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


class NoIndexWrites:
    def index(self, bill_id: str, phone_key: str, sort_key: str) -> None:
        raise AssertionError("the payer's index keys are written with the bill")


def test_the_payers_key_is_written_with_the_bill_not_in_a_write_of_its_own(deps):
    real = deps.payer_bills
    deps.overrides["payer_bills"] = NoIndexWrites()
    ref = issue_bill(deps, paid_note(deps).payment_code)
    deps.overrides["payer_bills"] = real
    assert ref is not None and listed(deps) == [ref.bill_code + ref.bill_number]


def test_a_bill_completed_by_older_code_that_stopped_before_indexing_is_indexed_on_a_rerun(deps):
    note = paid_note(deps)
    ref = issue_bill(deps, note.payment_code)
    assert ref is not None
    # older code completed the bill, then indexed it in a second write, and stopped between
    deps.payer_bills.keys.clear()
    assert listed(deps) == []
    assert issue_bill(deps, note.payment_code) == ref  # SQS delivers the job again
    assert listed(deps) == [ref.bill_code + ref.bill_number]


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

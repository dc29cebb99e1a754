"""The payment notice of a note and the 告知单 of a bill (``services/notices.py``), against the
fakes."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.services.issuance import issue_bill
from chalicelib.services.lifecycle import void_bill
from chalicelib.services.notices import bill_notice_pdf, notice_pdf
from tests.unit.scenario import OTHER_UNIT, UNIT, create_note, paid_note


class RecordingRenderer:
    """NoticeRenderer: what it was asked to draw, and a stand-in PDF."""

    def __init__(self) -> None:
        self.drawn: list[tuple] = []

    def render(self, note, *, unit_name: str, region_name: str, pay_url: str) -> bytes:
        self.drawn.append((note.payment_code, unit_name, region_name, pay_url))
        return b"%PDF-1.4 notice"

    def render_bill(self, bill, *, bill_url: str, status_text: str | None = None,
                    status_note: str = "") -> bytes:
        self.drawn.append((bill.bill_id, bill_url, status_text, status_note))
        return b"%PDF-1.4 bill notice"


def test_the_notice_shows_the_unit_the_region_and_the_pay_page_of_the_note(deps):
    deps.overrides["notice_renderer"] = renderer = RecordingRenderer()
    code = create_note(deps).payment_code
    assert notice_pdf(deps, UNIT, code) == b"%PDF-1.4 notice"
    assert renderer.drawn == [(code, UNIT.name, deps.settings.region_name,
                               f"{deps.settings.public_base_url}/pay/{code}")]


def test_another_units_note_has_no_notice_and_nothing_is_drawn(deps):
    deps.overrides["notice_renderer"] = renderer = RecordingRenderer()
    code = create_note(deps).payment_code
    with pytest.raises(NotFound):
        notice_pdf(deps, OTHER_UNIT, code)
    assert renderer.drawn == []


def test_the_real_renderer_draws_a_pdf(deps):
    code = create_note(deps).payment_code
    assert notice_pdf(deps, UNIT, code).startswith(b"%PDF")


def test_the_bill_notice_points_at_the_bills_public_link(deps):
    deps.overrides["notice_renderer"] = renderer = RecordingRenderer()
    ref = issue_bill(deps, paid_note(deps).payment_code)
    assert bill_notice_pdf(deps, UNIT, ref.bill_code, ref.bill_number) == b"%PDF-1.4 bill notice"
    url = (f"{deps.settings.public_base_url}/bills/{ref.bill_code}/{ref.bill_number}"
           f"?check_code={ref.check_code}")
    assert renderer.drawn == [(ref.bill_code + ref.bill_number, url, None, "")]


def test_a_voided_bills_notice_says_it_is_voided(deps):
    deps.overrides["notice_renderer"] = renderer = RecordingRenderer()
    ref = issue_bill(deps, paid_note(deps).payment_code)
    void_bill(deps, UNIT, ref.bill_code, ref.bill_number, {"reason": "开票信息填写错误"})
    bill_notice_pdf(deps, UNIT, ref.bill_code, ref.bill_number)
    assert renderer.drawn[0][2:] == ("已作废", "本票据已作废，不能作为报销凭证。")


def test_another_units_bill_has_no_notice_and_nothing_is_drawn(deps):
    deps.overrides["notice_renderer"] = renderer = RecordingRenderer()
    ref = issue_bill(deps, paid_note(deps).payment_code)
    with pytest.raises(NotFound):
        bill_notice_pdf(deps, OTHER_UNIT, ref.bill_code, ref.bill_number)
    assert renderer.drawn == []

"""The payment notice of a note (``services/notices.py``), against the fakes."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.services.notices import notice_pdf
from tests.unit.scenario import OTHER_UNIT, UNIT, create_note


class RecordingRenderer:
    """NoticeRenderer: what it was asked to draw, and a stand-in PDF."""

    def __init__(self) -> None:
        self.drawn: list[tuple] = []

    def render(self, note, *, unit_name: str, region_name: str, pay_url: str) -> bytes:
        self.drawn.append((note.payment_code, unit_name, region_name, pay_url))
        return b"%PDF-1.4 notice"


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

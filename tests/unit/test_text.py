"""clean_text: the one rule for every free-text field of every route."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.text import check_text, clean_text


@pytest.mark.parametrize(("value", "why"), [
    ("凭证\ud800", "must not contain control characters"),  # lone surrogate: not UTF-8
    ("V\x00001", "must not contain control characters"),
    ("V\x1b[31m", "must not contain control characters"),
    ("行一\u2028行二", "must not contain control characters"),
    ("V\x85W", "must not contain control characters"),  # C1 (NEL) inside the text
    ("V\ufffe", "must not contain control characters"),
    ("V\ufdd0", "must not contain control characters"),
    ("V\U0001fffe", "must not contain control characters"),
    ("张三\u202e123", "must not contain control characters"),  # bidi override
    ("\u200b\u200d\ufeff", "must contain visible characters"),
    ("\u3000\u200b", "must contain visible characters"),
    ("\u0301\u0301", "must contain visible characters"),
    ("V" * 65, "must be at most 64 characters"),
    (64, "must be a string"), (["V"], "must be a string"),
])
def test_refuses_what_cannot_be_stored_signed_or_printed(value, why):
    assert clean_text(value, limit=64, required=True) == (None, why)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_absent_text_is_none_unless_required(value):
    assert clean_text(value, limit=64, required=False) == (None, None)
    assert clean_text(value, limit=64, required=True) == (None, "is required")


@pytest.mark.parametrize(("value", "kept"), [
    (" 记-2026-0015 ", "记-2026-0015"), ("𠮷野家", "𠮷野家"), ("Zoë", "Zoë"),
    ("\ue000张", "\ue000张"),  # private use: rare characters some registries encode there
    ("👨\u200d👩", "👨\u200d👩"),
])
def test_keeps_ordinary_text_stripped(value, kept):
    assert clean_text(value, limit=64, required=True) == (kept, None)


def test_check_text_names_the_field():
    with pytest.raises(ValidationFailed) as refused:
        check_text("a\x00", "voucher_no", limit=64, required=False, message="凭证号格式不正确")
    assert refused.value.fields == {"voucher_no": "must not contain control characters"}
    assert refused.value.message == "凭证号格式不正确"

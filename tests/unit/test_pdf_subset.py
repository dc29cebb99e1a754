"""The font subset embedded in every PDF is the one reportlab itself makes, byte for byte."""

from __future__ import annotations

import random
from struct import unpack_from

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFile

from chalicelib.adapters.pdf_render import register_cjk_font
from chalicelib.adapters.pdf_subset import SubsetMaker

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
BILL_TEXT = ("北京市非税收入统一票据（电子）票据代码票据号码校验码开票日期交款人统一社会信用代码"
             "项目编码项目名称单位数量标准金额（元）机动车违法停车罚款驾驶证工本费合计大写壹佰伍拾元整"
             "收款单位（章）复核人收款人0123456789.-:：；ABCDEFabcdef张三丰")


def _face():
    return pdfmetrics.getFont(register_cjk_font(FONT)).face


def _subset(text: str) -> list[int]:
    """As reportlab hands a subset over: code 0 first, then the characters in order of use."""
    seen = [0]
    for ch in text:
        if ord(ch) not in seen:
            seen.append(ord(ch))
    return seen


def test_a_bill_pages_subset_is_the_one_reportlab_makes():
    face = _face()
    subset = _subset(BILL_TEXT)
    assert SubsetMaker(face)(subset) == TTFontFile.makeSubset(face, subset)


def test_random_subsets_with_composite_glyphs_and_missing_characters_are_reportlabs():
    face = _face()
    maker = SubsetMaker(face)
    glyf = face.get_table("glyf")
    composite = {g for g in set(face.charToGlyph.values())
                 if face.glyphPos[g + 1] - face.glyphPos[g] >= 2
                 and unpack_from(">h", glyf, face.glyphPos[g])[0] < 0}
    with_components = sorted(c for c, g in face.charToGlyph.items() if g in composite)
    plain = sorted(c for c, g in face.charToGlyph.items() if g not in composite)
    assert with_components and plain  # the face has both kinds: both paths are exercised
    rnd = random.Random(20260615)
    for _ in range(40):
        subset = [0, *rnd.sample(plain, rnd.randrange(1, 120)),
                  *rnd.sample(with_components, rnd.randrange(1, 120)),
                  0x10FFFF]  # a character the face lacks: glyph 0
        rnd.shuffle(subset)
        assert maker(subset) == TTFontFile.makeSubset(face, subset)


def test_the_registered_font_subsets_with_the_faster_maker():
    assert isinstance(_face().makeSubset, SubsetMaker)

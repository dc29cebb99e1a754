"""The faster mask choice of the bill's QR code makes exactly the code ``qrcode`` makes."""

from __future__ import annotations

import random
import string

import pytest
import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from chalicelib.adapters.qr_masks import FastMaskQRCode, penalty


def _urls() -> list[str]:
    rnd = random.Random(20260615)
    alphabet = string.ascii_letters + string.digits
    urls = []
    for k in range(120):
        url = (f"https://pjcy.czj.beijing.gov.cn/v?c={rnd.randrange(10 ** 8):08d}"
               f"&n={rnd.randrange(10 ** 10):010d}&k={''.join(rnd.choices(alphabet, k=6))}")
        urls.append(url + "/x" * (k % 12) * 9)  # versions 5 to 12: the type number from 7 on
    return urls


def _code(cls: type[qrcode.QRCode], data: str) -> qrcode.QRCode:
    code = cls(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code


def test_the_fast_mask_choice_makes_the_same_code_as_qrcode_for_bill_urls_of_every_size():
    versions = set()
    for url in _urls():
        ours, theirs = _code(FastMaskQRCode, url), _code(qrcode.QRCode, url)
        versions.add(theirs.version)
        assert ours.version == theirs.version
        assert ours.get_matrix() == theirs.get_matrix(), url
    assert min(versions) <= 5 and max(versions) >= 7


@pytest.mark.parametrize("mask", range(8))
def test_the_penalty_of_each_mask_is_the_one_qrcode_computes(mask):
    code = _code(qrcode.QRCode, _urls()[30])
    code.makeImpl(True, mask)
    rows = [int("".join("1" if m else "0" for m in row), 2) for row in code.modules]
    assert penalty(rows, len(rows)) == util.lost_point(code.modules)

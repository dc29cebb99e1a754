"""The bill's QR code, made by ``qr_masks.qr_rows``, is exactly the code ``qrcode`` makes."""

from __future__ import annotations

import random
import string

import pytest
import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from chalicelib.adapters.qr_masks import penalty, qr_matrix, qr_rows


def _urls() -> list[str]:
    rnd = random.Random(20260615)
    alphabet = string.ascii_letters + string.digits
    urls = []
    for k in range(120):
        url = (f"https://pjcy.czj.beijing.gov.cn/v?c={rnd.randrange(10 ** 8):08d}"
               f"&n={rnd.randrange(10 ** 10):010d}&k={''.join(rnd.choices(alphabet, k=6))}")
        urls.append(url + "/x" * (k % 12) * 9)  # versions 5 to 12: the type number from 7 on
    return urls


def _texts() -> list[str]:
    """Digits (numeric runs), upper-case text (alphanumeric), mixed text with Chinese (bytes),
    and URLs with long digit runs (one code of several segments), of many lengths."""
    rnd = random.Random(20260616)
    upper = string.ascii_uppercase + string.digits + " $%*+-./:"
    mixed = string.ascii_letters + string.digits + "/:?&=.-_ %中文票据"
    texts = []
    for k in range(50):
        length = 1 + (k * 37) % 400
        texts.append("".join(rnd.choices(string.digits, k=length)))
        texts.append("".join(rnd.choices(upper, k=length)))
        texts.append("".join(rnd.choices(mixed, k=length // 2 + 1)))
        texts.append(f"https://pay.example.cn/p/{rnd.randrange(10 ** 20):020d}"
                     + "".join(rnd.choices(string.digits, k=length // 3)) + "?x=" + "ab" * (k % 5))
    return texts


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code


def test_the_code_of_every_bill_url_size_is_the_one_qrcode_makes():
    versions = set()
    for url in _urls():
        theirs = _code(url)
        versions.add(theirs.version)
        n, rows = qr_rows(url)
        assert n == theirs.version * 4 + 17
        assert qr_matrix(url) == theirs.get_matrix(), url
    assert min(versions) <= 5 and max(versions) >= 7


def test_the_code_of_digits_text_and_mixed_segments_is_the_one_qrcode_makes():
    versions = set()
    for text in _texts():
        theirs = _code(text)
        versions.add(theirs.version)
        assert qr_matrix(text) == theirs.get_matrix(), text
    assert min(versions) == 1 and max(versions) >= 10


def test_rows_hold_the_leftmost_module_in_their_highest_bit():
    n, rows = qr_rows("https://pjcy.czj.beijing.gov.cn/v?c=11010125&n=0000123456&k=aB3dE9")
    matrix = _code("https://pjcy.czj.beijing.gov.cn/v?c=11010125&n=0000123456&k=aB3dE9"
                   ).get_matrix()
    assert [format(row, f"0{n}b") for row in rows] == [
        "".join("1" if m else "0" for m in line) for line in matrix]


@pytest.mark.parametrize("mask", range(8))
def test_the_penalty_of_each_mask_is_the_one_qrcode_computes(mask):
    for data in (_urls()[30], _urls()[100], "1" * 40, "HELLO WORLD 2026"):
        code = _code(data)
        code.makeImpl(True, mask)
        rows = [int("".join("1" if m else "0" for m in row), 2) for row in code.modules]
        assert penalty(rows, len(rows)) == util.lost_point(code.modules)

"""QR codes (level M) exactly as ``qrcode`` makes them, about six times faster.

``qrcode`` builds a code's matrix module by module in Python nine times (once per mask to score
it, ISO/IEC 18004 8.8.2, then once more with the mask chosen), and computes the error correction
with polynomial objects: about 6 ms for a bill URL, a quarter of drawing a bill's PDF.
``qr_rows`` keeps ``qrcode``'s own choices (its segmentation into numeric, alphanumeric and byte
runs, its version fitting, its padding, its tables) and makes the rest cheap:

- what depends only on the version is worked out once per process (``_layout``): where each
  data bit goes (the same zigzag ``qrcode.QRCode.map_data`` walks), every function pattern, and
  each mask as rows of bits over the data modules;
- the data bits are placed once; each mask is then an XOR of whole rows held as integers;
- Reed-Solomon by log/antilog tables instead of polynomial objects;
- each candidate is scored with the same four penalty rules on rows held as integers and
  strings, where the work happens in C (bit counts, regular expressions). Ties go to the lower
  mask, as in ``qrcode``.

So the version, the mask and every module are those ``qrcode.QRCode(error_correction=M)`` makes
(``tests/unit/test_qr_masks.py`` compares them for URLs, digits and text of many sizes).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import cache

import qrcode
import qrcode.exceptions
import qrcode.main
from qrcode import base, util
from qrcode.constants import ERROR_CORRECT_M

FINDER = ("10111010000", "00001011101")  # 1:1:3:1:1 with four light modules after or before
OPTIMIZE = 20  # qrcode.QRCode.add_data's default: runs of 20 digits or more are numeric
_EXP, _LOG = base.EXP_TABLE, base.LOG_TABLE


def _pack(lines: list[str]) -> int:
    """Lines of module bits ("1" dark) as one integer, a light gap module between two lines:
    no run or pattern can span two lines, and a line's neighbour is ``len(line) + 1`` bits away."""
    return int("0".join(lines), 2)


def penalty(rows: list[int], n: int) -> int:
    """ISO/IEC 18004's mask penalty (N1..N4) of an ``n``×``n`` matrix given as row bits, with
    the same arithmetic as ``qrcode.util.lost_point``."""
    texts = [format(r, f"0{n}b") for r in rows]
    return _penalty(_pack(texts), _pack(["".join(c) for c in zip(*texts, strict=True)]),
                    _pack(["1" * n] * n), n)


def _runs(line_bits: int) -> int:
    """N1 of one colour: each run of five or more modules scores its length minus 2."""
    x = line_bits
    fives = x & (x >> 1) & (x >> 2) & (x >> 3) & (x >> 4)  # where five in a row start
    return fives.bit_count() + 2 * (fives & ~(x << 1)).bit_count()  # (L - 4) + 2 per run


def _finders(dark: int, light: int) -> int:
    """N3's count: finder-like patterns along the packed lines, overlaps included."""
    count = 0
    for pattern in FINDER:
        match = -1
        for k, module in enumerate(pattern):
            match &= (dark if module == "1" else light) >> k
        count += match.bit_count()
    return count


def _penalty(rows: int, columns: int, valid: int, n: int) -> int:
    """``penalty`` of a matrix packed by rows and by columns (``_pack``); ``valid`` has every
    module's bit set and no gap's. Each rule is a few operations on the whole matrix at once:
    the work is done by Python's integer arithmetic in C."""
    light_rows, light_columns = ~rows & valid, ~columns & valid
    score = (_runs(rows) + _runs(light_rows) + _runs(columns) + _runs(light_columns))
    step = n + 1
    dark = rows & (rows >> step)  # with the module below
    light = light_rows & (light_rows >> step)
    score += 3 * ((dark & (dark >> 1)).bit_count() + (light & (light >> 1)).bit_count())
    score += 40 * (_finders(rows, light_rows) + _finders(columns, light_columns))
    percent = float(rows.bit_count()) / (n ** 2)
    return score + int(abs(percent * 100 - 50) / 5) * 10


def _lines(modules: list[list[bool | None]]) -> tuple[list[str], list[str]]:
    """A matrix's rows and columns as strings of module bits ("1" dark)."""
    rows = ["".join("1" if m else "0" for m in row) for row in modules]
    return rows, ["".join(column) for column in zip(*rows, strict=True)]


@dataclass(frozen=True)
class _Layout:
    """What one version of a level-M code is, whatever its data; matrices packed (``_pack``)
    by rows and by columns."""

    n: int
    order: tuple[int, ...]  # the flat index (row * n + column) of each data bit, in order
    valid: int  # every module
    test: tuple[int, int]  # the function patterns as qrcode scores masks (format info light)
    masks: tuple[tuple[int, int], ...]  # per mask: the data modules it darkens
    final: tuple[int, ...]  # per mask: the function patterns with its format info, by rows
    blocks: tuple[tuple[int, int], ...]  # Reed-Solomon blocks: (data, error correction) words
    generators: dict[int, tuple[int, ...]]  # error correction words → generator (log form)


def _packed(modules: list[list[bool | None]]) -> tuple[int, int]:
    rows, columns = _lines(modules)
    return _pack(rows), _pack(columns)


@cache
def _layout(version: int) -> _Layout:
    probe = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0)
    probe.add_data("")
    probe.makeImpl(True, 0)  # fills qrcode's own blank of this version (finders, timing, ...)
    n = probe.modules_count

    def functions(test: bool, mask: int) -> list[list[bool | None]]:
        probe.modules = [list(row) for row in qrcode.main.precomputed_qr_blanks[version]]
        probe.setup_type_info(test, mask)
        if version >= 7:
            probe.setup_type_number(test)
        return probe.modules

    blank = functions(True, 0)
    order = []  # the walk of qrcode.QRCode.map_data, recording instead of placing
    row, inc = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if blank[row][c] is None:
                    order.append(row * n + c)
            row += inc
            if row < 0 or n <= row:
                row -= inc
                inc = -inc
                break
    data_modules, masks = set(order), []
    for mask in range(8):
        darkened = util.mask_func(mask)
        masks.append(_packed([[r * n + c in data_modules and darkened(r, c) for c in range(n)]
                              for r in range(n)]))
    blocks = tuple((b.data_count, b.total_count - b.data_count)
                   for b in base.rs_blocks(version, ERROR_CORRECT_M))
    return _Layout(n=n, order=tuple(order), valid=_pack(["1" * n] * n), test=_packed(blank),
                   masks=tuple(masks),
                   final=tuple(_packed(functions(False, m))[0] for m in range(8)),
                   blocks=blocks, generators={ec: _generator(ec) for _, ec in blocks})


def _generator(ec: int) -> tuple[int, ...]:
    """The Reed-Solomon generator of ``ec`` words, highest power first, as logs of its
    coefficients after the leading 1 (the polynomial ``qrcode`` divides by)."""
    poly = [1]
    for i in range(ec):  # times (x - a^i)
        nxt = [*poly, 0]
        for k, coefficient in enumerate(poly):
            if coefficient:
                nxt[k + 1] ^= _EXP[(_LOG[coefficient] + i) % 255]
        poly = nxt
    return tuple(_LOG[c] for c in poly[1:])


def _error_correction(data: list[int], generator: tuple[int, ...]) -> list[int]:
    """The remainder of ``data`` · x^ec divided by the generator (ec words)."""
    remainder = [0] * len(generator)
    for word in data:
        factor = word ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            log = _LOG[factor]
            for k, g in enumerate(generator):
                remainder[k] ^= _EXP[(g + log) % 255]
    return remainder


_NUMBER_BITS = {1: 4, 2: 7, 3: 10}


def _segment_bits(chunk: util.QRData) -> str:
    data, mode = chunk.data, chunk.mode
    if mode == util.MODE_NUMBER:
        return "".join(format(int(data[i:i + 3]), f"0{_NUMBER_BITS[len(data[i:i + 3])]}b")
                       for i in range(0, len(data), 3))
    if mode == util.MODE_ALPHA_NUM:
        find, out = util.ALPHA_NUM.find, []
        for i in range(0, len(data), 2):
            pair = data[i:i + 2]
            out.append(format(find(pair[:1]) * 45 + find(pair[1:]), "011b") if len(pair) > 1
                       else format(find(pair), "06b"))
        return "".join(out)
    return "".join([format(byte, "08b") for byte in data])


def _fit(chunks: list[tuple[util.QRData, str]]) -> int:
    """``qrcode.QRCode.best_fit``: the least version whose capacity holds the bits."""
    limits = util.BIT_LIMIT_TABLE[ERROR_CORRECT_M]
    start = 1
    while True:
        sizes = util.mode_sizes_for_version(start)
        needed = sum(4 + sizes[chunk.mode] + len(bits) for chunk, bits in chunks)
        version = bisect_left(limits, needed, start)
        if version == 41:
            raise qrcode.exceptions.DataOverflowError()
        if sizes is util.mode_sizes_for_version(version):
            return version
        start = version


def qr_rows(data: str) -> tuple[int, tuple[int, ...]]:
    """``data`` as a QR code at level M: its side ``n`` in modules (no quiet zone) and its rows
    top to bottom, each an ``n``-bit integer whose highest bit is the leftmost module (1 dark)."""
    chunks = [(chunk, _segment_bits(chunk))
              for chunk in util.optimal_data_chunks(data, minimum=OPTIMIZE)]
    version = _fit(chunks)
    layout = _layout(version)
    sizes = util.mode_sizes_for_version(version)
    stream = "".join(format(chunk.mode, "04b") + format(len(chunk), f"0{sizes[chunk.mode]}b")
                     + bits for chunk, bits in chunks)
    limit = sum(d for d, _ in layout.blocks) * 8
    stream += "0" * min(limit - len(stream), 4)  # the terminator
    stream += "0" * (-len(stream) % 8)
    words = [int(stream[i:i + 8], 2) for i in range(0, len(stream), 8)]
    words += [util.PAD0 if k % 2 == 0 else util.PAD1 for k in range((limit - len(stream)) // 8)]
    data_blocks, ec_blocks, offset = [], [], 0
    for count, ec in layout.blocks:
        block = words[offset:offset + count]
        offset += count
        data_blocks.append(block)
        ec_blocks.append(_error_correction(block, layout.generators[ec]))
    codewords = [block[i] for i in range(max(map(len, data_blocks)))
                 for block in data_blocks if i < len(block)]
    codewords += [block[i] for i in range(max(map(len, ec_blocks)))
                  for block in ec_blocks if i < len(block)]
    n = layout.n
    cells = ["0"] * (n * n)
    bits = "".join([format(word, "08b") for word in codewords])
    for flat, bit in zip(layout.order, bits, strict=False):  # the rest stay light
        cells[flat] = bit
    rows = _pack(["".join(cells[r * n:(r + 1) * n]) for r in range(n)])
    columns = _pack(["".join(cells[c::n]) for c in range(n)])
    test_rows, test_columns = layout.test
    scores = [(_penalty(test_rows | (rows ^ mask_rows), test_columns | (columns ^ mask_columns),
                        layout.valid, n), k)
              for k, (mask_rows, mask_columns) in enumerate(layout.masks)]
    best = min(scores)[1]
    matrix = layout.final[best] | (rows ^ layout.masks[best][0])
    full, step = (1 << n) - 1, n + 1
    return n, tuple((matrix >> (step * (n - 1 - r))) & full for r in range(n))


def qr_matrix(data: str) -> list[list[bool]]:
    """``qr_rows`` as ``qrcode.QRCode.get_matrix`` gives it without a border."""
    n, rows = qr_rows(data)
    return [[bool(row >> (n - 1 - c) & 1) for c in range(n)] for row in rows]

"""A unit's seal image (印章), checked before anything keeps it: a PNG, by its bytes.

What a finance department (or a unit) uploads is printed on every later bill of the unit, by an
issuance job that cannot ask anyone what to do with a broken file. So the image is checked
whole, not by its name or its declared type:

- at most ``MAX_SEAL_BYTES``, starting with PNG's signature, an ``IHDR`` first;
- every chunk whole, its CRC right, ``IEND`` last, nothing after it;
- width and height 120 to 2000 pixels, within a tenth of a square (a round seal);
- a bit depth its colour type allows, a palette when the colour type needs one;
- the image data inflates to exactly the rows the header promises (interlaced or not), read
  in bounded pieces: at most 2000 × (1 + 2000 × 8) bytes ≈ 32 MB however the file was made,
  so a small file that inflates without end is refused after that many bytes, not kept.

Pure: ``zlib`` from the standard library; the renderer (Pillow) never sees a file that fails.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from chalicelib.domain.errors import ValidationFailed

MAX_SEAL_BYTES = 256 * 1024
MIN_SIDE, MAX_SIDE = 120, 2000
SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type → (channels, allowed bit depths)
COLOUR_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)),
                4: (2, (8, 16)), 6: (4, (8, 16))}
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))  # (x0, y0, dx, dy) of each pass


@dataclass(frozen=True)
class SealImage:
    """An accepted seal image's facts (the bytes themselves are kept by the caller)."""

    width: int
    height: int
    size: int  # bytes


def _refuse(message: str, why: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": why}, code="seal_invalid")


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], len(SIGNATURE)
    while at < len(data):
        if at + 12 > len(data):
            raise _refuse("印章图片文件不完整", "truncated chunk")
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        end = at + 8 + length
        if end + 4 > len(data):
            raise _refuse("印章图片文件不完整", f"chunk {kind!r} runs past the end")
        body = data[at + 8:end]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end:end + 4])[0]:
            raise _refuse("印章图片文件已损坏", f"chunk {kind!r}: CRC mismatch")
        chunks.append((kind, body))
        at = end + 4
        if kind == b"IEND":
            break
    if at != len(data) or not chunks or chunks[-1][0] != b"IEND":
        raise _refuse("印章图片文件不完整", "must end with IEND, nothing after it")
    return chunks


def _row_bytes(width: int, channels: int, depth: int) -> int:
    return 1 + (width * channels * depth + 7) // 8  # the filter byte, then the pixels


def expected_data_size(width: int, height: int, channels: int, depth: int,
                       interlaced: bool) -> int:
    """How many bytes the image data inflates to: its filtered rows (each pass's, interlaced)."""
    if not interlaced:
        return height * _row_bytes(width, channels, depth)
    total = 0
    for x0, y0, dx, dy in ADAM7:
        pass_w, pass_h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pass_w > 0 and pass_h > 0:
            total += pass_h * _row_bytes(pass_w, channels, depth)
    return total


def _inflated_size(compressed: list[bytes], limit: int) -> int:
    """Bytes the concatenated IDAT data inflates to, reading at most ``limit + 1``."""
    inflater, total = zlib.decompressobj(), 0
    try:
        for piece in compressed:
            data = piece
            while data:
                out = inflater.decompress(data, 1 << 20)
                total += len(out)
                if total > limit:
                    return total
                data = inflater.unconsumed_tail
        total += len(inflater.flush())
    except zlib.error as exc:
        raise _refuse("印章图片文件已损坏", f"image data does not inflate: {exc}") from None
    if not inflater.eof:
        raise _refuse("印章图片文件不完整", "image data stops before its end")
    return total


def check_seal_png(data: bytes) -> SealImage:
    """The facts of an acceptable seal image, else ``ValidationFailed`` (``seal_invalid``)
    naming ``file`` with the reason (see the module's list)."""
    if len(data) > MAX_SEAL_BYTES:
        raise ValidationFailed("印章图片不能超过 256 KB", {"file": "at most 256 KB"},
                               code="seal_invalid")
    if data[:8] != SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        raise _refuse("印章图片应为 PNG 格式", "must be a PNG image")
    chunks = _chunks(data)
    header = chunks[0][1]
    if chunks[0][0] != b"IHDR" or len(header) != 13:
        raise _refuse("印章图片应为 PNG 格式", "IHDR must come first, 13 bytes")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", header)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) \
            or abs(width - height) > width // 10:
        raise _refuse("印章图片应为近似正方形，边长 120 至 2000 像素",
                      f"{width}×{height} px: need a square of {MIN_SIDE}-{MAX_SIDE} px")
    if colour not in COLOUR_TYPES or depth not in COLOUR_TYPES[colour][1] \
            or compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise _refuse("印章图片的 PNG 格式不受支持",
                      f"colour type {colour}, bit depth {depth}: not a valid PNG combination")
    kinds = [kind for kind, _ in chunks]
    if colour == 3 and b"PLTE" not in kinds:
        raise _refuse("印章图片缺少调色板", "colour type 3 needs a PLTE chunk")
    idat = [body for kind, body in chunks if kind == b"IDAT"]
    if not idat:
        raise _refuse("印章图片没有图像数据", "no IDAT chunk")
    expected = expected_data_size(width, height, COLOUR_TYPES[colour][0], depth,
                                  interlace == 1)
    got = _inflated_size(idat, expected)
    if got != expected:
        raise _refuse("印章图片文件已损坏",
                      f"image data inflates to {f'more than {expected}' if got > expected else got}"
                      f" bytes, not the {expected} its header says")
    return SealImage(width=width, height=height, size=len(data))

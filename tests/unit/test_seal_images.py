"""A seal image is checked whole, by its bytes, before anything keeps it (domain/seal_images)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.seal_images import (
    MAX_SEAL_BYTES,
    check_seal_png,
    expected_data_size,
)


def pillow_png(size: int = 300, mode: str = "RGBA", **save) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new(mode, (size, size))
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), outline=1 if mode in "1P" else
                                  (208, 2, 27, 255)[:len(mode)] if mode != "L" else 128, width=12)
    out = io.BytesIO()
    image.save(out, format="PNG", **save)
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def handmade(width: int, height: int, data: bytes, *, depth: int = 8, colour: int = 6,
             interlace: int = 0, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


def refused(data: bytes) -> str:
    with pytest.raises(ValidationFailed) as caught:
        check_seal_png(data)
    assert caught.value.code == "seal_invalid"
    return caught.value.fields["file"]


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "P", "1", "LA"])
def test_a_png_that_pillow_writes_is_accepted_in_every_colour_type(mode):
    image = check_seal_png(pillow_png(300, mode))
    assert (image.width, image.height) == (300, 300)


def test_an_interlaced_png_is_accepted_and_its_passes_counted_exactly():
    rows = expected_data_size(300, 300, 4, 8, interlaced=True)
    assert check_seal_png(handmade(300, 300, b"\x00" * rows, interlace=1)).width == 300
    assert "inflates to" in refused(handmade(300, 300, b"\x00" * (rows - 1), interlace=1))


def test_a_file_that_is_not_a_png_is_refused_whatever_it_is_called():
    assert refused(b"GIF89a" + b"\x00" * 100) == "must be a PNG image"
    assert refused(b"\xff\xd8\xff\xe0" + b"\x00" * 100) == "must be a PNG image"


def test_a_png_over_256_kb_is_refused_before_it_is_read():
    with pytest.raises(ValidationFailed, match="256 KB"):
        check_seal_png(pillow_png() + b"\x00" * MAX_SEAL_BYTES)


@pytest.mark.parametrize("width,height", [(100, 100), (2001, 2001), (600, 200), (300, 340)])
def test_a_seal_too_small_too_large_or_not_square_is_refused(width, height):
    rows = height * (1 + width * 4)
    assert "need a square" in refused(handmade(width, height, b"\x00" * rows))


def test_a_broken_chunk_a_truncated_file_or_bytes_after_the_end_are_refused():
    good = pillow_png()
    broken = bytearray(good)
    broken[40] ^= 0xFF  # inside IHDR or the first chunk after it: its CRC no longer holds
    assert "CRC" in refused(bytes(broken))
    assert refused(good[:-20])
    assert refused(good + b"trailer") == "must end with IEND, nothing after it"


def test_image_data_that_inflates_beyond_its_header_is_refused_after_a_bounded_read():
    # 41 KB of zlib that inflates to 40 MB: refused once more than the header's rows came out.
    rows = expected_data_size(2000, 2000, 4, 8, interlaced=False)
    bomb = handmade(2000, 2000, b"\x00" * (40 * 1024 * 1024))
    assert len(bomb) < MAX_SEAL_BYTES
    assert refused(bomb) == f"image data inflates to more than {rows} bytes, not the {rows} its header says"


def test_image_data_cut_short_or_not_deflate_is_refused():
    rows = expected_data_size(300, 300, 4, 8, interlaced=False)
    assert "inflates to" in refused(handmade(300, 300, b"\x00" * (rows // 2)))
    header = struct.pack(">IIBBBBB", 300, 300, 8, 6, 0, 0, 0)
    garbage = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not deflate")
               + chunk(b"IEND", b""))
    assert "does not inflate" in refused(garbage)


def test_impossible_colour_and_depth_or_a_palette_image_without_its_palette_are_refused():
    rows = 300 * (1 + 300 * 3)
    assert "not a valid PNG combination" in refused(handmade(300, 300, b"\x00" * rows,
                                                             depth=4, colour=2))
    assert "PLTE" in refused(handmade(300, 300, b"\x00" * (300 * 301), colour=3))
    assert refused(handmade(300, 300, b"", extra=b"")[:33] + chunk(b"IEND", b""))


def test_a_file_pillow_cannot_read_is_a_field_error_from_the_renderer_never_a_crash():
    from chalicelib.adapters.pdf_layout import seal_image

    for unreadable in (b"not an image", pillow_png()[:200]):
        with pytest.raises(ValidationFailed) as caught:
            seal_image(unreadable)
        assert caught.value.code == "seal_invalid" and "file" in caught.value.fields


def test_a_seal_is_decoded_and_scaled_once_per_process_and_each_caller_gets_its_own_copy():
    from chalicelib.adapters.pdf_layout import SEAL_PIXELS, _scaled_seal, seal_image

    png = pillow_png(1000)
    first = seal_image(png)
    hits = _scaled_seal.cache_info().hits
    second = seal_image(png)
    assert _scaled_seal.cache_info().hits == hits + 1
    assert first is not second and first.tobytes() == second.tobytes()
    assert max(first.size) == SEAL_PIXELS
    first.putpixel((0, 0), (1, 2, 3, 4))  # a caller's change stays its own
    assert seal_image(png).getpixel((0, 0)) != (1, 2, 3, 4)

"""Hostile bill files, built byte by byte: the uploads an attacker would send to verification.

PDFs are written by hand (``pdf_with``) so that each can be wrong in exactly one way: a circular
``/Prev`` chain, a compression bomb (Flate or LZW) as the attached XML, too many filters, a
declared length far past the end, nesting deeper than any parser's stack, a truncated body.
XML variants start from a real signed bill and change one thing.
"""

from __future__ import annotations

import zlib
from functools import cache


def _object(number: int, body: bytes) -> bytes:
    return f"{number} 0 obj\n".encode() + body + b"\nendobj\n"


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return dictionary[:-2] + f" /Length {len(data)} >>".encode() + b"\nstream\n" + data + \
        b"\nendstream"


def pdf_with(objects: dict[int, bytes], *, trailer: bytes = b"", prev_loop: bool = False) -> bytes:
    """A PDF of ``objects`` (number → body) with a correct cross-reference table.

    With ``prev_loop`` it has two cross-reference sections whose trailers name each other as
    ``/Prev``: reading the chain never ends unless the reader notices.
    """
    out = b"%PDF-1.7\n"
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += _object(number, body)
    size = max(objects) + 1

    def section(prev: int | None) -> bytes:
        rows = b"".join(f"{offsets.get(n, 0):010d} 00000 n \n".encode() for n in range(1, size))
        back = f" /Prev {prev:010d}" if prev is not None else ""  # one width for any offset
        return (f"xref\n0 {size}\n".encode() + b"0000000000 65535 f \n" + rows
                + f"trailer\n<< /Size {size} /Root 1 0 R{back} ".encode() + trailer + b">>\n")

    first = len(out)
    if prev_loop:
        second = first + len(section(0))
        out += section(second) + section(first)
        start = second
    else:
        out += section(None)
        start = first
    return out + f"startxref\n{start}\n%%EOF\n".encode()


def attachment_pdf(stream_dict: bytes, data: bytes, name: bytes = b"bill.xml") -> bytes:
    """A one-attachment PDF whose embedded file ``name`` is ``data`` under ``stream_dict``."""
    return pdf_with({
        1: b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [("
           + name + b") 3 0 R] >> >> >>",
        2: b"<< /Type /Pages /Kids [] /Count 0 >>",
        3: b"<< /Type /Filespec /F (" + name + b") /EF << /F 4 0 R >> >>",
        4: _stream(stream_dict, data),
    })


def flate_bomb(size: int) -> bytes:
    """``size`` zero bytes, deflated (about a thousandth of ``size``)."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    out = b"".join(compressor.compress(chunk) for _ in range(size // len(chunk)))
    return out + compressor.flush()


def lzw_zeros(size: int) -> bytes:
    """``size`` zero bytes, LZW-encoded as PDF's ``/LZWDecode`` reads them (early change).

    Built from the codes directly: on a run of zeros the encoder's n-th code after a reset
    stands for n zeros, so the whole stream is computed in O(codes), not O(size).
    """
    clear, eod, first_free, last = 256, 257, 258, 4095
    codes = [clear]
    next_code, left, longest = first_free, size, 1  # longest run the table holds now
    while left:
        run = min(longest, left)
        codes.append(0 if run == 1 else 256 + run)
        left -= run
        if not left:
            break
        if next_code <= last:
            next_code += 1
            longest += 1
        else:
            codes.append(clear)
            next_code, longest = first_free, 1
    codes.append(eod)
    out, buffer, bits, width, table = bytearray(), 0, 0, 9, first_free
    for code in codes:
        buffer, bits = (buffer << width) | code, bits + width
        while bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
        buffer &= (1 << bits) - 1
        if code == clear:
            width, table = 9, first_free
        elif code != eod:
            table += 1
            if table > (1 << width) - 1 and width < 12:
                width += 1
    if bits:
        out.append((buffer << (8 - bits)) & 0xFF)
    return bytes(out)


def hostile_pdfs() -> dict[str, bytes]:
    """Each hostile PDF, by what is wrong with it; every one must be refused with a 400.

    Made once per process (the two 64 MB bombs: ~0.45 CPU-s), not once per test that reads one:
    a new dict each call, over the same bytes (immutable)."""
    return dict(_hostile_pdfs())


@cache
def _hostile_pdfs() -> dict[str, bytes]:
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    pages = b"<< /Type /Pages /Kids [] /Count 0 >>"
    return {
        "circular /Prev": pdf_with({1: catalog, 2: pages}, prev_loop=True),
        "Flate bomb attached as the XML": attachment_pdf(
            b"<< /Type /EmbeddedFile /Filter /FlateDecode >>", flate_bomb(64 * 1024 * 1024)),
        "LZW bomb attached as the XML": attachment_pdf(
            b"<< /Type /EmbeddedFile /Filter /LZWDecode >>", lzw_zeros(64 * 1024 * 1024)),
        "a hundred filters on one stream": attachment_pdf(
            b"<< /Type /EmbeddedFile /Filter [" + b"/ASCIIHexDecode " * 100 + b"] >>", b"3C3E"),
        "a declared length past the end": attachment_pdf(
            b"<< /Type /EmbeddedFile >>", b"<a/>").replace(b"/Length 4", b"/Length 999999999"),
        "arrays nested 100,000 deep": pdf_with(
            {1: b"<< /Type /Catalog /Pages 2 0 R /Names " + b"[" * 100_000 + b"]" * 100_000
             + b" >>", 2: pages}),
        "a catalog that is not a dictionary": pdf_with({1: b"(just a string)", 2: pages}),
        "an unknown filter": attachment_pdf(b"<< /Type /EmbeddedFile /Filter /NoSuchDecode >>",
                                            b"<a/>"),
        "a truncated body": attachment_pdf(b"<< /Type /EmbeddedFile >>", b"<a/>")[:200],
        "only a header": b"%PDF-1.7\n",
        "garbage after the header": b"%PDF-1.7\n" + bytes(range(256)) * 64,
    }


def one_megabyte_pdfs(limit: int = 1024 * 1024) -> dict[str, bytes]:
    """Hostile PDFs of ``limit`` bytes (the upload limit): the most work one upload can ask."""
    pages = b"<< /Type /Pages /Kids [] /Count 0 >>"
    bomb = attachment_pdf(b"<< /Type /EmbeddedFile /Filter /FlateDecode >>",
                          flate_bomb(1000 * 1024 * 1024))  # 1 GB of zeros, about 1 MB deflated
    depth = (limit - 200) // 2
    nested = pdf_with({1: b"<< /Type /Catalog /Pages 2 0 R /Names " + b"[" * depth
                       + b"]" * depth + b" >>", 2: pages})
    soup = b"%PDF-1.7\n" + b"".join(f"{n} 0 obj\n<< /A {n} 0 R >>\nendobj\n".encode()
                                    for n in range(1, 40_000))
    tail = b"\nstartxref\n0\n%%EOF\n"
    garbage = b"%PDF-1.7\n" + bytes(range(256)) * (limit // 256)
    out = {"1 GB Flate bomb attached": bomb, "arrays nested 500,000 deep": nested,
           "objects without xref or %%EOF": soup,
           "objects without xref, ending in %%EOF": soup[:limit - len(tail)] + tail,
           "garbage": garbage}
    return {name: data[:limit] if len(data) > limit else data for name, data in out.items()}

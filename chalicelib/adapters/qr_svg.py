"""A QR code as inline SVG for a page (the WeChat Native ``code_url`` a desktop payer scans).

The same encoder as the PDFs' codes (``qr_masks.qr_matrix``, level M), drawn as one path of
horizontal runs in module units with a four-module quiet zone (ISO/IEC 18004), black on white,
so any phone camera reads it and the page needs no script or image file for it (the pages' CSP
allows neither from elsewhere).
"""

from __future__ import annotations

from chalicelib.adapters.qr_masks import qr_matrix

QUIET_ZONE = 4  # modules


def qr_svg(data: str, size_px: int = 240) -> str:
    """``data`` as an ``<svg>`` element ``size_px`` square (text, safe to put in a page)."""
    matrix = qr_matrix(data)
    side = len(matrix) + 2 * QUIET_ZONE
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
            f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
            f'<rect width="{side}" height="{side}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(runs)}"/></svg>')

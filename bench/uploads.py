"""Benchmark: what a hostile upload to ``POST /v1/verifications/file`` costs (issue 9).

Through the Chalice app (``chalice.test.Client``) on DynamoDB Local and moto, with a reimbursing
unit's key: the real bill's XML and PDF (the baseline), then every hostile file of
``tests/hostile.py`` and the XML attacks (400 extra signatures, an unknown encoding, 10,000 nested
elements), and files of about 1 MB: just over the size limit (refused unread) and just under it
(a PDF pypdf has to read: a 1 GB Flate bomb, arrays nested 500,000 deep, 1 MB of objects without
a cross-reference table, 1 MB of garbage). Each is posted ``N`` times (default 5); the table
gives status, error code and the median and slowest wall time.

    .venv/bin/python -m bench.uploads [N]
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time

from bench.harness import local_world

MB = 1024 * 1024


def main(n: int = 5) -> None:
    from chalice.test import Client

    import app as application
    from bench.verification import _issue
    from chalicelib.adapters.bill_files import MAX_FILE_BYTES
    from chalicelib.domain.bill_xml import MAX_XML_BYTES
    from tests.hostile import hostile_pdfs, one_megabyte_pdfs

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    with local_world() as (deps, seeded):
        record = deps.bills.get(*_bill_ref(_issue(deps, 1)[0]))
        xml, pdf = deps.archive.get(record.xml.key), deps.archive.get(record.pdf.key)
        signature = xml[xml.index(b'<Signature Role="supervisor"'):
                        xml.index(b"</EInvoiceSignature>")]
        cases: dict[str, bytes] = {
            "the real XML (authentic)": xml, "the real PDF (authentic)": pdf,
            "forged XML naming the real bill": xml.replace(
                f"<RandomNumber>{record.bill.check_code}<".encode(), b"<RandomNumber>ZZZ999<"),
            "400 extra signatures (XML)": xml.replace(
                b"</EInvoiceSignature>", signature * 400 + b"</EInvoiceSignature>"),
            "unknown encoding (XML)": xml.replace(b'encoding="UTF-8"', b'encoding="x-nope"'),
            "10,000 nested elements (XML)": xml.replace(
                b"<Remark>", b"<Remark>" + b"<a>" * 10_000 + b"</a>" * 10_000),
            "XML at the 128 KB limit, 1,000 elements": xml.replace(
                b"<Remark>", b"<Remark>" + b"<a/>" * 900).ljust(MAX_XML_BYTES, b" "),
            "1 MB + 1 of signatures (XML, over the limit)": xml.replace(
                b"</EInvoiceSignature>", signature * (MAX_FILE_BYTES // len(signature) + 1)
                + b"</EInvoiceSignature>"),
            "1 MB + 1 (PDF, over the limit)": b"%PDF-1.7\n" + b"%" * MAX_FILE_BYTES,
        }
        cases.update({f"{name} (PDF)": data for name, data in hostile_pdfs().items()})
        cases.update({f"{name} (1 MB PDF)": data for name, data in one_megabyte_pdfs().items()})
        headers = {"Authorization": f"Bearer {seeded.unit_key('340100901')}",
                   "X-Forwarded-For": "198.51.100.9"}
        rows = []
        with Client(application.app) as client:
            for name, body in cases.items():
                kind = "application/pdf" if body.startswith(b"%PDF-") else "application/xml"
                times, status, code = [], 0, ""
                for _ in range(n):
                    started = time.perf_counter()
                    r = client.http.post("/v1/verifications/file", body=body,
                                         headers={**headers, "Content-Type": kind})
                    times.append(time.perf_counter() - started)
                    status = r.status_code
                    out = json.loads(r.body)
                    code = out["error"]["code"] if status != 200 else \
                        f"{out['result']} {out.get('reason', '')}".strip()
                rows.append((name, len(body), status, code, statistics.median(times), max(times)))
    print(f"{'upload':<50}{'bytes':>9} {'status':>6}  {'answer':<28}{'median':>9}{'max':>9}")
    for name, size, status, code, median, worst in rows:
        print(f"{name:<50}{size:>9} {status:>6}  {code:<28}{median * 1000:>7.1f}ms"
              f"{worst * 1000:>7.1f}ms")
    refused = [r for r in rows if r[2] == 400]
    slowest = max(refused, key=lambda r: r[5])
    print(f"\nslowest refused upload: {slowest[0]} ({slowest[1]} bytes), "
          f"max {slowest[5] * 1000:.1f} ms over {n} runs")


def _bill_ref(bill) -> tuple[str, str]:
    return bill.bill_code, bill.bill_number


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

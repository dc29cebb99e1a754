"""A unit's own seal image is kept in the archive and printed on its bills issued from two
minutes on (services/seals.SEAL_DELAY)."""

import io
import json
from datetime import timedelta

from devstack.notifications import bank_notification
from tests.functional.test_end_to_end import NOTE


def seal_png(size: int = 300) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), outline=(208, 2, 27, 255), width=12)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_uploaded_seal_is_printed_on_the_units_next_bill(world, client):
    headers = dict(world.auth(), **{"Content-Type": "image/png"})
    r = client.http.put("/v1/units/me/seal", headers=headers, body=seal_png())
    assert r.status_code == 200 and json.loads(r.body)["seal_key"].startswith("seals/340100001/")
    assert json.loads(r.body)["since"] == "2026-06-15T10:02:00+08:00"
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_seal" and event.client.startswith("unit:340100001@")
    world.clock.now += timedelta(minutes=2)
    code = json.loads(client.http.post("/v1/notes", headers=world.auth(),
                                       body=json.dumps(NOTE)).body)["payment_code"]
    body, bank_headers = bank_notification(world.stack, code, 10000, now=world.clock())
    client.http.post("/callbacks/bank", headers=bank_headers, body=body)
    world.drain()
    bill = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)["bill"]
    pdf = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/pdf"
                          f"?check_code={bill['check_code']}").body
    from pypdf import PdfReader

    images = [img for page in PdfReader(io.BytesIO(pdf)).pages for img in page.images]
    assert len(images) == 1  # the seal (the QR code is drawn as vector paths)


def test_a_seal_that_is_not_a_square_png_is_refused(world, client):
    headers = dict(world.auth(), **{"Content-Type": "image/png"})
    r = client.http.put("/v1/units/me/seal", headers=headers, body=b"GIF89a" + b"0" * 100)
    assert r.status_code == 400 and "file" in json.loads(r.body)["error"]["fields"]
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 200)).save(out, format="PNG")
    r = client.http.put("/v1/units/me/seal", headers=headers, body=out.getvalue())
    assert r.status_code == 400

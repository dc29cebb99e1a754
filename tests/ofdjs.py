"""ofd.js (DLTech21, Apache-2.0), a browser OFD reader with its own SM2/SM3 (sm-crypto), as an
independent check of our OFDs: it parses the package, verifies each electronic seal (the
SES_Signature's SM2 signature with the certificate's key, and the SM3 of every referenced
part), and renders the pages as HTML/SVG, which Chromium screenshots.

The npm package ``ofd.js`` 0.2.6 is fetched once per machine with ``npm pack`` (the registry
is reachable where the tests run), pinned by the tarball's SHA-256, and kept in the machine's
cache; only its self-contained UMD bundle ``lib/ofd.umd.min.js`` is used, injected into a blank
page, so nothing is loaded from a CDN. (Version 1.5.0 on npm is a different, licence-keyed
library.) A failure to fetch it fails the test that needs it, saying why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

VERSION = "0.2.6"
TARBALL_SHA256 = "ec96a0966f66f8d1740e18eb231c6683de63020c6dde15be6aeb19778d912685"
CACHE = Path(os.environ.get("OFDJS_CACHE", Path.home() / ".cache" / "chalicelib-local" / "ofdjs"))
BUNDLE = "package/lib/ofd.umd.min.js"


def bundle() -> str:
    """The text of ofd.js's UMD bundle, fetched and checked on first use; ``RuntimeError``
    saying what failed otherwise."""
    script = CACHE / f"ofd.umd.min-{VERSION}.js"
    if script.exists():
        return script.read_text()
    if shutil.which("npm") is None:
        raise RuntimeError("npm not found: ofd.js comes from the npm registry "
                           "(Debian: apt-get install nodejs npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"ofd.js-{VERSION}.tgz"
    if not tarball.exists():
        result = subprocess.run(["npm", "pack", f"ofd.js@{VERSION}", "--pack-destination",
                                 str(CACHE), "--silent"], capture_output=True, text=True,
                                timeout=600, check=False)
        if result.returncode != 0 or not tarball.exists():
            raise RuntimeError(f"npm pack ofd.js@{VERSION} failed: {result.stderr[-800:]}")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        tarball.unlink()
        raise RuntimeError(f"ofd.js-{VERSION}.tgz has SHA-256 {digest}, not the pinned "
                           f"{TARBALL_SHA256}")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(BUNDLE)
        if member is None:
            raise RuntimeError(f"{BUNDLE} is not in ofd.js-{VERSION}.tgz")
        text = member.read().decode()
    partial = script.with_suffix(f".{os.getpid()}")
    partial.write_text(text)
    partial.replace(script)
    return text


OPEN = """async (b64) => {
  const data = Uint8Array.from(atob(b64), c => c.charCodeAt(0)).buffer;
  const docs = await new Promise((ok, bad) => ofd.parseOfdDocument({
    ofd: data, success: ok, fail: e => bad(new Error(String(e)))}));
  const doc = docs[0];
  const holder = document.getElementById('pages');
  holder.innerHTML = '';
  for (const div of ofd.renderOfd(%d, doc)) holder.appendChild(div);
  const seals = [];
  for (const [page, stamps] of Object.entries(doc.stampAnnot || {})) {
    for (const s of stamps) {
      const id = s.stamp.signedInfo.signatureID;
      const parts = (window.toBeChecked && window.toBeChecked.get(id)) || [];
      seals.push({page, type: s.type, signatureVerified: s.stamp.sealObj.verifyRet,
                  partsChecked: parts.length,
                  partsIntact: parts.length ? ofd.digestCheck(parts) : null,
                  method: s.stamp.signedInfo.SignatureMethod,
                  sealName: s.stamp.sealObj.SES_Signature.toSign.eseal.esealInfo.property.name});
    }
  }
  return {pages: doc.pages.length, seals, text: holder.textContent};
}"""


def open_in_ofdjs(browser: Any, data: bytes, width: int = 1000) -> tuple[Any, dict]:
    """A new page of ``browser`` with ``data`` opened by ofd.js (every network request refused);
    the page and what ofd.js said: pages, its verdict on each seal, the text it rendered."""
    import base64

    page = browser.new_page(viewport={"width": width + 40, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.abort())
    page.set_content('<!doctype html><meta charset="utf-8">'
                     '<body style="margin:20px;background:#888"><div id="pages"></div></body>')
    page.add_script_tag(content=bundle())
    found = page.evaluate(OPEN % width, base64.b64encode(data).decode())
    page.wait_for_timeout(300)  # images (the QR code, a PNG seal) decode after insertion
    found["errors"] = errors
    return page, found

"""A TLS, keep-alive front for moto's server: AWS as the product's clients meet it in production.

moto's server (werkzeug) closes the connection after every answer and speaks plain HTTP, so on
the local stack each S3 or SQS request opens a new TCP connection, and botocore signs an S3
body by hashing it (it does so only over plain HTTP) but sends it without ``aws-chunked``. AWS
is HTTPS with the connection kept. This front listens with TLS and HTTP/1.1 keep-alive (a
self-signed certificate for 127.0.0.1, which the bench's clients are told to trust through
``AWS_CA_BUNDLE``) and passes each request on to moto, its body de-chunked, one new connection
each (moto's cost, in moto's process, not the client's). The client's CPU is then what it
would be against AWS: TLS, a kept connection, botocore's HTTPS behaviour. Measurement only.

    python -m bench.tls_front LISTEN_PORT MOTO_PORT CERT KEY
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect",
       "content-length"}


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for 127.0.0.1 (and localhost), valid for two days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "front-cert.pem", folder / "front-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def handler_for(upstream: int) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; "Expect: 100-continue" answered too

        def log_message(self, *_: object) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _pass_on(self) -> None:
            body = self._body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Content-Length"] = str(len(body))
            moto = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            try:
                moto.request(self.command, self.path, body=body, headers=headers)
                answer = moto.getresponse()
                data = answer.read()
            finally:
                moto.close()
            self.send_response(answer.status, answer.reason)
            for k, v in answer.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _pass_on  # noqa: N815 - http.server's naming

    return Front


def serve(port: int, upstream: int, cert: str, key: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(upstream))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])

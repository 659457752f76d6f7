"""A certificate authority made on the spot and an https front for Radicale on 127.0.0.1.

``make_ca`` writes a CA and a server certificate it signed (for 127.0.0.1 and localhost);
``https_front`` serves TLS with it and forwards every request to a real Radicale, except:
``/moved/…`` redirects to ``/…`` on the same host, ``/elsewhere/…`` to another host name,
``/plain/…`` to http. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from carepath.testing import free_port


@dataclass(frozen=True)
class Authority:
    ca: Path  # the CA certificate (what CAREPATH_CALDAV_CA_BUNDLE names)
    cert: Path  # the server's certificate, signed by the CA
    key: Path


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_ca(folder: Path, label: str = "carepath test CA") -> Authority:
    """A CA and a server certificate for 127.0.0.1/localhost, valid around today."""
    now = dt.datetime.now(dt.UTC)  # noqa: TID251 — TLS checks certificates against real time
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(_name(label))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=True,
                   crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    paths = Authority(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "content-encoding"}


@contextmanager
def https_front(authority: Authority, backend: str) -> Iterator[str]:
    """https://127.0.0.1:PORT in front of ``backend`` (a Radicale URL); yields the base URL."""
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    client = httpx.Client(base_url=backend, timeout=10)

    class Front(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _any(self) -> None:
            for prefix, target in (("/moved/", f"{base}/"),
                                   ("/elsewhere/", f"https://localhost:{port}/"),
                                   ("/plain/", f"http://127.0.0.1:{port}/")):
                if self.path.startswith(prefix):
                    self.send_response(301)
                    self.send_header("Location", target + self.path[len(prefix):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP | {"host"}}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = _any  # noqa: N815
        do_MKCALENDAR = do_MKCOL = do_OPTIONS = do_POST = _any  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", port), Front)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(authority.cert), str(authority.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    # a short poll: shutdown() waits up to one poll interval (half a second by default)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        client.close()

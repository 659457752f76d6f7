"""SMTP security options against aiosmtpd: STARTTLS with login, implicit TLS, wrong password."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_smtp import Inbox, free_port

from carepath.adapters.mail import Envelope, SmtpOptions, SmtpTransport
from carepath.errors import DeliveryFailed

MESSAGE = (b"From: a@clinic.example\r\nTo: b@patients.example\r\nSubject: Hi\r\n"
           b"Message-ID: <1@clinic.example>\r\n\r\nHello\r\n")
ENVELOPE = Envelope("a@clinic.example", "b@patients.example", "<1@clinic.example>")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made here: no network, no fixtures on disk)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)  # noqa: TID251 — TLS checks certificates against real time
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def check_login(server: Any, session: Any, envelope: Any, mechanism: str,
                auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[tuple[int, Inbox]]:
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            tls_context=server_context(certificate), require_starttls=True,
                            authenticator=check_login, auth_required=True)
    controller.start()
    yield port, inbox
    controller.stop()


def test_starttls_with_login_delivers(starttls: tuple[int, Inbox],
                                      certificate: tuple[Path, Path]) -> None:
    """security=starttls upgrades the connection, then logs in, then sends."""
    port, inbox = starttls
    transport = SmtpTransport(SmtpOptions("127.0.0.1", port, "starttls", "clinic", "s3cret", 5),
                              context=client_context(certificate))
    transport.send(ENVELOPE, MESSAGE)
    assert inbox.message_ids() == ["<1@clinic.example>"]


def test_a_wrong_password_is_a_permanent_failure(starttls: tuple[int, Inbox],
                                                 certificate: tuple[Path, Path]) -> None:
    """535 authentication failed: retrying would not help; the reason is kept."""
    port, _ = starttls
    transport = SmtpTransport(SmtpOptions("127.0.0.1", port, "starttls", "clinic", "nope", 5),
                              context=client_context(certificate))
    with pytest.raises(DeliveryFailed) as caught:
        transport.send(ENVELOPE, MESSAGE)
    assert caught.value.permanent and caught.value.reason.startswith("535")


def test_implicit_tls_delivers(certificate: tuple[Path, Path]) -> None:
    """security=tls speaks TLS from the first byte (port 465 style)."""
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            ssl_context=server_context(certificate))
    controller.start()
    try:
        transport = SmtpTransport(SmtpOptions("127.0.0.1", port, "tls", timeout=5),
                                  context=client_context(certificate))
        transport.send(ENVELOPE, MESSAGE)
    finally:
        controller.stop()
    assert inbox.message_ids() == ["<1@clinic.example>"]


def test_an_untrusted_certificate_is_refused_temporarily(
        starttls: tuple[int, Inbox]) -> None:
    """The system trust store does not know a self-signed certificate: no silent downgrade."""
    port, inbox = starttls
    transport = SmtpTransport(SmtpOptions("127.0.0.1", port, "starttls", "clinic", "s3cret", 5))
    with pytest.raises(DeliveryFailed) as caught:
        transport.send(ENVELOPE, MESSAGE)
    assert not caught.value.permanent and inbox.messages == []

"""Mail over TLS: `smtps://` and `smtp+starttls://` deliver only to a server whose certificate
verifies, and a required STARTTLS never falls back to sending in the clear."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from eventapp import db
from eventapp.mail import service as mail
from eventapp.mail.sender import MailSender
from eventapp.mail.tables import OutboxMessage
from eventapp.settings import Settings
from tests.live import _free_port
from tests.mailserver import Mailbox


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own authority), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eventapp test mail server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def tls_server(certificate: tuple[Path, Path], mode: str) -> Iterator[tuple[Mailbox, int]]:
    """`implicit`: TLS from the first byte (smtps); `starttls`: plain, STARTTLS required;
    `plain`: no TLS offered at all."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    mailbox, port = Mailbox(), _free_port()
    options: dict = {}
    if mode == "implicit":
        options["ssl_context"] = context
    elif mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def _sender(settings: Settings, url: str) -> MailSender:
    return MailSender(
        settings.model_copy(update={"smtp_url": SecretStr(url), "mail_retry_s": 0.05})
    )


async def _queue_one() -> None:
    async with db.transaction():
        await mail.enqueue(
            to="a@example.org",
            template="sign_in_link",
            context={"name": "Ada", "url": "http://127.0.0.1/signin.html#x", "minutes": 15},
        )


@pytest.fixture
def trusted(certificate, monkeypatch) -> None:
    """The test server's certificate is a trusted authority, as a real provider's would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


@pytest.mark.parametrize(("mode", "scheme"), [("implicit", "smtps"), ("starttls", "smtp+starttls")])
async def test_mail_goes_out_over_tls(client, settings, certificate, trusted, mode, scheme):
    await _queue_one()
    with tls_server(certificate, mode) as (mailbox, port):
        assert await _sender(settings, f"{scheme}://127.0.0.1:{port}").deliver_due() == 1
    assert len(mailbox.messages) == 1
    [row] = await OutboxMessage.select(OutboxMessage.status).run()
    assert row["status"] == "sent"


async def test_a_plain_url_upgrades_when_the_server_offers_starttls(
    client, settings, certificate, trusted
):
    await _queue_one()
    with tls_server(certificate, "starttls") as (mailbox, port):
        assert await _sender(settings, f"smtp://127.0.0.1:{port}").deliver_due() == 1
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(("mode", "scheme"), [("implicit", "smtps"), ("starttls", "smtp+starttls")])
async def test_a_certificate_that_does_not_verify_gets_nothing(
    client, settings, certificate, mode, scheme
):
    """Without the test authority trusted, the server could be anyone: nothing is sent, and the
    message waits in the outbox for the set-up to be fixed."""
    await _queue_one()
    with tls_server(certificate, mode) as (mailbox, port):
        assert await _sender(settings, f"{scheme}://127.0.0.1:{port}").deliver_due() == 0
    assert mailbox.messages == []
    [row] = await OutboxMessage.select(OutboxMessage.status, OutboxMessage.last_error).run()
    assert row["status"] == "queued" and row["last_error"]


async def test_a_required_starttls_never_falls_back_to_the_clear(
    client, settings, certificate, trusted
):
    await _queue_one()
    with tls_server(certificate, "plain") as (mailbox, port):
        assert await _sender(settings, f"smtp+starttls://127.0.0.1:{port}").deliver_due() == 0
    assert mailbox.messages == []
    [row] = await OutboxMessage.select(OutboxMessage.status).run()
    assert row["status"] == "queued"

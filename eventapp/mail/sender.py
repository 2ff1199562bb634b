"""Delivery: the background sender that takes due messages from the outbox to an SMTP server.

Several senders may run at once (every app worker runs one, and `eventapp send-mail` runs one on
its own): each message is claimed under a lease before it is sent and marked sent right after
the server accepts it, so no two senders send one message, and a sender killed mid-batch leaves
the rest (and a message it had claimed, once the lease runs out) to the next. The one window no
outbox can close is a crash between the server's acceptance and our commit: that message is sent
again, with the same Message-ID, which lets a mailbox recognise the repeat.

Without `EVENTAPP_SMTP_URL` messages stay queued, and the sender only writes them to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from eventapp.mail import service
from eventapp.settings import Settings

log = logging.getLogger("eventapp.mail")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, from `smtp://`, `smtps://` or `smtp+starttls://` URLs."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None  # None: STARTTLS when the server offers it

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
            raise ValueError("An SMTP URL looks like smtp://user:password@host:587")
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if use_tls else 587 if parts.scheme != "smtp" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=True if parts.scheme == "smtp+starttls" else None,
        )


def email_of(message: dict, sender: str, domain: str) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, then any attachments."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message["to_address"]
    email["Subject"] = message["subject"]
    email["Date"] = formatdate(localtime=False)
    # Stable per outbox row: a repeat after a crash carries the same id.
    email["Message-ID"] = f"<outbox-{message['id']}-{message['created_at']:%Y%m%d%H%M%S}@{domain}>"
    email.set_content(message["text_body"])
    if message["html_body"]:
        email.add_alternative(message["html_body"], subtype="html")
    for attachment in service.attachments_of(message):
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return email


# 530 authentication required, 535 credentials invalid, 538 encryption required to log in.
_LOGIN_REFUSALS = frozenset({530, 535, 538})


def _outcome(error: Exception) -> str:
    """What a failed send means for the message: 'failed' (the server refused this message for
    good, 5xx), 'retry' (it refused it for now, 4xx), or 'wait' (the server is unreachable or
    refuses our login: no message is at fault, so none fails; all wait for the next round)."""
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code not in _LOGIN_REFUSALS:
        return "failed" if 500 <= error.code < 600 else "retry"
    return "wait"


def _describe(error: Exception) -> str:
    """The server's answer ('550 5.1.1 No such mailbox') or what went wrong on the way."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    return f"{type(error).__name__}: {error}"


class MailSender:
    """Delivers due messages until stopped; one per process is enough."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        self.server = SmtpServer.from_url(url) if url else None
        self.domain = urlsplit(settings.base_url).hostname or "localhost"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due() if self.server else await self.log_new()
            except Exception:  # noqa: BLE001 - the sender outlives a bad round (database restart)
                log.exception("The mail sender's round failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.mail_poll_s)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Send every due message over one connection; how many were sent."""
        assert self.server is not None
        settings, sent = self.settings, 0
        lease = timedelta(seconds=settings.mail_lease_s)
        smtp: aiosmtplib.SMTP | None = None
        try:
            while (message := await service.claim_next(lease)) is not None:
                try:
                    smtp = smtp or await self._connect()
                    await smtp.send_message(email_of(message, settings.mail_from, self.domain))
                except (aiosmtplib.SMTPException, OSError) as error:
                    outcome = _outcome(error)
                    if outcome == "failed":
                        await service.mark_failed(message["id"], _describe(error))
                    else:
                        await service.mark_retry(
                            message,
                            _describe(error),
                            first_delay_s=settings.mail_retry_s,
                            max_attempts=settings.mail_max_attempts,
                        )
                    smtp = await self._reset(smtp)
                    if outcome == "wait":
                        break  # the server, or our login to it, is away: the next round
                else:
                    await service.mark_sent(message["id"])
                    sent += 1
        finally:
            await self._reset(smtp)
        return sent

    async def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        assert server is not None
        smtp = aiosmtplib.SMTP(
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=30,
        )
        await smtp.connect()
        return smtp

    @staticmethod
    async def _reset(smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
        return None

    async def log_new(self) -> None:
        """No SMTP server: write each new message to the log once; it stays queued."""
        messages = await service.unlogged()
        for message in messages:
            if self.settings.mail_log_bodies:
                log.info(
                    "Mail not sent (no EVENTAPP_SMTP_URL) to %s: %s\n%s",
                    message["to_address"],
                    message["subject"],
                    message["text_body"],
                )
            else:
                log.info(
                    "Mail #%s queued, not sent (no EVENTAPP_SMTP_URL): %s to %s",
                    message["id"],
                    message["kind"],
                    message["to_address"],
                )
        await service.mark_logged([message["id"] for message in messages])

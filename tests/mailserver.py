"""A real SMTP server for the tests (aiosmtpd on a free port) that records what it accepts."""

from __future__ import annotations

import asyncio
import email
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.live import _free_port


class Mailbox:
    """What the server accepted, and how it should behave: refuse, or hold a sender mid-batch."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse_next = 0  # answer 451 (try again later) to this many messages
        self.reject_all = False  # answer 550 (permanent) to every message
        self.hold_after: int | None = None  # stall MAIL FROM once this many were accepted
        self.holding = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            self.holding.set()
            await asyncio.sleep(30)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_all:
            return "550 5.1.1 No such mailbox here"
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Mail server busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 2.0.0 Accepted"

    def wait_for(self, count: int, timeout: float = 20) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def message_ids(self) -> list[str]:
        return [message["Message-ID"] for message in self.messages]


class SmtpServer:
    def __init__(self, mailbox: Mailbox, port: int) -> None:
        self.mailbox = mailbox
        self.url = f"smtp://127.0.0.1:{port}"


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(mailbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def body_of(message: Message) -> str:
    """The plain-text part of a message."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""

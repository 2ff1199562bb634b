"""Mail: the outbox, delivery to a real SMTP server, mailed invitations, links and resets."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from eventapp import db
from eventapp.accounts import service as accounts
from eventapp.app import create_app
from eventapp.mail import service as mail
from eventapp.mail.sender import MailSender
from eventapp.mail.tables import OutboxMessage
from eventapp.settings import Settings
from tests.helpers import PASSWORD, make_event, make_user, sign_in, signed_in_admin
from tests.mailserver import body_of, smtp_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("smtp_server")


@pytest.fixture
def mail_settings(settings: Settings, smtp_server) -> Settings:  # noqa: F811
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(smtp_server.url),
            "mail_retry_s": 0.05,
            "mail_lease_s": 1.0,
            "mail_poll_s": 0.1,
        }
    )


@pytest.fixture
async def mail_client(mail_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with an SMTP server configured; its own sender runs in the background."""
    app = create_app(mail_settings)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client,
    ):
        yield client


def _link(message, page: str) -> str:
    match = re.search(rf"http://testserver\.local/{re.escape(page)}#(\S+)", body_of(message))
    assert match, body_of(message)
    return match[1]


async def _wait_for(mailbox, count: int) -> list:
    for _ in range(200):
        if len(mailbox.messages) >= count:
            break
        await asyncio.sleep(0.05)
    return mailbox.messages


async def test_a_rolled_back_change_queues_nothing_and_a_committed_one_its_mail(client):
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await mail.enqueue(to="a@example.org", template="sign_in_link", context=_link_context())
            raise RuntimeError("the change failed")
    assert await OutboxMessage.count() == 0
    async with db.transaction():
        await mail.enqueue(to="a@example.org", template="sign_in_link", context=_link_context())
    assert await OutboxMessage.count() == 1


def _link_context() -> dict:
    return {"name": "Ada", "url": "http://testserver.local/signin.html#x", "minutes": 15}


async def test_an_invitation_reaches_only_the_invitees_mailbox_and_proves_it(
    mail_client,
    smtp_server,  # noqa: F811
):
    await signed_in_admin(mail_client)
    await make_event(mail_client, "showcase", name="ASEAN Start-up Showcase")
    created = await mail_client.post(
        "/api/events/showcase/invitations",
        json={"email": "rita@example.org", "role": "reviewer", "name": "Rita"},
    )
    assert created.status_code == 201
    assert created.json()["url"] is None and created.json()["mailed_only"] is True
    [message] = await _wait_for(smtp_server.mailbox, 1)
    assert message["To"] == "rita@example.org"
    assert "ASEAN Start-up Showcase" in message["Subject"]
    assert message.is_multipart()  # plain text with an HTML alternative
    token = _link(message, "invite.html")
    mail_client.cookies.clear()
    accepted = await mail_client.post(
        "/api/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200 and accepted.json()["email_verified"] is True


async def test_resending_an_invitation_revokes_the_previous_link(
    mail_client,
    smtp_server,  # noqa: F811
):
    await signed_in_admin(mail_client)
    await make_event(mail_client, "showcase")
    first = await mail_client.post(
        "/api/events/showcase/invitations", json={"email": "rita@example.org", "role": "reviewer"}
    )
    resent = await mail_client.post(f"/api/events/showcase/invitations/{first.json()['id']}/resend")
    assert resent.status_code == 201 and resent.json()["id"] != first.json()["id"]
    old, new = await _wait_for(smtp_server.mailbox, 2)
    mail_client.cookies.clear()
    stale = await mail_client.post(
        "/api/invitations/accept",
        json={"token": _link(old, "invite.html"), "password": PASSWORD},
    )
    assert stale.status_code == 410 and stale.json()["reason"] == "invitation_revoked"
    fresh = await mail_client.post(
        "/api/invitations/accept",
        json={"token": _link(new, "invite.html"), "password": PASSWORD},
    )
    assert fresh.status_code == 200


async def test_without_smtp_the_organiser_copies_the_link_and_the_mail_waits(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    created = await client.post(
        "/api/events/showcase/invitations", json={"email": "rita@example.org", "role": "reviewer"}
    )
    assert created.json()["url"].startswith("http://testserver.local/invite.html#")
    outbox = (await client.get("/api/events/showcase/outbox")).json()
    assert [(m["to_address"], m["status"]) for m in outbox["items"]] == [
        ("rita@example.org", "queued")
    ]
    assert "text_body" not in outbox["items"][0]  # organisers never read the links in a mail


async def test_a_sign_in_link_signs_in_once_and_proves_the_email(
    mail_client,
    smtp_server,  # noqa: F811
):
    await accounts.create_user("attendee@example.org", name="Atta")  # no password at all
    asked = await mail_client.post("/api/auth/sign-in-link", json={"email": "attendee@example.org"})
    unknown = await mail_client.post("/api/auth/sign-in-link", json={"email": "nobody@example.org"})
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()
    [message] = await _wait_for(smtp_server.mailbox, 1)
    await asyncio.sleep(0.3)
    assert len(smtp_server.mailbox.messages) == 1  # nothing went to the unknown address
    token = _link(message, "signin.html")
    signed_in = await mail_client.post("/api/auth/sign-in-link/redeem", json={"token": token})
    assert signed_in.status_code == 200 and signed_in.json()["email_verified"] is True
    assert (await mail_client.get("/api/auth/me")).status_code == 200
    again = await mail_client.post("/api/auth/sign-in-link/redeem", json={"token": token})
    assert again.status_code == 410 and again.json()["reason"] == "link_invalid"


async def test_a_password_reset_sets_the_password_and_ends_every_session(
    mail_client,
    smtp_server,  # noqa: F811
    mail_settings,
):
    await make_user("ada@example.org")
    await sign_in(mail_client, "ada@example.org")  # say, on a lost phone
    stolen_cookies = dict(mail_client.cookies)
    asked = await mail_client.post("/api/auth/password-reset", json={"email": "ada@example.org"})
    assert asked.status_code == 202
    [message] = await _wait_for(smtp_server.mailbox, 1)
    token = _link(message, "reset.html")
    mail_client.cookies.clear()
    short = await mail_client.post(
        "/api/auth/password-reset/complete", json={"token": token, "new_password": "short"}
    )
    assert short.status_code == 400
    done = await mail_client.post(
        "/api/auth/password-reset/complete",
        json={"token": token, "new_password": "my new long password"},
    )
    assert done.status_code == 200
    await accounts.authenticate("ada@example.org", "my new long password")
    mail_client.cookies.clear()
    mail_client.cookies.update(stolen_cookies)
    assert (await mail_client.get("/api/auth/me")).status_code == 401


async def test_mailed_links_are_throttled_per_account(mail_client):
    statuses = [
        (
            await mail_client.post("/api/auth/password-reset", json={"email": "ada@example.org"})
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]


async def test_a_refusing_server_is_retried_until_it_recovers(
    client,
    smtp_server,  # noqa: F811
    mail_settings,
):
    smtp_server.mailbox.refuse_next = 2
    async with db.transaction():
        await mail.enqueue(to="a@example.org", template="sign_in_link", context=_link_context())
    sender = MailSender(mail_settings)
    assert await sender.deliver_due() == 0
    [waiting] = await OutboxMessage.select().run()
    assert waiting["status"] == "queued" and waiting["last_error"].startswith("451")
    assert waiting["next_attempt_at"] > mail.now()
    for _ in range(40):
        await asyncio.sleep(0.05)
        if await sender.deliver_due():
            break
    [sent] = await OutboxMessage.select().run()
    assert sent["status"] == "sent" and sent["attempts"] == 3
    assert len(smtp_server.mailbox.messages) == 1


async def test_a_permanent_refusal_fails_with_the_servers_answer_and_can_be_resent(
    client,
    smtp_server,  # noqa: F811
    mail_settings,
):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    await client.post(
        "/api/events/showcase/invitations", json={"email": "rita@example.org", "role": "reviewer"}
    )
    smtp_server.mailbox.reject_all = True
    sender = MailSender(mail_settings)
    await sender.deliver_due()
    failed = (await client.get("/api/events/showcase/outbox", params={"status": "failed"})).json()
    assert failed["total"] == 1 and failed["items"][0]["last_error"].startswith("550")
    smtp_server.mailbox.reject_all = False
    message_id = failed["items"][0]["id"]
    resent = await client.post(f"/api/events/showcase/outbox/{message_id}/resend")
    assert resent.status_code == 200 and resent.json()["status"] == "queued"
    assert await sender.deliver_due() == 1
    found = (await client.get("/api/events/showcase/outbox", params={"q": "rita"})).json()
    assert [m["status"] for m in found["items"]] == ["sent"]


def _sender_env(database_url: str, smtp_url: str, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "EVENTAPP_DATABASE_URL": database_url,
        "EVENTAPP_SMTP_URL": smtp_url,
        "EVENTAPP_MAIL_LEASE_S": "1",
        "EVENTAPP_MAIL_POLL_S": "0.1",
        "EVENTAPP_VAR_DIR": str(tmp_path / "var"),
        "EVENTAPP_SECRET_KEY": "a test secret that is long enough",
        "EVENTAPP_LOG_LEVEL": "warning",
    }


def _start_sender(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "eventapp.cli", "send-mail", *args], env=env)


async def _queue(count: int) -> None:
    async with db.transaction():
        for n in range(count):
            await mail.enqueue(
                to=f"person{n}@example.org", template="sign_in_link", context=_link_context()
            )


async def test_two_sender_processes_never_send_one_message_twice(
    client,
    database_url,
    smtp_server,  # noqa: F811
    tmp_path,
):
    await _queue(40)
    env = _sender_env(database_url, smtp_server.url, tmp_path)
    senders = [_start_sender(env, "--once") for _ in range(2)]
    for sender in senders:
        await asyncio.to_thread(sender.wait, 60)
        assert sender.returncode == 0
    ids = smtp_server.mailbox.message_ids()
    assert len(ids) == 40 and len(set(ids)) == 40
    assert await OutboxMessage.count().where(OutboxMessage.status == "sent") == 40


async def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_nothing(
    client,
    database_url,
    smtp_server,  # noqa: F811
    tmp_path,
):
    await _queue(12)
    mailbox = smtp_server.mailbox
    mailbox.hold_after = 5  # the sixth message's MAIL FROM stalls: the sender is mid-batch
    env = _sender_env(database_url, smtp_server.url, tmp_path)
    first = _start_sender(env)
    try:
        assert await asyncio.to_thread(mailbox.holding.wait, 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert len(mailbox.messages) == 5
    mailbox.hold_after = None
    started = time.monotonic()
    # The next sender picks up the rest, and the held message once its lease (1 s) runs out.
    second = _start_sender(env)
    try:
        await asyncio.to_thread(mailbox.wait_for, 12, 30)
    finally:
        second.terminate()
        second.wait(10)
    ids = mailbox.message_ids()
    assert len(ids) == 12 and len(set(ids)) == 12, ids
    assert time.monotonic() - started < 30


async def test_the_answer_leaves_before_the_email_is_looked_up(app, client, monkeypatch):
    """Known and unknown emails cost the same to answer: the lookup (and the mail) run only
    after the whole answer is sent, so its timing cannot tell whether an account exists."""
    events: list[str] = []
    looked_up = asyncio.Event()

    async def lookup(*args, **kwargs) -> None:
        events.append("lookup")
        looked_up.set()

    monkeypatch.setattr(accounts, "mail_login_link", lookup)
    body = b'{"email": "ada@example.org"}'
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/auth/sign-in-link",
        "raw_path": b"/api/auth/sign-in-link",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver.local"), (b"content-type", b"application/json")],
        "client": ("192.0.2.1", 50000),
        "server": ("testserver.local", 80),
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            events.append("answered")

    await app(scope, receive, send)
    await asyncio.wait_for(looked_up.wait(), 5)
    assert events == ["answered", "lookup"]


async def test_a_message_carries_its_attachments_and_a_stable_message_id(
    client,
    smtp_server,  # noqa: F811
    mail_settings,
):
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    async with db.transaction():
        message_id = await mail.enqueue(
            to="investor@example.org",
            template="sign_in_link",
            context=_link_context(),
            attachments=(mail.Attachment("meeting.ics", "text/calendar", calendar),),
        )
    assert await MailSender(mail_settings).deliver_due() == 1
    [received] = smtp_server.mailbox.messages
    [attached] = [part for part in received.walk() if part.get_filename() == "meeting.ics"]
    assert attached.get_content_type() == "text/calendar"
    assert attached.get_payload(decode=True) == calendar
    assert received["Message-ID"].startswith(f"<outbox-{message_id}-")


async def test_the_sender_signs_in_to_a_server_that_wants_a_login(client, mail_settings):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.live import _free_port
    from tests.mailserver import Mailbox

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret pass"
        return AuthResult(success=ok)

    mailbox, port = Mailbox(), _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        async with db.transaction():
            await mail.enqueue(to="a@example.org", template="sign_in_link", context=_link_context())
        anonymous = mail_settings.model_copy(
            update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}
        )
        assert await MailSender(anonymous).deliver_due() == 0
        [waiting] = await OutboxMessage.select().run()
        # A missing login is the set-up's fault, not the message's: it waits, never fails.
        assert waiting["status"] == "queued" and waiting["last_error"].startswith("530")
        await asyncio.sleep(0.1)  # the first retry delay in these settings
        signed_in = mail_settings.model_copy(
            update={"smtp_url": SecretStr(f"smtp://eventapp:s3cret%20pass@127.0.0.1:{port}")}
        )
        assert await MailSender(signed_in).deliver_due() == 1
        assert len(mailbox.messages) == 1
    finally:
        controller.stop()


async def test_a_message_a_sender_holds_is_not_resent_under_it(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    await client.post(
        "/api/events/showcase/invitations", json={"email": "rita@example.org", "role": "reviewer"}
    )
    held = await mail.claim_next(timedelta(seconds=60))
    refused = await client.post(f"/api/events/showcase/outbox/{held['id']}/resend")
    assert refused.status_code == 409 and refused.json()["reason"] == "message_sending"

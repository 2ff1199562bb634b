"""Review fixes: no account claimed through an invitation race, sessions that end when they
should, device tokens an organiser can shut out, and accounts marked unverified."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventapp.accounts import service
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import User
from eventapp.events.service import event_by_slug
from eventapp.mail.tables import OutboxMessage
from tests.helpers import PASSWORD, make_event, make_user, sign_in, signed_in_admin


async def _invite(client, slug: str, email: str, role: str) -> str:
    response = await client.post(
        f"/api/events/{slug}/invitations", json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()["url"].rsplit("#", 1)[1]


async def _password_works(email: str, password: str) -> bool:
    try:
        await service.authenticate(email, password)
    except service.NotAuthenticated:
        return False
    return True


async def _mailed_invite(app, slug: str, email: str, role: str) -> str:
    """An invitation sent as with SMTP configured: the link reaches the invitee's mailbox only."""
    admin = await service.user_by_email("admin@example.org")
    _, token = await service.create_invitation(
        (await event_by_slug(slug))["id"],
        email=email,
        role=Role(role),
        name="",
        inviter=service.CurrentUser(admin["id"], admin["email"], admin["name"], True),
        secret=app.state.secret,
        mailing=service.Mailing("http://testserver.local", delivers=True),
    )
    return token


async def _accept_at_once(app, delay: float, *attempts: tuple[str, str]) -> list:
    async def accept(token: str, password: str, wait: float):
        await asyncio.sleep(wait)
        return await service.accept_invitation(
            token, name="", password=password, secret=app.state.secret
        )

    return await asyncio.gather(
        *(accept(token, password, n * delay) for n, (token, password) in enumerate(attempts)),
        return_exceptions=True,
    )


@pytest.mark.parametrize("delay", [0, 0.005])
async def test_racing_invitations_never_hand_one_organiser_an_account_another_event_claimed(
    app, client, delay
):
    """Event B's invitation reaches a passwordless account's mailbox while event A's organiser,
    who was shown A's link for the same email, accepts it a moment later with a password of their
    own: only the owner gets in, whichever comes first."""
    await signed_in_admin(client)
    await make_event(client, "alpha")
    await make_event(client, "beta")
    await service.create_user("vip@example.org", name="VIP")
    owner_link = await _mailed_invite(app, "beta", "vip@example.org", "organiser")
    organiser_a_link = await _invite(client, "alpha", "vip@example.org", "investor")
    results = await _accept_at_once(
        app,
        delay,
        (owner_link, "the owner's own password"),
        (organiser_a_link, "chosen by organiser A"),
    )
    assert isinstance(results[0], service.CurrentUser), results
    assert results[1].reason in {"account_claim_refused", "invalid_credentials"}, results
    assert await _password_works("vip@example.org", "the owner's own password")
    assert not await _password_works("vip@example.org", "chosen by organiser A")
    alpha = await event_by_slug("alpha")
    assert await service.roles_in_event(results[0].id, alpha["id"]) == set()


@pytest.mark.parametrize("delay", [0, 0.005])
async def test_two_mailed_invitations_accepted_at_once_set_one_password(app, client, delay):
    """Two events' links both reach the mailbox and both are followed at once, with different
    passwords: exactly one sets the password, and the other is refused, never half-applied."""
    await signed_in_admin(client)
    await make_event(client, "alpha")
    await make_event(client, "beta")
    await service.create_user("vip@example.org", name="VIP")
    results = await _accept_at_once(
        app,
        delay,
        (await _mailed_invite(app, "beta", "vip@example.org", "organiser"), "the first password"),
        (await _mailed_invite(app, "alpha", "vip@example.org", "investor"), "the second password"),
    )
    succeeded = [r for r in results if isinstance(r, service.CurrentUser)]
    assert len(succeeded) == 1, results
    refused = next(r for r in results if not isinstance(r, service.CurrentUser))
    assert refused.reason in {"account_changed", "account_claim_refused", "invalid_credentials"}
    first_wins = await _password_works("vip@example.org", "the first password")
    second_wins = await _password_works("vip@example.org", "the second password")
    assert first_wins != second_wins
    assert first_wins == isinstance(results[0], service.CurrentUser)
    events = {e["slug"] for e in await service.my_events(succeeded[0].id)}
    assert events == ({"beta"} if first_wins else {"alpha"})


async def test_an_administrator_account_is_never_claimed_through_an_invitation(client):
    await signed_in_admin(client)
    await make_event(client, "alpha")
    await service.create_user("root@example.org", is_admin=True)
    token = await _invite(client, "alpha", "root@example.org", "reviewer")
    client.cookies.clear()
    claim = await client.post(
        "/api/invitations/accept", json={"token": token, "password": "attacker chosen pw"}
    )
    assert claim.status_code == 409 and claim.json()["reason"] == "account_claim_refused"


async def test_changing_a_password_ends_every_other_session_and_token(client, app):
    await make_user("ada@example.org")
    other_browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    async with other_browser:
        await sign_in(other_browser, "ada@example.org")
        api_token = (
            await client.post(
                "/api/auth/tokens", json={"email": "ada@example.org", "password": PASSWORD}
            )
        ).json()["token"]
        await sign_in(client, "ada@example.org")
        wrong = await client.post(
            "/api/auth/password",
            json={"current_password": "not it at all", "new_password": "a brand new password"},
        )
        assert wrong.status_code == 401
        changed = await client.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "a brand new password"},
        )
        assert changed.status_code == 204
        assert (await client.get("/api/auth/me")).status_code == 200  # this session stays
        assert (await other_browser.get("/api/auth/me")).status_code == 401
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert (await other_browser.get("/api/auth/me", headers=bearer)).status_code == 401
    assert await _password_works("ada@example.org", "a brand new password")


async def test_a_reset_password_ends_every_session(client):
    user_id = await make_user("ada@example.org")
    await sign_in(client, "ada@example.org")
    await service.set_password(user_id, "set by the owner again")
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_people_see_and_end_their_own_sessions_and_tokens(client, app):
    await make_user("ada@example.org")
    await make_user("bob@example.org")
    await client.post(
        "/api/auth/tokens",
        json={"email": "ada@example.org", "password": PASSWORD, "label": "Laptop script"},
    )
    await sign_in(client, "ada@example.org")
    listed = (await client.get("/api/auth/sessions")).json()
    assert listed["total"] == 2
    current = [item for item in listed["items"] if item["current"]]
    assert [item["kind"] for item in current] == ["session"]
    script = next(item for item in listed["items"] if item["label"] == "Laptop script")
    assert "token" not in script and "token_hash" not in script
    # Nobody else can end it.
    bob = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    async with bob:
        await sign_in(bob, "bob@example.org")
        foreign = await bob.delete(f"/api/auth/sessions/{script['id']}")
        assert foreign.status_code == 404
    assert (await client.delete(f"/api/auth/sessions/{script['id']}")).status_code == 204
    assert (await client.get("/api/auth/sessions")).json()["total"] == 1


async def test_a_lost_scanner_phone_is_shut_out_by_the_events_organiser(client, app):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    await make_event(client, "other", published=True)
    door = await make_user("door@example.org")
    await service.grant_role(door, (await event_by_slug("showcase"))["id"], Role.door_staff)
    await service.grant_role(door, (await event_by_slug("other"))["id"], Role.organiser)
    no_role = await client.post(
        "/api/auth/tokens",
        json={"email": "admin@example.org", "password": PASSWORD, "event": "nowhere"},
    )
    assert no_role.status_code == 404
    created = await client.post(
        "/api/auth/tokens",
        json={
            "email": "door@example.org",
            "password": PASSWORD,
            "label": "Door A phone",
            "event": "showcase",
        },
    )
    assert created.status_code == 201 and created.json()["event"] == "showcase"
    phone = {"Authorization": f"Bearer {created.json()['token']}"}
    scanner = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    async with scanner:
        assert (await scanner.get("/api/auth/me", headers=phone)).status_code == 200
        # A device token acts only in its own event, however much its owner may do elsewhere.
        elsewhere = await scanner.get("/api/events/other/people", headers=phone)
        assert elsewhere.status_code == 403
        sessions = await scanner.get("/api/auth/sessions", headers=phone)
        assert sessions.status_code == 403 and sessions.json()["reason"] == "token_scope"

        devices = (await client.get("/api/events/showcase/devices")).json()
        assert [(d["label"], d["email"]) for d in devices["items"]] == [
            ("Door A phone", "door@example.org")
        ]
        assert (await client.get("/api/events/other/devices")).json()["total"] == 0
        revoked = await client.delete(f"/api/events/showcase/devices/{devices['items'][0]['id']}")
        assert revoked.status_code == 204
        assert (await scanner.get("/api/auth/me", headers=phone)).status_code == 401


OPEN_CALL = {
    "opens_at": "2020-01-01T00:00:00Z",
    "closes_at": "2099-01-01T00:00:00Z",
    "open_to_all": True,
}


async def test_a_scanner_phone_is_nobody_in_another_event(client, app):
    """The owner's application in event B is out of reach of their door phone for event A."""
    await signed_in_admin(client)
    await make_event(client, "showcase")
    for slug in ("other", "third"):
        await make_event(client, slug, published=True)
        assert (await client.put(f"/api/events/{slug}/call/", json=OPEN_CALL)).status_code == 200
    door = await make_user("door@example.org")
    await service.grant_role(door, (await event_by_slug("showcase"))["id"], Role.door_staff)
    client.cookies.clear()
    await sign_in(client, "door@example.org")
    made = await client.post("/api/events/other/applications", json={"company_name": "Doorco"})
    assert made.status_code == 201
    application = made.json()["id"]
    token = await client.post(
        "/api/auth/tokens",
        json={"email": "door@example.org", "password": PASSWORD, "event": "showcase"},
    )
    phone = {"Authorization": f"Bearer {token.json()['token']}"}
    scanner = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    async with scanner:
        for method, path, body in (
            ("GET", "/api/events/other/applications/mine", None),
            ("PATCH", f"/api/events/other/applications/{application}", {"company_name": "X"}),
            ("POST", f"/api/events/other/applications/{application}/withdraw", None),
            ("POST", "/api/events/third/applications", {"company_name": "Made by phone"}),
        ):
            answer = await scanner.request(method, path, headers=phone, json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["reason"] == "token_scope"
        # Public routes of another event see it as anyone: no trace of its owner.
        seen = await scanner.get("/api/events/other", headers=phone)
        assert seen.status_code == 200 and seen.json()["my_roles"] == []
        # In its own event it still works.
        lists = await scanner.get("/api/events/showcase/checkin-lists", headers=phone)
        assert lists.status_code == 200
    mine = await client.get("/api/events/other/applications/mine")
    assert mine.json()["company_name"] == "Doorco" and mine.json()["state"] != "withdrawn"


async def test_an_account_made_from_an_invitation_link_is_unverified(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    token = await _invite(client, "showcase", "rita@example.org", "reviewer")
    accepted = await client.post(
        "/api/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200 and accepted.json()["email_verified"] is False
    await sign_in(client, "admin@example.org")
    people = (await client.get("/api/events/showcase/people", params={"q": "rita"})).json()
    assert [(p["email"], p["email_verified"]) for p in people["items"]] == [
        ("rita@example.org", False)
    ]
    user = await User.select(User.id).where(User.email == "rita@example.org").first()
    await service.verify_email(user["id"])
    people = (await client.get("/api/events/showcase/people", params={"q": "rita"})).json()
    assert people["items"][0]["email_verified"] is True


async def test_invitation_links_give_no_fresh_guesses_at_an_existing_accounts_password(client):
    """The organiser sees the link: resending it must not reset the account's budget."""
    await signed_in_admin(client)
    await make_event(client, "showcase")
    await make_user("vip@example.org")
    invitation = await client.post(
        "/api/events/showcase/invitations", json={"email": "vip@example.org", "role": "reviewer"}
    )
    token = invitation.json()["url"].rsplit("#", 1)[1]
    for n in range(10):
        guess = await client.post(
            "/api/invitations/accept", json={"token": token, "password": f"guess number {n}"}
        )
        assert guess.status_code == 401
    resent = await client.post(f"/api/events/showcase/invitations/{invitation.json()['id']}/resend")
    fresh_token = resent.json()["url"].rsplit("#", 1)[1]
    refused = await client.post(
        "/api/invitations/accept", json={"token": fresh_token, "password": PASSWORD}
    )
    assert refused.status_code == 429
    login = await client.post(
        "/api/auth/login", json={"email": "vip@example.org", "password": PASSWORD}
    )
    assert login.status_code == 429  # one budget per account, whichever route guesses


async def test_spaces_or_capitals_around_an_email_give_no_fresh_guesses(client):
    await make_user("ada@example.org")
    for n in range(10):
        await client.post(
            "/api/auth/login", json={"email": "ada@example.org", "password": f"guess {n}"}
        )
    for variant in (" ada@example.org", "ADA@example.org\t", "\u00a0Ada@Example.org"):
        again = await client.post(
            "/api/auth/tokens", json={"email": variant, "password": "one more guess"}
        )
        assert again.status_code == 429, variant


async def test_a_made_up_reset_link_is_refused_before_any_password_is_hashed(client, monkeypatch):
    hashed: list[str] = []
    monkeypatch.setattr(service, "hash_password", lambda password: hashed.append(password) or "x")
    refused = await client.post(
        "/api/auth/password-reset/complete",
        json={"token": "made-up-token", "new_password": "a long new password"},
    )
    assert refused.status_code == 404 and refused.json()["reason"] == "link_unknown"
    assert hashed == []


async def test_a_device_token_lists_only_what_anyone_sees(client):
    await signed_in_admin(client)
    await make_event(client, "showcase", published=True)
    await make_event(client, "secret-draft")
    device = await client.post(
        "/api/auth/tokens",
        json={"email": "admin@example.org", "password": PASSWORD, "event": "showcase"},
    )
    client.cookies.clear()
    listed = await client.get(
        "/api/events", headers={"Authorization": f"Bearer {device.json()['token']}"}
    )
    assert [event["slug"] for event in listed.json()["items"]] == ["showcase"]


# --------------------------------------------------------------------------------------------------
# An invitation link the organiser saw never opens an account that exists already


async def _open_call(client, slug: str) -> None:
    now = datetime.now(UTC)
    await client.patch(f"/api/events/{slug}", json={"published": True})
    call = await client.put(
        f"/api/events/{slug}/call",
        json={
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
            "open_to_all": True,
        },
    )
    assert call.status_code == 200, call.text


async def _an_applicant_and_another_events_organiser(client) -> None:
    """Someone starts a draft in alpha without an account (so founder@victim.org exists, without
    a password); Mallory organises beta, and is signed in."""
    await signed_in_admin(client)
    await make_event(client, "alpha")
    await _open_call(client, "alpha")
    await make_event(client, "beta")
    mallory = await make_user("mallory@example.org")
    await service.grant_role(mallory, (await event_by_slug("beta"))["id"], Role.organiser)
    client.cookies.clear()
    started = await client.post(
        "/api/events/alpha/applications/start",
        json={"contact_email": "founder@victim.org", "company_name": "Victim Robotics"},
    )
    assert started.status_code == 202, started.text
    await sign_in(client, "mallory@example.org")


async def _mailed_link(client, kind: str, page: str) -> str:
    for _ in range(100):
        message = await OutboxMessage.select().where(OutboxMessage.kind == kind).first()
        if message is not None:
            return re.search(rf"/{page}#(\S+)", message["text_body"]).group(1)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} mail was queued")


async def test_an_invitation_link_the_organiser_saw_never_opens_an_applicants_account(client):
    """The reviewer's proof: beta's organiser invites alpha's applicant, is shown the link (no
    SMTP), and tries to accept it with a password of their own to read alpha's application."""
    await _an_applicant_and_another_events_organiser(client)
    link = await _invite(client, "beta", "founder@victim.org", "reviewer")
    client.cookies.clear()
    claim = await client.post(
        "/api/invitations/accept", json={"token": link, "password": "mallory's own password"}
    )
    assert claim.status_code == 409 and claim.json()["reason"] == "account_claim_refused"
    assert "set a password" in claim.json()["detail"]
    assert not await _password_works("founder@victim.org", "mallory's own password")
    assert (await client.get("/api/events/alpha/applications/mine")).status_code == 401
    founder = await User.select().where(User.email == "founder@victim.org").first()
    assert founder["password_hash"] is None
    beta = await event_by_slug("beta")
    assert await service.roles_in_event(founder["id"], beta["id"]) == set()


async def test_the_invitee_sets_a_password_through_their_mailbox_then_accepts_the_same_link(
    client,
):
    """What the refused invitee does: the home page's mailed link sets a password, and the very
    same invitation then adds the role to their account, application and all."""
    await _an_applicant_and_another_events_organiser(client)
    link = await _invite(client, "beta", "founder@victim.org", "reviewer")
    client.cookies.clear()
    asked = await client.post("/api/auth/password-reset", json={"email": "founder@victim.org"})
    assert asked.status_code == 202
    reset = await client.post(
        "/api/auth/password-reset/complete",
        json={
            "token": await _mailed_link(client, "password_reset", "reset.html"),
            "new_password": PASSWORD,
        },
    )
    assert reset.status_code == 200, reset.text
    client.cookies.clear()
    accepted = await client.post(
        "/api/invitations/accept", json={"token": link, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert {(e["slug"], tuple(e["roles"])) for e in accepted.json()["events"]} == {
        ("beta", ("reviewer",))
    }
    mine = await client.get("/api/events/alpha/applications/mine")
    assert mine.status_code == 200 and mine.json()["company_name"] == "Victim Robotics"


async def test_a_link_mailed_only_to_the_applicant_lets_them_choose_their_first_password(
    app, client
):
    """With SMTP the organiser never sees the link, so following it proves the mailbox: the
    applicant chooses a password there and keeps their draft."""
    await _an_applicant_and_another_events_organiser(client)
    mallory = await service.user_by_email("mallory@example.org")
    _, token = await service.create_invitation(
        (await event_by_slug("beta"))["id"],
        email="founder@victim.org",
        role=Role.reviewer,
        name="",
        inviter=service.CurrentUser(mallory["id"], mallory["email"], mallory["name"], False),
        secret=app.state.secret,
        mailing=service.Mailing("http://testserver.local", delivers=True),
    )
    client.cookies.clear()
    accepted = await client.post(
        "/api/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["email_verified"] is True
    mine = await client.get("/api/events/alpha/applications/mine")
    assert mine.status_code == 200 and mine.json()["company_name"] == "Victim Robotics"

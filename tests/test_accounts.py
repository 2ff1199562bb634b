"""Signing in and out, bearer tokens, invitations and per-event roles."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from eventapp.accounts import service
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import AuthToken, Invitation, Organisation, User
from eventapp.errors import IntegrityConflict
from eventapp.pagination import PageRequest
from tests.helpers import PASSWORD, make_event, make_user, sign_in, signed_in_admin, user_with_role


async def test_sign_in_sets_a_hardened_session_cookie_and_me_answers(client):
    await make_user("ada@example.org")
    response = await client.post(
        "/api/auth/login", json={"email": "ADA@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.org"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = await client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["events"] == []


async def test_wrong_password_and_unknown_email_get_the_same_401(client):
    await make_user("ada@example.org")
    wrong = await client.post(
        "/api/auth/login", json={"email": "ada@example.org", "password": "nope"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "bob@example.org", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["reason"] == unknown.json()["reason"] == "invalid_credentials"
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_sign_out_ends_the_session(client):
    await make_user("ada@example.org")
    await sign_in(client, "ada@example.org")
    assert (await client.post("/api/auth/logout")).status_code == 204
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_a_disabled_account_cannot_sign_in(client):
    user_id = await make_user("ada@example.org")
    await User.update({User.is_active: False}).where(User.id == user_id).run()
    response = await client.post(
        "/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_bearer_tokens_work_without_cookies_and_can_be_revoked(client):
    await make_user("door@example.org")
    created = await client.post(
        "/api/auth/tokens",
        json={"email": "door@example.org", "password": PASSWORD, "label": "Door A"},
    )
    assert created.status_code == 201
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    client.cookies.clear()
    assert (await client.get("/api/auth/me", headers=headers)).json()["email"] == "door@example.org"
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_a_made_up_or_expired_token_is_refused(client):
    await make_user("ada@example.org")
    assert (
        await client.get("/api/auth/me", headers={"Authorization": "Bearer forged"})
    ).status_code == 401
    await sign_in(client, "ada@example.org")
    await (
        AuthToken.update({AuthToken.expires_at: service.now() - timedelta(seconds=1)})
        .where(AuthToken.kind == "session")
        .run()
    )
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_secrets_are_stored_only_as_hashes(client):
    await make_user("ada@example.org")
    created = await client.post(
        "/api/auth/tokens", json={"email": "ada@example.org", "password": PASSWORD}
    )
    token = created.json()["token"]
    user = await User.select().where(User.email == "ada@example.org").first().run()
    assert user["password_hash"].startswith("$argon2id$") and PASSWORD not in user["password_hash"]
    stored = await AuthToken.select(AuthToken.token_hash).run()
    assert all(row["token_hash"] != token and len(row["token_hash"]) == 64 for row in stored)


async def test_writes_from_another_site_are_refused_signed_in_or_not(client):
    await make_user("ada@example.org")
    evil = {"Origin": "https://evil.example"}
    credentials = {"email": "ada@example.org", "password": PASSWORD}
    login_csrf = await client.post("/api/auth/login", json=credentials, headers=evil)
    assert login_csrf.status_code == 403 and login_csrf.json()["reason"] == "cross_site_request"
    assert "set-cookie" not in login_csrf.headers
    await sign_in(client, "ada@example.org")
    response = await client.post("/api/auth/logout", headers=evil)
    assert response.status_code == 403 and response.json()["reason"] == "cross_site_request"
    assert (await client.get("/api/auth/me", headers=evil)).status_code == 200
    same_site = await client.post("/api/auth/logout", headers={"Origin": "http://testserver.local"})
    assert same_site.status_code == 204


async def test_emails_are_unique_whatever_their_case(client):
    await make_user("Ada@Example.org")
    try:
        await User.insert(User(email="ADA@example.ORG")).run()
    except IntegrityConflict as conflict:
        assert conflict.reason == "email_taken"
    else:
        raise AssertionError("a second account with the same email was accepted")


async def _invite(client, slug: str, email: str, role: str = "reviewer") -> dict:
    response = await client.post(
        f"/api/events/{slug}/invitations", json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _token(invitation: dict) -> str:
    return invitation["url"].rsplit("#", 1)[1]


async def test_an_invitation_link_creates_the_account_grants_the_role_and_signs_in(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    invitation = await _invite(client, "showcase", "Rita@Example.org")
    assert invitation["status"] == "pending" and invitation["email"] == "rita@example.org"
    client.cookies.clear()

    preview = await client.post("/api/invitations/preview", json={"token": _token(invitation)})
    assert preview.status_code == 200
    assert preview.json()["event_slug"] == "showcase"
    assert "has_password" not in preview.json()  # the link does not tell whether an account exists

    accepted = await client.post(
        "/api/invitations/accept",
        json={"token": _token(invitation), "name": "Rita", "password": PASSWORD},
    )
    assert accepted.status_code == 200
    assert accepted.json()["events"] == [
        {"slug": "showcase", "name": "Showcase showcase", "roles": ["reviewer"]}
    ]
    assert (await client.get("/api/auth/me")).json()["name"] == "Rita"


async def test_investors_invited_with_one_firm_name_join_that_firm_and_meet_as_it(client):
    """Two people of one firm, the name typed differently: one firm, which matchmaking knows."""
    await signed_in_admin(client)
    await make_event(client, "showcase")
    tokens = []
    for email, firm in (
        ("aiko@example.org", "Sakura Capital"),
        ("ken@example.org", "sakura capital"),
    ):
        response = await client.post(
            "/api/events/showcase/invitations",
            json={"email": email, "role": "investor", "organisation": firm},
        )
        assert response.status_code == 201, response.text
        assert response.json()["organisation_name"] == firm
        tokens.append(_token(response.json()))
    client.cookies.clear()
    for token in tokens:
        body = {"token": token, "name": "", "password": PASSWORD}
        assert (await client.post("/api/invitations/accept", json=body)).status_code == 200
        firm = await client.get("/api/events/showcase/meetings/investor-profile")
        assert firm.status_code == 200, firm.text  # no longer 403 no_organisation
        assert firm.json()["firm_name"] == "Sakura Capital"
    firms = await Organisation.select().where(Organisation.kind == "investor").run()
    assert [row["name"] for row in firms] == ["Sakura Capital"]


async def test_an_invitation_works_once(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    token = _token(await _invite(client, "showcase", "rita@example.org"))
    body = {"token": token, "password": PASSWORD}
    assert (await client.post("/api/invitations/accept", json=body)).status_code == 200
    again = await client.post("/api/invitations/accept", json=body)
    assert again.status_code == 410 and again.json()["reason"] == "invitation_accepted"


async def test_concurrent_accepts_of_one_invitation_let_exactly_one_through(app, client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    invitation = await _invite(client, "showcase", "rita@example.org")
    await make_user("rita@example.org", password=PASSWORD)
    results = await asyncio.gather(
        *(
            service.accept_invitation(
                _token(invitation), name="", password=PASSWORD, secret=app.state.secret
            )
            for _ in range(8)
        ),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, service.CurrentUser)]
    assert len(accepted) == 1, results
    assert all(
        getattr(r, "reason", None) in {"invitation_accepted"} for r in results if r not in accepted
    )


async def test_expired_revoked_and_unknown_invitations_are_refused(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    expired = await _invite(client, "showcase", "old@example.org")
    await (
        Invitation.update({Invitation.expires_at: service.now() - timedelta(minutes=1)})
        .where(Invitation.id == expired["id"])
        .run()
    )
    revoked = await _invite(client, "showcase", "gone@example.org")
    assert (
        await client.delete(f"/api/events/showcase/invitations/{revoked['id']}")
    ).status_code == 204

    for invitation, reason in ((expired, "invitation_expired"), (revoked, "invitation_revoked")):
        response = await client.post("/api/invitations/preview", json={"token": _token(invitation)})
        assert response.status_code == 410 and response.json()["reason"] == reason
    unknown = await client.post("/api/invitations/preview", json={"token": "not-a-real-token"})
    assert unknown.status_code == 404 and unknown.json()["reason"] == "invitation_unknown"


async def test_a_person_has_one_pending_invitation_per_role_until_it_expires(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    first = await _invite(client, "showcase", "rita@example.org")
    again = await client.post(
        "/api/events/showcase/invitations", json={"email": "RITA@example.org", "role": "reviewer"}
    )
    assert again.status_code == 409 and again.json()["reason"] == "already_invited"
    await (
        Invitation.update({Invitation.expires_at: service.now()})
        .where(Invitation.id == first["id"])
        .run()
    )
    assert (
        await client.post(
            "/api/events/showcase/invitations",
            json={"email": "rita@example.org", "role": "reviewer"},
        )
    ).status_code == 201


async def test_an_invitation_to_an_existing_account_needs_its_password(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    await make_user("rita@example.org", password=PASSWORD)
    token = _token(await _invite(client, "showcase", "rita@example.org", role="investor"))
    preview = await client.post("/api/invitations/preview", json={"token": token})
    assert preview.status_code == 200 and "has_password" not in preview.json()
    wrong = await client.post(
        "/api/invitations/accept", json={"token": token, "password": "not the password"}
    )
    assert wrong.status_code == 401
    right = await client.post(
        "/api/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert right.status_code == 200 and right.json()["events"][0]["roles"] == ["investor"]


async def test_only_organisers_invite_and_a_role_in_one_event_gives_nothing_in_another(client):
    await signed_in_admin(client)
    await make_event(client, "alpha", published=True)
    await make_event(client, "beta", published=True)
    await user_with_role("alpha", "olga@example.org", Role.organiser)
    await user_with_role("beta", "rex@example.org", Role.reviewer)
    client.cookies.clear()
    await sign_in(client, "olga@example.org")
    assert (await client.patch("/api/events/alpha", json={"name": "Alpha 2"})).status_code == 200
    other = await client.patch("/api/events/beta", json={"name": "Hijacked"})
    assert other.status_code == 403 and other.json()["reason"] == "role_required"
    other = await client.post(
        "/api/events/beta/invitations", json={"email": "x@example.org", "role": "organiser"}
    )
    assert other.status_code == 403
    client.cookies.clear()
    await sign_in(client, "rex@example.org")
    as_reviewer = await client.post(
        "/api/events/beta/invitations", json={"email": "x@example.org", "role": "investor"}
    )
    assert as_reviewer.status_code == 403


async def test_an_invitation_cannot_claim_a_passwordless_account_used_in_other_events(client):
    """Organisers see their invitation links: one must not take over an account active elsewhere."""
    await signed_in_admin(client)
    await make_event(client, "alpha")
    await make_event(client, "beta")
    target = await service.create_user("vip@example.org", name="VIP")
    from eventapp.events.service import event_by_slug

    await service.grant_role(target, (await event_by_slug("beta"))["id"], Role.organiser)
    token = _token(await _invite(client, "alpha", "vip@example.org", role="reviewer"))
    client.cookies.clear()
    claim = await client.post(
        "/api/invitations/accept", json={"token": token, "password": "attacker chosen pw"}
    )
    assert claim.status_code == 409 and claim.json()["reason"] == "account_claim_refused"
    assert (await User.select(User.password_hash).where(User.id == target).first())[
        "password_hash"
    ] is None


async def test_a_passwordless_account_chooses_its_password_only_through_a_link_mailed_to_it(
    app, client
):
    """Even an account that holds nothing yet: the link the organiser was shown cannot open it,
    the one that went only to its mailbox can."""
    admin = await signed_in_admin(client)
    await make_event(client, "alpha")
    await service.create_user("imported@example.org", name="Imported")
    shown = await _invite(client, "alpha", "imported@example.org", role="investor")
    client.cookies.clear()
    preview = await client.post("/api/invitations/preview", json={"token": _token(shown)})
    assert preview.status_code == 200 and "has_password" not in preview.json()
    refused = await client.post(
        "/api/invitations/accept", json={"token": _token(shown), "password": PASSWORD}
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "account_claim_refused"
    from eventapp.events.service import event_by_slug

    alpha = (await event_by_slug("alpha"))["id"]
    await service.revoke_invitation(alpha, shown["id"])
    _, mailed = await service.create_invitation(
        alpha,
        email="imported@example.org",
        role=Role.investor,
        name="",
        inviter=service.CurrentUser(admin, "admin@example.org", "Admin", True),
        secret=app.state.secret,
        mailing=service.Mailing("http://testserver.local", delivers=True),
    )
    accepted = await client.post(
        "/api/invitations/accept", json={"token": mailed, "password": PASSWORD}
    )
    assert accepted.status_code == 200 and accepted.json()["events"][0]["roles"] == ["investor"]


async def test_two_organisers_removing_each_other_at_once_leave_one(client):
    first = await signed_in_admin(client)
    await make_event(client, "showcase")
    second = await user_with_role("showcase", "olga@example.org", Role.organiser)
    from eventapp.events.service import event_by_slug

    event_id = (await event_by_slug("showcase"))["id"]
    results = await asyncio.gather(
        service.revoke_role(first, event_id, Role.organiser),
        service.revoke_role(second, event_id, Role.organiser),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"], results
    assert (
        len(
            [
                p
                for p in (await service.people_in_event(event_id, PageRequest()))[0]
                if p["role"] == "organiser"
            ]
        )
        == 1
    )


async def test_organisers_see_people_and_cannot_remove_the_last_organiser(client):
    admin_id = await signed_in_admin(client)
    await make_event(client, "showcase")
    reviewer_id = await user_with_role("showcase", "rex@example.org", Role.reviewer)
    people = (await client.get("/api/events/showcase/people")).json()["items"]
    assert {(p["email"], p["role"]) for p in people} == {
        ("admin@example.org", "organiser"),
        ("rex@example.org", "reviewer"),
    }
    assert (
        await client.delete(f"/api/events/showcase/people/{reviewer_id}/roles/reviewer")
    ).status_code == 204
    last = await client.delete(f"/api/events/showcase/people/{admin_id}/roles/organiser")
    assert last.status_code == 409 and last.json()["reason"] == "last_organiser"
    unknown_role = await client.delete(f"/api/events/showcase/people/{admin_id}/roles/emperor")
    assert unknown_role.status_code == 400

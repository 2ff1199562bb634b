"""Small steps many tests share: make a user, sign in, make an event."""

from __future__ import annotations

from httpx import AsyncClient

from eventapp.accounts import service
from eventapp.accounts.schemas import Role

PASSWORD = "correct horse battery staple"


async def make_user(email: str, *, is_admin: bool = False, password: str = PASSWORD) -> int:
    return await service.create_user(
        email, name=email.split("@")[0].title(), password=password, is_admin=is_admin
    )


async def sign_in(client: AsyncClient, email: str, password: str = PASSWORD) -> dict:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def signed_in_admin(client: AsyncClient, email: str = "admin@example.org") -> int:
    user_id = await make_user(email, is_admin=True)
    await sign_in(client, email)
    return user_id


async def make_event(client: AsyncClient, slug: str = "showcase", **fields) -> dict:
    body = {"slug": slug, "name": f"Showcase {slug}", "timezone": "Asia/Singapore", **fields}
    response = await client.post("/api/events", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def user_with_role(event_slug: str, email: str, role: Role) -> int:
    from eventapp.events.service import event_by_slug

    user_id = await make_user(email)
    event = await event_by_slug(event_slug)
    await service.grant_role(user_id, event["id"], role)
    return user_id

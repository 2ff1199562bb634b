"""The route decorators every domain uses: Litestar's, with guards called without a copy.

Litestar calls each guard with a fresh copy of the route handler (`authorize_connection`), so a
guard could change it without touching the shared one; copying a handler costs about 25 us, paid
on every request to an event's routes. Our guards only read the handler, so `Route` hands them the
handler itself. Otherwise these are Litestar's `get`, `post`, ... unchanged (a test checks every
route is made with them).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


class Route(HTTPRouteHandler):
    """An HTTP route handler whose guards see the handler itself rather than a copy."""

    async def authorize_connection(self, connection: ASGIConnection) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]


def _method(method: HttpMethod):
    def decorator(path: str | None = None, **kwargs: Any) -> Route:
        return Route(path, http_method=method, **kwargs)

    decorator.__name__ = method.value.lower()
    decorator.__doc__ = f"A {method.value} route (see `Route`)."
    return decorator


get = _method(HttpMethod.GET)
post = _method(HttpMethod.POST)
put = _method(HttpMethod.PUT)
patch = _method(HttpMethod.PATCH)
delete = _method(HttpMethod.DELETE)

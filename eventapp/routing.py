"""The route decorators every domain uses: Litestar's, with what every request pays trimmed.

Litestar calls each guard with a fresh copy of the route handler (`authorize_connection`), so a
guard could change it without touching the shared one; copying a handler costs about 25 us, paid
on every request to an event's routes. Our guards only read the handler, so `Route` hands them the
handler itself.

A handler that returns a pydantic model is answered with the model's own JSON serializer, what
Litestar would send (a test compares them), without Litestar's `Response` object, its
header bookkeeping and a `model_dump` to Python objects before msgspec encodes them: 17 to 24 us
of every such request; JSON a handler encoded itself (a `Response` of bytes) goes out the same
way. Routes with anything else to say (headers, cookies, after-request hooks,
background tasks, DTOs, other media types) take Litestar's way unchanged. Otherwise these are
Litestar's `get`, `post`, ... (a test checks every route is made with them), and `Request` is
Litestar's with its Content-Length read from the raw headers.

`lane` is a second way into one route, for the door scan alone (the busiest write at an event):
it answers the route's usual request without Litestar's parameter parsing, dependency injection
and response, and hands the handler everything else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import litestar
from litestar import Response
from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod, MediaType
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from pydantic import BaseModel, ValidationError


class Route(HTTPRouteHandler):
    """An HTTP route handler whose guards see the handler itself rather than a copy, and whose
    pydantic answers are encoded by pydantic directly."""

    _plain: bool | None = None  # decided on the first answer, once the app is built

    async def authorize_connection(self, connection: ASGIConnection) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]

    async def to_response(self, app: Any, data: Any, request: Any) -> Any:
        if (
            isinstance(data, BaseModel)
            and self.media_type == MediaType.JSON
            and self._answers_plainly()
        ):
            # by_alias=False as Litestar's encoder: a model's own alias setting does not apply.
            body = data.__pydantic_serializer__.to_json(data, by_alias=False)
            return _JSONAnswer(body, self.status_code)
        if (
            type(data) is Response
            and type(data.content) is bytes
            and data.media_type == MediaType.JSON
            and not (data.headers or data.cookies or data.background)
            and data.status_code is not None
            and _has_body(data.status_code)
            and self._answers_plainly()
        ):
            return _JSONAnswer(data.content, data.status_code or self.status_code)
        return await super().to_response(app, data, request)

    def _answers_plainly(self) -> bool:
        """Nothing but the body and its status to send: no headers, cookies, hooks or DTOs."""
        if self._plain is None:
            self._plain = (
                self.resolve_response_class() is Response
                and not any(layer.after_request for layer in self.ownership_layers)
                and not self.resolve_return_dto()
                and not self.resolve_response_headers()
                and not self.resolve_response_cookies()
                and self.background is None
                and "HEAD" not in self.http_methods
                # Encoders set below the app (the app's are pydantic's defaults) would be skipped.
                and not any(layer.type_encoders for layer in self.ownership_layers[1:])
            )
        return self._plain


def _has_body(status: int) -> bool:
    """Statuses that may carry a body (not 1xx, 204 or 304: Litestar handles those itself)."""
    return status >= 200 and status not in (204, 304)


class _JSONAnswer:
    """A JSON body already encoded, sent with the headers Litestar would give it."""

    __slots__ = ("body", "status")

    def __init__(self, body: bytes, status: int) -> None:
        self.body, self.status = body, status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = b"%d" % len(self.body)
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class Request(litestar.Request):
    """Litestar's request, reading Content-Length (asked before every body is read) from the raw
    headers: building Litestar's header object for it cost about 8 us a write."""

    @property
    def content_length(self) -> int | None:
        if self._content_length is Empty:
            announced = next(
                (value for name, value in self.scope["headers"] if name == b"content-length"), None
            )
            try:
                self._content_length = int(announced) if announced is not None else None
            except ValueError:
                shown = announced.decode("latin-1") if announced is not None else None
                raise ClientException(f"Invalid content-length: {shown!r}") from None
        return self._content_length  # type: ignore[return-value]


_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")


def lane(
    body_model: type[BaseModel],
    answer: Callable[[ASGIConnection, Any], Awaitable[tuple[int, bytes]]],
) -> Callable[[ASGIApp], ASGIApp]:
    """A route middleware for the hottest write (the door scan): it answers the route's usual
    request itself, past Litestar's parameter parsing, dependency injection and response (about
    60 us of a request), and hands anything else to the route's handler, untouched.

    The usual request: a JSON body within the size limit that `body_model` accepts under its
    strict JSON rules. The lane runs the route's guards as Litestar would (the app's own,
    `app_guard`, have run before it), then `answer(connection, body)` gives the status and the
    encoded JSON. Anything else, a body of another type, too large, or refused by the model (or
    accepted only by Litestar's looser decoding, such as 12.0 for an integer), goes on to the
    handler, which answers as always, refusals and all. So the handler must answer what `answer`
    does, and the route keeps its place in the OpenAPI document.
    """

    # Per handler: whether the lane may answer (no hooks to run), and its body size limit.
    lanes: dict[Any, tuple[bool, int | None]] = {}

    def middleware(app: ASGIApp) -> ASGIApp:
        async def route(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope["route_handler"]
            if handler not in lanes:  # what Litestar would do around the handler, once
                limit = handler.resolve_request_max_body_size()  # type: ignore[union-attr]
                lanes[handler] = (_answers_as_lane_does(handler), limit)
            usable, limit = lanes[handler]
            if not (usable and _sends_json(scope)):
                return await app(scope, receive, send)
            messages, complete = await _body_within(receive, limit)
            if not complete:
                return await app(scope, _replaying(messages, receive), send)
            body = b"".join(message.get("body", b"") for message in messages)
            try:
                data = body_model.model_validate_json(body, strict=True)
            except ValidationError:
                return await app(scope, _replaying(messages, receive), send)
            connection: ASGIConnection = ASGIConnection(scope, receive, send)
            await handler.authorize_connection(connection)  # type: ignore[union-attr]
            status, content = await answer(connection, data)
            await _JSONAnswer(content, status)(scope, receive, send)

        return route

    return middleware


def _sends_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.lower() in _JSON_TYPES
    return False


async def _body_within(receive: Receive, limit: int | None) -> tuple[list[Message], bool]:
    """The body's messages read so far, and whether that is the whole body within `limit`.
    When it is not (too large, or the client went away), what was read is replayed to the
    handler, which refuses it as Litestar does."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if limit is not None and size > limit:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives back what the lane read, then goes on with the real one."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _answers_as_lane_does(handler: Any) -> bool:
    """Nothing around the handler but its body and status: no hooks to run, no headers, cookies
    or DTOs to apply (Litestar's way does those)."""
    return (
        isinstance(handler, Route)
        and handler._answers_plainly()
        and not (handler.resolve_before_request() or handler.resolve_after_response())
    )


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

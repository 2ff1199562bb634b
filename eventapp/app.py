"""The application factory: plugins, routers, handlers. Nothing else."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from eventapp import __version__, db
from eventapp.accounts import cache as caller_cache
from eventapp.accounts.guards import provide_user, refuse_cross_site_writes, require_login
from eventapp.accounts.routes import ROUTES as ACCOUNT_ROUTES
from eventapp.accounts.throttle import MemoryCounter, RedisCounter, Throttle
from eventapp.apidocs import OfflineSwagger
from eventapp.applications.routes import ROUTES as APPLICATION_ROUTES
from eventapp.events.routes import ROUTES as EVENT_ROUTES
from eventapp.live.hub import hub as live_hub
from eventapp.live.sockets import ROUTES as LIVE_ROUTES
from eventapp.mail.routes import ROUTES as MAIL_ROUTES
from eventapp.mail.sender import MailSender
from eventapp.matchmaking.routes import ROUTES as MATCHMAKING_ROUTES
from eventapp.matchmaking.service import sweep_forever as sweep_meeting_requests
from eventapp.openapi import document_api, operation_id
from eventapp.pagination import provide_page
from eventapp.problems import EXCEPTION_HANDLERS
from eventapp.programme.demo import start_player as start_demo_player
from eventapp.programme.routes import ROUTES as PROGRAMME_ROUTES
from eventapp.review.routes import ROUTES as REVIEW_ROUTES
from eventapp.routing import Request
from eventapp.settings import Settings
from eventapp.system import health
from eventapp.tickets.exports import export_worker
from eventapp.tickets.routes import ROUTES as TICKET_ROUTES
from eventapp.tickets.routes import document_checkin_answers

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# Pages load only our own scripts and styles: an injected script has nowhere to come from.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


_RAW_SECURITY_HEADERS = [
    (name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
]


async def add_security_headers(message: Message, _: Scope) -> None:
    """Every answer, refusals included, carries the security headers, appended as bytes to the
    start of the response (an `after_request` hook editing Litestar's headers cost ~60 us)."""
    if message["type"] == "http.response.start":
        message["headers"] = [*message.get("headers", ()), *_RAW_SECURITY_HEADERS]


async def add_page_policy(response: Response) -> Response:
    """For the static pages (a router's after_request replaces the app's, so both go here)."""
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def app_guard(app: ASGIApp) -> ASGIApp:
    """The app-wide guards (`refuse_cross_site_writes`, `require_login`) on every route.

    A middleware rather than Litestar guards: Litestar copies the route handler for every call of
    a guard list (about 40 us a request); Litestar wraps each route in the app's middleware, so
    the handler is at hand in the scope all the same.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        # Websockets too: one from another site is refused like a cross-site write.
        connection: ASGIConnection = ASGIConnection(scope, receive, send)
        handler = scope["route_handler"]
        await refuse_cross_site_writes(connection, handler)
        await require_login(connection, handler)
        await app(scope, receive, send)

    return middleware


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    engine = db.engine_from_url(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db.activate(engine)
        if isinstance(engine, db.EventappPostgresEngine):
            await engine.start(pool_size=settings.postgres_pool_size)
        else:
            await engine.start()
        if settings.redis_url:
            from redis.asyncio import Redis

            app.state.redis = Redis.from_url(settings.redis_url)
            app.state.throttle = Throttle(
                RedisCounter(app.state.redis), namespace=settings.redis_namespace
            )
        await caller_cache.start(app.state.redis, settings.redis_namespace)
        await live_hub.start(app.state.redis, settings.redis_namespace)
        sender = asyncio.create_task(app.state.mail.run(), name="mail sender")
        player = start_demo_player(settings.demo_live_s)  # `eventapp demo --live` only
        sweeper = asyncio.create_task(sweep_meeting_requests(), name="meeting request expiry")
        # The ~200,000 objects of the started app live as long as it: frozen, a full garbage
        # collection no longer walks them (it took 110-118 ms, a stall for every request). No
        # collection first: it would cost every start (and every test) 110 ms, for little.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # what this app held can be collected once it is gone (tests make many)
            sweeper.cancel()
            await asyncio.wait([sweeper], timeout=5)
            # Bounded: a sender mid-conversation with a silent SMTP server must not hold up a
            # shutdown (what it had claimed goes to the next sender when the lease runs out).
            sender.cancel()
            await asyncio.wait([sender], timeout=5)
            if player is not None:
                player.cancel()
                await asyncio.wait([player], timeout=5)
            await caller_cache.stop()
            await live_hub.stop()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.close()

    app = Litestar(
        route_handlers=[
            health,
            *ACCOUNT_ROUTES,
            *EVENT_ROUTES,
            *MAIL_ROUTES,
            *PROGRAMME_ROUTES,
            *LIVE_ROUTES,
            *MATCHMAKING_ROUTES,
            *APPLICATION_ROUTES,
            *REVIEW_ROUTES,
            *TICKET_ROUTES,
            create_static_files_router(
                path="/",
                directories=[settings.static_dir],
                html_mode=True,
                opt={"public": True},
                after_request=add_page_policy,
            ),
        ],
        dependencies={"user": Provide(provide_user), "page": Provide(provide_page)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[app_guard],
        before_send=[add_security_headers],
        lifespan=[lifespan, export_worker],
        state=State(
            {
                "settings": settings,
                "secret": settings.secret(),
                "engine": engine,
                "redis": None,
                # In this process until the lifespan connects Redis, which every process shares.
                "throttle": Throttle(MemoryCounter()),
                # Every process runs a sender; leases keep them from sending a message twice.
                "mail": MailSender(settings),
            }
        ),
        request_class=Request,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="eventapp",
            version=__version__,
            description="Run a start-up pitch and investor matchmaking event end to end.",
            path="/schema",
            operation_id_creator=operation_id,
            render_plugins=[OfflineSwagger()],
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                opt={"public": True},
                include_in_schema=False,
                after_request=add_page_policy,
            ),
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level.upper(), "handlers": ["queue_listener"]},
            log_exceptions="always" if settings.log_level == "debug" else "debug",
        ),
    )
    document_api(app)  # every refusal, declared once by kind in eventapp/openapi.py
    document_checkin_answers(app)  # check-in refusals in pretix's shape besides problem details
    return app

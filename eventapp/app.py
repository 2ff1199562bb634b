"""The application factory: plugins, routers, handlers. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from eventapp import __version__, db
from eventapp.accounts import cache as caller_cache
from eventapp.accounts.guards import provide_user, refuse_cross_site_writes, require_login
from eventapp.accounts.routes import ROUTES as ACCOUNT_ROUTES
from eventapp.accounts.throttle import MemoryCounter, RedisCounter, Throttle
from eventapp.apidocs import OfflineSwagger
from eventapp.events.routes import ROUTES as EVENT_ROUTES
from eventapp.mail.routes import ROUTES as MAIL_ROUTES
from eventapp.mail.sender import MailSender
from eventapp.openapi import document_api, operation_id
from eventapp.pagination import provide_page
from eventapp.problems import EXCEPTION_HANDLERS
from eventapp.settings import Settings
from eventapp.system import health

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


async def add_security_headers(response: Response) -> Response:
    """Async on purpose: Litestar runs a sync after_request hook in a worker thread (~100 us)."""
    response.headers.update(SECURITY_HEADERS)
    return response


async def add_page_policy(response: Response) -> Response:
    """For the static pages (a router's after_request replaces the app's, so both go here)."""
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return await add_security_headers(response)


async def app_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guards in one: Litestar copies the handler for every guard it calls."""
    await refuse_cross_site_writes(connection, handler)
    await require_login(connection, handler)


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
        await caller_cache.start(app.state.redis)
        sender = asyncio.create_task(app.state.mail.run(), name="mail sender")
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await caller_cache.stop()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.close()

    app = Litestar(
        route_handlers=[
            health,
            *ACCOUNT_ROUTES,
            *EVENT_ROUTES,
            *MAIL_ROUTES,
            create_static_files_router(
                path="/",
                directories=[settings.static_dir],
                html_mode=True,
                opt={"public": True},
                after_request=add_page_policy,
            ),
        ],
        guards=[app_guard],
        dependencies={"user": Provide(provide_user), "page": Provide(provide_page)},
        exception_handlers=EXCEPTION_HANDLERS,
        after_request=add_security_headers,
        lifespan=[lifespan],
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
    return app

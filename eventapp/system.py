"""Operational routes: health for load balancers and orchestrators."""

from __future__ import annotations

from litestar import Request, Response
from litestar.openapi import ResponseSpec

from eventapp import db
from eventapp.routing import get


@get(
    "/health",
    opt={"public": True},
    tags=["system"],
    cache=False,
    responses={
        503: ResponseSpec(
            dict, generate_examples=False, description="The same report, when a part fails."
        )
    },
)
async def health(request: Request) -> Response[dict]:
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    state = request.app.state
    report: dict = {
        "database": {"engine": state.engine.engine_type, "ok": await db.ping(state.engine)}
    }
    if state.redis is not None:
        try:
            redis_ok = bool(await state.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means Redis is not usable
            redis_ok = False
        report["redis"] = {"ok": redis_ok}
    healthy = all(part["ok"] for part in report.values())
    report["status"] = "ok" if healthy else "unavailable"
    return Response(report, status_code=200 if healthy else 503)

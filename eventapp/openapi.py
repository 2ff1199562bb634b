"""The OpenAPI document tells what the server does, refusals included.

Litestar documents each route's success answer from its signature. Everything a route can refuse
is declared here, once per *kind* of refusal, in `REFUSAL_KINDS`: a rule that says which routes it
applies to (by their guards, method, parameters, body or `opt` flags) and what they answer then.
`document_api(app)` runs when the app is built: it walks every route handler, collects the
refusals of every kind that applies, and writes them into the document under
`application/problem+json` with the one `ProblemDetails` schema. A new route is thus documented by
default; a refusal only its service knows (an expired invitation) is added on the route with
`opt={"refuses": [Refusal(...)]}`. A test fuzzes the server from this document (schemathesis),
so a status or shape the document does not announce fails the suite.

The same pass takes our models' schemas from pydantic, which validates the requests (Litestar's
own drop patterns and say `duration` for a time of day), so each request model states whether
it refuses unknown fields; and it says that a 204 has no content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from eventapp.accounts.guards import SESSION_COOKIE
from eventapp.problems import PROBLEM_JSON

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Refusal:
    """One refusal a route may answer: its status and the `reason` values it carries.

    `reasons` is the complete set when `open` is false (the document lists them as an enum);
    when `open` is true the set depends on data (database rules), and only examples are named.
    """

    status: int
    description: str
    reasons: tuple[str, ...] = ()
    open: bool = False
    retry_after: bool = False


@dataclass(frozen=True)
class RefusalKind:
    """A kind of refusal and the routes it applies to."""

    name: str
    applies: Callable[[HTTPRouteHandler, str, Operation], bool]
    refusals: tuple[Refusal, ...]


def _guard_names(handler: HTTPRouteHandler) -> set[str]:
    return {getattr(guard, "__name__", "") for guard in handler.resolve_guards()}


def _has_guard(prefix: str) -> Callable[[HTTPRouteHandler, str, Operation], bool]:
    return lambda handler, _method, _op: any(
        name.startswith(prefix) for name in _guard_names(handler)
    )


def _has_input(_handler: HTTPRouteHandler, _method: str, operation: Operation) -> bool:
    return bool(operation.parameters) or operation.request_body is not None


def _has_body(_handler: HTTPRouteHandler, _method: str, operation: Operation) -> bool:
    return operation.request_body is not None


def _names_a_row(_handler: HTTPRouteHandler, _method: str, operation: Operation) -> bool:
    return any(
        getattr(p, "param_in", None) == "path" and p.name.endswith("_id")
        for p in operation.parameters or []
    )


# Every kind of refusal, declared once. Read top to bottom: this is what any route may answer
# besides its success, depending on how it is declared.
REFUSAL_KINDS: tuple[RefusalKind, ...] = (
    RefusalKind(
        "sign-in (app-wide guard require_login; routes marked opt public are exempt)",
        lambda handler, _m, _o: not handler.opt.get("public"),
        (
            Refusal(
                401,
                "Not signed in: no valid session cookie or bearer token.",
                ("not_authenticated",),
            ),
        ),
    ),
    RefusalKind(
        "cross-site writes (app-wide guard refuse_cross_site_writes)",
        lambda _h, method, _o: method in UNSAFE_METHODS,
        (
            Refusal(
                403, "A browser sent this write from another site's page.", ("cross_site_request",)
            ),
        ),
    ),
    RefusalKind(
        "administrators only (guard require_admin)",
        _has_guard("require_admin"),
        (Refusal(403, "Only an administrator may do this.", ("admin_only",)),),
    ),
    RefusalKind(
        "a role in the event (guard event_role)",
        _has_guard("event_role"),
        (
            Refusal(403, "The caller lacks the role this needs in the event.", ("role_required",)),
            Refusal(
                404, "No such event, or a draft the caller has no role in.", ("event_unknown",)
            ),
        ),
    ),
    RefusalKind(
        "a visible event (guard event_visible)",
        _has_guard("event_visible"),
        (Refusal(404, "No such event, or a draft the caller has no role in.", ("event_unknown",)),),
    ),
    RefusalKind(
        "a row named in the path (a path parameter ending in _id)",
        _names_a_row,
        (Refusal(404, "No such row in this event.", ("not_found",)),),
    ),
    RefusalKind(
        "validation (parameters and bodies)",
        _has_input,
        (
            Refusal(
                400,
                "The request does not have the expected shape; `errors` lists the fields.",
                ("invalid", "bad_request"),
            ),
        ),
    ),
    RefusalKind(
        "body size (request_max_body_size)",
        _has_body,
        (Refusal(413, "The body is larger than the server accepts.", ("body_too_large",)),),
    ),
    RefusalKind(
        "conflicts (signed-in writes that send data may meet a unique rule or a reference)",
        lambda handler, method, operation: (
            method in UNSAFE_METHODS
            and not handler.opt.get("public")
            and _has_input(handler, method, operation)
        ),
        (
            Refusal(
                409,
                "The change conflicts with existing data; `reason` names the rule.",
                ("conflict",),
                open=True,
            ),
        ),
    ),
    RefusalKind(
        "rate limits (routes marked opt rate_limited)",
        lambda handler, _m, _o: bool(handler.opt.get("rate_limited")),
        (
            Refusal(
                429,
                "Too many attempts from this client or at this account; retry after "
                "Retry-After seconds.",
                ("too_many_attempts",),
                retry_after=True,
            ),
        ),
    ),
    RefusalKind(
        "unavailable (every route: the database is busy for too long)",
        lambda _h, _m, _o: True,
        (
            Refusal(
                503,
                "The server cannot answer now; retry after Retry-After seconds.",
                ("unavailable",),
                retry_after=True,
            ),
        ),
    ),
)

PROBLEM_DETAILS = Schema(
    type=OpenAPIType.OBJECT,
    title="ProblemDetails",
    description="RFC 9457 problem details: every refusal and error has this shape.",
    required=["status", "title", "detail"],
    additional_properties=True,
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="Always about:blank"),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "title": Schema(type=OpenAPIType.STRING, description="The status's phrase"),
        "detail": Schema(type=OpenAPIType.STRING, description="A sentence for people"),
        "reason": Schema(
            type=OpenAPIType.STRING,
            description="A stable machine-readable reason for clients that must act on it",
        ),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="For validation refusals: which fields, and what is wrong with them",
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["message"],
                properties={
                    "key": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                    "source": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)

RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]+$"),
    required=True,
    description="Seconds to wait before trying again.",
)


@dataclass
class PydanticSchema(Schema):
    """A model's schema exactly as pydantic validates it (Litestar's own drops patterns)."""

    json_schema: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.json_schema


def operation_id(handler: HTTPRouteHandler, _method: str, _path: list[Any]) -> str:
    """A handler's function name (`list_events`): the generated clients' method names."""
    return handler.handler_name


def refusals_for(handler: HTTPRouteHandler, method: str, operation: Operation) -> list[Refusal]:
    """Every refusal this operation may answer: the kinds that apply, then the route's own."""
    found = [
        refusal
        for kind in REFUSAL_KINDS
        if kind.applies(handler, method, operation)
        for refusal in kind.refusals
    ]
    return found + list(handler.opt.get("refuses", ()))


def _response_for(refusals: list[Refusal]) -> OpenAPIResponse:
    """One documented response for all the refusals that share a status."""
    reasons = list(dict.fromkeys(reason for r in refusals for reason in r.reasons))
    schema: Schema | Reference = Reference(ref="#/components/schemas/ProblemDetails")
    if reasons and not any(r.open for r in refusals):
        schema = Schema(
            all_of=[
                schema,
                Schema(properties={"reason": Schema(type=OpenAPIType.STRING, enum=reasons)}),
            ]
        )
    description = " ".join(dict.fromkeys(r.description for r in refusals))
    if any(r.open for r in refusals):
        description += f" Reasons include: {', '.join(reasons)}."
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=schema)},
        headers={"Retry-After": RETRY_AFTER} if any(r.retry_after for r in refusals) else None,
    )


def _operations(app: Litestar) -> Iterable[tuple[HTTPRouteHandler, str, Operation]]:
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        item = paths[route.path_format]
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if operation is not None:
                    yield handler, method, operation


def _eventapp_models(names: Iterable[str]) -> list[type[BaseModel]]:
    """Our pydantic models that the document names (Litestar names a component by its class)."""
    found: dict[str, set[type[BaseModel]]] = {}
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("eventapp."):
            # A generic model's name, Page[EventOut], is Page_EventOut_ in the document.
            found.setdefault(re.sub(r"\W", "_", model.__name__), set()).add(model)
    wanted = [found[name] for name in names if name in found]
    if ambiguous := [
        sorted(m.__qualname__ for m in models) for models in wanted if len(models) > 1
    ]:
        raise RuntimeError(f"Two models share a name in the OpenAPI document: {ambiguous}")
    return [next(iter(models)) for models in wanted]


def _use_pydantic_schemas(components: Components) -> None:
    """Our models' schemas from pydantic, which validates requests with exactly these rules.

    Each model also says whether it refuses unknown fields (`extra="forbid"`, then pydantic writes
    `additionalProperties: false`); the others say they take them.
    """
    schemas = components.schemas = dict(components.schemas or {})
    models = _eventapp_models(schemas)
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    for name, definition in top.get("$defs", {}).items():
        if definition.get("type") == "object":
            definition.setdefault("additionalProperties", True)
        schemas[name] = PydanticSchema(json_schema=definition)


# How a caller signs in: an API token, or the session cookie that /api/auth/login sets.
SIGN_IN = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="POST /api/auth/tokens"),
    "session": SecurityScheme(
        type="apiKey",
        name=SESSION_COOKIE,
        security_scheme_in="cookie",
        description="Set by POST /api/auth/login",
    ),
}


def document_api(app: Litestar) -> OpenAPI:
    """Complete Litestar's document: refusals, empty 204s, unknown fields. Run once per app."""
    openapi = app.openapi_schema
    for handler, method, operation in _operations(app):
        responses = operation.responses = operation.responses or {}
        if not handler.opt.get("public"):
            operation.security = [{name: []} for name in SIGN_IN]
        for status in ("204", "304"):
            if status in responses and isinstance(responses[status], OpenAPIResponse):
                responses[status].content = None
        by_status: dict[int, list[Refusal]] = {}
        for refusal in refusals_for(handler, method, operation):
            by_status.setdefault(refusal.status, []).append(refusal)
        own = {str(status) for status in (handler.responses or {})}
        for status, refusals in sorted(by_status.items()):
            if str(status) not in own:
                responses[str(status)] = _response_for(refusals)
    openapi.components.security_schemes = {**(openapi.components.security_schemes or {}), **SIGN_IN}
    _use_pydantic_schemas(openapi.components)
    openapi.components.schemas = {**openapi.components.schemas, "ProblemDetails": PROBLEM_DETAILS}
    return openapi

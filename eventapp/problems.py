"""One problem-details shape (RFC 9457) for every error: `{status, title, detail, reason?, ...}`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import ValidationError

from eventapp.errors import DomainError

log = logging.getLogger("eventapp")

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, *, reason: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "status": status,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
    }
    if reason:
        body["reason"] = reason
    body.update({key: value for key, value in extra.items() if value is not None})
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def _reason_for_status(status: int) -> str | None:
    return {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }.get(status)


def on_domain_error(_: Request, error: DomainError) -> Response:
    response = problem(error.status_code, error.detail, reason=error.reason, **error.extra)
    response.headers.update(error.headers)
    return response


def on_validation_error(_: Request, error: ValidationException) -> Response:
    errors = error.extra if isinstance(error.extra, list) else None
    detail = error.detail
    if detail.startswith("Validation failed"):
        detail = "The request does not have the expected shape; see errors."
    return problem(400, detail, reason="invalid", errors=errors)


def on_pydantic_error(_: Request, error: ValidationError) -> Response:
    errors = [
        {"key": ".".join(str(p) for p in item["loc"]), "message": item["msg"]}
        for item in error.errors(include_url=False, include_input=False)
    ]
    return problem(
        400,
        "The request does not have the expected shape; see errors.",
        reason="invalid",
        errors=errors,
    )


def on_http_exception(_: Request, error: HTTPException) -> Response:
    detail = error.detail or HTTPStatus(error.status_code).phrase
    response = problem(error.status_code, detail, reason=_reason_for_status(error.status_code))
    if error.headers:
        response.headers.update(error.headers)
    return response


def on_unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(500, "Something went wrong on our side; it has been logged.", reason="internal")


EXCEPTION_HANDLERS = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    ValidationError: on_pydantic_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected_error,
}

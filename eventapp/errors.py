"""Domain errors: raised by services, turned into one problem-details shape by the app."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a client can act on: an HTTP status, a stable `reason` and a human sentence."""

    status_code = 400
    default_reason: str | None = None

    def __init__(self, detail: str, *, reason: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason or self.default_reason
        self.extra = extra
        self.headers: dict[str, str] = {}


class InvalidInput(DomainError):
    status_code = 400
    default_reason = "invalid"


class NotAuthenticated(DomainError):
    status_code = 401
    default_reason = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    default_reason = "forbidden"


class NotFound(DomainError):
    status_code = 404
    default_reason = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_reason = "conflict"


class Gone(DomainError):
    status_code = 410
    default_reason = "gone"


class IntegrityConflict(Conflict):
    """A database constraint refused the write; `constraint` names it when the engine says which."""

    def __init__(self, detail: str, *, constraint: str | None, reason: str | None) -> None:
        super().__init__(detail, reason=reason or "conflict")
        self.constraint = constraint


class RateLimited(DomainError):
    """Too many attempts; `retry_after` seconds until one is counted again (sent as Retry-After)."""

    status_code = 429
    default_reason = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after: int, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.headers = {"Retry-After": str(max(1, int(retry_after)))}


class Unavailable(DomainError):
    """The server cannot answer now but will soon (a database lock held too long): 503."""

    status_code = 503
    default_reason = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.headers = {"Retry-After": str(max(1, int(retry_after)))}

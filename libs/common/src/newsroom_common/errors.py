"""Domain errors; plain Python, so use cases and domain code raise them freely.

The web layer maps them to HTTP in one place (`newsroom_common.web`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

FieldErrors = Mapping[str, Sequence[str]]


class NewsroomError(Exception):
    """Base of every error a service answers on purpose."""

    status = 500

    def __init__(self, message: str = "", *, fields: FieldErrors | None = None) -> None:
        super().__init__(message or (next(iter(fields)) if fields else ""))
        self.message = message
        self.fields = dict(fields or {})

    def body(self) -> dict[str, list[str]]:
        """The RealWorld `errors` object: messages keyed by field, or under `body`."""
        if self.fields:
            return {k: list(v) for k, v in self.fields.items()}
        return {"body": [self.message]}


class Unauthorized(NewsroomError):
    """No credentials, or credentials that do not prove who the caller is."""

    status = 401


class Forbidden(NewsroomError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(NewsroomError):
    """The resource does not exist."""

    status = 404


class Conflict(NewsroomError):
    """The change conflicts with existing state (a taken username, ...)."""

    status = 409


class ValidationFailed(NewsroomError):
    """The input is well-formed but invalid; messages are per field."""

    status = 422


class Unavailable(NewsroomError):
    """A dependency needed for this request is down; the caller may retry later."""

    status = 503

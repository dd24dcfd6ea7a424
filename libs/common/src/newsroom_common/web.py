"""App factory pieces every service uses: request ids, JSON bodies, errors, health.

`create_base_app` builds a Flask app with these installed; the service then
registers its own blueprints. Nothing here connects to anything.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy.exc
from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from newsroom_common import jsonio, metrics, telemetry
from newsroom_common.auth import Principal, TokenVerifier, token_from_header
from newsroom_common.errors import NewsroomError, Unauthorized, ValidationFailed
from newsroom_common.logs import request_id_var

log = logging.getLogger(__name__)
# One line per request (gunicorn's access log is off): the line that leads from logs to a trace.
access_log = logging.getLogger("newsroom.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
# Probes and scrapes every few seconds would drown the access log.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# A readiness check returns (ok, detail); `required=False` checks are reported, not enforced.
ReadinessCheck = Callable[[], tuple[bool, str]]


def create_base_app(
    name: str,
    *,
    readiness: Mapping[str, ReadinessCheck],
    optional_readiness: Mapping[str, ReadinessCheck] | None = None,
    max_content_length: int = 1 << 20,
) -> Flask:
    """A Flask app with orjson, request ids, RealWorld errors and /healthz, /readyz."""
    # A JSON API has no static files: no /static/<path> route (Flask adds one by default).
    app = Flask(name, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = max_content_length
    # RealWorld front ends send `POST /api/articles/`: every route, declared once without its
    # slash, also matches its slashed form, directly (Werkzeug's strict default would redirect
    # with a 308, which browsers repeat cross-origin and some clients never follow). The match
    # is the same rule, so logs and metrics keep one route template for both forms.
    app.url_map.strict_slashes = False
    jsonio.install(app)
    register_error_handlers(app)
    app.before_request(_bind_request_id)
    app.after_request(_echo_request_id)
    app.after_request(_log_request)
    app.teardown_request(_clear_request_id)
    app.register_blueprint(health_blueprint(readiness, optional_readiness or {}))
    metrics.install_http_metrics(app, service=name.removeprefix("newsroom_"))
    telemetry.instrument_app(app)
    return app


def _bind_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_token = request_id_var.set(g.request_id)
    g.request_started = time.perf_counter()


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


def _log_request(response: Response) -> Response:
    # Runs while the request's span is current, so the line carries its trace and span ids.
    if request.path not in _QUIET_PATHS:
        started = g.get("request_started")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2)
                if started is not None
                else None,
            },
        )
    return response


def _clear_request_id(_exc: BaseException | None) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        request_id_var.reset(token)


def health_blueprint(
    required: Mapping[str, ReadinessCheck], optional: Mapping[str, ReadinessCheck]
) -> Blueprint:
    """`/healthz`: the process answers. `/readyz`: required dependencies answer.

    Kafka is an optional check for APIs: writes go to the outbox and view
    events to a buffer, so a broker outage must not take the API out of rotation.
    """
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        return jsonio.json_response({"status": "ok"})

    @bp.get("/readyz")
    def readyz() -> Response:
        started = time.perf_counter()
        checks: dict[str, Any] = {}
        ready = True
        for label, check in {**required, **optional}.items():
            try:
                ok, detail = check()
            except Exception as exc:
                ok, detail = False, type(exc).__name__
            checks[label] = {"ok": ok, "detail": detail, "required": label in required}
            ready = ready and (ok or label not in required)
        body = {
            "status": "ready" if ready else "unavailable",
            "checks": checks,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        return jsonio.json_response(body, status=200 if ready else 503)

    return bp


def json_body(*, root: str) -> dict[str, Any]:
    """The object under `root` in the request's JSON body, or a 422 saying what is wrong."""
    raw = request.get_data(cache=False)
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ValidationFailed(fields={"body": ["must be valid JSON"]}) from None
    if not isinstance(body, dict) or not isinstance(body.get(root), dict):
        raise ValidationFailed(fields={root: [f"must be a JSON object under '{root}'"]})
    return body[root]  # type: ignore[no-any-return]


def principal(verifier: TokenVerifier, *, required: bool) -> Principal | None:
    """The caller from the Authorization header; 401 when required and absent or invalid."""
    token = token_from_header(request.headers.get("Authorization"))
    if token is None:
        if required:
            raise Unauthorized("missing authorization token")
        return None
    return verifier.verify(token)


def error_response(status: int, errors: Mapping[str, Sequence[str]]) -> Response:
    """A response in the RealWorld error shape."""
    return jsonio.json_response({"errors": {k: list(v) for k, v in errors.items()}}, status=status)


def register_error_handlers(app: Flask) -> None:
    """Answer every error in the RealWorld shape; a 500 reveals nothing internal."""

    @app.errorhandler(NewsroomError)
    def _domain(error: NewsroomError) -> Response:
        response = error_response(error.status, error.body())
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Token realm="newsroom"'
        return response

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        message = (error.name or "error").lower()
        response = error_response(status, {"body": [message]})
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.TimeoutError)
    def _database_unavailable(error: Exception) -> Response:
        # The database is restarting, unreachable or saturated (pool or statement timeout): a
        # 503 the client may retry, not a 500, and one log line, not a traceback per request.
        if isinstance(error, sqlalchemy.exc.DBAPIError) and not _is_unavailability(error):
            return _unexpected(error)
        log.warning("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        response = error_response(503, {"body": ["database unavailable, retry shortly"]})
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, {"body": ["internal server error"]})


def _is_unavailability(error: sqlalchemy.exc.DBAPIError) -> bool:
    """Tell a lost or refused connection, or a timeout, from a faulty query (both "operational")."""
    if error.connection_invalidated:
        return True
    # SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 57 (operator
    # intervention: admin shutdown, statement timeout); no code at all: it never connected.
    code = getattr(error.orig, "pgcode", None)
    return code is None or str(code)[:2] in {"08", "53", "57"}

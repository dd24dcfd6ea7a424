"""Fast JSON in and out (orjson), shared by the web layer and the event envelope."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import JSONProvider

JSON_MIMETYPE = "application/json"


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes."""
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError on malformed input."""
    return orjson.loads(data)


def json_response(value: Any, *, status: int = 200) -> Response:
    """A JSON response without going through Flask's slower provider."""
    return Response(orjson.dumps(value), status=status, mimetype=JSON_MIMETYPE)


class OrjsonProvider(JSONProvider):
    """Flask's JSON provider backed by orjson."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)


def install(app: Flask) -> None:
    """Make `app` use orjson for jsonify and request.get_json."""
    app.json = OrjsonProvider(app)

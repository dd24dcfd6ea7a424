"""Hostile input gets a clean JSON 4xx and stores nothing.

Oversized bodies, JSON nested deeper than any parser should follow, bytes that are not UTF-8,
and SQL metacharacters in every query and path parameter, through the gateway and, where the
gateway would stop them first, straight at the services too.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from newsroom_devstack.stack import Stack

from .conftest import Account, Raw

pytestmark = pytest.mark.e2e

SQL = (
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE articles; --",
    '" OR ""="',
    "1; SELECT pg_sleep(10)",
    "%' AND '%'='",
    "1' UNION SELECT email, password_hash FROM users --",
    "\\'; COMMIT; --",
    "$1",
    "*/ OR /*",
)

# Query parameters of every operation, and what a value that is not theirs gets.
# Free text: a value that matches nothing is a 200 with nothing in it.
FILTERS: dict[str, tuple[str, ...]] = {
    "/api/articles": ("tag", "author", "favorited"),
}
NUMBERS: dict[str, tuple[str, ...]] = {  # numbers and enums: anything else is a 4xx
    "/api/articles": ("limit", "offset"),
    "/api/articles/feed": ("limit", "offset"),
    "/api/views/popular": ("window", "limit"),
}
PATHS = (
    "/api/profiles/{}",
    "/api/articles/{}",
    "/api/articles/{}/comments",
    "/api/articles/{}/views",
)


@pytest.fixture(scope="module")
def author(gateway: Raw) -> Account:
    account = gateway.register("input")
    gateway.publish(account)
    return account


def _stored(gateway: Raw, author: Account) -> tuple[int, int, str]:
    """What a successful attack would change: the article total, the author's, their bio."""
    total = gateway.json("GET", "/api/articles?limit=1").body["articlesCount"]
    theirs = gateway.json("GET", f"/api/articles?author={author.username}").body["articlesCount"]
    bio = gateway.json("GET", "/api/user", token=author.token).body["user"]["bio"]
    return total, theirs, bio


def _clean_4xx(answer_status: int, content_type: str) -> None:
    assert 400 <= answer_status < 500, answer_status
    assert content_type.startswith("application/json"), content_type


@pytest.mark.parametrize("value", SQL)
def test_sql_in_every_query_parameter_is_data_not_code(
    gateway: Raw, author: Account, value: str
) -> None:
    before = _stored(gateway, author)
    for path, names in FILTERS.items():
        for name in names:
            answer = gateway.send("GET", f"{path}?{name}={quote(value)}")
            assert answer.status == 200, (name, answer.raw)
            assert answer.body["articlesCount"] == 0, (name, value)
    for path, names in NUMBERS.items():
        for name in names:
            answer = gateway.send("GET", f"{path}?{name}={quote(value)}", token=author.token)
            _clean_4xx(answer.status, answer.headers.get("content-type", ""))
    for template in PATHS:
        answer = gateway.send("GET", template.format(quote(value, safe="")))
        _clean_4xx(answer.status, answer.headers.get("content-type", ""))
    assert _stored(gateway, author) == before


@pytest.mark.parametrize(
    ("path", "root"),
    [("/api/users", "user"), ("/api/articles", "article"), ("/api/users/login", "user")],
)
def test_a_body_over_one_mebibyte_is_a_413_at_the_gateway_and_at_the_service(
    gateway: Raw, stack: Stack, author: Account, path: str, root: str
) -> None:
    before = _stored(gateway, author)
    name = f"big-{uuid.uuid4().hex[:8]}"
    fields = {"username": name, "email": f"{name}@example.com", "password": "long enough pw"}
    fields |= {"title": name, "description": "x", "body": "x" * (2 << 20)}
    body = json.dumps({root: fields}).encode()
    answer = gateway.send("POST", path, body=body, token=author.token)
    assert answer.status == 413
    assert answer.body == {"errors": {"body": ["request body too large"]}}
    # Behind the gateway, each service refuses it on its own (defence in depth).
    service = "articles" if path == "/api/articles" else "users"
    direct = Raw(stack.service_url(service)).send("POST", path, body=body, token=author.token)
    assert direct.status == 413
    assert "errors" in direct.body
    assert _stored(gateway, author) == before
    assert gateway.json("GET", f"/api/profiles/{name}").status == 404


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [600, 5_000, 100_000])
@pytest.mark.parametrize(
    ("method", "path", "root"),
    [
        ("POST", "/api/users", "user"),
        ("POST", "/api/users/login", "user"),
        ("PUT", "/api/user", "user"),
        ("POST", "/api/articles", "article"),
    ],
)
def test_deeply_nested_json_is_a_clean_4xx(
    gateway: Raw, author: Account, method: str, path: str, root: str, depth: int
) -> None:
    before = _stored(gateway, author)
    for body in (
        _nested(depth),
        b'{"%s": {"bio": %s, "title": %s}}' % (root.encode(), _nested(depth), _nested(depth)),
    ):
        answer = gateway.send(method, path, body=body, token=author.token)
        _clean_4xx(answer.status, answer.headers.get("content-type", ""))
    assert _stored(gateway, author) == before


@pytest.mark.parametrize(
    "bad",
    [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"caf\xe9"],
    ids=["bom-ish", "bad-continuation", "surrogate", "five-bytes", "latin-1"],
)
def test_invalid_utf8_is_a_clean_4xx_and_stores_nothing(
    gateway: Raw, author: Account, bad: bytes
) -> None:
    before = _stored(gateway, author)
    name = f"utf-{uuid.uuid4().hex[:8]}"
    register = (
        b'{"user": {"username": "%s%s", "email": "%s@example.com", "password": "pw %s x"}}'
        % (
            name.encode(),
            bad,
            name.encode(),
            bad,
        )
    )
    bodies = [
        ("POST", "/api/users", register),
        ("PUT", "/api/user", b'{"user": {"bio": "%s"}}' % bad),
        (
            "POST",
            "/api/articles",
            b'{"article": {"title": "%s", "description": "d", "body": "b"}}' % bad,
        ),
    ]
    for method, path, body in bodies:
        answer = gateway.send(method, path, body=body, token=author.token)
        _clean_4xx(answer.status, answer.headers.get("content-type", ""))
    escaped = "".join(f"%{b:02X}" for b in bad)
    for path in ("/api/articles?tag=" + escaped, "/api/articles?author=" + escaped):
        answer = gateway.send("GET", path)
        assert answer.status < 500, (path, answer.raw)
        assert answer.headers["content-type"].startswith("application/json")
    for template in PATHS:
        answer = gateway.send("GET", template.format(escaped))
        _clean_4xx(answer.status, answer.headers.get("content-type", ""))
    assert _stored(gateway, author) == before
    assert gateway.json("GET", f"/api/profiles/{name}").status == 404

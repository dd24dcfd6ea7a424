"""Every public operation answers the same with and without a trailing slash (issue 22).

The table of operations is gateway/openapi.json itself, so a new route is covered as soon as it
is documented (one with a request body also needs its body in `BODIES`, and fails until it has
one). Each operation is sent twice, as documented and with a trailing slash, through the
gateway and straight to the service that owns it, so the same request works with and without
the gateway. Both answers must have the same status and, once the values that differ by nature
are put aside (tokens, times, ids, slugs, and the fresh names a write needs), the same body;
neither may redirect. A write gets fresh targets for each of its two requests (an article of
its own to delete, a user of its own to follow), so the second finds what the first found.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from newsroom_devstack.gateway import openapi_path, public_operations, service_of
from newsroom_devstack.stack import Stack
from newsroom_devstack.testing import PASSWORD, Account, GatewayClient, eventually

from .conftest import Client

pytestmark = pytest.mark.e2e

# Values that differ between two equal requests by nature: compared by type only.
VOLATILE_KEYS = frozenset({"token", "createdAt", "updatedAt", "id", "slug"})
# Answers that move with the traffic of the whole stack (view counts of every article): their
# shape is compared, not their values.
LIVE_OPERATIONS = frozenset({("GET", "/views/popular")})


@dataclass
class Variant:
    """One of the two requests of an operation, with the fresh values it was given."""

    client: GatewayClient
    caller: Account
    fresh: dict[str, str] = field(default_factory=dict)

    def name(self, kind: str, value: str) -> str:
        """Remember a fresh value, so both answers compare equal where they show it."""
        self.fresh[value] = f"<{kind}>"
        return value

    def user(self) -> Account:
        """A new user of this request alone."""
        account = self.client.register("slash")
        self.name("username", account.username)
        self.name("email", account.email)
        return account

    def article(self, author: Account) -> str:
        """A new article of this request alone; its slug."""
        title = self.name("title", f"Slash probe {uuid.uuid4().hex[:10]}")
        article = {"title": title, "description": "d", "body": "b", "tagList": ["slash-probe"]}
        response = self.client.post("/api/articles", user=author, json={"article": article})
        assert response.status_code == 201, response.text
        return str(response.json()["article"]["slug"])


@dataclass(frozen=True)
class Shared:
    """What reads name: an article with a comment, its author, an article nobody reads."""

    reader: Account
    author: Account
    slug: str
    unread_slug: str


Body = Callable[[Variant], dict[str, Any]]
# The body of each documented operation that takes one.
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/users"): lambda v: {
        "user": {
            "username": v.name("username", f"slash{uuid.uuid4().hex[:10]}"),
            "email": v.name("email", f"slash-{uuid.uuid4().hex[:10]}@example.com"),
            "password": PASSWORD,
        }
    },
    ("POST", "/users/login"): lambda v: {"user": {"email": v.caller.email, "password": PASSWORD}},
    ("PUT", "/user"): lambda v: {"user": {"bio": "written with a slash", "image": None}},
    ("POST", "/articles"): lambda v: {
        "article": {
            "title": v.name("title", f"Slash probe {uuid.uuid4().hex[:10]}"),
            "description": "d",
            "body": "b",
            "tagList": ["slash-probe"],
        }
    },
    ("PUT", "/articles/{slug}"): lambda v: {"article": {"body": "updated with a slash"}},
    ("POST", "/articles/{slug}/comments"): lambda v: {"comment": {"body": "a slash comment"}},
}


def prepare(method: str, path: str, variant: Variant, shared: Shared) -> tuple[str, Any]:
    """The concrete path and body of one request, its targets made fresh for a write."""
    reads = method == "GET"
    body_of = BODIES.get((method, path))
    # Writes of the current user (update, login) act on a user of their own: the caller's
    # profile, seen in every other answer, must not change between two requests of a read.
    if path in {"/user", "/users/login"}:
        variant.caller = variant.user()
    if "{slug}" in path:
        if reads:
            slug = shared.unread_slug if path.endswith("/views") else shared.slug
        else:
            slug = variant.article(variant.caller)
        path = path.replace("{slug}", slug)
        if "{id}" in path:
            comment = variant.client.post(
                f"/api/articles/{slug}/comments",
                user=variant.caller,
                json={"comment": {"body": "to be deleted"}},
            )
            assert comment.status_code == 200, comment.text
            path = path.replace("{id}", str(comment.json()["comment"]["id"]))
    if "{username}" in path:
        if reads:
            username = shared.author.username
        else:
            target = variant.user()
            if method == "DELETE":
                followed = variant.client.post(
                    f"/api/profiles/{target.username}/follow", user=variant.caller
                )
                assert followed.status_code == 200, followed.text
            username = target.username
        path = path.replace("{username}", username)
    return "/api" + path, body_of(variant) if body_of else None


def comparable(value: Any, fresh: dict[str, str]) -> Any:
    """The answer with what differs by nature replaced by a placeholder."""
    if isinstance(value, dict):
        return {
            key: f"<{type(item).__name__}>" if key in VOLATILE_KEYS else comparable(item, fresh)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [comparable(item, fresh) for item in value]
    if isinstance(value, str):
        return fresh.get(value, value)
    return value


def shape(value: Any) -> Any:
    """Keys and value types only, lists by their first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module")
def gateway_client(client: Client) -> GatewayClient:
    """The gateway the e2e suite runs against (conftest's `client`)."""
    return GatewayClient(client.base_url)


@pytest.fixture(scope="module")
def shared(gateway_client: GatewayClient) -> Shared:
    reader, author = gateway_client.register("slash"), gateway_client.register("slash")
    variant = Variant(gateway_client, author)
    slug, unread_slug = variant.article(author), variant.article(author)
    comment = gateway_client.post(
        f"/api/articles/{slug}/comments", user=reader, json={"comment": {"body": "read me"}}
    )
    assert comment.status_code == 200, comment.text
    # The views service learns of articles from Kafka: wait until it knows the unread one.
    eventually(
        lambda: gateway_client.get(f"/api/articles/{unread_slug}/views").status_code == 200,
        what=f"the views service knowing article {unread_slug}",
    )
    return Shared(reader=reader, author=author, slug=slug, unread_slug=unread_slug)


TARGETS = ["gateway", "service"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("method", "path"), public_operations())
def test_an_operation_answers_the_same_with_a_trailing_slash(
    request: pytest.FixtureRequest,
    gateway_client: GatewayClient,
    shared: Shared,
    target: str,
    method: str,
    path: str,
) -> None:
    if target == "gateway":
        base_url = gateway_client.base_url
    else:
        stack: Stack = request.getfixturevalue("stack")
        base_url = stack.service_url(service_of(path))
    answers = []
    for slash in ("", "/"):
        # Targets are made through the gateway; the request under test goes to `base_url`.
        variant = Variant(gateway_client, shared.reader)
        concrete, body = prepare(method, path, variant, shared)
        response = requests.request(
            method,
            base_url + concrete + slash,
            json=body,
            headers=variant.caller.headers,
            allow_redirects=False,
            timeout=15,
        )
        answers.append((response, variant))
    (plain, plain_variant), (slashed, slashed_variant) = answers
    described = f"{method} {path} via the {target}"
    assert 200 <= plain.status_code < 300, f"{described}: {plain.status_code} {plain.text[:300]}"
    assert slashed.status_code == plain.status_code, f"{described}/: {slashed.text[:300]}"
    assert "Location" not in slashed.headers, described
    if plain.status_code == 204:
        assert slashed.content == b"", described
        return
    assert slashed.headers["Content-Type"] == plain.headers["Content-Type"], described
    if (method, path) in LIVE_OPERATIONS:
        assert shape(slashed.json()) == shape(plain.json()), described
    else:
        assert comparable(slashed.json(), slashed_variant.fresh) == comparable(
            plain.json(), plain_variant.fresh
        ), described


def test_every_operation_with_a_body_has_one_in_the_table() -> None:
    document = json.loads(openapi_path().read_text())
    with_body = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert with_body == set(BODIES)

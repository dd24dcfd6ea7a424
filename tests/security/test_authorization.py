"""Every protected route refuses every kind of bad credential, and leaves the resource alone.

Forged tokens are made the ways attackers make them: none at all, garbage, another scheme, a
valid token with its claims or signature altered, `alg: none`, HMAC keyed with the public key,
a key of our own under the real key id, and tokens the real key signed but that must still
fail (expired, for another audience or issuer). A valid token of another user may act as
itself but never on the owner's article or comment (403).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_devstack.stack import Stack

from .conftest import Account, Raw

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class World:
    """An owner with an article and a comment on it, and another user."""

    owner: Account
    other: Account
    slug: str
    comment_id: int
    marker: str  # the tag and text every attempted change would carry
    baseline: dict[str, Any]  # what the attempts could change, as it was before any


@dataclass(frozen=True)
class Route:
    """A protected operation; `owned`: only the owner may do it."""

    method: str
    path: str
    body: Callable[[World], Any] | None = None
    owned: bool = False


ROUTES: dict[str, Route] = {
    "get-user": Route("GET", "/api/user"),
    "update-user": Route("PUT", "/api/user", lambda w: {"user": {"bio": w.marker}}),
    "follow": Route("POST", "/api/profiles/{owner}/follow"),
    "unfollow": Route("DELETE", "/api/profiles/{owner}/follow"),
    "feed": Route("GET", "/api/articles/feed"),
    "create-article": Route(
        "POST",
        "/api/articles",
        lambda w: {
            "article": {"title": w.marker, "description": "x", "body": "x", "tagList": [w.marker]}
        },
    ),
    "update-article": Route(
        "PUT", "/api/articles/{slug}", lambda w: {"article": {"title": w.marker}}, owned=True
    ),
    "delete-article": Route("DELETE", "/api/articles/{slug}", owned=True),
    "comment": Route(
        "POST", "/api/articles/{slug}/comments", lambda w: {"comment": {"body": w.marker}}
    ),
    "delete-comment": Route("DELETE", "/api/articles/{slug}/comments/{comment}", owned=True),
    "favorite": Route("POST", "/api/articles/{slug}/favorite"),
    "unfavorite": Route("DELETE", "/api/articles/{slug}/favorite"),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _private_key(stack: Stack) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(stack.jwt_private_key_file.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _signed(stack: Stack, token: str, **changes: Any) -> str:
    """The same claims with changes, signed by the real key under the real key id."""
    claims = {**_claims(token), **changes}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, _private_key(stack), algorithm="EdDSA", headers={"kid": kid})


def _tampered_claims(world: World) -> str:
    header, _, signature = world.other.token.split(".")
    claims = {**_claims(world.other.token), "sub": world.owner.id}
    claims["username"] = world.owner.username
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _tampered_signature(world: World) -> str:
    header, payload, signature = world.owner.token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{header}.{payload}.{_b64(bytes(raw))}"


def _alg_none(world: World) -> str:
    header = {
        "alg": "none",
        "typ": "JWT",
        "kid": jwt.get_unverified_header(world.owner.token)["kid"],
    }
    claims = _claims(world.owner.token)
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _hmac_with_public_key(world: World, stack: Stack) -> str:
    public = _private_key(stack).public_key()
    secret = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = jwt.get_unverified_header(world.owner.token)["kid"]
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    claims = _claims(world.owner.token)
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _foreign_key(world: World) -> str:
    kid = jwt.get_unverified_header(world.owner.token)["kid"]
    return jwt.encode(
        _claims(world.owner.token),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid},
    )


# credential name -> Authorization header value (None: no header at all)
CREDENTIALS: dict[str, Callable[[World, Stack], str | None]] = {
    "none": lambda w, s: None,
    "garbage": lambda w, s: "Token garbage",
    "empty-token": lambda w, s: "Token ",
    "basic-scheme": lambda w, s: "Basic " + _b64(f"{w.owner.email}:{w.owner.password}".encode()),
    "tampered-claims": lambda w, s: f"Token {_tampered_claims(w)}",
    "tampered-signature": lambda w, s: f"Token {_tampered_signature(w)}",
    "alg-none": lambda w, s: f"Token {_alg_none(w)}",
    "hmac-with-public-key": lambda w, s: f"Token {_hmac_with_public_key(w, s)}",
    "foreign-key": lambda w, s: f"Token {_foreign_key(w)}",
    "expired": lambda w, s: (
        "Token "
        + _signed(s, w.owner.token, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    ),
    "other-audience": lambda w, s: f"Token {_signed(s, w.owner.token, aud='someone-else')}",
    "other-issuer": lambda w, s: f"Token {_signed(s, w.owner.token, iss='someone-else')}",
    "no-subject": lambda w, s: "Token " + _signed(s, w.owner.token, sub=None),
}


@pytest.fixture(scope="module")
def world(gateway: Raw) -> World:
    owner = gateway.register("owner")
    other = gateway.register("other")
    article = gateway.publish(owner)
    comment = gateway.json(
        "POST",
        f"/api/articles/{article['slug']}/comments",
        {"comment": {"body": "first"}},
        token=owner.token,
    )
    assert comment.status in (200, 201), comment.raw
    world = World(
        owner=owner,
        other=other,
        slug=article["slug"],
        comment_id=comment.body["comment"]["id"],
        marker=f"pwned{uuid.uuid4().hex[:12]}",
        baseline={},
    )
    world.baseline.update(_state(gateway, world))
    return world


def _path(route: Route, world: World) -> str:
    return route.path.format(owner=world.owner.username, slug=world.slug, comment=world.comment_id)


def _state(gateway: Raw, world: World) -> dict[str, Any]:
    """What any of the attempts could have changed, read as the owner."""
    me = gateway.json("GET", "/api/user", token=world.owner.token).body["user"]
    article = gateway.json("GET", f"/api/articles/{world.slug}", token=world.owner.token)
    comments = gateway.json("GET", f"/api/articles/{world.slug}/comments").body["comments"]
    profile = gateway.json(
        "GET", f"/api/profiles/{world.owner.username}", token=world.other.token
    ).body["profile"]
    tagged = gateway.json("GET", f"/api/articles?tag={world.marker}").body["articlesCount"]
    assert article.status == 200, article.raw
    body = article.body["article"]
    return {
        "bio": me["bio"],
        "article": (body["title"], body["slug"], body["favoritesCount"]),
        "comments": sorted((c["id"], c["body"]) for c in comments),
        "followed_by_other": profile["following"],
        "articles_with_marker": tagged,
    }


@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
@pytest.mark.parametrize("route_name", sorted(ROUTES))
def test_a_bad_credential_is_refused_with_401_and_changes_nothing(
    gateway: Raw, stack: Stack, world: World, route_name: str, credential: str
) -> None:
    route = ROUTES[route_name]
    header = CREDENTIALS[credential](world, stack)
    body = json.dumps(route.body(world)).encode() if route.body else None
    headers = {"Authorization": header} if header is not None else {}
    answer = gateway.send(route.method, _path(route, world), body=body, headers=headers)
    assert answer.status == 401, (answer.status, answer.raw)
    assert "errors" in answer.body
    assert _state(gateway, world) == world.baseline


@pytest.mark.parametrize(
    "route_name", sorted(name for name, route in ROUTES.items() if route.owned)
)
def test_another_users_valid_token_cannot_touch_the_owners_things(
    gateway: Raw, world: World, route_name: str
) -> None:
    route = ROUTES[route_name]
    body = route.body(world) if route.body else None
    answer = gateway.json(route.method, _path(route, world), body, token=world.other.token)
    assert answer.status == 403, (answer.status, answer.raw)
    assert "errors" in answer.body
    assert _state(gateway, world) == world.baseline

"""Every users route through the real Nginx gateway, with its errors."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_devstack.testing import PASSWORD

pytestmark = pytest.mark.e2e


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["errors"]  # type: ignore[no-any-return]


def test_register_returns_the_user_with_a_token(api: Any) -> None:
    name = f"reg{uuid.uuid4().hex[:8]}"
    response = api.call(
        "POST",
        "/api/users",
        json={"user": {"username": name, "email": f"{name}@Example.com", "password": PASSWORD}},
    )
    assert response.status_code == 201
    user = response.json()["user"]
    assert set(user) == {"email", "token", "username", "bio", "image"}
    assert (user["username"], user["bio"], user["image"]) == (name, None, None)
    assert "password" not in response.text
    assert "argon2" not in response.text


def test_taken_username_or_email_is_refused_regardless_of_case(api: Any) -> None:
    user = api.register()
    response = api.call(
        "POST",
        "/api/users",
        json={
            "user": {
                "username": user.username.upper(),
                "email": user.email.upper(),
                "password": PASSWORD,
            }
        },
    )
    assert response.status_code == 422
    assert _errors(response) == {
        "email": ["has already been taken"],
        "username": ["has already been taken"],
    }


@pytest.mark.parametrize(
    ("user", "field"),
    [
        ({"email": "x@example.com", "password": PASSWORD}, "username"),
        ({"username": "x", "email": "nope", "password": PASSWORD}, "email"),
        ({"username": "x y", "email": "x@example.com", "password": PASSWORD}, "username"),
        ({"username": "xy", "email": "xy@example.com", "password": "short"}, "password"),
    ],
)
def test_register_validation_names_the_field(api: Any, user: dict[str, str], field: str) -> None:
    response = api.call("POST", "/api/users", json={"user": user})
    assert response.status_code == 422
    assert field in _errors(response)


@pytest.mark.parametrize("data", [b"{broken", b"[]", b'{"user": "x"}', b"", b"\xff\xfe"])
def test_malformed_json_gets_422(api: Any, data: bytes) -> None:
    response = api.call("POST", "/api/users", data=data)
    assert response.status_code == 422
    assert _errors(response)


def test_login(api: Any) -> None:
    user = api.register()
    ok = api.call(
        "POST",
        "/api/users/login",
        json={"user": {"email": user.email.upper(), "password": PASSWORD}},
    )
    assert ok.status_code == 200
    assert ok.json()["user"]["username"] == user.username
    wrong = api.call(
        "POST",
        "/api/users/login",
        json={"user": {"email": user.email, "password": "wrong horse"}},
    )
    assert wrong.status_code == 401
    assert _errors(wrong) == {"body": ["email or password is invalid"]}
    unknown = api.call(
        "POST",
        "/api/users/login",
        json={"user": {"email": "nobody-" + user.email, "password": PASSWORD}},
    )
    assert unknown.status_code == 401
    missing = api.call("POST", "/api/users/login", json={"user": {"email": user.email}})
    assert missing.status_code == 422


def test_current_user_and_update(api: Any) -> None:
    user = api.register()
    me = api.call("GET", "/api/user", token=user.token)
    assert me.status_code == 200
    assert me.json()["user"]["email"] == user.email
    new_name = f"upd{uuid.uuid4().hex[:8]}"
    updated = api.call(
        "PUT",
        "/api/user",
        token=user.token,
        json={
            "user": {
                "username": new_name,
                "bio": "I write things",
                "image": "https://img.example/a.png",
                "password": "a new password",
            }
        },
    )
    assert updated.status_code == 200
    body = updated.json()["user"]
    assert (body["username"], body["bio"], body["image"]) == (
        new_name,
        "I write things",
        "https://img.example/a.png",
    )
    relogin = api.call(
        "POST",
        "/api/users/login",
        json={"user": {"email": user.email, "password": "a new password"}},
    )
    assert relogin.status_code == 200
    other = api.register()
    taken = api.call(
        "PUT", "/api/user", token=other.token, json={"user": {"username": new_name.upper()}}
    )
    assert taken.status_code == 422
    assert _errors(taken) == {"username": ["has already been taken"]}
    bad = api.call("PUT", "/api/user", token=other.token, json={"user": {"image": "ftp://x"}})
    assert bad.status_code == 422
    assert "image" in _errors(bad)


def test_profiles_and_follows(api: Any) -> None:
    alice, bob = api.register(), api.register()
    anonymous = api.call("GET", f"/api/profiles/{bob.username}")
    assert anonymous.status_code == 200
    assert anonymous.json() == {
        "profile": {"username": bob.username, "bio": None, "image": None, "following": False}
    }
    followed = api.call("POST", f"/api/profiles/{bob.username}/follow", token=alice.token)
    assert followed.status_code == 200
    assert followed.json()["profile"]["following"] is True
    seen = api.call("GET", f"/api/profiles/{bob.username}", token=alice.token)
    assert seen.json()["profile"]["following"] is True
    unfollowed = api.call("DELETE", f"/api/profiles/{bob.username}/follow", token=alice.token)
    assert unfollowed.json()["profile"]["following"] is False
    assert "@" not in anonymous.text


def test_profile_errors(api: Any) -> None:
    alice = api.register()
    assert api.call("GET", "/api/profiles/nobody-here-404").status_code == 404
    assert (
        api.call("POST", "/api/profiles/nobody-here-404/follow", token=alice.token).status_code
        == 404
    )
    assert api.call("POST", f"/api/profiles/{alice.username}/follow").status_code == 401
    own = api.call("POST", f"/api/profiles/{alice.username}/follow", token=alice.token)
    assert own.status_code == 422


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _signing_key(stack: Any) -> tuple[Ed25519PrivateKey, str]:
    pem = Path(stack.env("users")["USERS_JWT_PRIVATE_KEY_FILE"]).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key, ""


@pytest.mark.parametrize(
    "protected",
    [
        ("GET", "/api/user"),
        ("PUT", "/api/user"),
        ("POST", "/api/profiles/{name}/follow"),
        ("DELETE", "/api/profiles/{name}/follow"),
    ],
)
def test_missing_and_bad_tokens_are_refused(
    api: Any, stack: Any, protected: tuple[str, str]
) -> None:
    user = api.register()
    method, path = protected[0], protected[1].format(name=user.username)
    real_header, real_payload, real_signature = user.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(real_payload + "=="))
    key, _ = _signing_key(stack)
    kid = jwt.get_unverified_header(user.token)["kid"]
    now = int(time.time())
    tokens = {
        "garbage": "not-a-token",
        "tampered": f"{real_header}.{_b64({**claims, 'username': 'admin'})}.{real_signature}",
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "exp": now - 3600},
            key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{real_payload}.",
        "unknown kid": jwt.encode(
            claims,
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": "not-a-known-key"},
        ),
        "foreign key": jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
        ),
    }
    body = {"user": {"bio": "hacked"}} if method == "PUT" else None
    missing = api.call(method, path, json=body)
    assert missing.status_code == 401
    for label, token in tokens.items():
        response = api.call(method, path, token=token, json=body)
        assert response.status_code == 401, label
        assert "errors" in response.json(), label
    assert api.call("GET", "/api/user", token=user.token).json()["user"]["bio"] is None


def test_jwks_is_published_with_key_ids(stack: Any) -> None:
    import requests

    jwks = requests.get(stack.service_url("users") + "/.well-known/jwks.json", timeout=5).json()
    assert jwks["keys"]
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and k["kid"] for k in jwks["keys"])
    assert all("d" not in k for k in jwks["keys"])

"""Token verification refuses every forged, stale or foreign token."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common import jws
from newsroom_common.auth import (
    AUDIENCE,
    ISSUER,
    KeySet,
    TokenVerifier,
    parse_jwks,
    token_from_header,
)
from newsroom_common.ed25519 import PublicKey
from newsroom_common.errors import Unauthorized

# Tokens here are made by PyJWT on cryptography: a client's libraries, not the verifier's.
KEY = Ed25519PrivateKey.generate()
KID = "key-1"
LATER = object()  # a minute after the test runs (not after it is collected)


def public(key: Ed25519PrivateKey) -> PublicKey:
    return PublicKey.from_raw(key.public_key().public_bytes_raw())


def _sign(
    claims: dict[str, Any] | None = None, *, key: Ed25519PrivateKey = KEY, kid: str = KID
) -> str:
    now = int(time.time())
    payload = {
        "sub": "u1",
        "username": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        **(claims or {}),
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


def _sign_without(claim: str) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"sub": "u1", "username": "alice", "iss": ISSUER, "aud": AUDIENCE}
    payload |= {"iat": now, "exp": now + 60}
    del payload[claim]
    return jwt.encode(payload, KEY, algorithm="EdDSA", headers={"kid": KID})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(KeySet.static({KID: public(KEY)}))


def test_a_valid_token_names_its_user(verifier: TokenVerifier) -> None:
    principal = verifier.verify(_sign())
    assert (principal.user_id, principal.username) == ("u1", "alice")


def test_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = _sign().split(".")
    forged = _b64(
        {
            "sub": "admin",
            "username": "admin",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        }
    )
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_expired_token_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(_sign({"exp": int(time.time()) - 60, "iat": int(time.time()) - 120}))


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    unsigned = (
        _b64({"alg": "none", "typ": "JWT", "kid": KID})
        + "."
        + _b64(
            {
                "sub": "u1",
                "username": "alice",
                "iss": ISSUER,
                "aud": AUDIENCE,
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            }
        )
        + "."
    )
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)


def test_hmac_signed_with_the_public_key_is_refused(verifier: TokenVerifier) -> None:
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": KID})
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{_sign().split('.')[1]}.c2lnbmF0dXJl")


def test_unknown_kid_and_foreign_key_are_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify(_sign(kid="another-key"))
    with pytest.raises(Unauthorized):
        verifier.verify(_sign(key=Ed25519PrivateKey.generate()))


def test_wrong_audience_or_issuer_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify(_sign({"aud": "someone-else"}))
    with pytest.raises(Unauthorized):
        verifier.verify(_sign({"iss": "someone-else"}))


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": LATER},
        {"nbf": LATER},
        {"exp": True},
        {"exp": "tomorrow"},
        {"aud": ["someone-else"]},
        {"aud": 1},
        {"sub": 7},
    ],
    ids=["issued-later", "not-yet-valid", "exp-bool", "exp-text", "aud-list", "aud-int", "sub-int"],
)
def test_claims_outside_the_policy_are_refused(
    verifier: TokenVerifier, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    claims = {k: now + 60 if v is LATER else v for k, v in claims.items()}
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(_sign(claims))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud", "username"])
def test_a_token_missing_a_required_claim_is_refused(verifier: TokenVerifier, claim: str) -> None:
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(_sign_without(claim))


def test_an_audience_list_naming_newsroom_and_clock_skew_within_the_leeway_pass(
    verifier: TokenVerifier,
) -> None:
    now = int(time.time())
    token = _sign({"aud": ["other", AUDIENCE], "iat": now + 3, "nbf": now + 3, "exp": now - 3})
    assert verifier.verify(token).user_id == "u1"


def test_garbage_is_refused(verifier: TokenVerifier) -> None:
    for token in ["", "garbage", "a.b.c", "...."]:
        with pytest.raises(Unauthorized):
            verifier.verify(token)


def test_authorization_header_schemes() -> None:
    assert token_from_header(None) is None
    assert token_from_header("Token abc") == "abc"
    assert token_from_header("Bearer abc") == "abc"
    with pytest.raises(Unauthorized):
        token_from_header("Basic abc")
    with pytest.raises(Unauthorized):
        token_from_header("Token ")


def test_key_set_refetches_for_a_new_kid_but_not_too_often() -> None:
    fetches: list[int] = []
    new_key = Ed25519PrivateKey.generate()

    def fetch() -> dict[str, Any]:
        fetches.append(1)
        keys = [KEY] if len(fetches) == 1 else [KEY, new_key]
        kids = [KID, "key-2"]
        return {"keys": [jws.jwk(public(k), kid=kid) for k, kid in zip(keys, kids, strict=False)]}

    key_set = KeySet(fetch, ttl=300, min_refresh=0.0)
    verifier = TokenVerifier(key_set)
    assert verifier.verify(_sign()).user_id == "u1"
    assert verifier.verify(_sign(key=new_key, kid="key-2")).user_id == "u1"
    assert len(fetches) == 2
    throttled = KeySet(fetch, ttl=300, min_refresh=60.0)
    for _ in range(5):
        assert throttled.get("unknown") is None
    assert len(fetches) == 3


def test_parse_jwks_ignores_foreign_key_types() -> None:
    doc = {"keys": [{"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB"}]}
    assert parse_jwks(doc) == {}

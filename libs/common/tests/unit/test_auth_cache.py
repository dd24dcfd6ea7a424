"""A verified token is not verified again, unless it expired or its key is no longer trusted."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common.auth import AUDIENCE, ISSUER, KeySet, TokenVerifier
from newsroom_common.errors import Unauthorized

KEY = Ed25519PrivateKey.generate()


def sign(*, exp_in: int = 60, kid: str = "key-1") -> str:
    now = int(time.time())
    claims: dict[str, str | int] = {"sub": "u1", "username": "alice", "iss": ISSUER}
    claims["aud"] = AUDIENCE
    claims |= {"iat": now, "exp": now + exp_in}
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Tokens whose signature was really checked."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        seen.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_a_token_is_verified_once(decodes: list[str]) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": KEY.public_key()}))
    token = sign()

    first, second = verifier.verify(token), verifier.verify(token)

    assert first == second
    assert decodes == [token]


def test_a_cached_token_past_its_expiry_is_verified_in_full(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": KEY.public_key()}), leeway=0)
    token = sign(exp_in=60)
    verifier.verify(token)

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token)  # PyJWT's own clock still says valid: only the cache was skipped

    assert decodes == [token, token]


def test_a_cached_token_is_refused_once_its_key_is_rotated_out() -> None:
    keys = KeySet.static({"key-1": KEY.public_key()})
    verifier = TokenVerifier(keys)
    token = sign()
    verifier.verify(token)

    keys._keys = {"key-2": Ed25519PrivateKey.generate().public_key()}

    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_the_cache_is_bounded(decodes: list[str]) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": KEY.public_key()}), cache_size=1)
    first, second = sign(exp_in=60), sign(exp_in=61)

    verifier.verify(first)
    verifier.verify(second)  # pushes the first out
    verifier.verify(first)

    assert decodes == [first, second, first]

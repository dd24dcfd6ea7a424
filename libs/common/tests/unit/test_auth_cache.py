"""A verified token is not verified again, unless it expired or its key is no longer trusted."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common import jws
from newsroom_common.auth import AUDIENCE, ISSUER, KeySet, TokenVerifier
from newsroom_common.ed25519 import PrivateKey, PublicKey
from newsroom_common.errors import Unauthorized

KEY = Ed25519PrivateKey.generate()
PUBLIC = PublicKey.from_raw(KEY.public_key().public_bytes_raw())


def sign(*, exp_in: int = 60, kid: str = "key-1") -> str:
    now = int(time.time())
    claims: dict[str, str | int] = {"sub": "u1", "username": "alice", "iss": ISSUER}
    claims["aud"] = AUDIENCE
    claims |= {"iat": now, "exp": now + exp_in}
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Tokens verified in full (parsed, then their signature checked)."""
    seen: list[str] = []
    real = jws.parse

    def counting(token: str) -> jws.Token:
        seen.append(token)
        return real(token)

    monkeypatch.setattr(jws, "parse", counting)
    return seen


def test_a_token_is_verified_once(decodes: list[str]) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": PUBLIC}))
    token = sign()

    first, second = verifier.verify(token), verifier.verify(token)

    assert first == second
    assert decodes == [token]


def test_a_cached_token_past_its_expiry_is_verified_in_full(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": PUBLIC}), leeway=0)
    token = sign(exp_in=60)
    verifier.verify(token)

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)  # not from the cache: verified in full, and refused there

    assert decodes == [token, token]


def test_a_cached_token_is_refused_once_its_key_is_rotated_out() -> None:
    keys = KeySet.static({"key-1": PUBLIC})
    verifier = TokenVerifier(keys)
    token = sign()
    verifier.verify(token)

    keys._keys = {"key-2": PrivateKey.generate().public_key()}

    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_the_cache_is_bounded(decodes: list[str]) -> None:
    verifier = TokenVerifier(KeySet.static({"key-1": PUBLIC}), cache_size=1)
    first, second = sign(exp_in=60), sign(exp_in=61)

    verifier.verify(first)
    verifier.verify(second)  # pushes the first out
    verifier.verify(first)

    assert decodes == [first, second, first]

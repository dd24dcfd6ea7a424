"""JWT verification against the users service's public keys (JWKS), cached locally.

Only EdDSA is accepted, so `alg: none` and HMAC-with-the-public-key tricks
fail before any key is looked at.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from newsroom_common.errors import Unauthorized

ALGORITHMS = ["EdDSA"]
ISSUER = "newsroom-users"
AUDIENCE = "newsroom"


@dataclass(frozen=True)
class Principal:
    """Who the caller is, as the token says."""

    user_id: str
    username: str
    token: str


def token_from_header(header: str | None) -> str | None:
    """The token in `Authorization: Token <jwt>` (or `Bearer <jwt>`); None when absent."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() not in {"token", "bearer"} or not token.strip():
        raise Unauthorized("authorization header must be 'Token <jwt>'")
    return token.strip()


class KeySet:
    """Public keys by `kid`, fetched from a JWKS document and refreshed on demand.

    An unknown `kid` triggers a refresh at most once per `min_refresh` seconds,
    so a flood of forged kids cannot hammer the users service.
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        ttl: float = 300.0,
        min_refresh: float = 5.0,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def static(cls, keys: Mapping[str, Ed25519PublicKey]) -> KeySet:
        """A key set that never fetches (the users service verifies its own tokens)."""
        key_set = cls(lambda: {"keys": []}, ttl=float("inf"), min_refresh=float("inf"))
        key_set._keys = dict(keys)
        key_set._fetched_at = float("inf")
        return key_set

    def get(self, kid: str) -> Ed25519PublicKey | None:
        """The key for `kid`, refreshing the set when it is stale or the kid is new."""
        now = time.monotonic()
        key = self._keys.get(kid)
        stale = now - self._fetched_at > self._ttl
        if key is not None and not stale:
            return key
        with self._lock:
            if time.monotonic() - self._fetched_at >= self._min_refresh or stale:
                try:
                    self._keys = parse_jwks(self._fetch())
                    self._fetched_at = time.monotonic()
                except Exception:
                    # Keep the keys we have: a users outage must not log everyone out.
                    if not self._keys:
                        raise
            return self._keys.get(kid)


def parse_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Ed25519 keys of a JWKS document by kid."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("kid"):
            key = jwt.PyJWK.from_json(json.dumps(jwk)).key
            if isinstance(key, Ed25519PublicKey):
                keys[jwk["kid"]] = key
    return keys


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and expiry of a token."""

    def __init__(self, keys: KeySet, *, leeway: float = 5.0, cache_size: int = 4096) -> None:
        self._keys = keys
        self._leeway = leeway
        # Tokens already verified: a reader's every request would otherwise verify the same
        # Ed25519 signature again (about 5% of an authenticated list in make bench's profiles).
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized otherwise."""
        with self._cache_lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None and self._still_valid(known):
            return known.principal
        principal, verified = self._verify(token)
        with self._cache_lock:
            self._verified[token] = verified
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    def _still_valid(self, known: _Verified) -> bool:
        """Unexpired, and signed with the key the key set still trusts under its kid.

        A key rotated out, or a refreshed key set, sends the token through full verification.
        """
        if time.time() >= known.expires_at + self._leeway:
            return False
        try:
            return self._keys.get(known.kid) is known.key
        except Exception:
            return False  # full verification answers "cannot verify token now"

    def _verify(self, token: str) -> tuple[Principal, _Verified]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized("invalid token")
        kid = header.get("kid")
        try:
            key = self._keys.get(kid) if isinstance(kid, str) else None
        except Exception:
            raise Unauthorized("cannot verify token now") from None
        if key is None:
            raise Unauthorized("invalid token")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        sub, username = claims.get("sub"), claims.get("username")
        if not isinstance(sub, str) or not isinstance(username, str):
            raise Unauthorized("invalid token")
        principal = Principal(user_id=sub, username=username, token=token)
        return principal, _Verified(principal, str(kid), key, float(claims["exp"]))


@dataclass(frozen=True)
class _Verified:
    """A token that passed verification: who it names, and what it was checked with."""

    principal: Principal
    kid: str
    key: Ed25519PublicKey
    expires_at: float

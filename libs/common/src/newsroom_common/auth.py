"""JWT verification against the users service's public keys (JWKS), cached locally.

Only EdDSA is accepted (`newsroom_common.jws`), so `alg: none` and
HMAC-with-the-public-key tricks fail before any key is looked at.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from newsroom_common import jws
from newsroom_common.ed25519 import PublicKey
from newsroom_common.errors import Unauthorized

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
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def static(cls, keys: Mapping[str, PublicKey]) -> KeySet:
        """A key set that never fetches (the users service verifies its own tokens)."""
        key_set = cls(lambda: {"keys": []}, ttl=float("inf"), min_refresh=float("inf"))
        key_set._keys = dict(keys)
        key_set._fetched_at = float("inf")
        return key_set

    def get(self, kid: str) -> PublicKey | None:
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


def parse_jwks(document: Mapping[str, Any]) -> dict[str, PublicKey]:
    """Ed25519 keys of a JWKS document by kid."""
    keys: dict[str, PublicKey] = {}
    for jwk in document.get("keys", []):
        key = jws.public_key_from_jwk(jwk)
        if key is not None and isinstance(jwk.get("kid"), str) and jwk["kid"]:
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
            parsed = jws.parse(token)
        except jws.MalformedToken:
            raise Unauthorized("invalid token") from None
        kid = parsed.kid
        try:
            key = self._keys.get(kid) if kid is not None else None
        except Exception:
            raise Unauthorized("cannot verify token now") from None
        if kid is None or key is None or not parsed.signed_by(key):
            raise Unauthorized("invalid token")
        claims = parsed.claims
        expires_at = self._check_claims(claims)
        sub, username = claims.get("sub"), claims.get("username")
        if not isinstance(sub, str) or not isinstance(username, str):
            raise Unauthorized("invalid token")
        principal = Principal(user_id=sub, username=username, token=token)
        return principal, _Verified(principal, kid, key, expires_at)

    def _check_claims(self, claims: dict[str, Any]) -> float:
        """Issuer, audience and times (RFC 7519, 4.1) of a signed token; its expiry.

        Required: `exp`, `iat`, `sub`, `iss`, `aud`. Times are NumericDate (numbers, not
        booleans) and allowed `leeway` seconds of clock skew either way.
        """
        exp, iat = claims.get("exp"), claims.get("iat")
        nbf = claims.get("nbf", iat)
        if not (_is_number(exp) and _is_number(iat) and _is_number(nbf)):
            raise Unauthorized("invalid token")
        if claims.get("iss") != ISSUER or not _names_audience(claims.get("aud")):
            raise Unauthorized("invalid token")
        now = time.time()
        if max(iat, nbf) > now + self._leeway:
            raise Unauthorized("invalid token")  # issued in the future, or not valid yet
        if exp <= now - self._leeway:
            raise Unauthorized("token expired")
        return float(exp)


def _is_number(value: object) -> TypeGuard[float]:
    """A JSON number (NumericDate); Python's bool is an int but JSON's is not a number."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _names_audience(aud: Any) -> bool:
    """`aud` is Newsroom's audience, or a list of audiences holding it (RFC 7519, 4.1.3)."""
    if isinstance(aud, str):
        return aud == AUDIENCE
    return isinstance(aud, list) and all(isinstance(a, str) for a in aud) and AUDIENCE in aud


@dataclass(frozen=True)
class _Verified:
    """A token that passed verification: who it names, and what it was checked with."""

    principal: Principal
    kid: str
    key: PublicKey
    expires_at: float

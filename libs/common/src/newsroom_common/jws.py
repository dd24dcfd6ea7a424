"""Compact JWS signed with Ed25519 (RFC 7515, RFC 8037 `EdDSA`): Newsroom's tokens.

Newsroom signs and verifies one algorithm. PyJWT did it before, on `cryptography`;
importing the two loads every algorithm PyJWT knows, the X.509 and key-serialization
layers and OpenSSL: about 9 MiB of every API worker's resident memory for code no
request runs (issue 20: RSS per API worker). What one fixed algorithm needs is
base64url, JSON and one libsodium call each way (`newsroom_common.ed25519`). Claims
(expiry, issuer, audience) are `newsroom_common.auth`'s policy; this module answers
only "is this a well-formed token signed by that key".

The tokens are interchangeable with PyJWT's (`tests/unit/test_jws.py` checks both
directions).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newsroom_common import jsonio
from newsroom_common.ed25519 import PrivateKey, PublicKey

ALGORITHM = "EdDSA"
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class MalformedToken(ValueError):
    """Not a compact JWS Newsroom could have signed."""


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """The bytes of an unpadded base64url segment; MalformedToken for anything else."""
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedToken("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("not base64url") from None


def encode(claims: Mapping[str, Any], key: PrivateKey, *, kid: str) -> str:
    """`claims` signed with `key`, its header naming `kid`."""
    header = {"alg": ALGORITHM, "kid": kid, "typ": "JWT"}
    signing_input = f"{b64url(jsonio.dumps(header))}.{b64url(jsonio.dumps(dict(claims)))}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


@dataclass(frozen=True)
class Token:
    """A parsed, not yet verified token."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    def signed_by(self, key: PublicKey) -> bool:
        """Whether `key` made the signature over the header and claims exactly as sent."""
        return key.verifies(self.signature, self.signing_input)


def parse(token: str) -> Token:
    """Split and decode a compact EdDSA JWS; MalformedToken unless it is one.

    Refused before any key is looked at: another `alg` (`none`, HMAC keyed with the public
    key...), a `crit` header (extensions this code does not understand, RFC 7515 4.1.11),
    and a header or claims that are not JSON objects.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("not three segments")
    header_segment, claims_segment, signature_segment = parts
    header = _json_object(b64url_decode(header_segment))
    if header.get("alg") != ALGORITHM or "crit" in header:
        raise MalformedToken("not an EdDSA token")
    return Token(
        header=header,
        claims=_json_object(b64url_decode(claims_segment)),
        signing_input=f"{header_segment}.{claims_segment}".encode("ascii"),
        signature=b64url_decode(signature_segment),
    )


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = jsonio.loads(data)
    except ValueError:
        raise MalformedToken("not JSON") from None
    if not isinstance(value, dict):
        raise MalformedToken("not a JSON object")
    return value


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey | None:
    """The Ed25519 public key of an OKP JWK (RFC 8037); None for any other kind of key."""
    x = jwk.get("x")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(x, str):
        return None
    try:
        return PublicKey.from_raw(b64url_decode(x))
    except ValueError:  # MalformedToken is one
        return None


def jwk(key: PublicKey, *, kid: str) -> dict[str, str]:
    """The public key as a JWK (RFC 8037), for a JWKS document."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(key.raw),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }

"""Ed25519 signing keys, token issuing and the JWKS document."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from newsroom_common import jws
from newsroom_common.auth import AUDIENCE, ISSUER
from newsroom_common.ed25519 import PrivateKey, PublicKey, public_keys_from_pem
from newsroom_users.config import UsersSettings
from newsroom_users.domain.model import User

log = logging.getLogger(__name__)


def key_id(public: PublicKey) -> str:
    """A stable kid: the RFC 7638 thumbprint of the public key."""
    canonical = f'{{"crv":"Ed25519","kty":"OKP","x":"{jws.b64url(public.raw)}"}}'
    return jws.b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKeys:
    """The current signing key and the public keys still accepted."""

    private: PrivateKey
    previous: Sequence[PublicKey] = ()

    @cached_property
    def kid(self) -> str:
        # Derived once: every issued token names it.
        return key_id(self.private.public_key())

    def public_keys(self) -> dict[str, PublicKey]:
        """Every accepted public key by kid, current first."""
        keys = [self.private.public_key(), *self.previous]
        return {key_id(k): k for k in keys}

    def jwks(self) -> dict[str, Any]:
        """The document served at /.well-known/jwks.json."""
        return {"keys": [jws.jwk(k, kid=kid) for kid, k in self.public_keys().items()]}


def load_signing_keys(settings: UsersSettings) -> SigningKeys:
    """Keys from settings; a development key generated once (and shared by workers) if none."""
    if settings.jwt_private_key:
        pem = settings.jwt_private_key.get().encode()
    elif settings.jwt_private_key_file:
        pem = Path(settings.jwt_private_key_file).read_bytes()
    else:
        pem = _development_key(Path(settings.dev_key_path))
    try:
        private = PrivateKey.from_pem(pem)
    except ValueError as error:
        raise ValueError(f"the JWT signing key: {error}") from None
    previous: list[PublicKey] = []
    if settings.jwt_previous_public_keys_file:
        previous = previous_public_keys(Path(settings.jwt_previous_public_keys_file))
    return SigningKeys(private=private, previous=previous)


def previous_public_keys(path: Path) -> list[PublicKey]:
    """The Ed25519 public keys (PEM) in a file, or in every file of a directory.

    A directory is what the chart mounts: one file per retired key, each from its own
    Secret (a projected volume). Kubernetes' own entries there (`..data`, timestamped
    folders) start with a dot and are skipped. A file holding no Ed25519 public key is an
    error: silently dropping it would log out everyone its key signed in.
    """
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if not f.name.startswith(".") and f.is_file())
    else:
        files = [path]
    keys: list[PublicKey] = []
    for file in files:
        found = public_keys_from_pem(file.read_bytes())
        if not found:
            raise ValueError(f"{file} holds no Ed25519 public key (PEM, BEGIN PUBLIC KEY)")
        keys += found
    return keys


def _development_key(path: Path) -> bytes:
    """Read or create (exclusively, so all workers agree) a key for local development."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = PrivateKey.generate().to_pem()
    # Write aside, then link into place: atomic, so every worker reads the same whole key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        tmp.unlink()
    log.warning(
        "no JWT signing key configured: generated a development key", extra={"path": str(path)}
    )
    return pem


class JwtIssuer:
    """Signs EdDSA tokens naming the user."""

    def __init__(self, keys: SigningKeys, *, ttl_seconds: int) -> None:
        self._keys = keys
        self._ttl = ttl_seconds

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {
            "sub": user.id,
            "username": user.username,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jws.encode(claims, self._keys.private, kid=self._keys.kid)

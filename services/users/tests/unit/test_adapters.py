"""Password hashing and token issuing adapters (no I/O)."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common.auth import KeySet, TokenVerifier
from newsroom_common.config import Secret, load_settings
from newsroom_common.ed25519 import PrivateKey
from newsroom_common.errors import Unauthorized
from newsroom_users.adapters.passwords import OWASP_MEMORY_KIB, Argon2Hasher
from newsroom_users.adapters.tokens import (
    JwtIssuer,
    SigningKeys,
    load_signing_keys,
    previous_public_keys,
)
from newsroom_users.config import PREFIX, UsersSettings
from newsroom_users.domain.model import User

ALICE = User(
    id="5f0c8a5e-7d59-4b8e-9a53-1c2f61f7f0aa",
    email="a@example.com",
    username="alice",
    password_hash="",
)


def test_argon2id_with_owasp_parameters() -> None:
    hasher = Argon2Hasher()
    hashed = hasher.hash("correct horse")
    assert hashed.startswith(f"$argon2id$v=19$m={OWASP_MEMORY_KIB},t=2,p=1$")
    assert hasher.verify(hashed, "correct horse")
    assert not hasher.verify(hashed, "wrong horse")
    assert not hasher.verify("not a hash", "x")
    assert Argon2Hasher(time_cost=1).needs_rehash(hashed)


def test_issued_token_verifies_and_names_the_user() -> None:
    keys = SigningKeys(private=PrivateKey.generate())
    token = JwtIssuer(keys, ttl_seconds=60).issue(ALICE)
    principal = TokenVerifier(KeySet.static(keys.public_keys())).verify(token)
    assert (principal.user_id, principal.username) == (ALICE.id, "alice")
    assert jwt.get_unverified_header(token)["kid"] == keys.kid
    assert keys.jwks()["keys"][0]["kid"] == keys.kid
    # What a client library makes of it: PyJWT with the key from the JWKS document.
    public = jwt.PyJWK.from_dict(keys.jwks()["keys"][0]).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="newsroom")
    assert (claims["sub"], claims["iss"]) == (ALICE.id, "newsroom-users")


def test_a_rotated_key_keeps_old_tokens_valid() -> None:
    old, new = PrivateKey.generate(), PrivateKey.generate()
    old_token = JwtIssuer(SigningKeys(private=old), ttl_seconds=60).issue(ALICE)
    rotated = SigningKeys(private=new, previous=[old.public_key()])
    assert TokenVerifier(KeySet.static(rotated.public_keys())).verify(old_token)
    after = SigningKeys(private=new)
    with pytest.raises(Unauthorized):
        TokenVerifier(KeySet.static(after.public_keys())).verify(old_token)


def test_development_key_is_generated_once_and_shared(tmp_path: object) -> None:
    path = f"{tmp_path}/key.pem"
    settings = load_settings(
        UsersSettings,
        prefix=PREFIX,
        environ={"USERS_DATABASE_URL": "postgresql://x", "USERS_DEV_KEY_PATH": path},
    )
    assert load_signing_keys(settings).kid == load_signing_keys(settings).kid
    assert "x" not in repr(settings.database_url)
    assert isinstance(settings.database_url, Secret)


def _pem(key: Ed25519PrivateKey, *, public: bool) -> bytes:
    if public:
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ours(key: Ed25519PrivateKey) -> PrivateKey:
    return PrivateKey.from_pem(_pem(key, public=False))


def _settings(tmp_path: Path, **environ: str) -> UsersSettings:
    return load_settings(
        UsersSettings,
        prefix=PREFIX,
        environ={"USERS_DATABASE_URL": "postgresql://x", **environ},
    )


def test_a_rotation_through_mounted_files_keeps_old_tokens_valid(tmp_path: Path) -> None:
    # What the chart mounts after two rotations: the new signing key, and a directory with
    # one public key file per earlier key (a projected volume, with Kubernetes' own
    # dot-entries beside them).
    # Keys as cryptography (and openssl, and Helm) write them.
    oldest, old, new = (Ed25519PrivateKey.generate() for _ in range(3))
    tokens = [
        JwtIssuer(SigningKeys(private=_ours(k)), ttl_seconds=60).issue(ALICE) for k in (oldest, old)
    ]
    (tmp_path / "private-key.pem").write_bytes(_pem(new, public=False))
    previous = tmp_path / "jwt-previous"
    (previous / "..2026_12_05_21_00_00.1").mkdir(parents=True)
    (previous / "..2026_12_05_21_00_00.1" / "stale.pem").write_bytes(b"not a key")
    (previous / "00-newsroom-users-jwt-2025.pem").write_bytes(_pem(old, public=True))
    (previous / "01-newsroom-users-jwt-2024.pem").write_bytes(_pem(oldest, public=True))
    keys = load_signing_keys(
        _settings(
            tmp_path,
            USERS_JWT_PRIVATE_KEY_FILE=str(tmp_path / "private-key.pem"),
            USERS_JWT_PREVIOUS_PUBLIC_KEYS_FILE=str(previous),
        )
    )
    assert keys.kid == SigningKeys(private=_ours(new)).kid
    verifier = TokenVerifier(KeySet.static(keys.public_keys()))
    for token in tokens:
        assert verifier.verify(token).username == "alice"
    assert len(keys.jwks()["keys"]) == 3
    # Once the old keys are dropped from the mount, their tokens stop verifying.
    unrotated = load_signing_keys(
        _settings(tmp_path, USERS_JWT_PRIVATE_KEY_FILE=str(tmp_path / "private-key.pem"))
    )
    with pytest.raises(Unauthorized):
        TokenVerifier(KeySet.static(unrotated.public_keys())).verify(tokens[0])


def test_a_previous_key_file_without_a_public_key_is_an_error(tmp_path: Path) -> None:
    previous = tmp_path / "jwt-previous"
    previous.mkdir()
    # The old Secret's private key mounted by mistake: say so rather than drop it.
    (previous / "00-old.pem").write_bytes(_pem(Ed25519PrivateKey.generate(), public=False))
    with pytest.raises(ValueError, match=r"00-old\.pem holds no Ed25519 public key"):
        previous_public_keys(previous)

"""Newsroom's tokens and keys interoperate with PyJWT and cryptography, and nothing else parses.

The services sign and verify with `newsroom_common.jws` on libsodium; clients, operators
and other tests use the common libraries: a token or key made by either side must be read
by the other exactly.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common import jws
from newsroom_common.ed25519 import PrivateKey, public_keys_from_pem

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLAIMS = {"sub": "u1", "username": "alice", "iat": 1_700_000_000, "exp": 1_700_000_060}


def _b64(value: dict[str, Any]) -> str:
    return jws.b64url(json.dumps(value).encode())


def _theirs(key: PrivateKey) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(key.to_pem(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def test_pyjwt_reads_our_tokens() -> None:
    key = PrivateKey.generate()
    token = jws.encode(CLAIMS, key, kid="k1")

    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "k1", "typ": "JWT"}
    decoded = jwt.decode(
        token, _theirs(key).public_key(), algorithms=["EdDSA"], options={"verify_exp": False}
    )
    assert decoded == CLAIMS


def test_we_read_pyjwts_tokens() -> None:
    key = PrivateKey.generate()
    token = jwt.encode(CLAIMS, _theirs(key), algorithm="EdDSA", headers={"kid": "k1"})

    parsed = jws.parse(token)

    assert parsed.signed_by(key.public_key())
    assert not parsed.signed_by(PrivateKey.generate().public_key())
    assert (parsed.kid, parsed.claims) == ("k1", CLAIMS)


def test_a_changed_byte_anywhere_breaks_the_signature() -> None:
    key = PrivateKey.generate()
    header, claims, signature = jws.encode(CLAIMS, key, kid="k1").split(".")
    forged_claims = _b64({**CLAIMS, "sub": "admin"})
    raw = bytearray(jws.b64url_decode(signature))
    raw[0] ^= 1
    for token in (
        f"{header}.{forged_claims}.{signature}",
        f"{header}.{claims}.{jws.b64url(bytes(raw))}",
        f"{header}.{claims}.{jws.b64url(bytes(raw[:63]))}",  # too short
        f"{header}.{claims}.",
    ):
        try:
            parsed = jws.parse(token)
        except jws.MalformedToken:
            continue
        assert not parsed.signed_by(key.public_key()), token


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "k1"},
        {"alg": "HS256", "kid": "k1"},
        {"kid": "k1"},
        {"alg": "EdDSA", "kid": "k1", "crit": ["exp"]},
    ],
    ids=["none", "hmac", "no-alg", "crit"],
)
def test_only_plain_eddsa_headers_parse(header: dict[str, Any]) -> None:
    signature = jws.b64url(b"\0" * 64)
    with pytest.raises(jws.MalformedToken):
        jws.parse(f"{_b64(header)}.{_b64(CLAIMS)}.{signature}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJFZERTQSJ9.W10.AAAA",  # claims are a list
        "WzFd.e30.AAAA",  # header is a list
        "eyJhbGciOiJFZERTQSJ9.e30=.AAAA",  # padding
        "eyJhbGciOiJFZERTQSJ9.e3+/.AAAA",  # base64, not base64url
        "eyJhbGciOiJFZERTQSJ9.e30.A",  # a length no encoding has
        "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.AAAA",  # "not json"
        "eyJhbGciOiJFZERTQSJ9.é.AAAA",
    ],
)
def test_malformed_tokens_are_refused_before_any_key(token: str) -> None:
    with pytest.raises(jws.MalformedToken):
        jws.parse(token)


def test_private_keys_read_from_cryptographys_pem_and_back() -> None:
    theirs = Ed25519PrivateKey.generate()
    pem = theirs.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    ours = PrivateKey.from_pem(pem)

    assert ours.public_key().raw == theirs.public_key().public_bytes_raw()
    assert ours.to_pem() == pem
    theirs.public_key().verify(ours.sign(b"data"), b"data")


def test_a_pkcs8_v2_key_reads_when_its_public_key_matches() -> None:
    key = PrivateKey.generate()
    seed = _theirs(key).private_bytes_raw()
    prefix = bytes.fromhex("3051020101300506032b657004220420")
    v2 = prefix + seed + bytes.fromhex("812100") + key.public_key().raw
    pem = b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(v2) + b"-----END PRIVATE KEY-----\n"

    assert PrivateKey.from_pem(pem).public_key() == key.public_key()
    other = PrivateKey.generate().public_key().raw
    mismatched = base64.encodebytes(prefix + seed + bytes.fromhex("812100") + other)
    with pytest.raises(ValueError, match="does not match"):
        PrivateKey.from_pem(
            b"-----BEGIN PRIVATE KEY-----\n" + mismatched + b"-----END PRIVATE KEY-----"
        )


def test_other_private_keys_are_refused_saying_what_is_expected() -> None:
    rsa_pem = RSA.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    two = PrivateKey.generate().to_pem() + PrivateKey.generate().to_pem()
    for pem in (
        rsa_pem,
        encrypted,
        two,
        b"",
        b"-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----",
    ):
        with pytest.raises(ValueError, match=r"Ed25519 private key in PKCS#8 PEM|not base64"):
            PrivateKey.from_pem(pem)


def test_public_keys_read_from_pem_skipping_other_kinds() -> None:
    ed = Ed25519PrivateKey.generate().public_key()
    ed_pem = ed.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_pem = RSA.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    keys = public_keys_from_pem(rsa_pem + ed_pem)

    assert [k.raw for k in keys] == [ed.public_bytes_raw()]
    assert keys[0].to_pem() == ed_pem


def test_jwks_entries_interoperate() -> None:
    key = PrivateKey.generate()
    ours = jws.jwk(key.public_key(), kid="k1")
    theirs = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(_theirs(key).public_key()))

    assert {k: ours[k] for k in theirs} == theirs
    assert jws.public_key_from_jwk(theirs) == key.public_key()
    assert jws.public_key_from_jwk({**theirs, "x": jws.b64url(b"short")}) is None
    assert jws.public_key_from_jwk({**theirs, "crv": "X25519"}) is None
    assert jws.public_key_from_jwk({"kty": "RSA", "n": "x", "e": "AQAB"}) is None


def test_keys_read_as_the_docs_tell_operators_to_make_them(tmp_path: Path) -> None:
    # docs/kubernetes.md and the users chart's README: openssl genpkey, then openssl pkey -pubout.
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed: the docs make the signing keys with it"
    private, public = tmp_path / "jwt-signing-key.pem", tmp_path / "public-key.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", private], check=True)
    subprocess.run([openssl, "pkey", "-in", private, "-pubout", "-out", public], check=True)

    key = PrivateKey.from_pem(private.read_bytes())

    assert public_keys_from_pem(public.read_bytes()) == [key.public_key()]
    assert key.to_pem() == private.read_bytes()

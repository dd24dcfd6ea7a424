"""No email, password, password hash, token or secret leaves through a response or a log line.

A user's email and token reach that user only (their own /api/user, login and registration).
Everything else anyone may see about them (profiles, articles, comments, feeds, favorites,
counts, error answers, the internal profile lookup) must not carry them, and no process of the
stack may ever write a password, hash, token, private key or database password to its log.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsroom_devstack.stack import Stack

from .conftest import Account, Answer, Raw

pytestmark = pytest.mark.e2e

# Any JWT (header and claims are base64url JSON objects), a PHC password hash, a PEM key.
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
PASSWORD_HASH = re.compile(rb"\$argon2(id|i|d)\$")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _secrets(account: Account) -> dict[str, bytes]:
    return {
        "email": account.email.encode(),
        "password": account.password.encode(),
        "token": account.token.encode(),
    }


def _assert_carries_none(answer: Answer, secrets: dict[str, bytes], where: str) -> None:
    seen = answer.raw + "\n".join(f"{k}: {v}" for k, v in answer.headers.items()).encode()
    for name, value in secrets.items():
        assert value not in seen, f"{where} carries the {name}"
    assert not PASSWORD_HASH.search(seen), f"{where} carries a password hash"
    assert not PRIVATE_KEY.search(seen), f"{where} carries a private key"


@pytest.fixture(scope="module")
def pair(gateway: Raw) -> tuple[Account, Account, str]:
    """An owner with an article the other user follows, favorites, comments and reads."""
    owner = gateway.register("secret-owner")
    other = gateway.register("secret-other")
    slug = gateway.publish(owner)["slug"]
    assert (
        gateway.json("POST", f"/api/profiles/{owner.username}/follow", token=other.token).status
        == 200
    )
    return owner, other, slug


def test_a_users_email_and_token_reach_no_one_else(
    gateway: Raw, stack: Stack, pair: tuple[Account, Account, str]
) -> None:
    owner, other, slug = pair
    secrets = _secrets(owner)
    comment = gateway.json(
        "POST", f"/api/articles/{slug}/comments", {"comment": {"body": "hi"}}, token=owner.token
    )
    assert comment.status in (200, 201)
    seen_by_others = {
        "profile, anonymous": gateway.json("GET", f"/api/profiles/{owner.username}"),
        "profile, as another": gateway.json(
            "GET", f"/api/profiles/{owner.username}", token=other.token
        ),
        "article": gateway.json("GET", f"/api/articles/{slug}", token=other.token),
        "article list": gateway.json("GET", f"/api/articles?author={owner.username}"),
        "feed": gateway.json("GET", "/api/articles/feed", token=other.token),
        "comments": gateway.json("GET", f"/api/articles/{slug}/comments", token=other.token),
        "favorite": gateway.json("POST", f"/api/articles/{slug}/favorite", token=other.token),
        "follow": gateway.json("POST", f"/api/profiles/{owner.username}/follow", token=other.token),
        "views": gateway.json("GET", f"/api/articles/{slug}/views"),
        "popular": gateway.json("GET", "/api/views/popular?window=all"),
        "other's own user": gateway.json("GET", "/api/user", token=other.token),
        "tags": gateway.json("GET", "/api/tags"),
        "internal profile lookup": Raw(stack.service_url("users")).json(
            "GET", f"/internal/users/{owner.id}/profile"
        ),
        # Error answers must not echo what was sent.
        "wrong password": gateway.json(
            "POST", "/api/users/login", {"user": {"email": owner.email, "password": "nope nope"}}
        ),
        "taken email": gateway.json(
            "POST",
            "/api/users",
            {
                "user": {
                    "username": f"x{uuid.uuid4().hex[:8]}",
                    "email": owner.email,
                    "password": owner.password,
                }
            },
        ),
        "taken username": gateway.json(
            "POST",
            "/api/users",
            {
                "user": {
                    "username": owner.username,
                    "email": f"{uuid.uuid4().hex}@example.com",
                    "password": owner.password,
                }
            },
        ),
        "expired-looking token": gateway.send(
            "GET", "/api/user", headers={"Authorization": f"Token {owner.token[:-4]}AAAA"}
        ),
    }
    for where, answer in seen_by_others.items():
        assert answer.status < 500, (where, answer.raw)
        _assert_carries_none(answer, secrets, where)


def test_the_owner_gets_email_and_token_but_never_the_password_or_its_hash(
    gateway: Raw, pair: tuple[Account, Account, str]
) -> None:
    owner, _, _ = pair
    own = {
        "current user": gateway.json("GET", "/api/user", token=owner.token),
        "login": gateway.json(
            "POST", "/api/users/login", {"user": {"email": owner.email, "password": owner.password}}
        ),
        "update": gateway.json("PUT", "/api/user", {"user": {"bio": "mine"}}, token=owner.token),
    }
    for where, answer in own.items():
        assert answer.status == 200, (where, answer.raw)
        assert answer.body["user"]["email"] == owner.email
        assert answer.body["user"]["token"]
        _assert_carries_none(answer, {"password": owner.password.encode()}, where)


def test_racing_registrations_make_one_account_and_log_no_secret(
    gateway: Raw, stack: Stack
) -> None:
    # Registrations of one name at once pass the service's check together; the unique index
    # decides. PostgreSQL logs the statement of a failed one, values included (psycopg2 sends
    # them inline), unless told not to: that line would hold the email and the password hash.
    name = f"race-{uuid.uuid4().hex[:10]}"
    email = f"{name}@example.com"
    body = {"user": {"username": name, "email": email, "password": f"race pw {uuid.uuid4()}"}}
    barrier = threading.Barrier(8)

    def register() -> int:
        barrier.wait()
        return Raw(stack.gateway_url).json("POST", "/api/users", body).status

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: register(), range(8)))
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 422}, statuses
    log = stack.supervisor.log_dir / "postgres.log"
    if log.is_file():
        leaked = [line for line in log.read_bytes().splitlines() if email.encode() in line]
        assert not leaked, leaked[:3]


def test_racing_profile_updates_to_one_name_log_no_secret(gateway: Raw, stack: Stack) -> None:
    # The same race as above, through PUT /api/user: several users take one new name at once.
    racers = [gateway.register("racer") for _ in range(4)]
    name = f"taken-{uuid.uuid4().hex[:10]}"
    email = f"{name}@example.com"
    barrier = threading.Barrier(len(racers))

    def rename(account: Account) -> int:
        barrier.wait()
        body = {"user": {"username": name, "email": email}}
        return Raw(stack.gateway_url).json("PUT", "/api/user", body, token=account.token).status

    with concurrent.futures.ThreadPoolExecutor(len(racers)) as pool:
        statuses = sorted(pool.map(rename, racers))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 422}, statuses
    log = stack.supervisor.log_dir / "postgres.log"
    if log.is_file():
        leaked = [line for line in log.read_bytes().splitlines() if email.encode() in line]
        assert not leaked, leaked[:3]


def test_no_log_line_carries_a_secret(
    gateway: Raw, stack: Stack, pair: tuple[Account, Account, str]
) -> None:
    owner, other, _ = pair
    # Exercise the paths most likely to log what they were given: failures.
    wrong = f"wrong password {uuid.uuid4().hex}"
    gateway.json("POST", "/api/users/login", {"user": {"email": owner.email, "password": wrong}})
    gateway.json("POST", "/api/users", {"user": {"email": owner.email, "password": wrong}})
    gateway.send("GET", "/api/user", headers={"Authorization": f"Token {owner.token}x"})
    gateway.send("POST", "/api/articles", body=b"{broken", token=owner.token)
    barrier = f"log-barrier-{uuid.uuid4().hex}"
    gateway.send("GET", "/api/tags", headers={"X-Request-ID": barrier})
    logs = stack.supervisor.log_dir
    _wait_until_logged(logs / "gateway.log", barrier.encode())

    markers = {**_secrets(owner), **{f"other's {k}": v for k, v in _secrets(other).items()}}
    markers["wrong password"] = wrong.encode()
    for service in ("users", "articles", "views"):
        password = urlsplit(stack.env(service)[f"{service.upper()}_DATABASE_URL"]).password
        if password:
            markers[f"{service} database password"] = password.encode()
    private_key = stack.jwt_private_key_file.read_bytes().splitlines()[1]
    markers["signing key"] = private_key

    scanned = sorted(logs.glob("*.log"))
    # Not a vacuous pass: every kind of process has a log here.
    names = {log.name for log in scanned}
    assert {"gateway.log", "users-api.log", "articles-api.log", "views-api.log"} <= names, names
    found = []
    for log in scanned:
        for number, line in enumerate(log.read_bytes().splitlines(), 1):
            hits = [name for name, value in markers.items() if value in line]
            hits += [
                name
                for name, rx in (
                    ("a token", JWT),
                    ("a password hash", PASSWORD_HASH),
                    ("a private key", PRIVATE_KEY),
                )
                if rx.search(line)
            ]
            if hits:
                found.append(f"{log.name}:{number}: {', '.join(hits)}")
    assert not found, "\n".join(found[:20])


def _wait_until_logged(path: Path, marker: bytes, timeout: float = 30.0) -> None:
    # Output reaches the log files through the supervisor's reader threads, a moment later.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and marker in path.read_bytes():
            return
        time.sleep(0.1)
    pytest.fail(f"{marker!r} never reached {path}")

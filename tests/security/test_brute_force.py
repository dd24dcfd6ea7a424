"""Password guessing on login is held to the configured rate, per client, and only for that client.

A gateway of the test's own, with a tight login limit, sits in front of the stack's real users
instances. The gateway limits per client address, and every 127.x.y.z address is this machine:
the attacker connects from 127.0.0.2 (claiming another address in X-Forwarded-For each time),
a legitimate user from 127.0.0.3.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom_devstack.gateway import Gateway, GatewaySettings
from newsroom_devstack.net import LOOPBACK
from newsroom_devstack.stack import Stack
from newsroom_devstack.supervisor import Supervisor

from .conftest import Raw

pytestmark = pytest.mark.e2e

LOGINS_PER_MINUTE = 6
BURST = 3
ATTEMPTS = 25


@pytest.fixture(scope="module")
def strict_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root: Path = tmp_path_factory.mktemp("strict-gateway")
    gateway = Gateway(
        root,
        upstreams={
            name: [f"{LOOPBACK}:{port}" for port in ports]
            for name, ports in stack.api_ports.items()
        },
        supervisor=Supervisor(root),
        settings=GatewaySettings(
            auth_rate_per_minute=LOGINS_PER_MINUTE, auth_rate_burst=BURST, cache=False
        ),
    )
    gateway.start()
    yield gateway
    gateway.stop()


def test_a_client_guessing_passwords_is_limited_while_another_logs_in(
    gateway: Raw, strict_gateway: Gateway
) -> None:
    # The victim registers through the session's gateway, so the strict one's budget is intact.
    victim = gateway.register("victim")
    attacker = Raw(strict_gateway.url, source="127.0.0.2")
    bystander = Raw(strict_gateway.url, source="127.0.0.3")

    started = time.monotonic()
    statuses = []
    for attempt in range(ATTEMPTS):
        guess = {"user": {"email": victim.email, "password": f"guess {attempt}"}}
        # A forged X-Forwarded-For must not make each guess a new client.
        answer = attacker.send(
            "POST",
            "/api/users/login",
            body=json.dumps(guess).encode(),
            headers={"X-Forwarded-For": f"10.9.{attempt}.1"},
        )
        statuses.append(answer.status)
        if answer.status == 429:
            assert answer.body == {"errors": {"body": ["too many requests"]}}
            assert int(answer.headers["retry-after"]) >= 1
        else:
            assert answer.status in (401, 403, 422), answer.raw
    elapsed = time.monotonic() - started

    # What the limit lets through: the burst, one, and one more per slot freed meanwhile.
    allowed = BURST + 1 + math.ceil(elapsed * LOGINS_PER_MINUTE / 60)
    reached_users = [s for s in statuses if s != 429]
    assert len(reached_users) <= allowed, statuses
    assert statuses.count(429) >= ATTEMPTS - allowed

    # Another client is served normally meanwhile, login included.
    login = {"user": {"email": victim.email, "password": victim.password}}
    answer = bystander.json("POST", "/api/users/login", login)
    assert answer.status == 200, answer.raw
    assert answer.body["user"]["username"] == victim.username
    # And the attacker is only refused logins: the rest of the API still answers it.
    assert attacker.json("GET", "/api/tags").status == 200

"""The gateway's cache in front of the real articles service: its Cache-Control and Vary make
anonymous lists and everyone's tags shared for a few seconds, and a signed-in reader of a list
always sees the service.

The session's gateway runs without the cache (the services' tests read their own writes
anonymously); this test starts one with it, from the same template, in front of the same
service instances.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from newsroom_devstack.gateway import Gateway, GatewaySettings
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.stack import Stack
from newsroom_devstack.supervisor import Supervisor

from .conftest import Client

pytestmark = pytest.mark.e2e


@pytest.fixture
def caching_gateway(stack: Stack, tmp_path: Path) -> Iterator[Gateway]:
    root = tmp_path / "caching"
    gateway = Gateway(
        root,
        upstreams={
            name: [url.removeprefix("http://") for url in stack.service_urls(name)]
            for name in SERVICE_NAMES
        },
        supervisor=Supervisor(root),
        settings=GatewaySettings(cache=True),
    )
    gateway.start()
    yield gateway
    gateway.stop()


def test_anonymous_lists_are_shared_briefly_and_a_token_always_reaches_the_service(
    caching_gateway: Gateway, client: Client
) -> None:
    writer = client.register("cached")
    signed_in = {"Authorization": f"Token {writer.token}"}
    tags = f"{caching_gateway.url}/api/tags"

    first = requests.get(tags, timeout=10)
    assert first.status_code == 200
    assert first.headers["X-Cache-Status"] in {"MISS", "HIT", "EXPIRED"}
    assert first.headers["Cache-Control"].startswith("public")
    second = requests.get(tags, timeout=10)
    assert (second.headers["X-Cache-Status"], second.json()) == ("HIT", first.json())
    # The tags are the same for every caller: a token reads the one shared copy too.
    shared = requests.get(tags, headers=signed_in, timeout=10)
    assert (shared.headers["X-Cache-Status"], shared.json()) == ("HIT", first.json())
    assert shared.headers["Cache-Control"].startswith("public")

    # A new tag, written through the session's gateway: the service lists it at once (the
    # cached gateway's readers, signed in or not, may see the list from before for max-age).
    tag = f"t{uuid.uuid4().hex[:12]}"
    client.call(
        "POST",
        "/api/articles",
        expect=201,
        as_=writer,
        json={"article": {"title": tag, "description": "d", "body": "b", "tagList": [tag]}},
    )
    assert tag in client.call("GET", "/api/tags", expect=200, as_=writer)["tags"]

    # The signed-in answer was not stored: the article list by the same URL is a MISS for
    # the next anonymous reader, then shared.
    articles = f"{caching_gateway.url}/api/articles?tag={tag}"
    mine = requests.get(articles, headers=signed_in, timeout=10)
    assert (mine.headers["X-Cache-Status"], mine.json()["articlesCount"]) == ("BYPASS", 1)
    assert [requests.get(articles, timeout=10).headers["X-Cache-Status"] for _ in range(2)] == [
        "MISS",
        "HIT",
    ]

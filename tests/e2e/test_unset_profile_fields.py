"""A user's unset bio and image are null wherever a user or an author appears (issue 22).

RealWorld front ends test `image` for null to show a default avatar; "" rendered a broken
image. Setting them and unsetting them (with null or "") round-trips, in users and in the
articles service's replica of profiles, which learns of it from users' events.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from newsroom_devstack.testing import PASSWORD, Account, GatewayClient, eventually

from .conftest import Client

pytestmark = pytest.mark.e2e

IMAGE = "https://img.example/avatar.png"


@pytest.fixture(scope="module")
def api(client: Client) -> GatewayClient:
    """The gateway the e2e suite runs against (conftest's `client`)."""
    return GatewayClient(client.base_url)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    return response.json()


class AuthorSeen:
    """An article of `author` with a comment, followed by `reader`: every place a profile shows."""

    def __init__(self, api: GatewayClient, author: Account, reader: Account) -> None:
        self.api, self.author, self.reader = api, author, reader
        article = {"title": f"By {author.username}", "description": "d", "body": "b"}
        published = ok(api.post("/api/articles", user=author, json={"article": article}), 201)
        self.slug = published["article"]["slug"]
        comment = {"comment": {"body": "a comment"}}
        commented = ok(api.post(f"/api/articles/{self.slug}/comments", user=author, json=comment))
        followed = ok(api.post(f"/api/profiles/{author.username}/follow", user=reader))
        # What the writes answered, as they answered it.
        self.written = {
            "published article": published["article"]["author"],
            "new comment": commented["comment"]["author"],
            "follow": followed["profile"],
        }

    def read(self) -> dict[str, Any]:
        """The author's profile in every read that shows it, by where it appears."""
        api, name = self.api, self.author.username
        return {
            "article": ok(api.get(f"/api/articles/{self.slug}"))["article"]["author"],
            "list": ok(api.get(f"/api/articles?author={name}"))["articles"][0]["author"],
            "feed": ok(api.get("/api/articles/feed", user=self.reader))["articles"][0]["author"],
            "comments": ok(api.get(f"/api/articles/{self.slug}/comments"))["comments"][0]["author"],
            "profile": ok(api.get(f"/api/profiles/{name}"))["profile"],
            "followed profile": ok(api.get(f"/api/profiles/{name}", user=self.reader))["profile"],
        }


def test_a_new_users_bio_and_image_are_null_everywhere(api: GatewayClient) -> None:
    name = f"fresh{uuid.uuid4().hex[:10]}"
    registered = ok(
        api.post(
            "/api/users",
            json={"user": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}},
        ),
        201,
    )["user"]
    assert (registered["bio"], registered["image"]) == (None, None)
    logged_in = ok(
        api.post(
            "/api/users/login",
            json={"user": {"email": f"{name}@example.com", "password": PASSWORD}},
        )
    )["user"]
    assert (logged_in["bio"], logged_in["image"]) == (None, None)
    author = Account(id="", username=name, email=f"{name}@example.com", token=logged_in["token"])
    me = ok(api.get("/api/user", user=author))["user"]
    assert (me["bio"], me["image"]) == (None, None)
    # The key is there, with null: a front end reads `image == null`, not a missing key.
    assert {"bio", "image"} <= me.keys()

    seen = AuthorSeen(api, author, api.register("reader"))
    answers = {**seen.written, **seen.read()}
    answers["unfollow"] = ok(api.delete(f"/api/profiles/{name}/follow", user=seen.reader))[
        "profile"
    ]
    for where, profile in answers.items():
        assert (profile["bio"], profile["image"]) == (None, None), where


@pytest.mark.parametrize("unset", [None, ""])
def test_setting_and_unsetting_round_trips_everywhere(
    api: GatewayClient, unset: str | None
) -> None:
    author = api.register("author")
    seen = AuthorSeen(api, author, api.register("reader"))

    def put(**fields: Any) -> dict[str, Any]:
        user: dict[str, Any] = ok(api.put("/api/user", user=author, json={"user": fields}))["user"]
        assert ok(api.get("/api/user", user=author))["user"] == {**user, "token": author.token}
        return user

    def everywhere_is(expected: tuple[str | None, str | None]) -> None:
        # The articles service's replica follows users' events: wait until it agrees.
        def agreed() -> dict[str, Any] | None:
            answers = seen.read()
            agree = all((p["bio"], p["image"]) == expected for p in answers.values())
            return answers if agree else None

        eventually(
            agreed, interval=0.2, what=f"every profile of {author.username} showing {expected}"
        )

    user = put(bio="I write", image=IMAGE)
    assert (user["bio"], user["image"]) == ("I write", IMAGE)
    everywhere_is(("I write", IMAGE))

    user = put(bio=unset, image=unset)
    assert (user["bio"], user["image"]) == (None, None)
    everywhere_is((None, None))

    # One of them set, the other unset: each field on its own.
    user = put(image=IMAGE)
    assert (user["bio"], user["image"]) == (None, IMAGE)
    everywhere_is((None, IMAGE))

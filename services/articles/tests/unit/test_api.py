"""The HTTP layer on fakes: status codes, error shape, auth, cache headers and ETags."""

from __future__ import annotations

from flask.testing import FlaskClient

from newsroom_common.auth import Principal

from .fakes import Fakes


def _auth(user: Principal) -> dict[str, str]:
    return {"Authorization": f"Token {user.token}"}


def _publish(client: FlaskClient, user: Principal, **fields: object) -> dict[str, object]:
    article = {"title": "Hello", "description": "d", "body": "b", "tagList": ["z", "a"], **fields}
    response = client.post("/api/articles", json={"article": article}, headers=_auth(user))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["article"]  # type: ignore[no-any-return]


def test_an_article_in_the_realworld_shape(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    article = _publish(client, alice)
    assert article["slug"] == "hello"
    assert article["tagList"] == ["a", "z"]
    assert article["author"] == {
        "username": "alice",
        "bio": "bio of alice",
        "image": None,
        "following": False,
    }
    assert str(article["createdAt"]).endswith("Z")
    assert len(str(article["createdAt"])) == len("2026-01-01T12:00:00.000Z")


def test_lists_leave_out_the_body_and_count_all_matches(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    for i in range(3):
        _publish(client, alice, title=f"t{i}")
    body = client.get("/api/articles?limit=2").get_json()
    assert body["articlesCount"] == 3
    assert len(body["articles"]) == 2
    assert "body" not in body["articles"][0]


def test_bad_paging_is_422_per_field(client: FlaskClient) -> None:
    response = client.get("/api/articles?limit=abc&offset=-3")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"limit", "offset"}


def test_writes_need_a_token(client: FlaskClient) -> None:
    response = client.post("/api/articles", json={"article": {}})
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"body": ["missing authorization token"]}}
    assert client.get("/api/articles/feed").status_code == 401


def test_invalid_article_is_422_with_a_message_per_field(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    response = client.post("/api/articles", json={"article": {"title": ""}}, headers=_auth(alice))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"title", "description", "body"}
    response = client.post("/api/articles", data=b"{not json", headers=_auth(alice))
    assert response.status_code == 422


def test_someone_elses_article_is_403_and_unknown_is_404(client: FlaskClient, fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _publish(client, alice)["slug"]
    change = {"article": {"body": "mine now"}}
    assert client.put(f"/api/articles/{slug}", json=change, headers=_auth(bob)).status_code == 403
    assert client.delete(f"/api/articles/{slug}", headers=_auth(bob)).status_code == 403
    assert client.get("/api/articles/no-such-slug").status_code == 404
    assert client.delete(f"/api/articles/{slug}", headers=_auth(alice)).status_code == 204
    assert client.get(f"/api/articles/{slug}").status_code == 404


def test_comment_ids_that_cannot_exist_are_404(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _publish(client, alice)["slug"]
    for bad in ("abc", "99999999999999999999999", "٣"):
        response = client.delete(f"/api/articles/{slug}/comments/{bad}", headers=_auth(alice))
        assert response.status_code == 404


def test_comments_round_trip(client: FlaskClient, fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _publish(client, alice)["slug"]
    created = client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=_auth(bob)
    )
    assert created.status_code == 200
    comment = created.get_json()["comment"]
    assert comment["author"]["username"] == "bob"
    listed = client.get(f"/api/articles/{slug}/comments").get_json()["comments"]
    assert [c["id"] for c in listed] == [comment["id"]]
    path = f"/api/articles/{slug}/comments/{comment['id']}"
    assert client.delete(path, headers=_auth(alice)).status_code == 403
    assert client.delete(path, headers=_auth(bob)).status_code == 204


def test_anonymous_reads_are_shared_cacheable_and_signed_in_ones_private(
    client: FlaskClient, fakes: Fakes
) -> None:
    alice = fakes.user("alice")
    slug = _publish(client, alice)["slug"]
    for path in ("/api/articles", f"/api/articles/{slug}"):
        anonymous = client.get(path)
        assert anonymous.headers["Cache-Control"] == "public, max-age=5"
        assert "Authorization" in anonymous.headers["Vary"]
        signed_in = client.get(path, headers=_auth(alice))
        assert signed_in.headers["Cache-Control"].startswith("private")


def test_the_tags_are_shared_cacheable_for_every_caller(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    _publish(client, alice)
    anonymous = client.get("/api/tags")
    signed_in = client.get("/api/tags", headers=_auth(alice))
    assert anonymous.get_json() == signed_in.get_json()
    for response in (anonymous, signed_in):
        assert response.headers["Cache-Control"] == "public, max-age=5"
        assert "Authorization" not in response.headers.get("Vary", "")


def test_an_unchanged_article_answers_304(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _publish(client, alice)["slug"]
    first = client.get(f"/api/articles/{slug}")
    etag = first.headers["ETag"]
    again = client.get(f"/api/articles/{slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    client.put(f"/api/articles/{slug}", json={"article": {"body": "new"}}, headers=_auth(alice))
    changed = client.get(f"/api/articles/{slug}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    # Every read is a view, a revalidated one too.
    assert len(fakes.views.events) == 3


def test_readiness_reports_the_view_buffer_without_depending_on_it(client: FlaskClient) -> None:
    body = client.get("/readyz").get_json()
    assert body["checks"]["views_buffer"]["required"] is False
    assert body["checks"]["database"]["required"] is True


def test_nul_characters_never_reach_the_database(client: FlaskClient, fakes: Fakes) -> None:
    alice = fakes.user("alice")
    assert client.get("/api/articles/bad%00slug").status_code == 404
    assert client.get("/api/articles/bad%00slug/comments").status_code == 404
    response = client.get("/api/articles?tag=a%00b")
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"tag": ["must not contain NUL characters"]}}
    article = {"title": "a\u0000b", "description": "d", "body": "b", "tagList": ["x\u0000"]}
    created = client.post("/api/articles", json={"article": article}, headers=_auth(alice))
    assert created.status_code == 422
    assert set(created.get_json()["errors"]) == {"title", "tagList"}


def test_the_feed_is_read_only_and_says_so(client: FlaskClient, fakes: Fakes) -> None:
    # "feed" is a reserved slug: /api/articles/feed must not also match the article routes.
    alice = fakes.user("alice")
    allowed = client.options("/api/articles/feed").headers["Allow"]
    assert set(allowed.split(", ")) == {"GET", "HEAD", "OPTIONS"}
    response = client.put("/api/articles/feed", json={"article": {}}, headers=_auth(alice))
    assert response.status_code == 405
    assert response.get_json() == {"errors": {"body": ["method not allowed"]}}
    assert client.get("/api/articles/feeds").status_code == 404

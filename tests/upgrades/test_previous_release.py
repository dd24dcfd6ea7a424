"""The previous release's code runs against the new schema (issue 18, item 14).

Helm runs the new release's migrations before any pod rolls, and `helm rollback` puts the
previous release's pods back on the migrated databases: for a while the previous release's
code runs against this checkout's schema. Here that state is built for real: this checkout's
migrations bring empty databases (scratch schemas of the session's PostgreSQL) to head, then
the previous release (previous_release.toml), taken out of git and installed from its own
uv.lock, serves every service's API and runs every worker on them, on a Kafka broker of its
own (the previous release's consumer groups are hard-coded, so it cannot share the session's
broker with the session's stack). Each test drives one service through the calls that read
and write every one of its tables, and one event through its outbox or consumer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg2
import pytest
from kafka import KafkaConsumer

from newsroom_devstack.gateway import UNLIMITED
from newsroom_devstack.kafka import KafkaBroker
from newsroom_devstack.paths import cache_dir
from newsroom_devstack.postgres import Databases, ExternalPostgres
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import StartupError, Supervisor
from newsroom_devstack.testing import Account, GatewayClient, eventually, scratch_schema

from . import previous_release
from .previous_release import PreviousReleaseError, Release

# The fixtures build the old release (venvs, its own Kafka broker) before any test: on a
# fresh machine that alone takes minutes, past the default limit.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@dataclasses.dataclass(frozen=True)
class PreviousStack:
    """The previous release's services on the new schema, and the URL of each database."""

    stack: Stack
    release: Release
    database_urls: dict[str, str]


class PreviousReleaseStack(Stack):
    """The devstack, giving each service only the prefixed variables its release reads.

    This checkout's devstack may set a variable the previous release does not know (a
    setting added since), which a release that refuses unknown variables would stop on;
    its pods get their own chart's environment, which has none of them.
    """

    def __init__(self, known: Mapping[str, frozenset[str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known = known

    def env(self, name: str) -> dict[str, str]:
        """The devstack's variables of service `name` that its release's settings read."""
        prefix = f"{name.upper()}_"
        return {
            variable: value
            for variable, value in super().env(name).items()
            if not variable.startswith(prefix) or variable in self.known[name]
        }


@pytest.fixture(scope="module")
def previous(
    release: Release, postgres: Databases, devstack_supervisor: Supervisor
) -> Iterator[PreviousStack]:
    """Every service of the previous release, on databases this checkout's migrations made."""
    try:
        bin_dirs = previous_release.install(release, SERVICE_NAMES)
    except PreviousReleaseError as error:
        pytest.fail(str(error), pytrace=False)
    root = devstack_supervisor.run_dir / "previous-release"
    # Its own supervisor: the session's stack already has processes called users-api, ...
    supervisor = Supervisor(root)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(supervisor.stop_all)
        urls = {
            name: cleanup.enter_context(scratch_schema(postgres.database_url(name)))
            for name in SERVICE_NAMES
        }
        broker = KafkaBroker(root, cache_dir(), supervisor=supervisor)
        stack = PreviousReleaseStack(
            {name: previous_release.settings_variables(release, name) for name in SERVICE_NAMES},
            root,
            cache_dir(),
            supervisor=supervisor,
            options=StackOptions(
                bin_dirs=bin_dirs, gateway=dataclasses.replace(UNLIMITED, cache=False)
            ),
            postgres=ExternalPostgres(urls),
            kafka=broker,
        )
        cleanup.callback(broker.stop)
        cleanup.callback(stack.stop)
        try:
            stack.start()
        except StartupError as error:
            pytest.fail(
                f"the previous release ({release.version}, {release.commit[:12]}) did not "
                f"start on this checkout's schema: {error}",
                pytrace=False,
            )
        yield PreviousStack(stack=stack, release=release, database_urls=urls)


@pytest.fixture(scope="module")
def api(previous: PreviousStack) -> GatewayClient:
    """Requests through the previous release's gateway."""
    return GatewayClient(previous.stack.gateway_url)


def rows(previous: PreviousStack, service: str, table: str) -> int:
    """How many rows `table` of the service's (scratch) database holds."""
    url = previous.database_urls[service].replace("postgresql+psycopg2://", "postgresql://", 1)
    with (
        contextlib.closing(psycopg2.connect(url, connect_timeout=10)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        (count,) = cursor.fetchone()
    return int(count)


def events(
    bootstrap_servers: str, topic: str, match: Callable[[dict[str, Any]], bool], *, what: str
) -> list[dict[str, Any]]:
    """The events of `topic` (CloudEvents: `ce_type` header, JSON data) that `match`, once
    there are some."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    found: list[dict[str, Any]] = []

    def poll() -> list[dict[str, Any]]:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                headers = {name: value.decode() for name, value in record.headers}
                event = {"type": headers.get("ce_type"), **json.loads(record.value)}
                if match(event):
                    found.append(event)
        return found

    try:
        return eventually(poll, timeout=60, interval=0, what=what)
    finally:
        consumer.close()


def test_the_services_run_the_previous_release(previous: PreviousStack) -> None:
    """Not this checkout's code by mistake: every API and worker runs from the release's
    environments, which hold its own source."""
    for name in previous.stack.process_names():
        if name in {"postgres", "kafka", "gateway"} or name.endswith("-migrate"):
            continue  # the session's PostgreSQL, the broker, nginx; migrations are this checkout's
        argv = previous.stack.process(name).argv
        assert str(argv[0]).startswith(str(previous.release.cache)), (name, argv)
    for service in SERVICE_NAMES:
        links = list((previous.release.cache / f"venv-{service}").glob("**/*.pth"))
        assert any(str(previous.release.source) in p.read_text() for p in links), service


def test_users_of_the_previous_release(previous: PreviousStack, api: GatewayClient) -> None:
    """Register, log in, read and update the account, read a profile, follow and unfollow;
    the registration reaches Kafka through the outbox and the relay."""
    author = api.register("old")
    reader = api.register("old")
    login = api.post(
        "/api/users/login",
        json={"user": {"email": author.email, "password": "correct horse battery"}},
    )
    assert login.status_code == 200, login.text
    assert api.get("/api/user", user=author).json()["user"]["username"] == author.username
    updated = api.put("/api/user", user=author, json={"user": {"bio": "old code, new schema"}})
    assert updated.status_code == 200, updated.text
    profile = api.get(f"/api/profiles/{author.username}", user=reader)
    assert profile.json()["profile"]["bio"] == "old code, new schema", profile.text
    follow = api.post(f"/api/profiles/{author.username}/follow", user=reader)
    assert follow.status_code == 200, follow.text
    assert follow.json()["profile"]["following"] is True
    unfollow = api.delete(f"/api/profiles/{author.username}/follow", user=reader)
    assert unfollow.json()["profile"]["following"] is False, unfollow.text
    assert api.post(f"/api/profiles/{author.username}/follow", user=reader).status_code == 200

    assert rows(previous, "users", "users") >= 2
    assert rows(previous, "users", "follows") >= 1
    assert rows(previous, "users", "outbox") >= 1
    published = events(
        previous.stack.kafka.bootstrap_servers,
        "users.events.v1",
        lambda event: event.get("id") == author.id,
        what="the previous release's relay publishing the registration from its outbox",
    )
    assert published[0]["type"].endswith("UserRegistered"), published
    assert published[0]["username"] == author.username, published


def _article(api: GatewayClient, author: Account, tag: str) -> dict[str, Any]:
    response = api.post(
        "/api/articles",
        user=author,
        json={
            "article": {
                "title": f"Old code {uuid.uuid4().hex[:8]}",
                "description": "written by the previous release",
                "body": "on the new schema",
                "tagList": [tag, "compat"],
            }
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["article"]  # type: ignore[no-any-return]


def test_articles_of_the_previous_release(previous: PreviousStack, api: GatewayClient) -> None:
    """Publish, update, list, favorite, comment, read tags and the feed; the follow reaches
    the feed through users' events and the previous release's consumer."""
    author = api.register("olda")
    reader = api.register("oldr")
    tag = f"t{uuid.uuid4().hex[:10]}"
    article = _article(api, author, tag)
    slug = article["slug"]
    assert article["author"]["username"] == author.username

    updated = api.put(f"/api/articles/{slug}", user=author, json={"article": {"body": "edited"}})
    assert updated.status_code == 200, updated.text
    slug = updated.json()["article"]["slug"]
    assert api.get(f"/api/articles/{slug}").json()["article"]["body"] == "edited"

    listed = api.get(f"/api/articles?tag={tag}").json()
    assert [a["slug"] for a in listed["articles"]] == [slug], listed
    by_author = api.get(f"/api/articles?author={author.username}").json()
    assert by_author["articlesCount"] == 1, by_author
    assert tag in api.get("/api/tags").json()["tags"]

    favorite = api.post(f"/api/articles/{slug}/favorite", user=reader)
    assert favorite.status_code == 200, favorite.text
    assert favorite.json()["article"]["favoritesCount"] == 1
    favorited = api.get(f"/api/articles?favorited={reader.username}").json()
    assert [a["slug"] for a in favorited["articles"]] == [slug], favorited

    comment = api.post(
        f"/api/articles/{slug}/comments", user=reader, json={"comment": {"body": "still works"}}
    )
    assert comment.status_code == 200, comment.text
    comments = api.get(f"/api/articles/{slug}/comments").json()["comments"]
    assert [c["body"] for c in comments] == ["still works"]
    assert comments[0]["author"]["username"] == reader.username

    assert api.post(f"/api/profiles/{author.username}/follow", user=reader).status_code == 200

    def feed() -> list[str]:
        response = api.get("/api/articles/feed", user=reader)
        assert response.status_code == 200, response.text
        return [a["slug"] for a in response.json()["articles"]]

    assert eventually(
        feed, timeout=60, what="the follow in the reader's feed (users' event, articles' consumer)"
    ) == [slug]

    for table in (
        *("articles", "tags", "article_tags", "favorites", "comments", "counters"),
        *("profiles", "processed_events", "outbox"),
    ):
        assert rows(previous, "articles", table) >= 1, table
    assert rows(previous, "articles", "follows") >= 1
    published = events(
        previous.stack.kafka.bootstrap_servers,
        "articles.events.v1",
        lambda event: event.get("slug") == slug,
        what="the previous release's relay publishing the article from its outbox",
    )
    assert published[0]["title"] == article["title"], published


def test_views_of_the_previous_release(previous: PreviousStack, api: GatewayClient) -> None:
    """A read of an article is counted by the previous release's consumer and answered by its
    API, with the title its replica took from articles' events."""
    author = api.register("oldv")
    slug = _article(api, author, "views")["slug"]
    assert api.get(f"/api/articles/{slug}").status_code == 200

    def counted() -> dict[str, Any]:
        response = api.get(f"/api/articles/{slug}/views")
        if response.status_code == 404:
            return {}  # views has not taken the article from articles' events yet
        assert response.status_code == 200, response.text
        views: dict[str, Any] = response.json()["views"]
        return views if views["total"] >= 1 else {}

    views = eventually(counted, timeout=90, interval=0.5, what="the read counted by views")
    assert views["slug"] == slug

    # The title comes with articles' events, the author's name with users' (another topic,
    # consumed on its own): the entry is whole once both have arrived, in either order.
    def popular() -> list[dict[str, Any]]:
        entries = api.get("/api/views/popular?window=24h&limit=100").json()["popular"]
        return [e for e in entries if e["slug"] == slug and e["title"] and e["author"]["username"]]

    (entry,) = eventually(
        popular, timeout=60, what="the article, with its title and author, in the popular list"
    )
    assert entry["author"]["username"] == author.username
    for table in ("articles", "view_minutes", "view_hours", "view_totals"):
        assert rows(previous, "views", table) >= 1, table

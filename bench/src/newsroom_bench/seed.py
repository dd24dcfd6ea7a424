"""A realistic dataset, written through the public API by parallel clients.

Authors and readers register, readers follow authors, authors publish tagged articles,
readers favorite and comment. The largest size can top up the articles database
directly (`bulk`): see `top_up` for what that path skips and why it exists.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
import sqlalchemy as sa

from newsroom_common.database_url import psycopg2_url

T = TypeVar("T")
R = TypeVar("R")

PASSWORD = "bench-password-1"  # noqa: S105 (a throw-away account of a throw-away stack)
TAG_POOL = tuple(f"tag{i}" for i in range(30))
# Registrations and logins hash passwords (Argon2id): few clients saturate the users API.
HASHING_CLIENTS = 8
CLIENTS = 16
READERS = 20
FOLLOWS_PER_READER = 10
# Enough text that a single article is a real page (about 2 KB), not a stub.
BODY = " ".join(["Newsroom measures what it serves, and says where its limits are."] * 30)


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much of everything a size means."""

    articles: int
    authors: int
    readers: int
    favorites: int
    comments: int

    @classmethod
    def for_articles(cls, articles: int) -> Plan:
        """Twenty articles an author (10 to 1,000), a favorite per two, a comment per four."""
        return cls(
            articles=articles,
            authors=max(10, min(1000, articles // 20)),
            readers=READERS,
            favorites=articles // 2,
            comments=articles // 4,
        )


@dataclasses.dataclass
class Dataset:
    """What the load scenarios need from the seeded data."""

    run_tag: str
    reader_token: str
    reader_email: str
    author_tokens: list[str]
    slugs: list[str]
    seconds: float = 0.0
    path: str = "api"


class SeedError(RuntimeError):
    """The API refused a seeding request."""


class Client:
    """A keep-alive session per thread against the gateway."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def call(
        self, method: str, path: str, *, token: str | None = None, json: Any = None
    ) -> dict[str, Any]:
        """Send one request; raise SeedError unless it answered 2xx."""
        headers = {"Authorization": f"Token {token}"} if token else {}
        for attempt in range(5):
            response = self._session().request(
                method, self.base_url + path, json=json, headers=headers, timeout=30
            )
            # A full upstream queue (503) or the gateway's limits (429) are worth a retry.
            if response.status_code in {429, 502, 503, 504} and attempt < 4:
                time.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code >= 300:
                raise SeedError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json() if response.content else {}
        raise AssertionError("unreachable")


def _parallel(clients: int, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(fn, items))


def seed(base_url: str, plan: Plan, *, log: Callable[[str], None]) -> Dataset:
    """Write the plan's dataset through the gateway; return what the scenarios need."""
    started = time.monotonic()
    client = Client(base_url)
    tag = f"{int(time.time()) % 100000:05d}{random.randrange(1000):03d}"
    rng = random.Random(tag)

    def register(name: str) -> tuple[str, str]:
        email = f"{name}@bench.example"
        user = {"username": name, "email": email, "password": PASSWORD}
        body = client.call("POST", "/api/users", json={"user": user})
        return body["user"]["token"], name

    log(f"seed: {plan.authors} authors and {plan.readers} readers register")
    authors = _parallel(HASHING_CLIENTS, register, [f"a{tag}x{i}" for i in range(plan.authors)])
    readers = _parallel(HASHING_CLIENTS, register, [f"r{tag}x{i}" for i in range(plan.readers)])

    follows = [
        (reader_token, author_name)
        for reader_token, _ in readers
        for _, author_name in rng.sample(authors, min(FOLLOWS_PER_READER, len(authors)))
    ]
    log(f"seed: {len(follows)} follows")
    _parallel(
        CLIENTS,
        lambda f: client.call("POST", f"/api/profiles/{f[1]}/follow", token=f[0]),
        follows,
    )

    def publish(i: int) -> str:
        token = authors[i % len(authors)][0]
        article = {
            "title": f"Bench {tag} article {i}",
            "description": f"What article {i} is about",
            "body": BODY,
            "tagList": rng.sample(TAG_POOL, 1 + i % 3),
        }
        body = client.call("POST", "/api/articles", token=token, json={"article": article})
        return str(body["article"]["slug"])

    log(f"seed: {plan.articles} articles")
    slugs = _parallel(CLIENTS, publish, range(plan.articles))

    reader_tokens = [t for t, _ in readers]
    favorites = {
        (rng.randrange(len(reader_tokens)), rng.randrange(len(slugs)))
        for _ in range(plan.favorites)
    }
    log(f"seed: {len(favorites)} favorites, {plan.comments} comments")
    _parallel(
        CLIENTS,
        lambda f: client.call(
            "POST", f"/api/articles/{slugs[f[1]]}/favorite", token=reader_tokens[f[0]]
        ),
        favorites,
    )
    _parallel(
        CLIENTS,
        lambda i: client.call(
            "POST",
            f"/api/articles/{slugs[i % len(slugs)]}/comments",
            token=reader_tokens[i % len(reader_tokens)],
            json={"comment": {"body": f"Comment {i}: well put."}},
        ),
        range(plan.comments),
    )
    dataset = Dataset(
        run_tag=tag,
        reader_token=reader_tokens[0],
        reader_email=f"r{tag}x0@bench.example",
        author_tokens=[t for t, _ in authors],
        slugs=slugs,
    )
    wait_replicated(client, dataset, log=log)
    dataset.seconds = time.monotonic() - started
    return dataset


def wait_replicated(client: Client, dataset: Dataset, *, log: Callable[[str], None]) -> None:
    """Wait until the event-fed replicas caught up: the reader's feed, views' article titles."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        feed = client.call("GET", "/api/articles/feed?limit=1", token=dataset.reader_token)
        if feed["articlesCount"] > 0:
            break
        time.sleep(0.5)
    else:
        raise SeedError("the reader's feed stayed empty: follows did not reach articles")
    last = dataset.slugs[-1]
    while time.monotonic() < deadline:
        try:
            client.call("GET", f"/api/articles/{last}/views")
            return
        except SeedError:
            time.sleep(0.5)
    log("seed: views did not learn the last article within 120 s")


def top_up(database_url: str, *, total: int, log: Callable[[str], None]) -> int:
    """Bring the articles database to `total` articles with one INSERT ... SELECT.

    The bulk path: 100,000 articles through the API take tens of minutes on two cores
    (each is a transaction, an outbox row and a Kafka event). The added rows are written
    as the service writes them (tags, tag counts, the article total, favorite counts) by
    the seeded authors, but bypass the outbox: users and views never hear of them, which
    the list, feed and single-article measures do not need. Returns the rows added.
    """
    engine = sa.create_engine(psycopg2_url(database_url))
    try:
        with engine.begin() as conn:
            have = int(conn.execute(sa.text("SELECT count(*) FROM articles")).scalar_one())
            missing = total - have
            if missing <= 0:
                return 0
            log(f"seed: bulk top-up of {missing} articles in the articles database")
            for statement in _TOP_UP:
                conn.execute(
                    sa.text(statement),
                    {"missing": missing, "body": BODY, "tags": len(TAG_POOL)},
                )
    finally:
        engine.dispose()
    settle(database_url)
    return missing


def settle(database_url: str) -> None:
    """VACUUM (ANALYZE) a freshly loaded database, as after any bulk load.

    Statistics for the planner, and the visibility map and hint bits set now, so the
    measured reads neither fetch heap pages an index-only scan would skip nor share the
    machine with autovacuum setting them: the database a long-running service reads.
    """
    engine = sa.create_engine(psycopg2_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()


_TOP_UP = [
    # Interleaved with the newest API articles, so the first pages show bulk rows too.
    """
    INSERT INTO articles (id, slug, title, description, body, author_id, favorites_count,
                          created_at, updated_at)
    SELECT md5('bulk' || i || clock_timestamp())::uuid, 'bulk-' || i || '-' || md5(random()::text),
           'Bulk article ' || i, 'What bulk article ' || i || ' is about', :body,
           authors.ids[1 + mod(i, cardinality(authors.ids))], 0,
           now() - i * interval '50 milliseconds', now() - i * interval '50 milliseconds'
    FROM generate_series(1, :missing) AS i,
         (SELECT array_agg(id ORDER BY id) AS ids FROM profiles) AS authors
    """,
    """
    INSERT INTO article_tags (article_id, tag)
    SELECT a.id, 'tag' || mod(abs(hashtext(a.id::text)) + k, :tags)
    FROM articles a, generate_series(0, 1) AS k
    WHERE a.slug LIKE 'bulk-%'
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO tags (name, articles_count)
    SELECT tag, count(*) FROM article_tags GROUP BY tag
    ON CONFLICT (name) DO UPDATE SET articles_count = excluded.articles_count
    """,
    "UPDATE counters SET value = (SELECT count(*) FROM articles) WHERE name = 'articles'",
]

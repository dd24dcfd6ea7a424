"""A bounded mixed load through the gateway: reads, writes and article views, from a few threads.

Every request is recorded with the phase it started in, so a scenario can say how many failed
before, during and after its fault. The client never retries: a failure it sees is a failure a
user would have seen, and a write it does not send twice cannot be written twice by it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

# (kind, weight): what a reader and a writer of a news site mostly do.
MIX: tuple[tuple[str, int], ...] = (
    ("list", 20),
    ("view", 30),
    ("counts", 10),
    ("tags", 5),
    ("profile", 5),
    ("publish", 15),
    ("comment", 5),
    ("bio", 10),
)
# Kinds that need the users service, for the users-down scenario's split.
NEEDS_USERS = frozenset({"profile", "bio"})
WRITES = frozenset({"publish", "comment", "bio"})


@dataclass(frozen=True)
class Account:
    """A writer of the load: name and token."""

    username: str
    token: str


@dataclass(frozen=True)
class Outcome:
    """One request of the load as the client saw it."""

    kind: str
    phase: str
    started: float
    finished: float
    status: int  # 0: no HTTP answer at all (connection refused, reset, timeout)
    ok: bool
    json_body: bool
    # For a failure: its request id and the start of its body, to find it in the logs.
    detail: str = ""

    @property
    def latency(self) -> float:
        """Return how long the request took, in seconds."""
        return self.finished - self.started


@dataclass
class Ledger:
    """What the load did: every outcome, and the writes the platform acknowledged."""

    outcomes: list[Outcome] = field(default_factory=list)
    # title of each article a 201 acknowledged
    published: set[str] = field(default_factory=set)
    # bio of each profile update a 200 acknowledged
    bios: set[str] = field(default_factory=set)
    # views the gateway answered 200 for, per slug
    views_served: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        """Record one request."""
        with self.lock:
            self.outcomes.append(outcome)


class Client:
    """JSON requests to the gateway, as a RealWorld front end sends them."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        self.last_detail = ""

    def send(
        self, method: str, path: str, *, token: str | None = None, body: Any = None
    ) -> tuple[int, Any, bool]:
        """Send one request; return (status, parsed JSON or None, whether it was JSON)."""
        headers = {"Authorization": f"Token {token}"} if token else {}
        try:
            response = self.session.request(
                method, self.base_url + path, headers=headers, json=body, timeout=self.timeout
            )
        except requests.RequestException as error:
            self.last_detail = f"{method} {path}: {type(error).__name__}"
            return 0, None, False
        self.last_detail = (
            f"{method} {path} {response.headers.get('X-Request-ID', '')}: {response.text[:120]}"
        )
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        try:
            parsed = response.json() if is_json else None
        except ValueError:
            parsed, is_json = None, False
        return response.status_code, parsed, is_json

    def register(self, prefix: str) -> Account:
        """Register a new writer; raise if the platform refuses."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        body = {
            "user": {"username": name, "email": f"{name}@example.com", "password": "pw " + name}
        }
        status, answer, _ = self.send("POST", "/api/users", body=body)
        if status != 201:
            raise RuntimeError(f"registering {name}: {status} {answer}")
        return Account(username=name, token=answer["user"]["token"])

    def publish(self, account: Account, title: str) -> tuple[int, str | None]:
        """Publish an article; return the status and its slug when created."""
        body = {
            "article": {
                "title": title,
                "description": "chaos",
                "body": "written under fire",
                "tagList": ["chaos"],
            }
        }
        status, answer, _ = self.send("POST", "/api/articles", token=account.token, body=body)
        return status, answer["article"]["slug"] if status == 201 else None


class Load:
    """Threads sending the mix at a bounded total rate until stopped."""

    def __init__(
        self,
        base_url: str,
        *,
        writers: Sequence[Account],
        targets: Sequence[str],
        threads: int = 6,
        rate: float = 30.0,
        seed: int = 9,
    ) -> None:
        self.base_url = base_url
        self.writers = list(writers)
        self.targets = list(targets)
        self.threads = threads
        # Each thread waits so that all of them together stay near `rate` requests a second.
        self.interval = threads / rate
        self.ledger = Ledger()
        self.phase = "before"
        self.seed = seed
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads."""
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        """Stop the threads once their request in flight is answered."""
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def _run(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        client = Client(self.base_url)
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        next_at = time.monotonic() + rng.random() * self.interval
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            next_at = max(next_at + self.interval, time.monotonic())
            kind = rng.choices(kinds, weights)[0]
            self._one(client, kind, rng)

    def _one(self, client: Client, kind: str, rng: random.Random) -> None:
        phase = self.phase
        writer = rng.choice(self.writers)
        slug = rng.choice(self.targets)
        started = time.monotonic()
        expected = {200}
        title = bio = None
        if kind == "list":
            status, _, is_json = client.send("GET", "/api/articles?limit=10")
        elif kind == "view":
            status, _, is_json = client.send("GET", f"/api/articles/{slug}")
        elif kind == "counts":
            status, _, is_json = client.send("GET", f"/api/articles/{slug}/views")
        elif kind == "tags":
            status, _, is_json = client.send("GET", "/api/tags")
        elif kind == "profile":
            status, _, is_json = client.send("GET", f"/api/profiles/{writer.username}")
        elif kind == "publish":
            title = f"chaos {uuid.uuid4().hex}"
            status, _ = client.publish(writer, title)
            is_json, expected = True, {201}
        elif kind == "comment":
            body = {"comment": {"body": "still here"}}
            status, _, is_json = client.send(
                "POST", f"/api/articles/{slug}/comments", token=writer.token, body=body
            )
            expected = {200, 201}
        else:  # bio
            bio = f"bio {uuid.uuid4().hex}"
            body = {"user": {"bio": bio}}
            status, _, is_json = client.send("PUT", "/api/user", token=writer.token, body=body)
        finished = time.monotonic()
        ok = status in expected
        detail = "" if ok else client.last_detail
        self.ledger.add(Outcome(kind, phase, started, finished, status, ok, is_json, detail))
        if not ok:
            return
        with self.ledger.lock:
            if title is not None:
                self.ledger.published.add(title)
            if bio is not None:
                self.ledger.bios.add(bio)
            if kind == "view":
                self.ledger.views_served[slug] = self.ledger.views_served.get(slug, 0) + 1

"""The rebuild recounts the topic into the counts the live consumers had, resumably."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from newsroom_views.adapters.tables import live
from newsroom_views.bootstrap import bootstrap
from newsroom_views.entrypoints.app import create_app
from newsroom_views.service_layer.rebuild import rebuild

from .conftest import Views, by_article, readyz, viewed, wait_for

pytestmark = pytest.mark.integration

HOUR = dt.timedelta(hours=1)
SLUGS = ("one", "two", "three", "four", "five")


def _idle(probes: str, group: str) -> bool:
    lag = readyz(probes).get("groups", {}).get(group, {}).get("lag")
    return bool(lag) and not any(lag.values())


def _snapshot(client: FlaskClient) -> dict[str, Any]:
    """Everything the API says about the test's articles."""
    state: dict[str, Any] = {s: client.get(f"/api/articles/{s}/views").json for s in SLUGS}
    for window in ("1h", "24h", "7d", "all"):
        state[window] = client.get(f"/api/views/popular?window={window}").json
    return state


def test_rebuild_reproduces_the_live_counts_resumes_and_is_idempotent(views: Views) -> None:
    ids = {slug: str(uuid.uuid4()) for slug in SLUGS}
    for slug, article in ids.items():
        views.publish_article(article, slug, author_id="u1")
    now = dt.datetime.now(dt.UTC)
    ages = [0 * HOUR, 2 * HOUR, 30 * HOUR, 120 * HOUR, 216 * HOUR]
    events = [
        viewed(ids[SLUGS[i % 5]], at=now - ages[(i // 5) % 5] - dt.timedelta(seconds=i))
        for i in range(1200)
    ]
    views.produce(views.settings.views_topic, events, key=by_article)
    # Replays: the same events again must not count, neither live nor in the rebuild.
    views.produce(views.settings.views_topic, events[:200], key=by_article)
    _, probes = views.start_consumer()
    group = views.settings.ingest_group
    client = create_app(views.settings).test_client()
    # The counts and the title replica are fed by different consumers: the API answers by
    # slug only once the replica has every article too.
    wait_for(
        lambda: (
            sum(views.total(a) for a in ids.values()) == 1200
            and _idle(probes, group)
            and all(client.get(f"/api/articles/{s}/views").status_code == 200 for s in SLUGS)
        ),
        what="1200 views counted live, and every slug known to the title replica",
    )
    expected = _snapshot(client)
    assert expected["one"]["views"]["total"] == 240

    # A counting bug: totals doubled, hour buckets lost.
    with views.engine.begin() as connection:
        connection.execute(live.totals.update().values(views=live.totals.c.views * 2))
        connection.execute(live.hours.delete())
    assert _snapshot(client) != expected

    services = bootstrap(views.settings, process="rebuild-test")
    interrupted = rebuild(services, stop=lambda: False, max_batches=3, batch_size=100)
    assert not interrupted.done
    resumed = rebuild(services, stop=lambda: False, batch_size=100)
    assert resumed.done
    assert resumed.run_id == interrupted.run_id
    assert _snapshot(client) == expected

    again = rebuild(services, stop=lambda: False)
    assert again.done
    assert _snapshot(client) == expected

    # Live counting goes on into the swapped-in tables.
    views.produce(views.settings.views_topic, [viewed(ids["one"])], key=by_article)
    wait_for(lambda: views.total(ids["one"]) == 241, what="a new view counted after the swap")
    with views.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.sum(live.totals.c.views))) == 1201
    services.engine.dispose()

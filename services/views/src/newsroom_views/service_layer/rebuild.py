"""`newsroom-views rebuild`: recount every view from the topic, then swap the counts in.

Use it after a counting bug or a change of buckets. While it runs, ingestion and the
API carry on with the live counts.

1. The first phase reads the topic from its beginning up to the live group's
   committed offsets (everything before them the live consumers have counted) into
   the `rebuild_*` tables, deduplicating by event id in `rebuild_seen`. Each batch's
   counts and the offsets reached commit in one transaction, so a rerun after a
   crash or Ctrl-C resumes where it stopped and counts nothing twice.
2. When it has (nearly) caught up, one transaction takes the ingestion lock alone
   (running batches finish, new ones wait), reads on to the end of the topic counting
   only events the live group has recorded as processed (those beyond, the live
   consumers will count into the new tables), copies the rebuilt counts over the
   live ones and closes the run. Nothing is ever counted by both.

The topic only holds what its retention keeps: give `articles.views.v1` a retention
covering the history the rebuild must reproduce.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsroom_common.events import CloudEvent, MalformedEvent
from newsroom_views.adapters import rebuild_store as store
from newsroom_views.adapters.locks import hold_ingest_exclusive
from newsroom_views.adapters.repositories import SqlRepositories
from newsroom_views.adapters.tables import shadow
from newsroom_views.adapters.view_log import ViewLog
from newsroom_views.bootstrap import Services
from newsroom_views.domain.consumed_events import UnreadableEvent, view_of
from newsroom_views.domain.model import View
from newsroom_views.service_layer.views import record_views

log = logging.getLogger(__name__)

# Only one rebuild at a time: it holds this session lock while it runs.
REBUILD_LOCK_KEY = 0x72656275  # "rebu"
# The swap waits for at most this many records left to read under the lock.
CATCH_UP_GAP = 5000


@dataclasses.dataclass
class RebuildReport:
    """What a rebuild run did."""

    run_id: int
    done: bool
    counted: int = 0
    records: int = 0
    note: str = ""

    def summary(self) -> str:
        """One line for the terminal."""
        state = "done: counts swapped in" if self.done else "not finished (run it again to resume)"
        extra = f"; {self.note}" if self.note else ""
        return (
            f"rebuild run {self.run_id} {state}; read {self.records} records, "
            f"counted {self.counted} views{extra}"
        )


def _views(records: Sequence[Any]) -> list[View]:
    """The views among `records`; what the live consumers dead-letter is skipped here."""
    views = []
    for record in records:
        try:
            event = CloudEvent.from_kafka(
                [(k, v) for k, v in (record.headers or []) if v is not None], record.value
            )
            view = view_of(event)
        except (MalformedEvent, UnreadableEvent):
            continue
        if view is not None:
            views.append(view)
    return views


def _count(
    connection: Connection,
    services: Services,
    records: Sequence[Any],
    *,
    only_counted_by: str | None = None,
) -> int:
    views = _views(records)
    ids = [v.event_id for v in views]
    if only_counted_by is not None:
        live = store.counted_live(connection, group=only_counted_by, event_ids=ids)
        views = [v for v in views if v.event_id in live]
    fresh = store.claim(connection, [v.event_id for v in views])
    unique: dict[str, View] = {}
    for view in views:
        if view.event_id in fresh:
            unique.setdefault(view.event_id, view)
    return record_views(
        repos=SqlRepositories(connection, counts=shadow),
        views=list(unique.values()),
        now=dt.datetime.now(dt.UTC),
        retention=services.retention,
    )


def rebuild(
    services: Services,
    *,
    stop: Callable[[], bool],
    wait_timeout_s: float = 600.0,
    max_batches: int | None = None,
    batch_size: int = 5000,
) -> RebuildReport:
    """Run (or resume) a rebuild until its counts are swapped in, stopped, or out of batches."""
    s = services.settings
    engine = services.engine
    with engine.connect() as guard:
        if not guard.scalar(sa.select(sa.func.pg_try_advisory_lock(REBUILD_LOCK_KEY))):
            raise RuntimeError("another rebuild is running")
        guard.commit()
        view_log = ViewLog(
            s.kafka_bootstrap_servers, topic=s.views_topic, live_group=s.ingest_group
        )
        try:
            return _rebuild(services, view_log, stop, wait_timeout_s, max_batches, batch_size)
        finally:
            view_log.close()
            guard.execute(sa.select(sa.func.pg_advisory_unlock(REBUILD_LOCK_KEY)))
            guard.commit()


def _rebuild(
    services: Services,
    view_log: ViewLog,
    stop: Callable[[], bool],
    wait_timeout_s: float,
    max_batches: int | None,
    batch_size: int,
) -> RebuildReport:
    engine = services.engine
    group = services.settings.ingest_group
    with engine.begin() as connection:
        run = store.current(connection)
        if run is None:
            run = store.start(connection, targets=view_log.live_positions())
            shown = {str(p): o for p, o in run.targets.items()}
            log.info("rebuild started", extra={"run": run.id, "targets": shown})
        else:
            log.info("rebuild resumed", extra={"run": run.id})
        saved = store.progress(connection, run)
    beginnings = view_log.beginnings()
    # Records before the beginning are gone (retention); nothing to read there.
    positions = {p: max(saved.get(p, 0), beginnings[p]) for p in view_log.partitions}
    report = RebuildReport(run_id=run.id, done=False)
    batches = 0
    while True:
        if stop() or (max_batches is not None and batches >= max_batches):
            return report
        if any(positions[p] < run.targets.get(p, 0) for p in positions):
            records, moved = view_log.read(positions, run.targets, max_records=batch_size)
            with engine.begin() as connection:
                report.counted += _count(connection, services, records)
                store.save_progress(connection, run, moved)
            positions = moved
            report.records += len(records)
            batches += 1
            continue
        targets = view_log.live_positions()
        if sum(max(0, targets[p] - positions[p]) for p in positions) <= CATCH_UP_GAP:
            break
        with engine.begin() as connection:
            store.set_targets(connection, run, targets)
    with engine.begin() as connection:
        # Reading and swapping under the lock may take longer than a request would.
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        connection.execute(sa.text(f"SET LOCAL lock_timeout = {int(wait_timeout_s * 1000)}"))
        hold_ingest_exclusive(connection)
        ends = view_log.ends()
        while any(positions[p] < ends[p] for p in positions):
            records, positions = view_log.read(positions, ends, max_records=batch_size)
            report.counted += _count(connection, services, records, only_counted_by=group)
            report.records += len(records)
        store.swap(connection, run)
    report.done = True
    log.info("rebuild swapped in", extra={"run": run.id, "counted": report.counted})
    return report

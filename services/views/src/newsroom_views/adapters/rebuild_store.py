"""The rebuild's state in PostgreSQL: its run, its progress and the swap into the live counts."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from newsroom_views.adapters.tables import (
    live,
    processed_events,
    rebuild_progress,
    rebuild_runs,
    rebuild_seen,
    shadow,
)

BUILDING, DONE = "building", "done"


@dataclass
class Run:
    """A rebuild in progress."""

    id: int
    targets: dict[int, int]


def current(connection: Connection) -> Run | None:
    """The rebuild in progress, if any."""
    row = connection.execute(
        sa.select(rebuild_runs.c.id, rebuild_runs.c.targets).where(
            rebuild_runs.c.status == BUILDING
        )
    ).first()
    if row is None:
        return None
    return Run(id=int(row.id), targets={int(p): int(o) for p, o in row.targets.items()})


def start(connection: Connection, *, targets: Mapping[int, int]) -> Run:
    """Begin a rebuild from empty count tables."""
    for table in (shadow.minutes, shadow.hours, shadow.totals, rebuild_seen):
        connection.execute(table.delete())
    run_id = connection.scalar(
        rebuild_runs.insert()
        .values(status=BUILDING, targets={str(p): o for p, o in targets.items()})
        .returning(rebuild_runs.c.id)
    )
    return Run(id=int(run_id or 0), targets=dict(targets))


def set_targets(connection: Connection, run: Run, targets: Mapping[int, int]) -> None:
    """Move the first phase's end further (the live group moved on)."""
    run.targets = dict(targets)
    connection.execute(
        rebuild_runs.update()
        .where(rebuild_runs.c.id == run.id)
        .values(targets={str(p): o for p, o in targets.items()})
    )


def progress(connection: Connection, run: Run) -> dict[int, int]:
    """Where the run has read up to, per partition."""
    rows = connection.execute(
        sa.select(rebuild_progress.c.partition, rebuild_progress.c.next_offset).where(
            rebuild_progress.c.run_id == run.id
        )
    )
    return {int(r.partition): int(r.next_offset) for r in rows}


def save_progress(connection: Connection, run: Run, positions: Mapping[int, int]) -> None:
    """Record how far the run has read, in the transaction that counted those records."""
    if not positions:
        return
    stmt = pg_insert(rebuild_progress).values(
        [{"run_id": run.id, "partition": p, "next_offset": o} for p, o in sorted(positions.items())]
    )
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[rebuild_progress.c.run_id, rebuild_progress.c.partition],
            set_={"next_offset": stmt.excluded.next_offset},
        )
    )


def claim(connection: Connection, event_ids: Collection[str]) -> set[str]:
    """Mark ids as counted by the rebuild; return those it had not counted yet."""
    if not event_ids:
        return set()
    stmt = (
        pg_insert(rebuild_seen)
        .values([{"event_id": i} for i in sorted(set(event_ids))])
        .on_conflict_do_nothing()
        .returning(rebuild_seen.c.event_id)
    )
    return set(connection.scalars(stmt))


def counted_live(connection: Connection, *, group: str, event_ids: Collection[str]) -> set[str]:
    """Which of these ids the live group has processed (committed) already."""
    if not event_ids:
        return set()
    query = sa.select(processed_events.c.event_id).where(
        processed_events.c.consumer == group,
        processed_events.c.event_id.in_(sorted(set(event_ids))),
    )
    return set(connection.scalars(query))


def swap(connection: Connection, run: Run) -> None:
    """Replace the live counts by the rebuilt ones and close the run."""
    for target, source in (
        (live.minutes, shadow.minutes),
        (live.hours, shadow.hours),
        (live.totals, shadow.totals),
    ):
        columns = [c.name for c in source.columns]
        # DELETE, not TRUNCATE: readers keep seeing the old counts until this commits.
        connection.execute(target.delete())
        connection.execute(target.insert().from_select(columns, sa.select(source)))
        connection.execute(source.delete())
    connection.execute(rebuild_seen.delete())
    connection.execute(rebuild_progress.delete().where(rebuild_progress.c.run_id == run.id))
    connection.execute(
        rebuild_runs.update()
        .where(rebuild_runs.c.id == run.id)
        .values(status=DONE, finished_at=sa.func.now())
    )

"""The views topic read directly (no consumer group), for the rebuild."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from newsroom_common.kafka_clients import bootstrap_list

Offsets = dict[int, int]


class ViewLog:
    """Reads the partitions of one topic between offsets the caller chooses."""

    def __init__(self, bootstrap_servers: str, *, topic: str, live_group: str) -> None:
        self._bootstrap = bootstrap_list(bootstrap_servers)
        self._live_group = live_group
        self._consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 << 20,
            reconnect_backoff_max_ms=1000,
        )
        partitions = sorted(self._consumer.partitions_for_topic(topic))
        if not partitions:
            self._consumer.close()
            raise LookupError(f"topic {topic} does not exist")
        self._tps = {p: TopicPartition(topic, p) for p in partitions}
        self._consumer.assign(list(self._tps.values()))

    @property
    def partitions(self) -> list[int]:
        """The topic's partition numbers."""
        return list(self._tps)

    def beginnings(self) -> Offsets:
        """The first offset still held in each partition."""
        found = self._consumer.beginning_offsets(list(self._tps.values()))
        return {tp.partition: int(o) for tp, o in found.items()}

    def ends(self) -> Offsets:
        """The offset the next record of each partition will get."""
        found = self._consumer.end_offsets(list(self._tps.values()))
        return {tp.partition: int(o) for tp, o in found.items()}

    def live_positions(self) -> Offsets:
        """The live group's committed offsets (its beginning where it has none yet)."""
        group = KafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=self._live_group, enable_auto_commit=False
        )
        try:
            committed = {p: group.committed(tp) for p, tp in self._tps.items()}
        finally:
            group.close(autocommit=False)
        beginnings = self.beginnings()
        return {p: beginnings[p] if o is None else int(o) for p, o in committed.items()}

    def read(
        self, positions: Mapping[int, int], bounds: Mapping[int, int], *, max_records: int = 5000
    ) -> tuple[list[Any], Offsets]:
        """Records from `positions` up to (not including) `bounds`, and the positions after them.

        Positions come from the consumer, not the records, so offsets without a record
        (transaction markers, compacted ones) are stepped over too.
        """
        wanted = {p for p in self._tps if positions[p] < bounds[p]}
        if not wanted:
            return [], dict(positions)
        for p in wanted:
            self._consumer.seek(self._tps[p], positions[p])
        self._consumer.pause(*[tp for p, tp in self._tps.items() if p not in wanted])
        self._consumer.resume(*[self._tps[p] for p in wanted])
        polled = self._consumer.poll(timeout_ms=1000, max_records=max_records)
        records = [
            r
            for batch in polled.values()
            for r in batch
            if positions[r.partition] <= r.offset < bounds[r.partition]
        ]
        moved = dict(positions)
        for p in wanted:
            moved[p] = max(positions[p], min(int(self._consumer.position(self._tps[p])), bounds[p]))
        return records, moved

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close(autocommit=False)

"""A fix for kafka-python 3.0.12: a group member that can stay without partitions for good.

`ConsumerCoordinator.join_group_async` keeps a join attempt (JoinGroup, then SyncGroup) in
flight when `poll(timeout_ms=...)` gives up waiting for it, and awaits it again on the next
poll, but only while `need_rejoin()` says so. When the rejoin was asked for because the
topic's metadata changed after the last assignment (a member that joined before its first
metadata answer, as a starting consumer does, or partitions added to a topic), `need_rejoin()`
turns False as soon as the leader's new assignment is computed, inside the attempt. If the
attempt finishes after the poll that started it gave up, nobody takes up its result: the
member stays REBALANCING with its heartbeat off and no partitions, the broker drops it after
its session timeout, and it never joins again. Found in this project's CI (the users follow
visibility test's reader, after a broker restart); reproduced by
libs/common/tests/integration/test_kafka_join_fix.py, still in kafka-python's main branch
(`kafka/coordinator/base.py`) in December 2026.

The fix: a join attempt in flight or finished counts as a rejoin still needed, and one that
finished successfully while nobody awaited it is completed (the assignment applied, the
heartbeat back on) instead of being sent again. A failed one is retried as kafka-python does.
"""

from __future__ import annotations

import functools
from typing import Any

import kafka
from kafka.coordinator.base import BaseCoordinator
from kafka.coordinator.consumer import ConsumerCoordinator
from kafka.structs import MemberState

# The version whose internals this patches; another version is left alone (and the
# regression test says whether it still needs the fix).
PATCHED_VERSION = "3.0.12"


@functools.cache
def apply() -> bool:
    """Patch kafka-python's coordinator once; True if the running version is patched."""
    if kafka.__version__ != PATCHED_VERSION:
        return False
    need_rejoin = ConsumerCoordinator.need_rejoin
    join_group_async = BaseCoordinator.join_group_async

    def need_rejoin_or_join_pending(self: Any) -> bool:
        return self._join_task is not None or need_rejoin(self)

    async def join_group_taking_up_finished_attempts(self: Any, timeout_ms: Any = None) -> Any:
        task = self._join_task
        if task is not None and task.succeeded():
            # What kafka-python does after awaiting a successful attempt itself.
            self._join_task = None
            with self._lock:
                self.rejoining = False
                self.rejoin_needed = False
                self.state = MemberState.STABLE
                self._enable_heartbeat()
            generation = self._generation
            await self._on_join_complete_async(
                generation.generation_id, generation.member_id, generation.protocol, task.value
            )
            return True
        return await join_group_async(self, timeout_ms)

    ConsumerCoordinator.need_rejoin = need_rejoin_or_join_pending
    BaseCoordinator.join_group_async = join_group_taking_up_finished_attempts
    return True

"""The stop flag of every worker: a SIGTERM always ends the wait, wherever it lands."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time

from newsroom_common.worker import StopFlag

# A worker's main thread as it spends its life: sleeping on the flag, again and again (the
# consumers' main loop and every backoff do). wait(0) makes the sleeps short, so the signals
# below land all over `wait`, including where a lock-taking handler would deadlock.
BUSY_WAITER = """
from newsroom_common.worker import StopFlag
stop = StopFlag().install()
print("waiting", flush=True)
while not stop():
    stop.wait(0)
"""


def test_sigterm_anywhere_in_a_wait_loop_stops_the_process() -> None:
    # The handler once called threading.Event.set(), which needs the lock Event.wait holds:
    # against that flag, more than half of these processes were still running after SIGTERM.
    for _ in range(8):
        with subprocess.Popen(
            [sys.executable, "-c", BUSY_WAITER], stdout=subprocess.PIPE, text=True
        ) as child:
            _stop_it(child)


def _stop_it(child: subprocess.Popen[str]) -> None:
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "waiting\n"
        time.sleep(random.uniform(0.0, 0.05))
        child.send_signal(signal.SIGTERM)
        try:
            status = child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("a busy waiter was still running 10 s after SIGTERM") from None
        assert status == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_set_wakes_every_waiting_thread_and_stays_set() -> None:
    stop = StopFlag()
    woke: list[bool] = []
    threads = [threading.Thread(target=lambda: woke.append(stop.wait(60.0))) for _ in range(3)]
    for thread in threads:
        thread.start()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), "a thread waiting on the flag did not wake when it was set"
    assert woke == [True, True, True]
    # Once set, it stays set: later waits return at once.
    started = time.monotonic()
    assert stop()
    assert stop.wait(60.0)
    assert time.monotonic() - started < 5.0


def test_wait_times_out_false_while_not_set() -> None:
    stop = StopFlag()
    assert not stop.wait(0.01)
    assert not stop()

"""Liveness answers under saturation (issue 18, item 6): a real gunicorn with the shared
configuration, every gthread slot held by slow requests, and the probe still answering from
the master's own listener, while the same /healthz on the traffic port waits in the queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom_devstack.net import LOOPBACK, free_port

BIN = Path(sys.executable).parent
WORKERS, THREADS = 1, 2
# How long each slow request holds its slot: far longer than a probe's timeout.
HOLD_SECONDS = 8.0
PROBE_TIMEOUT = 2.0  # the chart's livenessProbe timeoutSeconds

APP = """
import time


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ["QUERY_STRING"] or "0"))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok"}']
"""

CONFIG = """
import dataclasses

from newsroom_common.config import ServiceSettings, load_settings
from newsroom_common.gunicorn_config import settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProbeTestSettings(ServiceSettings):
    bind: str = "127.0.0.1:0"


globals().update(
    settings(
        service="probetest",
        wsgi_app="slow_app:app",
        load_settings=lambda: load_settings(ProbeTestSettings, prefix="PROBETEST_"),
    )
)
"""


def get(url: str, *, timeout: float) -> int:
    """The status of a GET, 0 when nothing answers within `timeout`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)
    except (urllib.error.URLError, OSError):
        return 0


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while get(url, timeout=1) != 200:
        if process.poll() is not None:
            raise Exited(process.returncode)
        assert time.monotonic() < deadline, f"{what} ({url}) did not answer within {timeout}s"
        time.sleep(0.2)


class Exited(Exception):
    """gunicorn stopped before it served."""


# free_port can only check that a port is free, not keep it: another process may bind it
# before gunicorn does. gunicorn then says so in its log and exits; only that is tried again,
# on other ports.
PORT_TAKEN = ("Address already in use", "Connection in use")


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """gunicorn with the shared configuration; its traffic and probe URLs."""
    (tmp_path / "slow_app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "probe_conf.py").write_text(textwrap.dedent(CONFIG))
    for attempt in range(3):
        port, probe_port = free_port(), free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(tmp_path),
            "PROBETEST_BIND": f"{LOOPBACK}:{port}",
            "PROBETEST_WORKERS": str(WORKERS),
            "PROBETEST_THREADS": str(THREADS),
            "PROBETEST_PROBE_PORT": str(probe_port),
            "PROBETEST_WORKER_TMP_DIR": str(tmp_path),
            # Parsed by the settings, never connected to: the app has no database.
            "PROBETEST_DATABASE_URL": "postgresql://probetest@127.0.0.1:1/probetest",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
        log = tmp_path / f"gunicorn-{attempt}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "python:probe_conf", "--no-control-socket"],
                cwd=tmp_path,
                env=env,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        traffic, probe = f"http://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{probe_port}"
        try:
            wait_for(f"{traffic}/healthz", process, "the traffic port")
            wait_for(f"{probe}/healthz", process, "the probe port")
        except Exited as exited:
            text = log.read_text(errors="replace")
            if any(reason in text for reason in PORT_TAKEN) and attempt < 2:
                continue
            pytest.fail(f"gunicorn exited ({exited}) before it served; its log:\n{text[-3000:]}")
        except BaseException:
            _stop(process)
            raise
        break
    try:
        yield traffic, probe
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_liveness_answers_while_every_request_slot_is_busy(gunicorn: tuple[str, str]) -> None:
    traffic, probe = gunicorn
    # Hold every slot (and queue a few more behind them), bounded by HOLD_SECONDS each.
    holders = [
        threading.Thread(
            target=get, args=(f"{traffic}/slow?{HOLD_SECONDS}",), kwargs={"timeout": 30}
        )
        for _ in range(WORKERS * THREADS + 2)
    ]
    for holder in holders:
        holder.start()
    try:
        time.sleep(1.0)  # the holders' requests reach the workers
        # The probe port answers at once, three times over (a liveness failureThreshold).
        for _ in range(3):
            started = time.monotonic()
            assert get(f"{probe}/healthz", timeout=PROBE_TIMEOUT) == 200
            assert time.monotonic() - started < PROBE_TIMEOUT
        # The same probe through the saturated traffic port times out: what the kubelet
        # would have seen, and why liveness is not served there.
        assert get(f"{traffic}/healthz", timeout=PROBE_TIMEOUT) == 0
    finally:
        for holder in holders:
            holder.join(timeout=60)
    assert not any(holder.is_alive() for holder in holders)


def test_the_probe_port_serves_only_liveness(gunicorn: tuple[str, str]) -> None:
    _, probe = gunicorn
    assert get(f"{probe}/healthz", timeout=PROBE_TIMEOUT) == 200
    assert get(f"{probe}/readyz", timeout=PROBE_TIMEOUT) == 404
    assert get(f"{probe}/metrics", timeout=PROBE_TIMEOUT) == 404

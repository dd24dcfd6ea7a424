"""pytest fixtures for the real stack: `postgres`, `kafka` and `stack`, started only when asked for.

Registered by the repository's conftest.py. Everything runs on free loopback ports in
var/test-<pid>/ and is stopped at the end of the session; the folder is removed when every test
passed and kept (with the processes' logs) otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom_devstack.gateway import UNLIMITED
from newsroom_devstack.kafka import Broker, KafkaBroker, kafka_from_env
from newsroom_devstack.paths import cache_dir, var_dir
from newsroom_devstack.postgres import Databases, PostgresCluster, postgres_from_env
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import STATE_FILE, StartupError, Supervisor, stop_recorded

_RUN_DIR = re.compile(r"^test-(\d+)$")
_KEPT: list[Path] = []


@pytest.fixture(scope="session")
def devstack_supervisor(request: pytest.FixtureRequest) -> Iterator[Supervisor]:
    """The session's supervisor: every process it starts is stopped when the session ends."""
    _remove_stale_runs(var_dir())
    run_dir = var_dir() / f"test-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(run_dir)
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
        if request.session.testsfailed:
            _KEPT.append(run_dir)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(devstack_supervisor: Supervisor) -> Iterator[Databases]:
    """PostgreSQL with one database and role per service; `.database_url(service)`."""
    with _clear_failure("PostgreSQL"):
        databases = postgres_from_env(devstack_supervisor.run_dir, supervisor=devstack_supervisor)
        databases.start()
    yield databases
    cluster = databases if isinstance(databases, PostgresCluster) else databases.local
    if cluster is not None:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka(devstack_supervisor: Supervisor) -> Iterator[Broker]:
    """A Kafka broker: `.bootstrap_servers`, `.create_topics()`, stop/kill/start/pause/resume."""
    run_dir = devstack_supervisor.run_dir
    broker = kafka_from_env(run_dir, cache_dir(), supervisor=devstack_supervisor)
    with _clear_failure("Kafka"):
        broker.start()
    yield broker
    if isinstance(broker, KafkaBroker):
        broker.stop()


@pytest.fixture(scope="session")
def stack(devstack_supervisor: Supervisor, postgres: Databases, kafka: Broker) -> Iterator[Stack]:
    """The platform: every installed service's migrations, API and workers, and the gateway."""
    platform = Stack(
        devstack_supervisor.run_dir,
        cache_dir(),
        supervisor=devstack_supervisor,
        # The services' tests read their own writes anonymously through this gateway, which
        # a shared cache would answer from before the write; the cache is tested on gateways
        # of its own (gateway/tests, tests/e2e). Nor does it limit rates (see UNLIMITED): on
        # an idle machine the suite reached 360 requests a second and met 429s.
        options=StackOptions(gateway=dataclasses.replace(UNLIMITED, cache=False)),
        postgres=postgres,
        kafka=kafka,
    )
    with _clear_failure("the stack"):
        platform.start()
    yield platform
    platform.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Point at the logs of a failed session's processes."""
    for run_dir in _KEPT:
        terminalreporter.write_line(f"devstack: processes' logs kept in {run_dir / 'logs'}")


@contextlib.contextmanager
def _clear_failure(what: str) -> Iterator[None]:
    """Turn a StartupError into a test failure that shows its message, not a traceback."""
    try:
        yield
    except (StartupError, LookupError) as error:
        pytest.fail(f"devstack: could not start {what}: {error}", pytrace=False)


def _remove_stale_runs(root: Path) -> None:
    """Remove the folders (and stop the processes) of sessions that died without cleaning up."""
    if not root.is_dir():
        return
    for run_dir in root.iterdir():
        match = _RUN_DIR.match(run_dir.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        stop_recorded(run_dir / STATE_FILE, log=lambda _message: None)
        shutil.rmtree(run_dir, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()

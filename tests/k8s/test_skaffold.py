"""skaffold on the local cluster: the README's "Develop one service" commands, run as written.

`skaffold dev -m articles` runs in the background; once the gateway answers through
skaffold's port-forward the test edits articles' Python code (file sync + gunicorn reload)
and its pyproject.toml (a rebuild), and measures how long each edit takes to reach a request
through the gateway. The figures are printed (`-s` shows them), never asserted as timings:
the targets (sync <= 5 s, median of 3; rebuild <= 90 s warm) are read off the printout.
Edited files are restored whatever happens.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from newsroom_devstack.cluster import Cluster

from .conftest import record, wait_for

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = REPO / "var" / "log"
README = REPO / "README.md"
# Where a request through the gateway shows articles' code: the error of an unknown slug.
NOT_FOUND_SOURCE = (
    REPO / "services" / "articles" / "src" / "newsroom_articles" / "service_layer" / "articles.py"
)
NOT_FOUND = 'raise NotFound("article not found")'
PYPROJECT = REPO / "services" / "articles" / "pyproject.toml"
# Objects of the dev modules, by the labels their charts and k8s/dev give them.
DEV_RELEASES = ("newsroom-users", "newsroom-articles", "newsroom-views", "newsroom-gateway")


def readme_commands() -> list[str]:
    """The shell lines of the README's "Develop one service" block, in order."""
    text = README.read_text()
    section = text[text.index("### Develop one service") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README: no ```sh block under 'Develop one service'"
    return [line for line in block.group(1).splitlines() if line.strip()]


@dataclass(frozen=True)
class Commands:
    """The README block split into what the test runs: setup, env, then the skaffold lines."""

    setup: list[str]
    env: dict[str, str]
    dev: list[str]
    delete_dev: list[str]
    run_all: list[str]
    delete_all: list[str]


@pytest.fixture(scope="module")
def commands() -> Commands:
    lines = readme_commands()
    setup = [line for line in lines if line.startswith("make ")]
    (export,) = [line for line in lines if line.startswith("export ")]
    skaffold = [shlex.split(line) for line in lines if line.startswith("skaffold ")]
    # The export line, expanded as a shell in the repository would ($PWD, $PATH).
    expanded = subprocess.run(
        ["sh", "-c", f"{export} && env -0"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in expanded.split("\0") if "=" in item)
    dev, delete_dev, run_all, delete_all = skaffold
    assert dev[:4] == ["skaffold", "dev", "-m", "articles"]
    assert delete_dev[:4] == ["skaffold", "delete", "-m", "articles"]
    assert run_all[:4] == ["skaffold", "run", "-m", "all"]
    assert delete_all[:4] == ["skaffold", "delete", "-m", "all"]
    return Commands(setup, env, dev, delete_dev, run_all, delete_all)


def kubectl(env: dict[str, str], *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["kubectl", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def get(url: str) -> tuple[int, str]:
    """Status and body of GET url; (0, reason) when nothing answers."""
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException as error:
        return 0, str(error)
    return response.status_code, response.text


def leftovers(env: dict[str, str]) -> list[str]:
    """What the dev modules deployed that is still in the namespace (PVCs aside)."""
    names = kubectl(
        env,
        "get",
        "deployments,statefulsets,services,jobs,configmaps,secrets",
        "-o",
        "name",
    ).split()
    releases = tuple(f"/{r}" for r in DEV_RELEASES)
    return [
        n
        for n in names
        if any(r in n for r in releases)
        or n in ("statefulset.apps/postgres", "statefulset.apps/kafka", "service/postgres")
        or n.startswith("secret/sh.helm.release")
    ]


def delete_volumes(env: dict[str, str]) -> None:
    """The dev PostgreSQL and Kafka volumes outlive skaffold delete (by design): drop them."""
    kubectl(env, "delete", "pvc", "data-postgres-0", "data-kafka-0", "--ignore-not-found")


class Skaffold:
    """`skaffold dev` in the background, its output in a log file the test reads."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def gateway_url(self) -> str | None:
        found = re.search(
            r"Port forwarding service/newsroom-gateway .*?-> http://(127\.0\.0\.1:\d+)",
            self.output(),
        )
        if self.process.poll() is not None:
            raise AssertionError(
                f"skaffold dev exited ({self.process.returncode}):\n" + self.output()[-4000:]
            )
        return f"http://{found.group(1)}" if found else None

    def interrupt(self, timeout: float) -> int:
        """Ctrl-C, as a developer stops it; its exit status once it has cleaned up."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._out.close()


@pytest.fixture(scope="module")
def env(commands: Commands, cluster: Cluster) -> dict[str, str]:
    """The README's environment, after its setup commands (make skaffold images ...) ran."""
    for line in commands.setup:
        subprocess.run(["sh", "-c", line], cwd=REPO, check=True, timeout=1800)
    return commands.env


@pytest.fixture
def restored_sources() -> Iterator[None]:
    originals = {path: path.read_bytes() for path in (NOT_FOUND_SOURCE, PYPROJECT)}
    try:
        yield
    finally:
        for path, content in originals.items():
            path.write_bytes(content)


def shows(url: str, text: str) -> Callable[[], bool]:
    """A check that GETs url-<n> (a new n each call) and looks for text in the answer."""
    count = iter(range(10**9))
    return lambda: text in get(f"{url}-{next(count)}")[1]


def image_builds(output: str) -> list[str]:
    """The images skaffold built, from its "Building [image]..." lines."""
    return re.findall(r"Building \[([^\]]+)\]\.\.\.", output)


def articles_image(env: dict[str, str]) -> str:
    return kubectl(
        env,
        "get",
        "deployment/newsroom-articles",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )


@pytest.mark.timeout(2400)
def test_dev_articles_syncs_rebuilds_only_articles_and_cleans_up(
    commands: Commands, env: dict[str, str], restored_sources: None
) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    dev = Skaffold(commands.dev, env, LOG_DIR / "skaffold-dev-articles.log")
    figures: dict[str, Any] = {}
    try:
        gateway = wait_for("skaffold to port-forward the gateway", dev.gateway_url, 900, 1)
        probe = f"{gateway}/api/articles/no-such-article"
        wait_for(
            f"the gateway ({gateway}) to answer for articles",
            lambda: get(probe)[0] == 404,
            300,
            0.5,
        )
        figures["first run, until the gateway answers (s)"] = round(time.monotonic() - started)
        # skaffold snapshots the files it watches after deploying: an edit made before that
        # is part of the snapshot and never synced.
        # "Watching for changes...", or with the polling trigger "... every 1s...".
        wait_for(
            "skaffold to watch articles' files",
            lambda: re.search(r"Watching for changes( every \S+)?\.\.\.", dev.output()),
            300,
            0.5,
        )
        # articles alone, built now or found in the registry from an earlier run.
        assert set(image_builds(dev.output())) <= {"newsroom/articles"}, dev.output()[-4000:]
        assert "newsroom/users" not in dev.output().split("Starting deploy...")[0]

        # File sync: a changed error message reaches the client, three times.
        source = NOT_FOUND_SOURCE.read_text()
        assert NOT_FOUND in source
        syncs = []
        for attempt in range(3):
            marker = f"article not found (edit {attempt} {time.time_ns()})"
            edited = source.replace(NOT_FOUND, f'raise NotFound("{marker}")')
            t0 = time.monotonic()
            NOT_FOUND_SOURCE.write_text(edited)
            # A new slug per request: nothing on the way can answer from a cache.
            wait_for(
                f"a request through the gateway to show {marker!r}",
                shows(probe, marker),
                120,
            )
            syncs.append(time.monotonic() - t0)
        NOT_FOUND_SOURCE.write_text(source)
        figures["file sync to a served change, each (s)"] = [round(s, 2) for s in syncs]
        figures["file sync to a served change, median (s)"] = round(statistics.median(syncs), 2)

        # A rebuild: pyproject.toml is not synced, so articles' image is built and deployed again.
        before = articles_image(env)
        t0 = time.monotonic()
        PYPROJECT.write_text(PYPROJECT.read_text() + "\n# skaffold rebuild test\n")
        wait_for(
            "the articles deployment to run a newly built image",
            lambda: articles_image(env) not in ("", before),
            600,
            1,
        )
        kubectl(env, "rollout", "status", "deployment/newsroom-articles", "--timeout=300s")
        wait_for("the new articles pod to serve", lambda: get(probe)[0] == 404, 120)
        figures["pyproject.toml edit to a new pod serving (s)"] = round(time.monotonic() - t0, 1)

        builds = image_builds(dev.output())
        assert builds[-1:] == ["newsroom/articles"], builds
        assert set(builds) == {"newsroom/articles"}, builds
        users_image = kubectl(
            env,
            "get",
            "deployment/newsroom-users",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        )
        assert users_image.startswith("127.0.0.1:5000/newsroom/users:"), users_image

        t0 = time.monotonic()
        status = dev.interrupt(timeout=300)
        figures["Ctrl-C until skaffold has cleaned up (s)"] = round(time.monotonic() - t0, 1)
        # skaffold treats Ctrl-C as the end of the session, not an error: exit status 0.
        assert status == 0, dev.output()[-4000:]
        assert "Cleaning up..." in dev.output()
        wait_for("what skaffold dev deployed to be gone", lambda: leftovers(env) == [], 120, 1)
        # Nothing is left for `skaffold delete -m articles` to do, and it says so by succeeding.
        subprocess.run(commands.delete_dev, cwd=REPO, env=env, check=True, timeout=300)
    finally:
        dev.kill()
        subprocess.run(commands.delete_dev, cwd=REPO, env=env, timeout=300)
        delete_volumes(env)
        print("\nskaffold dev -m articles on the local cluster:")
        for name, value in figures.items():
            print(f"  {name}: {value}")
            record(f"skaffold dev: {name}", str(value))


@pytest.mark.timeout(2400)
def test_run_all_then_delete(commands: Commands, env: dict[str, str]) -> None:
    try:
        t0 = time.monotonic()
        subprocess.run(commands.run_all, cwd=REPO, env=env, check=True, timeout=1800)
        took = time.monotonic() - t0
        deployments = kubectl(env, "get", "deployments", "-o", "name").split()
        for release in DEV_RELEASES:
            assert f"deployment.apps/{release}" in deployments, deployments
        for release in DEV_RELEASES:
            kubectl(env, "rollout", "status", f"deployment/{release}", "--timeout=300s")
        subprocess.run(commands.delete_all, cwd=REPO, env=env, check=True, timeout=600)
        wait_for("skaffold delete -m all to leave nothing", lambda: leftovers(env) == [], 120, 1)
        print(f"\nskaffold run -m all: {took:.0f} s")
        record("skaffold run -m all (s)", f"{took:.0f}")
    finally:
        subprocess.run(commands.delete_all, cwd=REPO, env=env, timeout=600)
        delete_volumes(env)

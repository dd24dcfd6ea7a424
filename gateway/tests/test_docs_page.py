"""The docs page at /api/docs renders the OpenAPI document in a real browser (headless Chromium),
from the gateway alone: no CDN, no other network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom_devstack.gateway import Gateway, openapi_path
from newsroom_devstack.net import free_port
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import Supervisor

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Swagger UI fetches the document and renders after load: let the page's clock run.
    "--virtual-time-budget=20000",
]


def chromium() -> str:
    """Debian's chromium, installed on first use when we may (CI runs as root)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=600)
    found = shutil.which("chromium")
    assert found, "apt-get installed no chromium"
    return found


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # The page needs no service: nothing listens behind this gateway.
    root = tmp_path_factory.mktemp("docs-gateway")
    gateway = Gateway(
        root,
        upstreams={name: [f"127.0.0.1:{free_port()}"] for name in SERVICE_NAMES},
        supervisor=Supervisor(root),
    )
    gateway.start()
    yield gateway
    gateway.stop()


def test_the_docs_page_renders_every_operation_in_chromium(
    gateway: Gateway, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"{gateway.url}/api/docs",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    document = json.loads(openapi_path().read_text())
    assert f">{document['info']['title']}" in dom
    # Swagger UI gives each operation an element id "operations-<tag>-<operationId>" and shows
    # its method and path.
    rendered = set(re.findall(r'id="operations-([^"-]+)-([A-Za-z]+)"', dom))
    expected = {
        (operation["tags"][0].replace(" ", "_"), operation["operationId"])
        for item in document["paths"].values()
        for operation in item.values()
    }
    assert expected
    assert rendered >= expected
    for path in document["paths"]:
        assert f'data-path="{path}"' in dom, path
    assert "Failed to load API definition" not in dom

"""`make images` on bad input, and the gateway image's entrypoint, without building anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newsroom_devstack.paths import repo_root

REPO = repo_root()
ENTRYPOINT = REPO / "gateway" / "entrypoint.sh"
NEWSROOM_IMAGES = Path(sys.executable).parent / "newsroom-images"


def test_a_missing_tool_is_named_with_how_to_install_it(tmp_path: Path) -> None:
    # A PATH with nothing on it: buildah, runc, mmdebstrap all missing.
    result = subprocess.run(
        [str(NEWSROOM_IMAGES), "build", "--no-install"],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "newsroom-images: missing tools: buildah, runc" in result.stderr
    assert "apt-get install buildah runc" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_image_is_named() -> None:
    result = subprocess.run(
        [str(NEWSROOM_IMAGES), "build", "--no-install", "userz"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "unknown image userz (known: base, base-nginx, users" in result.stderr


def _render(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    output = tmp_path / "nginx.conf"
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "cat", str(output)],
        env={
            "PATH": os.environ["PATH"],
            "GATEWAY_TEMPLATE": str(REPO / "gateway" / "nginx.conf.template"),
            "GATEWAY_CONFIG": str(output),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _placeholders() -> dict[str, str]:
    names = subprocess.run(
        ["grep", "-o", r"\${[A-Z][A-Z0-9_]*}", str(REPO / "gateway" / "nginx.conf.template")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {name.strip("${}"): f"value-of-{name.strip('${}')}" for name in names}


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
def test_gateway_entrypoint_renders_only_the_template_placeholders(tmp_path: Path) -> None:
    values = _placeholders()
    # A variable that shares its name with an nginx variable must not leak into the config.
    result = _render(tmp_path, {**values, "host": "leaked"})
    assert result.returncode == 0, result.stderr
    rendered = result.stdout
    for value in values.values():
        assert value in rendered
    assert "${" not in rendered.replace("$${", "")
    # nginx's own variables are left for nginx.
    assert "$host" in rendered
    assert "leaked" not in rendered


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
def test_gateway_entrypoint_stops_on_a_missing_placeholder(tmp_path: Path) -> None:
    values = _placeholders()
    del values["VIEWS_UPSTREAM_SERVERS"], values["GATEWAY_CACHE"]
    result = _render(tmp_path, values)
    assert result.returncode == 1
    assert "gateway: no value for: GATEWAY_CACHE VIEWS_UPSTREAM_SERVERS" in result.stderr
    assert not (tmp_path / "nginx.conf").exists()


def test_the_local_overlay_swaps_only_the_infrastructure_images() -> None:
    """k8s/dev/local: the dev manifests on images built here; k8s/dev keeps upstream ones."""
    overlay = yaml.safe_load((REPO / "k8s" / "dev" / "local" / "kustomization.yaml").read_text())
    assert overlay["resources"] == ["../secrets.yaml", "../postgres.yaml", "../kafka.yaml"]
    upstream: dict[str, str] = {}
    for name in ("postgres", "kafka"):
        for document in yaml.safe_load_all((REPO / "k8s" / "dev" / f"{name}.yaml").read_text()):
            if document["kind"] == "StatefulSet":
                (container,) = document["spec"]["template"]["spec"]["containers"]
                upstream[name] = container["image"].split(":")[0]
    assert upstream == {"postgres": "postgres", "kafka": "apache/kafka"}
    swaps = {i["name"]: i["newName"] for i in overlay["images"]}
    assert swaps == {
        "postgres": "127.0.0.1:5000/newsroom/postgres",
        "apache/kafka": "127.0.0.1:5000/newsroom/kafka",
    }
    assert all(i["newTag"] == "latest" for i in overlay["images"])

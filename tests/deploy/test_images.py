"""The Dockerfiles: hadolint-clean, multi-stage, pinned, non-root, and alike."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from deploy_support import REPO, SERVICES, hadolint

DOCKERFILES = [REPO / "services" / s / "Dockerfile" for s in SERVICES] + [
    REPO / "gateway" / "Dockerfile"
]
PORTS = {"users": 8001, "articles": 8002, "views": 8003}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [str(hadolint()), "--config", str(REPO / ".hadolint.yaml"), str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_multi_stage_pinned_and_non_root(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    assert len(froms) >= 3, "a pinned base, a build (or verify) stage and the final stage"
    external = [image for image, _ in froms if image != "base" and ":" in image]
    assert len(external) == 1, "one pinned base image, which every stage starts from"
    assert re.fullmatch(r"[a-z]+:\d+\.\d+\.\d+[-a-z]*(@sha256:[0-9a-f]{64})?", external[0])
    final = text[text.rindex("\nFROM ") :]
    assert "USER 10001:10001" in final
    assert "CMD [" in final


@pytest.mark.parametrize("service", SERVICES)
def test_service_images_are_one_dockerfile_with_two_names(service: str) -> None:
    users = (REPO / "services" / "users" / "Dockerfile").read_text()
    text = (REPO / "services" / service / "Dockerfile").read_text()
    assert text == users.replace("users", service).replace(str(PORTS["users"]), str(PORTS[service]))
    assert "--python 3" not in text
    assert "python:3.11." in text
    # No build tools or dev dependencies in the final stage: it only copies the venv.
    final = text[text.rindex("\nFROM ") :]
    assert "uv sync" not in final
    assert "pip install" not in final
    assert "--no-dev" in text
    assert f"--package newsroom-{service}" in text
    assert f'CMD ["gunicorn", "-c", "python:newsroom_{service}.entrypoints.gunicorn_conf"]' in text


def test_gateway_image_runs_the_shared_template() -> None:
    text = (REPO / "gateway" / "Dockerfile").read_text()
    assert "COPY gateway/nginx.conf.template /etc/nginx/templates/nginx.conf.template" in text
    assert "nginx -t -c /tmp/nginx.conf" in text
    assert 'CMD ["nginx", "-c", "/tmp/nginx.conf"' in text
    assert "NGINX_ENVSUBST_OUTPUT_DIR=/tmp" in text


def test_build_context_holds_what_the_images_copy() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "**" in ignore, "the context is an allow-list"
    for dockerfile in DOCKERFILES:
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile.read_text(), re.M):
            for source in line.split()[:-1]:
                root = source.rstrip("/")
                # Allowed itself, inside an allowed folder, or a folder allowed in part.
                assert any(
                    root == a or root.startswith(a + "/") or a.startswith(root + "/")
                    for a in allowed
                ), f"{dockerfile.relative_to(REPO)} copies {root}, which .dockerignore leaves out"
                assert (REPO / root).exists(), f"{root} does not exist"

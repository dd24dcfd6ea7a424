"""The Dockerfiles: hadolint-clean, multi-stage, pinned by default, non-root, one per kind."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from deploy_support import REPO, SERVICES, hadolint

from newsroom_devstack import images

SERVICE_DOCKERFILE = REPO / "services" / "Dockerfile"
GATEWAY_DOCKERFILE = REPO / "gateway" / "Dockerfile"
INFRA_DOCKERFILES = [
    REPO / "images" / "postgres" / "Dockerfile",
    REPO / "images" / "kafka" / "Dockerfile",
]
DOCKERFILES = [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE, *INFRA_DOCKERFILES]
PORTS = {"users": 8001, "articles": 8002, "views": 8003}


def _default_base(text: str) -> str:
    default: str
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    return default


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
def test_base_is_an_argument_whose_default_is_a_pinned_official_image(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    default = _default_base(text)
    assert re.fullmatch(r"[a-z]+:\d+\.\d+\.\d+[-a-z]*(@sha256:[0-9a-f]{64})?", default)
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    # Every stage starts from the base (directly or through the stage called base).
    assert {image for image, _ in froms} <= {"${BASE_IMAGE}", "base"}
    final = text[text.rindex("\nFROM ") :]
    assert "USER 10001:10001" in final
    assert "CMD [" in final or "ENTRYPOINT [" in final


@pytest.mark.parametrize("dockerfile", [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE])
def test_app_images_are_multi_stage(dockerfile: Path) -> None:
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", dockerfile.read_text(), re.M)
    assert len(froms) >= 3, "the base, a build (or verify) stage and the final stage"


def test_one_service_dockerfile_for_the_three_services() -> None:
    text = SERVICE_DOCKERFILE.read_text()
    for service in SERVICES:
        assert not (REPO / "services" / service / "Dockerfile").exists()
        # Each service's folder points at the shared file.
        readme = (REPO / "services" / service / "README.md").read_text()
        assert "services/Dockerfile" in readme
        assert f"SERVICE={service}" in readme
        assert f"PORT={PORTS[service]}" in readme
    assert "python:3.11." in _default_base(text)
    assert "--python 3" not in text
    # No build tools or dev dependencies in the final stage: it only copies the venv.
    final = text[text.rindex("\nFROM ") :]
    assert "uv sync" not in final
    assert "pip install" not in final
    assert "--no-dev" in text
    assert '--package "newsroom-${SERVICE}"' in text
    assert "python:newsroom_${NEWSROOM_SERVICE}.entrypoints.gunicorn_conf" in final
    assert "NEWSROOM_SERVICE=${SERVICE}" in final


def test_make_images_builds_each_service_with_its_name_and_port() -> None:
    built = {i.name: i for i in images.IMAGES}
    for service in SERVICES:
        image = built[service]
        assert image.dockerfile == "services/Dockerfile"
        assert image.build_args == {"SERVICE": service, "PORT": str(PORTS[service])}
    assert built["gateway"].base == "base-nginx"


def test_gateway_image_renders_the_shared_template_with_its_own_entrypoint() -> None:
    text = GATEWAY_DOCKERFILE.read_text()
    # The main template and the stub_status server's (gateway metrics).
    templates = "gateway/nginx.conf.template gateway/status.conf.template"
    assert f"COPY {templates} /etc/nginx/templates/" in text
    assert "COPY gateway/entrypoint.sh /usr/local/bin/newsroom-gateway-entrypoint" in text
    # The build renders the template with the image's own entrypoint and checks it.
    assert "RUN newsroom-gateway-entrypoint nginx -t -p /etc/nginx/ -c /tmp/nginx.conf" in text
    assert 'ENTRYPOINT ["newsroom-gateway-entrypoint"]' in text
    assert 'CMD ["nginx", "-p", "/etc/nginx/", "-c", "/tmp/nginx.conf"' in text
    assert "STOPSIGNAL SIGQUIT" in text


def test_build_context_holds_what_the_images_copy() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "**" in ignore, "the context is an allow-list"
    for dockerfile in [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE]:
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile.read_text(), re.M):
            for source in line.split()[:-1]:
                root = source.rstrip("/")
                # Allowed itself, inside an allowed folder, or a folder allowed in part.
                assert any(
                    root == a or root.startswith(a + "/") or a.startswith(root + "/")
                    for a in allowed
                ), f"{dockerfile.relative_to(REPO)} copies {root}, which .dockerignore leaves out"
                assert (REPO / root).exists(), f"{root} does not exist"


def test_image_digests_cover_what_the_dockerfiles_copy() -> None:
    """An input left out of an image's digest would let `make images` reuse a stale image."""
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for image in images.IMAGES:
        if image.context != ".":
            continue
        text = (REPO / image.dockerfile).read_text()
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
            for source in line.split()[:-1]:
                root = source.rstrip("/")
                # What of it reaches the context: the allowed paths under it, or itself.
                copied = [a for a in allowed if a.startswith(root + "/")] or [root]
                for path in copied:
                    assert any(path == i or path.startswith(i + "/") for i in image.inputs), (
                        f"{image.name}: {path} is copied but not in its inputs"
                    )

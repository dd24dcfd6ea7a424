"""The cluster's own images, FROM scratch: pause (the pod sandbox), CoreDNS, metrics-server and
KEDA's three (operator, metrics API server, admission webhooks).

No outside registry is reachable, so each is one static binary built here, packed by the
images' FROM-scratch builder (newsroom_devstack.containers) and pushed to the local registry on
127.0.0.1:5000, where our containerd pulls them like any other image.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from newsroom_devstack import containers

REGISTRY = "127.0.0.1:5000"
PAUSE_VERSION = "3.10.1"  # the tag k8s.io/kubernetes v1.34's build/pause/Makefile gives it
_KUBERNETES_MODULE = "k8s.io/kubernetes@v1.34.4"
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


class ImageError(RuntimeError):
    """An image could not be built or pushed: the message names it and the failing command."""


def pause_image() -> str:
    """The sandbox image containerd's config names."""
    return f"{REGISTRY}/newsroom/pause:{PAUSE_VERSION}"


def coredns_image(version: str) -> str:
    """The CoreDNS image the cluster DNS Deployment runs."""
    return f"{REGISTRY}/newsroom/coredns:{version}"


def metrics_server_image(version: str) -> str:
    """The metrics-server image."""
    return f"{REGISTRY}/newsroom/metrics-server:{version}"


def keda_image(component: str, version: str) -> str:
    """The image of one of KEDA's binaries (operator, adapter, webhooks)."""
    return f"{REGISTRY}/newsroom/keda-{component}:{version}"


KEDA_COMPONENTS = ("operator", "adapter", "webhooks")


def _run(argv: list[str], what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(
            f"{what}: {' '.join(argv)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def build_pause(cache: Path) -> Path:
    """Compile k8s' pause.c statically (the source comes with the k8s.io/kubernetes module)."""
    out = cache / f"pause-{PAUSE_VERSION}" / "pause"
    if out.exists():
        return out
    go = shutil.which("go") or "/usr/local/go/bin/go"
    module_dir = _run([go, "env", "GOMODCACHE"], "finding the Go module cache").strip()
    source = Path(module_dir) / _KUBERNETES_MODULE / "build" / "pause" / "linux" / "pause.c"
    if not source.exists():
        _run(
            [go, "mod", "download", _KUBERNETES_MODULE], "downloading the k8s.io/kubernetes module"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    flags = ["-Os", "-static", "-Wall", "-Werror", f"-DVERSION=v{PAUSE_VERSION}"]
    _run(["gcc", *flags, "-o", str(out), str(source)], "compiling pause.c (gcc, libc6-dev)")
    _run(["strip", str(out)], "stripping pause")
    return out


def in_registry(image: str) -> bool:
    """Tell whether the local registry holds image (host:port/repository:tag)."""
    address, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    # Always our own registry on the loopback.
    request = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": _MANIFEST_TYPES},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except urllib.error.HTTPError as error:
        error.close()
        return False
    except (urllib.error.URLError, OSError):
        return False


def _scratch_and_push(image: str, binary: Path, *, user: str) -> None:
    if in_registry(image):
        return
    name = image.split("/")[-1].split(":")[0]
    try:
        ref = containers.scratch_image(
            name,
            [containers.ScratchFile(binary, f"/{binary.name}")],
            entrypoint=[f"/{binary.name}"],
            user=user,
            labels={"org.opencontainers.image.title": name},
        )
        # Plain HTTP: the registry is on the loopback and has no certificate.
        containers.run(
            ["buildah", "push", "--tls-verify=false", ref, f"docker://{image}"],
            what=f"pushing {image}",
            timeout=600,
        )
    except containers.ToolError as error:
        raise ImageError(f"building {image}: {error}") from error


def ensure_cluster_images(cache: Path, coredns: str, metrics_server: str, keda: str) -> None:
    """Build the images unless the registry has them already, and push them there."""
    _scratch_and_push(pause_image(), build_pause(cache), user="65535:65535")
    _scratch_and_push(
        coredns_image(coredns), cache / f"coredns-{coredns}" / "coredns", user="65532:65532"
    )
    _scratch_and_push(
        metrics_server_image(metrics_server),
        cache / f"metrics-server-{metrics_server}" / "metrics-server",
        user="65534:65534",
    )
    for component in KEDA_COMPONENTS:
        _scratch_and_push(
            keda_image(component, keda), cache / f"keda-{keda}" / component, user="65532:65532"
        )

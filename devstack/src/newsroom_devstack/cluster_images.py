"""The cluster's own images: pause (the pod sandbox), CoreDNS and metrics-server, FROM scratch.

No outside registry is reachable, so each is one static binary built here, packed by buildah
(vfs storage, chroot isolation) and imported into our containerd's k8s.io namespace, under the
names the kubelet and the manifests use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from newsroom_devstack.paths import cache_dir

REGISTRY = "127.0.0.1:5000"
PAUSE_VERSION = "3.10.1"  # the tag k8s.io/kubernetes v1.34's build/pause/Makefile gives it
_KUBERNETES_MODULE = "k8s.io/kubernetes@v1.34.4"


class ImageError(RuntimeError):
    """An image could not be built or imported: the message names it and the failing command."""


def pause_image() -> str:
    """The sandbox image containerd's config names."""
    return f"{REGISTRY}/newsroom/pause:{PAUSE_VERSION}"


def coredns_image(version: str) -> str:
    """The CoreDNS image the cluster DNS Deployment runs."""
    return f"{REGISTRY}/newsroom/coredns:{version}"


def metrics_server_image(version: str) -> str:
    """The metrics-server image."""
    return f"{REGISTRY}/newsroom/metrics-server:{version}"


def _run(argv: list[str], what: str, **options: object) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **options)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise ImageError(
            f"{what}: {' '.join(argv)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return str(result.stdout)


def _buildah(storage: Path, *args: str) -> list[str]:
    # Our own storage root: the machine's (or another build's) images are never touched.
    return [
        "buildah",
        "--storage-driver=vfs",
        f"--root={storage / 'root'}",
        f"--runroot={storage / 'run'}",
        *args,
    ]


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
    _run(
        [
            "gcc",
            "-Os",
            "-static",
            "-Wall",
            "-Werror",
            f"-DVERSION=v{PAUSE_VERSION}",
            "-o",
            str(out),
            str(source),
        ],
        "compiling pause.c (needs gcc and libc6-dev)",
    )
    _run(["strip", str(out)], "stripping pause")
    return out


def scratch_image(cache: Path, image: str, binary: Path, *, user: str | None = None) -> Path:
    """Pack one binary FROM scratch as image; return an OCI archive of it (cached by name)."""
    archive = cache / "images" / (image.replace("/", "_").replace(":", "_") + ".tar")
    if archive.exists():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    storage = cache / "buildah"
    env = {**os.environ, "BUILDAH_ISOLATION": "chroot"}
    container = _run(_buildah(storage, "from", "scratch"), f"building {image}", env=env).strip()
    try:
        _run(
            _buildah(storage, "copy", container, str(binary), f"/{binary.name}"),
            f"building {image}",
            env=env,
        )
        config = [
            "config",
            f'--entrypoint=["/{binary.name}"]',
            "--cmd=",
            f"--label=org.opencontainers.image.title={image}",
        ]
        if user:
            config.append(f"--user={user}")
        _run(_buildah(storage, *config, container), f"building {image}", env=env)
        _run(_buildah(storage, "commit", "--rm", container, image), f"building {image}", env=env)
    except ImageError:
        subprocess.run(_buildah(storage, "rm", container), capture_output=True, check=False)
        raise
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    _run(
        _buildah(storage, "push", image, f"oci-archive:{partial}:{image}"),
        f"exporting {image}",
        env=env,
    )
    partial.rename(archive)
    return archive


def cluster_image_archives(cache: Path, coredns: str, metrics_server: str) -> dict[str, Path]:
    """Build (or find) the three images; return image name -> OCI archive."""
    return {
        pause_image(): scratch_image(cache, pause_image(), build_pause(cache)),
        coredns_image(coredns): scratch_image(
            cache, coredns_image(coredns), cache / f"coredns-{coredns}" / "coredns"
        ),
        metrics_server_image(metrics_server): scratch_image(
            cache,
            metrics_server_image(metrics_server),
            cache / f"metrics-server-{metrics_server}" / "metrics-server",
            user="65534",
        ),
    }


def import_into_containerd(socket: Path, archives: dict[str, Path]) -> None:
    """Import the archives into containerd's k8s.io namespace, where the kubelet looks."""
    ctr = ["ctr", f"--address={socket}", "-n", "k8s.io"]
    present = set(_run([*ctr, "images", "ls", "-q"], "listing containerd's images").split())
    for image, archive in archives.items():
        if image not in present:
            _run([*ctr, "images", "import", str(archive)], f"importing {image} into containerd")


def default_cache() -> Path:
    """Where the cluster's binaries and image archives are cached."""
    return cache_dir() / "cluster"

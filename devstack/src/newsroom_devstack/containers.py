"""buildah and podman as this repository runs them: its own storage under var/, its own config.

No Docker engine here: images are built with buildah (storage driver vfs, chroot isolation)
and run with podman on runc. Both read their configuration from files this module points
them at through the environment (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), so nothing under
/etc changes and every worktree keeps its own image store in var/containers/.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsroom_devstack.paths import repo_root, var_dir

# Tool -> the Debian package that brings it.
DEBIAN_PACKAGES: Mapping[str, str] = {
    "buildah": "buildah",
    "podman": "podman",
    "runc": "runc",
    "mmdebstrap": "mmdebstrap",
    "mvn": "maven",
    "java": "openjdk-17-jre-headless",
}
# Local image names live under this registry host in containers-storage.
LOCAL = "localhost"


class ToolError(RuntimeError):
    """A tool the images need is missing, or one of its commands failed."""


def require_tools(tools: Sequence[str], *, install: bool = True) -> None:
    """Make sure each tool is on PATH, installing its Debian package when we are root."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    packages = sorted({DEBIAN_PACKAGES[tool] for tool in missing})
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {', '.join(packages)} (Debian packages) for {', '.join(missing)}")
        # Another apt-get may run beside this one (`make cluster` next to `make images`): wait
        # for its lock rather than fail on it.
        lock = ["-o", "DPkg::Lock::Timeout=300"]
        argv = ["apt-get", *lock, "install", "-y", "--no-install-recommends", *packages]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(argv, env=env, check=False).returncode != 0:
            # A fresh machine has no package lists yet.
            subprocess.run(["apt-get", *lock, "update"], env=env, check=False)
            subprocess.run(argv, env=env, check=False)
        missing = [tool for tool in missing if shutil.which(tool) is None]
        if not missing:
            return
    how = f"apt-get install {' '.join(packages)}"
    if os.geteuid() != 0:
        how = f"as root: {how} (or run `make images` as root, which installs them)"
    raise ToolError(f"missing tool{'s' if len(missing) > 1 else ''}: {', '.join(missing)}; {how}")


def config_dir() -> Path:
    """Return var/containers, the image store and its generated storage.conf."""
    return var_dir() / "containers"


def environment() -> dict[str, str]:
    """Return os.environ plus what points buildah and podman at this repository's setup."""
    root = config_dir()
    storage_conf = root / "storage.conf"
    # Absolute paths only: generated, since every clone lives somewhere else.
    text = (
        "# Written by newsroom_devstack.containers; edits are overwritten.\n"
        "[storage]\n"
        # vfs: no overlay mounts (they need kernel support this machine's sandbox lacks).
        'driver = "vfs"\n'
        f'graphroot = "{root / "storage"}"\n'
        f'runroot = "{root / "run"}"\n'
    )
    if not storage_conf.is_file() or storage_conf.read_text() != text:
        root.mkdir(parents=True, exist_ok=True)
        storage_conf.write_text(text)
    return {
        **os.environ,
        "CONTAINERS_CONF": str(repo_root() / "devstack" / "containers" / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
        "BUILDAH_ISOLATION": "chroot",
        # tmp files of buildah (layer tarballs) on the same disk as the store, not in /tmp.
        "TMPDIR": str(_tmp_dir(root)),
    }


def _tmp_dir(root: Path) -> Path:
    path = root / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(
    argv: Sequence[str], *, timeout: float = 1800.0, capture: bool = True, what: str = ""
) -> str:
    """Run a buildah/podman command with our environment; return its stdout, raise on failure."""
    result = subprocess.run(
        list(argv),
        env=environment(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = f"\n{result.stdout or ''}{result.stderr or ''}" if capture else ""
        raise ToolError(
            f"{what or argv[0]} failed ({' '.join(argv)}): exit {result.returncode}{output}"
        )
    return result.stdout or ""


def local_ref(name: str, tag: str) -> str:
    """Return the fully qualified local name of newsroom/<name>:<tag>."""
    return f"{LOCAL}/newsroom/{name}:{tag}"


def image_exists(ref: str) -> bool:
    """Tell whether the local store holds an image of this name."""
    result = subprocess.run(
        ["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref],
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


_SI_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


def image_size(ref: str) -> int:
    """Return the uncompressed size of an image in bytes (the sum of its layers)."""
    out = run(["buildah", "images", "--json", ref], what="buildah images")
    # buildah says it in SI units only ("230 MB"), three significant digits.
    number, unit = json.loads(out)[0]["size"].split()
    return int(float(number) * _SI_UNITS[unit])


def image_labels(ref: str) -> dict[str, str]:
    """Return an image's labels."""
    out = run(["buildah", "inspect", "--type", "image", ref], what="buildah inspect")
    labels: dict[str, str] = json.loads(out)["OCIv1"]["config"].get("Labels") or {}
    return labels


def tag(ref: str, *others: str) -> None:
    """Give an image more names."""
    run(["buildah", "tag", ref, *others], what="buildah tag")


def remove_other_tags(name: str, keep: Sequence[str]) -> None:
    """Remove the older versions of newsroom/<name> (vfs keeps every layer in full: disk)."""
    out = run(["buildah", "images", "--json"], what="buildah images")
    repository = f"{LOCAL}/newsroom/{name}:"
    stale = [
        n
        for image in json.loads(out)
        for n in image.get("names") or []
        if n.startswith(repository) and n not in keep
    ]
    if stale:
        run(["buildah", "rmi", *stale], what="buildah rmi")


def prune() -> None:
    """Remove dangling images (build stages) and leftover working containers of builds."""
    subprocess.run(
        ["buildah", "rmi", "--prune"], env=environment(), capture_output=True, check=False
    )


def digest_of(parts: Mapping[str, bytes]) -> str:
    """Return a short sha256 over named parts: the content tag of an image's inputs."""
    hasher = hashlib.sha256()
    for key in sorted(parts):
        hasher.update(key.encode() + b"\0" + hashlib.sha256(parts[key]).digest())
    return hasher.hexdigest()[:20]


@dataclass(frozen=True)
class ScratchFile:
    """A file of the host put into an image at dest, with its mode."""

    source: Path
    dest: str
    mode: int = 0o755


def scratch_image(
    name: str,
    files: Sequence[ScratchFile],
    *,
    entrypoint: Sequence[str],
    user: str = "65532:65532",
    labels: Mapping[str, str] | None = None,
    exposed_ports: Sequence[int] = (),
) -> str:
    """Build newsroom/<name> FROM scratch holding only files (one static binary, say).

    Tagged with the digest of its inputs and `latest`; an image of that digest already in
    the store is reused. Return the digest-tagged reference.
    """
    recipe = {
        "files": [(f.dest, f.mode) for f in files],
        "entrypoint": list(entrypoint),
        "user": user,
        "labels": dict(labels or {}),
        "ports": list(exposed_ports),
    }
    parts = {"recipe": json.dumps(recipe, sort_keys=True).encode()}
    parts.update({f"file:{f.dest}": f.source.read_bytes() for f in files})
    ref = local_ref(name, digest_of(parts))
    if not image_exists(ref):
        container = run(["buildah", "from", "scratch"], what="buildah from").strip()
        try:
            for item in files:
                argv = ["buildah", "copy", "--chmod", f"{item.mode:o}", container]
                run([*argv, str(item.source), item.dest], what="buildah copy")
            config = ["buildah", "config", "--entrypoint", json.dumps(list(entrypoint))]
            config += ["--user", user, "--cmd", ""]
            for key, value in (labels or {}).items():
                config += ["--label", f"{key}={value}"]
            for port in exposed_ports:
                config += ["--port", str(port)]
            run([*config, container], what="buildah config")
            run(["buildah", "commit", "--rm", container, ref], what="buildah commit")
        except BaseException:
            subprocess.run(["buildah", "rm", container], env=environment(), capture_output=True)
            raise
    tag(ref, local_ref(name, "latest"))
    return ref


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """Return a temporary folder under var/containers/tmp (same disk as the store)."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=_tmp_dir(config_dir()))

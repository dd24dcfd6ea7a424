"""`make images`: Newsroom's container images, built here with buildah on bases made here.

Two bases come from Debian's packages (mmdebstrap, bookworm minbase): `base` with Debian's
Python 3.11 (services, PostgreSQL, Kafka) and `base-nginx` with Debian's nginx (gateway).
Every other image is its Dockerfile built with `BASE_IMAGE` pointing at one of them; a user
with Docker builds the same Dockerfiles on the official images they name by default.

Each image is tagged newsroom/<name>:<digest of its inputs> and :latest. An image whose
digest is already in the store is not built again, so a second run only checks and tags.
Each gets an SBOM (syft, over its root filesystem) in var/images/sbom/ and the
org.opencontainers.image.* labels, the git revision among them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsroom_devstack import containers, gotools, registry
from newsroom_devstack.containers import ToolError, local_ref
from newsroom_devstack.kafka import ensure_jars, kafka_dir
from newsroom_devstack.paths import cache_dir, repo_root, var_dir
from newsroom_devstack.supervisor import StartupError

# Bumped when the way images are made changes in a way their inputs do not show.
RECIPE_VERSION = "1"
SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# Docs, man pages and translations stay out of every image (copyrights stay in).
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
)
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
OCI = "org.opencontainers.image"


@dataclass(frozen=True)
class DebianBase:
    """A base image: a Debian minbase with these packages, made by mmdebstrap."""

    name: str
    packages: tuple[str, ...]
    description: str

    def recipe(self) -> dict[str, object]:
        """Return everything that decides the root filesystem (its digest is the tag)."""
        return {
            "suite": SUITE,
            "mirrors": MIRRORS,
            "packages": self.packages,
            "dpkg": DPKG_EXCLUDES,
            "variant": "minbase",
            "hook": "merged-usr",
            "recipe": RECIPE_VERSION,
        }


@dataclass(frozen=True)
class DockerfileImage:
    """An image built from a Dockerfile on one of the bases."""

    name: str
    dockerfile: str
    base: str
    # Repository paths the build reads (the context's files it copies, at least).
    inputs: tuple[str, ...]
    build_args: Mapping[str, str] = field(default_factory=dict)
    # A folder of the repository, or None: a context staged by stage_context.
    context: str | None = "."
    stage_context: Callable[[Path], None] | None = None


BASES: tuple[DebianBase, ...] = (
    DebianBase(
        "base",
        ("python3", "python3-venv", "ca-certificates", "passwd"),
        "Debian bookworm with Debian's Python 3.11, made by mmdebstrap",
    ),
    # curl: the swagger-ui build stage fetches with it, and the chart's helm test probes with it.
    DebianBase(
        "base-nginx",
        ("nginx", "gettext-base", "curl", "ca-certificates"),
        "Debian bookworm with Debian's nginx and envsubst, made by mmdebstrap",
    ),
)

SERVICE_INPUTS = (
    "services/Dockerfile",
    "pyproject.toml",
    "uv.lock",
    "libs",
    "services",
    "devstack/pyproject.toml",
    "devstack/src",
)
SERVICE_PORTS = {"users": 8001, "articles": 8002, "views": 8003}


def _stage_kafka(target: Path) -> None:
    """Lay out the Kafka image's context: its files, the logging config and the jars."""
    source = repo_root() / "images" / "kafka"
    for name in ("Dockerfile", "entrypoint.sh"):
        shutil.copy2(source / name, target / name)
    shutil.copy2(kafka_dir() / "log4j2.yaml", target / "log4j2.yaml")
    libs = ensure_jars(cache_dir())
    (target / "libs").mkdir()
    for jar in sorted(libs.glob("*.jar")):
        # Hard links: the jars are not copied (same disk), and nothing writes to them.
        try:
            os.link(jar, target / "libs" / jar.name)
        except OSError:
            shutil.copy2(jar, target / "libs" / jar.name)


IMAGES: tuple[DockerfileImage, ...] = (
    *(
        DockerfileImage(
            service,
            "services/Dockerfile",
            "base",
            SERVICE_INPUTS,
            {"SERVICE": service, "PORT": str(port)},
        )
        for service, port in SERVICE_PORTS.items()
    ),
    DockerfileImage(
        "gateway",
        "gateway/Dockerfile",
        "base-nginx",
        (
            "gateway/Dockerfile",
            "gateway/nginx.conf.template",
            "gateway/status.conf.template",
            "gateway/entrypoint.sh",
            "gateway/openapi.json",
            "gateway/docs",
        ),
    ),
    DockerfileImage(
        "postgres",
        "images/postgres/Dockerfile",
        "base",
        ("images/postgres",),
        {},
        "images/postgres",
    ),
    DockerfileImage(
        "kafka",
        "images/kafka/Dockerfile",
        "base",
        # The pom decides the jars; hashing it is cheaper than hashing 100 MB of jars.
        ("images/kafka", "devstack/kafka/pom.xml", "devstack/kafka/log4j2.yaml"),
        {},
        None,
        _stage_kafka,
    ),
)
# Images FROM scratch holding one static Go program built here at a pinned version, tagged
# with that version (what the charts name) besides `latest`: the gateway's metrics sidecar,
# the official nginx-prometheus-exporter (its upstream image takes the same arguments).
SCRATCH_IMAGES: dict[str, gotools.GoTool] = {"nginx-prometheus-exporter": gotools.NGINX_EXPORTER}
NAMES: tuple[str, ...] = (
    tuple(b.name for b in BASES) + tuple(i.name for i in IMAGES) + tuple(SCRATCH_IMAGES)
)


@dataclass
class Result:
    """What happened to one image in this run."""

    name: str
    ref: str
    cached: bool
    seconds: float
    size: int = 0
    sbom: Path | None = None


def work_dir() -> Path:
    """Return var/images: build logs, SBOMs and staging folders."""
    return var_dir() / "images"


def sbom_path(name: str, tag: str) -> Path:
    """Return where the SBOM of newsroom/<name>:<tag> is written."""
    return work_dir() / "sbom" / f"{name}-{tag}.spdx.json"


# --- digests of inputs ---------------------------------------------------------------------


def _ignored_patterns() -> list[str]:
    """Return the .dockerignore patterns that drop files anywhere (`**/x`): tests, caches."""
    lines = (repo_root() / ".dockerignore").read_text().splitlines()
    return [line[3:].rstrip("/") for line in lines if line.startswith("**/")]


def _files(paths: Sequence[str]) -> Iterator[Path]:
    root = repo_root()
    patterns = _ignored_patterns()

    def ignored(path: Path) -> bool:
        return any(
            fnmatch.fnmatch(part, p) for part in path.relative_to(root).parts for p in patterns
        )

    for relative in paths:
        path = root / relative
        if path.is_file():
            yield path
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"image input {relative} does not exist")
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not ignored(Path(folder) / d))
            for name in sorted(names):
                file = Path(folder) / name
                if not ignored(file):
                    yield file


def input_digest(image: DockerfileImage, base_ref: str) -> str:
    """Return the content tag of an image: its files, build arguments and base."""
    root = repo_root()
    parts = {f"file:{f.relative_to(root)}": f.read_bytes() for f in _files(image.inputs)}
    parts["dockerfile"] = (root / image.dockerfile).read_bytes()
    parts["args"] = json.dumps(dict(image.build_args), sort_keys=True).encode()
    parts["base"] = base_ref.encode()
    parts["recipe"] = RECIPE_VERSION.encode()
    return containers.digest_of(parts)


# --- labels ----------------------------------------------------------------------------------


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo_root()), *args], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def oci_labels(*, title: str, version: str, source: str) -> dict[str, str]:
    """Return the org.opencontainers.image.* labels of an image built now."""
    revision = _git("rev-parse", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        revision += "-dirty"
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    origin = _git("remote", "get-url", "origin")
    return {
        f"{OCI}.title": title,
        f"{OCI}.version": version,
        f"{OCI}.revision": revision,
        f"{OCI}.created": created.replace("+00:00", "Z"),
        f"{OCI}.source": f"{origin}#{source}" if origin else source,
        f"{OCI}.vendor": "Newsroom",
    }


# --- building ----------------------------------------------------------------------------------


def _log_path(name: str) -> Path:
    path = work_dir() / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _run_logged(argv: Sequence[str], *, name: str, what: str, timeout: float = 3600.0) -> None:
    """Run a long build step, its output in var/images/logs/<name>.log; raise with its tail."""
    log_path = _log_path(name)
    with log_path.open("a") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n")
        log.flush()
        result = subprocess.run(
            list(argv),
            env=containers.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=timeout,
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise ToolError(f"{what} failed (exit {result.returncode}); log: {log_path}\n{tail}")


def base_tag(base: DebianBase) -> str:
    """Return the content tag of a base: the digest of its recipe."""
    return containers.digest_of({"recipe": json.dumps(base.recipe(), sort_keys=True).encode()})


def build_base(base: DebianBase) -> Result:
    """Make the base's root filesystem with mmdebstrap and commit it as an image."""
    started = time.monotonic()
    tag = base_tag(base)
    ref = local_ref(base.name, tag)
    if containers.image_exists(ref):
        return Result(base.name, ref, True, time.monotonic() - started)
    print(f"building {ref} (mmdebstrap: a few minutes)", flush=True)
    with containers.scratch_dir(f"{base.name}-") as scratch:
        tarball = Path(scratch) / "rootfs.tar"
        argv = ["mmdebstrap", "--variant=minbase", "--format=tar", "--mode=root"]
        # Without it apt pulls in usrmerge, and with it perl: 40 MB more.
        argv += ["--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr"]
        argv += [f"--include={','.join(base.packages)}"]
        argv += [f"--dpkgopt={option}" for option in DPKG_EXCLUDES]
        argv += [SUITE, str(tarball), *MIRRORS]
        _run_logged(argv, name=base.name, what=f"mmdebstrap of {base.name}")
        container = containers.run(["buildah", "from", "scratch"], what="buildah from").strip()
        try:
            containers.run(["buildah", "add", container, str(tarball), "/"], what="buildah add")
            config = ["buildah", "config", "--cmd", "/bin/bash"]
            config += ["--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
            config += ["--env", "LANG=C.UTF-8"]
            labels = oci_labels(title=f"newsroom-{base.name}", version=tag, source="devstack")
            labels[f"{OCI}.description"] = base.description
            for key, value in labels.items():
                config += ["--label", f"{key}={value}"]
            containers.run([*config, container], what="buildah config")
            containers.run(["buildah", "commit", "--rm", container, ref], what="buildah commit")
        except BaseException:
            subprocess.run(
                ["buildah", "rm", container], env=containers.environment(), capture_output=True
            )
            raise
    return Result(base.name, ref, False, time.monotonic() - started)


def build_image(image: DockerfileImage, base_ref: str) -> Result:
    """Build one Dockerfile image on base_ref unless its digest is in the store already."""
    started = time.monotonic()
    tag = input_digest(image, base_ref)
    ref = local_ref(image.name, tag)
    if containers.image_exists(ref):
        return Result(image.name, ref, True, time.monotonic() - started)
    print(f"building {ref}", flush=True)
    root = repo_root()
    with containers.scratch_dir(f"{image.name}-context-") as staged:
        if image.stage_context is not None:
            image.stage_context(Path(staged))
            context = Path(staged)
            dockerfile = context / "Dockerfile"
        else:
            context = root / (image.context or ".")
            dockerfile = root / image.dockerfile
        argv = ["buildah", "bud", "--layers=false", "--force-rm", "--pull-never"]
        argv += ["--isolation=chroot", "-f", str(dockerfile), "-t", ref]
        args = {"BASE_IMAGE": base_ref, **image.build_args}
        if HOST_CA_BUNDLE.is_file():
            # Registries are reached through a TLS proxy whose CA is in the host's bundle only:
            # RUN steps see that bundle (mounted over the image's), and pip/uv are told to read it.
            argv += ["-v", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
            args |= {"PIP_CERT": str(HOST_CA_BUNDLE), "SSL_CERT_FILE": str(HOST_CA_BUNDLE)}
        # Only the arguments the Dockerfile declares (the others would only draw a warning).
        declared = set(re.findall(r"^ARG (\w+)", dockerfile.read_text(), re.M))
        for key, value in args.items():
            if key in declared:
                argv += ["--build-arg", f"{key}={value}"]
        source = str(Path(image.dockerfile).parent)
        if image.name in SERVICE_PORTS:
            source = f"services/{image.name}"
        for key, value in oci_labels(
            title=f"newsroom-{image.name}", version=tag, source=source
        ).items():
            argv += ["--label", f"{key}={value}"]
        _run_logged([*argv, str(context)], name=image.name, what=f"building {image.name}")
    return Result(image.name, ref, False, time.monotonic() - started)


def write_sbom(result: Result) -> Path:
    """Write the SBOM of an image (syft over its root filesystem), once per digest."""
    name, tag = result.name, result.ref.rsplit(":", 1)[1]
    target = sbom_path(name, tag)
    if target.is_file():
        return target
    syft = gotools.ensure(gotools.SYFT)
    target.parent.mkdir(parents=True, exist_ok=True)
    container = containers.run(
        ["buildah", "from", "--pull-never", result.ref], what="buildah from"
    ).strip()
    try:
        mount = containers.run(["buildah", "mount", container], what="buildah mount").strip()
        partial = target.with_suffix(".partial")
        argv = [str(syft), "scan", f"dir:{mount}", "-q", "-o", f"spdx-json={partial}"]
        argv += ["--source-name", f"newsroom/{name}", "--source-version", tag]
        # syft asks the internet for a newer version of itself unless told not to.
        env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ToolError(f"syft failed on {result.ref}:\n{done.stdout}{done.stderr}")
        partial.rename(target)
    finally:
        subprocess.run(
            ["buildah", "rm", container], env=containers.environment(), capture_output=True
        )
    for old in target.parent.glob(f"{name}-*.spdx.json"):
        if old != target:
            old.unlink()
    return target


def build_scratch(name: str, tool: gotools.GoTool) -> Result:
    """Build (or find) newsroom/<name>:<tool's version> FROM scratch with the tool's binary."""
    ref = local_ref(name, tool.version.removeprefix("v"))
    started = time.monotonic()
    if containers.image_exists(ref):
        return Result(name, ref, cached=True, seconds=0.0)
    binary = gotools.ensure(tool)
    built = containers.scratch_image(
        name,
        [containers.ScratchFile(binary, f"/{tool.name}")],
        entrypoint=[f"/{tool.name}"],
        # The uid every image of ours runs as (the charts' security contexts say so too).
        user="10001:10001",
        labels=oci_labels(
            title=f"newsroom-{name}", version=ref.rsplit(":", 1)[1], source=tool.package
        ),
    )
    containers.tag(built, ref)
    return Result(name, ref, cached=False, seconds=time.monotonic() - started)


def push(results: Sequence[Result], address: str) -> None:
    """Push every image (digest tag and latest) to the registry at host:port."""
    push_refs([r.ref for r in results], address)


def push_refs(refs: Sequence[str], address: str) -> None:
    """Push local images localhost/newsroom/<name>:<tag> as <name>:<tag> and <name>:latest."""
    if not registry.answers(address, timeout=3.0):
        raise registry.RegistryError(
            f"the registry {address} does not answer (GET http://{address}/v2/ within 3s): "
            f"nothing pushed. The built images stay in the local store: {', '.join(refs)}. "
            "Start one with `make registry` or check REGISTRY."
        )

    def push_one(ref: str) -> None:
        repository, tag = ref.removeprefix(f"{containers.LOCAL}/").rsplit(":", 1)
        for remote_tag in dict.fromkeys((tag, "latest")):
            destination = f"docker://{address}/{repository}:{remote_tag}"
            # Plain HTTP: a registry on the loopback, which has no certificate.
            containers.run(
                ["buildah", "push", "--tls-verify=false", ref, destination],
                what=f"pushing {repository}",
                timeout=900,
            )

    # A push mostly waits (compressing layers, the registry writing them): a few at a time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(push_one, ref) for ref in refs]:
            future.result()


def _finish(result: Result) -> None:
    """Write the SBOM of a built (or found) image and note its size."""
    started = time.monotonic()
    result.sbom = write_sbom(result)
    if not result.cached:
        result.seconds += time.monotonic() - started
    result.size = containers.image_size(result.ref)


def build(
    names: Sequence[str] = NAMES, *, registry_address: str | None = None, install: bool = True
) -> list[Result]:
    """Build (or find) the named images and their bases; SBOMs, tags, optional push."""
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown image {', '.join(unknown)} (known: {', '.join(NAMES)})")
    images = [i for i in IMAGES if i.name in names]
    needed_bases = {i.base for i in images} | {n for n in names if n in {b.name for b in BASES}}
    bases = [b for b in BASES if b.name in needed_bases]
    containers.require_tools(["buildah", "runc"], install=install)
    if any(not containers.image_exists(local_ref(b.name, base_tag(b))) for b in bases):
        containers.require_tools(["mmdebstrap"], install=install)
    # Go builds syft for the SBOMs: say so now rather than after the builds.
    gotools.go_binary()
    results: list[Result] = []
    # The bases download packages and wait on the network more than on the CPU: side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(bases) or 1) as pool:
        base_results = list(pool.map(build_base, bases))
    base_refs = {r.name: r.ref for r in base_results}
    # Each image's SBOM (syft: CPU and disk) is written while the next image builds (mostly
    # downloads: pip, uv, apt): one scan at a time beside one build, not after all of them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as scans:
        pending: list[concurrent.futures.Future[None]] = []

        def done(result: Result) -> None:
            results.append(result)
            containers.tag(result.ref, local_ref(result.name, "latest"))
            containers.remove_other_tags(
                result.name, keep=[result.ref, local_ref(result.name, "latest")]
            )
            pending.append(scans.submit(_finish, result))

        for result in base_results:
            done(result)
        for image in images:
            done(build_image(image, base_refs[image.base]))
        for name, tool in SCRATCH_IMAGES.items():
            if name in names:
                done(build_scratch(name, tool))
        for future in pending:
            future.result()
    # Build stages and dangling layers: vfs keeps each in full.
    containers.prune()
    if registry_address:
        push(results, registry_address)
    return results


def table(results: Sequence[Result]) -> str:
    """Return the report of a run: image, size, build time, cached or not."""
    rows = [("image", "size (MB)", "time (s)", "cached")]
    for r in results:
        rows.append((r.ref, f"{r.size / 1e6:.0f}", f"{r.seconds:.1f}", "yes" if r.cached else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i in (0, 3) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `newsroom-images`."""
    parser = argparse.ArgumentParser(
        prog="newsroom-images", description="Newsroom's container images and local registry."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the images (cached by content)")
    build_cmd.add_argument(
        "names", nargs="*", help=f"images to build (default: all: {' '.join(NAMES)})"
    )
    build_cmd.add_argument(
        "--registry",
        default=os.environ.get("REGISTRY") or None,
        help="push to this registry (host:port, plain HTTP) afterwards",
    )
    build_cmd.add_argument(
        "--no-install",
        action="store_true",
        help="never apt-get install a missing tool, only name it",
    )
    reg = commands.add_parser("registry", help="the local OCI registry on 127.0.0.1")
    reg.add_argument("action", choices=["up", "down", "status"])
    reg.add_argument(
        "--port", type=int, default=int(os.environ.get("REGISTRY_PORT", registry.DEFAULT_PORT))
    )
    scratch = commands.add_parser("scratch", help="an image FROM scratch holding a few files")
    scratch.add_argument("name", help="the image is newsroom/<name>")
    scratch.add_argument(
        "--file",
        action="append",
        required=True,
        metavar="SOURCE:DEST",
        help="a host file and where it goes in the image (repeatable)",
    )
    scratch.add_argument("--entrypoint", required=True, help='JSON list, e.g. ["/coredns"]')
    scratch.add_argument("--user", default="65532:65532")
    scratch.add_argument(
        "--registry",
        default=os.environ.get("REGISTRY") or None,
        help="push it to this registry (host:port) too",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            names = args.names or list(NAMES)
            results = build(names, registry_address=args.registry, install=not args.no_install)
            print(table(results))
            pushed = f", pushed to {args.registry}" if args.registry else ""
            print(f"{len(results)} images in {time.monotonic() - started:.1f}s{pushed}")
            return 0
        if args.command == "registry":
            return _registry(args.action, args.port)
        files = []
        for spec in args.file:
            source, _, dest = spec.partition(":")
            if not dest or not Path(source).is_file():
                raise ValueError(f"--file {spec}: expected SOURCE:DEST with an existing SOURCE")
            files.append(containers.ScratchFile(Path(source), dest))
        containers.require_tools(["buildah"])
        entrypoint = json.loads(args.entrypoint)
        ref = containers.scratch_image(args.name, files, entrypoint=entrypoint, user=args.user)
        if args.registry:
            push_refs([ref], args.registry)
        print(ref)
        return 0
    except (
        ToolError,
        gotools.GoToolError,
        registry.RegistryError,
        StartupError,
        ValueError,
        FileNotFoundError,
    ) as error:
        print(f"newsroom-images: {error}", file=sys.stderr)
        return 1


def _registry(action: str, port: int) -> int:
    if action == "up":
        address = registry.start(port=port)
        print(
            f"registry answering on http://{address}/v2/ (data in {registry.home() / 'data'}); "
            "`make registry-down` stops it"
        )
    elif action == "down":
        print("registry stopped" if registry.stop() else "no registry of ours is running")
    else:
        state = registry.running()
        if state is None:
            print("no registry of ours is running")
            return 1
        print(f"registry runs: pid {state['pid']}, http://127.0.0.1:{state['port']}/v2/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

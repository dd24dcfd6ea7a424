"""`newsroom-cluster deploy`: the platform on the local cluster, as the README tells a user.

The images are pushed to 127.0.0.1:5000 beforehand (`make images REGISTRY=127.0.0.1:5000`,
which `make deploy` runs first). Then: the dev PostgreSQL and Kafka of k8s/dev on our own images
(k8s/dev/local), waited for; then `helm upgrade --install newsroom charts/newsroom --wait
--timeout ...` with k8s/dev/values/local-cluster.yaml; then the gateway's NodePort answers on
http://127.0.0.1:30080.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from newsroom_devstack.cluster import Cluster, ClusterError
from newsroom_devstack.net import http_ok
from newsroom_devstack.paths import repo_root

NAMESPACE = "newsroom"
RELEASE = "newsroom"
GATEWAY_URL = "http://127.0.0.1:30080"
HELM_TIMEOUT = "10m"
REGISTRY = "127.0.0.1:5000"
CHART_IMAGES = ("users", "articles", "views", "gateway")
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def _registry_get(path: str, *, method: str = "GET") -> tuple[dict[str, str], bytes]:
    # Always our own registry on the loopback.
    request = urllib.request.Request(
        f"http://{REGISTRY}{path}", method=method, headers={"Accept": _MANIFEST_TYPES}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return dict(answer.headers), answer.read()
    except (urllib.error.URLError, OSError) as error:
        raise ClusterError(f"the registry {REGISTRY} did not answer {path}: {error}") from error


def pushed_tag(name: str) -> str:
    """The content tag `make images` pushed for newsroom/<name>: the one `latest` points to."""
    repository = f"newsroom/{name}"
    _, body = _registry_get(f"/v2/{repository}/tags/list")
    tags: list[str] = [str(t) for t in json.loads(body).get("tags") or [] if t != "latest"]

    def digest(tag: str) -> str:
        headers, _ = _registry_get(f"/v2/{repository}/manifests/{tag}", method="HEAD")
        return str(headers.get("Docker-Content-Digest", ""))

    if "latest" not in (json.loads(body).get("tags") or []):
        raise ClusterError(f"{REGISTRY}/{repository}:latest is missing: run `make deploy`")
    latest = digest("latest")
    for tag in tags:
        if digest(tag) == latest:
            return tag
    raise ClusterError(f"no content tag of {REGISTRY}/{repository} matches :latest")


def image_flags(tags: dict[str, str] | None = None) -> list[str]:
    """--set flags naming the pushed content tag of every chart's image."""
    chosen = tags if tags is not None else {name: pushed_tag(name) for name in CHART_IMAGES}
    return [f"--set={name}.image.tag={tag}" for name, tag in chosen.items()]


def values_file() -> Path:
    """The values of the local cluster's install."""
    return repo_root() / "k8s" / "dev" / "values" / "local-cluster.yaml"


def helm_install_command(helm: Path, kubeconfig: Path, *extra: str) -> list[str]:
    """The `helm upgrade --install` the README shows, with the local cluster's values."""
    return [
        str(helm),
        f"--kubeconfig={kubeconfig}",
        "upgrade",
        "--install",
        RELEASE,
        str(repo_root() / "charts" / "newsroom"),
        f"--namespace={NAMESPACE}",
        "--create-namespace",
        f"--values={values_file()}",
        "--wait",
        f"--timeout={HELM_TIMEOUT}",
        *extra,
    ]


def _step(title: str, argv: Sequence[str], *, timeout: float, input_text: str | None = None) -> str:
    print(f"deploy: {title}", flush=True)
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=input_text,
        )
    except subprocess.TimeoutExpired as error:
        raise ClusterError(
            f"{title}: {shlex.join(argv)} did not finish in {timeout:.0f}s"
        ) from error
    if result.returncode != 0:
        raise ClusterError(f"{title} failed: {shlex.join(argv)}\n{result.stdout}{result.stderr}")
    return result.stdout


def _namespace_state(cluster: Cluster) -> str:
    """The namespace's pods, claims and latest events: what a failed wait leaves to read."""
    parts = []
    for argv in (
        ["get", "pods,pvc", "-o", "wide"],
        ["get", "events", "--sort-by=.lastTimestamp"],
    ):
        try:
            result = cluster.kubectl("-n", NAMESPACE, *argv, check=False, timeout=30)
            text = (result.stdout + result.stderr).splitlines()
        except ClusterError as error:
            text = [str(error)]
        parts.append(f"$ kubectl -n {NAMESPACE} {' '.join(argv)}\n" + "\n".join(text[-40:]))
    return "\n".join(parts)


def _watched_step(cluster: Cluster, title: str, argv: Sequence[str], *, timeout: float) -> str:
    """A step that waits on the namespace's workloads: on failure, say what they look like."""
    try:
        return _step(title, argv, timeout=timeout)
    except ClusterError as error:
        raise ClusterError(f"{error}\n{_namespace_state(cluster)}") from error


def deploy(helm: Path, *, extra_values: Sequence[str] = ()) -> float:
    """Deploy the dev infrastructure and the platform; return the seconds `helm` took."""
    cluster = Cluster()
    if not cluster.running("kube-apiserver") or not cluster.running("kubelet"):
        raise ClusterError("no local cluster runs: `make cluster` starts one")
    kubectl = [str(cluster.layout.kube("kubectl")), f"--kubeconfig={cluster.layout.kubeconfig}"]
    namespace = _step(
        f"namespace {NAMESPACE}",
        [*kubectl, "create", "namespace", NAMESPACE, "--dry-run=client", "-o", "yaml"],
        timeout=60,
    )
    _step(
        f"namespace {NAMESPACE}", [*kubectl, "apply", "-f", "-"], timeout=60, input_text=namespace
    )
    infra = repo_root() / "k8s" / "dev" / "local"
    # The overlay reuses k8s/dev's manifests from its parent folder, which `kubectl apply -k`
    # refuses (kustomize's load restrictor): render it with the restriction lifted, then apply.
    rendered = _step(
        "dev PostgreSQL and Kafka (k8s/dev/local)",
        [*kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(infra)],
        timeout=120,
    )
    _step(
        "dev PostgreSQL and Kafka (k8s/dev/local)",
        [*kubectl, "-n", NAMESPACE, "apply", "-f", "-"],
        timeout=120,
        input_text=rendered,
    )
    for workload in ("statefulset/postgres", "statefulset/kafka"):
        _watched_step(
            cluster,
            f"waiting for {workload}",
            [*kubectl, "-n", NAMESPACE, "rollout", "status", workload, "--timeout=300s"],
            timeout=330,
        )
    started = time.monotonic()
    _watched_step(
        cluster,
        f"helm upgrade --install {RELEASE} (--wait --timeout {HELM_TIMEOUT})",
        helm_install_command(helm, cluster.layout.kubeconfig, *image_flags(), *extra_values),
        timeout=900,
    )
    helm_seconds = time.monotonic() - started
    deadline = time.monotonic() + 120
    while not http_ok(f"{GATEWAY_URL}/api/tags"):
        if time.monotonic() >= deadline:
            raise ClusterError(
                f"the gateway does not answer {GATEWAY_URL}/api/tags 200 within 120s after the "
                f"install; see `kubectl -n {NAMESPACE} logs deploy/newsroom-gateway`"
            )
        time.sleep(1)
    print(f"deploy: the platform answers at {GATEWAY_URL} (helm took {helm_seconds:.0f}s)")
    # For the summary table of `make k8s-test`, which runs in another process.
    figures = {"helm_seconds": round(helm_seconds)}
    deploy_figures_path(cluster).write_text(json.dumps(figures) + "\n")
    return helm_seconds


def deploy_figures_path(cluster: Cluster) -> Path:
    """Where the last deploy keeps what it measured."""
    return cluster.layout.root / "deploy.json"

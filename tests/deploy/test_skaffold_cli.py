"""skaffold itself (v2.16.1, `make skaffold`) reading skaffold.yaml, without a cluster.

`skaffold diagnose` shows the configuration a module really runs with (profiles applied);
`skaffold render` shows what it would deploy, which must be exactly what `helm template`
renders for the same releases with the same values, plus k8s/dev's manifests for infra.
A fixed build (`--build-artifacts`) stands in for the image skaffold would build, so the
comparison needs neither a registry nor a builder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import REPO, SERVICE_CHARTS, TOOLS_DIR, Helm, load_yaml_documents

SKAFFOLD = Path(REPO, ".cache", "bin", "skaffold")
REGISTRY = "127.0.0.1:5000"
DIGEST = "sha256:" + "0" * 64
# The first test waits for `make skaffold`, which builds skaffold, helm 3 and kustomize cold.
pytestmark = pytest.mark.timeout(3600)
INFRA = ("k8s/dev/secrets.yaml", "k8s/dev/postgres.yaml", "k8s/dev/kafka.yaml")


@pytest.fixture(scope="module")
def skaffold(helm: Helm) -> Path:
    """The skaffold of `make skaffold` (idempotent; the first build takes several minutes)."""
    subprocess.run(["make", "-s", "skaffold"], cwd=REPO, check=True, timeout=3600)
    return SKAFFOLD


def run(
    skaffold: Path, helm: Helm, *args: str, builder: str = "", kubeconfig: Path | None = None
) -> str:
    """skaffold's standard output for `args`, from the repository root, offline."""
    env = {
        **helm.env,
        "PATH": f"{helm.binary.parent}:{os.environ['PATH']}",
        "NEWSROOM_BUILDER": builder,
        # By default a kubeconfig that does not exist: nothing may depend on a cluster.
        "KUBECONFIG": str(kubeconfig or TOOLS_DIR / "no-cluster-kubeconfig"),
    }
    env.pop("NEWSROOM_REGISTRY", None)
    env.pop("NEWSROOM_IMAGE_TAG", None)
    result = subprocess.run(
        [str(skaffold), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"skaffold {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def diagnose(skaffold: Path, helm: Helm, module: str, builder: str = "") -> list[dict[str, Any]]:
    """The configs `-m module` runs with, in skaffold's order, every profile applied."""
    text = run(skaffold, helm, "diagnose", "-m", module, "--yaml-only", builder=builder)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def artifacts(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for c in configs for a in c.get("build", {}).get("artifacts", [])]


def releases(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for c in configs for r in c.get("deploy", {}).get("helm", {}).get("releases", [])]


@pytest.mark.parametrize("builder", ["", "buildah"], ids=["docker", "buildah"])
def test_diagnose_articles_builds_articles_alone(skaffold: Path, helm: Helm, builder: str) -> None:
    configs = diagnose(skaffold, helm, "articles", builder)
    assert [c["metadata"]["name"] for c in configs] == [
        "infra",
        "articles-image",
        "users-release",
        "articles-release",
        "views-release",
        "gateway-release",
        "articles",
    ]
    (artifact,) = artifacts(configs)
    assert artifact["image"] == "newsroom/articles"
    if builder == "buildah":
        assert "docker" not in artifact
        assert artifact["custom"]["buildCommand"] == (
            ".venv/bin/python -m newsroom_devstack.skaffold_build articles"
        )
        (config,) = [c for c in configs if c["metadata"]["name"] == "articles-image"]
        assert config["build"]["local"]["push"] is True
    else:
        assert artifact["docker"]["dockerfile"] == "services/Dockerfile"
        assert "custom" not in artifact
    assert [r["name"] for r in releases(configs)] == [
        "newsroom-users",
        "newsroom-articles",
        "newsroom-views",
        "newsroom-gateway",
    ]


def test_diagnose_all_builds_every_image(skaffold: Path, helm: Helm) -> None:
    configs = diagnose(skaffold, helm, "all", "buildah")
    assert sorted(a["image"] for a in artifacts(configs)) == sorted(
        f"newsroom/{name}" for name in SERVICE_CHARTS
    )
    assert [r["name"] for r in releases(configs)][-1] == "newsroom-gateway"


def built(names: tuple[str, ...]) -> Path:
    """A build result as `skaffold build --file-output` writes it, for `render -a`."""
    builds = {
        "builds": [
            {"imageName": f"newsroom/{name}", "tag": f"{REGISTRY}/newsroom_{name}:dev@{DIGEST}"}
            for name in names
        ]
    }
    path = Path(TOOLS_DIR, f"skaffold-build-{'-'.join(names)}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(builds))
    return path


def normalised(objects: list[dict[str, Any]]) -> list[str]:
    """Objects as sorted canonical text, with what only skaffold adds taken out."""
    out = []
    for obj in objects:
        obj = json.loads(json.dumps(obj))
        for meta in (
            obj.get("metadata", {}),
            obj.get("spec", {}).get("template", {}).get("metadata", {}),
        ):
            labels = meta.get("labels", {})
            for key in [k for k in labels if k.startswith("skaffold.dev/")]:
                del labels[key]
            if meta.get("labels") == {}:
                del meta["labels"]
        out.append(json.dumps(obj, sort_keys=True))
    return sorted(out)


def helm_equivalent(
    helm: Helm, developed: tuple[str, ...], charts: tuple[str, ...]
) -> list[dict[str, Any]]:
    """What skaffold deploys for these releases, rendered by helm itself."""
    objects: list[dict[str, Any]] = []
    for path in INFRA:
        objects += load_yaml_documents(REPO / path)
    for chart in charts:
        values_files = [REPO / "k8s/dev/values/common.yaml", REPO / f"k8s/dev/values/{chart}.yaml"]
        if chart in developed:
            values: dict[str, Any] = {
                "image": {"repository": f"{REGISTRY}/newsroom_{chart}", "tag": f"dev@{DIGEST}"}
            }
        else:
            values = {
                "global": {"imageRegistry": REGISTRY},
                "image": {"tag": "latest", "pullPolicy": "Always"},
            }
        objects += helm.template(
            REPO / "charts" / chart,
            release=f"newsroom-{chart}",
            namespace="default",
            values_files=values_files,
            values=values,
        )
    return objects


@pytest.mark.parametrize(
    ("module", "developed"),
    [("articles", ("articles",)), ("all", SERVICE_CHARTS)],
)
def test_render_is_what_helm_template_renders(
    skaffold: Path, helm: Helm, module: str, developed: tuple[str, ...]
) -> None:
    text = run(
        skaffold,
        helm,
        "render",
        "-m",
        module,
        "--offline=true",
        # The tag@digest of the build file as it is: there is no registry to ask.
        "--digest-source=tag",
        "-a",
        str(built(developed)),
        builder="buildah",
    )
    rendered = [doc for doc in yaml.safe_load_all(text) if doc]
    expected = helm_equivalent(helm, developed, SERVICE_CHARTS)
    assert normalised(rendered) == normalised(expected)


def test_on_the_local_clusters_context_infra_runs_our_images(skaffold: Path, helm: Helm) -> None:
    """kube-context `newsroom` (make cluster): infra is k8s/dev/local, which pulls PostgreSQL and
    Kafka from the local registry instead of Docker Hub; nothing else changes."""
    kubeconfig = TOOLS_DIR / "newsroom-context-kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                # Never contacted: render is offline.
                "clusters": [{"name": "newsroom", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "admin", "user": {}}],
                "contexts": [
                    {"name": "newsroom", "context": {"cluster": "newsroom", "user": "admin"}}
                ],
                "current-context": "newsroom",
            }
        )
    )
    text = run(
        skaffold,
        helm,
        "render",
        "-m",
        "articles",
        "--offline=true",
        "--digest-source=tag",
        "-a",
        str(built(("articles",))),
        builder="buildah",
        kubeconfig=kubeconfig,
    )
    rendered = [doc for doc in yaml.safe_load_all(text) if doc]
    images = {
        c["image"]
        for obj in rendered
        if obj["kind"] == "StatefulSet"
        for c in obj["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"{REGISTRY}/newsroom/postgres:latest", f"{REGISTRY}/newsroom/kafka:latest"}
    expected = helm_equivalent(helm, ("articles",), SERVICE_CHARTS)
    others = [o for o in rendered if o["kind"] != "StatefulSet"]
    assert normalised(others) == normalised([o for o in expected if o["kind"] != "StatefulSet"])

"""skaffold.yaml: valid skaffold/v4beta13, and everything it names exists and renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from deploy_support import REPO, SERVICE_CHARTS, SERVICES, Helm, by_name, containers

from newsroom_devstack import images

# Kept in the tree with its license and source (schemas/README.md): the suite reads nothing
# outside the repository.
SCHEMA = Path(__file__).resolve().parent / "schemas" / "skaffold-v4beta13.schema.json"
# The modules a developer names; the building blocks: one config per image, one per release.
DEVELOPED = SERVICE_CHARTS
IMAGES = tuple(f"{name}-image" for name in SERVICE_CHARTS)
RELEASES = tuple(f"{name}-release" for name in SERVICE_CHARTS)
MODULES = ("infra", *IMAGES, *RELEASES, *DEVELOPED, "all")


@pytest.fixture(scope="module")
def configs() -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((REPO / "skaffold.yaml").read_text()))
    return {doc["metadata"]["name"]: doc for doc in documents}


def test_every_config_validates_against_the_skaffold_schema(
    configs: dict[str, dict[str, Any]],
) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for name, config in configs.items():
        errors = [
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(config)
        ]
        assert not errors, f"{name}: " + "\n".join(errors)
        assert config["apiVersion"] == "skaffold/v4beta13"


def test_the_schema_catches_a_misspelt_field(configs: dict[str, dict[str, Any]]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    broken = json.loads(json.dumps(configs["articles-release"]))
    broken["deploy"]["helm"]["releases"][0]["chartpath"] = "charts/articles"
    assert list(validator.iter_errors(broken))


def test_modules_and_their_building_blocks(configs: dict[str, dict[str, Any]]) -> None:
    assert tuple(configs) == MODULES
    for name in (*DEVELOPED, "all"):
        # A module a developer names only composes building blocks.
        assert set(configs[name]) == {"apiVersion", "kind", "metadata", "requires"}, name
    for name in IMAGES:
        assert set(configs[name]) == {"apiVersion", "kind", "metadata", "build", "profiles"}
    for name in ("infra", *IMAGES, *RELEASES):
        # Nothing is required with profiles either: skaffold rejects a config that two
        # modules of one file require with different profiles, even when only one is asked for.
        assert "requires" not in configs[name], name


def required(config: dict[str, Any]) -> list[str]:
    """The configs a module requires, in the order skaffold deploys them."""
    for group in config["requires"]:
        assert "activeProfiles" not in group
    return [name for group in config["requires"] for name in group["configs"]]


@pytest.mark.parametrize("module", DEVELOPED)
def test_a_module_builds_only_what_it_develops(
    configs: dict[str, dict[str, Any]], module: str
) -> None:
    """`skaffold dev -m articles`: articles' image alone; infra first, every release, the
    gateway's last (nginx resolves its upstreams when it starts)."""
    order = required(configs[module])
    assert [n for n in order if n.endswith("-image")] == [f"{module}-image"]
    deployed = [n for n in order if not n.endswith("-image")]
    assert deployed[0] == "infra"
    assert deployed[-1] == "gateway-release"
    assert sorted(deployed[1:]) == sorted(RELEASES)


def test_all_builds_everything(configs: dict[str, dict[str, Any]]) -> None:
    order = required(configs["all"])
    assert sorted(n for n in order if n.endswith("-image")) == sorted(IMAGES)
    deployed = [n for n in order if not n.endswith("-image")]
    assert deployed[0] == "infra"
    assert deployed[-1] == "gateway-release"
    assert sorted(deployed[1:]) == sorted(RELEASES)


def test_a_release_runs_the_image_built_in_the_run_else_the_registrys(
    configs: dict[str, dict[str, Any]],
) -> None:
    """Built in this run: its tag@digest. Otherwise what `make images REGISTRY=...` pushed,
    <registry>/newsroom/<name>:latest, pulled at every start so a new push shows."""
    for name in SERVICE_CHARTS:
        (release,) = configs[f"{name}-release"]["deploy"]["helm"]["releases"]
        key = f".IMAGE_REPO_newsroom_{name}"
        templates = release["setValueTemplates"]
        assert templates["image.repository"] == (
            f"{{{{if {key}}}}}{{{{{key}}}}}{{{{else}}}}"
            f'{{{{default "127.0.0.1:5000" .NEWSROOM_REGISTRY}}}}/newsroom/{name}{{{{end}}}}'
        )
        assert templates["image.tag"] == (
            f"{{{{if {key}}}}}{{{{.IMAGE_TAG_newsroom_{name}}}}}@"
            f"{{{{.IMAGE_DIGEST_newsroom_{name}}}}}{{{{else}}}}"
            f'{{{{default "latest" .NEWSROOM_IMAGE_TAG}}}}{{{{end}}}}'
        )
        assert templates["image.pullPolicy"] == (
            f"{{{{if {key}}}}}IfNotPresent{{{{else}}}}Always{{{{end}}}}"
        )


def test_every_path_image_and_chart_exists(configs: dict[str, dict[str, Any]]) -> None:
    for path in configs["infra"]["manifests"]["rawYaml"]:
        assert (REPO / path).is_file(), path
    (hook,) = configs["infra"]["deploy"]["kubectl"]["hooks"]["after"]
    assert (REPO / hook["host"]["command"][0]).is_file()
    for name in SERVICE_CHARTS:
        (artifact,) = configs[f"{name}-image"]["build"]["artifacts"]
        assert (REPO / artifact["context"] / artifact["docker"]["dockerfile"]).is_file()
        assert artifact["image"] == f"newsroom/{name}"
        config = configs[f"{name}-release"]
        (release,) = config["deploy"]["helm"]["releases"]
        chart = REPO / release["chartPath"]
        assert (chart / "Chart.yaml").is_file(), f"{name}: {chart}"
        assert release["chartPath"] == f"charts/{name}"
        # The library is a symlink; `helm dep build` would vendor a second copy.
        assert release["skipBuildDependencies"] is True
        for values in release.get("valuesFiles", []):
            assert (REPO / values).is_file(), f"{name}: {values}"
        # Images come from the chart's default repository name, so `helm install`
        # and skaffold deploy the same image names.
        chart_values = yaml.safe_load((chart / "values.yaml").read_text())
        assert chart_values["image"]["repository"] == f"newsroom/{name}"
        for forward in config.get("portForward", []):
            assert forward["resourceName"] == f"newsroom-{name}"


def test_dev_profile_syncs_python_sources_and_reloads(configs: dict[str, dict[str, Any]]) -> None:
    for service in SERVICES:
        (profile,) = [p for p in configs[f"{service}-image"]["profiles"] if p["name"] == "dev"]
        assert profile["activation"] == [{"command": "dev"}]
        patches = {p["path"]: p["value"] for p in profile["patches"]}
        assert patches["/build/artifacts/0/docker/buildArgs/APP_OWNER"] == "10001:10001"
        (artifact,) = configs[f"{service}-image"]["build"]["artifacts"]
        assert artifact["docker"]["dockerfile"] == "services/Dockerfile"
        assert artifact["docker"]["buildArgs"]["SERVICE"] == service
        rules = patches["/build/artifacts/0/sync"]["manual"]
        for rule in rules:
            source_root = REPO / rule["strip"]
            assert source_root.is_dir(), rule
            package = rule["src"][len(rule["strip"]) :].split("/")[0]
            assert (source_root / package / "__init__.py").is_file(), rule
            assert rule["dest"] == "/app/.venv/lib/python3.11/site-packages"
        assert {r["strip"] for r in rules} == {f"services/{service}/src/", "libs/common/src/"}
        # devMode (writable root filesystem, reload) only for the service built in this run.
        (release_dev,) = [
            p for p in configs[f"{service}-release"]["profiles"] if p["name"] == "dev"
        ]
        assert release_dev["activation"] == [{"command": "dev"}]
        (patch,) = release_dev["patches"]
        assert patch["path"] == "/deploy/helm/releases/0/setValueTemplates/devMode"
        key = f".IMAGE_REPO_newsroom_{service}"
        assert patch["value"] == f"{{{{if {key}}}}}true{{{{else}}}}false{{{{end}}}}"
        # The image really is Python 3.11 and installs into /app/.venv.
        dockerfile = (REPO / "services" / "Dockerfile").read_text()
        assert "python:3.11." in dockerfile
        assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in dockerfile
        assert "ARG APP_OWNER=root:root" in dockerfile


def test_buildah_profile_builds_as_make_images_does(configs: dict[str, dict[str, Any]]) -> None:
    """NEWSROOM_BUILDER=buildah: a custom builder that builds the image `make images` builds
    (newsroom_devstack.skaffold_build reuses its code) and pushes it: skaffold's custom builder
    without a Docker daemon works only with push."""
    for name in SERVICE_CHARTS:
        config = configs[f"{name}-image"]
        docker = config["build"]["artifacts"][0]["docker"]
        profiles = {p["name"]: p for p in config["profiles"]}
        buildah = profiles["buildah"]
        assert buildah["activation"] == [{"env": "NEWSROOM_BUILDER=^buildah$"}]
        patches = {(p["op"], p["path"]): p.get("value") for p in buildah["patches"]}
        assert ("remove", "/build/artifacts/0/docker") in patches
        custom = patches[("add", "/build/artifacts/0/custom")]
        command = ".venv/bin/python -m newsroom_devstack.skaffold_build"
        assert custom["buildCommand"] == f"{command} {name}"
        # skaffold watches what the Dockerfile copies, as with the Docker builder.
        # BASE_IMAGE empty: the local base is in no registry for skaffold to inspect.
        assert custom["dependencies"] == {
            "dockerfile": {
                "path": docker["dockerfile"],
                "buildArgs": {**docker.get("buildArgs", {}), "BASE_IMAGE": ""},
            }
        }
        assert patches[("add", "/build/local")] == {"push": True}
        (image,) = [i for i in images.IMAGES if i.name == name]
        assert image.dockerfile == docker["dockerfile"]
        assert dict(image.build_args) == docker.get("buildArgs", {})
        if name in SERVICES:
            # Under `skaffold dev` the code is owned by the service user, as the dev profile
            # asks of the Docker builder, so that file sync can replace it. skaffold applies
            # the profiles that activate themselves in the order they are listed.
            dev = profiles["dev-buildah"]
            assert dev["requiresAllActivations"] is True
            assert dev["activation"] == [
                {"command": "dev"},
                {"env": "NEWSROOM_BUILDER=^buildah$"},
            ]
            (patch,) = dev["patches"]
            assert patch["value"] == f"{command} {name} --app-owner 10001:10001"
            assert list(profiles) == ["dev", "buildah", "dev-buildah"]


def test_infra_on_the_local_cluster_runs_our_images(configs: dict[str, dict[str, Any]]) -> None:
    """The local cluster (kube-context newsroom) cannot pull from Docker Hub: k8s/dev/local."""
    (profile,) = configs["infra"]["profiles"]
    assert profile["activation"] == [{"kubeContext": "newsroom"}]
    patches = {(p["op"], p["path"]): p.get("value") for p in profile["patches"]}
    assert ("remove", "/manifests/rawYaml") in patches
    kustomize = patches[("add", "/manifests/kustomize")]
    assert kustomize["paths"] == ["k8s/dev/local"]
    assert kustomize["buildArgs"] == ["--load-restrictor=LoadRestrictionsNone"]
    local = yaml.safe_load((REPO / "k8s/dev/local/kustomization.yaml").read_text())
    assert [REPO / "k8s/dev/local" / r for r in local["resources"]] == [
        REPO / "k8s/dev/local" / ".." / Path(p).name
        for p in configs["infra"]["manifests"]["rawYaml"]
    ]


def test_gateway_is_port_forwarded_to_8080(configs: dict[str, dict[str, Any]]) -> None:
    assert configs["gateway-release"]["portForward"] == [
        {
            "resourceType": "service",
            "resourceName": "newsroom-gateway",
            "port": 8080,
            "localPort": 8080,
        }
    ]


@pytest.mark.parametrize("module", SERVICE_CHARTS)
@pytest.mark.parametrize("dev_profile", [False, True], ids=["run", "dev"])
def test_each_module_release_renders_valid_kubernetes(
    configs: dict[str, dict[str, Any]], helm: Helm, module: str, dev_profile: bool
) -> None:
    """What skaffold would install: the chart, its dev values, a built image reference."""
    (release,) = configs[f"{module}-release"]["deploy"]["helm"]["releases"]
    values: dict[str, Any] = {
        "image": {"repository": f"newsroom/{module}", "tag": "abc123@sha256:" + "0" * 64}
    }
    if dev_profile and module in SERVICES:
        values["devMode"] = True
    objects = helm.template(
        REPO / release["chartPath"],
        release=release["name"],
        values_files=[REPO / v for v in release["valuesFiles"]],
        values=values,
    )
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)
    deployments = by_name(objects, "Deployment")
    assert f"newsroom-{module}" in deployments
    for deployment in deployments.values():
        assert deployment["spec"]["replicas"] == 1
        (container,) = containers(deployment)
        assert container["image"] == f"newsroom/{module}:abc123@sha256:" + "0" * 64
        readonly = container["securityContext"]["readOnlyRootFilesystem"]
        assert readonly is not (dev_profile and module in SERVICES)
    if dev_profile and module in SERVICES:
        api = containers(deployments[f"newsroom-{module}"])
        env = {e["name"]: e.get("value") for e in next(api)["env"]}
        assert env[f"{module.upper()}_RELOAD"] == "1"


def test_dev_values_point_at_the_dev_infrastructure() -> None:
    common = yaml.safe_load((REPO / "k8s" / "dev" / "values" / "common.yaml").read_text())
    kafka = yaml.safe_load_all((REPO / "k8s" / "dev" / "kafka.yaml").read_text())
    kafka_service = next(d for d in kafka if d["kind"] == "Service")
    assert (
        common["global"]["kafka"]["bootstrapServers"] == f"{kafka_service['metadata']['name']}:9092"
    )
    assert common["global"]["kafka"]["replicationFactor"] == 1
    assert common["global"]["platform"] == "newsroom"
    postgres = yaml.safe_load_all((REPO / "k8s" / "dev" / "postgres.yaml").read_text())
    statefulset = next(d for d in postgres if d["kind"] == "StatefulSet")
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    for service in SERVICES:
        values = yaml.safe_load((REPO / "k8s" / "dev" / "values" / f"{service}.yaml").read_text())
        (peer,) = values["database"]["networkPolicyPeers"]
        assert peer["podSelector"]["matchLabels"].items() <= pod_labels.items()

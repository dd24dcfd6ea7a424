"""Settings a platform team changes, tried on the cluster: rotating the JWT signing key
(`users.jwt.previousKeys`) and the gateway behind a proxy (`trustedProxies`).

Each proof leaves the release as it found it: the rotation is rolled back (`helm rollback`
runs no migration hook), and the proxy proof runs on gateway releases of its own, removed
afterwards. The file runs after test_operations.py (pytest takes files in name order): the
rotation's upgrade runs the migration hooks again, and the hooks proof there reads the
install's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from newsroom_devstack.cluster import POD_CIDR, Cluster
from newsroom_devstack.cluster_deploy import (
    GATEWAY_URL,
    NAMESPACE,
    REGISTRY,
    RELEASE,
    helm_install_command,
    image_flags,
    pushed_tag,
)
from newsroom_devstack.paths import repo_root

from .conftest import apply, helm, kubectl, record, register, run

INVALID_TOKEN = {"errors": {"body": ["invalid token"]}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _kid(public: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: the kid the users service puts in its tokens."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    canonical = f'{{"crv":"Ed25519","kty":"OKP","x":"{_b64(raw)}"}}'
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _signs(token: str, public: Ed25519PublicKey) -> bool:
    """Whether `public` verifies the token's signature (claims are the services' business)."""
    try:
        jwt.decode(token, public, algorithms=["EdDSA"], options={"verify_aud": False})
    except jwt.InvalidSignatureError:
        return False
    return True


def _signing_key(cluster: Cluster, secret: str) -> Ed25519PrivateKey:
    """The private key the release signs with, read from its Secret as an operator would."""
    data = json.loads(kubectl(cluster, "-n", NAMESPACE, "get", "secret", secret, "-o", "json"))
    key = serialization.load_pem_private_key(
        base64.b64decode(data["data"]["private-key.pem"]), password=None
    )
    assert isinstance(key, Ed25519PrivateKey), f"{secret} holds no Ed25519 private key"
    return key


def _get(path: str, token: str) -> requests.Response:
    return requests.get(
        f"{GATEWAY_URL}{path}",
        headers={"Authorization": f"Token {token}", "Connection": "close"},
        timeout=15,
    )


def _eventually_200(path: str, token: str, *, seconds: float) -> requests.Response:
    # articles reads users' JWKS again when a token names a kid it does not know, at most
    # every 5 s: the first token of a new key may come just after such a read.
    deadline = time.monotonic() + seconds
    answer = _get(path, token)
    while answer.status_code != 200 and time.monotonic() < deadline:
        time.sleep(1)
        answer = _get(path, token)
    return answer


def _users_pods_sign_with(cluster: Cluster, secret: str) -> None:
    """Wait (up to 2 minutes) until every users API pod mounts `secret` and none is leaving.

    `helm upgrade --wait` returns once the new pods are ready, while the old ones may still
    be finishing their requests, on connections the gateway keeps alive: a login there
    would still be signed with the old key.
    """
    deadline = time.monotonic() + 120
    while True:
        pods = json.loads(
            kubectl(
                cluster,
                "-n",
                NAMESPACE,
                "get",
                "pods",
                "-l",
                f"app.kubernetes.io/name=users,app.kubernetes.io/instance={RELEASE}",
                "-o",
                "json",
            )
        )["items"]
        mounted = [
            (
                pod["metadata"]["name"],
                "deletionTimestamp" in pod["metadata"],
                {v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v},
            )
            for pod in pods
        ]
        if pods and all(not leaving and secret in names for _, leaving, names in mounted):
            return
        assert time.monotonic() < deadline, f"users pods not all on {secret} after 120s: {mounted}"
        time.sleep(2)


def _login(user: dict[str, str]) -> str:
    answer = requests.post(
        f"{GATEWAY_URL}/api/users/login",
        json={"user": {"email": user["email"], "password": user["password"]}},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["user"]["token"])


# The upgrade may take up to 15 minutes and the rollback 5 before the pods have moved.
@pytest.mark.timeout(1500)
def test_a_jwt_key_rotation_keeps_earlier_tokens_valid_and_signs_new_ones_with_the_new_key(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Step 2 of the rotation in charts/users/README.md, on the running release.

    The old key's public half goes into a Secret of its own and a new private key into
    another; `helm upgrade --wait` names the new one in `users.jwt.existingSecret` and the
    old one in `users.jwt.previousKeys`. A token issued before must still be accepted, by
    users and by articles (which verifies through users' JWKS); a new login must be signed
    with the new key; a token of a key listed nowhere must get the API's 401.
    """
    user, old_token = register("rotation")
    old_key = _signing_key(cluster, "newsroom-users-jwt")
    assert jwt.get_unverified_header(old_token)["kid"] == _kid(old_key.public_key())
    new_key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public_pem = tmp_path / "public-key.pem"
    public_pem.write_bytes(
        old_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    private_pem = tmp_path / "private-key.pem"
    private_pem.write_bytes(
        new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    rotation = tmp_path / "rotation.yaml"  # JSON is YAML
    rotation.write_text(
        json.dumps(
            {
                "users": {
                    "jwt": {
                        "existingSecret": "newsroom-users-jwt-next",
                        "previousKeys": [{"existingSecret": "newsroom-users-jwt-previous"}],
                    }
                }
            }
        )
    )
    status = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    revision = int(status["version"])
    new_token = ""
    refused: list[requests.Response] = []
    try:
        for name, pem in (
            ("newsroom-users-jwt-previous", public_pem),
            ("newsroom-users-jwt-next", private_pem),
        ):
            # Rendered and applied, so a Secret left by an interrupted run is replaced.
            manifest = kubectl(
                cluster,
                "-n",
                NAMESPACE,
                "create",
                "secret",
                "generic",
                name,
                f"--from-file={pem.name}={pem}",
                "--dry-run=client",
                "-o",
                "yaml",
            )
            applied = tmp_path / f"{name}.yaml"
            applied.write_text(manifest)
            kubectl(cluster, "-n", NAMESPACE, "apply", "-f", str(applied))
        started = time.monotonic()
        upgrade = run(
            helm_install_command(
                Path(os.environ["HELM"]),
                cluster.layout.kubeconfig,
                *image_flags(),
                f"--values={rotation}",
            ),
            timeout=900,
        )
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        _users_pods_sign_with(cluster, "newsroom-users-jwt-next")
        upgrade_seconds = time.monotonic() - started

        # Issued before the rotation: still good at users and, through its JWKS, at articles.
        assert _get("/api/user", old_token).status_code == 200
        answer = _eventually_200("/api/articles/feed", old_token, seconds=30)
        assert answer.status_code == 200, answer.text
        # A new login is signed with the new key, and not with the old one.
        new_token = _login(user)
        assert jwt.get_unverified_header(new_token)["kid"] == _kid(new_key.public_key())
        assert _signs(new_token, new_key.public_key())
        assert not _signs(new_token, old_key.public_key())
        assert _get("/api/user", new_token).status_code == 200
        answer = _eventually_200("/api/articles/feed", new_token, seconds=30)
        assert answer.status_code == 200, answer.text
        # The same claims signed by a key listed nowhere: the API's 401, at either service.
        forged = jwt.encode(
            jwt.decode(old_token, options={"verify_signature": False}),
            stranger,
            algorithm="EdDSA",
            headers={"kid": _kid(stranger.public_key())},
        )
        refused = [_get(path, forged) for path in ("/api/user", "/api/articles/feed")]
        for answer in refused:
            assert answer.status_code == 401, answer.text
            assert answer.json() == INVALID_TOKEN
    finally:
        try:
            started = time.monotonic()
            helm(
                cluster,
                "rollback",
                RELEASE,
                str(revision),
                f"--namespace={NAMESPACE}",
                "--wait",
                "--timeout=5m",
            )
            _users_pods_sign_with(cluster, "newsroom-users-jwt")
            rollback_seconds = time.monotonic() - started
        finally:
            kubectl(
                cluster,
                "-n",
                NAMESPACE,
                "delete",
                "secret",
                "newsroom-users-jwt-next",
                "newsroom-users-jwt-previous",
                "--ignore-not-found",
            )
    record(
        "JWT rotation: upgrade; rollback, until the old pods left (s)",
        f"{upgrade_seconds:.0f}; {rollback_seconds:.0f}",
    )
    record(
        "JWT rotation: old token; new login; unlisted key",
        f"200; 200, new kid; {', '.join(str(answer.status_code) for answer in refused)}",
    )
    # Rolled back: the original key signs again, so the first token is good and users
    # refuses the new key's.
    assert _get("/api/user", old_token).status_code == 200
    assert _get("/api/user", new_token).status_code == 401


# The trusted-proxies proof: two gateway releases beside the platform's, each one pod with a
# login limit of 1 a minute (burst 1: two logins pass, the third is a 429), one trusting the
# pod CIDR and one trusting nobody, and a proxy pod in front of both.
PROOF_LABEL = {"newsroom.test/proof": "trusted-proxies"}
SELECTOR = "newsroom.test/proof=trusted-proxies"
GATEWAYS = {"newsroom-xff-trusted": [POD_CIDR], "newsroom-xff-direct": []}
PROXY_CONF = """\
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {
        listen 8080;
        # What an Ingress controller does: the peer's address appended to X-Forwarded-For.
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location /newsroom-xff-trusted/ { proxy_pass http://newsroom-xff-trusted:8080/; }
        location /newsroom-xff-direct/ { proxy_pass http://newsroom-xff-direct:8080/; }
    }
}
"""
# Each client sends `count` logins in a row and prints each status.
LOGINS = (
    'for i in $(seq "$1"); do curl -s -o /dev/null -w "%{http_code}\\n" --max-time 15 '
    '-H "Content-Type: application/json" --data "$2" "$3"; done'
)


def _gateway_values(name: str, trusted: list[str]) -> dict[str, Any]:
    return {
        "global": {"platform": "newsroom", "imageRegistry": REGISTRY},
        "fullnameOverride": name,
        "image": {"tag": pushed_tag("gateway")},
        "trustedProxies": trusted,
        "rateLimit": {"perSecond": 20, "burst": 40, "authPerMinute": 1, "authBurst": 1},
        # One pod: the limits are per gateway pod, and one pod makes the counts exact.
        "autoscaling": {"enabled": False},
        "replicas": 1,
        "podDisruptionBudget": {"enabled": False},
        "metrics": {"enabled": False},
        "workerProcesses": "1",
        "resources": {
            "requests": {"cpu": "20m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "64Mi"},
        },
    }


def _pod(name: str, role: str, command: list[str], *, config: bool = False) -> dict[str, Any]:
    """A pod of the gateway image (nginx, sh, curl; already on the node) running `command`."""
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    container: dict[str, Any] = {
        "name": role,
        "image": f"{REGISTRY}/newsroom/gateway:{pushed_tag('gateway')}",
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "200m", "memory": "64Mi"},
        },
        "volumeMounts": mounts,
    }
    if config:
        mounts.append({"name": "config", "mountPath": "/etc/xff-proxy", "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": "newsroom-xff-proxy"}})
        container["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {**PROOF_LABEL, "app.kubernetes.io/name": role}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
        },
    }


def _logins(cluster: Cluster, pod: str, url: str, body: str, count: int) -> list[int]:
    out = kubectl(
        cluster,
        "-n",
        NAMESPACE,
        "exec",
        pod,
        "--",
        "sh",
        "-c",
        LOGINS,
        "logins",
        str(count),
        body,
        url,
    )
    return [int(status) for status in out.split()]


def _login_addresses(cluster: Cluster, deployment: str) -> set[str]:
    """The client addresses the gateway's access log shows for the logins."""
    log = kubectl(cluster, "-n", NAMESPACE, "logs", f"deployment/{deployment}")
    entries = [json.loads(line) for line in log.splitlines() if line.startswith('{"time"')]
    return {e["remote_addr"] for e in entries if e["uri"] == "/api/users/login"}


def _install_gateways(cluster: Cluster, tmp_path: Path) -> None:
    """Install both gateway releases side by side and wait for both."""
    running: dict[str, subprocess.Popen[str]] = {}
    for name, trusted in GATEWAYS.items():
        values = tmp_path / f"{name}.yaml"
        values.write_text(json.dumps(_gateway_values(name, trusted)))  # JSON is YAML
        running[name] = subprocess.Popen(
            [
                os.environ["HELM"],
                f"--kubeconfig={cluster.layout.kubeconfig}",
                "upgrade",
                "--install",
                name,
                str(repo_root() / "charts" / "gateway"),
                f"--namespace={NAMESPACE}",
                f"--values={values}",
                "--wait",
                "--timeout=3m",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        for name, process in running.items():
            output, _ = process.communicate(timeout=240)
            assert process.returncode == 0, f"helm install of {name} failed:\n{output}"
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.timeout(600)
def test_behind_a_trusted_proxy_each_client_has_its_own_rate_limit(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Rate limits per real client behind a proxy, and one shared limit when it is not trusted.

    No Ingress controller is built here: a pod of our gateway image runs nginx as one, doing
    what ingress-nginx does with the client's address (appends it to X-Forwarded-For) and
    passing to a gateway's Service. In front of it, two client pods A and B. Behind it, the
    gateway chart installed twice beside the platform's gateway (whose limits are raised for
    the suite's load from the one loopback client, and stay untouched): with `trustedProxies`
    set to the pod CIDR, and empty. Driven past the login limit, A gets 429s; B, through the
    same proxy, still logs in when the proxy is trusted and shares A's 429 when not.

    The clients are pods too, so their addresses are in the trusted CIDR as well: nginx then
    takes the leftmost address of X-Forwarded-For, the one the proxy appended (a client
    outside the cluster is untrusted and taken at once). Each gateway's access log shows
    which address it limited by.
    """
    started = time.monotonic()
    user, _ = register("xff")
    body = json.dumps({"user": {"email": user["email"], "password": user["password"]}})
    try:
        _install_gateways(cluster, tmp_path)
        apply(
            cluster,
            NAMESPACE,
            [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "newsroom-xff-proxy", "labels": PROOF_LABEL},
                    "data": {"nginx.conf": PROXY_CONF},
                },
                _pod(
                    "newsroom-xff-proxy",
                    "xff-proxy",
                    [
                        "nginx",
                        "-p",
                        "/tmp/",
                        "-c",
                        "/etc/xff-proxy/nginx.conf",
                        "-e",
                        "stderr",
                        "-g",
                        "daemon off;",
                    ],
                    config=True,
                ),
                _pod("newsroom-xff-client-a", "xff-client", ["sleep", "600"]),
                _pod("newsroom-xff-client-b", "xff-client", ["sleep", "600"]),
            ],
        )
        kubectl(
            cluster,
            "-n",
            NAMESPACE,
            "wait",
            "--for=condition=Ready",
            "pod",
            "-l",
            SELECTOR,
            "--timeout=120s",
            timeout=150,
        )
        pods = json.loads(
            kubectl(
                cluster,
                "-n",
                NAMESPACE,
                "get",
                "pods",
                "-l",
                SELECTOR,
                "-o",
                "json",
            )
        )["items"]
        address = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
        proxy = address["newsroom-xff-proxy"]
        seen: dict[str, tuple[list[int], list[int]]] = {}
        for gateway in GATEWAYS:
            url = f"http://{proxy}:8080/{gateway}/api/users/login"
            a = _logins(cluster, "newsroom-xff-client-a", url, body, 4)
            b = _logins(cluster, "newsroom-xff-client-b", url, body, 1)
            seen[gateway] = (a, b)
        addresses = {gateway: _login_addresses(cluster, gateway) for gateway in GATEWAYS}
    finally:
        kubectl(
            cluster,
            "-n",
            NAMESPACE,
            "delete",
            "pod,configmap",
            "-l",
            SELECTOR,
            "--ignore-not-found",
            "--timeout=60s",
            timeout=90,
        )
        for gateway in GATEWAYS:
            helm(
                cluster,
                "uninstall",
                gateway,
                f"--namespace={NAMESPACE}",
                "--ignore-not-found",
                "--wait",
                "--timeout=2m",
            )
    record(
        "trusted proxies: logins A; B (pod CIDR | none)",
        " | ".join(
            f"{' '.join(map(str, a))}; {' '.join(map(str, b))}"
            for a, b in (seen["newsroom-xff-trusted"], seen["newsroom-xff-direct"])
        ),
    )
    record("trusted proxies: proof (s)", f"{time.monotonic() - started:.0f}")
    client_a, client_b = address["newsroom-xff-client-a"], address["newsroom-xff-client-b"]
    # Trusted: each client its own limit, and the gateway names the clients.
    assert seen["newsroom-xff-trusted"] == ([200, 200, 429, 429], [200]), seen
    assert addresses["newsroom-xff-trusted"] == {client_a, client_b}, (addresses, address)
    # Not trusted: everyone is the proxy, so B shares the limit A spent.
    assert seen["newsroom-xff-direct"] == ([200, 200, 429, 429], [429]), seen
    assert addresses["newsroom-xff-direct"] == {proxy}, (addresses, address)

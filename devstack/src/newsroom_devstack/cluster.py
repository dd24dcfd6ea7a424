"""`newsroom-cluster up|down|status`: a single-node upstream Kubernetes on this machine, no Docker.

`up` starts, in order and each only once it is not running already: etcd, kube-apiserver,
controller-manager, scheduler, containerd (+ runc), the local registry, kubelet, kube-proxy, then
CoreDNS, metrics-server and KEDA as pods. Each step waits on the component's own readiness signal
and fails with its name and log file. The daemons outlive the command: their PIDs go to
var/cluster/cluster.json, which `down` reads to stop exactly them. `down` deletes the workloads
while the kubelet still runs (so it tears down pod networks and mounts itself), stops the daemons,
and removes every route, iptables rule, bridge, namespace, mount and cgroup that `up` added.

Binaries are built from the Go module proxy by the wrapper modules in devstack/cluster/go and
cached under .cache/cluster/<component>-<version>/. The network-safety rules of the local cluster:
blackhole routes for the Service and pod ranges and a FORWARD DROP from the pod range to the
outward interface are in place before any pod starts; CoreDNS has no upstream; NodePorts open on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shlex
import shutil
import ssl
import string
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsroom_devstack import cluster_images, cluster_pki, gotools, registry
from newsroom_devstack.net import http_ok, port_is_free
from newsroom_devstack.paths import cache_dir, repo_root, var_dir
from newsroom_devstack.supervisor import is_recorded_alive, record_detached, stop_record

KUBERNETES_VERSION = "v1.34.4"
COREDNS_VERSION = "v1.14.7"
METRICS_SERVER_VERSION = "v0.8.0"
# The charts' ScaledObjects are validated against this version's CRDs (tests/deploy).
KEDA_VERSION = "v2.16.1"
KEDA_MODULE = "github.com/kedacore/keda/v2"
KEDA_NAMESPACE = "keda"
SERVICE_CIDR = "10.96.0.0/12"
POD_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"  # the first /24 the controller-manager gives the only node
API_SERVICE_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"
NODE_NAME = "newsroom"
BRIDGE = "cni0"
CNI_NETWORK = "newsroom"
API_PORT = 6443
# hostPath PersistentVolumes made for claims (no provisioner runs here). Each dev PostgreSQL and
# Kafka takes two, and a released volume is retained, not reused: make deploy, skaffold dev and
# skaffold run -m all take six in one make k8s-test, and reruns on the same cluster take more.
VOLUMES = 12
# Their class, the cluster's default: claims without a class (the dev manifests') get it.
STORAGE_CLASS = "local"
# The Go builds must share one CGO setting, or each invalidates the others' build cache.
_GO_ENV = {"CGO_ENABLED": "0"}
_KUBE_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
_DEBIAN_PACKAGES = {
    # command or file -> the Debian package that brings it
    "etcd": "etcd-server",
    "containerd": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ip": "iproute2",
    "gcc": "gcc",
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
    "buildah": "buildah",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
}
_SYSCTL_WANTED = {"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"}
# kube-proxy sets this itself so NodePorts answer on 127.0.0.1; down puts the old value back.
_SYSCTL_KUBE_PROXY = "net/ipv4/conf/all/route_localnet"


class ClusterError(RuntimeError):
    """A step of the cluster failed: the message names the component and its log."""


@dataclass(frozen=True)
class Layout:
    """Where the cluster's state (var/cluster) and built binaries (.cache/cluster) live."""

    root: Path
    cache: Path
    source: Path

    @classmethod
    def default(cls) -> Layout:
        """The layout of this repository."""
        return cls(
            var_dir() / "cluster", cache_dir() / "cluster", repo_root() / "devstack" / "cluster"
        )

    @property
    def state_file(self) -> Path:
        """The record of started daemons and added network pieces that `down` reads."""
        return self.root / "cluster.json"

    @property
    def kubeconfig(self) -> Path:
        """The administrator's kubeconfig, the one the README names."""
        return self.root / "kubeconfig"

    @property
    def logs(self) -> Path:
        """One log file per daemon; kept by `down` for a post-mortem."""
        return self.root / "logs"

    @property
    def pki(self) -> Path:
        """The throwaway CA and every certificate signed by it."""
        return self.root / "pki"

    @property
    def containerd_socket(self) -> Path:
        """Our own containerd's socket (the machine's may exist too: we never touch it)."""
        return self.root / "containerd" / "containerd.sock"

    @property
    def kube_bin(self) -> Path:
        """The Kubernetes binaries of the pinned version."""
        return self.cache / f"kubernetes-{KUBERNETES_VERSION}"

    def kube(self, command: str) -> Path:
        """Return the path of one Kubernetes binary."""
        return self.kube_bin / command


def _say(text: str) -> None:
    print(f"cluster: {text}", flush=True)


def _run(
    argv: Sequence[str], *, check: bool = True, **options: Any
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False, **options)
    if check and result.returncode != 0:
        raise ClusterError(
            f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


# --- host checks --------------------------------------------------------------------------------


def host_problems() -> list[str]:
    """Return what this machine lacks to run a cluster (root, kernel features), each named."""
    problems = []
    if os.geteuid() != 0:
        return [
            "not root: the cluster creates a network bridge, routes, iptables rules, mounts "
            "and cgroups; run `make cluster` as root"
        ]
    for module, probe in (
        ("br_netfilter", Path("/proc/sys/net/bridge/bridge-nf-call-iptables")),
        ("overlay", None),
        ("bridge", None),
    ):
        present = probe.exists() if probe else _kernel_has(module)
        if not present:
            subprocess.run(["modprobe", module], capture_output=True, check=False)
            present = probe.exists() if probe else _kernel_has(module)
        if not present:
            problems.append(f"kernel feature {module} is missing (modprobe {module} failed)")
    cgroups = Path("/sys/fs/cgroup")
    for controller in ("cpu", "memory", "pids"):
        if not ((cgroups / controller).is_dir() or _cgroup2_has(controller)):
            problems.append(f"cgroup controller {controller} is not mounted under {cgroups}")
    if shutil.which("iptables") and _run(["iptables", "-S", "FORWARD"], check=False).returncode:
        problems.append("iptables cannot list the FORWARD chain (no netfilter support?)")
    return problems


def check_host() -> None:
    """Raise ClusterError naming everything this machine lacks to run a cluster."""
    problems = host_problems()
    if problems:
        raise ClusterError("this machine cannot run the cluster:\n- " + "\n- ".join(problems))


def _kernel_has(module: str) -> bool:
    if module == "overlay":
        return "overlay" in Path("/proc/filesystems").read_text()
    return Path(f"/sys/module/{module}").exists() or Path(f"/sys/class/net/{BRIDGE}").exists()


def _cgroup2_has(controller: str) -> bool:
    controllers = Path("/sys/fs/cgroup/cgroup.controllers")
    return controllers.exists() and controller in controllers.read_text().split()


def ensure_packages() -> None:
    """Install the Debian packages the cluster needs that this machine lacks (apt-get, as root)."""
    missing = sorted(
        {
            package
            for need, package in _DEBIAN_PACKAGES.items()
            if not (Path(need).exists() if need.startswith("/") else shutil.which(need))
        }
    )
    if not missing:
        return
    _say(f"installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # `make k8s-proofs` builds the images (which may install buildah too) beside the cluster:
    # wait for the other apt-get's lock rather than fail on it.
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    install = ["apt-get", *lock, "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", *lock, "update"], env=env, check=False)
        if subprocess.run(install, env=env, check=False).returncode != 0:
            raise ClusterError(f"apt-get could not install {' '.join(missing)}")


def host_address() -> tuple[str, str]:
    """Return the machine's own non-loopback IPv4 address and its interface.

    The apiserver advertises it (pods reach the `kubernetes` Service through it) and the FORWARD
    rule drops pod traffic towards that interface.
    """
    out = _run(["ip", "-4", "-o", "addr", "show", "scope", "global"]).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] != BRIDGE:
            return fields[3].split("/")[0], fields[1]
    raise ClusterError(
        "no global IPv4 address on this machine: the apiserver needs one to advertise"
    )


# --- builds -------------------------------------------------------------------------------------


def _go() -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise ClusterError("go is not installed: the cluster's binaries are built with Go (1.25+)")
    return go


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = []
    # Without these the server reports v0.0.0 and kubectl/helm refuse or misbehave.
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate=2026-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def _go_build(
    layout: Layout, module: str, out: Path, packages: Sequence[str], ldflags: str
) -> None:
    """Build packages of a wrapper module into out/, atomically (a .partial folder renamed)."""
    if out.is_dir():
        return
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log = layout.cache / "logs" / f"build-{out.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    _say(f"building {out.name} with Go (cached afterwards; cold on 2 cores: minutes), log {log}")
    argv = [
        _go(),
        "build",
        "-trimpath",
        "-ldflags",
        f"-s -w {ldflags}",
        "-o",
        f"{partial}/",
        *packages,
    ]
    with log.open("w") as stream:
        status = subprocess.run(
            argv,
            cwd=layout.source / "go" / module,
            env={**os.environ, **_GO_ENV},
            stdout=stream,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    if status != 0:
        raise ClusterError(f"building {out.name} failed; see {log}:\n{_tail(log)}")
    partial.rename(out)


def ensure_binaries(layout: Layout) -> None:
    """Build the Kubernetes, CoreDNS, metrics-server and KEDA binaries unless cached for their
    version."""
    _go_build(
        layout,
        "kubernetes",
        layout.kube_bin,
        [f"k8s.io/kubernetes/cmd/{command}" for command in _KUBE_COMMANDS],
        _version_ldflags(),
    )
    _go_build(
        layout,
        "coredns",
        layout.cache / f"coredns-{COREDNS_VERSION}",
        ["github.com/coredns/coredns"],
        "",
    )
    _go_build(
        layout,
        "metrics-server",
        layout.cache / f"metrics-server-{METRICS_SERVER_VERSION}",
        ["sigs.k8s.io/metrics-server/cmd/metrics-server"],
        f"-X k8s.io/client-go/pkg/version.gitVersion={METRICS_SERVER_VERSION}",
    )
    # One build for KEDA's three binaries (shared packages compile once): operator, adapter
    # (the external metrics API server) and webhooks (the admission webhooks).
    _go_build(
        layout,
        "keda",
        layout.cache / f"keda-{KEDA_VERSION}",
        [f"{KEDA_MODULE}/cmd/{component}" for component in cluster_images.KEDA_COMPONENTS],
        f"-X {KEDA_MODULE}/version.Version={KEDA_VERSION.removeprefix('v')}",
    )
    bin_dir = layout.root / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "kubectl"
    if not link.is_symlink():
        link.symlink_to(layout.kube("kubectl"))


# --- readiness probes ---------------------------------------------------------------------------


def _https_ok(url: str, *, client: cluster_pki.Pair | None = None, ca: Path | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()  # noqa: S323
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return http_ok(url, timeout=3, context=context)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- the cluster --------------------------------------------------------------------------------


class Cluster:
    """The local cluster: start it step by step, stop it, and say what of it is left."""

    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout.default()
        self.state: dict[str, Any] = self._read_state()

    # state file -------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.layout.state_file.read_text())
        except (OSError, ValueError):
            state = {}
        state.setdefault("processes", {})
        state.setdefault("routes", [])
        state.setdefault("rules", [])
        state.setdefault("sysctls", {})
        return state

    def _save(self) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        tmp = self.layout.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        tmp.replace(self.layout.state_file)

    def running(self, name: str) -> bool:
        """Tell whether the recorded daemon called name still runs."""
        record = self.state["processes"].get(name)
        return record is not None and is_recorded_alive(record)

    # daemons ----------------------------------------------------------------------------------

    def _daemon(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: Callable[[], bool],
        what: str,
        timeout: float,
        ports: Sequence[tuple[str, int]] = (),
    ) -> None:
        """Start a daemon unless it runs, then wait for its readiness signal."""
        log = self.layout.logs / f"{name}.log"
        if not self.running(name):
            for address, port in ports:
                if not port_is_free(port, address=address):
                    raise ClusterError(
                        f"{name}: port {address}:{port} is taken by another program; "
                        "stop it (or an older cluster: `make cluster-down`) first"
                    )
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as stream:
                stream.write(
                    f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {shlex.join(argv)}\n".encode()
                )
                stream.flush()
                process = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                    # Own session: it outlives `make cluster`, and a Ctrl-C there does not reach it.
                    start_new_session=True,
                )
            self.state["processes"][name] = record_detached(process.pid, argv, log)
            self._save()
        record = self.state["processes"][name]
        deadline = time.monotonic() + timeout
        while not ready():
            if not is_recorded_alive(record):
                raise ClusterError(f"{name} exited before {what}; see its log {log}:\n{_tail(log)}")
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"{name}: {what} not within {timeout:.0f}s; see its log {log}:\n{_tail(log)}"
                )
            time.sleep(0.3)

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster with the administrator's kubeconfig."""
        argv = [str(self.layout.kube("kubectl")), f"--kubeconfig={self.layout.kubeconfig}", *args]
        try:
            return _run(argv, check=check, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise ClusterError(
                f"kubectl {shlex.join(args)} did not finish within {timeout:.0f}s"
            ) from error

    def _wait(self, what: str, check: Callable[[], bool], *, timeout: float, log: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() >= deadline:
                raise ClusterError(f"{what} not within {timeout:.0f}s; see {log}")
            time.sleep(1)

    # up ---------------------------------------------------------------------------------------

    def up(self) -> None:
        """Start everything not running yet; return once the node is Ready and metrics answer."""
        check_host()
        started = time.monotonic()
        ensure_packages()
        ensure_binaries(self.layout)
        self.address, self.interface = host_address()
        self.state["address"], self.state["interface"] = self.address, self.interface
        self._save()
        steps: list[tuple[str, Callable[[], None]]] = [
            ("certificates and kubeconfigs", self._pki),
            ("network safety (blackhole routes, FORWARD drop)", self._network),
            ("etcd", self._etcd),
            ("kube-apiserver", self._apiserver),
            ("kube-controller-manager", self._controller_manager),
            ("kube-scheduler", self._scheduler),
            ("registry on 127.0.0.1:5000", self._registry),
            ("cluster images (pause, CoreDNS, metrics-server, KEDA)", self._images),
            ("containerd", self._containerd),
            ("kubelet", self._kubelet),
            ("kube-proxy", self._kube_proxy),
            ("node Ready", self._node_ready),
            ("CoreDNS", self._coredns),
            ("metrics-server and `kubectl top nodes`", self._metrics_server),
            ("KEDA (operator, external metrics API, admission webhooks)", self._keda),
            ("local volumes", self._volumes),
        ]
        for title, step in steps:
            begin = time.monotonic()
            step()
            _say(f"{title}: ready ({time.monotonic() - begin:.1f}s)")
        _say(
            f"up in {time.monotonic() - started:.0f}s; export KUBECONFIG={self.layout.kubeconfig} "
            f"(kubectl: {self.layout.root / 'bin' / 'kubectl'})"
        )

    def _pki(self) -> None:
        pki = self.layout.pki
        ca = cluster_pki.make_ca(pki, "ca")
        front_ca = cluster_pki.make_ca(pki, "front-proxy-ca")
        names = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
            "127.0.0.1",
            self.address,
            API_SERVICE_IP,
        ]
        cluster_pki.issue(ca, pki, "apiserver", common_name="kube-apiserver", server_names=names)
        cluster_pki.issue(
            ca,
            pki,
            "apiserver-kubelet-client",
            common_name="kube-apiserver-kubelet-client",
            organisation="system:masters",
        )
        cluster_pki.issue(front_ca, pki, "front-proxy-client", common_name="front-proxy-client")
        cluster_pki.issue(
            ca,
            pki,
            "kubelet-serving",
            common_name=f"system:node:{NODE_NAME}",
            server_names=[NODE_NAME, self.address, "127.0.0.1"],
            client=False,
        )
        cluster_pki.make_signing_key(pki, "service-account")
        users = {
            "kubeconfig": ("admin", "system:masters"),
            "controller-manager.kubeconfig": ("system:kube-controller-manager", None),
            "scheduler.kubeconfig": ("system:kube-scheduler", None),
            "kubelet.kubeconfig": (f"system:node:{NODE_NAME}", "system:nodes"),
            "kube-proxy.kubeconfig": ("system:kube-proxy", None),
        }
        for file, (user, group) in users.items():
            pair = cluster_pki.issue(
                ca, pki, file.split(".")[0], common_name=user, organisation=group
            )
            self._kubeconfig(self.layout.root / file, user, pair)

    def _kubeconfig(self, path: Path, user: str, pair: cluster_pki.Pair) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "newsroom",
                    "cluster": {
                        "server": f"https://{self.address}:{API_PORT}",
                        "certificate-authority": str(self.layout.pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {"client-certificate": str(pair.cert), "client-key": str(pair.key)},
                }
            ],
            "contexts": [{"name": "newsroom", "context": {"cluster": "newsroom", "user": user}}],
            "current-context": "newsroom",
        }
        # JSON is YAML: kubectl and every client-go reader take it.
        path.write_text(json.dumps(config, indent=2) + "\n")
        path.chmod(0o600)

    def _network(self) -> None:
        for key, value in _SYSCTL_WANTED.items():
            self._set_sysctl(key, value)
        self._network_safety()

    def _network_safety(self) -> None:
        """Put the blackhole routes and the FORWARD drop in place, and record them for `down`.

        Ones already there are this cluster's own ranges left by an earlier cluster that was
        killed before its `down`: they are recorded too, so this cluster's `down` removes them
        and leaves nothing behind.
        """
        for cidr in (SERVICE_CIDR, POD_CIDR):
            self._own(
                "routes",
                cidr,
                present="blackhole" in _run(["ip", "route", "show", "exact", cidr]).stdout,
                add=["ip", "route", "add", "blackhole", cidr],
                what=f"blackhole route {cidr}",
            )
        rule = ["FORWARD", "-s", POD_CIDR, "-o", self.interface, "-j", "DROP"]
        self._own(
            "rules",
            rule,
            present=_run(["iptables", "-C", *rule], check=False).returncode == 0,
            add=["iptables", "-I", *rule],
            what=f"the rule `{shlex.join(rule)}`",
        )

    def _own(self, kind: str, item: Any, *, present: bool, add: list[str], what: str) -> None:
        """Add item unless present, and record it under state[kind] (once) for `down`."""
        if not present:
            _run(add)
        elif item not in self.state[kind]:
            _say(f"{what} was left by an earlier cluster; `down` removes it")
        if item not in self.state[kind]:
            self.state[kind].append(item)
            self._save()

    def _remove_network_safety(self) -> None:
        """Remove the routes and rules that `_network_safety` recorded."""
        for rule in self.state["rules"]:
            _run(["iptables", "-D", *rule], check=False)
        for cidr in self.state["routes"]:
            _run(["ip", "route", "del", "blackhole", cidr], check=False)

    def _set_sysctl(self, key: str, value: str) -> None:
        path = Path("/proc/sys") / key
        old = path.read_text().strip()
        if old != value:
            self.state["sysctls"].setdefault(key, old)
            self._save()
            path.write_text(value)

    def _etcd(self) -> None:
        data = self.layout.root / "etcd"
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._daemon(
            "etcd",
            [
                "etcd",
                "--name=newsroom",
                f"--data-dir={data}",
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=newsroom=http://127.0.0.1:2380",
                "--listen-metrics-urls=http://127.0.0.1:2381",
            ],
            ready=lambda: http_ok("http://127.0.0.1:2381/health", timeout=3),
            what="/health answering",
            timeout=60,
            ports=[("127.0.0.1", 2379), ("127.0.0.1", 2380), ("127.0.0.1", 2381)],
        )

    def _apiserver(self) -> None:
        pki = self.layout.pki
        admin = cluster_pki.Pair(pki / "kubeconfig.crt", pki / "kubeconfig.key")
        self._daemon(
            "kube-apiserver",
            [
                str(self.layout.kube("kube-apiserver")),
                "--etcd-servers=http://127.0.0.1:2379",
                f"--advertise-address={self.address}",
                f"--bind-address={self.address}",
                f"--secure-port={API_PORT}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-node-port-range=30000-32767",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-key-file={pki / 'service-account.pub'}",
                f"--service-account-signing-key-file={pki / 'service-account.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # The front-proxy (requestheader) flags let aggregated APIs (metrics-server) trust
                # the apiserver; aggregator routing reaches them by pod IP, not by ClusterIP.
                f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-username-headers=X-Remote-User",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                "--enable-aggregator-routing=true",
                "--profiling=false",
            ],
            ready=lambda: _https_ok(
                f"https://{self.address}:{API_PORT}/readyz", client=admin, ca=pki / "ca.crt"
            ),
            what="/readyz answering ok",
            timeout=120,
            ports=[(self.address, API_PORT)],
        )

    def _controller_manager(self) -> None:
        pki = self.layout.pki
        kubeconfig = self.layout.root / "controller-manager.kubeconfig"
        self._daemon(
            "kube-controller-manager",
            [
                str(self.layout.kube("kube-controller-manager")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'service-account.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--allocate-node-cidrs=true",
                f"--cluster-cidr={POD_CIDR}",
                "--node-cidr-mask-size=24",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # Quick enough for the HPA proofs: a decision every 15 s, scale-in after 30 s.
                "--horizontal-pod-autoscaler-sync-period=15s",
                "--horizontal-pod-autoscaler-downscale-stabilization=30s",
                "--profiling=false",
            ],
            ready=lambda: _https_ok("https://127.0.0.1:10257/healthz"),
            what="/healthz answering",
            timeout=60,
            ports=[("127.0.0.1", 10257)],
        )

    def _scheduler(self) -> None:
        kubeconfig = self.layout.root / "scheduler.kubeconfig"
        self._daemon(
            "kube-scheduler",
            [
                str(self.layout.kube("kube-scheduler")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--profiling=false",
            ],
            ready=lambda: _https_ok("https://127.0.0.1:10259/healthz"),
            what="/healthz answering",
            timeout=60,
            ports=[("127.0.0.1", 10259)],
        )

    def _registry(self) -> None:
        # The images' registry (make registry): started here unless it runs already, and then
        # stopped by `down` only if we started it.
        try:
            if registry.running() is None:
                registry.start(port=5000)
                self.state["registry_started"] = True
                self._save()
            elif not registry.answers(cluster_images.REGISTRY):
                raise ClusterError(
                    f"the registry runs but {cluster_images.REGISTRY} does not answer"
                )
        except registry.RegistryError as error:
            raise ClusterError(f"registry: {error}") from error

    def _images(self) -> None:
        try:
            cluster_images.ensure_cluster_images(
                self.layout.cache, COREDNS_VERSION, METRICS_SERVER_VERSION, KEDA_VERSION
            )
        except cluster_images.ImageError as error:
            raise ClusterError(str(error)) from error

    def _containerd(self) -> None:
        root = self.layout.root / "containerd"
        hosts = root / "certs.d" / cluster_images.REGISTRY
        hosts.mkdir(parents=True, exist_ok=True)
        # The local registry speaks plain HTTP on the loopback.
        (hosts / "hosts.toml").write_text(
            f'server = "http://{cluster_images.REGISTRY}"\n\n'
            f'[host."http://{cluster_images.REGISTRY}"]\n  capabilities = ["pull", "resolve"]\n'
        )
        net_d = self.layout.root / "cni" / "net.d"
        net_d.mkdir(parents=True, exist_ok=True)
        conflist = {
            "cniVersion": "1.0.0",
            "name": CNI_NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": NODE_POD_CIDR}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.layout.root / "cni" / "ipam"),
                    },
                }
            ],
        }
        (net_d / "10-newsroom.conflist").write_text(json.dumps(conflist, indent=2) + "\n")
        config = root / "config.toml"
        config.write_text(
            _template(
                "containerd.toml",
                ROOT=str(root / "root"),
                STATE=str(root / "state"),
                SOCKET=str(self.layout.containerd_socket),
                PAUSE_IMAGE=cluster_images.pause_image(),
                CNI_CONF_DIR=str(net_d),
                CERTS_DIR=str(root / "certs.d"),
            )
        )
        self._daemon(
            "containerd",
            ["containerd", f"--config={config}"],
            ready=lambda: (
                _run(
                    ["ctr", f"--address={self.layout.containerd_socket}", "version"], check=False
                ).returncode
                == 0
            ),
            what="its socket answering `ctr version`",
            timeout=60,
        )

    def _kubelet(self) -> None:
        pki = self.layout.pki
        directory = self.layout.root / "kubelet"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "config.yaml"
        config.write_text(
            _template(
                "kubelet.yaml",
                CA=str(pki / "ca.crt"),
                CERT=str(pki / "kubelet-serving.crt"),
                KEY=str(pki / "kubelet-serving.key"),
                ADDRESS=self.address,
                DNS_IP=DNS_IP,
                SOCKET=str(self.layout.containerd_socket),
            )
        )
        self._daemon(
            "kubelet",
            [
                str(self.layout.kube("kubelet")),
                f"--config={config}",
                f"--kubeconfig={self.layout.root / 'kubelet.kubeconfig'}",
                f"--root-dir={directory / 'root'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={self.address}",
            ],
            ready=lambda: http_ok("http://127.0.0.1:10248/healthz", timeout=3),
            what="/healthz answering",
            timeout=90,
            ports=[("127.0.0.1", 10248), (self.address, 10250)],
        )

    def _kube_proxy(self) -> None:
        route_localnet = Path("/proc/sys") / _SYSCTL_KUBE_PROXY
        self.state["sysctls"].setdefault(_SYSCTL_KUBE_PROXY, route_localnet.read_text().strip())
        self._save()
        config = self.layout.root / "kube-proxy.yaml"
        text = _template(
            "kube-proxy.yaml",
            KUBECONFIG=str(self.layout.root / "kube-proxy.kubeconfig"),
            POD_CIDR=POD_CIDR,
            NODE_NAME=NODE_NAME,
        )
        # A running kube-proxy exits when its configuration file is written, even with the same
        # content: `make cluster` on a running cluster must leave it alone.
        if not config.exists() or config.read_text() != text:
            config.write_text(text)
        self._daemon(
            "kube-proxy",
            [str(self.layout.kube("kube-proxy")), f"--config={config}"],
            ready=lambda: http_ok("http://127.0.0.1:10256/healthz", timeout=3),
            what="/healthz answering (rules synced)",
            timeout=90,
            ports=[("127.0.0.1", 10256), ("127.0.0.1", 10249)],
        )

    def _node_ready(self) -> None:
        log = self.layout.logs / "kubelet.log"
        self._wait(
            f"node {NODE_NAME} registered",
            lambda: self.kubectl("get", "node", NODE_NAME, check=False).returncode == 0,
            timeout=90,
            log=str(log),
        )
        result = self.kubectl(
            "wait",
            "--for=condition=Ready",
            f"node/{NODE_NAME}",
            "--timeout=120s",
            check=False,
            timeout=150,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"node {NODE_NAME} not Ready within 120s; see {log}:\n{result.stderr}{_tail(log)}"
            )

    def _apply(self, manifest: str, **values: str) -> None:
        text = string.Template(
            (self.layout.source / "manifests" / manifest).read_text()
        ).substitute(values)
        result = _run(
            [
                str(self.layout.kube("kubectl")),
                f"--kubeconfig={self.layout.kubeconfig}",
                "apply",
                "-f",
                "-",
            ],
            input=text,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"kubectl apply of {manifest} failed:\n{result.stdout}{result.stderr}"
            )

    def _rollout(self, deployment: str, namespace: str = "kube-system") -> None:
        result = self.kubectl(
            "-n",
            namespace,
            "rollout",
            "status",
            f"deployment/{deployment}",
            "--timeout=180s",
            check=False,
            timeout=200,
        )
        if result.returncode != 0:
            pods = self.kubectl(
                "-n",
                namespace,
                "describe",
                "pods",
                "-l",
                f"k8s-app={'kube-dns' if deployment == 'coredns' else deployment}",
                check=False,
            )
            raise ClusterError(
                f"{deployment} not rolled out within 180s "
                f"(kubelet log {self.layout.logs / 'kubelet.log'}):\n"
                f"{result.stderr}\n{pods.stdout[-3000:]}"
            )

    def _coredns(self) -> None:
        self._apply(
            "coredns.yaml",
            COREDNS_IMAGE=cluster_images.coredns_image(COREDNS_VERSION),
            DNS_IP=DNS_IP,
        )
        self._rollout("coredns")

    def _metrics_server(self) -> None:
        self._apply(
            "metrics-server.yaml",
            METRICS_SERVER_IMAGE=cluster_images.metrics_server_image(METRICS_SERVER_VERSION),
        )
        self._rollout("metrics-server")
        self._api_service_available(
            "v1beta1.metrics.k8s.io", str(self.layout.logs / "kube-apiserver.log")
        )
        # The first scrape lands one resolution period (15 s) after start; `top` fails until then.
        self._wait(
            "`kubectl top nodes` answering",
            lambda: self.kubectl("top", "nodes", check=False, timeout=20).returncode == 0,
            timeout=120,
            log="kubectl -n kube-system logs deploy/metrics-server",
        )

    def _api_service_available(self, name: str, log: str) -> None:
        self._wait(
            f"APIService {name} Available",
            lambda: (
                self.kubectl(
                    "wait",
                    "--for=condition=Available",
                    f"apiservice/{name}",
                    "--timeout=5s",
                    check=False,
                    timeout=20,
                ).returncode
                == 0
            ),
            timeout=120,
            log=log,
        )

    def _keda(self) -> None:
        # One pair for the three: gRPC between the metrics API server and the operator is
        # mutual TLS, and the apiserver checks the webhooks' and the metrics API's names.
        pki = self.layout.pki
        ca = cluster_pki.make_ca(pki, "keda-ca")
        services = ("keda-operator", "keda-metrics-apiserver", "keda-admission-webhooks")
        names = [
            f"{service}.{KEDA_NAMESPACE}.svc{suffix}"
            for service in services
            for suffix in ("", ".cluster.local")
        ]
        pair = cluster_pki.issue(ca, pki, "keda", common_name="keda-operator", server_names=names)
        try:
            module = gotools.module_dir(
                KEDA_MODULE, go=_go(), cwd=self.layout.source / "go" / "keda", env=_GO_ENV
            )
        except gotools.GoToolError as error:
            raise ClusterError(str(error)) from error
        crds = module / "config" / "crd" / "bases"
        # Server-side: the ScaledJob CRD is larger than client-side apply's annotation allows.
        for argv in (
            ["apply", "--server-side", "--force-conflicts", "-f", str(crds)],
            ["wait", "--for=condition=Established", "-f", str(crds), "--timeout=60s"],
        ):
            result = self.kubectl(*argv, check=False, timeout=90)
            if result.returncode != 0:
                raise ClusterError(
                    f"KEDA's CRDs ({crds}): kubectl {argv[0]} failed:\n"
                    f"{result.stdout}{result.stderr}"
                )

        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        self._apply(
            "keda.yaml",
            **{
                f"KEDA_{component.upper()}_IMAGE": cluster_images.keda_image(
                    component, KEDA_VERSION
                )
                for component in cluster_images.KEDA_COMPONENTS
            },
            KEDA_CA_CRT=b64(ca.cert),
            KEDA_TLS_CRT=b64(pair.cert),
            KEDA_TLS_KEY=b64(pair.key),
        )
        for deployment in services:  # each Deployment is named like its Service
            self._rollout(deployment, KEDA_NAMESPACE)
        self._api_service_available(
            "v1beta1.external.metrics.k8s.io",
            f"kubectl -n {KEDA_NAMESPACE} logs deploy/keda-metrics-apiserver",
        )

    def _volumes(self) -> None:
        # No storage provisioner runs here: a few hostPath volumes under var/cluster/volumes bind
        # the claims of the dev PostgreSQL and Kafka (and a user's) through a default class that
        # waits for the first consumer. The scheduler then picks and binds a volume itself while
        # it places the pod. With immediate binding it had to be woken by the PV controller's
        # binding event instead, and once that wake-up was missed: postgres-0 stayed Pending for
        # the scheduler's five-minute retry and `make deploy`'s wait ran out.
        root = self.layout.root / "volumes"
        items: list[dict[str, Any]] = [
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": STORAGE_CLASS,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "WaitForFirstConsumer",
                "reclaimPolicy": "Retain",
            }
        ]
        for index in range(VOLUMES):
            path = root / f"pv-{index}"
            path.mkdir(parents=True, exist_ok=True)
            # Any uid may own the data (postgres, kafka): hostPath ignores fsGroup.
            path.chmod(0o777)
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {
                        "name": f"local-{index}",
                        "labels": {"newsroom.dev/local": "true"},
                    },
                    "spec": {
                        "capacity": {"storage": "10Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": STORAGE_CLASS,
                        "hostPath": {"path": str(path), "type": "Directory"},
                    },
                }
            )
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        kubectl = [str(self.layout.kube("kubectl")), f"--kubeconfig={self.layout.kubeconfig}"]
        result = _run([*kubectl, "apply", "-f", "-"], input=manifest, check=False)
        if result.returncode != 0:
            raise ClusterError(
                f"creating the local volumes failed:\n{result.stdout}{result.stderr}"
            )

    # down -------------------------------------------------------------------------------------

    def down(self) -> None:
        """Stop what `up` started and remove what it added; a no-op when nothing is left."""
        processes: dict[str, dict[str, Any]] = self.state["processes"]
        if self.running("kube-apiserver") and self.running("kubelet"):
            self._delete_workloads()
        for group in (
            ("kubelet", "kube-proxy"),
            ("containerd",),
            ("kube-controller-manager", "kube-scheduler", "registry"),
            ("kube-apiserver",),
            ("etcd",),
        ):
            for name in group:
                if name in processes:
                    _say(f"stopping {name} (pid {processes[name]['pid']})")
                    stop_record(processes[name], timeout=30)
        self._stop_shims()
        if self.state.get("registry_started"):
            _say("stopping the registry `make cluster` started")
            registry.stop()
        if self.layout.kube("kube-proxy").exists():
            _run([str(self.layout.kube("kube-proxy")), "--cleanup"], check=False)
        _remove_chains()
        self._remove_network_safety()
        for key, old in self.state["sysctls"].items():
            with contextlib.suppress(OSError):
                (Path("/proc/sys") / key).write_text(old)
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            _run(["ip", "link", "del", BRIDGE], check=False)
        self._remove_netns()
        self._unmount()
        _remove_cgroups()
        for leftover in Path("/var/lib/cni/results").glob(f"{CNI_NETWORK}-*"):
            leftover.unlink(missing_ok=True)
        # A throwaway cluster: its CA, etcd data and node state go; the logs stay for a post-mortem.
        for entry in self.layout.root.iterdir() if self.layout.root.exists() else []:
            if entry != self.layout.logs:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        left = leftovers(self.layout)
        if left:
            raise ClusterError("cluster-down left these behind:\n- " + "\n- ".join(left))
        _say("down: nothing of the cluster is left")

    def _delete_workloads(self) -> None:
        _say("deleting workloads while the kubelet runs (it tears down their networks and mounts)")
        namespaces = self.kubectl(
            "get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}", check=False
        ).stdout.split()
        system = {"default", "kube-system", "kube-public", "kube-node-lease"}
        others = [ns for ns in namespaces if ns not in system | {KEDA_NAMESPACE}]

        def delete(*what: str) -> None:
            self.kubectl(
                "delete",
                *what,
                "--ignore-not-found",
                "--wait=true",
                "--timeout=180s",
                check=False,
                timeout=200,
            )

        # KEDA goes last: its operator removes the finalizers of the ScaledObjects in the other
        # namespaces, and while its external metrics API is registered but gone, the namespace
        # controller cannot list every API group and leaves namespaces Terminating.
        if others:
            delete("namespace", *others)
        if KEDA_NAMESPACE in namespaces:
            delete("apiservice", "v1beta1.external.metrics.k8s.io")
            delete("validatingwebhookconfiguration", "keda-admission")
            delete("namespace", KEDA_NAMESPACE)
        for ns in ("default", "kube-system"):
            self.kubectl(
                "-n",
                ns,
                "delete",
                "deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,pods",
                "--all",
                "--wait=true",
                "--timeout=120s",
                check=False,
                timeout=150,
            )
        ctr = ["ctr", f"--address={self.layout.containerd_socket}", "-n", "k8s.io"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            pods = self.kubectl("get", "pods", "-A", "-o", "name", check=False).stdout.strip()
            tasks = _run([*ctr, "tasks", "ls", "-q"], check=False).stdout.strip()
            if not pods and not tasks:
                return
            time.sleep(1)
        _say("some pods or containers outlived 90s of deletion; stopping the daemons anyway")

    def _stop_shims(self) -> None:
        # containerd's shims outlive containerd by design; ours name our socket in their argv.
        socket_path = str(self.layout.containerd_socket)
        for pid, argv in _processes():
            if argv and "containerd-shim" in argv[0] and socket_path in argv:
                stop_record(record_detached(pid, argv, Path("/dev/null")), timeout=10)

    def _remove_netns(self) -> None:
        netns = Path("/run/netns")
        for entry in netns.glob("cni-*") if netns.exists() else []:
            _run(["ip", "netns", "delete", entry.name], check=False)

    def _unmount(self) -> None:
        for target in sorted(_mounts_under(self.layout.root), key=len, reverse=True):
            _run(["umount", "-l", target], check=False)

    # status -----------------------------------------------------------------------------------

    def status(self) -> int:
        """Print which daemons run; 0 when all of them do."""
        processes = self.state["processes"]
        if not processes:
            print("no cluster recorded (make cluster starts one)")
            return 1
        all_up = True
        for name, record in processes.items():
            alive = is_recorded_alive(record)
            all_up &= alive
            print(
                f"{name:<24} pid {record['pid']:<8} {'running' if alive else 'STOPPED'}  "
                f"log {record['log']}"
            )
        print(f"KUBECONFIG={self.layout.kubeconfig}")
        return 0 if all_up else 1


def _template(name: str, **values: str) -> str:
    return string.Template((Layout.default().source / "config" / name).read_text()).substitute(
        values
    )


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            found.append(
                (
                    int(entry.name),
                    [part.decode(errors="replace") for part in raw.split(b"\0") if part],
                )
            )
    return found


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    targets = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].replace("\\040", " ")
        if target.startswith(prefix):
            targets.append(target)
    return targets


def _remove_chains() -> None:
    """Remove every KUBE-* chain (kube-proxy's and the kubelet's) and the jumps into them."""
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool) or not shutil.which(f"{tool}-save"):
            continue
        for table in ("filter", "nat", "mangle"):
            dump = _run([f"{tool}-save", "-t", table], check=False).stdout
            chains = re.findall(r"^:(KUBE-\S+)", dump, flags=re.MULTILINE)
            for line in dump.splitlines():
                if line.startswith("-A ") and " -j KUBE-" in line and line.split()[1] not in chains:
                    _run([tool, "-t", table, "-D", *shlex.split(line)[1:]], check=False)
            for chain in chains:
                _run([tool, "-t", table, "-F", chain], check=False)
            for chain in chains:
                _run([tool, "-t", table, "-X", chain], check=False)


def _remove_cgroups() -> None:
    """Remove the kubelet's kubepods cgroups (cgroupfs driver), innermost first."""
    for top in Path("/sys/fs/cgroup").glob("*/kubepods*"):
        for directory in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def leftovers(layout: Layout | None = None) -> list[str]:
    """Return what of a cluster is still on this machine (empty after a clean `down`)."""
    layout = layout or Layout.default()
    found = []
    for pid, argv in _processes():
        # A binary we built and started, or a daemon (etcd, containerd, a shim) run on our state.
        started = argv and argv[0].startswith(str(layout.cache))
        if pid != os.getpid() and (started or any(str(layout.root) in part for part in argv)):
            found.append(f"process {pid}: {shlex.join(argv)[:200]}")
    routes = _run(["ip", "route", "show"], check=False).stdout
    for cidr in (SERVICE_CIDR, POD_CIDR, NODE_POD_CIDR):
        if re.search(rf"^(blackhole )?{re.escape(cidr)}\b", routes, flags=re.MULTILINE):
            found.append(f"route {cidr}")
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            dump = (
                _run([f"{tool}-save", "-t", table], check=False).stdout
                if shutil.which(f"{tool}-save")
                else ""
            )
            for line in dump.splitlines():
                if "KUBE-" in line or POD_CIDR in line:
                    found.append(f"{tool} {table}: {line}")
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        found.append(f"network interface {BRIDGE}")
    netns = Path("/run/netns")
    found += [f"network namespace {p.name}" for p in netns.glob("cni-*")] if netns.exists() else []
    found += [f"mount {target}" for target in _mounts_under(layout.root)]
    found += [f"cgroup {p}" for p in Path("/sys/fs/cgroup").glob("*/kubepods*")]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsroom-cluster` command."""
    parser = argparse.ArgumentParser(
        prog="newsroom-cluster", description="The local single-node Kubernetes cluster."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "up",
        help="start the cluster (idempotent); returns when the node is Ready and metrics answer",
    )
    commands.add_parser("down", help="stop the cluster and remove everything it added")
    commands.add_parser("status", help="show the cluster's daemons")
    commands.add_parser(
        "leftovers", help="list what of a cluster is left on this machine (exit 1 if any)"
    )
    commands.add_parser("build", help="build (or find cached) the cluster's binaries")
    deploy = commands.add_parser("deploy", help="the dev infrastructure and the platform (helm)")
    deploy.add_argument("--helm", type=Path, required=True, help="the helm binary to use")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            # First, before anything reads the repository's state: a user who cannot run the
            # cluster (not root: maybe not even allowed into the checkout) is told why at once.
            check_host()
        cluster = Cluster()
        if args.command == "up":
            cluster.up()
        elif args.command == "down":
            if os.geteuid() != 0:
                raise ClusterError(
                    "not root: only root can remove the cluster's routes, rules and mounts"
                )
            cluster.down()
        elif args.command == "status":
            return cluster.status()
        elif args.command == "leftovers":
            left = leftovers()
            print("\n".join(left) if left else "nothing of the cluster is left")
            return 1 if left else 0
        elif args.command == "deploy":
            # Imported here: cluster_deploy imports this module.
            from newsroom_devstack.cluster_deploy import deploy as deploy_platform

            deploy_platform(args.helm)
        else:
            ensure_binaries(cluster.layout)
    except ClusterError as error:
        print(f"newsroom-cluster {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make cluster` on a machine that cannot run it stops at once, naming what is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsroom_devstack import cluster


def _cluster_up_as_nobody() -> tuple[int, str]:
    """Run `newsroom-cluster up` in a forked child that dropped root: its status and stderr."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, run the command, exit without pytest's cleanup
        status = 2
        try:
            os.close(read)
            os.dup2(write, 2)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            status = cluster.main(["up"])
            sys.stderr.flush()
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as stream:
        error = stream.read()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), error


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping root needs root to begin with")
def test_cluster_up_without_root_stops_at_once_naming_root() -> None:
    status, error = _cluster_up_as_nobody()
    assert status == 1
    assert "newsroom-cluster up: this machine cannot run the cluster" in error
    assert "not root" in error
    assert "Traceback" not in error
    # The check comes first: nothing was built, installed or started before the refusal.
    assert "building" not in error
    assert "installing" not in error


def test_host_problems_are_empty_or_named() -> None:
    # On any machine the check returns sentences that name what is missing, never raises.
    for problem in cluster.host_problems():
        assert problem.split()[0] in {"not", "kernel", "cgroup", "iptables"}


# Run in a network namespace of its own (unshare --net): its routes and iptables are empty and
# vanish with it, so the machine's network and a running cluster's are never touched.
_LEFT_BY_A_KILLED_CLUSTER = """
import json, subprocess, sys
from pathlib import Path
from newsroom_devstack import cluster

def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout

root = Path(sys.argv[1])
# What a cluster killed before its `down` leaves: the routes and the rule, and no record of them.
for cidr in (cluster.SERVICE_CIDR, cluster.POD_CIDR):
    run("ip", "route", "add", "blackhole", cidr)
rule = ["FORWARD", "-s", cluster.POD_CIDR, "-o", "eth0", "-j", "DROP"]
run("iptables", "-I", *rule)
layout = cluster.Layout(root / "var", root / "cache", root / "source")
first = cluster.Cluster(layout)
first.interface = "eth0"
first._network_safety()
first._network_safety()  # `up` again on a running cluster records nothing twice
recorded = json.loads(layout.state_file.read_text())
again = cluster.Cluster(layout)  # `down` is another process: it reads the record
again._remove_network_safety()
print(json.dumps({
    "recorded": {"routes": recorded["routes"], "rules": recorded["rules"]},
    "routes": run("ip", "route", "show"),
    "forward": run("iptables", "-S", "FORWARD"),
}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace and iptables need root")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
@pytest.mark.skipif(shutil.which("iptables") is None, reason="needs iptables")
def test_routes_and_rule_a_killed_cluster_left_are_removed_by_the_next_down(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-c", _LEFT_BY_A_KILLED_CLUSTER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["recorded"] == {
        "routes": [cluster.SERVICE_CIDR, cluster.POD_CIDR],
        "rules": [["FORWARD", "-s", cluster.POD_CIDR, "-o", "eth0", "-j", "DROP"]],
    }
    assert "blackhole" not in found["routes"]
    assert cluster.POD_CIDR not in found["forward"]
    # Each adoption is said, so the user knows where the route came from.
    assert result.stdout.count("left by an earlier cluster") == 3

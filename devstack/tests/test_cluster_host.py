"""`make cluster` on a machine that cannot run it stops at once, naming what is missing."""

from __future__ import annotations

import os
import sys

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

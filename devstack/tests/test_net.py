"""The loopback helpers: the ports the devstack and the tests hand out."""

from __future__ import annotations

import socket

from newsroom_devstack.net import LOOPBACK, free_port, port_is_free


def _ephemeral_start() -> int:
    with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as ranges:
        return int(ranges.read().split()[0])


def test_free_ports_lie_below_the_ephemeral_and_nodeport_ranges() -> None:
    """A port the kernel may give an outgoing connection, or one kube-proxy serves for the
    local cluster, is never handed out: another test's client could hold it before we bind."""
    ports = {free_port() for _ in range(50)}
    assert all(20000 <= port < min(30000, _ephemeral_start()) for port in ports), sorted(ports)
    assert len(ports) > 1, "free ports are chosen at random"


def test_a_free_port_can_be_bound_and_a_listening_one_is_not_free() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, port))
        server.listen()
        assert not port_is_free(port)

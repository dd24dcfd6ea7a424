"""Loopback helpers: free ports and plain readiness probes."""

from __future__ import annotations

import random
import socket
import ssl
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"
_random = random.SystemRandom()


# Ports we hand out lie below the kernel's ephemeral range: a port the kernel picked (bind to
# 0) is also what it gives the next outgoing connection as its local port, so a free port from
# that range can be taken by any client (a Kafka or PostgreSQL connection of another test)
# between our check and the server's bind: "Address already in use" at random. They also lie
# below Kubernetes' NodePort range (30000-32767), which kube-proxy DNATs on the loopback when
# the local cluster runs.
_PORTS_FROM = 20000
_PORTS_TO = 30000


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as ranges:
            return int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """Return a TCP port on the loopback address that nothing listens on right now, chosen
    at random below the ephemeral and NodePort ranges, so that no outgoing connection takes it
    before the caller binds it."""
    end = min(_PORTS_TO, _ephemeral_start())
    if end - _PORTS_FROM < 1000:
        raise RuntimeError(
            f"free_port: the ephemeral port range starts at {end}, leaving too few ports between "
            f"{_PORTS_FROM} and it (see /proc/sys/net/ipv4/ip_local_port_range)"
        )
    for _ in range(200):
        port = _random.randrange(_PORTS_FROM, end)
        if port_is_free(port):
            return port
    raise RuntimeError(f"free_port: no free loopback port found in {_PORTS_FROM}-{end - 1}")


def port_is_free(port: int, *, address: str = LOOPBACK) -> bool:
    """Tell whether a TCP port (on the loopback unless told) can be bound: nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers set, so a port in TIME_WAIT after our own stop counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
        return True


def http_ok(url: str, *, timeout: float = 2.0, context: ssl.SSLContext | None = None) -> bool:
    """Tell whether a GET on a URL of ours answers 200 (TLS with `context` for https)."""
    try:
        # The URL is always one of ours on this machine (S310 guards against file:// and the like).
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        error.close()  # it holds the response's socket; left open it warns when collected
        return False
    except (urllib.error.URLError, OSError, ValueError):
        return False

"""Loopback helpers: free ports and plain readiness probes."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


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

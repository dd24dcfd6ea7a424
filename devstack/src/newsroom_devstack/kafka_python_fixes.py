"""kafka-python 3.0.12 with two of its quirks fixed, so tests where warnings are errors pass.

1. Its import reads protocol schemas with importlib.resources.read_text/open_text, deprecated in
   Python 3.11: imported here first, with that one warning ignored, the module is then cached.
2. A refused connection leaves the socket open for the garbage collector, which warns
   (ResourceWarning) in whatever test runs then, typically long after a broker was stopped on
   purpose. The patched connect closes it. Applied once, to the pinned version only.

The devstack's pytest plugin imports this module, so every test session gets both fixes.
"""

from __future__ import annotations

import socket
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "(read|open)_text is deprecated", DeprecationWarning)
    import kafka
    from kafka import errors
    from kafka.admin import KafkaAdminClient
    from kafka.net.inet import KafkaNetSocket

PATCHED_VERSION = "3.0.12"

__all__ = ["KafkaAdminClient", "errors"]


async def _connect_closing_on_failure(
    self: Any,
    net: Any,
    addrinfo: tuple[Any, ...],
    socket_options: Any = (),
    timeout_at: float | None = None,
) -> socket.socket:
    """kafka.net.inet.KafkaNetSocket.connect, closing the socket when the connection fails."""
    family, sock_type, proto, _canonname, sockaddr = addrinfo
    sock: socket.socket = self.socket(family, sock_type, proto)
    try:
        sock.setblocking(False)
        for option in socket_options:
            sock.setsockopt(*option)
        connected: socket.socket = await self.sock_connect(
            net, sock, sockaddr, timeout_at=timeout_at
        )
    except BaseException:
        sock.close()
        raise
    return connected


if kafka.__version__ == PATCHED_VERSION:
    KafkaNetSocket.connect = _connect_closing_on_failure

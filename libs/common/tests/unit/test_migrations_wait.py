"""Migrations wait for their database (a hook Job may start first), then say why they gave up."""

from __future__ import annotations

import socket

import pytest

from newsroom_common.migrations import wait_for_database


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


def test_a_database_that_never_answers_fails_naming_it_after_the_wait() -> None:
    port = _closed_port()
    with pytest.raises(RuntimeError) as raised:
        wait_for_database(f"postgresql://u:secret@127.0.0.1:{port}/articles", timeout=3)
    message = str(raised.value)
    assert f"127.0.0.1:{port}/articles did not accept connections within 3s" in message
    assert "secret" not in message

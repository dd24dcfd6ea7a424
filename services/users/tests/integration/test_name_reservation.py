"""Names being checked are held until the transaction ends, so two claims of one name take turns."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_common.database_url import psycopg2_url
from newsroom_users.adapters.repositories import SqlUserRepository

pytestmark = pytest.mark.integration


def test_a_second_claim_of_a_name_waits_until_the_first_transaction_ends(postgres: Any) -> None:
    # Advisory locks need no table: the users database, migrated or not, is enough.
    engine = sa.create_engine(psycopg2_url(postgres.database_url("users")))
    email = f"held-{uuid.uuid4().hex[:10]}@example.com"
    contender: dict[str, Any] = {}

    def claim_again() -> None:
        with engine.connect() as conn, conn.begin():
            contender["pid"] = conn.scalar(sa.text("SELECT pg_backend_pid()"))
            # Another spelling of the same name: the lock is on the lower-cased one.
            SqlUserRepository(conn).reserve(email=email.upper(), username=None)
            contender["held"] = True

    def waiting_on_a_lock() -> bool:
        with engine.connect() as conn:
            state = conn.execute(
                sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": contender.get("pid", -1)},
            ).scalar()
        return bool(state == "Lock")

    try:
        with engine.connect() as holder, holder.begin():
            SqlUserRepository(holder).reserve(email=email, username=None)
            thread = threading.Thread(target=claim_again)
            thread.start()
            deadline = time.monotonic() + 30
            while not waiting_on_a_lock() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert waiting_on_a_lock()
            assert "held" not in contender
        thread.join(timeout=30)
        assert contender.get("held") is True
    finally:
        engine.dispose()

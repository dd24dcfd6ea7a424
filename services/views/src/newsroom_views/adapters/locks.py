"""Advisory locks shared by the ingestion consumers and the rebuild."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Each ingestion batch holds it shared; the rebuild's swap holds it alone, so no batch
# straddles a swap (it either lands in the old counts before the copy, or in the new ones).
INGEST_LOCK_KEY = 0x76696577  # "view"


def hold_ingest_shared(connection: Connection) -> None:
    """Take the ingestion lock in shared mode until the transaction ends."""
    connection.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(INGEST_LOCK_KEY)))


def hold_ingest_exclusive(connection: Connection) -> None:
    """Take the ingestion lock alone until the transaction ends (waits for running batches)."""
    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(INGEST_LOCK_KEY)))
